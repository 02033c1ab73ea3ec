"""The training charts: live curves and per-digit heatmap (Train page), runs overlay (Run history).

    training_curves_spec(rows, "loss")     loss (or accuracy) of one run: training and validation
    per_class_heatmap_spec(epochs)         validation accuracy of each digit after each epoch
    runs_overlay_spec(rows, "accuracy")    one line per run, to compare runs on one chart

These views redraw twice a second or are opened by every student, so each gives
(data, Vega-Lite spec) for `st.vega_lite_chart`: the spec is built by Altair once
per shape and cached, so a redraw only converts the data.

Rows come from mnist_core.chart_rows (`curve_rows`, `per_class_rows`), already
downsampled to a few hundred points: an Altair chart of 20k rows takes ~150 ms
to draw, too slow for a view that refreshes twice a second.
"""
from __future__ import annotations

import functools
import json

import altair as alt
import pandas as pd

from mnist_core.chart_rows import per_class_rows

from .palette import BLUE, HOVER_RULE, ORANGE, PALETTE, SEQUENTIAL_SCHEME, TEXT

SPLIT_COLOURS = {"training": BLUE, "validation": ORANGE}
METRIC_TITLES = {"loss": "Loss (cross-entropy)", "accuracy": "Accuracy"}


def _y_encoding(metric: str, title: str | None = None) -> alt.Y:
    """The value axis; no axis title unless given (the chart's title already names the metric)."""
    if metric == "accuracy":
        return alt.Y("value:Q", title=title, axis=alt.Axis(format="%"), scale=alt.Scale(zero=False, domainMax=1))
    return alt.Y("value:Q", title=title, scale=alt.Scale(zero=True))


def _whole_epoch_ticks(data: pd.DataFrame) -> bool:
    """Whole-epoch ticks once a run spans two epochs or more (before that, 0.1-epoch ticks are useful)."""
    return bool(len(data)) and float(data["epoch"].max()) >= 2


def _epoch_axis(whole_epoch_ticks: bool) -> alt.X:
    axis = alt.Axis(tickMinStep=1, format="d") if whole_epoch_ticks else alt.Axis(format="~g", tickCount=5)
    return alt.X("epoch:Q", title="epoch", scale=alt.Scale(domainMin=0, nice=False), axis=axis)


def _value_format(metric: str) -> str:
    return ".1%" if metric == "accuracy" else ".4f"


def _with_hover(lines: alt.Chart, base: alt.Chart, colour: alt.Color, tooltip: list, x_field: str) -> alt.LayerChart:
    """Lines, plus the data point nearest the pointer highlighted with a tooltip and a vertical rule."""
    hover = alt.selection_point(nearest=True, on="pointerover", clear="pointerout", fields=[x_field],
                                empty=False)
    points = base.mark_circle(size=70).encode(
        color=colour, opacity=alt.condition(hover, alt.value(1), alt.value(0)),
        tooltip=tooltip).add_params(hover)
    rule = base.mark_rule(color=HOVER_RULE, aria=False).encode(  # empty until hovered: no ARIA role (axe: svg-img-alt)
        opacity=alt.condition(hover, alt.value(0.6), alt.value(0))).transform_filter(hover)
    return alt.layer(lines, rule, points)


