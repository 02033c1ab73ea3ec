"""Summaries of the Experiments page's charts: the final accuracy bars, every run's training loss,
training against held-out loss per epoch, and accuracy against parameter count.

`summaries` are mnist_core.experiments.summarize(rows); `rows` are its RunRows
(the charts draw the first seed of each run, and so do these sentences).
"""
from __future__ import annotations

from ..chart_rows import curve_rows
from ._format import pct, plural, quoted
from .training import overlay_summary


def _name(summary: dict) -> str:
    return f"{summary['group']} · {summary['label']}" if summary.get("group") else summary["label"]


def accuracy_bars_summary(summaries: list[dict]) -> str:
    """The best and worst final test accuracy of a study, and how many runs diverged.

    >>> accuracy_bars_summary([{"label": "lr 0.1", "group": "", "test_accuracy": 0.978, "status": "finished"},
    ...                        {"label": "lr 0.001", "group": "", "test_accuracy": 0.912, "status": "finished"},
    ...                        {"label": "lr 10", "group": "", "test_accuracy": 0.098, "status": "diverged"}])
    'Of 2 runs, “lr 0.1” ends highest in test accuracy (97.8%) and “lr 0.001” lowest (91.2%); 1 more diverged.'
    >>> accuracy_bars_summary([])
    'No run has finished yet.'
    """
    if not summaries:
        return "No run has finished yet."
    diverged = sum(s["status"] == "diverged" for s in summaries)
    scored = {_name(s): s["test_accuracy"] for s in summaries
              if s["status"] != "diverged" and s["test_accuracy"] is not None}
    if not scored:
        return f"None of the {plural(len(summaries), 'run')} has a test accuracy: {diverged} diverged."
    text = overlay_summary(scored, "test accuracy")
    return text[:-1] + f"; {diverged} more diverged." if diverged else text


def _first_seed(rows: list) -> list:
    first = min((r.seed for r in rows), default=None)
    return [r for r in rows if r.seed == first]


def loss_overlay_summary(rows: list, epochs: int = 0) -> str:
    """Which run's training loss ends lowest and which highest on the overlay (its first `epochs`, if set).

    >>> from mnist_core.experiments import RunRow
    >>> def run(label, losses):
    ...     batches = [{"step": i + 1, "loss": v} for i, v in enumerate(losses)]
    ...     return RunRow("s", 0, label, "", "lr", 0, 0, "torch", "MLP", "finished", steps_per_epoch=2,
    ...                   history={"batches": batches, "epochs": []})
    >>> loss_overlay_summary([run("lr 0.1", [2.3, 0.3]), run("lr 0.001", [2.3, 2.0])])
    'Of 2 runs, “lr 0.1” ends lowest in training loss (0.300) and “lr 0.001” highest (2.000).'
    >>> loss_overlay_summary([])
    'No run has a loss curve yet.'
    """
    finals = {}
    for row in _first_seed(rows):
        points = [p for p in curve_rows(row.history, row.steps_per_epoch, max_points=150) if row.history
                  and p["metric"] == "loss" and p["split"] == "training" and (not epochs or p["epoch"] <= epochs)]
        if points:
            finals[row.label] = points[-1]["value"]
    if not finals:
        return "No run has a loss curve yet."
    window = "" if not epochs else " after the first epoch" if epochs == 1 else f" after {epochs} epochs"
    return overlay_summary(finals, f"training loss{window}")


def epoch_curves_summary(rows: list, other: str) -> str:
    """The run whose held-out loss (validation, or test with `other="test"`) ends furthest above its
    training loss: the widest gap is the most overfitting.

    >>> from mnist_core.experiments import RunRow
    >>> def run(label, train, val):
    ...     epochs = [{"epoch": i + 1, "train_loss": t, "val_loss": v} for i, (t, v) in enumerate(zip(train, val))]
    ...     return RunRow("s", 0, label, "", "dropout", 0, 0, "torch", "MLP", "finished", history={"epochs": epochs})
    >>> epoch_curves_summary([run("no dropout", [0.5, 0.02], [0.3, 0.21]), run("dropout 0.5", [0.6, 0.1], [0.3, 0.12])], "final_val")
    'After 2 epochs, “no dropout” has the widest gap between validation and training loss (0.210 against 0.020) and “dropout 0.5” the narrowest (0.120 against 0.100).'
    >>> epoch_curves_summary([], "test")
    'No run has finished an epoch yet.'
    """
    name = "validation" if other == "final_val" else "test"
    gaps = {}
    for row in _first_seed(rows):
        epochs = (row.history or {}).get("epochs") or []
        others = row.test_loss_curve if other == "test" else [e.get("val_loss") for e in epochs]
        pairs = [(e, v) for e, v in zip(epochs, others) if v is not None and e.get("train_loss") is not None]
        if pairs:
            event, value = pairs[-1]
            gaps[row.label] = (event["epoch"], value, event["train_loss"])
    if not gaps:
        return "No run has finished an epoch yet."
    ranked = sorted(gaps.items(), key=lambda kv: kv[1][1] - kv[1][2], reverse=True)
    (wide, (epoch, w_other, w_train)), (narrow, (_, n_other, n_train)) = ranked[0], ranked[-1]
    text = (f"After {plural(epoch, 'epoch')}, {quoted(wide)} has the "
            f"{'widest ' if len(ranked) > 1 else ''}gap between {name} and training loss "
            f"({w_other:.3f} against {w_train:.3f})")
    if len(ranked) > 1:
        text += f" and {quoted(narrow)} the narrowest ({n_other:.3f} against {n_train:.3f})"
    return text + "."


def parameters_summary(summaries: list[dict]) -> str:
    """The most accurate run against its size, and the smallest run against its accuracy.

    >>> parameters_summary([{"label": "MLP 512", "parameters": 407050, "test_accuracy": 0.981},
    ...                     {"label": "MLP 16", "parameters": 12730, "test_accuracy": 0.952}])
    'The most accurate run, “MLP 512” (98.1%), has 407,050 parameters; the smallest, “MLP 16”, has 12,730 (95.2%).'
    >>> parameters_summary([])
    'No run has both a parameter count and a test accuracy yet.'
    """
    points = [s for s in summaries if s.get("parameters") and s.get("test_accuracy") is not None]
    if not points:
        return "No run has both a parameter count and a test accuracy yet."
    best = max(points, key=lambda s: s["test_accuracy"])
    small = min(points, key=lambda s: s["parameters"])
    text = (f"The most accurate run, {quoted(best['label'])} ({pct(best['test_accuracy'])}), has "
            f"{plural(best['parameters'], 'parameter')}")
    if small is not best:
        text += (f"; the smallest, {quoted(small['label'])}, has {small['parameters']:,} "
                 f"({pct(small['test_accuracy'])})")
    else:
        text += ", and it is also the smallest"
    return text + "."
