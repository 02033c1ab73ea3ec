"""How pixels are scaled before a model sees them: the two scalings a run can choose.

MNIST's pixels are bytes 0-255. A run either sees them *standardized* (mean 0,
spread 1 over the training set; the default) or as *unit* values in [0, 1], as
many classic studies did. The scaling changes how strong a step is: standardized
inputs are about 3x larger, so the same learning rate moves the weights further.

Only one float copy of the images is kept (standardized, in `data.MnistData`);
a unit-pixel model turns it back on the fly (`x * MNIST_STD + MNIST_MEAN`).
This module imports no torch, so the NumPy network can use it.
"""
from __future__ import annotations

import numpy as np

# Mean and standard deviation of MNIST's training pixels (in [0, 1]); a standardized
# model sees (pixel / 255 - MEAN) / STD, in training and on the canvas alike.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

# Scaling name -> the label a student sees.
PIXEL_SCALINGS = {
    "standardized": "Standardized (mean 0, spread 1)",
    "unit": "0 to 1 (raw brightness / 255)",
}


def unit_from_standardized(x):
    """Standardized pixels -> pixels in [0, 1]; works on NumPy arrays and torch tensors alike.

    >>> float(unit_from_standardized((1.0 - MNIST_MEAN) / MNIST_STD))
    1.0
    """
    return x * MNIST_STD + MNIST_MEAN


def images_to_rows(images, pixels: str = "standardized") -> np.ndarray:
    """uint8 images (N, 28, 28) -> float32 rows (N, 784), scaled as `pixels` says.

    >>> images_to_rows(np.full((1, 28, 28), 255, dtype=np.uint8), "unit")[0, :2].tolist()
    [1.0, 1.0]
    """
    images = np.asarray(images)
    rows = images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0)  # (N, 784)
    if pixels == "unit":
        return rows
    if pixels != "standardized":
        raise ValueError(f"Unknown pixel scaling {pixels!r}: choose one of {', '.join(PIXEL_SCALINGS)}.")
    rows -= np.float32(MNIST_MEAN)
    rows /= np.float32(MNIST_STD)
    return rows
