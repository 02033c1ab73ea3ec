"""MNIST Lab's one palette: the colours of `.streamlit/config.toml`'s [theme], read at import.

Every chart and every bit of page HTML takes its colours from here, so the app's
widgets (which Streamlit colours from the same file) and its charts always agree.

    PALETTE              chartCategoricalColors, Okabe-Ito (colour-blind safe), in order:
                         BLUE, ORANGE, GREEN, PINK, SKY, VERMILLION, YELLOW, BLACK
    SEQUENTIAL           chartSequentialColors (viridis); SEQUENTIAL_SCHEME names that scale for Vega
    PRIMARY, BACKGROUND, SECONDARY_BACKGROUND, TEXT    the theme's own colours

The theme has no key for the few colours below it; they live here so that ui/ and
pages/ hold no colour of their own.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

CONFIG_PATH = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"
THEME = tomllib.loads(CONFIG_PATH.read_text())["theme"]

PALETTE: list[str] = list(THEME["chartCategoricalColors"])
BLUE, ORANGE, GREEN, PINK, SKY, VERMILLION, YELLOW, BLACK = PALETTE
SEQUENTIAL: list[str] = list(THEME["chartSequentialColors"])
SEQUENTIAL_SCHEME = "viridis"  # Vega's own copy of SEQUENTIAL: smoother than interpolating its 10 stops
PRIMARY = THEME["primaryColor"]
BACKGROUND = THEME["backgroundColor"]
SECONDARY_BACKGROUND = THEME["secondaryBackgroundColor"]
TEXT = THEME["textColor"]

# Not theme colours.
MNIST_INK, MNIST_PAPER = "#FFFFFF", "#000000"  # the canvas draws as MNIST did: white ink on black
PALE_BLUE = "#9ecae1"  # the confusion matrix's diagonal: correct, so quieter than the orange mistakes
HOVER_RULE = "#9AA4B1"  # the vertical rule under the pointer on line charts
BORDER = "#d0d7de"  # thin frames around picture cards
GREY_DARK, GREY, GREY_MID, GREY_LIGHT = "#333333", "#444444", "#555555", "#888888"  # card text, captions, frames


def categorical(count: int) -> list[str]:
    """`count` colours from PALETTE, starting again from the first after the last."""
    return [PALETTE[i % len(PALETTE)] for i in range(count)]
