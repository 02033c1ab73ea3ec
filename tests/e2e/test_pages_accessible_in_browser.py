"""Accessibility, checked by a real tool: axe-core (npm, `bash scripts/install.sh --dev`) injected into every page.

Every page is opened in normal and in projector mode (`?projector=1`) and scanned with
axe-core's default rules. The project's own serious or critical violations must be none.
Streamlit's own markup has some that a bare Streamlit app has too (its navigation list);
they are listed here by rule as known, so that a new one fails the test.
It runs after the other browser tests of the shared server, so pages show saved runs.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO_ROOT, wait_until_ready
from preconditions import require

pytestmark = pytest.mark.e2e

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
PAGES = ("", "train", "runs", "mistakes", "confusion_matrix", "per_class", "weights", "draw", "experiments", "teacher")
# Streamlit's sidebar navigation: a <ul> whose items are wrapped in <div>s (a bare Streamlit app has it).
FRAMEWORK_RULES = {"list", "listitem"}
SCAN = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
    id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.html.slice(0, 160))}))"""


def scan(page, url: str) -> list[dict]:
    page.goto(url)
    wait_until_ready(page)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(1500)  # charts and pictures drawn
    page.add_script_tag(path=str(AXE))
    return page.evaluate(SCAN)


@pytest.mark.parametrize("mode", ["normal", "projector"])
def test_no_serious_violation_of_our_own_on_any_page(app_server, browser_page, mode):
    require(AXE.exists(), f"{AXE} is missing (bash scripts/install.sh --dev installs axe-core)")
    own, framework = [], set()
    for path in PAGES:
        query = "?projector=1" if mode == "projector" else ""
        for violation in scan(browser_page, f"{app_server}/{path}{query}"):
            if violation["impact"] not in ("serious", "critical"):
                continue
            if violation["id"] in FRAMEWORK_RULES:
                framework.add(violation["id"])
            else:
                own.append(f"/{path} {violation['id']} ({violation['impact']}): {violation['nodes'][:2]}")
    assert own == [], "\n".join(own)
    assert framework <= FRAMEWORK_RULES
    print(f"\n{mode}: Streamlit's own markup still breaks {sorted(framework)} (known)")
