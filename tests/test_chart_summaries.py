"""Unit tests of mnist_core.chart_summaries: each chart's one-sentence summary, on several cases and on empty data."""
from types import SimpleNamespace

import numpy as np
import pytest

from mnist_core import chart_summaries as cs
from mnist_core.experiments import RunRow
from mnist_core.metrics import confusion_matrix


def run_row(label, seed=0, batches=(), epochs=(), test_loss_curve=(), steps_per_epoch=2):
    return RunRow("s", 0, label, "", "lr", 0, seed, "torch", "MLP", "finished", steps_per_epoch=steps_per_epoch,
                  history={"batches": [{"step": i + 1, "loss": v} for i, v in enumerate(batches)],
                           "epochs": list(epochs)},
                  test_loss_curve=list(test_loss_curve))


def test_the_package_keeps_the_old_module_s_imports():
    from mnist_core.chart_summaries import board_summary, curve_summary, guesses_summary, overlay_summary
    assert curve_summary([{"epoch": 1, "val_accuracy": 0.5}]) == "Validation accuracy reached 50% after 1 epoch."
    assert callable(board_summary) and callable(guesses_summary) and callable(overlay_summary)
    assert set(cs.__all__) <= set(dir(cs))


def test_curve_summary_falls_rises_and_notes_an_earlier_best():
    down = [{"epoch": e, "val_accuracy": v} for e, v in [(1, 0.95), (2, 0.98), (3, 0.96)]]
    assert cs.curve_summary(down) == "Validation accuracy rose from 95% to 96% in 3 epochs, after a best of 98%."
    assert cs.curve_summary([{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.25}]) == \
        "Training loss went from 0.500 to 0.250 in 2 epochs."


def test_overlay_summary_ranks_losses_lowest_first():
    assert cs.overlay_summary({"a": 0.3, "b": 0.1}, "training loss") == \
        "Of 2 runs, “b” ends lowest in training loss (0.100) and “a” highest (0.300)."
    assert cs.overlay_summary({"a": 0.9}) == "“a” ends at 90% validation accuracy."
    assert cs.overlay_summary({}) == "No run to compare yet."


def test_runs_overlay_summary_reads_each_run_s_last_value_of_the_chosen_curve():
    rows = [{"run": run, "metric": metric, "split": split, "value": value}
            for run, metric, split, value in [("a", "loss", "training", 2.0), ("a", "loss", "training", 0.2),
                                              ("b", "loss", "training", 0.5), ("b", "accuracy", "validation", 0.99),
                                              ("c", "loss", "training", float("nan"))]]
    assert cs.runs_overlay_summary(rows, "loss", "training") == \
        "Of 2 runs, “a” ends lowest in training loss (0.200) and “b” highest (0.500)."
    assert cs.runs_overlay_summary(rows, "accuracy", "validation") == "“b” ends at 99% validation accuracy."
    assert cs.runs_overlay_summary(rows, "accuracy", "training") == "No chosen run has a training accuracy curve."


def test_per_class_history_summary_names_worst_best_and_biggest_gain():
    epochs = [{"epoch": 1, "per_class_val_accuracy": [0.5, 0.9, 0.8]},
              {"epoch": 2, "per_class_val_accuracy": [0.85, 0.95, 0.81]}]
    assert cs.per_class_history_summary(epochs) == \
        "After epoch 2, digit 2 is read worst (81%) and digit 1 best (95%); digit 0 gained most, from 50%."
    assert cs.per_class_history_summary(epochs[:1]) == "After epoch 1, digit 0 is read worst (50%) and digit 1 best (90%)."
    assert cs.per_class_history_summary([{"epoch": 1}]) == "No epoch has a per-digit accuracy yet."


def test_live_loss_summary_single_batch_and_diverged():
    assert cs.live_loss_summary([{"step": 3, "loss": 1.25}], "x") == "Now training “x”: the loss is 1.250 at step 3."
    assert cs.live_loss_summary([{"step": 1, "loss": float("nan")}], "x") == \
        "Now training “x”: its loss is no longer a number, so the run has diverged."


