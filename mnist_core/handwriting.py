"""The class handwriting test set: digits drawn on the Draw page, labelled by whoever drew them.

MNIST's test set was written by American census staff and students in the 1990s;
a class's own handwriting is a fairer test of what a model learned. Each saved
example is one small PNG file inside the run store's folder:

    runs/handwriting/7-20261122-193012-3f9a1c.png

The PNG is the 28x28 grey image exactly as the model sees it (after the MNIST
preprocessing, ink = 255, background = 0), and its text chunks hold the label,
the owner (a browser user's token), the time and, when known, the run that read
it when it was saved. One file per example, written to a temporary name and
renamed into place, so two students saving at once never overwrite each other
and a crash never leaves half a file. File names are generated, never taken
from user text.
"""
from __future__ import annotations

import io
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from .data import IMAGE_SIZE, NUM_CLASSES, normalize
from .metrics import accuracy, confusion_matrix, per_class_accuracy
from .predict import predict_probabilities

HANDWRITING_FOLDER = "handwriting"  # inside the run store's root
EXAMPLE_ID_PATTERN = re.compile(r"^[0-9]-\d{8}-\d{6}-[0-9a-f]{6}$")
MAX_OWNER_LENGTH = 40


class HandwritingError(ValueError):
    """An example cannot be saved, found or read; the message says why in plain words."""


@dataclass
class HandwritingExample:
    """One labelled drawing of the class set."""
    example_id: str  # also its file name without ".png"
    label: int  # the digit its author says it is
    image: np.ndarray  # (28, 28) uint8, ink = 255: what the model sees
    owner: str = ""  # the browser user who drew it
    created: float = 0.0  # seconds since the epoch
    run_id: str = ""  # the run that read it when it was saved (may since be deleted)
    predicted: int | None = None  # what that run read


@dataclass
class HandwritingReport:
    """How one model reads the class set (`evaluate_examples`)."""
    count: int
    accuracy: float | None  # None when the set is empty
    per_digit_accuracy: list[float | None]  # ten values; None for a digit nobody drew yet
    support: list[int]  # examples per digit
    confusion: np.ndarray  # (10, 10), rows = true digit, columns = predicted digit
    predicted: np.ndarray  # (count,) the model's digit for each example, in the order given
    confidence: np.ndarray  # (count,) its probability


def as_uint8_image(image) -> np.ndarray:
    """A 28x28 model-input image as uint8 (ink = 255); floats are read as [0, 1].

    >>> as_uint8_image(np.full((28, 28), 0.5, np.float32))[0, 0]
    np.uint8(128)
    """
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    array = np.squeeze(array)
    if array.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise HandwritingError(f"A test example must be a 28x28 image; this one has shape {array.shape}.")
    if array.dtype == np.uint8:
        return array.copy()
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise HandwritingError("The image has missing (NaN or infinite) pixel values.")
    if values.max(initial=0) > 1.0:
        values = values / 255
    return np.clip(np.floor(values * 255 + 0.5), 0, 255).astype(np.uint8)


def _check_label(label) -> int:
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= int(label) < NUM_CLASSES:
        raise HandwritingError(f"The label must be a digit from 0 to 9, not {label!r}.")
    return int(label)


