"""MNIST as whole in-memory tensors: find, verify, load, split and batch.

The hot path never touches PIL, ToTensor or a DataLoader: the 70,000 images
live in one uint8 tensor (for display) and one normalized float32 tensor (for
compute), and a batch is just `images[index]` with an index from a seeded
permutation. That is ~0.1 s of overhead per epoch instead of 6-8 s.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from .config import NUM_CLASSES, ConfigError
from .pixels import MNIST_MEAN, MNIST_STD  # noqa: F401  (their home is pixels.py; imported from here too)
IMAGE_SIZE = 28

# The four official files, uncompressed, as torchvision keeps them in MNIST/raw.
MNIST_FILES = {
    "train-images-idx3-ubyte": ("6bbc9ace898e44ae57da46a324031adb", 47_040_016, 2051, 60_000),
    "train-labels-idx1-ubyte": ("a25bea736e30d166cdddb491f175f624", 60_008, 2049, 60_000),
    "t10k-images-idx3-ubyte": ("2646ac647ad5339dbf082846283269ea", 7_840_016, 2051, 10_000),
    "t10k-labels-idx1-ubyte": ("27ae3e4e09519cfbb04c329615203637", 10_008, 2049, 10_000),
}
DATA_DIR_ENV = "MNIST_DATA_DIR"
DEFAULT_DATA_DIR = "./data"


class DataError(RuntimeError):
    """MNIST cannot be found, downloaded or read; the message says how to fix it."""


@dataclass
class MnistData:
    """All images of one dataset, kept in memory once and shared read-only."""
    train_images: torch.Tensor  # (60000, 28, 28) uint8, for display
    train_labels: torch.Tensor  # (60000,) int64
    test_images: torch.Tensor  # (10000, 28, 28) uint8
    test_labels: torch.Tensor  # (10000,) int64
    source: str = "mnist"  # "mnist", "sklearn-digits" (the offline stand-in) or "synthetic"
    description: str = "MNIST"

    def __post_init__(self):
        self.train_x = normalize(self.train_images)  # (N, 1, 28, 28) float32
        self.test_x = normalize(self.test_images)

    @functools.cached_property
    def class_counts(self) -> list[int]:
        """Training images per digit (counted once: the labels never change)."""
        return torch.bincount(self.train_labels, minlength=NUM_CLASSES).tolist()

    @functools.cached_property
    def test_class_counts(self) -> list[int]:
        """Test images per digit."""
        return torch.bincount(self.test_labels, minlength=NUM_CLASSES).tolist()


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28), scaled exactly as in training."""
    x = images.to(torch.float32).unsqueeze(1)  # (N, 1, 28, 28)
    return x.div_(255.0).sub_(MNIST_MEAN).div_(MNIST_STD)


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The argument if given, else $MNIST_DATA_DIR, else ./data."""
    if data_dir:
        return Path(data_dir)
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_files(root: Path, check_md5: bool = False) -> None:
    """Raise DataError naming the first missing, truncated or corrupt file.

    The size and the idx header (magic number, count) are always checked; they
    catch truncation and most corruption in microseconds. `check_md5` also hashes
    every file (about 0.2 s).
    """
    raw = Path(root) / "MNIST" / "raw"
    for name, (md5, size, magic, count) in MNIST_FILES.items():
        path = raw / name
        if not path.is_file():
            raise DataError(f"The MNIST file {path} is missing.")
        actual = path.stat().st_size
        if actual != size:
            raise DataError(f"The MNIST file {path} is {actual:,} bytes instead of {size:,}: "
                            "it is truncated or corrupt. Delete it and download MNIST again.")
        with open(path, "rb") as f:
            header = f.read(8)
        if int.from_bytes(header[:4], "big") != magic or int.from_bytes(header[4:8], "big") != count:
            raise DataError(f"The MNIST file {path} has a damaged header: it is corrupt. "
                            "Delete it and download MNIST again.")
        if check_md5 and _md5(path) != md5:
            raise DataError(f"The MNIST file {path} fails its checksum: it is corrupt. "
                            "Delete it and download MNIST again.")


def _read_idx(path: Path, offset: int, shape: tuple[int, ...]) -> torch.Tensor:
    array = np.fromfile(path, dtype=np.uint8, offset=offset)
    return torch.from_numpy(array.reshape(shape).copy())


def _how_to_fix(root: Path) -> str:
    return (f"Put the four MNIST files in {root / 'MNIST' / 'raw'}, or set the environment variable "
            f"{DATA_DIR_ENV} to a folder that has them (for example {DATA_DIR_ENV}=../shared/mnist), "
            "or run once on a machine with internet so that MNIST can be downloaded.")


def missing_files(data_dir: str | os.PathLike | None = None) -> list[str]:
    """The MNIST files not (yet) in the data folder, e.g. before a first download.

    >>> missing_files("/nowhere")[:1]
    ['train-images-idx3-ubyte']
    """
    raw = resolve_data_dir(data_dir) / "MNIST" / "raw"
    return [name for name in MNIST_FILES if not (raw / name).is_file()]


def _fetch(raw: Path, archive: str, md5: str) -> None:
    """One MNIST archive from the first torchvision mirror that answers, unpacked into `raw`."""
    from torchvision.datasets import MNIST  # heavy: torchvision, only for the download
    from torchvision.datasets import utils as download_utils

    raw.mkdir(parents=True, exist_ok=True)
    errors = []
    for mirror in MNIST.mirrors:
        try:
            # torchvision prints to stdout; keep the CLI's stdout for its one JSON line.
            with contextlib.redirect_stdout(io.StringIO()):
                download_utils.download_and_extract_archive(f"{mirror}{archive}", download_root=str(raw),
                                                            filename=archive, md5=md5, remove_finished=True)
            return
        except Exception as error:  # URLError, RuntimeError (bad checksum), OSError ...
            errors.append(error)
    raise errors[-1]


def download_mnist(root: Path, progress: Callable[[str], None] | None = None) -> None:
    """Download the missing MNIST files from torchvision's mirrors, one progress line per file.

    Files already present are kept. Raises DataError (with how to fix it) when offline.
    """
    from torchvision.datasets import MNIST  # heavy: torchvision, only for the download

    say = progress or (lambda text: print(text, file=sys.stderr))
    raw = Path(root) / "MNIST" / "raw"
    wanted = [(archive, md5) for archive, md5 in MNIST.resources if not (raw / archive.removesuffix(".gz")).is_file()]
    say(f"Downloading MNIST (about 11 MB) into {root} ...")
    for number, (archive, md5) in enumerate(wanted, start=1):
        name = archive.removesuffix(".gz")
        say(f"File {number} of {len(wanted)}: {name} ({MNIST_FILES[name][1] / 1e6:.2f} MB unpacked) ...")
        try:
            _fetch(raw, archive, md5)
        except Exception as error:
            raise DataError(f"MNIST is not in {root} and could not be downloaded "
                            f"(no internet? {type(error).__name__}). {_how_to_fix(root)}") from None
        say(f"File {number} of {len(wanted)}: {name} done.")
    say("MNIST is downloaded.")


def load_mnist(data_dir: str | os.PathLike | None = None, download: bool = True,
               progress: Callable[[str], None] | None = None) -> MnistData:
    """Load the four MNIST files into memory as tensors.

    Missing files are downloaded when `download` is true and the machine is online;
    otherwise, and for truncated or corrupt files, DataError explains what to do.
    """
    root = resolve_data_dir(data_dir)
    raw = root / "MNIST" / "raw"
    missing = missing_files(root)
    if missing and download:
        download_mnist(root, progress)
    elif missing:
        raise DataError(f"MNIST was not found in {root} (missing {', '.join(missing)}). {_how_to_fix(root)}")
    verify_files(root)
    return MnistData(
        train_images=_read_idx(raw / "train-images-idx3-ubyte", 16, (60_000, 28, 28)),
        train_labels=_read_idx(raw / "train-labels-idx1-ubyte", 8, (60_000,)).long(),
        test_images=_read_idx(raw / "t10k-images-idx3-ubyte", 16, (10_000, 28, 28)),
        test_labels=_read_idx(raw / "t10k-labels-idx1-ubyte", 8, (10_000,)).long(),
    )


def load_sklearn_digits() -> MnistData:
    """The offline stand-in: scikit-learn's 1,797 8x8 digits, upscaled to 28x28.

    They are placed like MNIST digits (a 20x20 box centred in 28x28) so that a
    model trained on them also reads canvas drawings. 80% train, 20% test.
    """
    from sklearn.datasets import load_digits  # heavy: scikit-learn, only for the offline stand-in

    digits = load_digits()
    images = torch.from_numpy(digits.images.astype(np.float32) / 16.0).unsqueeze(1)  # (N,1,8,8)
    big = torch.nn.functional.interpolate(images, size=(20, 20), mode="bilinear", align_corners=False)
    canvas = torch.zeros(len(big), 28, 28)
    canvas[:, 4:24, 4:24] = big[:, 0]
    images_u8 = (canvas.clamp(0, 1) * 255).round().to(torch.uint8)
    labels = torch.from_numpy(digits.target).long()
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    cut = int(0.8 * len(labels))
    train, test = order[:cut], order[cut:]
    return MnistData(images_u8[train], labels[train], images_u8[test], labels[test],
                     source="sklearn-digits",
                     description="scikit-learn's 1,797 8×8 digits, upscaled (a small stand-in for MNIST)")


def make_synthetic(n_train_per_class: int = 50, n_test_per_class: int = 10, seed: int = 0,
                   noise: float = 0.15) -> MnistData:
    """Small, learnable fake digits for unit tests: each class is a fixed blob pattern plus noise."""
    # Offset so that the data's random stream never equals a model's (torch.manual_seed(seed)):
    # with the same stream a softmax model starts out already matching the prototypes.
    gen = torch.Generator().manual_seed(1_000_003 + seed)
    prototypes = (torch.rand(NUM_CLASSES, 28, 28, generator=gen) > 0.7).float()

    def sample(n_per_class):
        labels = torch.arange(NUM_CLASSES).repeat_interleave(n_per_class)
        images = prototypes[labels] + noise * torch.randn(len(labels), 28, 28, generator=gen)
        perm = torch.randperm(len(labels), generator=gen)
        return (images.clamp(0, 1) * 255).to(torch.uint8)[perm], labels[perm]

    train_images, train_labels = sample(n_train_per_class)
    test_images, test_labels = sample(n_test_per_class)
    return MnistData(train_images, train_labels, test_images, test_labels,
                     source="synthetic", description="synthetic test digits")


@dataclass
class Split:
    """Which training images are used for training and which for validation (indices only)."""
    train_index: torch.Tensor  # int64 indices into data.train_x
    val_index: torch.Tensor


def make_split(data: MnistData, val_fraction: float, subset: int, seed: int) -> Split:
    """A seeded, stratified split: `subset` images per class for training (0 = all the rest)."""
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(data.train_labels), generator=gen)
    labels = data.train_labels[perm]
    train_parts, val_parts = [], []
    for digit in range(NUM_CLASSES):
        members = perm[labels == digit]
        n_val = int(round(len(members) * val_fraction))
        val_parts.append(members[:n_val])
        rest = members[n_val:]
        train_parts.append(rest[:subset] if subset else rest)
    train_index = torch.cat(train_parts)
    val_index = torch.cat(val_parts)
    # Mix the classes again so a batch is not all one digit.
    train_index = train_index[torch.randperm(len(train_index), generator=gen)]
    if len(train_index) == 0:
        raise ConfigError("The training set is empty: lower the validation fraction or raise the subset size.")
    return Split(train_index=train_index, val_index=val_index.sort().values)


def batch_count(n: int, batch_size: int) -> int:
    """Batches in one epoch of n images.

    A left-over smaller than half a batch joins the batch before it: a final
    batch of one image takes a full-size step on a single example, which with
    plain SGD could undo much of an epoch (54,001 images at batch 1,000 did).

    >>> batch_count(54_000, 128), batch_count(54_001, 1000), batch_count(10, 4), batch_count(3, 8)
    (422, 54, 3, 1)
    """
    full, rest = divmod(n, batch_size)
    if full == 0:
        return 1
    return full + (1 if 2 * rest >= batch_size else 0)


def iterate_batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Index tensors of one epoch, from a fresh seeded permutation.

    There are `batch_count(n, batch_size)` of them; the last may be up to half a
    batch shorter or longer than the rest.
    """
    order = torch.randperm(n, generator=generator)
    count = batch_count(n, batch_size)
    for i in range(count):
        stop = n if i == count - 1 else (i + 1) * batch_size
        yield order[i * batch_size:stop]
