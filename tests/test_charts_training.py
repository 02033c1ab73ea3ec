"""Tests of ui/charts/training.py: the cached Vega-Lite specs of the Train and Run history pages."""
import json

import altair as alt

from ui.charts import training
from ui.charts.palette import BLUE, HOVER_RULE, ORANGE, PALETTE, SEQUENTIAL_SCHEME


def _rows(last_epoch=3.0, run=None):
    rows = []
    for i in range(1, 11):
        epoch = last_epoch * i / 10
        for metric, value in (("loss", 1.0 / i), ("accuracy", 0.5 + 0.04 * i)):
            rows.append({"epoch": epoch, "step": i * 10, "metric": metric, "split": "training", "value": value})
            if i % 5 == 0:
                rows.append({"epoch": epoch, "step": i * 10, "metric": metric, "split": "validation", "value": value})
    return [dict(r, run=run) for r in rows] if run else rows


def _find(node, key):
    """Every value of `key` anywhere in a spec."""
    if isinstance(node, dict):
        yield from ([node[key]] if key in node else [])
        for value in node.values():
            yield from _find(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _find(item, key)


def _valid(spec: dict, data) -> None:
    """The spec with its data is a chart Vega-Lite accepts (Altair validates against the schema)."""
    alt.Chart.from_dict({**spec, "data": {"values": json.loads(data.to_json(orient="records"))}}, validate=True)


def test_training_curves_spec_draws_both_splits_of_one_metric_in_the_palette_colours():
    rows = _rows()
    for metric in ("loss", "accuracy"):
        data, spec = training.training_curves_spec(rows, metric)
        assert set(data["metric"]) == {metric} and set(data["split"]) == {"training", "validation"}
        assert len(data) == sum(1 for r in rows if r["metric"] == metric)
        scales = [s for s in _find(spec, "scale") if "range" in s and "domain" in s]
        assert scales and all(s == {"domain": ["training", "validation"], "range": [BLUE, ORANGE]} for s in scales)
        assert HOVER_RULE in json.dumps(spec)
        assert spec["title"] == training.METRIC_TITLES[metric]
        assert "datasets" not in spec and {"name": "empty"} not in list(_find(spec, "data"))
        _valid(spec, data)


def test_training_curves_spec_is_built_once_per_shape():
    training._training_curves_spec.cache_clear()
    first = training.training_curves_spec(_rows(3.0), "loss")[1]
    second = training.training_curves_spec(_rows(5.0), "loss")[1]  # other data, same shape
    assert first == second
    assert training._training_curves_spec.cache_info().hits == 1
    early = training.training_curves_spec(_rows(1.0), "loss")[1]  # under two epochs: tenth-of-an-epoch ticks
    assert early != first and training._training_curves_spec.cache_info().misses == 2


def test_runs_overlay_spec_gives_each_run_its_palette_colour_in_order():
    rows = _rows(run="b · second") + _rows(run="a · first")
    data, spec = training.runs_overlay_spec(rows, "accuracy", "validation")
    assert list(dict.fromkeys(data["run"])) == ["b · second", "a · first"]
    assert list(data.drop_duplicates("run")["order"]) == [0, 1]
    assert set(data["split"]) == {"validation"} and set(data["metric"]) == {"accuracy"}
    assert {"range": PALETTE} in list(_find(spec, "scale"))
    assert "b · second" not in json.dumps(spec)  # the run names are data, so one spec serves any runs
    assert spec["title"] == "Validation accuracy of the chosen runs"
    _valid(spec, data)


def test_per_class_heatmap_spec_starts_its_colours_near_the_worst_digit():
    epochs = [{"epoch": e, "per_class_val_accuracy": [0.7 + 0.02 * d + 0.05 * e for d in range(10)]}
              for e in (1, 2)]
    data, spec = training.per_class_heatmap_spec(epochs)
    assert len(data) == 20 and set(data["digit"]) == set(range(10))
    scales = [s for s in _find(spec, "scale") if s.get("scheme")]
    assert scales == [{"scheme": SEQUENTIAL_SCHEME, "domain": [0.7, 1.0], "clamp": True}]  # worst cell 0.75
    assert any(layer["mark"]["type"] == "text" for layer in spec["layer"])  # few epochs: cells get labels
    many = [{"epoch": e, "per_class_val_accuracy": [0.95] * 10} for e in range(1, 14)]
    assert len(training.per_class_heatmap_spec(many)[1]["layer"]) == 1  # too many columns for labels
    _valid(spec, data)
