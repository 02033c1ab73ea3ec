"""A run's history shaped into chart rows: what a page's curves and heatmaps draw.

The training loop records plain dicts (see callbacks.BatchEvent and
EpochEvent). Here they become long-form chart rows, a few hundred points at
most (an Altair chart of 20k rows takes ~150 ms to draw).
Nothing here imports streamlit or torch.
"""
from __future__ import annotations

import math

from .config import CHANCE_LOSS

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


def curve_rows(history: dict, spe: int | None = None, max_points: int = MAX_CHART_POINTS) -> list[dict]:
    """Long-form rows for loss and accuracy charts: one row per (point, metric, split).

    `history` has "batches" (running training numbers every few steps) and
    "epochs" (train and validation numbers at each epoch's end); `spe` is the
    number of steps per epoch (default: the history's own "steps_per_epoch", which
    fit() records), so that x ("epoch") is comparable across batch sizes.
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
    spe = spe or history.get("steps_per_epoch") or 1
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
