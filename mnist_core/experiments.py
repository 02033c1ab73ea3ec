"""Controlled experiments: the classic MNIST studies, one knob at a time.

A `Study` is plain data: a title, an explanation shown *before* the run, the
knob it turns, one `Variant` (a TrainConfig, or a scikit-learn baseline) per
value, and a takeaway function that turns the results into one sentence
*after* the run. `run_experiment` trains the variants one after another with
a shared seed, so that every run of a study starts from the same initial
weights (where the shapes match) and sees the training images in the same
order: the knob is the only thing that changes.

    python -m mnist_core experiment lr-sweep --data-dir ../shared/mnist

The defaults of every ready-made study were chosen so that it finishes in
well under 5 minutes on one free core of a 2-core machine: training subsets
(images per digit) and epoch counts are part of each study and are stated on
the page. Batch sizes divide the subset exactly, so no epoch ends on a tiny
left-over batch (one image with a big step can undo a short run).
"""
from __future__ import annotations

import dataclasses
import math
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .callbacks import Callback
from .config import ACTIVATIONS, ARCHITECTURES, OPTIMIZERS, SCHEDULES, ConfigError, TrainConfig, parse_hidden
from .data import batch_count

# ---------------------------------------------------------------------------
# What a study is made of
# ---------------------------------------------------------------------------

BASELINES = {
    "logistic-regression": "Logistic regression (scikit-learn)",
    "random-forest": "Random forest (scikit-learn)",
}
MAX_VALUES = 8  # values a custom study may try: more would not fit a lesson
MAX_SEEDS = 5


@dataclass(frozen=True)
class Variant:
    """One setting of the knob: a TrainConfig to train, or a scikit-learn baseline."""
    label: str  # what the tables and legends show, e.g. "lr 0.1" or "ReLU"
    value: object  # the knob's value, as the table's knob column shows it
    config: TrainConfig  # the run's settings (for a baseline: its subset, split and seed)
    group: str = ""  # a second dimension of the table, e.g. the model in the lr sweep
    baseline: str | None = None  # a key of BASELINES, or None for a torch model


@dataclass(frozen=True)
class Study:
    name: str  # the CLI name, e.g. "lr-sweep"
    title: str
    knob: str  # the TrainConfig field (or "model") that changes
    knob_label: str  # how the table heads the knob's column
    explanation: str  # markdown shown before the run: what to expect and why
    variants: tuple[Variant, ...]
    takeaway: Callable[[list[dict]], str]  # per-variant summaries -> one sentence
    views: tuple[str, ...] = ()  # extra views: "templates", "parameters", "generalization", "test-loss", "metrics"
    reported: str = ""  # figures a known study reported, for the page to quote
    track_test_loss: bool = False  # also record the test loss after every epoch (overfitting)
    curve_epochs: int = 0  # the loss overlay shows only this many first epochs (0 = all): where the lesson is

    @property
    def base(self) -> TrainConfig:
        return self.variants[0].config

    def settings_note(self) -> str:
        """The training budget in one sentence, e.g. '2,000 images per digit (20,000), 1 epoch, batch 1,000'."""
        torch_configs = [v.config for v in self.variants if v.baseline is None] or [self.base]
        parts = []
        for name, describe in (
                ("subset", lambda c: (f"{c.subset:,} training images per digit ({10 * c.subset:,} in all)"
                                      if c.subset else "all 54,000 training images")),
                ("epochs", lambda c: f"{c.epochs} epoch{'s' if c.epochs > 1 else ''}"),
                ("batch_size", lambda c: f"batch {c.batch_size:,}"),
                ("optimizer", lambda c: OPTIMIZERS[c.optimizer][0] + (
                    f" lr {c.lr:g}" if self.knob != "lr" else "") + (
                    " (constant)" if c.schedule == "constant" else " (one-cycle)"))):
            values = list(dict.fromkeys(describe(c) for c in torch_configs))
            if name == self.knob or len(values) > 1:
                continue  # the knob's own values are in the table
            parts.append(values[0])
        return ", ".join(parts) + f"; seed {self.base.seed} shared by every run"


def _sweep(knob: str, values, base: TrainConfig, label: Callable[[object], str], group: str = "",
           changes: Callable[[object], dict] | None = None) -> list[Variant]:
    """One Variant per value: `base` with the knob set (or with `changes(value)` applied)."""
    changes = changes or (lambda value: {knob: value})
    return [Variant(label=label(v), value=v, config=base.replace(**changes(v)), group=group) for v in values]


