"""Browser test of Step mode: press Step in the real app and see the picture of the change change.

The picture is a PNG the page serves as an <img>; each press makes a new one (a new media
URL and new pixels), so the test compares the element's screenshots before and after a press.
"""
import os
import re
import time
from pathlib import Path

import pytest

from test_train_in_browser import set_slider

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(os.environ.get("E2E_SCREENSHOTS") or "/tmp")


def change_picture(page):
    """The first image of the main area: the picture of the last press's change."""
    picture = page.locator('[data-testid="stMain"] [data-testid="stImage"] img').first
    picture.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
    return picture


def batches_trained(page) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Batches trained")
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def test_step_changes_the_picture_then_finish_saves_the_run(open_app):
    page = open_app("train")
    set_slider(page, "Training images", "1k")
    page.get_by_text("Step by step", exact=True).click()
    page.get_by_role("button", name="Start stepping").click()
    step = page.get_by_role("button", name="Step", exact=True)
    step.wait_for(timeout=60_000)

    step.click()
    page.get_by_text("1 batch(es) in the history so far", exact=False).wait_for(timeout=60_000)
    first_src = change_picture(page).get_attribute("src")
    first = change_picture(page).screenshot()
    assert batches_trained(page).startswith("1 of ")

    page.get_by_role("button", name="Step ×10").click()
    page.get_by_text("11 batch(es) in the history so far", exact=False).wait_for(timeout=60_000)
    page.wait_for_function("src => { const img = document.querySelector("
                           "'[data-testid=\"stMain\"] [data-testid=\"stImage\"] img'); "
                           "return img && img.src !== src && img.complete; }", arg=first_src)
    time.sleep(0.3)
    second = change_picture(page).screenshot()
    assert second != first, "the picture shows the new press's change"
    assert batches_trained(page).startswith("11 of ")
    page.screenshot(path=str(SCREENSHOTS / "issue15-step-mode.png"), full_page=True)

    page.get_by_role("button", name="Finish and save").click()
    accuracy = page.locator('[data-testid="stMetric"]').filter(has_text="Test accuracy")
    accuracy.wait_for(timeout=60_000)
    assert re.search(r"[0-9.]+%", accuracy.inner_text())
    page.get_by_role("button", name="Download run (.zip)").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "issue15-step-saved.png"), full_page=True)
