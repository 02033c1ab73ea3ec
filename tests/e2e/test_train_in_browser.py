"""Browser test: press Train in the real app and watch the chart grow until the final accuracy appears.

Drives `streamlit run app.py` in headless Chromium (fixtures in tests/e2e/conftest.py).
The live chart is Vega's SVG; its x-axis carries an aria-label such as "X-axis
titled 'epoch' for a linear scale with values from 0 to 0.38", whose upper
end is how far training has got: reading it repeatedly shows the chart growing.
"""
import re
import time

import pytest

pytestmark = pytest.mark.e2e

EPOCH_AXIS = re.compile(r"X-axis titled 'epoch' for a linear scale with values from 0 to ([0-9.]+)")


def chart_extent(page) -> float | None:
    """The largest epoch on the loss chart's x-axis, or None while there is no chart."""
    labels = page.locator('[data-testid="stVegaLiteChart"] [aria-label^="X-axis titled \'epoch\'"]')
    for label in labels.all():
        match = EPOCH_AXIS.search(label.get_attribute("aria-label") or "")
        if match:
            return float(match.group(1))
    return None


def set_slider(page, name: str, value: str) -> None:
    """Move a sidebar select-slider with the keyboard until it shows `value`."""
    slider = page.get_by_role("slider", name=name)
    slider.focus()
    for _ in range(20):
        if slider.get_attribute("aria-valuetext") == value:
            break
        current = slider.get_attribute("aria-valuetext")
        slider.press("ArrowLeft")
        page.wait_for_function(
            "([el, before]) => el.getAttribute('aria-valuetext') !== before", arg=[slider.element_handle(), current])
    assert slider.get_attribute("aria-valuetext") == value
    time.sleep(0.5)  # let the rerun that the change triggers finish


def test_train_grows_the_chart_live_then_shows_the_test_accuracy(open_app):
    page = open_app()
    set_slider(page, "Epochs", "2")
    user = re.search(r"user=(\w+)", page.url).group(1)

    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_url(re.compile(r"/train\?"))
    extents, deadline = [], time.time() + 180
    while time.time() < deadline and page.locator('[data-testid="stMetric"]').count() == 0:
        extent = chart_extent(page)
        if extent is not None and (not extents or extent != extents[-1]):
            extents.append(extent)
        time.sleep(0.1)

    accuracy = page.locator('[data-testid="stMetric"]').filter(has_text="Test accuracy")
    accuracy.wait_for()
    value = float(re.search(r"([0-9.]+)%", accuracy.inner_text()).group(1))
    assert value > 90, accuracy.inner_text()
    assert len(extents) >= 2 and extents == sorted(extents), f"the chart did not grow while training: {extents}"
    assert page.get_by_text(re.compile(r"Completed 2 epochs")).is_visible()
    assert (chart_extent(page) or 0) == pytest.approx(2.0, abs=0.01)

    # The run survives a reload and a page switch, and it is in this user's run history.
    page.reload()
    page.get_by_text(re.compile(r"Completed 2 epochs")).wait_for()
    assert f"user={user}" in page.url
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Run history", exact=True).click()
    page.get_by_role("heading", name="Your runs").wait_for()
    assert page.get_by_text("You have not trained a run yet.").count() == 0
    assert f"user={user}" in page.url
