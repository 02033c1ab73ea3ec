"""The Draw page's charts: what the model reads in a drawing, and how it reads the class's set.

    probability_chart(probabilities)     ten bars, the most probable digit in orange
    per_digit_chart(report)              accuracy per digit on the class handwriting test set
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from mnist_core.handwriting import HandwritingReport

from .palette import BACKGROUND, BLUE, ORANGE, TEXT


def probability_chart(probabilities: list[float], height: int = 230) -> alt.LayerChart:
    """Ten bars, one per digit; the most probable digit in orange, its share written above each bar."""
    top = int(np.argmax(probabilities))
    data = pd.DataFrame({"digit": [str(d) for d in range(10)], "probability": probabilities,
                         "top": ["most probable" if d == top else "other" for d in range(10)],
                         "label": [f"{100 * p:.0f}%" if p >= 0.005 else "" for p in probabilities]})
    base = alt.Chart(data).encode(
        x=alt.X("digit:N", title="digit", sort=None, axis=alt.Axis(labelAngle=0, labelFontSize=15, titleFontSize=13)),
        y=alt.Y("probability:Q", title="probability", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%", tickCount=5)))
    bars = base.mark_bar(cornerRadiusTopLeft=3, cornerRadiusTopRight=3).encode(
        color=alt.Color("top:N", scale=alt.Scale(domain=["most probable", "other"], range=[ORANGE, BLUE]),
                        legend=None),
        tooltip=[alt.Tooltip("digit:N"), alt.Tooltip("probability:Q", format=".2%")])
    text = base.mark_text(dy=-8, fontSize=12).encode(text="label:N")
    return alt.layer(bars, text).properties(height=height)


def per_digit_chart(report: HandwritingReport, height: int = 220) -> alt.LayerChart:
    """Accuracy per digit on the class set, with how many examples each bar stands on."""
    rows = [{"digit": str(d), "accuracy": report.per_digit_accuracy[d] or 0.0, "examples": report.support[d],
             "label": (f"{round((report.per_digit_accuracy[d] or 0) * report.support[d])}/{report.support[d]}"
                       if report.support[d] else "none")} for d in range(10)]
    base = alt.Chart(pd.DataFrame(rows)).encode(
        x=alt.X("digit:N", title="digit drawn", sort=None, axis=alt.Axis(labelAngle=0, labelFontSize=14)),
        y=alt.Y("accuracy:Q", title="read correctly", scale=alt.Scale(domain=[0, 1.08]),
                axis=alt.Axis(format="%", values=[0, 0.25, 0.5, 0.75, 1])))
    bars = base.mark_bar(color=BLUE, cornerRadiusTopLeft=3, cornerRadiusTopRight=3).encode(
        tooltip=[alt.Tooltip("digit:N"), alt.Tooltip("accuracy:Q", format=".0%"), alt.Tooltip("examples:Q")])
    text = base.mark_text(dy=-8, fontSize=11).encode(text="label:N")
    return alt.layer(bars, text).properties(height=height)


def hidden_map_chart(frame: pd.DataFrame, x: float, y: float, height: int = 420) -> alt.LayerChart:
    """The hidden-layer map: test images as dots coloured by digit (hover shows the image), and the
    student's drawing as a large diamond at (x, y). `frame` has columns x, y, digit, image."""
    points = alt.Chart(frame).mark_circle(size=22, opacity=0.75).encode(
        x=alt.X("x:Q", axis=None), y=alt.Y("y:Q", axis=None),
        # Ten digits need ten distinct colours; the project's categorical palette has eight.
        color=alt.Color("digit:N", scale=alt.Scale(scheme="tableau10"), legend=alt.Legend(orient="right")),
        tooltip=["digit:N", "image:N"])
    you = pd.DataFrame({"x": [x], "y": [y], "what": ["your drawing"]})
    star = alt.Chart(you).mark_point(shape="diamond", size=520, filled=True, color=TEXT, stroke=BACKGROUND,
                                     strokeWidth=2, opacity=1).encode(x="x:Q", y="y:Q", tooltip=["what:N"])
    label = alt.Chart(you).mark_text(dy=-22, fontSize=14, fontWeight="bold").encode(x="x:Q", y="y:Q", text="what:N")
    return (points + star + label).properties(height=height)
