"""Projector mode: large fonts, thick lines and high contrast on every page and chart.

Turned on by the sidebar's toggle or by opening the app with `?projector=1`
(a teacher can bookmark that address for the classroom's screen). It is one
style sheet over the whole app, so every page and every chart follows without
a change of its own: charts are drawn as SVG, whose lines, points and text the
sheet thickens and enlarges. Under each chart a page calls `chart_summary()`:
in projector mode it shows a one-sentence summary in large type, readable from
the back of the room.
"""
from __future__ import annotations

import html

import streamlit as st

from .charts.palette import BACKGROUND, GREY, PRIMARY, TEXT
from .text import plain

PROJECTOR_PARAM = "projector"
PROJECTOR_KEY = "projector_mode"  # session_state (the toggle's key)

# Always on: Streamlit draws captions in the text colour at 60% opacity, grey on white below WCAG AA's
# 4.5:1 (axe-core's color-contrast); GREY is 9.7:1 on white.
BASE_CSS = f"""
<style>
  .stApp [data-testid="stCaptionContainer"] {{ color: {GREY}; opacity: 1; }}
</style>
"""

PROJECTOR_CSS = f"""
<style>
  .stApp, .stApp p, .stApp li, .stApp label, .stApp input, .stApp textarea,
  .stApp [data-testid="stMarkdownContainer"], .stApp [data-testid="stWidgetLabel"] p {{
    font-size: 1.35rem !important; color: {TEXT} !important; }}
  .stApp h1 {{ font-size: 3.2rem !important; }}
  .stApp h2 {{ font-size: 2.4rem !important; }}
  .stApp h3 {{ font-size: 1.9rem !important; }}
  .stApp [data-testid="stCaptionContainer"], .stApp [data-testid="stCaptionContainer"] p {{
    font-size: 1.2rem !important; color: {TEXT} !important; opacity: 1 !important; }}
  .stApp [data-testid="stMetricValue"], .stApp [data-testid="stMetricValue"] * {{ font-size: 3rem !important; }}
  .stApp [data-testid="stAppViewContainer"], .stApp [data-testid="stSidebar"] {{ background: {BACKGROUND}; }}
  .stApp [data-testid="stVegaLiteChart"] .mark-line path {{ stroke-width: 5px !important; }}
  .stApp [data-testid="stVegaLiteChart"] .mark-rule line {{ stroke-width: 3px !important; }}
  .stApp [data-testid="stVegaLiteChart"] .mark-symbol path {{ stroke-width: 3px !important; }}
  .stApp [data-testid="stVegaLiteChart"] text {{ font-size: 18px !important; fill: {TEXT} !important; }}
  /* The larger axis labels are drawn after Vega has laid the chart out for the small ones: let them
     overflow the chart's box into a margin, instead of being cut off at its left edge. */
  .stApp [data-testid="stVegaLiteChart"] {{ padding-left: 1.75rem; }}
  .stApp [data-testid="stVegaLiteChart"] svg {{ overflow: visible; }}
  .stApp [data-testid="stVegaLiteChart"] .role-axis-domain line,
  .stApp [data-testid="stVegaLiteChart"] .role-axis-tick line {{ stroke: {TEXT} !important; stroke-width: 2px !important; }}
  .stApp button p, .stApp button [data-testid="stMarkdownContainer"] {{ color: inherit !important; }}
  .stApp .chart-summary {{ font-size: 1.6rem !important; font-weight: 600; border-left: 6px solid {PRIMARY};
    padding-left: 0.6rem; }}
</style>
"""


def projector_on() -> bool:
    """Whether this session is in projector mode (`?projector=1` switches it on the first time)."""
    if PROJECTOR_KEY not in st.session_state and st.query_params.get(PROJECTOR_PARAM, "") in ("1", "true", "on"):
        st.session_state[PROJECTOR_KEY] = True
    return bool(st.session_state.get(PROJECTOR_KEY))


def apply_projector_mode() -> bool:
    """Put the app's style sheet on the page, with the projector one when the mode is on (once per run, early)."""
    on = projector_on()
    st.html(BASE_CSS + (PROJECTOR_CSS if on else ""))
    return on


def projector_toggle() -> None:
    """The sidebar's switch."""
    projector_on()
    st.toggle("Projector mode", key=PROJECTOR_KEY, help="Large fonts, thick lines, high contrast and a "
              "one-sentence summary under each chart, for the classroom's screen. The address "
              "?projector=1 opens the app in this mode.")


def chart_summary(sentence: str, always: bool = False) -> None:
    """A one-sentence summary under a chart: large in projector mode, a caption otherwise (`always`)."""
    if projector_on():
        # Inside an HTML block Markdown escapes are not undone, so the sentence is HTML-escaped instead.
        st.markdown(f'<p class="chart-summary">{html.escape(sentence)}</p>', unsafe_allow_html=True)
    elif always:
        st.caption(plain(sentence))
