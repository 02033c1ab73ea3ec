"""Browser test: open the four "Look inside" pages of the real app for a softmax, an MLP and a CNN run.

Tiny runs (20 MNIST images per digit, 1 epoch) are saved straight into the run
folder of the app under test; the pages list them because they read the folder
on every run. Checks what a teacher would see: the mistakes gallery and its paging,
the top-3 on hover and on click, a click on a confusion-matrix cell showing that
cell's images, the per-class charts and table, and every tab of the weights page.
"""
import re

import pytest

from mnist_core.config import TrainConfig
from mnist_core.metrics import confusion_matrix, misclassified, top_confusions
from mnist_core.runs import RunStore
from mnist_core.train import fit

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

USER = "e2einspect01"
ARCHS = {"softmax": "e2e softmax", "mlp": "e2e mlp", "cnn": "e2e cnn"}
CHART = '[data-testid="stVegaLiteChart"]'


@pytest.fixture(scope="module")
def inspect_runs(app_server, mnist, tmp_path_factory):
    """{arch: (RunInfo, test probabilities as saved)} in the app's run folder (the app_server fixture's).

    The probabilities are read back from the store, as the pages read them.
    """
    # app_server made it with tmp_path_factory.mktemp("e2e-runs"): a numbered folder (plus a "current" link).
    folders = [f for f in tmp_path_factory.getbasetemp().glob("e2e-runs[0-9]*") if not f.is_symlink()]
    assert len(folders) == 1, f"cannot tell which run folder the app uses: {folders}"
    store, runs = RunStore(folders[0]), {}
    for arch, name in ARCHS.items():
        result = fit(TrainConfig(arch=arch, hidden=(64,) if arch == "mlp" else None, subset=20, epochs=1,
                                 batch_size=32), mnist)
        info = store.save(result, name=name, owner=USER, test_labels=mnist.test_labels)
        runs[arch] = (info, store.load(info.run_id, with_model=False).test_probabilities)
    return runs


def settle(page) -> None:
    """Wait until the script run triggered last has finished and every picture has loaded."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && "
                           "Array.from(document.images).every(i => i.complete)")


def open_inspect_page(page, app_server, path: str, arch: str):
    page.goto(f"{app_server}/{path}?user={USER}")
    page.locator("h1").first.wait_for(timeout=60_000)
    picker = page.get_by_role("combobox", name="Run to look at")
    picker.click()
    page.get_by_role("option", name=re.compile(f"^{ARCHS[arch]} ")).click()
    settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    return page


@pytest.mark.parametrize("arch", list(ARCHS))
def test_every_look_inside_page_opens_for_each_architecture(browser_page, app_server, inspect_runs, arch, mnist):
    info, probabilities = inspect_runs[arch]
    mistakes = misclassified(mnist.test_labels, probabilities)

    page = open_inspect_page(browser_page, app_server, "mistakes", arch)
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Mistakes in all")
    assert f"{len(mistakes):,}" in metric.inner_text()
    assert page.locator("img.mnist-digit").count() == min(40, len(mistakes))

    page = open_inspect_page(browser_page, app_server, "confusion_matrix", arch)
    cells = page.locator(CHART).first.locator("g.mark-rect path")
    cells.first.wait_for()
    assert cells.count() >= 100
    assert page.get_by_text(re.compile("^The most common confusion")).count() == 1

    page = open_inspect_page(browser_page, app_server, "per_class", arch)
    page.locator(CHART).nth(2).wait_for()
    assert page.locator(CHART).count() == 3
    assert page.locator('[data-testid="stDataFrame"]').count() == 1

    page = open_inspect_page(browser_page, app_server, "weights", arch)
    expected_first_tab = {"softmax": "Orange", "mlp": "units of the first hidden layer",
                          "cnn": "filters of the first conv"}
    assert page.get_by_text(re.compile(expected_first_tab[arch])).count() >= 1
    for tab, sign in (("One input through the network", "The model reads"), ("Weight histograms", "weights · mean")):
        page.get_by_role("tab", name=tab).click()  # only the open tab runs: this reruns the page
        page.get_by_text(re.compile(sign)).first.wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_mistakes_show_top3_on_hover_and_click_and_page_on(browser_page, app_server, inspect_runs, mnist):
    _, probabilities = inspect_runs["softmax"]
    mistakes = misclassified(mnist.test_labels, probabilities)
    page = open_inspect_page(browser_page, app_server, "mistakes", "softmax")
    first_tile = page.locator("img.mnist-digit").first.locator("xpath=..")
    assert first_tile.get_attribute("title").startswith(f"Top 3 — {int(mistakes.top3_labels[0, 0])}: ")
    assert page.locator("img.mnist-digit").first.get_attribute("alt").startswith(f"test image {mistakes.index[0]}: a ")
    first_tile.get_by_text("top 3").click()
    assert first_tile.get_by_text(f"test #{mistakes.index[0]}").is_visible()

    page.get_by_role("spinbutton", name=re.compile("Page")).fill("2")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.querySelector('img.mnist-digit').alt.startsWith('test image {mistakes.index[40]}:')")
    assert page.get_by_text("Showing 41–80").is_visible()


def test_clicking_a_confusion_cell_shows_its_images(browser_page, app_server, inspect_runs, mnist):
    _, probabilities = inspect_runs["mlp"]
    cm = confusion_matrix(mnist.test_labels, probabilities.argmax(1))
    top = top_confusions(cm, k=1)[0]
    page = open_inspect_page(browser_page, app_server, "confusion_matrix", "mlp")
    cell = page.locator(f'{CHART} [aria-label^="Predicted digit: {top["predicted"]}; True digit: {top["true"]};"]')
    cell.last.click()
    heading = page.get_by_role("heading", name=re.compile(f"^True {top['true']}, read as {top['predicted']}:"))
    heading.wait_for()
    assert f"{top['count']:,} images" in heading.inner_text()
    settle(page)
    assert page.locator("img.mnist-digit").count() == min(40, top["count"])
    assert page.get_by_text(re.compile("^Average of these images")).is_visible()
