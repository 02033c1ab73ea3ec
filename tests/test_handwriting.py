"""Tests for mnist_core.handwriting: the class's own labelled drawings and a model's score on them.

Scores are checked against scikit-learn's per-class recall and against a count by
hand, using a stand-in model whose answer is written into each image's corner.
"""
import os
import threading

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import recall_score

from mnist_core.handwriting import (HANDWRITING_FOLDER, HandwritingError, HandwritingExample, HandwritingStore,
                                    as_uint8_image, evaluate_examples, examples_to_tensor)
from mnist_core.data import normalize
from mnist_core.models import SoftmaxRegression
from mnist_core.runs import RunStore


def a_drawing(seed=0) -> np.ndarray:
    """A 28x28 float image in [0, 1] like the Draw page keeps (some ink in the middle)."""
    image = np.zeros((28, 28), np.float32)
    image[6:22, 12:16] = np.random.default_rng(seed).uniform(0.3, 1.0, (16, 4))
    return image


@pytest.fixture
def store(tmp_path):
    return HandwritingStore(tmp_path)


def test_saving_keeps_the_image_label_and_details_in_one_png(store, tmp_path):
    image = a_drawing()
    saved = store.save(image, 7, owner="abc123", run_id="20261122-193000-cnn-3f9a1c", predicted=1)
    path = tmp_path / HANDWRITING_FOLDER / f"{saved.example_id}.png"
    assert path.is_file() and saved.example_id.startswith("7-")
    with Image.open(path) as picture:  # a teacher can open it: a plain 28x28 grey PNG
        assert picture.size == (28, 28) and picture.mode == "L"
        assert np.array_equal(np.asarray(picture), np.floor(image * 255 + 0.5).astype(np.uint8))
    loaded = store.load(saved.example_id)
    assert loaded.label == 7 and loaded.owner == "abc123" and loaded.predicted == 1
    assert loaded.run_id == "20261122-193000-cnn-3f9a1c"
    assert loaded.created == pytest.approx(saved.created)
    assert np.array_equal(loaded.image, saved.image)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_uint8_and_float_images_are_stored_the_same(store):
    image = a_drawing(1)
    as_bytes = np.floor(image * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(store.save(image, 1).image, store.save(as_bytes, 1).image)
    assert np.array_equal(as_uint8_image(torch.from_numpy(image)[None, None]), as_bytes)


@pytest.mark.parametrize("label", [10, -1, "7", 3.0, True, None])
def test_a_label_must_be_a_digit(store, label):
    with pytest.raises(HandwritingError, match="digit from 0 to 9"):
        store.save(a_drawing(), label)


def test_blank_or_misshapen_images_are_refused(store):
    with pytest.raises(HandwritingError, match="blank"):
        store.save(np.zeros((28, 28)), 3)
    with pytest.raises(HandwritingError, match="28x28"):
        store.save(np.ones((280, 280)), 3)
    assert store.list() == []


def test_list_is_oldest_first_filters_by_owner_and_skips_damaged_files(store):
    first = store.save(a_drawing(0), 4, owner="ann")
    second = store.save(a_drawing(1), 2, owner="bob")
    third = store.save(a_drawing(2), 4, owner="ann")
    (store.folder / "9-20261122-193000-abcdef.png").write_bytes(b"damaged")
    (store.folder / ".tmp-5-20261122-193000-abcdef.png").write_bytes(b"half written")
    (store.folder / "notes.txt").write_text("a teacher's file")
    assert [e.example_id for e in store.list()] == [first.example_id, second.example_id, third.example_id]
    assert [e.example_id for e in store.list(owner="ann")] == [first.example_id, third.example_id]
    assert len(store.problems) == 1 and "damaged" in store.problems[0]
    assert store.count() == 4  # counts files without reading them, the damaged one included


def test_only_the_owner_can_delete_an_example(store):
    saved = store.save(a_drawing(), 5, owner="ann")
    with pytest.raises(HandwritingError, match="Only the person"):
        store.delete(saved.example_id, owner="bob")
    store.delete(saved.example_id, owner="ann")
    assert store.list() == []
    with pytest.raises(HandwritingError, match="no example"):
        store.delete(saved.example_id)


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "7-x", "", None, "7-20261122-193000-ABCDEF"])
def test_example_ids_are_checked_before_touching_the_disk(store, bad_id):
    with pytest.raises(HandwritingError, match="not a valid example id"):
        store.load(bad_id)