def _model_name(config: TrainConfig) -> str:
    if config.arch in ("mlp", "deep-mlp"):
        return "MLP " + "-".join(str(h) for h in config.hidden_sizes)
    return ARCHITECTURES[config.arch]


# ---------------------------------------------------------------------------
# Summaries and takeaways
# ---------------------------------------------------------------------------

def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _value_text(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "-".join(str(v) for v in value)
    return str(value)


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


GUESSING_LOSS = math.log(10)  # the loss of a model that gives every digit 10%


def _unstable(summary: dict) -> bool:
    """Diverged, or ended with a training loss worse than pure guessing."""
    loss = summary.get("final_train_loss")
    return summary.get("status") == "diverged" or (loss is not None and loss > GUESSING_LOSS)


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
                parts.append(f"{group}: {_unstable_phrase(unstable)}")
            continue
        best = max(stable, key=lambda s: s["test_accuracy"])
        smallest = min(stable, key=lambda s: s["value"])
        text = f"{group}: best at lr {best['value']:g} ({_pct(best['test_accuracy'])})"
        if smallest is not best:
            text += f", lr {smallest['value']:g} too slow ({_pct(smallest['test_accuracy'])})"
        if unstable:
            text += ", " + _unstable_phrase(unstable)
        parts.append(text)
    if not parts:
        return "No run finished, so there is nothing to compare yet."
    note = (f" (unstable: diverged, or a final training loss above the {GUESSING_LOSS:.2f} of pure guessing)"
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


# ---------------------------------------------------------------------------
# The ready-made studies
# ---------------------------------------------------------------------------

def _lr_sweep() -> Study:
    # 20 steps of 1,000 images: short enough that lr 0.01 is visibly slow, long enough
    # that lr 0.1 reaches the high 80s. Constant schedule: the knob is the step itself.
    base = TrainConfig(optimizer="sgd", schedule="constant", batch_size=1000, epochs=1, subset=2000,
                       hidden=None)
    lrs = (10.0, 1.0, 0.1, 0.05, 0.01)
    softmax = base.replace(arch="softmax")
    mlp = base.replace(arch="mlp", hidden=(128,))
    variants = (_sweep("lr", lrs, softmax, lambda v: f"lr {v:g}", group="Softmax regression")
                + _sweep("lr", lrs, mlp, lambda v: f"lr {v:g}", group="MLP 128"))
    return Study(
        name="lr-sweep", title="Learning-rate sweep", knob="lr", knob_label="learning rate",
        variants=tuple(variants), takeaway=lr_takeaway,
        reported="A known study of short plain-SGD runs reports 95.2 / 92.7 / 91.4 / 76.2% test accuracy "
                 "at lr 1 / 0.1 / 0.05 / 0.01.",
        explanation=(
            "Plain SGD takes a step of size **lr × gradient** after every batch. Here both softmax "
            "regression and a 2-layer MLP (784-128-10) train for the same short budget at "
            "lr 10, 1, 0.1, 0.05 and 0.01.\n\n"
            "**What to expect:** a bigger step helps — lr 0.01 barely gets started in a short run — until "
            "the step overshoots the valley and training becomes unstable. Our pixels are standardized "
            "(mean 0, spread 1), which makes each step roughly 10× stronger than on raw 0–1 pixels, so the "
            "edge comes earlier than in the classic study: watch lr 1 and lr 10, especially for the MLP, "
            "whose loss can shoot up to NaN (*diverged*)."))


def _l2_sweep() -> Study:
    base = TrainConfig(arch="softmax", optimizer="sgd", schedule="constant", lr=0.1, batch_size=200,
                       epochs=3, subset=2000)
    variants = _sweep("l2", (1.0, 0.1, 0.01, 1e-3, 1e-4), base, lambda v: f"L2 {v:g}")
    return Study(
        name="l2-sweep", title="L2 (weight decay) sweep", knob="l2", knob_label="L2",
        variants=tuple(variants), takeaway=l2_takeaway, views=("templates",),
        reported="A known study reports 10 / 36 / 89 / 93 / 93% at L2 = 1 / 0.1 / 0.01 / 1e-3 / 1e-4.",
        explanation=(
            "Softmax regression has one 28×28 weight *template* per digit. L2 (weight decay) pulls every "
            "weight toward zero after each step (gradient += L2 × weight).\n\n"
            "**What to expect:** a little L2 changes nothing; a lot of it flattens the templates, so the "
            "model becomes unsure of everything and its accuracy drops. Compare the templates below: "
            "with strong L2 they fade to faint, smooth blobs.\n\n"
            "In the classic study L2 = 1 collapsed the model to chance (10%). Expect a milder drop here: our pixels "
            "are standardized and every digit has the same number of training images, so even strongly "
            "shrunk templates still point the right way. Watch the accuracy drop and the model's "
            "confidence drain instead."))


def _activation() -> Study:
    # Adam at a constant step: with plain SGD and PyTorch's default (small) initial weights,
    # ReLU and Tanh finish the first epoch in a dead heat on this shallow net.
    base = TrainConfig(arch="mlp", hidden=(128,), optimizer="adam", schedule="constant", lr=5e-3,
                       batch_size=100, epochs=3, subset=1000)
    variants = _sweep("activation", ("relu", "tanh", "sigmoid"), base, lambda v: ACTIVATIONS[v])
    return Study(
        name="activation", title="Activation functions", knob="activation", knob_label="activation",
        variants=tuple(variants), takeaway=activation_takeaway, curve_epochs=1,
        explanation=(
            "The same MLP (784-128-10) with three non-linearities between its layers: "
            "**ReLU** (max(0, x)), **Tanh** and **Sigmoid**. Every run starts from the same initial "
            "weights and sees the same batches.\n\n"
            "**What to expect:** ReLU's loss falls fastest. ReLU passes the gradient on unchanged "
            "wherever a unit is active; Tanh and Sigmoid flatten out for large inputs, so their "
            "gradients shrink, and Sigmoid's outputs are all positive (not centred on zero), which makes "
            "the next layer's updates zig-zag. Compare the overlaid loss curves and the loss on held-out "
            "images after the first epoch."))


def _dropout() -> Study:
    # Few images and many epochs: a wide MLP can memorise 1,000 images, which opens the gap.
    # Plain SGD: Adam's own per-weight step sizes already blunt overfitting here, hiding dropout's effect.
    base = TrainConfig(arch="mlp", hidden=(512,), optimizer="sgd", schedule="constant", lr=0.1,
                       batch_size=50, epochs=60, subset=100)
    variants = _sweep("dropout", (0.0, 0.2, 0.5), base, lambda v: f"dropout {v:g}")
    return Study(
        name="dropout", title="Dropout", knob="dropout", knob_label="dropout",
        variants=tuple(variants), takeaway=dropout_takeaway, views=("generalization",),
        explanation=(
            "Dropout switches off a random share of the hidden units at every training step, so the "
            "network cannot lean on any single unit. The same MLP (784-512-10) trains on only 100 "
            "images per digit for many epochs, with dropout 0, 0.2 and 0.5.\n\n"
            "**What to expect:** without dropout the training loss drops to almost zero while the "
            "validation loss (images the model never trains on) stops improving and creeps up: the "
            "*generalization gap*. Dropout keeps the two curves closer together. (The training loss is "
            "measured with dropout switched on, as the network trains.)"))


def _capacity() -> Study:
    base = TrainConfig(arch="mlp", optimizer="adam", schedule="onecycle", lr=3e-3, batch_size=100,
                       epochs=3, subset=1000)

    def changes(hidden):
        return {"arch": "mlp" if len(hidden) == 1 else "deep-mlp", "hidden": hidden}

    variants = _sweep("hidden", ((32,), (128,), (512,), (2048,), (512, 512)), base,
                      lambda v: "MLP " + "-".join(map(str, v)), changes=changes)
    return Study(
        name="capacity", title="Capacity: width and depth", knob="hidden", knob_label="hidden layers",
        variants=tuple(variants), takeaway=capacity_takeaway, views=("parameters",),
        explanation=(
            "How big should a network be? MLPs with one hidden layer of 32, 128, 512 and 2048 units, "
            "and one with two hidden layers of 512, train on the same images for the same epochs.\n\n"
            "**What to expect:** accuracy rises with size, quickly at first and then slowly: each step "
            "costs many more parameters (and seconds) for a smaller gain. A second layer adds "
            "parameters too; on MNIST it buys little. See accuracy against parameter count."))


def _model_family() -> Study:
    base = TrainConfig(optimizer="adam", schedule="onecycle", lr=3e-3, batch_size=100, epochs=2, subset=1000)
    variants = [Variant(label=name, value=name, config=base.replace(**changes)) for name, changes in (
        ("Softmax regression", {"arch": "softmax"}),
        ("MLP 256", {"arch": "mlp", "hidden": (256,)}),
        ("CNN", {"arch": "cnn"}))]
    variants += [Variant(label=label, value=label, config=base, baseline=key) for key, label in (
        ("logistic-regression", "Logistic regression"), ("random-forest", "Random forest"))]
    return Study(
        name="model-family", title="Model families and classic baselines", knob="model", knob_label="model",
        variants=tuple(variants), takeaway=family_takeaway, views=("metrics",),
        explanation=(
            "Softmax regression, an MLP (784-256-10) and a small CNN train on the same images with the "
            "same optimizer, next to two classic scikit-learn baselines on the same pixels: logistic "
            "regression (softmax regression fitted to the optimum) and a random forest of 100 trees.\n\n"
            "**What to expect:** CNN > MLP > softmax. The CNN's filters slide over the image, so a stroke "
            "is recognised wherever it is; the MLP sees pixels only at fixed places, and softmax "
            "regression can only match one template per digit. The random forest is a strong classic "
            "baseline. Compare precision, recall and F1 (means over the ten digits) and training time."))


def _overfitting() -> Study:
    base = TrainConfig(arch="mlp", hidden=(512,), optimizer="adam", schedule="constant", lr=1e-3,
                       batch_size=50, epochs=60, subset=50)
    variants = _sweep("l2", (0.0, 0.01), base, lambda v: "no L2" if v == 0 else f"L2 {v:g}")
    return Study(
        name="overfitting", title="Overfitting", knob="l2", knob_label="L2",
        variants=tuple(variants), takeaway=overfitting_takeaway, views=("test-loss",), track_test_loss=True,
        explanation=(
            "A 512-unit MLP studies just 50 images per digit (500 in all) for many epochs, once "
            "without and once with L2. After every epoch the loss is measured on the training images "
            "and on the 10,000 test images.\n\n"
            "**What to expect:** the training loss keeps falling toward zero, but the test loss reaches "
            "its lowest point early and then rises: the model memorises its 500 images instead of "
            "learning digits. L2 keeps the weights small and slows the memorising down."))


def custom_study(knob: str, values: list, base: TrainConfig | None = None) -> Study:
    """A study that tries each value of one knob on `base`; ConfigError on a bad value.

    >>> custom_study("lr", [0.1, 0.01]).variants[1].config.lr
    0.01
    """
    if knob not in KNOBS:
        raise ConfigError(f"Unknown knob {knob!r}: choose one of {', '.join(KNOBS)}.")
    if not values:
        raise ConfigError("Give at least one value to try.")
    if len(values) > MAX_VALUES:
        raise ConfigError(f"At most {MAX_VALUES} values fit one experiment (got {len(values)}).")
    if len(set(values)) != len(values):
        raise ConfigError("A value appears twice: each value should be tried once.")
    base = (base or TrainConfig(arch="mlp", hidden=(128,), batch_size=100, epochs=2, subset=500)).validate()
    label_of, _, _ = KNOBS[knob]
    variants = []
    for value in values:
        changes = {knob: value}
        if knob == "hidden":
            if base.arch not in ("mlp", "deep-mlp"):
                raise ConfigError("Hidden sizes only apply to an MLP: choose the MLP as the base model.")
            changes["arch"] = "mlp" if len(value) == 1 else "deep-mlp"
        if knob in ("activation",) and base.arch not in ("mlp", "deep-mlp"):
            raise ConfigError("The activation only applies to an MLP: choose the MLP as the base model.")
        if knob == "arch":
            changes["hidden"] = None  # each architecture gets its own default hidden sizes
        try:
            config = base.replace(**changes)
        except ConfigError as error:
            raise ConfigError(f"{label_of(value)}: {error}") from None
        variants.append(Variant(label=label_of(value), value=value, config=config))
    name = KNOBS[knob][1]
    return Study(name="custom", title=f"Custom: {name}", knob=knob, knob_label=name, variants=tuple(variants),
                 takeaway=lambda summaries: generic_takeaway(summaries, name),
                 views=("templates",) if base.arch == "softmax" and knob != "arch" else (),
                 explanation=(f"One knob, **{name}**, takes {len(values)} value{'s' if len(values) > 1 else ''}; "
                              "every other setting stays as chosen, and every run shares the seed, the "
                              "initial weights (where the shapes match) and the order of the batches."))


def _number(text: str, integer: bool = False):
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not a number.") from None
    if integer:
        if not value.is_integer():
            raise ConfigError(f"{text!r} is not a whole number.")
        return int(value)
    return value


def _choice(options: dict) -> Callable[[str], str]:
    lookup = {k.lower(): k for k in options}
    lookup.update({str(v[0] if isinstance(v, tuple) else v).lower(): k for k, v in options.items()})

    def parse(text: str) -> str:
        key = lookup.get(text.strip().lower())
        if key is None:
            raise ConfigError(f"{text!r} is not one of {', '.join(options)}.")
        return key
    return parse


def _label(name: str, fmt: Callable[[object], str] = _value_text) -> Callable[[object], str]:
    return lambda value: f"{name} {fmt(value)}"


# knob -> (label of one value, the knob's name for a student, parser of one value from text)
KNOBS: dict[str, tuple[Callable[[object], str], str, Callable[[str], object]]] = {
    "lr": (_label("lr"), "learning rate", _number),
    "l2": (_label("L2"), "L2 (weight decay)", _number),
    "l1": (_label("L1"), "L1", _number),
    "dropout": (_label("dropout"), "dropout", _number),
    "momentum": (_label("momentum"), "momentum", _number),
    "batch_size": (_label("batch"), "batch size", lambda t: _number(t, integer=True)),
    "epochs": (_label("epochs"), "epochs", lambda t: _number(t, integer=True)),
    "subset": (_label("images/digit"), "images per digit", lambda t: _number(t, integer=True)),
    "hidden": (_label("MLP"), "hidden layers", parse_hidden),
    "activation": (lambda v: ACTIVATIONS[v], "activation", _choice(ACTIVATIONS)),
    "optimizer": (lambda v: OPTIMIZERS[v][0], "optimizer", _choice(OPTIMIZERS)),
    "schedule": (lambda v: SCHEDULES[v].split(" (")[0], "schedule", _choice(SCHEDULES)),
    "arch": (lambda v: ARCHITECTURES[v], "model", _choice(ARCHITECTURES)),
}


def parse_values(knob: str, text: str) -> list:
    """Values of `knob` from text: commas between values; ';' between hidden-layer lists.

    >>> parse_values("lr", "1, 0.1, 1e-2")
    [1.0, 0.1, 0.01]
    >>> parse_values("hidden", "128; 512 256")
    [(128,), (512, 256)]
    """
    if knob not in KNOBS:
        raise ConfigError(f"Unknown knob {knob!r}: choose one of {', '.join(KNOBS)}.")
    separator = ";" if knob == "hidden" else ","
    pieces = [p.strip() for p in str(text).split(separator) if p.strip()]
    if not pieces:
        raise ConfigError("Type at least one value, separated by "
                          + ("semicolons, such as 128; 512; 512 256." if knob == "hidden" else "commas, such as 0.1, 0.01."))
    parse = KNOBS[knob][2]
    values = []
    for piece in pieces:
        value = parse(piece)
        if knob == "hidden" and not value:
            raise ConfigError(f"{piece!r} has no hidden-layer size.")
        values.append(value)
    return values


STUDIES: dict[str, Study] = {s.name: s for s in (
    _lr_sweep(), _l2_sweep(), _activation(), _dropout(), _capacity(), _model_family(), _overfitting())}


def get_study(name: str) -> Study:
    if name not in STUDIES:
        raise ConfigError(f"Unknown experiment {name!r}: choose one of {', '.join(STUDIES)}.")
    return STUDIES[name]


def with_budget(study: Study, subset: int | None = None, epochs: int | None = None) -> Study:
    """The same study on another training budget (images per digit, epochs); ConfigError if invalid."""
    changes = {k: v for k, v in (("subset", subset), ("epochs", epochs)) if v is not None}
    if not changes:
        return study
    variants = tuple(dataclasses.replace(v, config=v.config.replace(**changes)) for v in study.variants)
    return dataclasses.replace(study, variants=variants)


# ---------------------------------------------------------------------------
# Time estimates (for the page and the progress bar; not exact)
# ---------------------------------------------------------------------------

# Seconds per training image on one free core (forward + backward), measured here.
_SECONDS_PER_IMAGE = {"softmax": 5e-6, "cnn": 5e-4}
_SECONDS_PER_MLP_PARAMETER_IMAGE = 9e-11  # an MLP 784-512-10 (407k parameters): ~37 µs per image
_EVAL_SHARE = 0.35  # an evaluated image costs about a third of a trained one
_BASELINE_SECONDS_PER_IMAGE = {"logistic-regression": 1.5e-4, "random-forest": 8e-4}


def _train_size(config: TrainConfig) -> int:
    return 10 * config.subset if config.subset else int(60_000 * (1 - config.val_fraction))


def estimate_seconds(variant: Variant, track_test_loss: bool = False) -> float:
    """A rough wall time for one run on one free core (training, validation and test)."""
    config = variant.config
    n = _train_size(config)
    if variant.baseline:
        return _BASELINE_SECONDS_PER_IMAGE[variant.baseline] * n + 0.5
    if config.arch in _SECONDS_PER_IMAGE:
        per_image = _SECONDS_PER_IMAGE[config.arch]
    else:
        sizes = (784, *config.hidden_sizes, 10)
        parameters = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
        per_image = _SECONDS_PER_MLP_PARAMETER_IMAGE * parameters
    evaluated = config.epochs * int(60_000 * config.val_fraction) + 10_000
    if track_test_loss:
        evaluated += config.epochs * 10_000
    return per_image * (config.epochs * n + _EVAL_SHARE * evaluated) + 0.2


def estimate_study_seconds(study: Study, seeds: int = 1) -> float:
    """Rough wall time of the whole study on one free core."""
    return seeds * sum(estimate_seconds(v, study.track_test_loss) for v in study.variants)


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

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
    run_id: str | None = None  # the saved run, when it was saved
    history: dict = field(default_factory=dict, repr=False)  # fit()'s batch and epoch events
    test_loss_curve: list = field(default_factory=list, repr=False)  # per epoch, when tracked
    templates: np.ndarray | None = field(default=None, repr=False)  # (10, 28, 28) softmax weights

    CSV_FIELDS = ("study", "index", "label", "group", "knob", "value", "seed", "kind", "model", "status",
                  "test_accuracy", "test_loss", "macro_precision", "macro_recall", "macro_f1",
                  "train_seconds", "parameters", "train_size", "epochs_run", "first_epoch_train_loss",
                  "first_epoch_val_loss", "final_train_loss", "final_val_loss", "final_train_accuracy",
                  "final_val_accuracy", "mean_confidence", "weight_norm", "run_id", "reason")

    def record(self) -> dict:
        """The table row: plain JSON-able values, no curves."""
        record = {}
        for name in self.CSV_FIELDS:
            value = getattr(self, name)
            if isinstance(value, tuple):
                value = _value_text(value)
            elif isinstance(value, float):
                value = round(value, 6)
            record[name] = value
        return record


def _metrics(y_true, probabilities) -> dict:
    from .metrics import confusion_matrix, precision_recall_f1

    probabilities = np.asarray(probabilities, dtype=np.float64)
    predicted = probabilities.argmax(axis=1)
    y_true = np.asarray(y_true)
    report = precision_recall_f1(confusion_matrix(y_true, predicted))
    return {"test_accuracy": float((predicted == y_true).mean()),
            "macro_precision": report.macro_precision, "macro_recall": report.macro_recall,
            "macro_f1": report.macro_f1, "mean_confidence": float(probabilities.max(axis=1).mean())}


class TestLossTracker(Callback):
    """Measures the loss on the test set after every epoch (the overfitting study's curve)."""

    def __init__(self, data):
        self.data = data
        self.model = None
        self.losses: list[float] = []

    def on_train_start(self, info):
        self.model = info.get("model")

    def on_epoch_end(self, event):
        from .train import evaluate

        if self.model is not None:
            self.losses.append(evaluate(self.model, self.data.test_x, self.data.test_labels)["loss"])


def _row_from_result(study: Study, index: int, variant: Variant, result, data, test_curve) -> RunRow:
    epochs = result.history.get("epochs", [])
    row = RunRow(study=study.name, index=index, label=variant.label, group=variant.group, knob=study.knob,
                 value=variant.value, seed=result.config.seed, kind="torch", model=_model_name(result.config),
                 status=result.status, reason=result.reason, test_loss=result.test_loss,
                 train_seconds=result.train_seconds, parameters=result.parameters,
                 train_size=result.train_size, epochs_run=result.epochs_run, history=result.history,
                 steps_per_epoch=batch_count(result.train_size, result.config.batch_size),
                 test_loss_curve=list(test_curve))
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
    scaled to [0, 1]. Returns test accuracy, macro precision/recall/F1 and train_seconds.
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    from .data import make_split

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


class ExperimentProgress(Callback):
    """Thread-safe progress of a whole experiment, for a page that polls from another thread.

    The runner tells it when runs start and end; as a training callback it also
    follows the current run's steps. `snapshot()` returns plain values: overall
    fraction done (weighted by each run's estimated time), ETA and finished rows.
    """

    def __init__(self, planned: list[tuple[str, float]] | None = None):
        self._lock = threading.Lock()
        self.planned = list(planned or [])  # (label, estimated seconds) of every run, in order
        self.started = time.time()
        self.rows: list[RunRow] = []
        self.current: int | None = None  # index of the running run
        self.current_fraction = 0.0
        self.current_batches: list[dict] = []
        self.cancelled = False
        self.finished = False

    def plan(self, planned: list[tuple[str, float]]) -> None:
        with self._lock:
            self.planned = list(planned)
            self.started = time.time()

    def start_run(self, index: int) -> None:
        with self._lock:
            self.current, self.current_fraction, self.current_batches = index, 0.0, []

    def on_batch_end(self, event):
        with self._lock:
            self.current_fraction = event.step / max(event.total_steps, 1)
            self.current_batches.append({"step": event.step, "loss": event.loss})

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
                    "current_batches": list(self.current_batches), "fraction": fraction,
                    "elapsed": elapsed, "eta_seconds": max(0.0, eta), "rows": list(self.rows),
                    "cancelled": self.cancelled, "finished": self.finished}


def planned_runs(study: Study, seeds=(0,)) -> list[tuple[Variant, int]]:
    """(variant, seed) pairs in the order they run: each variant's seeds together."""
    return [(variant, seed) for variant in study.variants for seed in seeds]


def run_plan(study: Study, seeds=(0,)) -> list[tuple[str, float]]:
    """(label, estimated seconds) of every run, in order: what a progress bar plans with."""
    return [(f"{v.group + ' · ' if v.group else ''}{v.label}" + (f" · seed {s}" if len(seeds) > 1 else ""),
             estimate_seconds(v, study.track_test_loss)) for v, s in planned_runs(study, seeds)]


def _log_every(config: TrainConfig) -> int:
    """Batch events for ~100 points per run, so short runs still draw a curve."""
    steps = config.epochs * batch_count(_train_size(config), config.batch_size)
    return max(1, steps // 100)


def run_experiment(study: Study, data, seeds=(0,), on_run_end: Callable | None = None,
                   stop: threading.Event | None = None, progress: ExperimentProgress | None = None,
                   callbacks: tuple[Callback, ...] = ()) -> list[RunRow]:
    """Train every variant of `study` for every seed, one after another; return the rows.

    Within one seed all runs share the seed, so they start from the same initial
    weights (where the shapes match) and see the batches in the same order.
    `on_run_end(row, result)` is called after each run (result is None for a
    scikit-learn baseline). When `stop` is set the current run ends early, it is
    kept as a "stopped" row, and no further run starts. `callbacks` go to every fit().
    """
    from .train import fit

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
                         reason="fitted by scikit-learn", **numbers)
        else:
            tracker = TestLossTracker(data) if study.track_test_loss else None
            listeners = [cb for cb in (progress, tracker, *callbacks) if cb is not None]
            result = fit(config, data, callbacks=listeners, stop=stop, log_every=_log_every(config))
            row = _row_from_result(study, index, variant, result, data, tracker.losses if tracker else [])
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
            "parameters": first.parameters,
            "test_loss_curve": list(np.mean([r.test_loss_curve for r in members], axis=0))
            if all(len(r.test_loss_curve) == len(first.test_loss_curve) and r.test_loss_curve for r in members)
            else [],
            **{name: mean(name) for name in (
                "test_loss", "macro_precision", "macro_recall", "macro_f1", "train_seconds",
                "first_epoch_train_loss", "first_epoch_val_loss", "final_train_loss", "final_val_loss",
                "mean_confidence",
                "weight_norm")},
        })
    return summaries


