"""Running a study: every variant for every seed, one after another, and saving each run.

`run_experiment` trains the variants with a shared seed, so that every run of
a study starts from the same initial weights (where the shapes match) and sees
the training images in the same order: the knob is the only thing that
changes. scikit-learn baselines (`run_baseline`) run on the same images.
`run_and_save` is what the CLI and a study job both call: it saves every
finished run to the run store. `study_for` rebuilds a study from the plain
data a job carries (its name and options).

    python -m mnist_core experiment lr-sweep --data-dir ../shared/mnist
"""
from __future__ import annotations

import csv
import io
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..callbacks import Callback
from ..config import ConfigError, TrainConfig
from ..data import make_split
from ..history import History, best_val_epoch
from ..metrics import confusion_matrix, precision_recall_f1
from ..runs import RunStore, RunStoreError
from ..train import evaluate, fit
from ..gap_test import GAP_STUDY, gap_study
from .custom import custom_study
from .estimates import estimate_seconds
from .studies import BASELINES, MAX_SEEDS, Study, Variant, get_study, model_name, value_text, with_budget


@dataclass
class RunRow:
    """One finished run of an experiment: plain numbers for the table, plus curves for charts."""
    study: str
    index: int  # position in the experiment, 0-based
    label: str
    group: str
    knob: str
    value: object
    seed: int
    kind: str  # "torch" or "sklearn"
    model: str  # e.g. "MLP 128"
    status: str
    reason: str = ""
    test_accuracy: float | None = None
    test_loss: float | None = None
    macro_precision: float | None = None
    macro_recall: float | None = None
    macro_f1: float | None = None
    train_seconds: float = 0.0
    parameters: int | None = None
    train_size: int = 0
    steps_per_epoch: int = 1  # to put batch events on an epoch axis
    epochs_run: int = 0
    first_epoch_train_loss: float | None = None
    first_epoch_val_loss: float | None = None  # the loss on held-out images after epoch 1
    final_train_loss: float | None = None
    final_val_loss: float | None = None
    final_train_accuracy: float | None = None
    final_val_accuracy: float | None = None
    mean_confidence: float | None = None  # mean top probability on the test set
    weight_norm: float | None = None  # softmax regression: size of the 10 templates
    best_val_epoch: int | None = None  # 1-based, the highest validation accuracy (ties: earliest)
    test_accuracy_at_best_val: float | None = None  # the test accuracy after that epoch, when tracked
    reported_test_accuracy: float | None = None  # what a known study reported for this setting
    run_id: str | None = None  # the saved run, when it was saved
    history: dict = field(default_factory=dict, repr=False)  # fit()'s batch and epoch events
    test_loss_curve: list = field(default_factory=list, repr=False)  # per epoch, when tracked
    test_accuracy_curve: list = field(default_factory=list, repr=False)  # per epoch, when tracked
    templates: np.ndarray | None = field(default=None, repr=False)  # (10, 28, 28) softmax weights
    confusion: np.ndarray | None = field(default=None, repr=False)  # (10, 10) on the test set, rows true

    CSV_FIELDS = ("study", "index", "label", "group", "knob", "value", "seed", "kind", "model", "status",
                  "test_accuracy", "test_loss", "macro_precision", "macro_recall", "macro_f1",
                  "train_seconds", "parameters", "train_size", "epochs_run", "first_epoch_train_loss",
                  "first_epoch_val_loss", "final_train_loss", "final_val_loss", "final_train_accuracy",
                  "final_val_accuracy", "mean_confidence", "weight_norm", "best_val_epoch", "test_accuracy_at_best_val",
                  "reported_test_accuracy", "run_id",
                  "reason")

    def record(self) -> dict:
        """The table row: plain JSON-able values, no curves."""
        record = {}
        for name in self.CSV_FIELDS:
            value = getattr(self, name)
            if isinstance(value, tuple):
                value = value_text(value)
            elif isinstance(value, float):
                value = round(value, 6)
            record[name] = value
        return record


