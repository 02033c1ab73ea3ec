"""Data augmentation for reading drawings: one fixed recipe, applied to whole batches of tensors.

MNIST's digits were written with one kind of pen at one slant range and were
size-normalized the same way; people on a canvas use thick and thin pens, lean
their digits and bend their loops. `augment_batch` shows the network that
variety while it trains, on half of the batch it is about to learn from (the
other half stays as MNIST wrote it, so the plain digits are not forgotten):

1. a random affine transform per image: rotation, scale, shear and shift;
2. an elastic distortion: a smooth random displacement field (a coarse grid of
   random offsets, upsampled), added to the same sampling grid, so 1 and 2 cost
   one `grid_sample` together;
3. stroke thickness: each image is blended toward its dilation (max-pooling,
   a thicker pen) or its erosion (max-pooling of the negative, a thinner pen),
   then its strongest pixel is brought back to full ink, as `preprocess.to_mnist`
   does for a drawing.

Everything is batched on tensors (`affine_grid` / `grid_sample` / `max_pool2d`),
never per-sample PIL: `python bench/augment_speed.py` measures its cost against a
CNN epoch (budget: at most 30%). The recipe is fixed (`DRAW_RECIPE`): a run says
only whether it was augmented (`TrainConfig.augment`), so a run is reproducible
from its config and its seed.

Images go in and come out normalized as in training (`mnist_core.data.normalize`);
the background stays background (0 ink) wherever the transform looks outside the frame.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .data import MNIST_MEAN, MNIST_STD


@dataclass(frozen=True)
class AugmentRecipe:
    """The ranges of the random changes; every draw is uniform in its range."""
    rotation_degrees: float = 8.0  # +- rotation of the whole digit (12 made flagged 1s read as 7s more often)
    scale: tuple[float, float] = (0.9, 1.1)  # zoom factor (1 = unchanged); drawings are size-normalized anyway
    aspect: float = 0.1  # +- relative change of the width only: narrow and wide hands
    shear: float = 0.15  # +- horizontal shear (tan of the slant angle, 0.15 = 8.5 degrees): italic handwriting
    shift_pixels: float = 1.5  # +- shift in each direction, in pixels of the 28x28 image
    elastic_pixels: float = 1.2  # standard deviation of the elastic displacement, in pixels
    elastic_grid: int = 4  # the displacement field is random on a 4x4 grid, then smoothly upsampled
    thickness: float = 1.0  # blend toward dilation or erosion by up to this share (1 = a full 3x3 step)
    share: float = 0.5  # of each batch, this share is distorted and the rest kept as MNIST drew it
    # (all of it distorted read 0.8 points fewer of the hard drawing set, seeds 0-2: bench/README.md)


DRAW_RECIPE = AugmentRecipe()  # the one recipe `TrainConfig.augment` switches on


def _max3(values: torch.Tensor, outside: float) -> torch.Tensor:
    """The maximum over each pixel's 3x3 neighbourhood, `outside` beyond the frame.

    Separable (rows, then columns): the same as max_pool2d(values, 3, stride=1, padding=1)
    when `outside` is at most the smallest value, and ~10x faster on a CPU for 28x28 batches.
    """
    padded = F.pad(values, (1, 1, 1, 1), value=outside)
    rows = torch.maximum(torch.maximum(padded[..., :-2, :], padded[..., 1:-1, :]), padded[..., 2:, :])
    return torch.maximum(torch.maximum(rows[..., :-2], rows[..., 1:-1]), rows[..., 2:])


def thicken(ink: torch.Tensor) -> torch.Tensor:
    """A thicker pen: each pixel takes the brightest value of its 3x3 neighbourhood (dilation,
    a max-pooling with stride 1). `ink` is (N, 1, H, W) with ink = 1 and background = 0.

    >>> dot = torch.zeros(1, 1, 5, 5); dot[0, 0, 2, 2] = 1.0
    >>> int(thicken(dot).sum())
    9
    """
    return _max3(ink, 0.0)


def thin(ink: torch.Tensor) -> torch.Tensor:
    """A thinner pen: each pixel takes the darkest value of its 3x3 neighbourhood (erosion,
    the negative of the max-pooling of the negative).

    >>> bar = torch.zeros(1, 1, 5, 5); bar[0, 0, 1:4, :] = 1.0
    >>> thin(bar)[0, 0, :, 2].tolist()
    [0.0, 0.0, 1.0, 0.0, 0.0]
    """
    return -_max3(-ink, -1.0)


def _uniform(n: int, low: float, high: float, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, generator=generator) * (high - low) + low


def random_affine(n: int, recipe: AugmentRecipe = DRAW_RECIPE,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, 2, 3) matrices for `affine_grid`: rotation, scale, aspect, shear and shift per image.

    `affine_grid` maps output coordinates to input ones (both in [-1, 1]), so each matrix is
    the inverse of the change the image undergoes.

    >>> random_affine(4).shape
    torch.Size([4, 2, 3])
    """
    angle = _uniform(n, -recipe.rotation_degrees, recipe.rotation_degrees, generator) * (math.pi / 180)
    zoom = _uniform(n, *recipe.scale, generator)
    aspect = 1 + _uniform(n, -recipe.aspect, recipe.aspect, generator)
    shear = _uniform(n, -recipe.shear, recipe.shear, generator)
    shift = _uniform(2 * n, -recipe.shift_pixels, recipe.shift_pixels, generator).view(n, 2) * (2 / 28)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # The forward change A = R @ Sh @ S (scale first, then shear, then rotate); theta = A^-1.
    forward = torch.zeros(n, 2, 2)
    forward[:, 0, 0], forward[:, 0, 1] = cos * zoom * aspect, (cos * shear - sin) * zoom
    forward[:, 1, 0], forward[:, 1, 1] = sin * zoom * aspect, (sin * shear + cos) * zoom
    det = forward[:, 0, 0] * forward[:, 1, 1] - forward[:, 0, 1] * forward[:, 1, 0]  # zoom^2 * aspect > 0
    inverse = torch.stack([torch.stack([forward[:, 1, 1], -forward[:, 0, 1]], 1),
                           torch.stack([-forward[:, 1, 0], forward[:, 0, 0]], 1)], 1) / det.view(n, 1, 1)
    offset = -(inverse * shift.unsqueeze(1)).sum(dim=2, keepdim=True)  # -inverse @ shift, (n, 2, 1)
    return torch.cat([inverse, offset], dim=2)  # (n, 2, 3)


