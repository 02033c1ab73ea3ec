"""Browser tests of the Draw page's new views: an open-top 4 and a thick 8 drawn with the mouse,
then saliency and the nearest MNIST images; and a phone-sized page drawn on with touch events.

They share the session's server (tests/e2e/conftest.py). When the run store is still empty
(this file run alone) the page's "Train the default model" button trains the draw preset first.
Screenshots go to the e2e screenshot folder ($E2E_SCREENSHOTS or a temporary one).
"""
import tempfile

import pytest

from digit_strokes import drawing_layer, strokes_on_canvas
from test_draw_in_browser import TRAINING_TIMEOUT_MS, draw_strokes, read_digit, wait_for_nothing_drawn

pytestmark = pytest.mark.e2e

OPEN_FOUR = [[(0.12, 0.0), (0.05, 0.58), (0.95, 0.58)], [(0.72, 0.02), (0.72, 1.0)]]  # the top left open
PHONE = {"width": 390, "height": 844}  # a phone's CSS pixels
CHROMIUM = "/usr/bin/chromium"  # as in tests/e2e/conftest.py (a conftest is not importable by name)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def in_box(strokes, left, top, width, height):
    return [[(left + x * width, top + y * height) for x, y in stroke] for stroke in strokes]


def ensure_a_model(page) -> None:
    drawing_layer(page)
    train = page.get_by_role("button", name="Train the default model")
    if train.count():
        train.click()
        page.get_by_text("Model that reads your drawing").wait_for(timeout=TRAINING_TIMEOUT_MS)
        drawing_layer(page)


def set_pen_width(page, width: int) -> None:
    slider = page.get_by_role("slider", name="Pen width")
    slider.focus()
    while int(float(slider.get_attribute("aria-valuetext"))) < width:
        slider.press("ArrowRight")


def test_an_open_four_and_a_thick_eight_then_saliency_and_the_nearest_images(open_app, screenshot_dir):
    page = open_app("draw")
    ensure_a_model(page)
    wait_for_nothing_drawn(page)

    draw_strokes(page, in_box(OPEN_FOUR, 70, 40, 140, 200))
    assert read_digit(page, "4") == "4"

    page.get_by_role("button", name="Clear").click()
    wait_for_nothing_drawn(page)
    set_pen_width(page, 36)
    draw_strokes(page, strokes_on_canvas(8, left=80, top=30, width=120, height=210))
    assert read_digit(page, "8") == "8"

    page.get_by_role("tab", name="Saliency").click()
    page.get_by_text("Why it says 8").wait_for(timeout=90_000)
    page.get_by_text("Evidence for").first.wait_for()
    assert page.locator('[data-testid="stImage"] img').count() >= 3  # the model's input and the two heat maps
    page.screenshot(path=str(screenshot_dir / "draw-saliency.png"), full_page=True)

    page.get_by_role("tab", name="Nearest MNIST images").click()
    page.get_by_role("button", name="Find the nearest MNIST images").click()
    page.get_by_text("By the last hidden layer").wait_for(timeout=180_000)
    tiles = page.locator('img[alt^="a "]')  # each neighbour tile: "a 8", with its label and distance
    tiles.nth(15).wait_for()
    assert tiles.count() >= 16  # 8 by pixels, 8 by the last hidden layer
    page.screenshot(path=str(screenshot_dir / "draw-nearest.png"), full_page=True)


def touch_stroke(cdp, points) -> None:
    """One finger stroke through Chromium's DevTools protocol (Input.dispatchTouchEvent)."""
    (x, y), rest = points[0], points[1:]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for x, y in rest:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_a_phone_draws_with_touch_events(app_server, screenshot_dir):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=PHONE,
            device_scale_factor=3, is_mobile=True, has_touch=True,
            user_agent="Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/156.0 Mobile Safari/537.36")
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{app_server}/draw")
            page.locator("h1").first.wait_for(timeout=60_000)
            ensure_a_model(page)
            canvas = drawing_layer(page)
            canvas.scroll_into_view_if_needed()
            box = canvas.bounding_box()
            assert box["width"] <= PHONE["width"]  # the canvas fits the phone's screen
            cdp = context.new_cdp_session(page)
            # A "7": the bar, then the stem, as a finger draws it.
            seven = [[(box["x"] + 60 + 16 * i, box["y"] + 50) for i in range(11)]
                     + [(box["x"] + 220 - 9 * i, box["y"] + 50 + 20 * i) for i in range(1, 11)]]
            touch_stroke(cdp, seven[0])
            assert read_digit(page, "7") == "7"
            page.screenshot(path=str(screenshot_dir / "draw-phone.png"), full_page=True)
        finally:
            context.close()
