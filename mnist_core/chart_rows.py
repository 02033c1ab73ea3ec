"""A run's history shaped into chart rows: what a page's curves and heatmaps draw.

The training loop records plain dicts (see callbacks.BatchEvent and
EpochEvent). Here they become long-form chart rows, a few hundred points at
most (an Altair chart of 20k rows takes ~150 ms to draw).
Nothing here imports streamlit or torch.
"""
from __future__ import annotations

import csv
import io
import math

from .config import CHANCE_LOSS, NUM_CLASSES

MAX_CHART_POINTS = 300


def downsample(rows: list, max_points: int = MAX_CHART_POINTS) -> list:
    """At most `max_points` rows, evenly spaced, always keeping the first and the last.

    >>> downsample(list(range(10)), 4)
    [0, 3, 6, 9]
    >>> downsample([1, 2], 4)
    [1, 2]
    """
    n = len(rows)
    if n <= max_points:
        return list(rows)
    if max_points < 2:
        return [rows[-1]]
    picks = sorted({round(i * (n - 1) / (max_points - 1)) for i in range(max_points)})
    return [rows[i] for i in picks]


def _finite(value) -> float | None:
    """value as a float, or None for missing / NaN / infinite (JSON and charts cannot hold NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def curve_rows(history: dict, spe: int, max_points: int = MAX_CHART_POINTS) -> list[dict]:
    """Long-form rows for loss and accuracy charts: one row per (point, metric, split).

    `history` has "batches" (running training numbers every few steps) and
    "epochs" (train and validation numbers at each epoch's end); `spe` is the
    number of steps per epoch, so that x ("epoch") is comparable across batch sizes.
    Each row: {"epoch", "step", "metric": "loss"|"accuracy", "split": "training"|"validation", "value"}.

    >>> rows = curve_rows({"batches": [{"step": 5, "epoch": 1, "loss": 1.5, "running_accuracy": 0.5}],
    ...                    "epochs": [{"epoch": 1, "step": 10, "val_loss": 0.9, "val_accuracy": 0.7}]}, spe=10)
    >>> [(r["epoch"], r["metric"], r["split"], r["value"]) for r in rows]
    [(0.5, 'loss', 'training', 1.5), (0.5, 'accuracy', 'training', 0.5), (1.0, 'loss', 'validation', 0.9), (1.0, 'accuracy', 'validation', 0.7)]
    """
    sources = ((downsample(history.get("batches") or [], max_points), "training",
                (("loss", "loss"), ("accuracy", "running_accuracy"))),
               (history.get("epochs") or [], "validation",
                (("loss", "val_loss"), ("accuracy", "val_accuracy"))))
    rows = []
    for events, split, keys in sources:
        for event in events:
            x = round(event["step"] / spe, 4)
            for metric, key in keys:
                value = _finite(event.get(key))
                if value is not None:
                    rows.append({"epoch": x, "step": event["step"], "metric": metric, "split": split,
                                 "value": value})
    return rows


def per_class_rows(epochs: list[dict]) -> list[dict]:
    """Rows {"epoch", "digit", "accuracy"} of the validation accuracy of each digit after each epoch.

    >>> per_class_rows([{"epoch": 1, "per_class_val_accuracy": [0.9, 0.5]}])
    [{'epoch': 1, 'digit': 0, 'accuracy': 0.9}, {'epoch': 1, 'digit': 1, 'accuracy': 0.5}]
    """
    return [{"epoch": e["epoch"], "digit": digit, "accuracy": float(acc)}
            for e in epochs for digit, acc in enumerate(e.get("per_class_val_accuracy") or [])]


def first_learned(epochs: list[dict], threshold: float = 0.9) -> list[tuple[int, int]]:
    """(digit, epoch) pairs: the first epoch each digit's validation accuracy reached `threshold`,
    earliest first; digits that never reached it are left out.

    >>> first_learned([{"epoch": 1, "per_class_val_accuracy": [0.95, 0.5]},
    ...                {"epoch": 2, "per_class_val_accuracy": [0.97, 0.92]}])
    [(0, 1), (1, 2)]
    """
    found: dict[int, int] = {}
    for e in epochs:
        for digit, acc in enumerate(e.get("per_class_val_accuracy") or []):
            if digit not in found and acc >= threshold:
                found[digit] = e["epoch"]
    return sorted(found.items(), key=lambda pair: (pair[1], pair[0]))


CSV_COLUMNS = (["event", "epoch", "step", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                "examples_per_second", "seconds"] + [f"val_accuracy_digit_{d}" for d in range(NUM_CLASSES)])


def history_csv_rows(history: dict) -> list[dict]:
    """One row per recorded event, in step order: "batch" rows carry the running training loss and
    accuracy, "epoch" rows the epoch's train and validation numbers and per-digit accuracy.

    >>> rows = history_csv_rows({"batches": [{"step": 10, "epoch": 1, "loss": 0.5, "running_accuracy": 0.8,
    ...                                       "examples_per_second": 9000.0}], "epochs": []})
    >>> rows[0]["event"], rows[0]["train_loss"], rows[0]["val_loss"]
    ('batch', 0.5, '')
    """
    rows = []
    for b in history.get("batches") or []:
        row = dict.fromkeys(CSV_COLUMNS, "")
        row.update(event="batch", epoch=b.get("epoch", ""), step=b.get("step", ""), train_loss=b.get("loss", ""),
                   train_accuracy=b.get("running_accuracy", ""),
                   examples_per_second=b.get("examples_per_second", ""))
        rows.append(row)
    for e in history.get("epochs") or []:
        row = dict.fromkeys(CSV_COLUMNS, "")
        row.update(event="epoch", epoch=e.get("epoch", ""), step=e.get("step", ""),
                   train_loss=e.get("train_loss", ""), train_accuracy=e.get("train_accuracy", ""),
                   val_loss=e.get("val_loss") if e.get("val_loss") is not None else "",
                   val_accuracy=e.get("val_accuracy") if e.get("val_accuracy") is not None else "",
                   seconds=e.get("seconds", ""))
        for digit, acc in enumerate(e.get("per_class_val_accuracy") or []):
            row[f"val_accuracy_digit_{digit}"] = acc
        rows.append(row)
    # Epoch rows sort after the batch row of the same step.
    return sorted(rows, key=lambda r: (r["step"] if r["step"] != "" else 0, r["event"] == "epoch"))


def history_to_csv(history: dict) -> str:
    """The history as CSV text with a header line (see history_csv_rows for the columns)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history_csv_rows(history))
    return out.getvalue()


def exploded_loss(history: dict, factor: float = 10.0) -> float | None:
    """The last recorded training loss if it is over `factor` times the loss of guessing (ln 10),
    else None. A finite but huge loss means the steps overshoot, as a NaN does.

    >>> exploded_loss({"batches": [{"loss": 6.3e4}]})
    63000.0
    >>> exploded_loss({"batches": [{"loss": 0.2}]}) is None
    True
    """
    batches = history.get("batches") or []
    if not batches:
        return None
    loss = _finite(batches[-1].get("loss"))
    return loss if loss is not None and loss > factor * CHANCE_LOSS else None
