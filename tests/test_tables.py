"""Tests of mnist_core.tables: the confusion matrix and the per-class table as CSV, read back."""
import csv
import io

import numpy as np
import pytest

from mnist_core import tables
from mnist_core.metrics import per_class_accuracy, precision_recall_f1


def test_confusion_matrix_csv_reads_back():
    cm = np.arange(100).reshape(10, 10)
    rows = list(csv.reader(io.StringIO(tables.confusion_matrix_csv(cm))))
    assert rows[0] == ["true \\ predicted"] + [str(d) for d in range(10)]
    assert np.array([[int(v) for v in row[1:]] for row in rows[1:]]).tolist() == cm.tolist()


def test_class_table_rows_add_accuracy_and_export_as_csv():
    cm = np.array([[8, 2], [1, 9]])
    rows = tables.class_table_rows(precision_recall_f1(cm), per_class_accuracy(cm))
    assert [r["accuracy"] for r in rows] == [0.8, 0.9, pytest.approx(0.85)]
    table = list(csv.DictReader(io.StringIO(tables.csv_text(rows))))
    assert [r["digit"] for r in table] == ["0", "1", "macro"]
    assert float(table[0]["precision"]) == pytest.approx(8 / 9)
