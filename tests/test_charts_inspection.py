"""Tests of ui/charts/inspection.py: the Confusion matrix, Per-class and Weights pages' charts."""
import numpy as np

from mnist_core.inspection import LayerActivation, WeightHistogram
from ui.charts import inspection
from ui.charts.palette import BACKGROUND, BLUE, ORANGE, PALE_BLUE, TEXT, VERMILLION


def _values(spec):
    return spec["datasets"][spec["data"]["name"]]


def test_confusion_frame_rows_are_true_digits_and_shares_are_of_the_true_digit():
    cm = np.array([[8, 2], [1, 9]])
    frame = inspection.confusion_frame(cm)
    by_cell = {(t, p): row for t, p, row in zip(frame["true"], frame["predicted"], frame.to_dict("records"))}
    assert by_cell[(0, 1)]["count"] == 2 and by_cell[(0, 1)]["share"] == 0.2  # 2 of the 10 true zeros
    assert by_cell[(1, 0)]["error_share"] == 0.1 and by_cell[(1, 1)]["error_share"] == 0.0


def test_confusion_heatmap_paints_the_diagonal_pale_blue_and_names_its_selection():
    spec = inspection.confusion_heatmap(np.eye(10, dtype=int) * 9 + 1).to_dict()
    cells, mistakes, text = spec["layer"]
    assert cells["encoding"]["color"] == {"condition": [{"test": "datum.correct", "value": PALE_BLUE}],
                                          "value": BACKGROUND}
    assert text["encoding"]["color"]["value"] == TEXT
    assert [p["name"] for p in spec["params"]] == [inspection.CELL_SELECTION]  # Altair lifts it to the top
    assert mistakes["encoding"]["color"]["scale"]["scheme"] == "oranges"


def test_per_class_bar_chart_marks_the_worst_digit():
    accuracy = np.linspace(0.9, 0.99, 10)
    accuracy[4] = 0.5
    spec = inspection.per_class_bar_chart(accuracy).to_dict()
    rows = _values(spec)
    assert [r["note"] for r in rows].count("worst") == 1 and rows[4]["note"] == "worst"
    colour = spec["layer"][0]["encoding"]["color"]
    assert colour["condition"]["value"] == VERMILLION and colour["value"] == BLUE
    errors = _values(inspection.per_class_bar_chart(1 - accuracy, "error").to_dict())
    assert errors[4]["note"] == "worst"


def test_compare_runs_chart_keeps_the_two_runs_in_order_and_colours():
    spec = inspection.compare_runs_chart(np.full(10, 0.9), np.full(10, 0.8), "first", "second").to_dict()
    assert spec["encoding"]["color"]["scale"] == {"range": [BLUE, ORANGE]}
    assert spec["encoding"]["color"]["sort"] == ["first", "second"] and len(_values(spec)) == 20


def test_activation_chart_marks_the_winning_digit_and_histogram_marks_zero():
    values = np.zeros(10)
    values[3] = 0.9
    bars = inspection.activation_chart(LayerActivation("Probabilities", values)).to_dict()["layer"][0]
    assert bars["encoding"]["color"] == {"condition": [{"test": "datum.unit == '3'", "value": VERMILLION}],
                                         "value": BLUE}
    histogram = WeightHistogram("w", np.array([1, 2]), np.array([-1.0, 0.0, 1.0]), 3, 0.0, 0.5)
    bars, zero = inspection.weight_histogram_chart(histogram).to_dict()["layer"]
    assert bars["mark"]["color"] == BLUE and zero["mark"]["color"] == VERMILLION