def test_lr_range_summary_without_a_blow_up_and_with_a_nan_tail():
    flat = [{"lr": 1e-5, "smoothed": 2.3}, {"lr": 1e-3, "smoothed": 1.0}, {"lr": 0.01, "smoothed": 0.9}]
    assert cs.lr_range_summary(flat, 0.001) == \
        "The smoothed loss falls from 2.30 to its lowest, 0.90, at lr 0.01; the suggested lr is 0.001."
    nan_tail = flat + [{"lr": 10, "smoothed": float("nan")}]
    assert cs.lr_range_summary(nan_tail, 0.001).endswith(
        ", then climbs until it is no longer a number; the suggested lr is 0.001.")
    assert cs.lr_range_summary([{"lr": 1, "smoothed": float("inf")}], 0.1) == "The range test has no batches to show."


def test_per_class_summary_matches_the_chart_s_extremes():
    values = np.array([0.99, 0.97, 0.995])
    assert cs.per_class_summary(values) == "Digit 1 is read worst (97%) and digit 2 best (99.5%)."
    assert cs.per_class_summary(1 - values, "error rate") == \
        "Digit 1 has the highest error rate (3%) and digit 2 the lowest (0.5%)."
    assert cs.per_class_summary([]) == "There is no digit to show."


def test_compare_runs_summary_counts_digits_and_follows_the_measure():
    first, second = np.array([0.9, 0.9, 0.9]), np.array([0.96, 0.92, 0.85])
    assert cs.compare_runs_summary(first, second, "A", "B") == \
        "“B” does better on 2 of 3 digits and worse on 1; the biggest gap is on digit 0 (96% against 90%)."
    # Error rates: lower is better, so the same numbers flip.
    assert cs.compare_runs_summary(first, second, "A", "B", "error rate").startswith("“B” does better on 1 of 3 digits and worse on 2")
    assert cs.compare_runs_summary(first, first - 0.1, "A", "B").startswith("“B” does worse on every digit; ")
    assert cs.compare_runs_summary(first, [0.9, 0.95, 0.9], "A", "B").startswith(
        "“B” does better on 1 of 3 digits and worse on none; ")
    assert cs.compare_runs_summary(first, [0.9, 0.85, 0.9], "A", "B").startswith(
        "“B” does better on none of 3 digits and worse on 1; ")
    assert cs.compare_runs_summary(first, first, "A", "B") == "“B” and “A” score the same on every digit."
    assert cs.compare_runs_summary([0.5], [0.5, 0.6], "A", "B") == "There is no digit to compare."


def test_confusion_summary_agrees_with_a_count_by_hand():
    true = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 2])
    read = np.array([0, 0, 1, 2, 2, 2, 2, 2, 0, 2])
    cm = confusion_matrix(true, read, num_classes=3)
    # 7 of 10 right; the 1 read as 2 happens twice, the 2 read as 0 once.
    assert cs.confusion_summary(cm) == \
        "Of 10 images, 70% are read correctly; the most common mistake is a 1 read as 2 (2 images)."
    assert cs.confusion_summary(np.diag([3, 4])) == "Of 7 images, 100% are read correctly: there is no mistake."
    assert cs.confusion_summary(np.zeros((0, 0))) == "The matrix is empty: no image was read."


def test_activation_summary_output_scores_and_hidden_units():
    logits = np.arange(10, dtype=float)
    assert cs.activation_summary("Output scores (logits)", logits) == "Digit 9 gets the highest score (9.0), then digit 8 (8.0)."
    assert cs.activation_summary("Hidden layer 1 after ReLU", np.zeros(128)) == \
        "0 of 128 units are active (above 0); unit 0 is the strongest (0.00)."
    assert cs.activation_summary("x", []) == "This layer has no values."


def test_weight_histogram_summary_reads_the_middle_90_percent_of_real_weights():
    weights = np.random.default_rng(0).normal(0.0, 0.1, 100_000)
    counts, edges = np.histogram(weights, bins=40)
    text = cs.weight_histogram_summary(counts, edges)
    low, high = (float(part.split()[0].rstrip(";")) for part in text.split("between ")[1].split(" and "))
    inside = ((weights >= low) & (weights <= high)).mean()
    assert text.startswith("Of 100,000 weights, 90% or more lie between ")
    assert 0.9 <= inside < 0.96  # the 5%-95% range, widened to whole bins
    assert cs.weight_histogram_summary([0, 0], [0, 1, 2]) == "This layer has no weights."


def test_class_counts_summary_without_test_counts():
    assert cs.class_counts_summary([3, 1, 2]) == "Digit 0 has the most training images (3) and digit 1 the fewest (1), of 6."
    assert cs.class_counts_summary([0, 0]) == "The dataset has no images."


