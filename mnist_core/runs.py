"""The run store: each finished run is a folder on disk that survives restarts.
(Over 450 lines on purpose: saving, loading, checking a damaged or hostile folder, and the owner checks of
rename and delete are one concern, the run folder, and read best together.)

    runs/20261122-193000-mlp-3f9a1c/
        meta.json                 format version, name, owner, created, status, reason, data source
        config.json               the TrainConfig
        history.json              batch and epoch events
        metrics.json              summary + test metrics (accuracy, confusion matrix, ...)
        weights.pt                the model's state_dict (loaded with weights_only=True)
        snapshots.pt              {epoch: state_dict} after up to 30 epochs, for time travel
        test_probabilities.npy    (n_test, 10) float32, for the mistakes and confusion pages

Folder names are generated and checked against a strict pattern, never taken
from user text. A run is written to a hidden temporary folder, its files are
fsynced, and it is renamed into place, so a crash never leaves a half-written
run in the history; left-over `.tmp-*` and `.deleting-*` folders are removed
when a store is opened. Renaming and deleting take the acting user: only the
run's owner, or the teacher, may do either.

Format versions: meta.json records "format_version" (FORMAT_VERSION today). Folders
without it were written before the field existed and are version 1. An older folder
loads: a config field it lacks takes TrainConfig's default (new settings are added
that way). A field this version does not know, or a newer format, marks the run as
damaged with a sentence that says so (tests/fixtures/run_v1 keeps a version 1 folder).
"""
from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
import secrets
import shutil
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .classroom import TEACHER_OWNER
from .config import ConfigError, TrainConfig
from .metrics import classification_summary
from .models import create_model

FORMAT_VERSION = 2  # 1: folders written before meta.json had "format_version"
RUNS_ENV = "MNIST_LAB_RUNS"
DEFAULT_RUNS_DIR = "./runs"
RUN_ID_PATTERN = re.compile(r"^\d{8}-\d{6}-[a-z0-9-]{1,20}-[0-9a-f]{6}$")
MAX_NAME_LENGTH = 60
FILES = ("meta.json", "config.json", "history.json", "metrics.json", "weights.pt")
# Numbers the pages read from a run's files. A run folder may have been edited or forged, so
# anything else there is damage, found here rather than as a traceback in a chart or a table.
METRIC_NUMBERS = ("test_accuracy", "test_loss", "val_accuracy", "train_accuracy", "epochs_run", "steps",
                  "best_epoch", "train_seconds", "total_seconds", "parameters", "train_size")
EVENT_NUMBERS = {"batches": ("step", "epoch", "total_steps", "loss", "running_accuracy", "examples_per_second"),
                 "epochs": ("step", "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")}
LATEST_TIME = 253_402_300_799  # 9999-12-31 23:59:59 UTC: later dates cannot be shown
LEFTOVER_PREFIXES = (".tmp-", ".deleting-")
LEFTOVER_AGE_SECONDS = 600  # younger ones may be a save or delete under way in another process


class RunStoreError(RuntimeError):
    """A run cannot be saved, found or read; the message says why in plain words."""


class RunPermissionError(RunStoreError, PermissionError):
    """The acting user may not change this run: it is someone else's."""


def resolve_runs_dir(root: str | os.PathLike | None = None) -> Path:
    """The argument if given, else $MNIST_LAB_RUNS, else ./runs."""
    return Path(root or os.environ.get(RUNS_ENV) or DEFAULT_RUNS_DIR)


def clean_run_name(text: str) -> str:
    """A display name from user text: printable, one line, at most 60 characters.

    The name is only ever shown (escaped), never used as a path.

    >>> clean_run_name("  my   <b>best</b>/run\\n ")
    'my <b>best</b>/run'
    """
    raw = str(text)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in raw)
    text = " ".join(text.split())[:MAX_NAME_LENGTH]
    if not text and any(unicodedata.category(ch) == "Cf" for ch in raw):
        raise RunStoreError("A run name cannot be only invisible characters (such as zero-width spaces): "
                            "type a name, or leave it empty for the default.")
    if not text:
        raise RunStoreError("A run name cannot be empty.")
    return text


