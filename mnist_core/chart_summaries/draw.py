"""Summaries of the Draw page's charts: what the model reads in a drawing, how it reads the class's
drawings digit by digit, and where a drawing lands on the map of the hidden layer."""
from __future__ import annotations

from collections import Counter

import numpy as np

from ._format import pct, plural


def probability_summary(probabilities) -> str:
    """The digit read, with its probability, and the runner-up.

    >>> probability_summary([0.0, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.92, 0.03, 0.0])
    'The model reads a 7 with 92% probability; next comes 1 with 5%.'
    >>> probability_summary([])
    'There is no reading yet.'
    """
    values = np.asarray(probabilities, dtype=float).ravel()
    if values.size == 0:
        return "There is no reading yet."
    order = np.argsort(-values, kind="stable")
    top = int(order[0])
    text = f"The model reads a {top} with {pct(values[top])} probability"
    if values.size > 1:
        text += f"; next comes {int(order[1])} with {pct(values[order[1]])}"
    return text + "."


def per_digit_summary(per_digit_accuracy: list, support: list[int]) -> str:
    """The digits of the class's drawings read worst and best (digits nobody drew are left out).

    >>> per_digit_summary([1.0, 0.6, None] + [None] * 7, [10, 5, 0] + [0] * 7)
    'Of the 15 drawings, 1s are read worst (3 of 5, 60%) and 0s best (10 of 10, 100%).'
    >>> per_digit_summary([None] * 10, [0] * 10)
    'Nobody has drawn a digit yet.'
    """
    drawn = [(d, acc, n) for d, (acc, n) in enumerate(zip(per_digit_accuracy, support)) if n and acc is not None]
    if not drawn:
        return "Nobody has drawn a digit yet."

    def part(item):
        digit, acc, n = item
        return f"{round(acc * n)} of {n}, {pct(acc)}"

    total = sum(n for _, _, n in drawn)
    if len(drawn) == 1:
        return f"Only {drawn[0][0]}s have been drawn: {part(drawn[0])} read correctly."
    worst, best = min(drawn, key=lambda t: t[1]), max(drawn, key=lambda t: t[1])
    return (f"Of the {plural(total, 'drawing')}, {worst[0]}s are read worst ({part(worst)}) and "
            f"{best[0]}s best ({part(best)}).")


def hidden_map_summary(points, labels, x: float, y: float, k: int = 5) -> str:
    """Which digit's test images sit nearest the drawing on the hidden-layer map.

    >>> points = [[0, 0], [0, 1], [1, 0], [9, 9], [9, 8], [8, 9]]
    >>> hidden_map_summary(points, [7, 7, 1, 3, 3, 3], 0.2, 0.2, k=3)
    'Your drawing sits among the 7s: 2 of its 3 nearest test images are 7s.'
    >>> hidden_map_summary([], [], 0.0, 0.0)
    'The map has no test images.'
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    labels = np.asarray(labels).ravel()
    if len(points) == 0 or len(labels) != len(points):
        return "The map has no test images."
    nearest = np.argsort(np.hypot(points[:, 0] - x, points[:, 1] - y), kind="stable")[:k]
    digit, count = Counter(int(labels[i]) for i in nearest).most_common(1)[0]
    return (f"Your drawing sits among the {digit}s: {count} of its {plural(len(nearest), 'nearest test image')} "
            f"{'is a' if count == 1 else 'are'} {digit}{'' if count == 1 else 's'}.")
