"""Saliency: which pixels of the 28x28 input made the model say a digit.

Two attributions, for any architecture (they only need the gradient of a logit):

- **gradient x input**: d logit / d pixel times how far the pixel is from blank.
  For a linear model (softmax regression) this is exact: the map sums to the
  change of the logit between a blank image and the drawing.
- **integrated gradients** (Sundararajan et al. 2017): the same product, with the
  gradient averaged along the straight path from the blank image to the drawing.
  Its sum equals the logit change for every model (up to the path's discretization),
  which is why a heat map of it can be read as "where the evidence is".

Pixels are handled in the model's normalized space (`mnist_core.data.normalize`);
"blank" is the normalized value of a pixel without ink. A map is (28, 28) float32:
positive where ink speaks for the digit, negative where it speaks against it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data import MNIST_MEAN, MNIST_STD

BLANK = -MNIST_MEAN / MNIST_STD  # a pixel without ink, once normalized
METHODS = {"gradient-x-input": "gradient × input", "integrated-gradients": "integrated gradients"}


@dataclass
class SaliencyMap:
    """One attribution map for one digit."""
    digit: int  # the logit explained
    method: str  # one of METHODS
    values: np.ndarray  # (28, 28) float32, sums to about logit(drawing) - logit(blank)
    logit_change: float  # logit(drawing) - logit(blank), what the map's sum should match


def _logits(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    from .models import as_model_input as _as_input  # channels_last for CNNs, as in training

    return model(_as_input(model, x))


def _as_batch(x: torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(x, dtype=torch.float32)
    return x.reshape(1, 1, 28, 28)


def logit_change(model: torch.nn.Module, x: torch.Tensor, digit: int) -> float:
    """logit_digit(x) - logit_digit(blank image): the total that an attribution distributes."""
    x = _as_batch(x)
    with torch.no_grad():
        both = _logits(model, torch.cat([x, torch.full_like(x, BLANK)]))
    return float(both[0, digit] - both[1, digit])


def gradient_x_input(model: torch.nn.Module, x: torch.Tensor, digit: int) -> SaliencyMap:
    """d logit_digit / d x times (x - blank), for a normalized (1, 1, 28, 28) image.

    >>> from mnist_core.models import SoftmaxRegression
    >>> model = SoftmaxRegression(); x = torch.randn(1, 1, 28, 28)
    >>> m = gradient_x_input(model, x, 3)
    >>> bool(abs(m.values.sum() - m.logit_change) < 1e-3)
    True
    """
    was_training = model.training
    model.eval()
    x = _as_batch(x).clone().requires_grad_(True)
    logit = _logits(model, x)[0, digit]
    (grad,) = torch.autograd.grad(logit, x)
    model.train(was_training)
    values = (grad * (x.detach() - BLANK))[0, 0].numpy().astype(np.float32)
    return SaliencyMap(digit, "gradient-x-input", values, logit_change(model, x.detach(), digit))


def integrated_gradients(model: torch.nn.Module, x: torch.Tensor, digit: int, steps: int = 32) -> SaliencyMap:
    """Integrated gradients from the blank image to `x` (midpoint rule, `steps` points, one batch)."""
    was_training = model.training
    model.eval()
    x = _as_batch(x)
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps  # midpoints of the path
    path = (BLANK + alphas.view(-1, 1, 1, 1) * (x - BLANK)).requires_grad_(True)  # (steps, 1, 28, 28)
    logits = _logits(model, path)[:, digit]
    (grad,) = torch.autograd.grad(logits.sum(), path)
    model.train(was_training)
    values = (grad.mean(dim=0, keepdim=True) * (x - BLANK))[0, 0].numpy().astype(np.float32)
    return SaliencyMap(digit, "integrated-gradients", values, logit_change(model, x, digit))


def saliency(model: torch.nn.Module, x: torch.Tensor, digit: int,
             method: str = "integrated-gradients") -> SaliencyMap:
    """The attribution of `digit`'s logit over the pixels of x, by `method` (see METHODS)."""
    if method not in METHODS:
        raise ValueError(f"Unknown saliency method {method!r}: choose one of {', '.join(METHODS)}.")
    if not 0 <= int(digit) <= 9:
        raise ValueError(f"The digit must be 0 to 9, not {digit!r}.")
    if method == "gradient-x-input":
        return gradient_x_input(model, x, int(digit))
    return integrated_gradients(model, x, int(digit))
