"""Summaries of the training charts: a run's curves, several runs overlaid, each digit's accuracy
per epoch, the loss of the run in progress and the learning-rate range test."""
from __future__ import annotations

import math

from ._format import pct, quoted


def curve_summary(epochs: list[dict]) -> str:
    """What a run's epoch events say about validation accuracy (or training loss without a validation set).

    >>> curve_summary([{"epoch": 1, "val_accuracy": 0.91}, {"epoch": 2, "val_accuracy": 0.97}, {"epoch": 3, "val_accuracy": 0.98}])
    'Validation accuracy rose from 91% to 98% in 3 epochs.'
    >>> curve_summary([])
    'No epoch has finished yet.'
    """
    if not epochs:
        return "No epoch has finished yet."
    values = [e.get("val_accuracy") for e in epochs]
    count = len(epochs)
    span = f"in {count} epoch{'s' if count != 1 else ''}"
    if all(isinstance(v, (int, float)) for v in values):
        first, last, best = values[0], values[-1], max(values)
        if count == 1:
            return f"Validation accuracy reached {pct(last)} after 1 epoch."
        verb = "rose" if last > first else ("fell" if last < first else "stayed")
        text = (f"Validation accuracy {verb} from {pct(first)} to {pct(last)} {span}." if verb != "stayed"
                else f"Validation accuracy stayed at {pct(last)} {span}.")
        if best > last + 0.005:
            text = text[:-1] + f", after a best of {pct(best)}."
        return text
    losses = [e.get("train_loss") for e in epochs]
    if all(isinstance(v, (int, float)) for v in losses):
        return f"Training loss went from {losses[0]:.3f} to {losses[-1]:.3f} {span}."
    return f"{count} epoch{'s' if count != 1 else ''} finished."


def overlay_summary(final_values: dict[str, float], metric: str = "validation accuracy") -> str:
    """The best and worst of several runs drawn on one chart.

    >>> overlay_summary({"a": 0.97, "b": 0.91})
    'Of 2 runs, “a” ends highest in validation accuracy (97%) and “b” lowest (91%).'
    """
    if not final_values:
        return "No run to compare yet."
    ranked = sorted(final_values.items(), key=lambda kv: kv[1], reverse="loss" not in metric)
    (best, best_value), (worst, worst_value) = ranked[0], ranked[-1]
    fmt = pct if "accuracy" in metric else (lambda v: f"{v:.3f}")
    if len(ranked) == 1:
        return f"{quoted(best)} ends at {fmt(best_value)} {metric}."
    word = "highest" if "loss" not in metric else "lowest"
    other = "lowest" if word == "highest" else "highest"
    return (f"Of {len(ranked)} runs, {quoted(best)} ends {word} in {metric} ({fmt(best_value)}) and {quoted(worst)} "
            f"{other} ({fmt(worst_value)}).")


def per_class_history_summary(epochs: list[dict]) -> str:
    """The worst and best digit after the last epoch, and the digit that gained most since the first
    (the per-digit heatmap and the per-class history chart draw the same `per_class_val_accuracy`).

    >>> per_class_history_summary([{"epoch": 1, "per_class_val_accuracy": [0.97, 0.99, 0.80]},
    ...                            {"epoch": 2, "per_class_val_accuracy": [0.98, 0.995, 0.92]}])
    'After epoch 2, digit 2 is read worst (92%) and digit 1 best (99.5%); digit 2 gained most, from 80%.'
    >>> per_class_history_summary([])
    'No epoch has a per-digit accuracy yet.'
    """
    epochs = [e for e in epochs if e.get("per_class_val_accuracy")]
    if not epochs:
        return "No epoch has a per-digit accuracy yet."
    first, last = epochs[0]["per_class_val_accuracy"], epochs[-1]["per_class_val_accuracy"]
    worst = min(range(len(last)), key=lambda d: last[d])
    best = max(range(len(last)), key=lambda d: last[d])
    text = (f"After epoch {epochs[-1]['epoch']}, digit {worst} is read worst ({pct(last[worst])}) "
            f"and digit {best} best ({pct(last[best])})")
    if len(epochs) > 1 and len(first) == len(last):
        gained = max(range(len(last)), key=lambda d: last[d] - first[d])
        if last[gained] - first[gained] >= 0.001:
            text += f"; digit {gained} gained most, from {pct(first[gained])}"
    return text + "."


