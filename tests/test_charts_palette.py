"""Tests of ui/charts/palette.py: one palette, the theme's, and no colour written anywhere else in ui/ or pages/."""
import re
import tomllib
from pathlib import Path

from ui.charts import palette

REPO_ROOT = Path(__file__).resolve().parents[1]
HEX_COLOUR = re.compile(r"#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})\b")


def test_the_palette_is_the_themes_colours():
    theme = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())["theme"]
    assert palette.PALETTE == theme["chartCategoricalColors"]
    assert palette.SEQUENTIAL == theme["chartSequentialColors"]
    assert (palette.PRIMARY, palette.BACKGROUND, palette.SECONDARY_BACKGROUND, palette.TEXT) == (
        theme["primaryColor"], theme["backgroundColor"], theme["secondaryBackgroundColor"], theme["textColor"])
    assert [palette.BLUE, palette.ORANGE, palette.GREEN, palette.PINK, palette.SKY, palette.VERMILLION,
            palette.YELLOW, palette.BLACK] == theme["chartCategoricalColors"]
    assert palette.PRIMARY == palette.BLUE  # widgets and the first chart series share one blue


def test_categorical_wraps_around_the_palette():
    n = len(palette.PALETTE)
    assert palette.categorical(3) == palette.PALETTE[:3]
    assert palette.categorical(n + 2) == palette.PALETTE + palette.PALETTE[:2]
    assert palette.categorical(0) == []


def test_no_file_in_ui_or_pages_writes_a_colour_of_its_own():
    sources = [*REPO_ROOT.glob("ui/**/*.py"), *REPO_ROOT.glob("pages/*.py"), REPO_ROOT / "app.py"]
    assert len(sources) > 20
    found = {path.relative_to(REPO_ROOT).as_posix(): HEX_COLOUR.findall(path.read_text())
             for path in sources if path.name != "palette.py"}
    assert {path: colours for path, colours in found.items() if colours} == {}


def test_every_altair_chart_is_built_in_ui_charts():
    outside = [path.relative_to(REPO_ROOT).as_posix()
               for path in [*REPO_ROOT.glob("ui/*.py"), *REPO_ROOT.glob("pages/*.py"), REPO_ROOT / "app.py"]
               if re.search(r"^import altair|^from altair|\balt\.Chart\(", path.read_text(), re.M)]
    assert outside == []
