"""Summaries of the teacher's charts: the live class board and the guesses against outcomes."""
from __future__ import annotations

from ._format import pct


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
        text += f"; the best validation accuracy, {pct(best.val_accuracy)}, came with {setting} = {best.x}"
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
