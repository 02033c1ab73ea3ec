"""Tests of mnist_core.metrics: every function against a count by hand, and against scikit-learn.

Convention checked throughout: rows of a confusion matrix are the true class,
columns the predicted class.
"""
import json

import numpy as np
import pytest
import torch

from mnist_core.metrics import (ClassReport, accuracy, classification_summary, confusion_matrix,
                                describe_confusions, misclassified, per_class_accuracy, precision_recall_f1,
                                top_confusions)
from preconditions import require_module

sklearn_metrics = require_module("sklearn.metrics", "scikit-learn is missing (bash scripts/install.sh)")

# A small case counted by hand: 3 classes, 8 examples.
Y_TRUE = [0, 0, 0, 1, 1, 2, 2, 2]
Y_PRED = [0, 0, 1, 1, 2, 2, 2, 0]
# true 0: read 0,0,1 -> row [2, 1, 0]; true 1: read 1,2 -> [0, 1, 1]; true 2: read 2,2,0 -> [1, 0, 2]
HAND_CM = [[2, 1, 0], [0, 1, 1], [1, 0, 2]]


@pytest.fixture
def random_predictions():
    """1,000 labels and predictions that are right about 70% of the time, with all ten digits present."""
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, 1000)
    y_pred = np.where(rng.random(1000) < 0.7, y_true, rng.integers(0, 10, 1000))
    return y_true, y_pred


# ------------------------------------------------------------------ confusion matrix and accuracy
def test_confusion_matrix_matches_a_hand_count():
    assert confusion_matrix(Y_TRUE, Y_PRED, num_classes=3).tolist() == HAND_CM


def test_confusion_matrix_rows_are_true_and_columns_predicted():
    cm = confusion_matrix([3], [5])
    assert cm[3, 5] == 1 and cm.sum() == 1 and cm.shape == (10, 10)


def test_confusion_matrix_matches_sklearn(random_predictions):
    y_true, y_pred = random_predictions
    expected = sklearn_metrics.confusion_matrix(y_true, y_pred, labels=range(10))
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), expected)


def test_confusion_matrix_takes_torch_tensors():
    cm = confusion_matrix(torch.tensor(Y_TRUE), torch.tensor(Y_PRED), num_classes=3)
    assert cm.tolist() == HAND_CM


def test_confusion_matrix_rejects_different_lengths():
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix([0, 1], [0])


def test_accuracy_by_hand_and_against_sklearn(random_predictions):
    assert accuracy(Y_TRUE, Y_PRED) == 5 / 8
    assert accuracy([], []) == 0.0
    y_true, y_pred = random_predictions
    assert accuracy(y_true, y_pred) == pytest.approx(sklearn_metrics.accuracy_score(y_true, y_pred))


# ------------------------------------------------------------------ per-class scores
def test_per_class_accuracy_is_the_diagonal_over_row_sums():
    np.testing.assert_allclose(per_class_accuracy(np.array(HAND_CM)), [2 / 3, 1 / 2, 2 / 3])


def test_per_class_accuracy_is_nan_for_a_class_that_never_occurs():
    values = per_class_accuracy(confusion_matrix([0, 0, 1], [0, 1, 1], num_classes=3))
    assert values[0] == 0.5 and values[1] == 1.0 and np.isnan(values[2])


def test_per_class_accuracy_equals_sklearn_recall(random_predictions):
    y_true, y_pred = random_predictions
    expected = sklearn_metrics.recall_score(y_true, y_pred, labels=range(10), average=None)
    np.testing.assert_allclose(per_class_accuracy(confusion_matrix(y_true, y_pred)), expected)


