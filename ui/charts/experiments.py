"""The Experiments page's charts: the running run's loss, and a finished study's results.

    live_loss_chart(batches, label)      the run in progress, step by step
    accuracy_bars(summaries)             final test accuracy of each run (min-max whiskers over seeds)
    bars_height(bars, legend)            the pixels accuracy_bars needs
    loss_overlay(rows, title, epochs)    every run's training loss on one epoch axis
    epoch_curves(rows, other, title)     per-epoch training loss against validation or test loss
    parameters_chart(summaries)          test accuracy against parameter count

`summaries` are mnist_core.experiments.summarize(rows); `rows` are its RunRows.
Losses above LOSS_CAP are drawn at the top edge, so one wild run cannot flatten the rest.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from mnist_core import experiments as ex
from mnist_core.chart_rows import curve_rows
from mnist_core.config import CHANCE_LOSS

from .palette import BLUE, PALETTE, TEXT, categorical

LOSS_CAP = 2 * CHANCE_LOSS


def live_loss_chart(batches: list[dict], label: str) -> alt.Chart:
    """The running run's training loss, step by step (wild losses clipped at the top)."""
    data = pd.DataFrame([{"step": b["step"], "loss": min(b["loss"], LOSS_CAP)} for b in batches[-300:]
                         if np.isfinite(b["loss"])], columns=["step", "loss"])
    return alt.Chart(data).mark_line(strokeWidth=2, color=BLUE).encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("loss:Q", title=None, scale=alt.Scale(zero=True)),
    ).properties(height=150, title=f"Now training: {label}")


def _run_name(summary_or_row) -> str:
    group = summary_or_row["group"] if isinstance(summary_or_row, dict) else summary_or_row.group
    label = summary_or_row["label"] if isinstance(summary_or_row, dict) else summary_or_row.label
    return f"{group} · {label}" if group else label


