"""One-sentence summaries of charts, for projector mode and for screen readers.

Each function takes the same plain data its chart draws and says its gist in
words, e.g. "Validation accuracy rose from 91% to 98% in 3 epochs." Pages show
the sentence under the chart (ui.projector.chart_summary). One module per page
family, as in ui/charts/:

    training      a run's curves, runs overlaid, per-digit accuracy per epoch, live loss, lr range test
    inspection    per-digit scores, two runs compared, confusion matrix, activations, weights, dataset counts
    experiments   a study's accuracy bars, loss overlay, training against held-out loss, parameter count
    draw          a drawing's probabilities, the class's drawings per digit, the hidden-layer map
    class_board   the teacher's class board and guesses
"""
from .class_board import board_summary, guesses_summary
from .draw import hidden_map_summary, per_digit_summary, probability_summary
from .experiments import accuracy_bars_summary, epoch_curves_summary, loss_overlay_summary, parameters_summary
from .inspection import (activation_summary, class_counts_summary, compare_runs_summary, confusion_summary,
                         per_class_summary, weight_histogram_summary)
from .training import (curve_summary, live_loss_summary, lr_range_summary, overlay_summary, per_class_history_summary,
                       runs_overlay_summary)

__all__ = [
    "accuracy_bars_summary", "activation_summary", "board_summary", "class_counts_summary", "compare_runs_summary",
    "confusion_summary", "curve_summary", "epoch_curves_summary", "guesses_summary", "hidden_map_summary",
    "live_loss_summary", "loss_overlay_summary", "lr_range_summary", "overlay_summary", "parameters_summary",
    "per_class_history_summary", "per_class_summary", "per_digit_summary", "probability_summary",
    "runs_overlay_summary",
    "weight_histogram_summary",
]
