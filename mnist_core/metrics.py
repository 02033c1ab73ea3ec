"""Classification metrics as pure functions on arrays.

Convention everywhere: in a confusion matrix, rows are the TRUE class and
columns the PREDICTED class, so `cm[3, 5]` counts threes read as fives.
Inputs may be lists, NumPy arrays or torch tensors; outputs are NumPy arrays
or plain Python numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import NUM_CLASSES



def _as_numpy(values) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def confusion_matrix(y_true, y_pred, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Counts of (true, predicted) pairs; rows = true class, columns = predicted class.

    >>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], num_classes=3).tolist()
    [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    y_true, y_pred = _as_numpy(y_true).astype(np.int64), _as_numpy(y_pred).astype(np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {y_true.shape} vs {y_pred.shape}")
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def accuracy(y_true, y_pred) -> float:
    """Share of predictions that equal the true label (0.0 for empty input).

    >>> accuracy([0, 1, 1, 2], [0, 1, 2, 2])
    0.75
    """
    y_true, y_pred = _as_numpy(y_true), _as_numpy(y_pred)
    return float((y_true == y_pred).mean()) if len(y_true) else 0.0


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Accuracy of each true class: the diagonal over the row sums (NaN for an absent class).

    This is the same number as per-class recall.

    >>> per_class_accuracy(np.array([[1, 0], [1, 3]])).tolist()
    [1.0, 0.75]
    """
    cm = np.asarray(cm, dtype=np.float64)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / support, np.nan)


@dataclass
class ClassReport:
    precision: np.ndarray  # (C,) of predicted-as-c, share truly c (0 when c is never predicted)
    recall: np.ndarray  # (C,) of truly-c, share predicted c (0 when c never occurs)
    f1: np.ndarray  # (C,) harmonic mean of precision and recall
    support: np.ndarray  # (C,) how many examples of each true class
    macro_precision: float
    macro_recall: float
    macro_f1: float

    def rows(self) -> list[dict]:
        """One dict per class plus a 'macro' row, for a table or CSV."""
        rows = [{"digit": str(c), "precision": float(self.precision[c]), "recall": float(self.recall[c]),
                 "f1": float(self.f1[c]), "support": int(self.support[c])} for c in range(len(self.support))]
        rows.append({"digit": "macro", "precision": self.macro_precision, "recall": self.macro_recall,
                     "f1": self.macro_f1, "support": int(self.support.sum())})
        return rows