def _metrics(y_true, probabilities) -> dict:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    predicted = probabilities.argmax(axis=1)
    y_true = np.asarray(y_true)
    confusion = confusion_matrix(y_true, predicted)
    report = precision_recall_f1(confusion)
    return {"test_accuracy": float((predicted == y_true).mean()), "confusion": confusion,
            "macro_precision": report.macro_precision, "macro_recall": report.macro_recall,
            "macro_f1": report.macro_f1, "mean_confidence": float(probabilities.max(axis=1).mean())}


class TestLossTracker(Callback):
    """Measures the loss and accuracy on the test set after every epoch (the overfitting study's curves)."""

    def __init__(self, data):
        self.data = data
        self.losses: list[float] = []
        self.accuracies: list[float] = []

    def on_epoch_end(self, event):
        if self.model is not None:
            measured = evaluate(self.model, self.data.test_x, self.data.test_labels)
            self.losses.append(measured["loss"])
            self.accuracies.append(measured["accuracy"])


def _row_from_result(study: Study, index: int, variant: Variant, result, data,
                     tracker: TestLossTracker | None) -> RunRow:
    epochs = result.history.get("epochs", [])
    row = RunRow(study=study.name, index=index, label=variant.label, group=variant.group, knob=study.knob,
                 value=variant.value, seed=result.config.seed, kind="torch", model=model_name(result.config),
                 status=result.status, reason=result.reason, test_loss=result.test_loss,
                 train_seconds=result.train_seconds, parameters=result.parameters,
                 train_size=result.train_size, epochs_run=result.epochs_run, history=result.history,
                 steps_per_epoch=result.history.get("steps_per_epoch") or 1,
                 test_loss_curve=list(tracker.losses) if tracker else [],
                 test_accuracy_curve=list(tracker.accuracies) if tracker else [],
                 reported_test_accuracy=variant.reported, best_val_epoch=best_val_epoch(epochs))
    if row.best_val_epoch is not None and row.best_val_epoch <= len(row.test_accuracy_curve):
        row.test_accuracy_at_best_val = row.test_accuracy_curve[row.best_val_epoch - 1]
    if epochs:
        row.first_epoch_train_loss = epochs[0]["train_loss"]
        row.first_epoch_val_loss = epochs[0]["val_loss"]
        row.final_train_loss = epochs[-1]["train_loss"]
        row.final_val_loss = epochs[-1]["val_loss"]
        row.final_train_accuracy = epochs[-1]["train_accuracy"]
        row.final_val_accuracy = epochs[-1]["val_accuracy"]
    if result.test_probabilities is not None:
        for name, value in _metrics(data.test_labels.numpy(), result.test_probabilities).items():
            setattr(row, name, value)
    linear = getattr(result.model, "linear", None)
    if linear is not None:
        weights = linear.weight.detach().cpu().numpy()
        row.templates = weights.reshape(10, 28, 28).copy()
        row.weight_norm = float(np.linalg.norm(weights))
    return row


def run_baseline(name: str, data, config: TrainConfig) -> dict:
    """Fit a scikit-learn baseline on the flattened pixels of the run's training subset.

    Same images as the torch runs (the split of `config`'s subset and seed), pixels
    scaled to [0, 1]. Returns test accuracy, the confusion matrix, macro precision/recall/F1 and train_seconds.
    """
    # scikit-learn is imported here: it is heavy, and only the model-family study needs it.
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    if name not in BASELINES:
        raise ConfigError(f"Unknown baseline {name!r}: choose one of {', '.join(BASELINES)}.")
    split = make_split(data, config.val_fraction, config.subset, config.seed)
    x_train = data.train_images[split.train_index].reshape(len(split.train_index), -1).numpy() / np.float32(255)
    y_train = data.train_labels[split.train_index].numpy()
    x_test = data.test_images.reshape(len(data.test_images), -1).numpy() / np.float32(255)
    if name == "logistic-regression":
        model = LogisticRegression(max_iter=100)
    else:
        model = RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=config.seed)
    # One BLAS thread: NumPy's default threading is many times slower on a shared 2-core CPU.
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 100 iterations is a deliberate budget
        start = time.perf_counter()
        model.fit(x_train, y_train)
        seconds = time.perf_counter() - start
        probabilities = np.zeros((len(x_test), 10))
        probabilities[:, model.classes_] = model.predict_proba(x_test)
    out = _metrics(data.test_labels.numpy(), probabilities)
    out["train_seconds"] = seconds
    out["train_size"] = len(y_train)
    if name == "logistic-regression":
        out["parameters"] = int(model.coef_.size + model.intercept_.size)
    return out


