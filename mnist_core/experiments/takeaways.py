"""The one sentence a study ends with, from its per-variant summaries.

Each ready-made study names its sentence (`Study.takeaway`, a key of
TAKEAWAYS); `takeaway(study, rows)` picks it and falls back to the generic
best-and-worst sentence when a partial or cancelled study lacks what the
study's own sentence needs.
"""
from __future__ import annotations

import numpy as np

from ..config import CHANCE_LOSS
from .runner import RunRow, summarize
from .studies import Study


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _usable(summaries: list[dict]) -> list[dict]:
    return [s for s in summaries if s.get("test_accuracy") is not None]


def _best_and_worst(summaries: list[dict]) -> tuple[dict, dict]:
    usable = _usable(summaries)
    return max(usable, key=lambda s: s["test_accuracy"]), min(usable, key=lambda s: s["test_accuracy"])


def seed_noise_note(summaries: list[dict]) -> str:
    """A clause on seed noise when runs were repeated over seeds, else ''.

    The typical (median) spread is what a difference should beat; the largest is
    named too, since an unstable setting scatters far more than the rest.

    >>> seed_noise_note([{"label": "a", "seeds": 3, "test_accuracy_std": 0.004},
    ...                  {"label": "b", "seeds": 3, "test_accuracy_std": 0.002}])
    ' (seed noise: typically ±0.3 points, at most ±0.4 for a)'
    """
    spread = [(s["test_accuracy_std"], s) for s in summaries
              if s.get("seeds", 1) > 1 and s.get("test_accuracy_std") is not None]
    if not spread:
        return ""
    typical = float(np.median([value for value, _ in spread]))
    largest, which = max(spread, key=lambda pair: pair[0])
    name = f"{which['group']} · {which['label']}" if which.get("group") else which["label"]
    return f" (seed noise: typically ±{100 * typical:.1f} points, at most ±{100 * largest:.1f} for {name})"


def generic_takeaway(summaries: list[dict], knob_label: str = "the knob") -> str:
    """Best and worst value of the knob, and the spread between them."""
    usable = _usable(summaries)
    if not usable:
        return "No run finished, so there is nothing to compare yet."
    best, worst = _best_and_worst(usable)
    if best is worst:
        return f"Only {best['label']} finished: {_pct(best['test_accuracy'])}."
    gap = 100 * (best["test_accuracy"] - worst["test_accuracy"])
    return (f"Best: {best['label']} at {_pct(best['test_accuracy'])}; worst: {worst['label']} at "
            f"{_pct(worst['test_accuracy'])}, {gap:.1f} points apart{seed_noise_note(summaries)}.")


def _unstable(summary: dict) -> bool:
    """Diverged, or ended with a training loss worse than pure guessing."""
    loss = summary.get("final_train_loss")
    return summary.get("status") == "diverged" or (loss is not None and loss > CHANCE_LOSS)


def _unstable_phrase(runs: list[dict]) -> str:
    runs = sorted(runs, key=lambda s: s["value"])
    values = " and ".join(f"{s['value']:g}" for s in runs)
    diverged = [s for s in runs if s.get("status") == "diverged"]
    losses = [f"{s['final_train_loss']:.1f}" for s in runs if s not in diverged]
    details = []
    if losses:
        details.append("training loss " + " and ".join(losses))
    if diverged:
        details.append("lr " + " and ".join(f"{s['value']:g}" for s in diverged) + " diverged"
                       if len(diverged) < len(runs) else "diverged")
    return f"lr {values} unstable ({'; '.join(details)})"


def lr_takeaway(summaries: list[dict]) -> str:
    parts = []
    for group in dict.fromkeys(s["group"] for s in summaries):
        runs = [s for s in summaries if s["group"] == group]
        unstable = [s for s in runs if _unstable(s)]
        stable = [s for s in _usable(runs) if not _unstable(s)]
        if not stable:
            if unstable:
                parts.append((f"{group}: " if group else "") + _unstable_phrase(unstable))
            continue
        best = max(stable, key=lambda s: s["test_accuracy"])
        smallest = min(stable, key=lambda s: s["value"])
        text = (f"{group}: " if group else "") + f"best at lr {best['value']:g} ({_pct(best['test_accuracy'])})"
        if smallest is not best:
            text += f", lr {smallest['value']:g} too slow ({_pct(smallest['test_accuracy'])})"
        if unstable:
            text += ", " + _unstable_phrase(unstable)
        parts.append(text)
    if not parts:
        return "No run finished, so there is nothing to compare yet."
    note = (f" (unstable: diverged, or a final training loss above the {CHANCE_LOSS:.2f} of pure guessing)"
            if any(_unstable(s) for s in summaries) else "")
    return ("; ".join(parts) + ". A bigger step helps until it makes training unstable" + note
            + seed_noise_note(summaries) + ".")


