"""Per-student caps, so that one student cannot take the class's machine.

The defaults below hold for every class until its teacher changes them (they
are kept per class in the database). Each check raises `CapError` with a
sentence that says which limit was met and what to do; the job queue checks
the job caps when a run is submitted, and the disk caps both then and again
just before the run is saved, so a Train then Stop on a big model never fills
the disk.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from .config import TrainConfig

MB = 1_000_000
GB = 1_000_000_000
TEST_PROBABILITIES_BYTES = 10_000 * 10 * 4  # the (n_test, 10) float32 array each run keeps
RUN_FILES_MARGIN = 2 * MB  # meta, config, history and metrics JSON, generously


class CapError(RuntimeError):
    """A cap of the class stops this action; the message says which and why."""


@dataclass(frozen=True)
class Caps:
    training_jobs_per_student: int = 1  # training runs one student may have queued or running, however many tabs
    studies_per_student: int = 1  # studies (Experiments page) one student may have queued or running
    max_parameters: int = 5_000_000  # the largest model, in parameters (a 5 M model saves 20 MB of weights)
    max_epochs: int = 30  # epochs per run in the app (the CLI allows TrainConfig's 200)
    max_queued_jobs: int = 60  # jobs waiting on the whole server before new ones are refused
    min_free_bytes: int = 1 * GB  # free disk that must remain after a run is saved
    quota_bytes_per_student: int = 200 * MB  # disk all of one student's runs may take

    def validate(self) -> "Caps":
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if "bytes" in f.name else 1):
                raise CapError(f"The cap {f.name.replace('_', ' ')} must be a whole number of at least "
                               f"{0 if 'bytes' in f.name else 1} (got {value!r}).")
        return self

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> "Caps":
        """Caps saved by `to_json`; missing or unknown keys fall back to the defaults."""
        try:
            data = json.loads(text or "{}")
        except json.JSONDecodeError:
            data = {}
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in (data if isinstance(data, dict) else {}).items() if k in names}).validate()
        except CapError:
            return cls()


def parameter_count(config: TrainConfig) -> int:
    """Parameters of the model `config` describes, counted without allocating its weights.

    >>> parameter_count(TrainConfig(arch="softmax"))
    7850
    """
    import torch

    from .models import MODEL_REGISTRY
    # Shapes only: a 50 M model costs no memory, and the global random generator is left alone
    # (create_model would reseed it under a training running in another thread).
    with torch.device("meta"):
        model = MODEL_REGISTRY[config.arch](config)
    return sum(p.numel() for p in model.parameters())


def run_bytes(config: TrainConfig) -> int:
    """About how many bytes a saved run of `config` takes (weights, test predictions, JSON)."""
    return 4 * parameter_count(config) + TEST_PROBABILITIES_BYTES + RUN_FILES_MARGIN


def check_config(config: TrainConfig, caps: Caps) -> None:
    """CapError if the run is longer or the model bigger than the class allows."""
    if config.epochs > caps.max_epochs:
        raise CapError(f"This class allows at most {caps.max_epochs} epochs per run (you chose "
                       f"{config.epochs}); the teacher sets this limit.")
    count = parameter_count(config)
    if count > caps.max_parameters:
        raise CapError(f"This model has {count / 1e6:.1f} M parameters, more than the class's limit of "
                       f"{caps.max_parameters / 1e6:g} M: choose fewer or smaller hidden layers.")


def check_queue(waiting: int, slots: int, caps: Caps) -> None:
    """CapError if the server's queue is full."""
    if waiting >= caps.max_queued_jobs:
        raise CapError(f"The server's queue is full: {waiting} runs are waiting for {slots} training "
                       f"slot{'s' if slots != 1 else ''}, the most it takes at once. Try again in a minute, "
                       "when some have finished.")


def queue_sentence(position: int, slots: int) -> str:
    """Where a queued job is and why it waits.

    >>> queue_sentence(3, 1)
    'You are number 3 in the queue: 2 runs are ahead of you and the server trains 1 at a time.'
    """
    ahead = position - 1
    return (f"You are number {position} in the queue: "
            f"{'nobody is' if ahead == 0 else ('1 run is' if ahead == 1 else f'{ahead} runs are')} ahead of you "
            f"and the server trains {slots} at a time.")


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under `folder` (0 if it is gone)."""
    total = 0
    for path in Path(folder).rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            continue
    return total


def owner_bytes(store, owner: str) -> int:
    """Disk taken by all of `owner`'s saved runs."""
    return sum(folder_bytes(info.path) for info in store.list(owner=owner))


def check_space(store, owner: str, needed: int, caps: Caps, disk_usage=None) -> None:
    """CapError unless a run of `needed` bytes fits both the disk's reserve and the student's quota."""
    root = Path(store.root)
    probe = root if root.exists() else next((p for p in root.parents if p.exists()), Path("/"))
    free = (disk_usage or shutil.disk_usage)(probe).free
    if free - needed < caps.min_free_bytes:
        raise CapError(f"The server's disk is nearly full ({free / GB:.2f} GB free; at least "
                       f"{caps.min_free_bytes / GB:g} GB must stay free), so this run cannot be saved. "
                       "Ask your teacher to delete old runs.")
    used = owner_bytes(store, owner)
    if used + needed > caps.quota_bytes_per_student:
        raise CapError(f"Your runs take {used / MB:.0f} MB of your {caps.quota_bytes_per_student / MB:g} MB, and "
                       f"this one needs about {needed / MB:.0f} MB more: delete some runs in Run history first.")


def class_caps(room, code: str | None) -> Caps:
    """The caps of a class (its teacher's changes over the defaults)."""
    return Caps.from_json(room.class_setting(code, "caps"))


def set_class_caps(room, code: str | None, caps: Caps) -> Caps:
    room.set_class_setting(code, "caps", caps.validate().to_json())
    return caps


class ClassroomPolicy:
    """The caps of each student's class, as the job queue and the run store ask for them.

    A quick-start user (a URL token, no name) gets the default class's caps.
    """

    def __init__(self, room, store):
        self.room, self.store = room, store

    def caps_for(self, owner: str) -> Caps:
        student = self.room.student_by_owner(owner)
        return class_caps(self.room, student.class_code if student else None)

    def active_limit(self, spec) -> int:
        """How many jobs of this kind the owner may have queued or running at once, on every tab together."""
        caps = self.caps_for(spec.owner)
        return caps.training_jobs_per_student if spec.kind == "train" else caps.studies_per_student

    def admit(self, spec, waiting: int, slots: int) -> None:
        """CapError unless the job fits its owner's caps and the server's queue (JobManager.submit asks)."""
        caps = self.caps_for(spec.owner)
        check_queue(waiting, slots, caps)
        if spec.config is not None:
            check_config(spec.config, caps)
            check_space(self.store, spec.owner, run_bytes(spec.config), caps)

    def space_check(self, owner: str, needed: int) -> None:
        """RunStore.space_check: RunStoreError if the run would not fit the disk reserve or the quota."""
        from .runs import RunStoreError
        try:
            check_space(self.store, owner, needed, self.caps_for(owner))
        except CapError as error:
            raise RunStoreError(str(error)) from None


def checked_store(runs_root):
    """A RunStore at `runs_root` whose saves first check the disk reserve and the owner's quota
    (the class caps in that store's database): what a worker process saves into for the app."""
    from .classroom import Classroom
    from .database import open_database
    from .runs import RunStore

    store = RunStore(runs_root)
    store.space_check = ClassroomPolicy(Classroom(open_database(runs_root)), store).space_check
    return store