@functools.lru_cache(maxsize=8)
def _smooth_basis(grid: int, size: int) -> torch.Tensor:
    """(grid * grid, size * size): each coarse grid point's bicubic bump, upsampled once and kept."""
    impulses = torch.eye(grid * grid).view(grid * grid, 1, grid, grid)
    bumps = F.interpolate(impulses, size=(size, size), mode="bicubic", align_corners=True)
    return bumps.view(grid * grid, size * size)


@functools.lru_cache(maxsize=8)
def _identity_grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each output pixel's x and y, shape (size * size,) each, in affine_grid's [-1, 1] coordinates."""
    pixels = F.affine_grid(torch.eye(2, 3).unsqueeze(0), [1, 1, size, size], align_corners=False).view(-1, 2)
    return pixels[:, 0].contiguous(), pixels[:, 1].contiguous()


def elastic_field(n: int, size: int, recipe: AugmentRecipe = DRAW_RECIPE,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, size, size, 2) smooth random displacements in grid units ([-1, 1] spans the image).

    Random offsets on a coarse grid, bicubically upsampled (one small matrix product).
    """
    coarse = torch.randn(n * 2, recipe.elastic_grid ** 2, generator=generator)
    field = (coarse @ _smooth_basis(recipe.elastic_grid, size)).view(n, 2, size, size)
    return field.permute(0, 2, 3, 1) * (recipe.elastic_pixels * 2 / size)


def augment_ink(ink: torch.Tensor, recipe: AugmentRecipe = DRAW_RECIPE,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Augment (N, 1, H, W) ink images in [0, 1] (ink = 1); returns a new tensor of the same shape."""
    n, _, height, width = ink.shape
    # The same as affine_grid(theta, ...), written out: tiny batched matmuls are slow on a CPU.
    theta = random_affine(n, recipe, generator)
    x, y = _identity_grid(height)
    grid = torch.stack([theta[:, i, 0:1] * x + theta[:, i, 1:2] * y + theta[:, i, 2:3] for i in (0, 1)],
                       dim=2).view(n, height, width, 2)
    if recipe.elastic_pixels:
        grid = grid + elastic_field(n, height, recipe, generator)
    warped = F.grid_sample(ink, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if recipe.thickness:
        # t in [-thickness, thickness]: > 0 blends toward the dilation, < 0 toward the erosion.
        t = _uniform(n, -recipe.thickness, recipe.thickness, generator).view(n, 1, 1, 1)
        target = torch.where(t > 0, thicken(warped), thin(warped))
        warped = warped + t.abs() * (target - warped)
    # Strongest pixel back to full ink, as the canvas preprocessing does (a thinned stroke stays white).
    peak = warped.amax(dim=(2, 3), keepdim=True)
    warped = torch.where(peak > 0.05, warped / peak.clamp_min(0.05), warped)
    return warped.clamp_(0.0, 1.0)


def augment_batch(x: torch.Tensor, recipe: AugmentRecipe = DRAW_RECIPE,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Augment a normalized training batch (N, 1, 28, 28); returns it normalized the same way.

    >>> from mnist_core.data import normalize
    >>> batch = normalize(torch.zeros(8, 28, 28, dtype=torch.uint8))  # blank images stay blank
    >>> bool(torch.allclose(augment_batch(batch, generator=torch.Generator().manual_seed(0)), batch))
    True
    """
    def distort(batch: torch.Tensor) -> torch.Tensor:  # via ink in [0, 1], back to normalized
        return (augment_ink(batch * MNIST_STD + MNIST_MEAN, recipe, generator) - MNIST_MEAN) / MNIST_STD

    if recipe.share >= 1:
        return distort(x)
    chosen = (torch.rand(x.shape[0], generator=generator) < recipe.share).nonzero().squeeze(1)
    if len(chosen) == 0:
        return x
    out = x.clone()
    out[chosen] = distort(x[chosen])
    return out