class StudyProgress(Callback):
    """Thread-safe progress of a whole study: a study job's one progress object.

    The runner tells it when runs start and end; as a training callback it also
    follows the current run's steps, in a fresh `History` per run. `snapshot()`
    returns plain values: overall fraction done (weighted by each run's
    estimated time), ETA, the current run's batches and the finished rows.
    """

    def __init__(self, planned: list[tuple[str, float]] | None = None):
        self._lock = threading.Lock()
        self.planned = list(planned or [])  # (label, estimated seconds) of every run, in order
        self.started = time.time()
        self.rows: list[RunRow] = []
        self.current: int | None = None  # index of the running run
        self.current_fraction = 0.0
        self.history = History()  # of the run in progress
        self.cancelled = False
        self.finished = False

    def plan(self, planned: list[tuple[str, float]]) -> None:
        with self._lock:
            self.planned = list(planned)
            self.started = time.time()

    def start_run(self, index: int) -> None:
        with self._lock:
            self.current, self.current_fraction, self.history = index, 0.0, History()

    def on_train_start(self, info):
        self.history.on_train_start(info)

    def on_batch_end(self, event):
        self.history.on_batch_end(event)
        with self._lock:
            self.current_fraction = event.step / max(event.total_steps, 1)

    def on_epoch_end(self, event):
        self.history.on_epoch_end(event)

    def end_run(self, row: RunRow) -> None:
        with self._lock:
            self.rows.append(row)
            self.current, self.current_fraction = None, 0.0

    def finish(self, cancelled: bool) -> None:
        with self._lock:
            self.cancelled, self.finished, self.current = cancelled, True, None

    def snapshot(self) -> dict:
        with self._lock:
            estimates = [max(seconds, 1e-3) for _, seconds in self.planned] or [1.0]
            done = len(self.rows)
            work = sum(estimates[:done])
            if self.current is not None and self.current < len(estimates):
                work += estimates[self.current] * self.current_fraction
            fraction = min(1.0, work / sum(estimates)) if not self.finished else 1.0
            elapsed = time.time() - self.started
            if self.finished:
                eta = 0.0
            elif fraction > 0.02:
                eta = elapsed * (1 - fraction) / fraction
            else:
                eta = sum(estimates) - elapsed
            current_label = (self.planned[self.current][0]
                             if self.current is not None and self.current < len(self.planned) else None)
            return {"total": len(self.planned), "done": done, "current": self.current,
                    "current_label": current_label, "current_fraction": self.current_fraction,
                    "current_batches": self.history.snapshot()["batches"], "fraction": fraction,
                    "elapsed": elapsed, "eta_seconds": max(0.0, eta), "rows": list(self.rows),
                    "cancelled": self.cancelled, "finished": self.finished}


def planned_runs(study: Study, seeds=(0,)) -> list[tuple[Variant, int]]:
    """(variant, seed) pairs in the order they run: each variant's seeds together."""
    return [(variant, seed) for variant in study.variants for seed in seeds]


