"""Tables to download: the per-class table and the confusion matrix as rows and CSV text.

Convention (as in mnist_core.metrics): rows of a confusion matrix are the true digit,
columns the predicted one.
"""
from __future__ import annotations

import csv
import io

import numpy as np

from .metrics import ClassReport


def class_table_rows(report: ClassReport, accuracy_per_class: np.ndarray) -> list[dict]:
    """report.rows() with each digit's accuracy added (the macro row gets the mean accuracy)."""
    rows = report.rows()
    accuracy_per_class = np.asarray(accuracy_per_class, dtype=np.float64)
    for row, value in zip(rows, list(accuracy_per_class) + [float(np.nanmean(accuracy_per_class))]):
        row["accuracy"] = None if np.isnan(value) else float(value)
    return rows


def csv_text(rows: list[dict]) -> str:
    """Rows of equal keys as CSV text (header first).

    >>> csv_text([{"a": 1, "b": 2}])
    'a,b\\r\\n1,2\\r\\n'
    """
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def confusion_matrix_csv(cm: np.ndarray) -> str:
    """The confusion matrix as CSV: one row per true digit, one column per predicted digit.

    >>> confusion_matrix_csv(np.array([[1, 0], [2, 3]])).splitlines()
    ['true \\\\ predicted,0,1', '0,1,0', '1,2,3']
    """
    cm = np.asarray(cm)
    rows = [{"true \\ predicted": str(t), **{str(p): int(cm[t, p]) for p in range(cm.shape[1])}}
            for t in range(cm.shape[0])]
    return csv_text(rows).replace("\r\n", "\n")
