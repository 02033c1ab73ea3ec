"""How long each "Look inside" view takes to prepare, for a model with 1,000 mistakes (figures, not a test).

Two measurements:
  1. views: the data preparation and chart building of each view, called directly
     (mnist_core.metrics/inspect + ui/charts/inspection + the gallery HTML), each chart
     serialised with to_dict() as Streamlit does;
  2. pages: the whole page script as the server runs it (AppTest), after a warm-up,
     for a softmax, an MLP and a CNN run saved in a temporary run store.
  3. (optional, --browser URL, with --keep-runs set to that app's run folder) the time
     headless Chromium takes from choosing a run in a page's run picker (or opening a
     weights tab) until the last change on the page: server rerun, transfer, pictures
     decoded and charts drawn.

The run has exactly 1,000 mistakes: the probabilities are real MNIST test labels with
1,000 images (seeded) made wrong at random confidences; the models have the default
sizes (MLP 784-512-10, CNN 16-32 channels), so every picture and chart has its real cost.

    python bench/inspect_render.py                     # views and pages, about a minute
    python bench/inspect_render.py --keep-runs /tmp/lab-runs-h4 --browser http://localhost:8621

Quote medians; the machine is shared and absolute times move with load.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mnist_core import inspection, pictures, tables  # noqa: E402
from mnist_core.config import TrainConfig  # noqa: E402
from mnist_core.data import load_mnist, resolve_data_dir  # noqa: E402
from mnist_core.metrics import (confusion_matrix, describe_confusions, misclassified, per_class_accuracy,  # noqa: E402
                                precision_recall_f1, top_confusions)
from mnist_core.models import create_model  # noqa: E402

MISTAKES = 1_000
REPEATS = 7


def probabilities_with_mistakes(labels: np.ndarray, wrong: int, seed: int = 0) -> np.ndarray:
    """(n, 10) float32 probabilities: right on every image except `wrong` seeded ones."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    probabilities = rng.dirichlet(np.full(10, 0.3), size=n).astype(np.float32) * 0.2
    predicted = labels.copy()
    bad = rng.choice(n, wrong, replace=False)
    predicted[bad] = (labels[bad] + rng.integers(1, 10, wrong)) % 10
    probabilities[np.arange(n), predicted] += rng.uniform(0.45, 0.99, n).astype(np.float32)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def timed(function, repeats: int = REPEATS) -> float:
    """Median wall time of function() in milliseconds (after one warm-up call)."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def view_timings(images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    from ui.charts import inspection as charts
    from ui.image_grid import tiles_html

    models = {arch: create_model(TrainConfig(arch=arch)).eval() for arch in ("softmax", "mlp", "cnn")}
    epochs = [{"epoch": e, "per_class_val_accuracy": list(np.linspace(0.8, 0.99, 10))} for e in range(1, 21)]
    x = inspection.image_to_input(images[0])

    def mistakes_view():
        mistakes = misclassified(labels, probabilities)
        shown = mistakes.filter(min_confidence=0.0, max_confidence=1.0)
        return tiles_html(images, shown, 0, 40)

    def confusion_view():
        cm = confusion_matrix(labels, probabilities.argmax(1))
        charts.confusion_heatmap(cm).to_dict()
        describe_confusions(cm, k=3)
        top = top_confusions(cm, k=12)[0]
        cell = inspection.cell_examples(labels, probabilities, top["true"], top["predicted"])
        for t, p in ((top["true"], top["predicted"]), (top["true"], top["true"]), (top["predicted"],) * 2):
            pictures.digit_png(inspection.average_image(images, inspection.cell_examples(labels, probabilities, t, p).index), 5)
        return tiles_html(images, cell, 0, min(40, len(cell)))

    def per_class_view():
        cm = confusion_matrix(labels, probabilities.argmax(1))
        accuracy = per_class_accuracy(cm)
        tables.class_table_rows(precision_recall_f1(cm), accuracy)
        charts.per_class_bar_chart(accuracy).to_dict()
        charts.per_class_history_chart(epochs).to_dict()
        other = per_class_accuracy(confusion_matrix(labels, np.roll(probabilities, 1, axis=0).argmax(1)))
        charts.compare_runs_chart(accuracy, other, "first", "second").to_dict()

    def softmax_templates_view(rows=3):
        for _ in range(rows):  # the run and two runs with other L2
            templates = inspection.softmax_templates(models["softmax"])
            limit = pictures.symmetric_limit(templates)
            [pictures.png_bytes(pictures.diverging_rgb(t, limit)) for t in templates]
            inspection.roughness(templates)

    def mlp_units_view(count=64):
        units = inspection.first_layer_units(models["mlp"])
        chosen = inspection.strongest_units(units)[:count]
        pictures.png_bytes(pictures.tile_grid([pictures.diverging_rgb(units[i], pictures.symmetric_limit(units[i])) for i in chosen],
                                      columns=16, scale=2, gap=4))

    def cnn_filters_view():
        filters = inspection.conv_filters(models["cnn"])
        limit = pictures.symmetric_limit(filters, 1.0)
        [pictures.png_bytes(pictures.diverging_rgb(f, limit)) for f in filters]

    def activations_view(arch):
        def view():
            for activation in inspection.layer_activations(models[arch], x):
                if activation.is_feature_map:
                    maps = activation.values
                    pictures.png_bytes(pictures.tile_grid([pictures.grey_rgb(m, float(maps.max()) or 1.0) for m in maps],
                                                  columns=16, scale=max(1, 84 // maps.shape[-1]), gap=4))
                else:
                    charts.activation_chart(activation).to_dict()
        return view

    def histograms_view(arch):
        return lambda: [charts.weight_histogram_chart(h).to_dict() for h in inspection.weight_histograms(models[arch])]

    return {
        "Mistakes: find, filter, one page of 40 tiles": timed(mistakes_view),
        "Mistakes: contact sheet PNG (500 tiles, on click)": timed(
            lambda: pictures.png_bytes(pictures.contact_sheet(images, misclassified(labels, probabilities), max_tiles=500)),
            repeats=3),
        "Confusion: heatmap + sentence + one cell (examples, 3 averages)": timed(confusion_view),
        "Confusion: PNG + CSV export (on click)": timed(lambda: (
            pictures.png_bytes(pictures.confusion_matrix_picture(confusion_matrix(labels, probabilities.argmax(1)))),
            tables.confusion_matrix_csv(confusion_matrix(labels, probabilities.argmax(1))))),
        "Per-class: bars, table, 20-epoch history, comparison": timed(per_class_view),
        "Weights: softmax templates, 3 runs": timed(softmax_templates_view),
        "Weights: MLP units, 64": timed(mlp_units_view),
        "Weights: MLP units, 256": timed(lambda: mlp_units_view(256)),
        "Weights: CNN first-layer filters": timed(cnn_filters_view),
        "Activations: softmax": timed(activations_view("softmax")),
        "Activations: MLP 512": timed(activations_view("mlp")),
        "Activations: CNN (feature maps of both conv layers)": timed(activations_view("cnn")),
        "Histograms: MLP (2 layers)": timed(histograms_view("mlp")),
        "Histograms: CNN (4 layers)": timed(histograms_view("cnn")),
    }


def save_runs(root: Path, data, probabilities: np.ndarray, tag: str) -> dict[str, str]:
    """A run per architecture ("bench <arch> <tag>") with the given test probabilities; real-size models
    trained for 1 step."""
    from mnist_core.runs import RunStore
    from mnist_core.train import fit

    store, ids = RunStore(root), {}
    for arch in ("softmax", "mlp", "cnn"):
        result = fit(TrainConfig(arch=arch, subset=20, epochs=1, batch_size=32, max_steps=1), data,
                     evaluate_test=False)
        result.test_probabilities = probabilities
        result.test_accuracy = float((probabilities.argmax(1) == data.test_labels.numpy()).mean())
        info = store.save(result, name=f"bench {arch} {tag}", owner="benchuser01", test_labels=data.test_labels)
        ids[arch] = info.run_id
    return ids


WEIGHTS_TABS = {"weights: first layer": "What the first layer learned", "weights: one input": "One input through the network",
                "weights: histograms": "Weight histograms"}
PAGE_ROWS = ["mistakes", "confusion_matrix", "per_class", *WEIGHTS_TABS]


def page_timings(root: Path, ids: dict[str, str], top_cell: tuple[int, int]) -> dict[tuple[str, str], float]:
    """Median time of a rerun of each page script (each tab of the weights page, which runs only
    the open one); the confusion page with its largest cell chosen."""
    from streamlit.testing.v1 import AppTest

    os.environ["MNIST_LAB_RUNS"] = str(root)
    out = {}
    for row in PAGE_ROWS:
        page = "weights" if row in WEIGHTS_TABS else row
        for arch, run_id in ids.items():
            at = AppTest.from_file(str(REPO_ROOT / "pages" / f"{page}.py"), default_timeout=120)
            at.query_params["user"] = "benchuser01"
            at.session_state["selected_run_id"] = run_id
            if page == "confusion_matrix":  # include the chosen cell's gallery and average images
                at.session_state["cm_cell"] = top_cell
            if page == "weights":
                at.session_state["weights_tab"] = WEIGHTS_TABS[row]

            def rerun():
                at.run()
                assert not at.exception, [e.value for e in at.exception]
            out[(row, arch)] = timed(rerun, repeats=5)
    return out


# In the page: remember when anything in the main area last changed (a MutationObserver).
WATCH_CHANGES = """() => { window.__lastChange = performance.now();
  new MutationObserver(() => { window.__lastChange = performance.now(); })
    .observe(document.querySelector('[data-testid="stMain"]'),
             {subtree: true, childList: true, attributes: true, characterData: true}); }"""
# Settled: nothing changed for 500 ms, and every picture and chart on the first screen is ready
# (off-screen pictures load lazily and charts in hidden tabs are drawn only when opened).
SETTLED = """() => { const seen = e => e.offsetParent !== null && e.getBoundingClientRect().top < innerHeight;
  return performance.now() - window.__lastChange > 500
    && document.querySelectorAll('[data-stale="true"]').length === 0
    && Array.from(document.images).filter(seen).every(i => i.complete)
    && Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]')).filter(seen)
         .every(c => c.querySelector('svg, canvas')); }"""


def _time_until_settled(page, action) -> float:
    """Seconds from `action()` (a click) to the last change of the page it caused."""
    page.wait_for_function(SETTLED, timeout=60000)
    start = page.evaluate("() => performance.now()")
    action()
    page.wait_for_function(SETTLED, timeout=60000)
    return (page.evaluate("() => window.__lastChange") - start) / 1000


def browser_timings(url: str, tag: str) -> dict[tuple[str, str], float]:
    """Seconds from choosing a bench run in a page's run picker (or opening a weights tab) until
    the last change on the page: server rerun, transfer, pictures decoded and charts drawn.

    Measured in headless Chromium at 1400x900; the app at `url` must use the run folder
    given to --keep-runs.
    """
    import re

    from playwright.sync_api import sync_playwright

    def choose(page, arch):
        page.get_by_role("combobox", name="Run to look at").click()
        return lambda: page.get_by_role("option", name=re.compile(f"^bench {arch} {tag} ")).click()

    out = {}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(profile, executable_path="/usr/bin/chromium", headless=True,
                                                       args=["--no-sandbox", "--disable-gpu"],
                                                       viewport={"width": 1400, "height": 900})
        page = context.new_page()
        for name in ("mistakes", "confusion_matrix", "per_class", "weights"):
            page.goto(f"{url}/{name}?user=benchbrowser01")
            page.wait_for_selector("h1", timeout=60000)
            page.evaluate(WATCH_CHANGES)
            for arch in ("softmax", "mlp", "cnn"):
                times = []
                for other in ("mlp" if arch != "mlp" else "cnn", arch) * 3:
                    seconds = _time_until_settled(page, choose(page, other))
                    if other == arch:
                        times.append(seconds)
                out[("weights: first layer" if name == "weights" else name, arch)] = statistics.median(times)
                if name == "weights":  # then each other tab, from the click on it
                    first_tab = page.get_by_role("tab", name=WEIGHTS_TABS["weights: first layer"])
                    for row, label in list(WEIGHTS_TABS.items())[1:]:
                        tab_times = []
                        for _ in range(3):
                            _time_until_settled(page, first_tab.click)
                            tab_times.append(_time_until_settled(page, page.get_by_role("tab", name=label).click))
                        out[(row, arch)] = statistics.median(tab_times)
                    _time_until_settled(page, first_tab.click)
        context.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", metavar="URL", help="also time a running app's pages in headless Chromium")
    parser.add_argument("--keep-runs", metavar="DIR",
                        help="save the three 1,000-mistake runs in this run folder (e.g. the one --browser's app uses)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_mnist(resolve_data_dir(os.environ.get("MNIST_DATA_DIR") or REPO_ROOT.parent / "shared" / "mnist"),
                      download=False)
    images, labels = data.test_images.numpy(), data.test_labels.numpy()
    probabilities = probabilities_with_mistakes(labels, MISTAKES)
    assert len(misclassified(labels, probabilities)) == MISTAKES

    print(f"Look-inside views for a model with {MISTAKES:,} mistakes on the {len(labels):,} MNIST test images "
          f"(median of {REPEATS}, 1 torch thread; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)\n")
    print(f"{'view: data preparation + chart building':64} {'ms':>8}")
    for name, ms in view_timings(images, labels, probabilities).items():
        print(f"{name:64} {ms:8.1f}")

    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("MNIST_DATA_DIR", str(REPO_ROOT.parent / "shared" / "mnist"))
        folder = args.keep_runs or folder
        tag = time.strftime("%H%M%S")
        ids = save_runs(Path(folder), data, probabilities, tag)
        top = top_confusions(confusion_matrix(labels, probabilities.argmax(1)), k=1)[0]
        timings = page_timings(Path(folder), ids, (top["true"], top["predicted"]))
    print(f"\n{'whole page script (AppTest, warm caches), ms':50} {'softmax':>9} {'mlp':>9} {'cnn':>9}")
    for page in PAGE_ROWS:
        print(f"{page:50} " + " ".join(f"{timings[(page, arch)]:9.1f}" for arch in ("softmax", "mlp", "cnn")))

    if args.browser:
        timings = browser_timings(args.browser, tag)
        print(f"\n{'browser: choose the run until drawn, s (median of 3)':50} {'softmax':>9} {'mlp':>9} {'cnn':>9}")
        for page in PAGE_ROWS:
            print(f"{page:50} " + " ".join(f"{timings[(page, arch)]:9.2f}" for arch in ("softmax", "mlp", "cnn")))


if __name__ == "__main__":
    main()