@dataclass
class RunInfo:
    """What the run list shows, read from meta.json, config.json and metrics.json."""
    run_id: str
    path: Path
    name: str
    created: float  # seconds since the epoch
    owner: str
    status: str
    reason: str
    config: TrainConfig
    metrics: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION  # the version the folder was written with

    @property
    def test_accuracy(self) -> float | None:
        return self.metrics.get("test_accuracy")


@dataclass
class LoadedRun:
    info: RunInfo
    history: dict
    test_probabilities: np.ndarray | None  # float32 (n_test, 10), or None if not saved
    model: torch.nn.Module | None = None


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=1, default=float))


def _fsync_folder(folder: Path) -> None:
    """Flush every file in `folder`, then the folder itself, to the disk (before a rename publishes it)."""
    for path in folder.iterdir():
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_directory(folder)


def _fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_metrics(metrics: dict, run_id: str) -> None:
    for key in METRIC_NUMBERS:
        if metrics.get(key) is not None and not _is_number(metrics[key]):
            raise RunStoreError(f"The metrics.json of run {run_id} is damaged ({key} is not a number).")


def _check_history(history, run_id: str) -> None:
    """RunStoreError unless every event holds numbers where the charts read numbers."""
    damaged = RunStoreError(f"The history of run {run_id} is damaged.")
    if not isinstance(history, dict):
        raise damaged
    for kind, keys in EVENT_NUMBERS.items():
        events = history.get(kind) or []
        if not isinstance(events, list):
            raise damaged
        for event in events:
            if not isinstance(event, dict) or not all(_is_number(event.get(k)) for k in ("step", "epoch")):
                raise damaged
            if any(event.get(k) is not None and not _is_number(event[k]) for k in keys):
                raise damaged
            per_class = event.get("per_class_val_accuracy")
            if per_class is not None and not (isinstance(per_class, list) and all(map(_is_number, per_class))):
                raise damaged


def _format_version(meta: dict, run_id: str) -> int:
    version = meta.get("format_version", 1)  # folders from before the field are version 1
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RunStoreError(f"The meta.json of run {run_id} is damaged (its format version is not a whole number).")
    if version > FORMAT_VERSION:
        raise RunStoreError(f"The run {run_id} was saved by a newer MNIST Lab (format version {version}; this "
                            f"version reads up to {FORMAT_VERSION}), so it cannot be read here.")
    return version


def _read_config(data, run_id: str) -> TrainConfig:
    """The TrainConfig of a config.json written by any format version up to FORMAT_VERSION.

    Fields the file lacks take TrainConfig's defaults; fields TrainConfig lacks are damage.
    """
    if not isinstance(data, dict):
        raise RunStoreError(f"The config of run {run_id} is damaged (it is not a set of named settings).")
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise RunStoreError(f"The config of run {run_id} is damaged: Unknown setting(s) {', '.join(unknown)} "
                            "(the run was saved by a newer MNIST Lab or its config.json was edited).")
    try:
        return TrainConfig.from_dict(data)
    except (ConfigError, TypeError) as error:
        raise RunStoreError(f"The config of run {run_id} is damaged: {error}") from None


_INFO_FILES = ("meta.json", "config.json", "metrics.json")  # what a RunInfo is read from
_READ_RUNS: dict[str, tuple[tuple, RunInfo]] = {}  # run folder -> (its files' signatures, its RunInfo)
_READ_RUNS_MAX = 20_000  # runs remembered per process (a few KB each); past it, start again


