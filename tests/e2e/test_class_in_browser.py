"""Browser test: a class of three and its teacher, in four browser contexts at once.

 1. Three students open a shared link with tiny settings, and join with a name and a PIN.
 2. Two of them press Train. The teacher turns on a lesson with guesses (written to the
    class's database, as the console does); the third student's sidebar follows within a
    few seconds and asks for a guess; that student guesses 80% and trains.
 3. The teacher unlocks the console with the teacher PIN, sees three dots on the class
    board with the names hidden, presses Reveal and sees the three names.
 4. The first student opens a second context, signs in with the same name and PIN, and
    finds their run.
 5. Screenshots of the board and of projector mode are saved (E2E_SCREENSHOTS or a temp folder).

The test starts its own server (its own run store and class database) with MNIST_LAB_TEACHER_PIN set.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, SERVER_START_TIMEOUT, VIEWPORT, _answers, _free_port
from preconditions import have_mnist, mnist_data_dir, require, require_module

pytestmark = pytest.mark.e2e

TEACHER_PIN = "4821"
LINK = "?arch=softmax&subset=20&epochs=1&batch_size=64&optimizer=sgd&lr={lr}"
STUDENTS = (("Ada", "2580", 0.01), ("Bo", "1357", 0.3), ("Cy", "2468", 3.0))
RUN_TIMEOUT = 180
CHART = '[data-testid="stVegaLiteChart"]'


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    """`streamlit run app.py` with a teacher PIN and a run store of its own; yields (url, runs folder)."""
    require(have_mnist(), "real MNIST is not available (set MNIST_DATA_DIR)")
    runs = tmp_path_factory.mktemp("class-runs")
    port = _free_port()
    log_path = runs.parent / "class-server.log"
    env = dict(os.environ, MNIST_DATA_DIR=str(mnist_data_dir()), MNIST_LAB_RUNS=str(runs),
               MNIST_LAB_TEACHER_PIN=TEACHER_PIN, MNIST_LAB_TRAINING_SLOTS="1")
    candidates = [REPO_ROOT / ".venv" / "bin" / "streamlit", Path(sys.executable).parent / "streamlit"]
    streamlit = next((c for c in candidates if c.exists()), Path(shutil.which("streamlit") or "streamlit"))
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
        yield url, runs
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@pytest.fixture
def browser():
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = require_module("playwright.sync_api", "Playwright is missing (bash scripts/install.sh --dev)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_tab(browser, url: str, opened: list | None = None):
    """A page in a browser context of its own: its own cookies and storage, like another device."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    if opened is not None:
        opened.append(page)
    page.set_default_timeout(60_000)
    page.goto(url)
    page.get_by_role("button", name="Train", exact=True).wait_for()
    return page


def settle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def name_form(page, name: str, pin: str, button: str) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Your name (join or sign in)").click()
    sidebar.get_by_role("textbox", name="Name", exact=True).fill(name)
    sidebar.get_by_role("textbox", name="Name", exact=True).press("Enter")
    settle(page)
    pin_box = sidebar.get_by_role("textbox", name="PIN (4 digits)")
    pin_box.click()
    pin_box.press_sequentially(pin)  # typed key by key: fill() on this password box was not always committed
    pin_box.press("Enter")
    settle(page)
    sidebar.get_by_role("button", name=button, exact=True).click()
    sidebar.get_by_role("button", name="Sign out").wait_for()
    settle(page)


def press_train(page) -> None:
    """Press Train and wait until the run is queued or training (the app then opens the Train page)."""
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_url("**/train**")
    page.get_by_role("button", name="Stop", exact=True).or_(page.get_by_text("Run saved")).first.wait_for()
    settle(page)


def wait_for_saved_runs(runs: Path, count: int) -> None:
    from mnist_core.runs import RunStore

    deadline = time.time() + RUN_TIMEOUT
    while len(RunStore(runs).list()) < count and time.time() < deadline:
        time.sleep(0.5)
    assert len(RunStore(runs).list()) == count, "every run is saved"


def board_dots(page) -> int:
    return page.locator(CHART).first.locator(".mark-symbol.role-mark path").count()  # the board, not the guesses


@pytest.fixture
def tabs(browser, screenshot_dir, request):
    """Every page the test opens; on a failure each leaves a screenshot."""
    opened = []
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for number, page in enumerate(opened):
            try:
                page.screenshot(path=str(screenshot_dir / f"failed-class-tab-{number}.png"), full_page=True)
            except Exception:  # noqa: BLE001  a closed page must not hide the failure
                pass
        print(f"\nScreenshots of the failed test's tabs: {screenshot_dir}")


