"""The ready-made studies, as data: what each trains, what to expect, and what was reported.

A `Study` is plain data: a title, an explanation shown *before* the run, the
knob it turns, one `Variant` (a TrainConfig, or a scikit-learn baseline) per
value, the name of its takeaway sentence (experiments/takeaways.py) and, where
a known study published figures, the reported test accuracy beside each
variant. How a study runs is in experiments/runner.py; a student's own
one-knob study is in experiments/custom.py.

The defaults of every ready-made study were chosen so that it finishes in
well under 5 minutes on one free core of a 2-core machine: training subsets
(images per digit) and epoch counts are part of each study and are stated on
the page. Batch sizes divide the subset exactly, so no epoch ends on a tiny
left-over batch (one image with a big step can undo a short run).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from ..config import ACTIVATIONS, ARCHITECTURES, OPTIMIZERS, ConfigError, TrainConfig

# Figures a known study reported (test accuracy), by the knob's value.
REPORTED_LR = {1.0: 0.952, 0.1: 0.927, 0.05: 0.914, 0.01: 0.762}  # short plain-SGD runs of an MLP
REPORTED_L2 = {1.0: 0.10, 0.1: 0.36, 0.01: 0.89, 1e-3: 0.93, 1e-4: 0.93}

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
    reported: float | None = None  # the test accuracy a known study reported for this setting (0-1)


@dataclass(frozen=True)
class Study:
    name: str  # the CLI name, e.g. "lr-sweep"
    title: str
    knob: str  # the TrainConfig field (or "model") that changes
    knob_label: str  # how the table heads the knob's column
    explanation: str  # markdown shown before the run: what to expect and why
    variants: tuple[Variant, ...]
    takeaway: str  # the name of its sentence in takeaways.TAKEAWAYS (per-variant summaries -> one sentence)
    views: tuple[str, ...] = ()  # extra views: "templates", "parameters", "generalization", "test-loss", "metrics"
    reported: str = ""  # figures a known study reported, for the page to quote
    track_test_loss: bool = False  # also record the test loss after every epoch (overfitting)
    curve_epochs: int = 0  # the loss overlay shows only this many first epochs (0 = all): where the lesson is
    compare: str = "final"  # the figure compared with a reported one: "final" test accuracy, or "best_val"
    # (the test accuracy after the epoch with the best validation accuracy: needs track_test_loss)
    reported_confusions: tuple = ()  # ((true digit, (digits it was most often read as)), ...), as reported

    @property
    def base(self) -> TrainConfig:
        return self.variants[0].config

    def settings_note(self) -> str:
        """The training budget in one sentence, e.g. '2,000 images per digit (20,000), 1 epoch, batch 1,000'."""
        torch_configs = [v.config for v in self.variants if v.baseline is None] or [self.base]
        parts = []
        for name, describe in (
                ("subset", lambda c: (f"{c.subset:,} training images per digit ({10 * c.subset:,} in all)"
                                      if c.subset else f"all {round(60_000 * (1 - c.val_fraction)):,} "
                                      "training images")),
                ("pixels", lambda c: "pixels 0-1" if c.pixels == "unit" else ""),
                ("epochs", lambda c: f"{c.epochs} epoch{'s' if c.epochs > 1 else ''}"),
                ("batch_size", lambda c: f"batch {c.batch_size:,}"),
                ("optimizer", lambda c: OPTIMIZERS[c.optimizer][0] + (
                    f" lr {c.lr:g}" if self.knob != "lr" else "") + (
                    " (constant)" if c.schedule == "constant" else " (one-cycle)"))):
            values = list(dict.fromkeys(describe(c) for c in torch_configs))
            if name == self.knob or len(values) > 1 or not values[0]:
                continue  # the knob's own values are in the table
            parts.append(values[0])
        return ", ".join(parts) + f"; seed {self.base.seed} shared by every run"


def _sweep(knob: str, values, base: TrainConfig, label: Callable[[object], str], group: str = "",
           changes: Callable[[object], dict] | None = None, reported: dict | None = None) -> list[Variant]:
    """One Variant per value: `base` with the knob set (or with `changes(value)` applied);
    `reported` maps a value to the test accuracy a known study reported for it."""
    changes = changes or (lambda value: {knob: value})
    return [Variant(label=label(v), value=v, config=base.replace(**changes(v)), group=group,
                    reported=(reported or {}).get(v)) for v in values]


def value_text(value) -> str:
    """A knob's value as a table shows it: 0.001, 512-256, relu.

    >>> value_text(1e-3), value_text((512, 256)), value_text("relu")
    ('0.001', '512-256', 'relu')
    """
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "-".join(str(v) for v in value)
    return str(value)


def model_name(config: TrainConfig) -> str:
    if config.arch in ("mlp", "deep-mlp"):
        return "MLP " + "-".join(str(h) for h in config.hidden_sizes)
    return ARCHITECTURES[config.arch]


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
    variants = (_sweep("lr", lrs, softmax, lambda v: f"lr {v:g}", group="Softmax regression", reported=REPORTED_LR)
                + _sweep("lr", lrs, mlp, lambda v: f"lr {v:g}", group="MLP 128", reported=REPORTED_LR))
    return Study(
        name="lr-sweep", title="Learning-rate sweep", knob="lr", knob_label="learning rate",
        variants=tuple(variants), takeaway="lr",
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
    variants = _sweep("l2", (1.0, 0.1, 0.01, 1e-3, 1e-4), base, lambda v: f"L2 {v:g}", reported=REPORTED_L2)
    return Study(
        name="l2-sweep", title="L2 (weight decay) sweep", knob="l2", knob_label="L2",
        variants=tuple(variants), takeaway="l2", views=("templates",),
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
        variants=tuple(variants), takeaway="activation", curve_epochs=1,
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
        variants=tuple(variants), takeaway="dropout", views=("generalization",),
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
        variants=tuple(variants), takeaway="capacity", views=("parameters",),
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
        variants=tuple(variants), takeaway="family", views=("metrics",),
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
        variants=tuple(variants), takeaway="overfitting", views=("test-loss",), track_test_loss=True,
        explanation=(
            "A 512-unit MLP studies just 50 images per digit (500 in all) for many epochs, once "
            "without and once with L2. After every epoch the loss is measured on the training images "
            "and on the 10,000 test images.\n\n"
            "**What to expect:** the training loss keeps falling toward zero, but the test loss reaches "
            "its lowest point early and then rises: the model memorises its 500 images instead of "
            "learning digits. L2 keeps the weights small and slows the memorising down."))


# The six faithful classic studies live in classic.py (they build on the names above, so the
# import comes after them); the quick studies come first, as the page lists them.
from .classic import CLASSIC_STUDIES  # noqa: E402

STUDIES: dict[str, Study] = {s.name: s for s in (
    _lr_sweep(), _l2_sweep(), _activation(), _dropout(), _capacity(), _model_family(), _overfitting(),
    *CLASSIC_STUDIES)}


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