def takeaway(study: Study, rows: list[RunRow]) -> str:
    """The study's one-line conclusion from its finished rows (a generic one if that fails)."""
    summaries = summarize(rows)
    try:
        return study.takeaway(summaries)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        # A partial or cancelled experiment may lack what the study's sentence needs.
        return generic_takeaway(summaries, study.knob_label)


def rows_to_csv(rows: list[RunRow]) -> str:
    """The experiment's table as CSV text (one line per run)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RunRow.CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.record().items()})
    return buffer.getvalue()


def run_extra(study: Study, experiment_id: str, row: RunRow) -> dict:
    """What a saved run remembers about its experiment (RunStore's `extra`)."""
    return {"experiment": study.name, "experiment_id": experiment_id, "knob": study.knob,
            "value": _value_text(row.value) if isinstance(row.value, tuple) else row.value,
            "label": row.label, "group": row.group}


def run_name(study: Study, row: RunRow) -> str:
    name = f"{study.title}: {row.group + ' ' if row.group else ''}{row.label}"
    return name + (f" (seed {row.seed})" if row.seed != study.base.seed else "")


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def cmd_experiment(args) -> int:
    import json
    import sys

    from .data import load_mnist
    from .runs import RunStore

    study = with_budget(get_study(args.name), subset=args.subset, epochs=args.epochs)
    if not 1 <= args.seeds <= MAX_SEEDS:
        raise ConfigError(f"--seeds must be between 1 and {MAX_SEEDS} (got {args.seeds}).")
    seeds = tuple(study.base.seed + i for i in range(args.seeds))
    data = load_mnist(args.data_dir)
    store = RunStore(args.out)
    experiment_id = f"{study.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"{study.title}: {len(study.variants) * len(seeds)} runs; {study.settings_note()}", file=sys.stderr)
    start = time.perf_counter()

    def on_run_end(row: RunRow, result) -> None:
        if result is not None and row.status != "stopped":
            row.run_id = store.save(result, name=run_name(study, row), owner="cli",
                                    extra=run_extra(study, experiment_id, row),
                                    test_labels=data.test_labels).run_id
        record = row.record()
        line = {"experiment": study.name, "label": row.label, "group": row.group, "knob": study.knob,
                "value": record["value"], "seed": row.seed, "status": row.status,
                "test_accuracy": record["test_accuracy"], "train_seconds": record["train_seconds"],
                "macro_precision": record["macro_precision"], "macro_recall": record["macro_recall"],
                "macro_f1": record["macro_f1"], "parameters": row.parameters,
                "first_epoch_train_loss": record["first_epoch_train_loss"],
                "first_epoch_val_loss": record["first_epoch_val_loss"],
                "final_train_loss": record["final_train_loss"], "final_val_loss": record["final_val_loss"],
                "run_dir": str(store.root / row.run_id) if row.run_id else None}
        print(json.dumps(line), flush=True)

    rows = run_experiment(study, data, seeds=seeds, on_run_end=on_run_end)
    print(f"takeaway: {takeaway(study, rows)}", file=sys.stderr)
    print(f"wall time: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


def add_cli_command(subparsers) -> None:
    """Register `python -m mnist_core experiment NAME` (called by mnist_core.cli)."""
    import argparse

    p = subparsers.add_parser("experiment", help="run a ready-made study; one JSON line per run")
    p.add_argument("name", choices=list(STUDIES), metavar="NAME",
                   help="one of " + ", ".join(STUDIES))
    p.add_argument("--data-dir", default=None, help="MNIST folder (default: $MNIST_DATA_DIR or ./data)")
    p.add_argument("--out", default=None, metavar="RUNS_DIR",
                   help="run store folder for the runs (default: $MNIST_LAB_RUNS or ./runs)")
    p.add_argument("--seeds", type=int, default=1, help="repeat every run over this many seeds (1-5)")
    p.add_argument("--subset", type=int, default=None, metavar="PER_CLASS",
                   help="override the study's training images per digit")
    p.add_argument("--epochs", type=int, default=None, help="override the study's epochs")
    # Also accepted after NAME; SUPPRESS keeps the main parser's --threads when absent here.
    p.add_argument("--threads", type=int, default=argparse.SUPPRESS, help="torch threads")
    p.set_defaults(func=cmd_experiment)
