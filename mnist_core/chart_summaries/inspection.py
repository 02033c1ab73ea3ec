"""Summaries of the "look inside" charts and the dataset's: per-digit scores, two runs digit by digit,
the confusion matrix, one layer's activations, a layer's weights, and the images per digit."""
from __future__ import annotations

import numpy as np

from ..metrics import top_confusions
from ._format import pct, plural


def per_class_summary(values, measure: str = "accuracy") -> str:
    """The worst and best digit of a per-digit bar chart (`values` in [0, 1], one per digit).

    >>> per_class_summary([0.99, 0.995, 0.98, 0.97, 0.98, 0.97, 0.98, 0.97, 0.961, 0.97])
    'Digit 8 is read worst (96.1%) and digit 1 best (99.5%).'
    >>> per_class_summary([0.01, 0.005, 0.039], "error rate")
    'Digit 2 has the highest error rate (3.9%) and digit 1 the lowest (0.5%).'
    """
    values = np.asarray(values, dtype=float).ravel()
    if values.size == 0:
        return "There is no digit to show."
    high, low = int(values.argmax()), int(values.argmin())
    if measure == "accuracy":
        return f"Digit {low} is read worst ({pct(values[low])}) and digit {high} best ({pct(values[high])})."
    return (f"Digit {high} has the highest {measure} ({pct(values[high])}) and digit {low} the lowest "
            f"({pct(values[low])}).")


def compare_runs_summary(first, second, first_name: str, second_name: str, measure: str = "accuracy") -> str:
    """How many digits the second run reads better than the first, and the digit with the biggest gap.

    `first` and `second` are the drawn values per digit (accuracy, or error rate where lower is better).

    >>> compare_runs_summary([0.9, 0.95, 0.99], [0.95, 0.94, 0.99], "This run: a", "Second: b")
    '“Second: b” does better on 1 of 3 digits and worse on 1; the biggest gap is on digit 0 (95% against 90%).'
    >>> compare_runs_summary([0.9, 0.9], [0.95, 0.96], "a", "b")
    '“b” does better on every digit; the biggest gap is on digit 1 (96% against 90%).'
    >>> compare_runs_summary([], [], "a", "b")
    'There is no digit to compare.'
    """
    first, second = np.asarray(first, dtype=float).ravel(), np.asarray(second, dtype=float).ravel()
    if first.size == 0 or first.size != second.size:
        return "There is no digit to compare."
    gains = (second - first) if measure == "accuracy" else (first - second)
    better, worse = int((gains > 1e-9).sum()), int((gains < -1e-9).sum())
    if better == worse == 0:
        return f"“{second_name}” and “{first_name}” score the same on every digit."
    digit = int(np.abs(gains).argmax())
    if better == first.size or worse == first.size:
        tally = f"does {'better' if better else 'worse'} on every digit"
    else:
        tally = f"does better on {better or 'none'} of {plural(first.size, 'digit')} and worse on {worse or 'none'}"
    return (f"“{second_name}” {tally}; "
            f"the biggest gap is on digit {digit} ({pct(second[digit])} against {pct(first[digit])}).")


def confusion_summary(cm) -> str:
    """The share read correctly and the most common mistake of a confusion matrix (rows = true digit).

    >>> confusion_summary(np.array([[50, 0, 0], [0, 45, 5], [1, 0, 49]]))
    'Of 150 images, 96% are read correctly; the most common mistake is a 1 read as 2 (5 images).'
    >>> confusion_summary(np.zeros((10, 10), dtype=int))
    'The matrix is empty: no image was read.'
    """
    cm = np.asarray(cm)
    total = int(cm.sum()) if cm.size else 0
    if total == 0:
        return "The matrix is empty: no image was read."
    text = f"Of {plural(total, 'image')}, {pct(np.trace(cm) / total)} are read correctly"
    top = [c for c in top_confusions(cm, k=1) if c["count"] > 0]
    if not top:
        return text + ": there is no mistake."
    c = top[0]
    return text + f"; the most common mistake is a {c['true']} read as {c['predicted']} ({plural(c['count'], 'image')})."


def activation_summary(label: str, values) -> str:
    """One layer's bars for one input: the top digits of the output, or how many hidden units fire.

    >>> activation_summary("Probabilities (softmax)", [0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.97, 0.0, 0.02])
    'The model gives digit 7 the highest probability (97%), then digit 9 (2%).'
    >>> activation_summary("Hidden layer 1 after ReLU (4 units)", [0.0, 1.5, 0.2, 0.0])
    '2 of 4 units are active (above 0); unit 1 is the strongest (1.50).'
    """
    values = np.asarray(values, dtype=float).ravel()
    if values.size == 0:
        return "This layer has no values."
    order = np.argsort(-values, kind="stable")
    top, runner_up = int(order[0]), int(order[1]) if values.size > 1 else None
    if values.size == 10:
        if label.startswith("Probabilities"):
            text = f"The model gives digit {top} the highest probability ({pct(values[top])})"
            return text + (f", then digit {runner_up} ({pct(values[runner_up])})." if runner_up is not None else ".")
        return (f"Digit {top} gets the highest score ({values[top]:.1f}), "
                f"then digit {runner_up} ({values[runner_up]:.1f}).")
    active = int((values > 0).sum())
    return (f"{active:,} of {plural(values.size, 'unit')} are active (above 0); unit {top} is the strongest "
            f"({values[top]:.2f}).")


def weight_histogram_summary(counts, edges) -> str:
    """Where the middle 90% of a layer's weights lie, read off its histogram (bins `edges[i]..edges[i+1]`).

    >>> weight_histogram_summary([5, 90, 5], [-0.3, -0.1, 0.1, 0.3])
    'Of 100 weights, 90% or more lie between -0.100 and +0.100; the tallest bar is around +0.000.'
    >>> weight_histogram_summary([], [0.0])
    'This layer has no weights.'
    """
    counts, edges = np.asarray(counts, dtype=float), np.asarray(edges, dtype=float)
    total = counts.sum() if counts.size else 0.0
    if total <= 0 or edges.size != counts.size + 1:
        return "This layer has no weights."
    cumulative = np.cumsum(counts) / total
    low = int(np.searchsorted(cumulative, 0.05, side="right"))  # first bin past the lowest 5%
    high = int(np.searchsorted(cumulative, 0.95 - 1e-12))  # the bin in which 95% is reached
    tallest = int(counts.argmax())
    return (f"Of {plural(int(total), 'weight')}, 90% or more lie between {edges[low]:+.3f} and {edges[high + 1]:+.3f}; "
            f"the tallest bar is around {(edges[tallest] + edges[tallest + 1]) / 2:+.3f}.")


def class_counts_summary(train_counts, test_counts=None) -> str:
    """The digits with the most and the fewest training images (and the total).

    >>> class_counts_summary([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949], [1000] * 10)
    'Digit 1 has the most training images (6,742) and digit 5 the fewest (5,421), of 60,000 (and 10,000 test images).'
    >>> class_counts_summary([])
    'The dataset has no images.'
    """
    counts = [int(c) for c in train_counts]
    if not counts or sum(counts) == 0:
        return "The dataset has no images."
    most = max(range(len(counts)), key=counts.__getitem__)
    fewest = min(range(len(counts)), key=counts.__getitem__)
    tests = f" (and {plural(sum(test_counts), 'test image')})" if test_counts else ""
    return (f"Digit {most} has the most training images ({counts[most]:,}) and digit {fewest} the fewest "
            f"({counts[fewest]:,}), of {sum(counts):,}{tests}.")