def test_accuracy_bars_summary_uses_group_names_and_counts_divergence():
    summaries = [{"label": "lr 0.1", "group": "SGD", "test_accuracy": 0.9, "status": "finished"},
                 {"label": "lr 0.1", "group": "Adam", "test_accuracy": 0.95, "status": "finished"}]
    assert cs.accuracy_bars_summary(summaries) == \
        "Of 2 runs, “Adam · lr 0.1” ends highest in test accuracy (95%) and “SGD · lr 0.1” lowest (90%)."
    diverged = [{"label": "lr 10", "group": "", "test_accuracy": None, "status": "diverged"}]
    assert cs.accuracy_bars_summary(diverged) == "None of the 1 run has a test accuracy: 1 diverged."


def test_loss_overlay_summary_takes_the_first_seed_and_the_drawn_epochs():
    rows = [run_row("a", batches=[2.3, 1.0, 0.5, 0.1]), run_row("b", batches=[2.3, 0.8, 0.7, 0.6]),
            run_row("a", seed=1, batches=[9.0, 9.0, 9.0, 9.0])]
    assert cs.loss_overlay_summary(rows) == "Of 2 runs, “a” ends lowest in training loss (0.100) and “b” highest (0.600)."
    # Over the first epoch only (2 batches), "b" is ahead.
    assert cs.loss_overlay_summary(rows, epochs=1) == \
        "Of 2 runs, “b” ends lowest in training loss after the first epoch (0.800) and “a” highest (1.000)."
    assert cs.loss_overlay_summary([run_row("a")]) == "No run has a loss curve yet."


def test_epoch_curves_summary_with_test_losses_and_one_run():
    epochs = [{"epoch": 1, "train_loss": 0.4, "val_loss": 0.5}, {"epoch": 2, "train_loss": 0.1, "val_loss": 0.3}]
    row = run_row("deep", epochs=epochs, test_loss_curve=[0.45, 0.35])
    assert cs.epoch_curves_summary([row], "test") == \
        "After 2 epochs, “deep” has the gap between test and training loss (0.350 against 0.100)."
    assert cs.epoch_curves_summary([run_row("none")], "final_val") == "No run has finished an epoch yet."


def test_parameters_summary_when_the_best_is_also_the_smallest():
    summaries = [{"label": "small", "parameters": 100, "test_accuracy": 0.99},
                 {"label": "big", "parameters": 1000, "test_accuracy": 0.9},
                 {"label": "unknown", "parameters": None, "test_accuracy": 0.999}]
    assert cs.parameters_summary(summaries) == \
        "The most accurate run, “small” (99%), has 100 parameters, and it is also the smallest."


def test_probability_summary_reads_the_top_two():
    probabilities = np.full(10, 0.01)
    probabilities[3], probabilities[5] = 0.6, 0.31
    assert cs.probability_summary(probabilities) == "The model reads a 3 with 60% probability; next comes 5 with 31%."


def test_per_digit_summary_with_one_digit_drawn():
    assert cs.per_digit_summary([None] * 7 + [0.75, None, None], [0] * 7 + [4, 0, 0]) == \
        "Only 7s have been drawn: 3 of 4, 75% read correctly."


@pytest.mark.parametrize("count, expected", [(1, "1 of its 1 nearest test image is a 4"),
                                             (3, "3 of its 3 nearest test images are 4s")])
def test_hidden_map_summary_counts_the_nearest_points(count, expected):
    points = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [5.0, 5.0]])
    assert cs.hidden_map_summary(points, np.array([4, 4, 4, 9]), 0.0, 0.0, k=count) == \
        f"Your drawing sits among the 4s: {expected}."
    assert cs.hidden_map_summary(points, [4], 0.0, 0.0) == "The map has no test images."


def test_board_and_guesses_summaries_on_rows():
    rows = [SimpleNamespace(val_accuracy=0.9, training=False, x=0.1, score=95.0, divergence_right=True),
            SimpleNamespace(val_accuracy=None, training=True, x=1.0, score=None, divergence_right=None)]
    assert cs.board_summary(rows, "lr") == \
        "2 students have a run; the best validation accuracy, 90%, came with lr = 0.1; 1 still training."
    assert cs.guesses_summary(rows, 5.0) == \
        "1 guess scored: the class's mean error is 5 points, and 1 of 1 said rightly whether the run would diverge."
