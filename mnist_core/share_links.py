"""Shareable links: a TrainConfig as URL query parameters named exactly as its fields.

    ?arch=cnn&lr=0.01&batch_size=64&hidden=512,256

`config_to_query` writes the settings that differ from the defaults;
`config_from_query` reads a link back, checking every value on its own. A
value that is malformed, out of range or hostile is left out with a one-line
note, never a traceback, and the other settings still apply. Parameters that
are not TrainConfig fields (such as `projector` or `user`) are not settings
and are left alone.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Mapping

from .config import ConfigError, TrainConfig, parse_hidden

FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
INT_FIELDS = {"batch_size", "epochs", "early_stopping", "subset", "seed", "max_steps"}
FLOAT_FIELDS = {"dropout", "lr", "momentum", "l2", "l1", "val_fraction"}
MAX_VALUE_LENGTH = 40  # no setting needs more; longer values are refused unread
_DEFAULTS = TrainConfig()


def _shown(value: str) -> str:
    """A value as a note quotes it: short, one line, printable."""
    text = "".join(ch if ch.isprintable() else "?" for ch in value[:20])
    return text + ("…" if len(value) > 20 else "")


def _format(name: str, value) -> str:
    if name == "hidden":
        return ",".join(str(size) for size in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def config_to_query(config: TrainConfig) -> dict[str, str]:
    """The query parameters of a link that opens with `config` (only settings that differ from the defaults).

    >>> config_to_query(TrainConfig(arch="cnn", lr=0.01, batch_size=64))
    {'arch': 'cnn', 'lr': '0.01', 'batch_size': '64'}
    """
    params = {}
    for name in FIELDS:
        if name == "max_steps":
            continue  # for smoke tests, never for a class
        value = getattr(config, name)
        if name == "hidden":
            if config.arch in ("mlp", "deep-mlp") and config.hidden_sizes != _DEFAULTS.replace(arch=config.arch).hidden_sizes:
                params[name] = _format(name, config.hidden_sizes)
        elif value != getattr(_DEFAULTS, name):
            params[name] = _format(name, value)
    return params


def _parse(name: str, text: str):
    if name == "hidden":
        return parse_hidden(text)
    if name in INT_FIELDS:
        if not (text.isascii() and text.lstrip("-").isdigit()):
            raise ConfigError("it is not a whole number")
        return int(text)
    if name in FLOAT_FIELDS:
        try:
            value = float(text)
        except ValueError:
            raise ConfigError("it is not a number") from None
        if not math.isfinite(value):
            raise ConfigError("it is not a finite number")
        return value
    return text


def config_from_query(params: Mapping[str, object]) -> tuple[dict, list[str]]:
    """The settings a link carries, as {field: value}, and one note per value it ignored.

    Each value is checked on its own against TrainConfig's validation (with the
    link's architecture, for hidden sizes), so one bad value never spoils the rest.

    >>> config_from_query({"arch": "cnn", "lr": "fast", "projector": "1"})
    ({'arch': 'cnn'}, ['Ignored lr=fast from the link: it is not a number.'])
    """
    settings, notes = {}, []
    for name in FIELDS:
        if name not in params or name == "max_steps":
            continue
        raw = params[name]
        if isinstance(raw, (list, tuple)):
            raw = raw[-1] if raw else ""
        text = str(raw).strip()
        if len(text) > MAX_VALUE_LENGTH:
            notes.append(f"Ignored {name} from the link: its value is too long.")
            continue
        try:
            value = _parse(name, text)
            trial = {"arch": settings.get("arch", _DEFAULTS.arch), name: value}
            TrainConfig(**trial).validate()
        except (ConfigError, TypeError, ValueError) as error:
            reason = str(error).rstrip(".")
            notes.append(f"Ignored {name}={_shown(text)} from the link: {reason[:1].lower() + reason[1:]}.")
            continue
        settings[name] = value
    try:
        TrainConfig(**settings).validate()
    except (ConfigError, TypeError) as error:  # values fine alone but not together
        notes.append(f"Ignored the link's settings: {str(error).rstrip('.')}.")
        settings = {}
    return settings, notes
