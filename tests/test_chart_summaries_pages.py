"""App tests of the chart summaries: in projector mode a one-sentence summary sits under the charts of
the Home, Per-class, Confusion matrix and Run history pages, and says what mnist_core computes from
the same run; in normal mode only the summaries meant for everyone show, as captions.

Two tiny real runs (20 images per digit, 2 epochs) are saved once per module in a temporary run store
owned by this test's user token.
"""
import html
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from preconditions import mnist_data_dir
from mnist_core import chart_summaries as cs
from mnist_core.config import TrainConfig
from mnist_core.metrics import confusion_matrix, per_class_accuracy
from mnist_core.runs import RunStore
from mnist_core.train import fit
from ui.run_picker import unique_labels

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGES = REPO_ROOT / "pages"
USER = "summarytester01"


@pytest.fixture(scope="module")
def store(mnist, tmp_path_factory):
    root = tmp_path_factory.mktemp("summary-runs")
    store = RunStore(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_LAB_RUNS", str(root))
        patch.setenv("MNIST_DATA_DIR", str(mnist_data_dir()))
        for name, config in {"mlp": TrainConfig(arch="mlp", hidden=(64,)),
                             "softmax": TrainConfig(arch="softmax", optimizer="sgd", lr=0.5)}.items():
            result = fit(config.replace(subset=20, epochs=2, batch_size=32), mnist)
            store.save(result, name=f"tiny {name}", owner=USER, test_labels=mnist.test_labels)
        yield store


def open_page(page: str, projector: str = "session", run_id: str | None = None) -> AppTest:
    """The page in projector mode, switched on by the toggle's session key or by `?projector=1` ("link"),
    or in normal mode ("off"). Home is the router's default page, so it opens through app.py."""
    at = AppTest.from_file(str(REPO_ROOT / "app.py" if page == "home" else PAGES / f"{page}.py"), default_timeout=120)
    at.query_params["user"] = USER
    if projector == "session":
        at.session_state["projector_mode"] = True
    elif projector == "link":
        at.query_params["projector"] = "1"
    if run_id is not None:
        at.session_state["selected_run_id"] = run_id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def summaries(at: AppTest) -> list[str]:
    """The projector-mode summaries on the page, as plain text, in page order."""
    found = (re.fullmatch(r'<p class="chart-summary">(.*)</p>', m.value, re.S) for m in at.markdown)
    return [html.unescape(f.group(1)) for f in found if f]


@pytest.mark.usefixtures("router_mode")
def test_home_page_summarises_the_class_counts(store, mnist):
    at = open_page("home")
    test_counts = np.bincount(mnist.test_labels.numpy(), minlength=10).tolist()
    train_counts = np.bincount(mnist.train_labels.numpy(), minlength=10).tolist()
    assert summaries(at) == [cs.class_counts_summary(train_counts, test_counts)]
    assert summaries(at)[0].startswith("Digit 1 has the most training images (6,742)")  # MNIST's own counts
    import pyarrow as pa

    (chart,) = [c.proto for c in at.get("vega_lite_chart")]  # the chart it summarises (data sent as Arrow)
    assert json.loads(chart.spec)["title"] == "Training images per digit"
    rows = [row for named in chart.datasets for row in pa.ipc.open_stream(named.data.data).read_pandas().to_dict("records")]
    assert [row["training images"] for row in rows] == train_counts


@pytest.mark.usefixtures("router_mode")
def test_home_page_in_normal_mode_shows_no_summary(store):
    at = open_page("home", projector="off")
    assert summaries(at) == []
    assert not any("has the most training images" in c.value for c in at.caption)


def run_and_predictions(store, mnist, name: str):
    info = next(r for r in store.list() if r.name == name)
    loaded = store.load(info.run_id, with_model=False)
    return info, loaded, confusion_matrix(mnist.test_labels.numpy(), loaded.test_probabilities.argmax(1))


def test_per_class_page_summarises_its_three_charts(store, mnist):
    info, loaded, cm = run_and_predictions(store, mnist, "tiny mlp")
    _, _, other_cm = run_and_predictions(store, mnist, "tiny softmax")
    at = open_page("per_class", run_id=info.run_id)
    accuracy, other = per_class_accuracy(cm), per_class_accuracy(other_cm)
    epochs = [e for e in loaded.history["epochs"] if e.get("per_class_val_accuracy")]
    assert len(epochs) == 2
    assert summaries(at) == [
        cs.per_class_summary(accuracy),
        cs.per_class_history_summary(epochs),
        cs.compare_runs_summary(accuracy, other, "This run: tiny mlp", "Second: tiny softmax"),
    ]
    worst = int(accuracy.argmin())
    assert summaries(at)[0].startswith(f"Digit {worst} is read worst ({100 * accuracy[worst]:.1f}%".replace(".0%", "%"))
    # The error-rate view says so in its sentence.
    at.radio(key="per_class_measure").set_value("Error rate").run()
    assert not at.exception
    assert summaries(at)[0] == cs.per_class_summary(1 - accuracy, "error rate")
    assert "highest error rate" in summaries(at)[0]


def test_per_class_page_in_normal_mode_keeps_the_bars_and_history_sentences_as_captions(store, mnist):
    info, loaded, cm = run_and_predictions(store, mnist, "tiny mlp")
    at = open_page("per_class", projector="off", run_id=info.run_id)
    assert summaries(at) == []
    captions = [html.unescape(c.value).replace("\\", "") for c in at.caption]
    assert cs.per_class_summary(per_class_accuracy(cm)) in captions
    assert cs.per_class_history_summary(loaded.history["epochs"]) in captions
    assert not any(c.startswith("“Second: ") for c in captions)  # the comparison's sentence is the projector's


def test_confusion_page_summary_opened_with_the_projector_link(store, mnist):
    info, _, cm = run_and_predictions(store, mnist, "tiny softmax")
    at = open_page("confusion_matrix", projector="link", run_id=info.run_id)
    assert at.session_state["projector_mode"] is True
    off = cm.copy()
    np.fill_diagonal(off, 0)
    true, read = np.unravel_index(off.argmax(), off.shape)
    assert summaries(at) == [cs.confusion_summary(cm)]
    assert summaries(at)[0].startswith(f"Of 10,000 images, {100 * np.trace(cm) / cm.sum():.1f}".rstrip("0").rstrip("."))
    assert f"the most common mistake is a {true} read as {read} ({off.max():,} image" in summaries(at)[0]


def test_runs_page_summarises_the_overlay_in_both_modes(store):
    labels = unique_labels(store.list())
    finals = {labels[info.run_id]: store.load(info.run_id, with_model=False).history["epochs"][-1]["val_accuracy"]
              for info in store.list()}
    expected = cs.overlay_summary(finals)
    assert expected.startswith("Of 2 runs, “tiny ")
    at = open_page("runs")
    assert expected in summaries(at)
    normal = open_page("runs", projector="off")
    assert summaries(normal) == []
    assert expected in [html.unescape(c.value).replace("\\", "") for c in normal.caption]
    # Another curve, another sentence.
    at.segmented_control(key="compare_metric").set_value("training loss").run()
    assert not at.exception
    assert any(s.startswith("Of 2 runs, ") and "lowest in training loss" in s for s in summaries(at))


@pytest.mark.usefixtures("router_mode")
def test_experiments_page_summarises_a_finished_study(runs_dir):
    from mnist_core import experiments as ex
    from ui.session import get_jobs

    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    at.query_params["user"] = USER
    at.session_state["projector_mode"] = True
    at.run()
    at.switch_page("pages/experiments.py").run()
    at.selectbox(key="experiment_study").set_value("custom").run()
    at.selectbox(key="custom_base").set_value("softmax").run()
    at.selectbox(key="custom_knob").set_value("l2").run()
    at.text_input(key="custom_values_l2").set_value("0.1, 0.0001").run()
    at.button(key="run_experiment").click().run()
    job = get_jobs().latest_job(USER, kind="study")
    deadline = time.time() + 120
    while job.active and time.time() < deadline:
        time.sleep(0.05)
    assert not job.active
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    rows = job.result
    assert summaries(at) == [cs.accuracy_bars_summary(ex.summarize(rows)), cs.loss_overlay_summary(rows)]
    assert summaries(at)[0].startswith("Of 2 runs, “L2 0.0001” ends highest in test accuracy")  # less decay, better here
