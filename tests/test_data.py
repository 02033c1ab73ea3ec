"""Tests of mnist_core.data: finding the data folder, file checks, the offline path, splits and batches.

Broken MNIST folders are built in tmp_path: files with the official names and
sizes (sparse, so they cost no disk) whose headers are right or deliberately wrong.
"""
import math
import os
import socket
import time

import pytest
import torch

from mnist_core.config import ConfigError
from mnist_core.data import (DATA_DIR_ENV, DEFAULT_DATA_DIR, MNIST_FILES, MNIST_MEAN, MNIST_STD, DataError,
                             batch_count, iterate_batches, load_mnist, load_sklearn_digits, make_split, make_synthetic,
                             normalize, resolve_data_dir, verify_files)


def write_fake_mnist(root, skip=(), wrong_header=(), wrong_size=()):
    """The four MNIST files with the right names, sizes and headers, except where asked otherwise."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, (_md5, size, magic, count) in MNIST_FILES.items():
        if name in skip:
            continue
        path = raw / name
        with open(path, "wb") as f:
            if name in wrong_header:
                f.write(b"<html>404 Not Found</html>")  # what a broken mirror might send
            else:
                f.write(magic.to_bytes(4, "big") + count.to_bytes(4, "big"))
            f.truncate(size // 2 if name in wrong_size else size)  # sparse: no real disk used
    return raw


# --- where the data lives ---------------------------------------------------

def test_resolve_data_dir_prefers_the_argument_then_the_environment_then_dot_data(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))
    assert resolve_data_dir(tmp_path / "given") == tmp_path / "given"
    assert resolve_data_dir() == tmp_path / "from-env"
    monkeypatch.delenv(DATA_DIR_ENV)
    assert resolve_data_dir() == type(tmp_path)(DEFAULT_DATA_DIR)
    assert str(resolve_data_dir()) == "data"
    monkeypatch.setenv(DATA_DIR_ENV, "")  # an empty variable counts as unset
    assert str(resolve_data_dir()) == "data"


def test_missing_files_without_download_name_the_folder_and_the_variable(tmp_path):
    with pytest.raises(DataError) as caught:
        load_mnist(tmp_path, download=False)
    message = str(caught.value)
    assert f"MNIST was not found in {tmp_path}" in message
    assert DATA_DIR_ENV in message and "train-images-idx3-ubyte" in message
    assert "\n" not in message


def test_one_missing_file_is_named(tmp_path):
    write_fake_mnist(tmp_path, skip={"t10k-labels-idx1-ubyte"})
    with pytest.raises(DataError, match=r"missing t10k-labels-idx1-ubyte\)"):
        load_mnist(tmp_path, download=False)


def test_a_truncated_file_is_reported_plainly(tmp_path):
    raw = write_fake_mnist(tmp_path, wrong_size={"train-labels-idx1-ubyte"})
    with pytest.raises(DataError) as caught:
        load_mnist(tmp_path, download=False)
    assert str(caught.value) == (f"The MNIST file {raw / 'train-labels-idx1-ubyte'} is 30,004 bytes instead of "
                                 "60,008: it is truncated or corrupt. Delete it and download MNIST again.")


def test_a_file_of_the_right_size_with_a_corrupt_header_is_reported_plainly(tmp_path):
    raw = write_fake_mnist(tmp_path, wrong_header={"t10k-images-idx3-ubyte"})
    with pytest.raises(DataError) as caught:
        load_mnist(tmp_path, download=True)  # files are present, so nothing is downloaded
    assert str(caught.value) == (f"The MNIST file {raw / 't10k-images-idx3-ubyte'} has a damaged header: "
                                 "it is corrupt. Delete it and download MNIST again.")


def test_the_checksum_catches_corruption_that_size_and_header_miss(tmp_path):
    write_fake_mnist(tmp_path)  # right sizes and headers, but all-zero pixels
    verify_files(tmp_path)
    with pytest.raises(DataError, match="fails its checksum: it is corrupt"):
        verify_files(tmp_path, check_md5=True)


def test_fake_files_with_good_headers_load_with_the_right_shapes(tmp_path):
    write_fake_mnist(tmp_path)
    data = load_mnist(tmp_path, download=False)
    assert data.train_images.shape == (60_000, 28, 28) and data.train_images.dtype == torch.uint8
    assert data.test_labels.shape == (10_000,) and data.test_labels.dtype == torch.int64


def test_download_offline_fails_fast_with_a_data_error(tmp_path, monkeypatch):
    # Cut the network at name lookup, as on a machine without internet (this one is offline too).
    def no_network(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    said = []
    start = time.monotonic()
    with pytest.raises(DataError) as caught:
        load_mnist(tmp_path, download=True, progress=said.append)
    assert time.monotonic() - start < 60  # a guard against hanging, not a speed test
    message = str(caught.value)
    assert f"MNIST is not in {tmp_path} and could not be downloaded" in message
    assert DATA_DIR_ENV in message and "\n" not in message
    assert said and said[0].startswith("Downloading MNIST")
    assert not any((tmp_path / "MNIST" / "raw").glob("*-ubyte")), "no partial file may look like data"


# --- the in-memory datasets ---------------------------------------------------

def test_normalize_scales_like_training_and_adds_a_channel():
    images = torch.zeros(2, 28, 28, dtype=torch.uint8)
    images[0, 0, 0] = 255
    x = normalize(images)
    assert x.shape == (2, 1, 28, 28) and x.dtype == torch.float32
    assert x[0, 0, 0, 0].item() == pytest.approx((1 - MNIST_MEAN) / MNIST_STD)
    assert x[1, 0, 5, 5].item() == pytest.approx(-MNIST_MEAN / MNIST_STD)


def test_make_synthetic_shapes_balance_and_seeding():
    data = make_synthetic(n_train_per_class=7, n_test_per_class=3, seed=5)
    assert data.train_images.shape == (70, 28, 28) and data.train_x.shape == (70, 1, 28, 28)
    assert data.test_images.shape == (30, 28, 28)
    assert data.class_counts == [7] * 10
    assert data.source == "synthetic"
    again = make_synthetic(n_train_per_class=7, n_test_per_class=3, seed=5)
    other = make_synthetic(n_train_per_class=7, n_test_per_class=3, seed=6)
    assert torch.equal(data.train_images, again.train_images) and torch.equal(data.train_labels, again.train_labels)
    assert not torch.equal(data.train_images, other.train_images)


def test_load_sklearn_digits_looks_like_mnist():
    data = load_sklearn_digits()
    assert data.train_images.shape == (1437, 28, 28) and data.test_images.shape == (360, 28, 28)
    assert data.train_images.dtype == torch.uint8 and data.train_labels.dtype == torch.int64
    assert data.train_x.shape == (1437, 1, 28, 28)
    assert sorted(set(data.train_labels.tolist())) == list(range(10))
    assert data.source == "sklearn-digits"
    # Digits sit in the central 20x20 box, as MNIST's do; the border stays black.
    all_images = torch.cat([data.train_images, data.test_images])
    assert all_images[:, :4].max() == 0 and all_images[:, 24:].max() == 0
    assert all_images[:, 4:24, 4:24].float().mean() > 20


# --- split and batches --------------------------------------------------------

def test_split_is_stratified_disjoint_and_takes_subset_per_class():
    data = make_synthetic(n_train_per_class=40, n_test_per_class=1, seed=0)
    split = make_split(data, val_fraction=0.25, subset=12, seed=3)
    train_counts = torch.bincount(data.train_labels[split.train_index], minlength=10)
    val_counts = torch.bincount(data.train_labels[split.val_index], minlength=10)
    assert train_counts.tolist() == [12] * 10
    assert val_counts.tolist() == [10] * 10
    assert not set(split.train_index.tolist()) & set(split.val_index.tolist())
    # The training order is mixed: the first 12 are not all one digit.
    assert len(set(data.train_labels[split.train_index[:12]].tolist())) > 1


def test_split_without_subset_uses_all_the_rest_and_rounds_the_validation_share():
    data = make_synthetic(n_train_per_class=30, n_test_per_class=1, seed=0)
    split = make_split(data, val_fraction=0.1, subset=0, seed=0)
    assert len(split.val_index) == 30 and len(split.train_index) == 270
    assert torch.bincount(data.train_labels[split.val_index], minlength=10).tolist() == [3] * 10


def test_split_is_seeded():
    data = make_synthetic(n_train_per_class=30, n_test_per_class=1, seed=0)
    first, again = make_split(data, 0.2, 10, seed=1), make_split(data, 0.2, 10, seed=1)
    other = make_split(data, 0.2, 10, seed=2)
    assert torch.equal(first.train_index, again.train_index) and torch.equal(first.val_index, again.val_index)
    assert not torch.equal(first.val_index, other.val_index)
    assert not torch.equal(first.train_index, other.train_index)


def test_an_empty_training_set_is_a_config_error():
    data = make_synthetic(n_train_per_class=1, n_test_per_class=1, seed=0)
    with pytest.raises(ConfigError, match="The training set is empty"):
        make_split(data, val_fraction=0.9, subset=0, seed=0)


def test_iterate_batches_covers_every_index_once_with_a_short_last_batch():
    batches = list(iterate_batches(10, 4, torch.Generator().manual_seed(0)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    again = list(iterate_batches(10, 4, torch.Generator().manual_seed(0)))
    assert all(torch.equal(a, b) for a, b in zip(batches, again))


# --- the real thing -------------------------------------------------------------

@pytest.mark.integration
def test_real_mnist_loads_with_the_official_shapes_and_checksums(mnist):
    from pathlib import Path

    root = os.environ.get(DATA_DIR_ENV) or Path(__file__).resolve().parents[2] / "shared" / "mnist"
    verify_files(Path(root), check_md5=True)
    assert mnist.train_images.shape == (60_000, 28, 28) and mnist.test_images.shape == (10_000, 28, 28)
    assert mnist.class_counts[1] == 6742 and sum(mnist.class_counts) == 60_000
    assert torch.bincount(mnist.test_labels).tolist()[0] == 980
    # The normalisation constants are MNIST's own training mean and std.
    assert mnist.train_x.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert mnist.train_x.std().item() == pytest.approx(1.0, abs=1e-3)


def test_a_small_leftover_joins_the_last_batch_instead_of_a_batch_of_one():
    batches = list(iterate_batches(1001, 100, torch.Generator().manual_seed(0)))
    assert [len(b) for b in batches] == [100] * 9 + [101]
    assert sorted(torch.cat(batches).tolist()) == list(range(1001))


def test_batch_count_counts_the_batches_iterate_batches_makes():
    assert batch_count(54_000, 128) == math.ceil(54_000 / 128)
    assert batch_count(54_001, 1000) == 54  # a left-over of one image joins the last batch, as in training
    assert batch_count(100, 1000) == 1
    assert batch_count(1001, 100) == len(list(iterate_batches(1001, 100, torch.Generator().manual_seed(0))))
