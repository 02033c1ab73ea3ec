"""The "Look inside" pages' charts (Confusion matrix, Per-class, Weights), from mnist_core.metrics/inspection.

Each function takes plain arrays and returns an Altair chart; none calls st.*,
so bench/inspect_render.py can time them. Fonts are large enough for a projector.
Convention: rows/y = true digit, columns/x = predicted digit.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from mnist_core.inspection import LayerActivation, WeightHistogram

from .palette import BACKGROUND, BLUE, ORANGE, PALE_BLUE, TEXT, VERMILLION

CELL_SELECTION = "cell"  # name of the confusion-matrix click selection (st.altair_chart returns it)
LABEL_FONT, TITLE_FONT = 15, 16
DIGITS = [str(d) for d in range(10)]
# Ten distinguishable colours for the ten digits (Tableau 10).
DIGIT_COLOURS = alt.Scale(domain=DIGITS, scheme="tableau10")


def _big_fonts(chart):
    return (chart.configure_axis(labelFontSize=LABEL_FONT, titleFontSize=TITLE_FONT)
            .configure_legend(labelFontSize=LABEL_FONT, titleFontSize=TITLE_FONT)
            .configure_title(fontSize=TITLE_FONT + 1))


def confusion_frame(cm: np.ndarray) -> pd.DataFrame:
    """One row per cell: true, predicted, count, share of the true class, and an off-diagonal shade."""
    cm = np.asarray(cm)
    n = cm.shape[0]
    true, predicted = np.divmod(np.arange(n * n), n)
    support = np.maximum(cm.sum(axis=1), 1)
    share = cm.ravel() / support[true]
    return pd.DataFrame({
        "true": true, "predicted": predicted, "count": cm.ravel(), "share": share,
        "correct": true == predicted,
        "error_share": np.where(true == predicted, 0.0, share),  # colour only the mistakes
    })


def confusion_heatmap(cm: np.ndarray, size: int = 560) -> alt.Chart:
    """Clickable heatmap: mistakes in orange by their share of the true class, the diagonal in blue.

    Clicking a cell fills the point selection `CELL_SELECTION` with its true and predicted digit.
    """
    frame = confusion_frame(cm)
    off_max = float(frame["error_share"].max())
    select = alt.selection_point(name=CELL_SELECTION, fields=["true", "predicted"], on="click",
                                 clear="dblclick", toggle=False)
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:O", title="Predicted digit", axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("true:O", title="True digit"),
        tooltip=[alt.Tooltip("true:O", title="True digit"), alt.Tooltip("predicted:O", title="Read as"),
                 alt.Tooltip("count:Q", title="Images", format=","),
                 alt.Tooltip("share:Q", title="Share of the true digit", format=".1%")],
    )
    selected = alt.when(select).then(alt.value(1.0)).otherwise(alt.value(0.35))
    # Every cell (white, the diagonal blue) carries the click selection; the mistakes are
    # painted over it in orange by their share, so zero cells stay white.
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.when("datum.correct").then(alt.value(PALE_BLUE)).otherwise(alt.value(BACKGROUND)),
        opacity=selected,
    ).add_params(select)
    mistakes = base.transform_filter("!datum.correct && datum.count > 0").mark_rect(
        stroke="white", strokeWidth=2).encode(
        color=alt.Color("error_share:Q", title="Mistakes (% of the true digit)",
                        scale=alt.Scale(scheme="oranges", domain=[0, max(off_max, 1e-6)]),
                        legend=alt.Legend(format=".1%", orient="bottom", gradientLength=320, titleLimit=500)),
        opacity=selected,
    )
    text = base.mark_text(fontSize=15).encode(
        text=alt.Text("count:Q", format=","),
        color=alt.when(f"!datum.correct && datum.error_share > {0.55 * off_max}")
                 .then(alt.value(BACKGROUND)).otherwise(alt.value(TEXT)),
    )
    return _big_fonts((cells + mistakes + text).properties(width=size, height=size))


def per_class_bar_chart(values: np.ndarray, measure: str = "accuracy") -> alt.Chart:
    """Bars per digit of accuracy or error rate (values in [0, 1]), labelled in percent, from zero."""
    frame = pd.DataFrame({"digit": DIGITS, "value": np.asarray(values, dtype=float)})
    worst = frame["value"].idxmin() if measure == "accuracy" else frame["value"].idxmax()
    frame["note"] = ["worst" if i == worst else "" for i in range(len(frame))]
    title = "Accuracy of each digit" if measure == "accuracy" else "Error rate of each digit"
    base = alt.Chart(frame).encode(
        x=alt.X("digit:O", title="Digit", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("value:Q", title=title, axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1] if measure == "accuracy" else [0, max(frame["value"].max(), 0.01)])),
        tooltip=[alt.Tooltip("digit:O", title="Digit"), alt.Tooltip("value:Q", title=title, format=".2%")],
    )
    bars = base.mark_bar().encode(
        color=alt.condition("datum.note == 'worst'", alt.value(VERMILLION), alt.value(BLUE)))
    labels = base.mark_text(dy=-9, fontSize=14).encode(text=alt.Text("value:Q", format=".1%"))
    return _big_fonts((bars + labels).properties(height=320))


def per_class_history_chart(epochs: list[dict]) -> alt.Chart:
    """Validation accuracy of each digit after every epoch (from a run's history)."""
    rows = [{"epoch": row["epoch"], "digit": str(d), "accuracy": float(v)}
            for row in epochs for d, v in enumerate(row.get("per_class_val_accuracy") or [])]
    frame = pd.DataFrame(rows, columns=["epoch", "digit", "accuracy"])
    highlight = alt.selection_point(fields=["digit"], bind="legend")
    base = alt.Chart(frame).encode(
        x=alt.X("epoch:Q", title="Epoch", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("accuracy:Q", title="Validation accuracy", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(zero=False)),
        color=alt.Color("digit:N", title="Digit", scale=DIGIT_COLOURS),
        opacity=alt.condition(highlight, alt.value(1.0), alt.value(0.15)),
        tooltip=["digit:N", "epoch:Q", alt.Tooltip("accuracy:Q", format=".2%")],
    )
    last = frame[frame["epoch"] == frame["epoch"].max()] if len(frame) else frame
    ends = alt.Chart(last).mark_text(align="left", dx=8, fontSize=14, fontWeight="bold").encode(
        x="epoch:Q", y="accuracy:Q", text="digit:N", color=alt.Color("digit:N", scale=DIGIT_COLOURS))
    lines = base.mark_line(point=alt.OverlayMarkDef(size=60), strokeWidth=2.5).add_params(highlight)
    return _big_fonts((lines + ends).properties(height=360))


def compare_runs_chart(first: np.ndarray, second: np.ndarray, first_name: str, second_name: str,
                       measure: str = "accuracy") -> alt.Chart:
    """Per-digit accuracy (or error rate) of two runs, side by side for each digit, from zero."""
    title = "Test accuracy" if measure == "accuracy" else "Test error rate"
    frame = pd.DataFrame({
        "digit": DIGITS * 2, "run": [first_name] * 10 + [second_name] * 10,
        "value": np.concatenate([np.asarray(first, float), np.asarray(second, float)]),
    })
    chart = alt.Chart(frame).mark_bar().encode(
        x=alt.X("digit:O", title="Digit", axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("run:N", sort=[first_name, second_name]),
        y=alt.Y("value:Q", title=title, axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1]) if measure == "accuracy" else alt.Scale()),
        color=alt.Color("run:N", title="Run", sort=[first_name, second_name],
                        scale=alt.Scale(range=[BLUE, ORANGE]), legend=alt.Legend(orient="top", labelLimit=500)),
        tooltip=["run:N", "digit:O", alt.Tooltip("value:Q", title=title, format=".2%")],
    )
    return _big_fonts(chart.properties(height=340))


def activation_chart(activation: LayerActivation) -> alt.Chart:
    """Bars of one layer's values for one input: per digit for the output, per unit otherwise."""
    values = np.asarray(activation.values, dtype=float).ravel()
    is_output = values.size == 10
    is_probability = activation.label.startswith("Probabilities")
    frame = pd.DataFrame({"unit": DIGITS if is_output else np.arange(values.size), "value": values})
    x = (alt.X("unit:O", title="Digit", axis=alt.Axis(labelAngle=0)) if is_output
         else alt.X("unit:Q", title="Unit", scale=alt.Scale(domain=[0, values.size]), axis=alt.Axis(format="d")))
    y = alt.Y("value:Q", title="Probability" if is_probability else "Value",
              axis=alt.Axis(format=".0%") if is_probability else alt.Axis(),
              scale=alt.Scale(domain=[0, 1]) if is_probability else alt.Scale())
    top = int(values.argmax())
    mark = alt.Chart(frame).mark_bar() if is_output else alt.Chart(frame).mark_bar(size=max(1.0, 560 / values.size))
    bars = mark.encode(
        x=x, y=y,
        # The output's winning digit in orange; hidden units all in one colour.
        color=(alt.when(f"datum.unit == '{top}'").then(alt.value(VERMILLION)).otherwise(alt.value(BLUE))
               if is_output else alt.value(BLUE)),
        tooltip=[alt.Tooltip("unit", title="Digit" if is_output else "Unit"),
                 alt.Tooltip("value:Q", format=".1%" if is_probability else ".3f")],
    )
    chart = bars
    if is_output:  # value labels above positive bars and below negative ones
        label_format = ".1%" if is_probability else ".1f"
        text = alt.Chart(frame).mark_text(fontSize=13).encode(x=x, y=y, text=alt.Text("value:Q", format=label_format))
        chart = alt.layer(bars, text.transform_filter("datum.value >= 0").mark_text(fontSize=13, dy=-9),
                          text.transform_filter("datum.value < 0").mark_text(fontSize=13, dy=10))
    return _big_fonts(chart.properties(height=220, title=activation.label))


def weight_histogram_chart(histogram: WeightHistogram) -> alt.Chart:
    """How one layer's weights are spread: a histogram, with a dashed rule at 0 (title it on the page)."""
    frame = pd.DataFrame({"start": histogram.edges[:-1], "end": histogram.edges[1:], "count": histogram.counts})
    bars = alt.Chart(frame).mark_bar(color=BLUE).encode(
        x=alt.X("start:Q", bin="binned", title="Weight value"), x2="end:Q",
        y=alt.Y("count:Q", title="Number of weights"),
        tooltip=[alt.Tooltip("start:Q", title="from", format=".3f"), alt.Tooltip("end:Q", title="to", format=".3f"),
                 alt.Tooltip("count:Q", title="weights", format=",")],
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color=VERMILLION, strokeDash=[4, 3]).encode(x="x:Q")
    return _big_fonts((bars + zero).properties(height=240))
