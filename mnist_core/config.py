"""Every hyper-parameter of a training run, in one frozen dataclass.

`TrainConfig` is the single source of defaults and ranges: the CLI, the
sidebar and the experiments all build one of these, and `validate()` is the
one place where a bad value turns into a sentence a student understands.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

# The task itself: ten digits, so a model that guesses has a loss of ln 10 = 2.30.
NUM_CLASSES = 10
CHANCE_ACCURACY = 1 / NUM_CLASSES  # what guessing, or a diverged run, reads right
CHANCE_LOSS = math.log(NUM_CLASSES)  # cross-entropy of a model that gives every digit 10%

# Architecture name -> the label a student sees.
ARCHITECTURES = {
    "softmax": "Softmax regression",
    "mlp": "Shallow MLP",
    "deep-mlp": "Deep MLP",
    "cnn": "CNN",
    "deep-cnn": "Deeper CNN (3 conv + pool)",
}
# The hidden sizes an MLP gets when the user does not choose any.
DEFAULT_HIDDEN = {"mlp": (512,), "deep-mlp": (512, 256)}
ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}
# Optimizer name -> (label, a learning rate that works well for it).
OPTIMIZERS = {
    "sgd": ("SGD", 0.1),
    "momentum": ("SGD with momentum", 0.05),
    "adam": ("Adam", 1e-3),
}
# Where a run trains (mnist_core/device.py resolves "auto"), with what a student reads.
DEVICES = {"auto": "Automatic (a GPU if there is one)", "cpu": "CPU", "cuda": "GPU (CUDA)"}
SCHEDULES = {"constant": "Constant", "onecycle": "One-cycle (warm up, then anneal)"}
# How pixels are scaled (labels in mnist_core/pixels.py, which holds the scaling itself).
PIXELS = ("standardized", "unit")
# Engine name -> label; NumPy trains softmax and MLPs only (plain SGD or momentum, constant lr).
ENGINES = {"torch": "PyTorch", "numpy": "NumPy from scratch"}
NUMPY_ARCHITECTURES = ("softmax", "mlp", "deep-mlp")

# Ranges the UI offers and validation enforces (inclusive).
LR_RANGE = (1e-5, 100.0)
BATCH_SIZE_RANGE = (1, 60_000)
EPOCHS_RANGE = (1, 200)
HIDDEN_SIZE_RANGE = (1, 8192)
MAX_HIDDEN_LAYERS = 6
SEED_RANGE = (0, 2 ** 32 - 1)  # what NumPy's and torch's generators take


class ConfigError(ValueError):
    """A hyper-parameter is out of range; the message is meant for a student."""


@dataclass(frozen=True)
class TrainConfig:
    # --- model ---
    arch: str = "mlp"  # one of ARCHITECTURES
    hidden: tuple[int, ...] | None = None  # hidden layer sizes; None = DEFAULT_HIDDEN[arch]
    activation: str = "relu"  # non-linearity of MLP hidden layers: relu, tanh or sigmoid
    dropout: float = 0.0  # fraction of hidden units zeroed while training, in [0, 1)
    # --- optimisation ---
    optimizer: str = "adam"  # sgd, momentum (SGD + momentum) or adam
    lr: float = 3e-3  # learning rate: the size of each step downhill (peak lr for onecycle)
    momentum: float = 0.9  # only for optimizer="momentum": how much of the last step is kept
    schedule: str = "onecycle"  # onecycle (warm up then anneal: faster to a target) or constant
    batch_size: int = 128  # examples per gradient step
    epochs: int = 3  # passes over the training set
    # --- regularisation ---
    l2: float = 0.0  # weight decay: pulls every weight toward zero (gradient += l2 * w)
    l1: float = 0.0  # adds l1 * sum|w| to the loss: pushes weights to exactly zero
    early_stopping: int = 0  # stop after this many epochs without a better val loss (0 = off)
    # --- data ---
    val_fraction: float = 0.1  # share of the training images held out for validation
    subset: int = 0  # train on this many images per class (0 = all of them)
    seed: int = 0  # fixes initial weights, the validation split and the batch order
    max_steps: int = 0  # stop after this many batches in all (0 = no limit); for smoke tests
    pixels: str = "standardized"  # standardized (mean 0, spread 1) or unit (0-1): changes how strong a step is
    # --- engine ---
    engine: str = "torch"  # torch, or numpy (the from-scratch network: softmax/MLP, ReLU, SGD/momentum)
    augment: bool = False  # train on randomly distorted batches (mnist_core.augment.DRAW_RECIPE): reads drawings better
    # --- hardware ---
    device: str = "auto"  # auto (a CUDA GPU if torch sees one, else the CPU), cpu or cuda; see device.py

    def __post_init__(self):
        # Accept lists from JSON or widgets, but keep the frozen object hashable.
        if self.hidden is not None and not isinstance(self.hidden, tuple):
            object.__setattr__(self, "hidden", tuple(self.hidden))
        # Validated once, here: a TrainConfig that exists is a valid one (CLI, sidebar, studies, jobs
        # and fit() never check it again).
        self.validate()

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        """The hidden sizes the model will really have (empty for softmax and CNN)."""
        if self.arch not in DEFAULT_HIDDEN:
            return ()
        return self.hidden if self.hidden is not None else DEFAULT_HIDDEN[self.arch]

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some fields changed (validated, as every TrainConfig is)."""
        return dataclasses.replace(self, **changes)

    def check_batch_size(self, train_size: int) -> None:
        """ConfigError if a batch would be larger than the training set of `train_size` images.

        The one home of this check: the sidebar calls it before Train, fit() once the split is made.

        >>> TrainConfig(batch_size=128).check_batch_size(100)
        Traceback (most recent call last):
        ...
        mnist_core.config.ConfigError: The batch size 128 is larger than the training set (100 images): choose at most 100.
        """
        if self.batch_size > train_size:
            raise ConfigError(f"The batch size {self.batch_size:,} is larger than the training set "
                              f"({train_size:,} images): choose at most {train_size:,}.")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden_sizes) if self.arch in DEFAULT_HIDDEN else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Build from a dict (e.g. a run's config.json): a missing field takes its default (an older
        run has fewer fields); an unknown one is an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"Unknown setting(s): {', '.join(unknown)}.")
        return cls(**d)

    def short_description(self) -> str:
        """One line a student can read, e.g. 'Shallow MLP 512 relu · adam lr 0.001 · 3 ep'."""
        parts = [ARCHITECTURES.get(self.arch, self.arch)]
        if self.arch in DEFAULT_HIDDEN:
            parts[0] += " " + "-".join(str(h) for h in self.hidden_sizes) + f" {self.activation}"
        text = f"{parts[0]} · {self.optimizer} lr {self.lr:g} · batch {self.batch_size} · {self.epochs} ep"
        if self.l2:
            text += f" · L2 {self.l2:g}"
        if self.l1:
            text += f" · L1 {self.l1:g}"
        if self.dropout:
            text += f" · dropout {self.dropout:g}"
        if self.pixels != "standardized":
            text += " · pixels 0-1"
        if self.engine != "torch":
            text += " · NumPy"
        if self.augment:
            text += " · augmented"
        return text

    def validate(self) -> "TrainConfig":
        """Raise ConfigError with a plain sentence if any value is out of range."""
        def number(name, value, integer=False):
            kind = (int,) if integer else (int, float)
            if isinstance(value, bool) or not isinstance(value, kind) or (
                    not integer and not math.isfinite(value)):
                raise ConfigError(f"{name} must be a {'whole ' if integer else ''}number, not {value!r}.")

        if self.arch not in ARCHITECTURES:
            raise ConfigError(f"Unknown architecture {self.arch!r}: choose one of "
                              f"{', '.join(ARCHITECTURES)}.")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"Unknown activation {self.activation!r}: choose relu, tanh or sigmoid.")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"Unknown optimizer {self.optimizer!r}: choose sgd, momentum or adam.")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"Unknown schedule {self.schedule!r}: choose constant or onecycle.")
        if self.device not in DEVICES:
            raise ConfigError(f"Unknown device {self.device!r}: choose auto, cpu or cuda.")
        if self.pixels not in PIXELS:
            raise ConfigError(f"Unknown pixel scaling {self.pixels!r}: choose standardized or unit.")
        if self.engine not in ENGINES:
            raise ConfigError(f"Unknown engine {self.engine!r}: choose torch or numpy.")
        if self.engine == "numpy":
            if self.arch not in NUMPY_ARCHITECTURES:
                raise ConfigError(f"The NumPy engine trains softmax regression and MLPs, not "
                                  f"{ARCHITECTURES[self.arch]}: choose the PyTorch engine for it.")
            if self.optimizer == "adam" or self.schedule != "constant":
                raise ConfigError("The NumPy engine does plain SGD or SGD with momentum at a constant "
                                  "learning rate: choose optimizer sgd or momentum and schedule constant.")
            if self.arch != "softmax" and self.activation != "relu":
                raise ConfigError("The NumPy network uses ReLU in its hidden layers: choose activation relu.")
            if self.dropout:
                raise ConfigError("The NumPy network has no dropout: set dropout to 0 or use PyTorch.")
            if self.augment:
                raise ConfigError("The NumPy network trains on the images as they are: turn augmentation off "
                                  "or use PyTorch.")
        number("The learning rate", self.lr)
        if self.lr <= 0:
            raise ConfigError(f"The learning rate must be greater than 0 (got {self.lr:g}): "
                              "with a step of zero or less the network never moves downhill.")
        if self.lr > LR_RANGE[1]:
            raise ConfigError(f"The learning rate {self.lr:g} is above the maximum of {LR_RANGE[1]:g}.")
        number("The batch size", self.batch_size, integer=True)
        if self.batch_size < 1:
            raise ConfigError(f"The batch size must be at least 1 (got {self.batch_size}).")
        number("The number of epochs", self.epochs, integer=True)
        if self.epochs < 1:
            raise ConfigError(f"Train for at least 1 epoch (got {self.epochs}): "
                              "with 0 epochs the network never sees an image.")
        if self.epochs > EPOCHS_RANGE[1]:
            raise ConfigError(f"{self.epochs} epochs is more than the maximum of {EPOCHS_RANGE[1]}.")
        number("Dropout", self.dropout)
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"Dropout must be at least 0 and below 1 (got {self.dropout:g}): "
                              "dropout 1 would switch off every hidden unit, so nothing could be learned.")
        number("Momentum", self.momentum)
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"Momentum must be at least 0 and below 1 (got {self.momentum:g}).")
        for name, value in (("L2", self.l2), ("L1", self.l1)):
            number(name, value)
            if value < 0:
                raise ConfigError(f"{name} must be 0 or more (got {value:g}).")
        number("Early-stopping patience", self.early_stopping, integer=True)
        if self.early_stopping < 0:
            raise ConfigError("Early-stopping patience must be 0 (off) or a positive number of epochs.")
        number("The validation fraction", self.val_fraction)
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"The validation fraction must be at least 0 and below 1 (got {self.val_fraction:g}).")
        if self.early_stopping and self.val_fraction == 0:
            raise ConfigError("Early stopping watches the validation loss, so it needs a validation fraction above 0.")
        number("The subset size", self.subset, integer=True)
        if self.subset < 0:
            raise ConfigError("The subset size must be 0 (all images) or a positive number of images per class.")
        number("The seed", self.seed, integer=True)
        if not SEED_RANGE[0] <= self.seed <= SEED_RANGE[1]:
            raise ConfigError(f"The seed must be a whole number from {SEED_RANGE[0]} to {SEED_RANGE[1]} "
                              f"(got {self.seed}).")
        if not isinstance(self.augment, bool):
            raise ConfigError(f"augment must be true or false, not {self.augment!r}.")
        number("max_steps", self.max_steps, integer=True)
        if self.max_steps < 0:
            raise ConfigError("max_steps must be 0 (no limit) or positive.")
        if self.arch in DEFAULT_HIDDEN:
            sizes = self.hidden_sizes
            for size in sizes:
                number("A hidden-layer size", size, integer=True)
                if not HIDDEN_SIZE_RANGE[0] <= size <= HIDDEN_SIZE_RANGE[1]:
                    raise ConfigError(f"A hidden layer needs between {HIDDEN_SIZE_RANGE[0]} and "
                                      f"{HIDDEN_SIZE_RANGE[1]} units (got {size}).")
            if self.arch == "mlp" and len(sizes) != 1:
                raise ConfigError(f"A shallow MLP has exactly one hidden layer (got {len(sizes)}): "
                                  "choose the deep MLP for more.")
            if self.arch == "deep-mlp" and len(sizes) < 2:
                raise ConfigError(f"A deep MLP needs at least two hidden layers (got {len(sizes)}): "
                                  "give two or more sizes, such as 512 256.")
            if len(sizes) > MAX_HIDDEN_LAYERS:
                raise ConfigError(f"At most {MAX_HIDDEN_LAYERS} hidden layers (got {len(sizes)}).")
        return self


def parse_hidden(text: str) -> tuple[int, ...]:
    """Turn '512, 256' or '512 256' into (512, 256); raise ConfigError on anything else.

    >>> parse_hidden("512, 256")
    (512, 256)
    """
    pieces = [p for p in text.replace(",", " ").split() if p]
    try:
        return tuple(int(p) for p in pieces)
    except ValueError:
        raise ConfigError(f"Hidden sizes must be whole numbers separated by commas, such as 512, 256 "
                          f"(got {text!r}).") from None
