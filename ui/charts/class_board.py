"""The teacher console's charts: the live class board, and guesses against outcomes.

    class_board_chart(rows, "lr", reveal_names=False, projector=False)
        one dot per student: x the chosen setting, y validation accuracy, colour the
        architecture; a hollow dot is a run still training; tooltips name the student
        only once the teacher has pressed Reveal
    guesses_chart(rows, reveal_names, projector)
        each scored guess against its outcome, with the line where guess = outcome

Rows are mnist_core.class_board.BoardRow objects.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from mnist_core.config import ARCHITECTURES

from .palette import PALETTE, TEXT

LOG_SETTINGS = {"lr", "l2", "l1"}  # spread over decades: a log axis (0 is drawn at the left edge)
NOMINAL_SETTINGS = {"arch", "hidden", "activation", "optimizer", "schedule"}
ARCH_COLOURS = dict(zip(ARCHITECTURES.values(), PALETTE))


def display_names(rows, reveal_names: bool) -> list[str]:
    """The name shown for each row: the student's, or 'Student 1', 'Student 2', ... until Reveal."""
    return [row.student if reveal_names else f"Student {n}" for n, row in enumerate(rows, start=1)]


def board_frame(rows, reveal_names: bool) -> pd.DataFrame:
    """The board's rows as the chart draws them (also what the tests read)."""
    names = display_names(rows, reveal_names)
    return pd.DataFrame([{
        "student": name, "x": row.x, "val_accuracy": row.val_accuracy, "architecture": ARCHITECTURES.get(row.arch, row.arch),
        "status": row.status, "state": "still training" if row.training else "finished",
        "guess": row.guess, "score": row.score,
    } for name, row in zip(names, rows)])


def _sizes(projector: bool) -> dict:
    return {"dot": 420 if projector else 140, "stroke": 4 if projector else 2, "font": 22 if projector else 13,
            "title": 26 if projector else 15}


def _style(chart, projector: bool):
    size = _sizes(projector)
    return chart.configure_axis(labelFontSize=size["font"], titleFontSize=size["font"], labelColor=TEXT,
                                titleColor=TEXT, gridOpacity=0.5 if projector else 0.25).configure_legend(
        labelFontSize=size["font"], titleFontSize=size["font"], symbolSize=size["dot"]).configure_title(
        fontSize=size["title"], color=TEXT)


def class_board_chart(rows, setting: str, reveal_names: bool = False, projector: bool = False) -> alt.Chart:
    """Every student's latest run as a dot; hollow while it trains."""
    data = board_frame(rows, reveal_names)
    if len(data):
        data["val_accuracy"] = data["val_accuracy"].fillna(0.0)  # a run before its first epoch sits at 0
    else:
        data = pd.DataFrame(columns=["student", "x", "val_accuracy", "architecture", "status", "state", "guess",
                                     "score"])
    size = _sizes(projector)
    x_type = "N" if setting in NOMINAL_SETTINGS else "Q"
    if x_type == "N":
        x = alt.X("x:N", title=setting, axis=alt.Axis(labelAngle=0))
    elif setting in LOG_SETTINGS and len(data) and (data["x"] > 0).all():
        x = alt.X("x:Q", title=setting, scale=alt.Scale(type="log"))
    else:
        x = alt.X("x:Q", title=setting)
    colour = alt.Color("architecture:N", title="architecture",
                       scale=alt.Scale(domain=list(ARCH_COLOURS), range=list(ARCH_COLOURS.values())))
    tooltip = [alt.Tooltip("student:N"), alt.Tooltip(f"x:{x_type}", title=setting),
               alt.Tooltip("val_accuracy:Q", title="validation accuracy", format=".1%"),
               alt.Tooltip("architecture:N"), alt.Tooltip("state:N", title="run"),
               alt.Tooltip("guess:Q", format=".0%"), alt.Tooltip("score:Q")]
    base = alt.Chart(data).encode(x=x, y=alt.Y("val_accuracy:Q", title="validation accuracy",
                                               axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
                                  color=colour, tooltip=tooltip)
    finished = base.transform_filter(alt.datum.state == "finished").mark_point(
        filled=True, size=size["dot"], opacity=1, strokeWidth=size["stroke"])
    training = base.transform_filter(alt.datum.state == "still training").mark_point(
        filled=False, size=size["dot"], opacity=1, strokeWidth=size["stroke"])
    chart = alt.layer(finished, training).properties(
        height=520 if projector else 380, title="Class board: validation accuracy of each student's latest run")
    return _style(chart, projector)


def guesses_chart(rows, reveal_names: bool = False, projector: bool = False) -> alt.Chart:
    """Scored guesses against outcomes; dots on the diagonal were guessed exactly."""
    data = board_frame([r for r in rows if r.score is not None], reveal_names)
    if not len(data):
        data = pd.DataFrame(columns=["student", "guess", "val_accuracy", "architecture", "score"])
    size = _sizes(projector)
    diagonal = alt.Chart(pd.DataFrame({"a": [0.0, 1.0]})).mark_line(
        color=TEXT, strokeDash=[6, 4], strokeWidth=size["stroke"] / 2).encode(x="a:Q", y="a:Q")
    dots = alt.Chart(data).mark_point(filled=True, size=size["dot"]).encode(
        x=alt.X("guess:Q", title="guess", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("val_accuracy:Q", title="outcome (validation accuracy)", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("architecture:N", scale=alt.Scale(domain=list(ARCH_COLOURS),
                                                          range=list(ARCH_COLOURS.values()))),
        tooltip=[alt.Tooltip("student:N"), alt.Tooltip("guess:Q", format=".0%"),
                 alt.Tooltip("val_accuracy:Q", title="outcome", format=".1%"), alt.Tooltip("score:Q")])
    chart = alt.layer(diagonal, dots).properties(height=420 if projector else 320,
                                                 title="Guesses against outcomes")
    return _style(chart, projector)
