"""Fixtures for browser tests: a real `streamlit run app.py` server and a headless Chromium page.

    app_server    (session) starts the app on a free port with MNIST_DATA_DIR, a
                  temporary MNIST_LAB_RUNS and the environment of scripts/env.sh
                  (GLIBC_TUNABLES); waits until it answers; yields the base URL.
    browser_page  a fresh Chromium profile (Debian's /usr/bin/chromium through
                  Playwright), viewport 1400x900; a failing test leaves a
                  screenshot in the folder printed in the report.
    open_app      open_app(page, "train") loads /train and waits for the sidebar's Train button.

The tests here are marked `e2e`; they are skipped when Chromium, Playwright or MNIST is
missing, and fail with the reason under CI=true (tests/preconditions.py).
They share one server and its run store; test_draw_in_browser.py runs first, while the store is empty.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from preconditions import have_mnist, mnist_data_dir, require, require_module

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}
SERVER_START_TIMEOUT = 90  # seconds; a cold start imports torch (3-6 s) on a shared, busy machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


# The browser tests share one server and so one run store. This one covers a class's first
# day (no model yet: the Draw page offers to train one), so it must run before any test saves a run.
NEEDS_EMPTY_RUN_STORE = "test_draw_in_browser.py"


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.path.name != NEEDS_EMPTY_RUN_STORE)  # stable: the rest keep their order


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the test item, so browser_page knows whether the test failed.
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The app served by `streamlit run` on a free port; yields its base URL, stops it afterwards."""
    require(have_mnist(), "real MNIST is not available (set MNIST_DATA_DIR)")
    runs = tmp_path_factory.mktemp("e2e-runs")
    port = _free_port()
    log_path = runs.parent / "e2e-server.log"
    env = dict(os.environ, MNIST_DATA_DIR=str(mnist_data_dir()), MNIST_LAB_RUNS=str(runs))
    streamlit = REPO_ROOT / ".venv" / "bin" / "streamlit"
    if not streamlit.exists():
        streamlit = Path(shutil.which("streamlit") or "streamlit")
    # scripts/env.sh supplies GLIBC_TUNABLES, as run.sh does for a real server.
    command = (f"source scripts/env.sh && exec '{streamlit}' run app.py --server.port {port} "
               "--server.headless true --server.address 127.0.0.1")
    with open(log_path, "w") as log:
        server = subprocess.Popen(["bash", "-c", command], cwd=REPO_ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + SERVER_START_TIMEOUT
        while not _answers(url):
            if server.poll() is not None or time.time() > deadline:
                pytest.fail(f"The app did not start (see {log_path}):\n{log_path.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    return Path(os.environ.get("E2E_SCREENSHOTS") or tmp_path_factory.mktemp("e2e-screenshots"))


@pytest.fixture
def browser_page(request, screenshot_dir):
    """A Playwright page in a fresh headless Chromium profile, 1400x900."""
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = require_module("playwright.sync_api", "Playwright is missing (bash scripts/install.sh --dev)")
    with sync_api.sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT)
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(60_000)
        try:
            yield page
        finally:
            report = getattr(request.node, "report_call", None)
            if report is not None and report.failed:
                path = screenshot_dir / f"{request.node.name}.png"
                try:
                    page.screenshot(path=str(path), full_page=True)
                    print(f"\nScreenshot of the failed test: {path}")
                except Exception as error:  # noqa: BLE001  a dead page must not hide the real failure
                    print(f"\nNo screenshot ({error})")
            context.close()


def wait_until_ready(page) -> None:
    """Wait for the router to draw its sidebar (the Train button) and a page title."""
    page.get_by_role("button", name="Train", exact=True).wait_for(timeout=60_000)
    page.locator("h1").first.wait_for()


@pytest.fixture
def open_app(app_server, browser_page):
    """open_app(path="") -> the page, loaded at base URL + "/" + path and ready."""
    def open_path(path: str = ""):
        browser_page.goto(f"{app_server}/{path}")
        wait_until_ready(browser_page)
        return browser_page
    return open_path
