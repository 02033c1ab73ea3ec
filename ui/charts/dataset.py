"""The Home page's chart: how many images of each digit the dataset holds."""
from __future__ import annotations

import functools
import json

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


def class_counts_spec(train_counts: list[int], test_counts: list[int] | None = None, height: int = 240) -> dict:
    """`class_counts_chart` as a Vega-Lite spec with its data, for st.vega_lite_chart.

    Home draws it on every visit, with the same counts for every visitor: building and
    validating the Altair chart each time was most of the page's server time when a
    class opens it at once, so the spec is built once per dataset.
    """
    return json.loads(_class_counts_spec(tuple(train_counts), tuple(test_counts or ()), height))


@functools.lru_cache(maxsize=8)
def _class_counts_spec(train_counts: tuple, test_counts: tuple, height: int) -> str:
    return json.dumps(class_counts_chart(list(train_counts), list(test_counts) or None, height).to_dict())
