"""One-sentence summaries of charts, for projector mode and for screen readers.

Each function takes the same plain data its chart draws and says its gist in
words, e.g. "Validation accuracy rose from 91% to 98% in 3 epochs." Pages show
the sentence under the chart.
"""
from __future__ import annotations


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%".replace(".0%", "%")


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
            return f"Validation accuracy reached {_pct(last)} after 1 epoch."
        verb = "rose" if last > first else ("fell" if last < first else "stayed")
        text = (f"Validation accuracy {verb} from {_pct(first)} to {_pct(last)} {span}." if verb != "stayed"
                else f"Validation accuracy stayed at {_pct(last)} {span}.")
        if best > last + 0.005:
            text = text[:-1] + f", after a best of {_pct(best)}."
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
    fmt = _pct if "accuracy" in metric else (lambda v: f"{v:.3f}")
    if len(ranked) == 1:
        return f"“{best}” ends at {fmt(best_value)} {metric}."
    word = "highest" if "loss" not in metric else "lowest"
    other = "lowest" if word == "highest" else "highest"
    return (f"Of {len(ranked)} runs, “{best}” ends {word} in {metric} ({fmt(best_value)}) and “{worst}” "
            f"{other} ({fmt(worst_value)}).")


def board_summary(rows, setting: str) -> str:
    """The class board in one sentence: how many dots, the best one, how many still training.

    >>> board_summary([], "lr")
    'No student has a run yet.'
    """
    if not rows:
        return "No student has a run yet."
    scored = [r for r in rows if r.val_accuracy is not None]
    training = sum(r.training for r in rows)
    text = f"{len(rows)} student{'s have' if len(rows) != 1 else ' has'} a run"
    if scored:
        best = max(scored, key=lambda r: r.val_accuracy)
        text += f"; the best validation accuracy, {_pct(best.val_accuracy)}, came with {setting} = {best.x}"
    if training:
        text += f"; {training} still training"
    return text + "."


def guesses_summary(rows, mean_error: float | None) -> str:
    """How well the class guessed.

    >>> guesses_summary([], None)
    'No guess has been scored yet.'
    """
    scored = [r for r in rows if r.score is not None]
    if not scored or mean_error is None:
        return "No guess has been scored yet."
    right = sum(bool(r.divergence_right) for r in scored)
    return (f"{len(scored)} guess{'es' if len(scored) != 1 else ''} scored: the class's mean error is "
            f"{mean_error:g} points, and {right} of {len(scored)} said rightly whether the run would diverge.")