def run_plan(study: Study, seeds=(0,)) -> list[tuple[str, float]]:
    """(label, estimated seconds) of every run, in order: what a progress bar plans with."""
    return [(f"{v.group + ' · ' if v.group else ''}{v.label}" + (f" · seed {s}" if len(seeds) > 1 else ""),
             estimate_seconds(v, study.track_test_loss)) for v, s in planned_runs(study, seeds)]


def run_experiment(study: Study, data, seeds=(0,), on_run_end: Callable | None = None,
                   stop: threading.Event | None = None, progress: StudyProgress | None = None,
                   callbacks: tuple[Callback, ...] = ()) -> list[RunRow]:
    """Train every variant of `study` for every seed, one after another; return the rows.

    Within one seed all runs share the seed, so they start from the same initial
    weights (where the shapes match) and see the batches in the same order.
    `on_run_end(row, result)` is called after each run (result is None for a
    scikit-learn baseline). When `stop` is set the current run ends early, it is
    kept as a "stopped" row, and no further run starts. `callbacks` go to every fit().
    """
    seeds = tuple(seeds)
    if not seeds or len(seeds) > MAX_SEEDS:
        raise ConfigError(f"Repeat each run over 1 to {MAX_SEEDS} seeds (got {len(seeds)}).")
    runs = planned_runs(study, seeds)
    if progress is not None:
        progress.plan(run_plan(study, seeds))
    rows: list[RunRow] = []
    cancelled = False
    for index, (variant, seed) in enumerate(runs):
        if stop is not None and stop.is_set():
            cancelled = True
            break
        if progress is not None:
            progress.start_run(index)
        config = variant.config.replace(seed=seed)
        result = None
        if variant.baseline:
            numbers = run_baseline(variant.baseline, data, config)
            row = RunRow(study=study.name, index=index, label=variant.label, group=variant.group,
                         knob=study.knob, value=variant.value, seed=seed, kind="sklearn",
                         model=BASELINES[variant.baseline], status="completed",
                         reason="fitted by scikit-learn", reported_test_accuracy=variant.reported, **numbers)
        else:
            tracker = TestLossTracker(data) if study.track_test_loss else None
            listeners = [cb for cb in (progress, tracker, *callbacks) if cb is not None]
            result = fit(config, data, callbacks=listeners, stop=stop)
            row = _row_from_result(study, index, variant, result, data, tracker)
        if on_run_end is not None:
            on_run_end(row, result)
        rows.append(row)
        if progress is not None:
            progress.end_run(row)
        if row.status == "stopped":
            cancelled = True
            break
    if progress is not None:
        progress.finish(cancelled)
    return rows


def summarize(rows: list[RunRow]) -> list[dict]:
    """One dict per variant (label and group): mean test accuracy over its seeds, ± standard deviation.

    >>> rows = [RunRow("s", 0, "a", "", "lr", 0.1, 0, "torch", "m", "completed", test_accuracy=0.9),
    ...         RunRow("s", 1, "a", "", "lr", 0.1, 1, "torch", "m", "completed", test_accuracy=0.8)]
    >>> s = summarize(rows)[0]; round(s["test_accuracy"], 3), round(s["test_accuracy_std"], 3), s["seeds"]
    (0.85, 0.071, 2)
    """
    groups: dict[tuple, list[RunRow]] = {}
    for row in rows:
        groups.setdefault((row.group, row.label), []).append(row)
    summaries = []
    for (group, label), members in groups.items():
        first = members[0]
        accuracies = [r.test_accuracy for r in members if r.test_accuracy is not None]

        def mean(name):
            values = [getattr(r, name) for r in members if getattr(r, name) is not None]
            return float(np.mean(values)) if values else None

        statuses = list(dict.fromkeys(r.status for r in members))
        summaries.append({
            "group": group, "label": label, "value": first.value, "model": first.model, "kind": first.kind,
            "seeds": len(members), "status": statuses[0] if len(statuses) == 1 else "/".join(statuses),
            "test_accuracy": float(np.mean(accuracies)) if accuracies else None,
            "test_accuracy_std": float(np.std(accuracies, ddof=1)) if len(accuracies) > 1 else None,
            "test_accuracy_min": min(accuracies) if accuracies else None,
            "test_accuracy_max": max(accuracies) if accuracies else None,
            "parameters": first.parameters, "reported_test_accuracy": first.reported_test_accuracy,
            "best_val_epochs": [r.best_val_epoch for r in members if r.best_val_epoch is not None],
            "confusion": (np.sum([r.confusion for r in members], axis=0)
                          if all(r.confusion is not None for r in members) else None),  # pooled over seeds
            "test_loss_curve": list(np.mean([r.test_loss_curve for r in members], axis=0))
            if all(len(r.test_loss_curve) == len(first.test_loss_curve) and r.test_loss_curve for r in members)
            else [],
            **{name: mean(name) for name in (
                "test_loss", "macro_precision", "macro_recall", "macro_f1", "train_seconds",
                "first_epoch_train_loss", "first_epoch_val_loss", "final_train_loss", "final_val_loss",
                "mean_confidence", "weight_norm", "best_val_epoch", "test_accuracy_at_best_val")},
        })
    return summaries