def test_three_students_and_their_teacher(class_server, browser, screenshot_dir, tabs):
    from mnist_core.classroom import Classroom
    from mnist_core.database import open_database
    from mnist_core.lessons import CONTROLS, FREE, LOCKED, Lesson, LessonBook

    url, runs = class_server
    students = [new_tab(browser, f"{url}/{LINK.format(lr=lr)}", tabs) for _, _, lr in STUDENTS]
    for page, (name, pin, _) in zip(students, STUDENTS):
        name_form(page, name, pin, "Join")
    students[0].get_by_role("textbox", name="Run name").fill("Ada's first run")
    students[0].get_by_role("textbox", name="Run name").press("Enter")
    settle(students[0])
    for page in students[:2]:
        press_train(page)

    book = LessonBook(Classroom(open_database(runs)))
    book.save(None, Lesson("Guess day", guesses=True, modes={c: LOCKED for c in CONTROLS} | {"lr": FREE},
                           values={"arch": "softmax", "subset": 20, "epochs": 1, "batch_size": 64,
                                   "optimizer": "sgd", "lr": 3.0}))
    book.set_current(None, "Guess day")
    cy = students[2]
    guess = cy.get_by_role("spinbutton", name="Final validation accuracy (%)")
    guess.wait_for(timeout=90_000)  # the sidebar follows the new lesson within a few seconds, unasked
    assert cy.get_by_role("button", name="Train", exact=True).is_disabled(), "Train waits for the guess"
    guess.fill("80")
    guess.press("Enter")
    settle(cy)
    press_train(cy)
    wait_for_saved_runs(runs, 3)
    cy.reload()
    cy.get_by_role("button", name="Train", exact=True).wait_for()

    teacher = new_tab(browser, f"{url}/teacher", tabs)
    teacher.get_by_role("textbox", name="Teacher PIN").fill(TEACHER_PIN)
    teacher.get_by_role("button", name="Unlock").click()
    teacher.get_by_role("tab", name="Class board").wait_for()
    teacher.locator(CHART).first.wait_for()
    settle(teacher)
    teacher.wait_for_function(f"() => document.querySelector('{CHART}').querySelectorAll('.mark-symbol.role-mark path').length >= 3")
    assert board_dots(teacher) == 3
    table = teacher.locator('[data-testid="stTable"]').first
    assert "Student 1" in table.inner_text() and "Ada" not in table.inner_text(), "names hidden until Reveal"
    teacher.get_by_role("button", name="Reveal", exact=True).click()
    teacher.get_by_role("button", name="Hide names").wait_for()
    settle(teacher)
    text = teacher.locator('[data-testid="stTable"]').first.inner_text()
    assert all(name in text for name, _, _ in STUDENTS), text
    assert "80%" in text, "Cy's guess is on the board"
    teacher.set_viewport_size({"width": 1400, "height": 1800})
    settle(teacher)
    teacher.screenshot(path=str(screenshot_dir / "class-board.png"))

    again = new_tab(browser, url + "/train", tabs)  # Ada on another device
    name_form(again, *STUDENTS[0][:2], "Sign in")
    again.get_by_text("Ada's first run").first.wait_for()
    again.set_viewport_size({"width": 1400, "height": 1500})
    again.get_by_text("Projector mode").click()
    again.locator(".chart-summary").first.wait_for()
    settle(again)
    summary = again.locator(".chart-summary").first.inner_text()
    assert summary.startswith("Validation accuracy reached") or summary.startswith("Validation accuracy rose"), summary
    again.screenshot(path=str(screenshot_dir / "train-projector.png"))

    projector = new_tab(browser, f"{url}/teacher?projector=1", tabs)
    projector.get_by_role("textbox", name="Teacher PIN").fill(TEACHER_PIN)
    projector.get_by_role("button", name="Unlock").click()
    projector.locator(CHART).first.wait_for()
    settle(projector)
    projector.wait_for_function(f"() => document.querySelector('{CHART}').querySelectorAll('.mark-symbol.role-mark path').length >= 3")
    size = projector.evaluate("() => getComputedStyle(document.querySelector('h1')).fontSize")
    assert float(size.removesuffix("px")) >= 48, f"projector mode: large headings ({size})"
    assert projector.locator(".chart-summary").count() >= 1, "a one-sentence summary under the chart"
    projector.set_viewport_size({"width": 1400, "height": 2000})
    settle(projector)
    projector.screenshot(path=str(screenshot_dir / "class-board-projector.png"))
