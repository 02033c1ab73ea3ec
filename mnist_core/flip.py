"""Flip the digit: the fewest pixel changes (found greedily) that make a model read another digit.

The search works on the 28x28 image in [0, 1] (ink = 1), the way a student edits a
drawing: each step it asks the gradient which single pixel, set fully to ink or
fully to background, most raises the target digit's margin (its logit minus the
best other logit), sets that pixel, and stops as soon as the model reads the
target. A pixel counts as changed when its value moves by more than CHANGE_LEVEL
(0.5 of the 0-1 range), in the search and when a student tries to beat it.

`pixels_to_flip_comparison` runs the search over many test images for several
models: the median number of pixels each needs is a lesson about robustness
(a softmax regression flips with a handful, a CNN needs more).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .data import MNIST_MEAN, MNIST_STD

CHANGE_LEVEL = 0.5  # a pixel is changed when it moves by more than this
MAX_CHANGES = 200  # the search gives up after this many pixels


@dataclass
class FlipResult:
    """What the search found for one image."""
    image: np.ndarray  # (28, 28) float32 in [0, 1]: the changed image
    original: np.ndarray  # (28, 28) the image it started from
    target: int
    flipped: bool  # True when the model now reads `target`
    changed: int  # pixels that moved by more than CHANGE_LEVEL
    reading: int  # the digit the model reads on `image`
    probabilities: list[float]  # on `image`


def changed_pixels(before: np.ndarray, after: np.ndarray) -> int:
    """How many pixels moved by more than CHANGE_LEVEL (0.5) of the 0-1 range.

    >>> a = np.zeros((28, 28)); b = a.copy(); b[0, :3] = [0.4, 0.6, 1.0]
    >>> changed_pixels(a, b)
    2
    """
    return int(np.count_nonzero(np.abs(np.asarray(after, np.float32) - np.asarray(before, np.float32))
                                > CHANGE_LEVEL))


def _normalized(image: torch.Tensor) -> torch.Tensor:
    return ((image - MNIST_MEAN) / MNIST_STD).view(1, 1, 28, 28)


def _logits(model, image):
    from .models import as_model_input as _as_input

    return model(_as_input(model, _normalized(image)))[0]


def flip_search(model: torch.nn.Module, image: np.ndarray, target: int,
                max_changes: int = MAX_CHANGES) -> FlipResult:
    """Greedy gradient search: change one pixel at a time until `model` reads `target`.

    `image` is (28, 28) in [0, 1], ink = 1 (what `to_mnist` shows). Each pixel is changed
    at most once, always to 0 or 1, so every step changes one more pixel by more than 0.5
    unless the pixel was already grey (then it may move less and not count).
    """
    if not 0 <= int(target) <= 9:
        raise ValueError(f"The target must be a digit from 0 to 9, not {target!r}.")
    target = int(target)
    was_training = model.training
    model.eval()
    original = np.clip(np.asarray(image, np.float32).reshape(28, 28), 0, 1)
    current = torch.from_numpy(original.copy())
    free = torch.ones(28 * 28, dtype=torch.bool)
    for _ in range(max_changes + 1):
        x = current.clone().requires_grad_(True)
        logits = _logits(model, x)
        if int(logits.argmax()) == target:
            break
        others = torch.cat([logits[:target], logits[target + 1:]])
        margin = logits[target] - others.max()
        (grad,) = torch.autograd.grad(margin, x)
        grad, flat = grad.view(-1), current.view(-1)
        new_value = (grad > 0).float()  # ink where ink helps, background where it hurts
        gain = grad * (new_value - flat)  # first-order change of the margin
        gain[~free] = -float("inf")
        best = int(gain.argmax())
        if not free.any() or gain[best] <= 0:
            break  # no single pixel helps any more
        flat[best] = new_value[best]
        free[best] = False
    with torch.no_grad():
        probabilities = torch.softmax(_logits(model, current), dim=0)
    model.train(was_training)
    changed_image = current.numpy().copy()
    reading = int(probabilities.argmax())
    return FlipResult(changed_image, original, target, reading == target, changed_pixels(original, changed_image),
                      reading, probabilities.tolist())


def runner_up(model: torch.nn.Module, image: np.ndarray) -> int:
    """The second most probable digit: the easiest target to flip to."""
    with torch.no_grad():
        logits = _logits(model.eval(), torch.from_numpy(np.asarray(image, np.float32)))
    return int(logits.argsort(descending=True)[1])


def pixels_to_flip_comparison(models: dict[str, torch.nn.Module], images: np.ndarray,
                              progress: Callable[[int, int], None] | None = None,
                              max_changes: int = MAX_CHANGES) -> dict[str, dict]:
    """For each model, the median number of changed pixels that flips each image to its runner-up.

    `images` is (N, 28, 28) in [0, 1]. An image the search cannot flip counts as
    max_changes + 1 (so the median stays honest). `progress(done, total)` after each search.
    """
    total, done = len(models) * len(images), 0
    report = {}
    for name, model in models.items():
        counts, flipped = [], 0
        for image in images:
            result = flip_search(model, image, runner_up(model, image), max_changes)
            counts.append(result.changed if result.flipped else max_changes + 1)
            flipped += result.flipped
            done += 1
            if progress:
                progress(done, total)
        report[name] = {"median_pixels": float(np.median(counts)), "flipped": flipped, "images": len(images),
                        "counts": counts}
    return report