def test_precision_recall_f1_by_hand():
    report = precision_recall_f1(np.array(HAND_CM))
    # Column sums (times predicted): 0 -> 3, 1 -> 2, 2 -> 3.
    np.testing.assert_allclose(report.precision, [2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(report.recall, [2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(report.f1, [2 / 3, 1 / 2, 2 / 3])
    assert report.support.tolist() == [3, 2, 3]
    assert report.macro_f1 == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)


def test_precision_is_zero_for_a_class_never_predicted():
    report = precision_recall_f1(confusion_matrix([0, 1], [0, 0], num_classes=2))
    assert report.precision.tolist() == [0.5, 0.0]
    assert report.recall.tolist() == [1.0, 0.0]
    assert report.f1[1] == 0.0


def test_precision_recall_f1_match_sklearn(random_predictions):
    y_true, y_pred = random_predictions
    report = precision_recall_f1(confusion_matrix(y_true, y_pred))
    precision, recall, f1, support = sklearn_metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=range(10), zero_division=0)
    np.testing.assert_allclose(report.precision, precision)
    np.testing.assert_allclose(report.recall, recall)
    np.testing.assert_allclose(report.f1, f1)
    np.testing.assert_array_equal(report.support, support)
    assert report.macro_f1 == pytest.approx(sklearn_metrics.f1_score(y_true, y_pred, average="macro"))
    assert report.macro_precision == pytest.approx(
        sklearn_metrics.precision_score(y_true, y_pred, average="macro", zero_division=0))


def test_class_report_rows_have_one_row_per_class_and_a_macro_row():
    rows = precision_recall_f1(np.array(HAND_CM)).rows()
    assert [r["digit"] for r in rows] == ["0", "1", "2", "macro"]
    assert rows[-1]["support"] == 8
    assert rows[1]["recall"] == 0.5
    assert isinstance(precision_recall_f1(np.array(HAND_CM)), ClassReport)


# ------------------------------------------------------------------ mistakes
PROBABILITIES = np.array([
    [0.7, 0.2, 0.1],  # true 0, read 0: right
    [0.1, 0.3, 0.6],  # true 0, read 2 at 0.6
    [0.05, 0.05, 0.9],  # true 1, read 2 at 0.9: the most confident mistake
    [0.2, 0.7, 0.1],  # true 1, read 1: right
    [0.5, 0.1, 0.4],  # true 2, read 0 at 0.5
], dtype=np.float32)
PROB_TRUE = [0, 0, 1, 1, 2]


def test_misclassified_keeps_only_mistakes_most_confident_first():
    mistakes = misclassified(PROB_TRUE, PROBABILITIES)
    assert len(mistakes) == 3
    assert mistakes.index.tolist() == [2, 1, 4]
    assert mistakes.true_label.tolist() == [1, 0, 2]
    assert mistakes.predicted_label.tolist() == [2, 2, 0]
    np.testing.assert_allclose(mistakes.confidence, [0.9, 0.6, 0.5])


def test_misclassified_top3_is_sorted_by_probability():
    mistakes = misclassified(PROB_TRUE, PROBABILITIES)
    assert mistakes.top3_labels.tolist() == [[2, 0, 1], [2, 1, 0], [0, 2, 1]]
    np.testing.assert_allclose(mistakes.top3_probabilities[0], [0.9, 0.05, 0.05])
    assert (np.diff(mistakes.top3_probabilities, axis=1) <= 0).all()
    # The first of the top 3 is always the (wrong) prediction.
    assert (mistakes.top3_labels[:, 0] == mistakes.predicted_label).all()


def test_misclassified_counts_agree_with_the_confusion_matrix(random_predictions):
    y_true, _ = random_predictions
    rng = np.random.default_rng(1)
    probabilities = rng.dirichlet(np.ones(10), size=len(y_true))
    mistakes = misclassified(y_true, probabilities)
    cm = confusion_matrix(y_true, probabilities.argmax(1))
    assert len(mistakes) == cm.sum() - np.trace(cm)
    assert (np.diff(mistakes.confidence) <= 0).all()
    # Every mistake of cell (9, 4) is found by filtering.
    assert len(mistakes.filter(true_label=9, predicted_label=4)) == cm[9, 4]


def test_misclassified_with_no_mistakes_is_empty():
    mistakes = misclassified([0, 1], [[0.9, 0.1], [0.2, 0.8]])
    assert len(mistakes) == 0 and mistakes.top3_labels.shape == (0, 2)


def test_mistakes_filter_by_class_and_confidence_keeps_order():
    mistakes = misclassified(PROB_TRUE, PROBABILITIES)
    assert mistakes.filter(predicted_label=2).index.tolist() == [2, 1]
    assert mistakes.filter(true_label=2).index.tolist() == [4]
    assert mistakes.filter(min_confidence=0.55, max_confidence=0.95).index.tolist() == [2, 1]
    assert mistakes.filter(true_label=0, predicted_label=0).index.tolist() == []


# ------------------------------------------------------------------ confusions in words
def test_top_confusions_by_hand():
    cm = np.array([[50, 0, 5], [2, 40, 0], [0, 8, 30]])
    top = top_confusions(cm, k=2)
    assert top == [{"true": 2, "predicted": 1, "count": 8, "share": 8 / 38},
                   {"true": 0, "predicted": 2, "count": 5, "share": 5 / 55}]


def test_top_confusions_stops_at_the_last_nonzero_cell():
    cm = np.array([[5, 1], [0, 5]])
    assert top_confusions(cm, k=5) == [{"true": 0, "predicted": 1, "count": 1, "share": 1 / 6}]
    assert top_confusions(np.eye(3, dtype=int) * 4, k=3) == []


def test_top_confusions_agree_with_sklearn_counts(random_predictions):
    y_true, y_pred = random_predictions
    cm = sklearn_metrics.confusion_matrix(y_true, y_pred, labels=range(10))
    off = cm.copy()
    np.fill_diagonal(off, 0)
    top = top_confusions(confusion_matrix(y_true, y_pred), k=5)
    assert [c["count"] for c in top] == sorted(off.ravel(), reverse=True)[:5]
    assert all(c["share"] == pytest.approx(cm[c["true"], c["predicted"]] / cm[c["true"]].sum()) for c in top)


def test_describe_confusions_names_the_most_common_ones():
    cm = np.zeros((10, 10), dtype=int)
    np.fill_diagonal(cm, 1000)
    cm[9, 4], cm[9, 9] = 13, 987  # 13 of 1,000 nines read as 4 -> 1.3%
    cm[7, 2] = 10
    assert describe_confusions(cm, k=1) == "The most common confusion: 9 is read as 4 in 1.3% of cases."
    assert describe_confusions(cm, k=2) == ("The most common confusions are: 9 is read as 4 in 1.3% of cases "
                                            "and 7 is read as 2 in 1.0% of cases.")


def test_describe_confusions_without_any_mistake():
    assert describe_confusions(np.eye(10, dtype=int)) == "No confusions: every example was read correctly."


def test_classification_summary_is_consistent_and_json_ready(random_predictions):
    y_true, _ = random_predictions
    probabilities = np.random.default_rng(2).dirichlet(np.ones(10), size=len(y_true))
    summary = classification_summary(y_true, probabilities)
    json.dumps(summary)  # plain numbers only
    cm = np.array(summary["confusion_matrix"])
    assert cm.sum() == len(y_true)
    assert summary["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    np.testing.assert_allclose(summary["recall"], summary["per_class_accuracy"])
    assert summary["macro_f1"] == pytest.approx(
        sklearn_metrics.f1_score(y_true, probabilities.argmax(1), average="macro"))
