"""A student's own study: one knob, the values they type, everything else fixed.

`parse_values` reads the typed values, `custom_study` turns them into a Study
on a chosen base model; both raise ConfigError with a sentence for a bad value.
"""
from __future__ import annotations

from typing import Callable

from ..config import ACTIVATIONS, ARCHITECTURES, OPTIMIZERS, SCHEDULES, ConfigError, TrainConfig, parse_hidden
from .studies import MAX_VALUES, Study, Variant, value_text


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
                 takeaway="generic",
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


def _label(name: str, fmt: Callable[[object], str] = value_text) -> Callable[[object], str]:
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