def accuracy_bars(summaries: list[dict]) -> alt.LayerChart:
    """Final test accuracy of each run (mean over seeds, with the min–max range when repeated)."""
    data = pd.DataFrame([{
        "run": _run_name(s), "group": s["group"] or "all", "accuracy": s["test_accuracy"] or 0.0,
        "low": s["test_accuracy_min"], "high": s["test_accuracy_max"],
        "label_x": max(s["test_accuracy_max"] or 0.0, s["test_accuracy"] or 0.0),
        "text": "diverged" if s["status"] == "diverged" else percent_text(s["test_accuracy"])} for s in summaries])
    order = list(data["run"])
    groups = list(dict.fromkeys(data["group"]))
    y = alt.Y("run:N", sort=order, title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False))
    base = alt.Chart(data).encode(y=y)
    bars = base.mark_bar().encode(
        x=alt.X("accuracy:Q", title="test accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("group:N", title=None, legend=None if len(groups) == 1 else alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=groups, range=PALETTE[:len(groups)])),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("accuracy:Q", format=".1%", title="test accuracy")])
    # Right of the bar, or of its min-max whisker when runs were repeated over seeds.
    labels = base.mark_text(align="left", dx=4).encode(x="label_x:Q", text="text:N")
    layers = [bars, labels]
    if any(s["seeds"] > 1 for s in summaries):
        layers.append(base.mark_rule(color=TEXT).encode(x="low:Q", x2="high:Q"))
    return alt.layer(*layers).properties(height=26 * max(len(data), 2), title="Final test accuracy")


def bars_height(bars: int, legend: bool = False) -> int:
    """Pixels for the accuracy bars: 26 px a bar plus title and axis (and a legend below)."""
    return 100 + 26 * max(bars, 2) + (40 if legend else 0)


def percent_text(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def loss_overlay(rows: list[ex.RunRow], title: str, epochs: int = 0) -> alt.Chart | None:
    """Training loss of each run on a shared epoch axis (first seed only; wild losses clipped).

    With `epochs`, only the first that many epochs are drawn.
    """
    first_seed = min(r.seed for r in rows)
    data = []
    for row in rows:
        if row.seed != first_seed or not row.history:
            continue
        for point in curve_rows(row.history, row.steps_per_epoch, max_points=150):
            if point["metric"] == "loss" and point["split"] == "training" and (
                    not epochs or point["epoch"] <= epochs):
                data.append({"run": row.label, "epoch": point["epoch"], "loss": min(point["value"], LOSS_CAP)})
    if not data:
        return None
    runs = list(dict.fromkeys(d["run"] for d in data))
    top = max(d["loss"] for d in data)  # the cap, or less when every run stays below it
    chart = alt.Chart(pd.DataFrame(data)).mark_line(strokeWidth=2).encode(
        x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(domainMin=0, nice=False)),
        y=alt.Y("loss:Q", title=None, scale=alt.Scale(domain=[0, top], clamp=True, nice=True)),
        color=alt.Color("run:N", title=None, sort=runs,
                        scale=alt.Scale(domain=runs, range=categorical(len(runs))),
                        legend=alt.Legend(orient="right", labelLimit=160)),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("loss:Q", format=".3f")])
    subtitle = f"losses above {LOSS_CAP:.1f} are drawn at the top edge" if top >= LOSS_CAP else ""
    return chart.properties(height=220, title=alt.TitleParams(title, subtitle=subtitle))


def epoch_curves(rows: list[ex.RunRow], other: str, title: str) -> alt.Chart:
    """Per-epoch training loss (dashed) against validation or test loss (solid), one colour per run."""
    first_seed = min(r.seed for r in rows)
    name = "validation" if other == "final_val" else "test"
    data = []
    for row in rows:
        if row.seed != first_seed:
            continue
        epochs = row.history.get("epochs") or []
        others = row.test_loss_curve if other == "test" else [e["val_loss"] for e in epochs]
        for event, value in zip(epochs, others):
            data.append({"run": row.label, "epoch": event["epoch"], "split": "training", "loss": event["train_loss"]})
            if value is not None:
                data.append({"run": row.label, "epoch": event["epoch"], "split": name, "loss": value})
    runs = list(dict.fromkeys(d["run"] for d in data))
    return alt.Chart(pd.DataFrame(data, columns=["run", "epoch", "split", "loss"])).mark_line(strokeWidth=2).encode(
        x=alt.X("epoch:Q", title="epoch"),
        y=alt.Y("loss:Q", title=None),
        color=alt.Color("run:N", title=None, sort=runs,
                        scale=alt.Scale(domain=runs, range=categorical(len(runs)))),
        strokeDash=alt.StrokeDash("split:N", title=None, sort=["training", name],
                                  scale=alt.Scale(domain=["training", name], range=[[5, 3], [1, 0]])),
        tooltip=["run:N", "split:N", "epoch:Q", alt.Tooltip("loss:Q", format=".3f")],
    ).properties(height=300, title=alt.TitleParams(
        title, subtitle=f"dashed: training images · solid: {name} images, never trained on"))


def parameters_chart(summaries: list[dict]) -> alt.LayerChart:
    """Test accuracy against parameter count (log scale), one colour per number of hidden layers."""
    data = pd.DataFrame([{"run": s["label"], "parameters": s["parameters"], "accuracy": s["test_accuracy"],
                          "layers": (f"{len(s['value'])} hidden layer{'s' if len(s['value']) > 1 else ''}"
                                     if isinstance(s["value"], tuple) else "")}
                         for s in summaries if s["parameters"] and s["test_accuracy"] is not None])
    kinds = sorted(set(data["layers"])) if len(data) else []
    base = alt.Chart(data).encode(
        x=alt.X("parameters:Q", title="parameters (log scale)", scale=alt.Scale(type="log")),
        y=alt.Y("accuracy:Q", title="test accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False)),
        tooltip=["run:N", alt.Tooltip("parameters:Q", format=","), alt.Tooltip("accuracy:Q", format=".1%")])
    points = base.mark_point(filled=True, size=110).encode(
        color=alt.Color("layers:N", title=None, scale=alt.Scale(domain=kinds, range=PALETTE[:len(kinds)]),
                        legend=alt.Legend(orient="bottom-right") if len(kinds) > 1 else None),
        shape=alt.Shape("layers:N", legend=None))
    labels = base.mark_text(align="left", dx=9, dy=-7).encode(text="run:N")
    return alt.layer(points, labels).properties(height=280, title="Accuracy against parameter count")