def rows_to_csv(rows: list[RunRow]) -> str:
    """The experiment's table as CSV text (one line per run)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RunRow.CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.record().items()})
    return buffer.getvalue()


def run_extra(study: Study, experiment_id: str, row: RunRow) -> dict:
    """What a saved run remembers about its experiment (RunStore's `extra`)."""
    return {"experiment": study.name, "experiment_id": experiment_id, "knob": study.knob,
            "value": value_text(row.value) if isinstance(row.value, tuple) else row.value,
            "label": row.label, "group": row.group}


def run_name(study: Study, row: RunRow) -> str:
    name = f"{study.title}: {row.group + ' ' if row.group else ''}{row.label}"
    return name + (f" (seed {row.seed})" if row.seed != study.base.seed else "")


def study_for(name: str, options: dict | None = None) -> Study:
    """The study a job's plain data describes: a ready-made one by name (options "subset" and
    "epochs" change its budget), or "custom" with options "knob", "values" and "base" (a config dict)."""
    options = options or {}
    if name == GAP_STUDY:  # "Is this gap real?": options "a" and "b" (config dicts) and their labels
        return gap_study(TrainConfig.from_dict(options["a"]), TrainConfig.from_dict(options["b"]),
                         options.get("label_a", "A"), options.get("label_b", "B"))
    if name == "custom":
        values = [tuple(v) if isinstance(v, list) else v for v in options["values"]]
        return custom_study(options["knob"], values, TrainConfig.from_dict(options["base"]))
    return with_budget(get_study(name), subset=options.get("subset"), epochs=options.get("epochs"))


def run_and_save(study: Study, data, store: RunStore, seeds=(0,), owner: str = "cli",
                 progress: StudyProgress | None = None, stop: threading.Event | None = None,
                 on_row: Callable[[RunRow], None] | None = None,
                 on_save_error: Callable[[RunStoreError], None] | None = None) -> list[RunRow]:
    """Run the study and save each finished run as `owner`'s (the CLI and a study job both call this).

    `on_row(row)` is called after each run, once it is saved. A save the store refuses raises,
    unless `on_save_error(error)` takes it (a job keeps it to show, and the rows stay).
    """
    experiment_id = f"{study.name}-{time.strftime('%Y%m%d-%H%M%S')}"

    def save(row: RunRow, result) -> None:
        if result is not None and row.status != "stopped":
            try:
                row.run_id = store.save(result, name=run_name(study, row), owner=owner,
                                        extra=run_extra(study, experiment_id, row),
                                        test_labels=data.test_labels).run_id
            except RunStoreError as error:
                if on_save_error is None:
                    raise
                on_save_error(error)
        if on_row is not None:
            on_row(row)

    return run_experiment(study, data, seeds=seeds, on_run_end=save, stop=stop, progress=progress)
