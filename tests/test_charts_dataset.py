"""Tests of ui/charts/dataset.py: the Home page's class-counts chart and its cached spec."""
from ui.charts import dataset
from ui.charts.palette import BLUE


def _rows(spec: dict) -> list[dict]:
    (rows,) = spec["datasets"].values()
    return rows


def test_the_cached_spec_is_the_altair_chart_with_its_data():
    train, test = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949], [980] * 10
    spec = dataset.class_counts_spec(train, test)
    assert spec == dataset.class_counts_chart(train, test).to_dict()
    assert [r["training images"] for r in _rows(spec)] == train and [r["test images"] for r in _rows(spec)] == test
    assert spec["mark"]["color"] == BLUE and spec["title"] == "Training images per digit"


def test_it_is_built_once_per_dataset_and_callers_cannot_spoil_the_cache():
    dataset._class_counts_spec.cache_clear()
    first = dataset.class_counts_spec([3, 1, 2])
    first["title"] = "changed by a caller"
    second = dataset.class_counts_spec([3, 1, 2])
    assert second["title"] == "Training images per digit"
    assert dataset._class_counts_spec.cache_info().hits == 1
    assert [r["test images"] for r in _rows(dataset.class_counts_spec([3, 1, 2], [1, 1, 1]))] == [1, 1, 1]
