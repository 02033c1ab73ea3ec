"""Tests of ui/charts/experiments.py and ui/charts/draw.py: the Experiments and Draw pages' charts."""
from types import SimpleNamespace

import numpy as np

from mnist_core.config import CHANCE_LOSS
from ui.charts import draw, experiments
from ui.charts.palette import BLUE, ORANGE, PALETTE, TEXT, categorical


def _summary(label, group="", accuracy=0.9, seeds=1, parameters=1000, value=None, status="completed"):
    return {"label": label, "group": group, "value": value if value is not None else label, "seeds": seeds,
            "test_accuracy": accuracy, "test_accuracy_min": accuracy - 0.01, "test_accuracy_max": accuracy + 0.01,
            "status": status, "parameters": parameters}


def _row(label, losses, seed=0, group="", val=None, test=None):
    batches = [{"step": s, "epoch": 1 + (s - 1) // 10, "loss": loss, "running_accuracy": 0.5}
               for s, loss in enumerate(losses, start=1)]
    epochs = [{"epoch": e, "step": 10 * e, "train_loss": losses[10 * e - 1], "val_loss": (val or [None] * 9)[e - 1]}
              for e in range(1, len(losses) // 10 + 1)]
    return SimpleNamespace(label=label, seed=seed, group=group, steps_per_epoch=10,
                           history={"batches": batches, "epochs": epochs}, test_loss_curve=test or [])


def _layers(chart):
    return chart.to_dict()["layer"]


def test_accuracy_bars_colour_each_group_and_add_whiskers_only_over_seeds():
    one = [_summary("0.1"), _summary("0.01", accuracy=0.8, status="diverged")]
    spec = experiments.accuracy_bars(one).to_dict()
    bars, labels = spec["layer"]
    assert bars["encoding"]["color"]["scale"] == {"domain": ["all"], "range": PALETTE[:1]}
    assert bars["encoding"]["color"]["legend"] is None
    assert [d["text"] for d in spec["datasets"][spec["data"]["name"]]] == ["90.0%", "diverged"]
    groups = [_summary("16", "mlp", seeds=3), _summary("16", "cnn", seeds=3)]
    layers = _layers(experiments.accuracy_bars(groups))
    assert layers[0]["encoding"]["color"]["scale"]["range"] == PALETTE[:2]
    assert len(layers) == 3 and layers[2]["mark"] == {"type": "rule", "color": TEXT}
    assert experiments.bars_height(1) == 100 + 26 * 2 and experiments.bars_height(5, legend=True) == 100 + 130 + 40


def test_loss_overlay_draws_the_first_seed_and_clips_wild_losses():
    rows = [_row("calm", [1.0] * 20), _row("wild", [1.0] * 10 + [50.0] * 10), _row("calm", [0.1] * 20, seed=1)]
    spec = experiments.loss_overlay(rows, "Training loss").to_dict()
    values = spec["datasets"][spec["data"]["name"]]
    assert {v["run"] for v in values} == {"calm", "wild"} and min(v["loss"] for v in values) == 1.0  # seed 0 only
    assert max(v["loss"] for v in values) == experiments.LOSS_CAP == 2 * CHANCE_LOSS
    assert spec["encoding"]["color"]["scale"]["range"] == categorical(2)
    assert "drawn at the top edge" in spec["title"]["subtitle"]
    first_epoch = experiments.loss_overlay(rows, "t", epochs=1).to_dict()
    assert max(v["epoch"] for v in first_epoch["datasets"][first_epoch["data"]["name"]]) <= 1
    assert experiments.loss_overlay([_row("empty", [])], "t") is None


def test_epoch_curves_pair_training_and_validation_loss_per_run():
    rows = [_row("a", [1.0] * 20, val=[0.9, 0.8]), _row("b", [2.0] * 20, val=[1.9, None])]
    spec = experiments.epoch_curves(rows, "final_val", "Training vs validation loss").to_dict()
    values = spec["datasets"][spec["data"]["name"]]
    assert sorted((v["run"], v["split"], v["epoch"]) for v in values) == [
        ("a", "training", 1), ("a", "training", 2), ("a", "validation", 1), ("a", "validation", 2),
        ("b", "training", 1), ("b", "training", 2), ("b", "validation", 1)]
    assert spec["encoding"]["strokeDash"]["scale"]["domain"] == ["training", "validation"]


def test_parameters_chart_and_live_loss_use_the_palette():
    summaries = [_summary("16", value=(16,), parameters=12_730), _summary("16 16", value=(16, 16), parameters=13_002)]
    points = _layers(experiments.parameters_chart(summaries))[0]
    assert points["encoding"]["color"]["scale"] == {"domain": ["1 hidden layer", "2 hidden layers"],
                                                    "range": PALETTE[:2]}
    live = experiments.live_loss_chart([{"step": 1, "loss": 99.0}, {"step": 2, "loss": float("nan")}], "lr 1").to_dict()
    assert live["mark"]["color"] == BLUE and live["title"] == "Now training: lr 1"
    assert live["datasets"][live["data"]["name"]] == [{"step": 1, "loss": experiments.LOSS_CAP}]
    assert experiments.percent_text(None) == "–" and experiments.percent_text(0.9234) == "92.3%"


def test_probability_chart_marks_the_most_probable_digit_in_orange():
    probabilities = list(np.full(10, 0.05))
    probabilities[7] = 0.55
    bars, text = _layers(draw.probability_chart(probabilities))
    assert bars["encoding"]["color"]["scale"] == {"domain": ["most probable", "other"], "range": [ORANGE, BLUE]}
    spec = draw.probability_chart(probabilities).to_dict()
    rows = spec["datasets"][spec["data"]["name"]]
    assert [r["top"] for r in rows].count("most probable") == 1 and rows[7]["top"] == "most probable"
    assert rows[7]["label"] == "55%"


def test_per_digit_chart_says_how_many_examples_each_bar_stands_on():
    report = SimpleNamespace(per_digit_accuracy=[0.5] + [None] * 9, support=[4] + [0] * 9)
    spec = draw.per_digit_chart(report).to_dict()
    rows = spec["datasets"][spec["data"]["name"]]
    assert rows[0]["label"] == "2/4" and rows[1]["label"] == "none" and rows[1]["accuracy"] == 0.0
    assert spec["layer"][0]["mark"]["color"] == BLUE
