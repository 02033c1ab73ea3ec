"""Browser test: run one classic study (classic-l2, 6 runs on all 60,000 images) from the Experiments
page, see it beside the reported numbers, then open time travel on one of its runs.

Screenshots of the results and of time travel, at 1400 px and on a narrow (420 px) screen, are
written to the screenshot folder (E2E_SCREENSHOTS, or a temporary one).
"""
import re

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

USER = "e2eclassic01"
STUDY_TIMEOUT = 600_000  # ms: six sigmoid-MLP runs of 5 epochs, on a machine others share


def settle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && "
                           "Array.from(document.images).every(i => i.complete)")


def shoot(page, screenshot_dir, name: str, focus: str) -> None:
    """Screenshots at 1400 and 420 px wide, scrolled to the text `focus` (the app scrolls inside its main
    container, so a full-page screenshot would only show the top)."""
    for width in (1400, 420):
        page.set_viewport_size({"width": width, "height": 900})
        settle(page)
        page.get_by_text(focus).first.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / f"{name}-{width}.png"))
    page.set_viewport_size({"width": 1400, "height": 900})


def test_a_classic_study_runs_compares_with_the_report_and_opens_time_travel(browser_page, app_server,
                                                                             screenshot_dir):
    page = browser_page
    page.goto(f"{app_server}/experiments?user={USER}")
    page.locator("h1").first.wait_for(timeout=60_000)
    page.get_by_role("combobox", name="Study").click()
    page.get_by_role("option", name="Classic: L2 from collapse to none").click()
    settle(page)
    assert page.get_by_text("Reported: 10.3 / 36.0 / 89.2").count() == 1
    page.get_by_role("button", name="Run experiment").click()
    page.get_by_text("Reported vs yours").wait_for(timeout=STUDY_TIMEOUT)
    settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text(re.compile(r"Orderings the study reported .*: \d+ of \d+ held")).count() == 1
    table = page.locator('[data-testid="stDataFrame"]').filter(has_text="difference (points)")
    table.first.wait_for(timeout=60_000)  # the grid draws its cells a moment after the heading above it
    assert table.count() == 1
    shoot(page, screenshot_dir, "classic-l2-results", "Reported vs yours")

    page.goto(f"{app_server}/mistakes?user={USER}")
    page.locator("h1").first.wait_for(timeout=60_000)
    page.get_by_role("combobox", name="Run to look at").click()
    page.get_by_role("option", name=re.compile(r"^Classic: L2 from collapse to none: lr 0.1 L2 0.0001 ")).click()
    settle(page)
    slider = page.get_by_role("slider", name="Epoch (time travel)")
    assert slider.get_attribute("aria-valuetext") == "5"
    mistakes = page.locator('[data-testid="stMetric"]').filter(has_text="Mistakes in all").inner_text()
    slider.focus()
    for _ in range(4):
        slider.press("ArrowLeft")
        page.wait_for_timeout(200)
    settle(page)
    assert slider.get_attribute("aria-valuetext") == "1"
    page.get_by_text("Showing the model as it was after epoch 1 of 5.").wait_for()
    after = page.locator('[data-testid="stMetric"]').filter(has_text="Mistakes in all").inner_text()
    assert after != mistakes  # epoch 1's model makes other (more) mistakes than the final one
    shoot(page, screenshot_dir, "time-travel-mistakes", "Showing the model as it was")