def _without_empty_data(node):
    """The spec without Altair's stand-in data ({"name": "empty"}: one empty row), recursively."""
    if isinstance(node, list):
        return [_without_empty_data(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: _without_empty_data(value) for key, value in node.items()
            if not (key == "data" and value == {"name": "empty"}) and not (key == "datasets" and set(value) == {"empty"})}


def _spec(template: alt.TopLevelMixin) -> str:
    """The Vega-Lite spec of a chart built without data, as JSON; st.vega_lite_chart adds the data.

    Altair gives every data-less layer a one-empty-row dataset; left in, the layers would read
    that row instead of the data (a stray "undefined" entry in the legend), so it is taken out.
    """
    return json.dumps(_without_empty_data(template.to_dict()))


# --- training curves ---------------------------------------------------------------------------

def training_curves_frame(rows: list[dict], metric: str) -> pd.DataFrame:
    """The rows of one metric, as the curves chart reads them."""
    return pd.DataFrame([r for r in rows if r["metric"] == metric], columns=["epoch", "step", "metric", "split", "value"])


def _training_curves_template(metric: str, whole_epoch_ticks: bool, height: int, title: str | None) -> alt.LayerChart:
    """The curves chart without its data (layers take the top-level data)."""
    colour = alt.Color("split:N", title=None,
                       scale=alt.Scale(domain=list(SPLIT_COLOURS), range=list(SPLIT_COLOURS.values())),
                       # Inside the plot, in the corner the curve leaves empty: a falling loss
                       # ends low on the right, a rising accuracy ends high on the right.
                       legend=alt.Legend(orient="top-right" if metric == "loss" else "bottom-right",
                                         fillColor="white", padding=6, cornerRadius=4))
    base = alt.Chart().encode(x=_epoch_axis(whole_epoch_ticks), y=_y_encoding(metric))
    tooltip = [alt.Tooltip("split:N", title="data"), alt.Tooltip("epoch:Q", title="epoch", format=".2f"),
               alt.Tooltip("step:Q", title="step"),
               alt.Tooltip("value:Q", title=metric, format=_value_format(metric))]
    lines = base.mark_line(strokeWidth=2).encode(color=colour)
    dots = base.transform_filter(alt.datum.split == "validation").mark_point(filled=True, size=45).encode(
        color=colour)
    chart = alt.layer(_with_hover(lines, base, colour, tooltip, "epoch"), dots)
    return chart.properties(height=height, title=title or METRIC_TITLES[metric])


@functools.lru_cache(maxsize=16)
def _training_curves_spec(metric: str, whole_epoch_ticks: bool, height: int, title: str | None) -> str:
    return _spec(_training_curves_template(metric, whole_epoch_ticks, height, title))


def training_curves_spec(rows: list[dict], metric: str, height: int = 300,
                         title: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Training and validation curves of one metric ("loss" or "accuracy") of one run,
    as (data, Vega-Lite spec) for st.vega_lite_chart.

    `rows` are mnist_core.chart_rows.curve_rows(...): x is the epoch (fractional
    while an epoch runs). Training is the running average over recent batches
    (a line); validation is measured at each epoch's end (a line with dots).

    For views that redraw twice a second: building an Altair chart costs 60-100 ms
    of Python, time a training thread in the same process waits for (the GIL).
    The spec is built once per shape and cached; only the data changes.
    """
    data = training_curves_frame(rows, metric)
    return data, json.loads(_training_curves_spec(metric, _whole_epoch_ticks(data), height, title))


def runs_overlay_frame(rows: list[dict], metric: str, split: str = "validation") -> pd.DataFrame:
    """The rows of one metric and split, with each run's place in the list ("order": 0, 1, ...)."""
    data = pd.DataFrame([r for r in rows if r["metric"] == metric and r["split"] == split],
                        columns=["run", "epoch", "step", "metric", "split", "value"])
    order = {run: i for i, run in enumerate(dict.fromkeys(data["run"]))}
    return data.assign(order=data["run"].map(order).astype("int64"))


def _runs_overlay_template(metric: str, split: str, whole_epoch_ticks: bool, height: int,
                           title: str | None) -> alt.LayerChart:
    """The overlay chart without its data. The run names are not in it: the colours follow each
    run's "order" (the first run gets the palette's first colour), so one spec serves any runs."""
    colour = alt.Color("run:N", title=None, sort=alt.EncodingSortField("order", op="min"),
                       scale=alt.Scale(range=PALETTE),
                       legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=400))
    base = alt.Chart().encode(x=_epoch_axis(whole_epoch_ticks), y=_y_encoding(metric))
    tooltip = [alt.Tooltip("run:N"), alt.Tooltip("epoch:Q", format=".2f"),
               alt.Tooltip("value:Q", title=f"{split} {metric}", format=_value_format(metric))]
    lines = base.mark_line(strokeWidth=2, point=split == "validation").encode(color=colour)
    default_title = f"{split.capitalize()} {metric} of the chosen runs"
    return _with_hover(lines, base, colour, tooltip, "epoch").properties(height=height, title=title or default_title)


@functools.lru_cache(maxsize=32)
def _runs_overlay_spec(metric: str, split: str, whole_epoch_ticks: bool, height: int, title: str | None) -> str:
    return _spec(_runs_overlay_template(metric, split, whole_epoch_ticks, height, title))


def runs_overlay_spec(rows: list[dict], metric: str, split: str = "validation", height: int = 320,
                      title: str | None = None) -> tuple[pd.DataFrame, dict]:
    """One line per run for one metric and split, to compare runs on a shared epoch axis,
    as (data, Vega-Lite spec) for st.vega_lite_chart.

    `rows` are curve_rows(...) of several runs, each row with an added "run"
    (a unique label). Only the rows of `metric` and `split` are drawn; runs keep
    the order of `rows` in the legend and the palette's colours in that order.

    Run history draws this chart on every visit: building it with Altair (and
    validating it against the Vega-Lite schema) cost about 50 ms of server CPU per
    page load, most of the page's cost when a class loads it at once. The spec
    is built once per shape and cached; only the data changes.
    """
    data = runs_overlay_frame(rows, metric, split)
    return data, json.loads(_runs_overlay_spec(metric, split, _whole_epoch_ticks(data), height, title))


def per_class_frame(epochs: list[dict]) -> pd.DataFrame:
    """Rows (epoch, digit, accuracy) of the heatmap."""
    return pd.DataFrame(per_class_rows(epochs), columns=["epoch", "digit", "accuracy"])


def _heatmap_shape(data: pd.DataFrame) -> tuple[float, bool]:
    """(lowest colour, whether cells get labels) for this data."""
    low = float(data["accuracy"].min()) if len(data) else 0.0
    # Most digits sit between 90% and 100%: start the colour scale near the
    # worst cell so that differences between digits stay visible.
    domain_low = min(0.9, round(low - 0.05, 1)) if low < 1 else 0.9
    return domain_low, data["epoch"].nunique() <= 12  # more columns leave no room for labels


def _per_class_template(domain_low: float, labelled: bool, height: int) -> alt.LayerChart:
    domain = [domain_low, 1.0]
    base = alt.Chart().encode(
        x=alt.X("epoch:O", title="epoch", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("digit:O", title="digit", sort="ascending", axis=alt.Axis(labelOverlap=False)))
    cells = base.mark_rect().encode(
        color=alt.Color("accuracy:Q", title="accuracy",
                        scale=alt.Scale(scheme=SEQUENTIAL_SCHEME, domain=domain, clamp=True),
                        legend=alt.Legend(format="%")),
        tooltip=[alt.Tooltip("digit:O"), alt.Tooltip("epoch:O"), alt.Tooltip("accuracy:Q", format=".1%")])
    layers = [cells]
    if labelled:
        threshold = domain[0] + 0.6 * (domain[1] - domain[0])
        layers.append(base.mark_text(fontSize=11).encode(
            text=alt.Text("accuracy:Q", format=".0%"),
            color=alt.condition(alt.datum.accuracy > threshold, alt.value(TEXT), alt.value("white"))))
    return alt.layer(*layers).properties(height=height, title="Validation accuracy of each digit")


@functools.lru_cache(maxsize=32)
def _per_class_spec(domain_low: float, labelled: bool, height: int) -> str:
    return _spec(_per_class_template(domain_low, labelled, height))


def per_class_heatmap_spec(epochs: list[dict], height: int = 300) -> tuple[pd.DataFrame, dict]:
    """Validation accuracy of each digit (rows) after each epoch (columns), as (data, Vega-Lite spec).

    Dark cells are digits the network still gets wrong; reading left to right
    shows which digits are learned first. `epochs` are the run's epoch events.
    The spec is cached as in training_curves_spec.
    """
    data = per_class_frame(epochs)
    return data, json.loads(_per_class_spec(*_heatmap_shape(data), height))


def lr_range_chart(rows: list[dict], suggested_lr: float) -> alt.LayerChart:
    """Loss against learning rate on a log axis (raw batches faint, the smoothed curve bold), with the
    suggested learning rate as a dashed rule."""
    data = pd.DataFrame(rows)
    base = alt.Chart(data).encode(x=alt.X("lr:Q", scale=alt.Scale(type="log"), title="learning rate (log scale)",
                                          axis=alt.Axis(format="~g")))
    raw = base.mark_line(color=BLUE, opacity=0.3).encode(y=alt.Y("loss:Q", title="training loss"))
    smooth = base.mark_line(color=BLUE, strokeWidth=2.5).encode(y="smoothed:Q")
    rule = alt.Chart(pd.DataFrame({"lr": [suggested_lr], "label": [f"suggested {suggested_lr:.2g}"]})).mark_rule(
        color=ORANGE, strokeDash=[6, 4], strokeWidth=2).encode(x="lr:Q", tooltip=["label:N"])
    text = rule.mark_text(align="left", dx=5, dy=-8, color=ORANGE).encode(text="label:N", y=alt.value(12))
    return alt.layer(raw, smooth, rule, text).properties(title="Loss as the learning rate grows", height=280)