class HandwritingStore:
    """Save, list and delete the class's labelled drawings (one folder of PNG files)."""

    def __init__(self, runs_root: str | os.PathLike):
        self.folder = Path(runs_root) / HANDWRITING_FOLDER
        self.problems: list[str] = []  # unreadable files seen by the last list()

    def _path(self, example_id: str) -> Path:
        if not isinstance(example_id, str) or not EXAMPLE_ID_PATTERN.match(example_id):
            raise HandwritingError(f"{str(example_id)[:80]!r} is not a valid example id.")
        return self.folder / f"{example_id}.png"

    def save(self, image, label: int, owner: str = "", run_id: str = "",
             predicted: int | None = None) -> HandwritingExample:
        """Keep one labelled 28x28 drawing; returns it with its new id. Written atomically."""
        label = _check_label(label)
        pixels = as_uint8_image(image)
        if not pixels.any():
            raise HandwritingError("The drawing is blank: draw a digit before saving it.")
        created = time.time()
        example_id = f"{label}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(created))}-{secrets.token_hex(3)}"
        text = PngImagePlugin.PngInfo()
        fields = {"label": str(label), "owner": str(owner)[:MAX_OWNER_LENGTH], "created": repr(created),
                  "run_id": str(run_id)[:80], "predicted": "" if predicted is None else str(int(predicted))}
        for key, value in fields.items():
            text.add_text(key, value)
        buffer = io.BytesIO()
        Image.fromarray(pixels, mode="L").save(buffer, "PNG", pnginfo=text)
        path = self._path(example_id)
        temporary = self.folder / f".tmp-{example_id}.png"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(buffer.getvalue())
            os.replace(temporary, path)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise HandwritingError(f"Could not save the example in {self.folder}: {error.strerror or error}. "
                                   "Check that the folder is writable and the disk is not full.") from None
        return HandwritingExample(example_id, label, pixels, fields["owner"], created, fields["run_id"],
                                  None if predicted is None else int(predicted))

    def load(self, example_id: str) -> HandwritingExample:
        path = self._path(example_id)
        try:
            with Image.open(path) as picture:
                picture.load()
                info = dict(getattr(picture, "text", {}) or {})
                pixels = np.asarray(picture.convert("L"))
        except FileNotFoundError:
            raise HandwritingError(f"There is no example {example_id}.") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise HandwritingError(f"The example file {path.name} is damaged.") from None
        if pixels.shape != (IMAGE_SIZE, IMAGE_SIZE):
            raise HandwritingError(f"The example file {path.name} is not 28x28 pixels.")
        try:
            created = float(info.get("created") or 0)
        except ValueError:
            created = 0.0
        predicted = info.get("predicted", "")
        return HandwritingExample(
            example_id=example_id, label=int(example_id[0]), image=pixels, owner=info.get("owner", ""),
            created=created, run_id=info.get("run_id", ""),
            predicted=int(predicted) if predicted.isdigit() and len(predicted) == 1 else None)

    def list(self, owner: str | None = None) -> list[HandwritingExample]:
        """Every readable example, oldest first (only `owner`'s when given).

        The label is the first character of the file name, so renaming a file by hand
        relabels it. Damaged files are skipped and described in `self.problems`.
        """
        self.problems = []
        if not self.folder.is_dir():
            return []
        examples = []
        for path in sorted(self.folder.glob("*.png")):
            if not EXAMPLE_ID_PATTERN.match(path.stem):
                continue  # temporary or foreign files
            try:
                example = self.load(path.stem)
            except HandwritingError as error:
                self.problems.append(str(error))
                continue
            if owner is None or example.owner == owner:
                examples.append(example)
        return sorted(examples, key=lambda e: (e.created, e.example_id))

    def count(self) -> int:
        """How many examples there are, without reading them (cheap enough for every rerun)."""
        if not self.folder.is_dir():
            return 0
        return sum(1 for p in self.folder.glob("*.png") if EXAMPLE_ID_PATTERN.match(p.stem))

    def delete(self, example_id: str, owner: str | None = None) -> None:
        """Remove one example; with `owner`, only if that user saved it."""
        example = self.load(example_id)
        if owner is not None and example.owner != owner:
            raise HandwritingError("Only the person who saved an example can delete it.")
        try:
            self._path(example_id).unlink()
        except FileNotFoundError:
            pass  # deleted by someone else meanwhile: the wish is fulfilled
        except OSError as error:
            raise HandwritingError(f"Could not delete the example: {error.strerror or error}.") from None


def examples_to_tensor(examples: list[HandwritingExample]) -> torch.Tensor:
    """The examples' images as a normalized (N, 1, 28, 28) batch, exactly like MNIST's."""
    if not examples:
        return torch.zeros(0, 1, IMAGE_SIZE, IMAGE_SIZE)
    return normalize(torch.from_numpy(np.stack([e.image for e in examples])))


def evaluate_examples(model: torch.nn.Module, examples: list[HandwritingExample]) -> HandwritingReport:
    """Read every example with `model` and score it overall and per digit.

    Per-digit accuracy is the confusion matrix's diagonal over its row sums
    (`mnist_core.metrics.per_class_accuracy`); a digit without examples gets None.

    >>> from mnist_core.models import SoftmaxRegression
    >>> ones = [HandwritingExample("1-20260101-000000-000000", 1, np.eye(28, dtype=np.uint8) * 255)]
    >>> report = evaluate_examples(SoftmaxRegression(), ones)
    >>> report.count, report.support[1], report.per_digit_accuracy[0]
    (1, 1, None)
    """
    labels = np.array([e.label for e in examples], dtype=np.int64)
    if not examples:
        return HandwritingReport(0, None, [None] * NUM_CLASSES, [0] * NUM_CLASSES,
                                 np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64),
                                 np.zeros(0, np.int64), np.zeros(0, np.float32))
    probabilities = predict_probabilities(model, examples_to_tensor(examples)).numpy()
    predicted = probabilities.argmax(axis=1)
    cm = confusion_matrix(labels, predicted)
    per_digit = [None if np.isnan(v) else float(v) for v in per_class_accuracy(cm)]
    return HandwritingReport(count=len(examples), accuracy=accuracy(labels, predicted),
                             per_digit_accuracy=per_digit, support=cm.sum(axis=1).tolist(), confusion=cm,
                             predicted=predicted, confidence=probabilities[np.arange(len(examples)), predicted])
