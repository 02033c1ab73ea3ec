"""The Draw page's heavy work as background jobs: the hidden-layer map, the neighbour index,
the flip comparison across models, and fine-tuning on the class's drawings.

Each is a job of kind ANALYSIS in the one job queue (`mnist_core.jobs`), described by
plain options ({"task": ..., "run_id": ...}); the worker reports into a `TaskProgress`
(a share done and a sentence) and leaves its result on the job. With the "processes"
executor every task but "neighbours" (`IN_SERVER`) runs in a worker process, as a
training run does: its updates come back through job_worker's relay, its result over
the pool's pipe (`keep_in_server` fills the server's caches from it). Stop is checked
at every progress update: a stopped analysis keeps nothing and ends "cancelled".
Results are cached, so each is computed once per run:
- the map in the run's folder (`embedding_map.save_map`), read back by `cached_map`;
- the neighbour index in the process (`neighbours.index_for_run`);
- the flip comparison in `_FLIP_CACHE`, keyed by the runs compared;
- a fine-tuned model is a new run in the store, owned by whoever asked for it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .callbacks import JobStopped
from .embedding_map import compute_hidden_map, load_map, save_map
from .neighbours import index_for_run

ANALYSIS = "analysis"
TASKS = {
    "hidden-map": "Map of the hidden layer",
    "neighbours": "Index of the nearest training images",
    "flip-comparison": "Pixels needed to flip a digit, by model",
    "fine-tune": "Fine-tune on the class's drawings",
}
FLIP_IMAGES = 100  # test images in the flip comparison
# Tasks kept in a thread of the server: the neighbour index is held in the process that queries it
# (neighbours.index_for_run, read by the Draw page's every drawing), so a worker's copy would be of no use.
IN_SERVER = {"neighbours"}


class TaskProgress:
    """A share done in [0, 1] and what is happening, behind a lock; `snapshot()` for the page."""

    def __init__(self):
        self._lock = threading.Lock()
        self._share, self._text = 0.0, "waiting"

    def update(self, share: float, text: str) -> None:
        with self._lock:
            self._share, self._text = float(min(max(share, 0.0), 1.0)), str(text)

    def snapshot(self) -> dict:
        with self._lock:
            return {"share": self._share, "text": self._text}


def task_label(options: dict) -> str:
    return TASKS.get(options.get("task"), "Analysis")


def runs_in_worker(options: dict) -> bool:
    """Whether a worker process can compute this analysis (its result is a file or plain data).

    >>> runs_in_worker({"task": "fine-tune"}), runs_in_worker({"task": "neighbours"})
    (True, False)
    """
    return options.get("task") in TASKS and options.get("task") not in IN_SERVER


def neighbour_key(run_id: str, data) -> tuple:
    return (run_id, data.source, len(data.train_labels))


def cached_map(store, run_id: str, method: str):
    """The run's hidden-layer map if it was computed before, else None (cheap: one file read)."""
    return load_map(store.root / run_id, method)


_FLIP_CACHE: dict[tuple, dict] = {}


def cached_flip_comparison(run_ids: dict[str, str]) -> dict | None:
    return _FLIP_CACHE.get(tuple(sorted(run_ids.items())))


def _keep_flip(run_ids: dict[str, str], report: dict) -> None:
    _FLIP_CACHE[tuple(sorted(run_ids.items()))] = report


def keep_in_server(job) -> None:
    """In the server, once an analysis that ran in a worker is done: fill this process's caches from
    its result (the hidden map is already in the run's folder; a fine-tune's run in the store)."""
    if job.spec.options.get("task") == "flip-comparison" and job.result is not None:
        _keep_flip(dict(job.spec.options["run_ids"]), job.result)


def _say(job):
    """progress(share, text) for a task: updates the job's TaskProgress, and stops it if Stop was asked."""
    def say(share: float, text: str) -> None:
        if job.stop_event.is_set():
            raise JobStopped("stopped")
        job.progress.update(share, text)
    return say


@dataclass
class FineTuneOutcome:
    """What the fine-tune job leaves on the job: before and after, and the new run."""
    before: dict
    after: dict
    trained_on: int
    held_out: int
    run_id: str
    run_name: str


def _hidden_map(job, data, store):
    run_id, method = job.spec.options["run_id"], job.spec.options.get("method", "pca")
    existing = cached_map(store, run_id, method)
    if existing is not None:
        return existing
    model, say = store.load_model(run_id), _say(job)
    hidden_map = compute_hidden_map(model, data.test_x, data.test_labels, method,
                                    progress=lambda text, share: say(share, text))
    save_map(hidden_map, store.root / run_id)
    return hidden_map


def _neighbours(job, data, store):
    """Always in a thread of the server (IN_SERVER): the index it builds is kept for the server's queries."""
    run_id = job.spec.options["run_id"]
    job.progress.update(0.1, "the last hidden layer of every training image")
    index = index_for_run(neighbour_key(run_id, data), store.load_model(run_id), data.train_x, data.train_labels)
    job.progress.update(1.0, "index ready")
    return index


def _flip_comparison(job, data, store):
    from .flip import pixels_to_flip_comparison

    run_ids = dict(job.spec.options["run_ids"])
    models = {arch: store.load_model(run_id) for arch, run_id in run_ids.items()}
    count, say = int(job.spec.options.get("count", FLIP_IMAGES)), _say(job)
    images = (data.test_images[:count].numpy().astype(np.float32) / 255)
    report = pixels_to_flip_comparison(
        models, images, progress=lambda done, total: say(done / total, f"{done} of {total} searches"))
    for row in report.values():
        row.pop("counts", None)
    _keep_flip(run_ids, report)  # in a worker process this is its own copy: the server keeps the result
    return report


def _fine_tune(job, data, store):
    """The run tuned on the class's drawings (options: run_id; epochs, FineTuneSettings'), saved as a new run."""
    from .fine_tune import FineTuneSettings, as_train_result, fine_tune
    from .handwriting import HandwritingStore, examples_to_tensor

    run_id = job.spec.options["run_id"]
    examples = HandwritingStore(store.root).list()
    info = store.get(run_id)
    model = store.load_model(run_id)
    drawings = examples_to_tensor(examples)
    labels, say = np.array([e.label for e in examples]), _say(job)
    settings = FineTuneSettings(epochs=int(job.spec.options.get("epochs", FineTuneSettings.epochs)))
    result = fine_tune(model, drawings, labels, data, settings,
                       progress=lambda step, total: say(step / total, f"step {step} of {total}"))
    say(1.0, "saving the tuned model as a new run")
    name = f"{info.name} + class drawings"[:80]
    saved = store.save(as_train_result(result, info.config, run_id, data.source), name=name, owner=job.spec.owner,
                       test_labels=data.test_labels,
                       extra={"fine_tuned_from": run_id, "before": result.before, "after": result.after,
                              "held_out": result.held_out, "trained_on": result.trained_on})
    return FineTuneOutcome(result.before, result.after, result.trained_on, result.held_out, saved.run_id, saved.name)


WORKERS = {"hidden-map": _hidden_map, "neighbours": _neighbours, "flip-comparison": _flip_comparison,
           "fine-tune": _fine_tune}


def run_analysis_job(job, data, store):
    """The worker of an ANALYSIS job (registered in jobs.RUNNERS)."""
    task = job.spec.options.get("task")
    if task not in WORKERS:
        raise ValueError(f"Unknown analysis {task!r}.")
    result = WORKERS[task](job, data, store)
    job.progress.update(1.0, "done")
    return result