def _file_signature(path: Path) -> tuple:
    """What changes whenever a file is replaced or written: inode, size, change and modify times."""
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunStoreError(f"The run folder {path.parent.name} has no {path.name}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunStoreError(f"The file {path.name} of run {path.parent.name} is damaged (not valid JSON).") from None


class RunStore:
    """Save, list, load, rename and delete runs under one folder."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = resolve_runs_dir(root)
        self.problems: list[str] = []  # unreadable run folders seen by the last list()
        # Called as space_check(owner, bytes_needed) before a save; raises RunStoreError to refuse it
        # (the app sets it to the class's disk caps, see caps.ClassroomPolicy; the CLI sets none).
        self.space_check = None
        self.remove_leftovers()

    def remove_leftovers(self, min_age: float = LEFTOVER_AGE_SECONDS) -> list[str]:
        """Delete half-written (.tmp-*) and half-deleted (.deleting-*) folders left by a crash.

        Only those older than `min_age` seconds: a younger one may be a save under way
        in another process (a CLI run beside the server). Returns the names removed.
        """
        removed = []
        try:
            candidates = [p for p in self.root.iterdir() if p.name.startswith(LEFTOVER_PREFIXES) and p.is_dir()]
        except OSError:
            return removed  # no folder yet, or unreadable: nothing to clean
        for path in candidates:
            try:
                if time.time() - path.stat().st_mtime >= min_age:
                    shutil.rmtree(path)
                    removed.append(path.name)
            except OSError:
                continue
        return removed

    def _run_path(self, run_id: str) -> Path:
        if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
            raise RunStoreError(f"{str(run_id)[:80]!r} is not a valid run id.")
        return self.root / run_id

    # --- writing -----------------------------------------------------------
    def save(self, result, name: str | None = None, owner: str = "", extra: dict | None = None,
             test_labels=None) -> RunInfo:
        """Write a TrainResult as a new run folder, atomically. Returns its RunInfo.

        `test_labels` (the labels the test probabilities belong to) lets the store
        save full test metrics; without it only the summary is kept.
        """
        config: TrainConfig = result.config
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{config.arch}-{secrets.token_hex(3)}"
        created = time.time()
        meta = {"format_version": FORMAT_VERSION, "name": clean_run_name(name or config.short_description()), "created": created,
                "owner": owner, "status": result.status, "reason": result.reason,
                "data_source": result.data_source, "extra": extra or {}}
        metrics = result.summary()
        if result.test_probabilities is not None and test_labels is not None:
            metrics["test"] = classification_summary(test_labels, result.test_probabilities)
        if self.space_check is not None:
            # Weights, test predictions and a margin for the JSON: checked before a byte is written.
            needed = (sum(t.numel() * t.element_size() for t in result.model.state_dict().values())
                      + (result.test_probabilities.size * 4 if result.test_probabilities is not None else 0)
                      + 2_000_000)
            self.space_check(owner, needed)
        temporary = self.root / f".tmp-{run_id}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            temporary.mkdir()
            _write_json(temporary / "meta.json", meta)
            _write_json(temporary / "config.json", config.to_dict())
            _write_json(temporary / "history.json", result.history)
            _write_json(temporary / "metrics.json", metrics)
            torch.save(result.model.state_dict(), temporary / "weights.pt")
            if getattr(result, "snapshots", None):
                torch.save({str(epoch): state for epoch, state in result.snapshots.items()},
                           temporary / "snapshots.pt")
            if result.test_probabilities is not None:
                np.save(temporary / "test_probabilities.npy", result.test_probabilities.astype(np.float32))
            _fsync_folder(temporary)
            os.rename(temporary, self.root / run_id)
            _fsync_directory(self.root)
        except OSError as error:
            shutil.rmtree(temporary, ignore_errors=True)
            raise self._cannot_save(error) from None
        except BaseException:
            # Any other failure (a pickling error, Ctrl-C) must not leave a half-written folder either.
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        return self.get(run_id)

    def _cannot_save(self, error: OSError) -> RunStoreError:
        return RunStoreError(f"Could not save the run in {self.root}: {error.strerror or error}. "
                             "Check that the folder is writable and the disk is not full "
                             f"(the folder is set by {RUNS_ENV}).")

    def check_writable(self) -> None:
        """RunStoreError now, rather than after a long training, if no run can be saved here."""
        probe = self.root / f".write-test-{secrets.token_hex(3)}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.mkdir()
            probe.rmdir()
        except OSError as error:
            raise self._cannot_save(error) from None

    def _update_meta(self, run_id: str, **changes) -> None:
        path = self._run_path(run_id) / "meta.json"
        meta = _read_json(path)
        meta.update(changes)
        temporary = path.with_name(f".meta-{secrets.token_hex(4)}.json")
        try:
            _write_json(temporary, meta)
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise RunStoreError(f"Could not update the run: {error.strerror or error}.") from None

    def check_may_change(self, info: RunInfo, actor: str, verb: str = "change") -> None:
        """RunPermissionError unless `actor` owns the run or is the teacher."""
        if actor == TEACHER_OWNER or (actor and actor == info.owner):
            return
        raise RunPermissionError(f"You cannot {verb} “{info.name}”: it belongs to someone else. Only its "
                                 "owner or the teacher can.")

    def rename(self, run_id: str, name: str, actor: str) -> None:
        """Give the run a new display name, if `actor` owns it (or is the teacher)."""
        self.check_may_change(self.get(run_id), actor, "rename")
        self._update_meta(run_id, name=clean_run_name(name))

    def delete(self, run_id: str, actor: str) -> None:
        """Remove the run for good, if `actor` owns it (or is the teacher)."""
        path = self._run_path(run_id)
        if not path.is_dir():
            raise RunStoreError(f"There is no run {run_id} to delete.")
        try:
            owner = str(_read_json(path / "meta.json").get("owner", ""))
        except (RunStoreError, AttributeError):
            owner = ""  # a damaged run: only the teacher may delete it
        if not (actor == TEACHER_OWNER or (actor and actor == owner)):
            raise RunPermissionError(f"You cannot delete the run {run_id}: it belongs to someone else. Only "
                                     "its owner or the teacher can.")
        # Rename first so that a half-deleted folder is never listed as a run.
        trash = self.root / f".deleting-{run_id}"
        try:
            os.rename(path, trash)
        except OSError as error:
            raise RunStoreError(f"Could not delete the run: {error.strerror or error}.") from None
        shutil.rmtree(trash, ignore_errors=True)
        _READ_RUNS.pop(str(path), None)

    # --- reading -----------------------------------------------------------
    def get(self, run_id: str) -> RunInfo:
        """The RunInfo of one run; RunStoreError if it is missing or damaged.

        A run read before whose three files are unchanged (same inode, size and
        times) comes from memory: the Run history page of 30 students lists every
        run each time, and three stats cost far less than three reads and parses.
        """
        path = self._run_path(run_id)
        try:
            signature = tuple(_file_signature(path / name) for name in _INFO_FILES)
        except (FileNotFoundError, NotADirectoryError):
            signature = None  # missing folder or file: _read_info says which, in words
        except OSError as error:
            raise RunStoreError(f"The run {run_id} cannot be read: {error.strerror or error}.") from None
        key = str(path)
        known = _READ_RUNS.get(key)
        if signature is not None and known is not None and known[0] == signature:
            return dataclasses.replace(known[1])
        info = self._read_info(run_id, path)
        if signature is not None:
            if len(_READ_RUNS) >= _READ_RUNS_MAX:
                _READ_RUNS.clear()
            _READ_RUNS[key] = (signature, info)
        return dataclasses.replace(info)

    def _read_info(self, run_id: str, path: Path) -> RunInfo:
        if not path.is_dir():
            raise RunStoreError(f"There is no run {run_id}.")
        meta = _read_json(path / "meta.json")
        if not isinstance(meta, dict):
            raise RunStoreError(f"The files of run {run_id} are damaged.")
        version = _format_version(meta, run_id)
        config = _read_config(_read_json(path / "config.json"), run_id)
        metrics = _read_json(path / "metrics.json")
        if not isinstance(metrics, dict):
            raise RunStoreError(f"The files of run {run_id} are damaged.")
        created = meta.get("created", 0)
        if not _is_number(created) or not 0 <= created <= LATEST_TIME:
            raise RunStoreError(f"The meta.json of run {run_id} is damaged (its date is not a valid time).")
        _check_metrics(metrics, run_id)
        try:
            name = clean_run_name(meta.get("name") or run_id)  # one printable line, even if the file was edited
        except RunStoreError:
            name = run_id
        extra = meta.get("extra")
        return RunInfo(run_id=run_id, path=path, name=name, created=float(created),
                       owner=str(meta.get("owner", "")), status=str(meta.get("status", "")),
                       reason=str(meta.get("reason", "")), config=config, metrics=metrics,
                       extra=extra if isinstance(extra, dict) else {}, format_version=version)

    def list(self, owner: str | None = None) -> list[RunInfo]:
        """Every readable run, newest first (only `owner`'s when given).

        Damaged folders are skipped and described in `self.problems`.
        """
        self.problems = []
        if not self.root.is_dir():
            return []
        runs = []
        for path in self.root.iterdir():
            if not path.is_dir() or not RUN_ID_PATTERN.match(path.name):
                continue  # temporary, trash or foreign folders
            try:
                info = self.get(path.name)
            except RunStoreError as error:
                self.problems.append(str(error))
                continue
            if owner is None or info.owner == owner:
                runs.append(info)
        return sorted(runs, key=lambda r: r.created, reverse=True)

    def load_model(self, run_id: str) -> torch.nn.Module:
        """The trained model in eval mode. Weights are loaded with weights_only=True."""
        info = self.get(run_id)
        model = create_model(info.config)
        try:
            state = torch.load(info.path / "weights.pt", map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except FileNotFoundError:
            raise RunStoreError(f"The run {run_id} has no weights file.") from None
        except pickle.UnpicklingError:
            # weights_only=True refused an object that is not plain tensors: never fall back to a full unpickle.
            raise RunStoreError(f"The weights file of run {run_id} is damaged or holds more than plain "
                                "weights (it may have been tampered with), so it was not loaded.") from None
        except (RuntimeError, KeyError, TypeError, ValueError, EOFError, OSError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise RunStoreError(f"The weights of run {run_id} do not fit its architecture or are damaged "
                                f"({first_line[:120]}).") from None
        return model.eval()

    def snapshot_epochs(self, run_id: str) -> list[int]:
        """The epochs after which the run's weights were kept (empty for runs from before time travel)."""
        return sorted(self._snapshots(run_id))

    def _snapshots(self, run_id: str) -> dict[int, dict]:
        path = self.get(run_id).path / "snapshots.pt"
        if not path.is_file():
            return {}
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            return {int(epoch): state for epoch, state in saved.items()}
        except (pickle.UnpicklingError, RuntimeError, ValueError, TypeError, AttributeError, EOFError, OSError):
            raise RunStoreError(f"The weight snapshots of run {run_id} are damaged, so time travel is "
                                "not available for it.") from None

    def load_snapshot(self, run_id: str, epoch: int) -> torch.nn.Module:
        """The model as it was after `epoch` (one of `snapshot_epochs`), in eval mode."""
        info = self.get(run_id)
        snapshots = self._snapshots(run_id)
        if epoch not in snapshots:
            raise RunStoreError(f"Run {run_id} kept no weights after epoch {epoch}: choose one of "
                                f"{', '.join(map(str, sorted(snapshots))) or 'none'}.")
        model = create_model(info.config)
        try:
            model.load_state_dict(snapshots[epoch])
        except (RuntimeError, KeyError, TypeError):
            raise RunStoreError(f"The snapshot of epoch {epoch} of run {run_id} does not fit its "
                                "architecture.") from None
        return model.eval()

    def load(self, run_id: str, with_model: bool = True) -> LoadedRun:
        """Everything saved for a run: info, history, test probabilities and (optionally) the model."""
        info = self.get(run_id)
        history = _read_json(info.path / "history.json")
        _check_history(history, run_id)
        probabilities = None
        prob_path = info.path / "test_probabilities.npy"
        if prob_path.is_file():
            try:
                probabilities = np.load(prob_path, allow_pickle=False).astype(np.float32)
            except (ValueError, OSError):
                raise RunStoreError(f"The saved test predictions of run {run_id} are damaged.") from None
        model = self.load_model(run_id) if with_model else None
        return LoadedRun(info=info, history=history, test_probabilities=probabilities, model=model)


def open_run_folder(path: str | os.PathLike) -> tuple[RunStore, str]:
    """A run folder path (as the CLI takes it) -> its store and run id."""
    path = Path(path)
    if not path.is_dir():
        raise RunStoreError(f"{path} is not a run folder (it does not exist).")
    if not RUN_ID_PATTERN.match(path.resolve().name):
        raise RunStoreError(f"{path} is not a run folder: a run folder is named like "
                            "20261122-193000-mlp-3f9a1c and holds meta.json, config.json and weights.pt.")
    return RunStore(path.resolve().parent), path.resolve().name