def precision_recall_f1(cm: np.ndarray) -> ClassReport:
    """Per-class precision, recall and F1 plus their unweighted (macro) means.

    Matches `sklearn.metrics.precision_recall_fscore_support(..., zero_division=0)`.

    >>> report = precision_recall_f1(np.array([[2, 0], [1, 1]]))
    >>> report.precision.round(3).tolist(), report.recall.tolist()
    ([0.667, 1.0], [1.0, 0.5])
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return ClassReport(precision, recall, f1, support.astype(np.int64),
                       float(precision.mean()), float(recall.mean()), float(f1.mean()))


@dataclass
class Mistakes:
    """Misclassified examples, most confident first (parallel arrays)."""
    index: np.ndarray  # position in the evaluated set
    true_label: np.ndarray
    predicted_label: np.ndarray
    confidence: np.ndarray  # probability the model gave its (wrong) prediction
    top3_labels: np.ndarray  # (n, 3) the three most likely digits
    top3_probabilities: np.ndarray  # (n, 3)

    def __len__(self):
        return len(self.index)

    def filter(self, true_label=None, predicted_label=None, min_confidence=0.0, max_confidence=1.0) -> "Mistakes":
        """The mistakes that match every given condition, order kept."""
        keep = (self.confidence >= min_confidence) & (self.confidence <= max_confidence)
        if true_label is not None:
            keep &= self.true_label == true_label
        if predicted_label is not None:
            keep &= self.predicted_label == predicted_label
        return Mistakes(*(getattr(self, f)[keep] for f in
                          ("index", "true_label", "predicted_label", "confidence",
                           "top3_labels", "top3_probabilities")))


def misclassified(y_true, probabilities) -> Mistakes:
    """The examples whose most likely class is wrong, sorted by confidence, highest first.

    >>> m = misclassified([0, 1, 1], [[0.9, 0.1], [0.8, 0.2], [0.4, 0.6]])
    >>> m.index.tolist(), m.predicted_label.tolist(), [round(float(c), 2) for c in m.confidence]
    ([1], [0], [0.8])
    """
    y_true = _as_numpy(y_true).astype(np.int64)
    probabilities = _as_numpy(probabilities).astype(np.float32)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    confidence = probabilities[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")]
    k = min(3, probabilities.shape[1])
    top = np.argsort(-probabilities[order], axis=1, kind="stable")[:, :k]
    return Mistakes(index=order, true_label=y_true[order], predicted_label=predicted[order],
                    confidence=probabilities[order, predicted[order]],
                    top3_labels=top, top3_probabilities=np.take_along_axis(probabilities[order], top, axis=1))


def top_confusions(cm: np.ndarray, k: int = 3) -> list[dict]:
    """The k largest off-diagonal cells, with the share of the true class they take.

    >>> top_confusions(np.array([[8, 2], [1, 9]]), k=1)
    [{'true': 0, 'predicted': 1, 'count': 2, 'share': 0.2}]
    """
    cm = np.asarray(cm)
    off = cm.astype(np.int64).copy()
    np.fill_diagonal(off, 0)
    support = cm.sum(axis=1)
    flat = np.argsort(-off, axis=None, kind="stable")[:k]
    out = []
    for cell in flat:
        t, p = divmod(int(cell), cm.shape[1])
        if off[t, p] == 0:
            break
        out.append({"true": t, "predicted": p, "count": int(off[t, p]),
                    "share": float(off[t, p] / support[t]) if support[t] else 0.0})
    return out


def misread_as(cm: np.ndarray, digit: int, reported) -> dict:
    """Whether `reported` are the most common wrong readings of `digit` (its row of the matrix).

    Held when every reported digit was misread at least once and at least as often as the
    len(reported)-th most common wrong reading (so a tie does not break it). `yours` lists the
    len(reported) + 1 most common wrong readings, with their counts.

    >>> cm = np.array([[9, 0, 1], [0, 10, 0], [4, 2, 4]])
    >>> misread_as(cm, 2, [0])
    {'digit': 2, 'reported': [0], 'yours': [(0, 4), (1, 2)], 'held': True}
    >>> misread_as(cm, 2, [1])["held"], misread_as(cm, 1, [0])["held"]
    (False, False)
    """
    row = np.asarray(cm)[digit].astype(np.int64).copy()
    row[digit] = -1  # a correct reading is no confusion
    reported = [int(d) for d in reported]
    order = [int(d) for d in np.argsort(-row, kind="stable") if row[d] > 0]
    k = len(reported)
    threshold = row[order[k - 1]] if len(order) >= k else 1
    held = all(row[d] > 0 and row[d] >= threshold for d in reported)
    return {"digit": digit, "reported": reported, "yours": [(d, int(row[d])) for d in order[:k + 1]],
            "held": bool(held)}


def describe_confusions(cm: np.ndarray, k: int = 2) -> str:
    """One sentence naming the most common confusions, e.g. '9 is read as 4 in 1.3% of cases'.

    >>> describe_confusions(np.array([[8, 2], [1, 9]]), k=1)
    'The most common confusion: 0 is read as 1 in 20.0% of cases.'
    """
    items = top_confusions(cm, k)
    if not items:
        return "No confusions: every example was read correctly."
    parts = [f"{c['true']} is read as {c['predicted']} in {100 * c['share']:.1f}% of cases" for c in items]
    head = "The most common confusion" + ("s are" if len(parts) > 1 else ":")
    if len(parts) > 1:
        return f"{head}: " + "; ".join(parts[:-1]) + f" and {parts[-1]}."
    return f"{head} {parts[0]}."


def classification_summary(y_true, probabilities) -> dict:
    """Everything `evaluate` reports, as plain JSON-able numbers."""
    y_true = _as_numpy(y_true)
    predicted = _as_numpy(probabilities).argmax(axis=1)
    cm = confusion_matrix(y_true, predicted)
    report = precision_recall_f1(cm)
    return {
        "accuracy": accuracy(y_true, predicted),
        "per_class_accuracy": [None if np.isnan(v) else float(v) for v in per_class_accuracy(cm)],
        "precision": report.precision.tolist(), "recall": report.recall.tolist(), "f1": report.f1.tolist(),
        "support": report.support.tolist(),
        "macro_precision": report.macro_precision, "macro_recall": report.macro_recall,
        "macro_f1": report.macro_f1,
        "confusion_matrix": cm.tolist(),
    }
