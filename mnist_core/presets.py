"""Named training recipes: `python -m mnist_core train --preset draw` and the Draw page's default model.

A preset sets a few `TrainConfig` fields (architecture, epochs, augmentation, ...);
whatever the user gives explicitly wins over the preset, and everything else keeps
`TrainConfig`'s own defaults.

The "draw" preset is the model the Draw page trains with "Train the default model":
a CNN trained on augmented MNIST (`mnist_core.augment`), which reads drawn digits far
better than plain training and still keeps >= 99% on the MNIST test. Its figures
(time on 2 cores, MNIST test accuracy, the hard drawing set of bench/hard_drawings.py)
are in bench/README.md.
"""
from __future__ import annotations

from .config import ConfigError, TrainConfig

PRESETS: dict[str, dict] = {
    "draw": {"arch": "cnn", "epochs": 6, "augment": True},
}
PRESET_HELP = {"draw": "the Draw page's default model: a CNN on augmented MNIST, reads drawings best"}


def preset_config(name: str, **explicit) -> TrainConfig:
    """The preset's config, with every explicitly given field (not None) winning over it.

    >>> preset_config("draw").arch, preset_config("draw", epochs=1).epochs
    ('cnn', 1)
    """
    if name not in PRESETS:
        raise ConfigError(f"Unknown preset {name!r}: choose one of {', '.join(PRESETS)}.")
    fields = {**PRESETS[name], **{k: v for k, v in explicit.items() if v is not None}}
    return TrainConfig(**fields).validate()