def test_a_failed_write_leaves_nothing_behind(store, monkeypatch):
    def refuse(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(HandwritingError, match="No space left"):
        store.save(a_drawing(), 1)
    assert list(store.folder.iterdir()) == []


def test_students_saving_at_the_same_moment_never_overwrite_each_other(store):
    threads = [threading.Thread(target=store.save, args=(a_drawing(i), i % 10, f"user{i}")) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    examples = store.list()
    assert len(examples) == 40 and len({e.example_id for e in examples}) == 40
    assert sorted(int(e.owner[4:]) % 10 for e in examples) == sorted(e.label for e in examples)


def test_the_run_store_ignores_the_handwriting_folder(tmp_path, store):
    store.save(a_drawing(), 3)
    runs = RunStore(tmp_path)
    assert runs.list() == [] and runs.problems == []


class AnswerInTheCorner(torch.nn.Module):
    """A stand-in model whose answer is the digit written (as intensity d * 20) in pixel (0, 0)."""

    def forward(self, x):  # x: (N, 1, 28, 28) normalized
        raw = x[:, 0, 0, 0] * 0.3081 + 0.1307  # undo normalization -> [0, 1]
        digit = torch.round(raw * 255 / 20).long().clamp(0, 9)
        return torch.nn.functional.one_hot(digit, 10).float() * 10  # (N, 10) logits


def test_per_digit_accuracy_matches_sklearn_and_a_count_by_hand():
    rng = np.random.default_rng(0)
    labels = [0, 0, 0, 1, 1, 2, 2, 2, 2, 7]
    answers = [0, 0, 6, 1, 1, 2, 3, 3, 2, 1]
    examples = []
    for i, (label, answer) in enumerate(zip(labels, answers)):
        image = (rng.uniform(0, 1, (28, 28)) * 255).astype(np.uint8)
        image[0, 0] = answer * 20
        examples.append(HandwritingExample(f"{label}-20260101-000000-{i:06x}", label, image))
    report = evaluate_examples(AnswerInTheCorner(), examples)
    assert report.predicted.tolist() == answers
    assert report.count == 10 and report.accuracy == pytest.approx(6 / 10)
    assert report.per_digit_accuracy[:3] == pytest.approx([2 / 3, 1.0, 2 / 4])
    assert report.per_digit_accuracy[7] == 0.0
    assert report.per_digit_accuracy[5] is None  # nobody drew a 5 yet
    assert report.support == [3, 2, 4, 0, 0, 0, 0, 1, 0, 0]
    recall = recall_score(labels, answers, labels=[0, 1, 2, 7], average=None, zero_division=0)
    assert [report.per_digit_accuracy[d] for d in (0, 1, 2, 7)] == pytest.approx(recall)
    assert report.confusion[2, 3] == 2 and report.confusion.sum() == 10
    assert np.allclose(report.confidence, 1.0, atol=1e-3)


def test_examples_are_normalized_exactly_like_mnist(store):
    saved = [store.save(a_drawing(i), i) for i in range(3)]
    batch = examples_to_tensor(saved)
    assert batch.shape == (3, 1, 28, 28)
    assert torch.equal(batch, normalize(torch.from_numpy(np.stack([e.image for e in saved]))))


def test_an_empty_set_has_no_score():
    report = evaluate_examples(SoftmaxRegression(), [])
    assert report.count == 0 and report.accuracy is None
    assert report.per_digit_accuracy == [None] * 10 and report.support == [0] * 10
