"""Rough time estimates of a study, for the page and the progress bar (not exact)."""
from __future__ import annotations

from ..config import TrainConfig
from .studies import Study, Variant

# Seconds per training image on one free core (forward + backward), measured here.
_SECONDS_PER_IMAGE = {"softmax": 5e-6, "cnn": 5e-4, "deep-cnn": 6e-4}
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
