"""The Home page's chart: how many images of each digit the dataset holds."""
from __future__ import annotations

import altair as alt
import pandas as pd

from .palette import BLUE


def class_counts_chart(train_counts: list[int], test_counts: list[int] | None = None,
                       height: int = 240) -> alt.Chart:
    """Bars of how many training images each digit has (test counts in the tooltip)."""
    test_counts = test_counts or [None] * len(train_counts)
    data = pd.DataFrame({"digit": range(len(train_counts)), "training images": train_counts,
                         "test images": test_counts})
    return alt.Chart(data).mark_bar(color=BLUE).encode(
        x=alt.X("digit:O", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("training images:Q"),
        tooltip=["digit:O", alt.Tooltip("training images:Q", format=","),
                 alt.Tooltip("test images:Q", format=",")],
    ).properties(height=height, title="Training images per digit")