def l2_takeaway(summaries: list[dict]) -> str:
    usable = _usable(summaries)
    if len(usable) < 2:
        return generic_takeaway(summaries, "L2")
    weakest = min(usable, key=lambda s: s["value"])
    strongest = max(usable, key=lambda s: s["value"])
    text = (f"From L2 = {weakest['value']:g} to L2 = {strongest['value']:g} the test accuracy went from "
            f"{_pct(weakest['test_accuracy'])} to {_pct(strongest['test_accuracy'])}")
    if weakest.get("weight_norm") and strongest.get("weight_norm"):
        text += (f", the templates shrank to {100 * strongest['weight_norm'] / weakest['weight_norm']:.0f}% "
                 "of their size")
    if weakest.get("mean_confidence") and strongest.get("mean_confidence"):
        text += (f" and the average confidence fell from {_pct(weakest['mean_confidence'])} "
                 f"to {_pct(strongest['mean_confidence'])}")
    return text + seed_noise_note(summaries) + "."


def activation_takeaway(summaries: list[dict]) -> str:
    runs = [s for s in summaries if s.get("first_epoch_val_loss") is not None]
    if not runs:
        return generic_takeaway(summaries, "activation")
    runs = sorted(runs, key=lambda s: s["first_epoch_val_loss"])
    losses = ", ".join(f"{s['label']} {s['first_epoch_val_loss']:.3f}" for s in runs)
    best, _ = _best_and_worst(runs)
    return (f"Loss on held-out images after the first epoch: {losses}, so {runs[0]['label']} learned "
            f"fastest; best test accuracy at the end: {best['label']} ({_pct(best['test_accuracy'])})"
            f"{seed_noise_note(summaries)}.")


def dropout_takeaway(summaries: list[dict]) -> str:
    runs = [s for s in summaries if s.get("final_val_loss") is not None and s.get("final_train_loss") is not None]
    if len(runs) < 2:
        return generic_takeaway(summaries, "dropout")
    runs = sorted(runs, key=lambda s: s["value"])
    gaps = ", ".join(f"{s['label']} {s['final_val_loss'] - s['final_train_loss']:.3f}" for s in runs)
    none, most = runs[0], runs[-1]
    narrower = (most["final_val_loss"] - most["final_train_loss"]) < (none["final_val_loss"] - none["final_train_loss"])
    verdict = "narrowed" if narrower else "did not narrow"
    best, _ = _best_and_worst(runs)
    return (f"Generalization gap at the end (validation loss − training loss): {gaps}; {most['label']} {verdict} "
            f"the gap. Best test accuracy: {best['label']} ({_pct(best['test_accuracy'])}){seed_noise_note(summaries)}.")


def capacity_takeaway(summaries: list[dict]) -> str:
    usable = [s for s in _usable(summaries) if s.get("parameters")]
    if len(usable) < 2:
        return generic_takeaway(summaries, "capacity")
    small = min(usable, key=lambda s: s["parameters"])
    big = max(usable, key=lambda s: s["parameters"])
    best, _ = _best_and_worst(usable)
    gain = 100 * (big["test_accuracy"] - small["test_accuracy"])
    return (f"From {small['label']} ({small['parameters']:,} parameters, {_pct(small['test_accuracy'])}) to "
            f"{big['label']} ({big['parameters']:,}, {_pct(big['test_accuracy'])}): "
            f"{big['parameters'] / small['parameters']:.0f}× the parameters for {gain:+.1f} points; "
            f"best: {best['label']} ({_pct(best['test_accuracy'])}){seed_noise_note(summaries)}.")


def family_takeaway(summaries: list[dict]) -> str:
    usable = sorted(_usable(summaries), key=lambda s: -s["test_accuracy"])
    if not usable:
        return generic_takeaway(summaries, "model")
    ranking = f"{usable[0]['label']} {_pct(usable[0]['test_accuracy'])}"
    for previous, s in zip(usable, usable[1:]):
        tied = _pct(previous["test_accuracy"]) == _pct(s["test_accuracy"])
        ranking += f" {'=' if tied else '>'} {s['label']} {_pct(s['test_accuracy'])}"
    fastest = min(usable, key=lambda s: s["train_seconds"])
    return (f"{ranking}. Fastest to train: {fastest['label']} ({fastest['train_seconds']:.1f} s)"
            f"{seed_noise_note(summaries)}.")


def overfitting_takeaway(summaries: list[dict]) -> str:
    parts = []
    for s in summaries:
        curve = s.get("test_loss_curve") or []
        if not curve:
            continue
        best_epoch = int(np.argmin(curve)) + 1
        parts.append(f"{s['label']}: test loss lowest at epoch {best_epoch} ({min(curve):.3f}), "
                     f"{curve[-1]:.3f} at the end while the training loss fell to {s['final_train_loss']:.3f}")
    if not parts:
        return generic_takeaway(summaries, "L2")
    return ("; ".join(parts) + ". The longer a model studies a few images, the more it memorises them"
            + seed_noise_note(summaries) + ".")


TAKEAWAYS = {"lr": lr_takeaway, "l2": l2_takeaway, "activation": activation_takeaway,
             "dropout": dropout_takeaway, "capacity": capacity_takeaway, "family": family_takeaway,
             "overfitting": overfitting_takeaway}


def takeaway(study: Study, rows: list[RunRow]) -> str:
    """The study's one-line conclusion from its finished rows (a generic one if that fails)."""
    summaries = summarize(rows)
    sentence = TAKEAWAYS.get(study.takeaway)
    if sentence is None:  # a custom study: best and worst of its knob
        return generic_takeaway(summaries, study.knob_label)
    try:
        return sentence(summaries)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        # A partial or cancelled experiment may lack what the study's sentence needs.
        return generic_takeaway(summaries, study.knob_label)
