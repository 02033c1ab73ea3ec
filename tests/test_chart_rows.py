"""Tests of mnist_core.chart_rows: chart rows and downsampling.

(Its >>> examples run too: pytest.ini has --doctest-modules.)
"""
import math

from mnist_core.chart_rows import curve_rows, downsample, exploded_loss, first_learned, per_class_rows


def _history(n_batches=50, epochs=2, spe=25):
    batches = [{"step": s, "epoch": 1 + (s - 1) // spe, "total_steps": n_batches, "loss": 2.0 / s,
                "running_accuracy": min(1.0, s / n_batches), "examples_per_second": 1000.0 + s}
               for s in range(1, n_batches + 1)]
    epoch_rows = [{"epoch": e, "step": e * spe, "train_loss": 1.0 / e, "train_accuracy": 0.8, "val_loss": 0.9 / e,
                   "val_accuracy": [0.8, 0.9][e - 1], "per_class_val_accuracy": [0.5 + 0.04 * d + 0.05 * e for d in range(10)],
                   "seconds": 1.5} for e in range(1, epochs + 1)]
    return {"batches": batches, "epochs": epoch_rows}


def test_downsample_keeps_ends_and_bounds_size():
    rows = list(range(1000))
    picked = downsample(rows, 300)
    assert len(picked) <= 300 and picked[0] == 0 and picked[-1] == 999
    assert picked == sorted(picked)
    assert downsample(rows[:5], 300) == rows[:5]


def test_curve_rows_cover_both_splits_and_metrics_with_epoch_positions():
    rows = curve_rows(_history(), spe=25)
    splits = {(r["metric"], r["split"]) for r in rows}
    assert splits == {("loss", "training"), ("accuracy", "training"), ("loss", "validation"),
                      ("accuracy", "validation")}
    validation = [r for r in rows if r["split"] == "validation" and r["metric"] == "accuracy"]
    assert [r["epoch"] for r in validation] == [1.0, 2.0]
    assert [r["value"] for r in validation] == [0.8, 0.9]
    assert max(r["epoch"] for r in rows if r["split"] == "training") == 2.0  # step 50 / 25 steps per epoch


def test_curve_rows_downsample_long_histories():
    rows = curve_rows(_history(n_batches=5000, spe=2500), spe=2500, max_points=200)
    assert len([r for r in rows if r["split"] == "training" and r["metric"] == "loss"]) == 200


def test_curve_rows_drop_nan_and_infinite_values():
    history = {"batches": [{"step": 1, "epoch": 1, "loss": math.nan, "running_accuracy": 0.1},
                           {"step": 2, "epoch": 1, "loss": math.inf, "running_accuracy": 0.1}], "epochs": []}
    rows = curve_rows(history, spe=10)
    assert all(r["metric"] == "accuracy" for r in rows) and len(rows) == 2


def test_per_class_rows_and_first_learned():
    h = _history()
    rows = per_class_rows(h["epochs"])
    assert len(rows) == 20 and {r["digit"] for r in rows} == set(range(10))
    # Digit d reaches 0.9 when 0.5 + 0.04 d + 0.05 e >= 0.9.
    expected = {}
    for e in (1, 2):
        for d in range(10):
            if d not in expected and 0.5 + 0.04 * d + 0.05 * e >= 0.9 - 1e-12:
                expected[d] = e
    assert dict(first_learned(h["epochs"], 0.9)) == expected


def test_exploded_loss_flags_only_losses_far_above_guessing():
    assert exploded_loss({"batches": []}) is None
    assert exploded_loss({"batches": [{"loss": 2.3}]}) is None
    assert exploded_loss({"batches": [{"loss": 1e5}]}) == 1e5