def live_loss_summary(batches: list[dict], label: str) -> str:
    """The loss of the run in progress, from its first to its latest batch.

    >>> live_loss_summary([{"step": 1, "loss": 2.3}, {"step": 120, "loss": 0.45}], "MLP 128")
    'Now training “MLP 128”: the loss went from 2.300 at step 1 to 0.450 at step 120.'
    >>> live_loss_summary([], "MLP 128")
    'No batch of “MLP 128” has finished yet.'
    """
    finite = [b for b in batches if isinstance(b.get("loss"), (int, float)) and math.isfinite(b["loss"])]
    if not batches:
        return f"No batch of {quoted(label)} has finished yet."
    if not finite:
        return f"Now training {quoted(label)}: its loss is no longer a number, so the run has diverged."
    first, last = finite[0], finite[-1]
    if first is last:
        return f"Now training {quoted(label)}: the loss is {last['loss']:.3f} at step {last['step']}."
    return (f"Now training {quoted(label)}: the loss went from {first['loss']:.3f} at step {first['step']} "
            f"to {last['loss']:.3f} at step {last['step']}.")


def lr_range_summary(rows: list[dict], suggested_lr: float) -> str:
    """Where the range test's smoothed loss bottoms out, whether it then blows up, and the suggestion.

    >>> rows = [{"lr": 1e-5, "smoothed": 2.3}, {"lr": 0.3, "smoothed": 0.4}, {"lr": 10, "smoothed": 9.0}]
    >>> lr_range_summary(rows, 0.03)
    'The smoothed loss falls from 2.30 to its lowest, 0.40, at lr 0.3, then climbs to 9.00; the suggested lr is 0.03.'
    >>> lr_range_summary([], 0.03)
    'The range test has no batches to show.'
    """
    finite = [r for r in rows if isinstance(r.get("smoothed"), (int, float)) and math.isfinite(r["smoothed"])]
    if not finite:
        return "The range test has no batches to show."
    low = min(finite, key=lambda r: r["smoothed"])
    text = (f"The smoothed loss falls from {finite[0]['smoothed']:.2f} to its lowest, {low['smoothed']:.2f}, "
            f"at lr {low['lr']:.2g}")
    end = finite[-1]["smoothed"]
    if len(finite) < len(rows) or end > 1.5 * low["smoothed"]:
        text += ", then climbs" + (f" to {end:.2f}" if len(finite) == len(rows) else " until it is no longer a number")
    return text + f"; the suggested lr is {suggested_lr:.2g}."


def runs_overlay_summary(rows: list[dict], metric: str, split: str = "validation") -> str:
    """The run overlay's best and worst final value of one metric and split (the Run history chart).

    `rows` are curve rows with a "run" label each, as for runs_overlay_spec; a run's last row counts.

    >>> rows = [{"run": "a", "metric": "accuracy", "split": "validation", "value": v} for v in (0.9, 0.97)]
    >>> rows += [{"run": "b", "metric": "accuracy", "split": "validation", "value": 0.91}]
    >>> runs_overlay_summary(rows, "accuracy")
    'Of 2 runs, “a” ends highest in validation accuracy (97%) and “b” lowest (91%).'
    >>> runs_overlay_summary([], "loss", "training")
    'No chosen run has a training loss curve.'
    """
    finals = {r["run"]: r["value"] for r in rows if r["metric"] == metric and r["split"] == split
              and isinstance(r.get("value"), (int, float)) and math.isfinite(r["value"])}
    if not finals:
        return f"No chosen run has a {split} {metric} curve."
    return overlay_summary(finals, f"{split} {metric}")
