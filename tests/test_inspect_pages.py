"""App tests of the "Look inside" pages (mistakes, confusion matrix, per-class, weights) with AppTest.

Tiny real runs are trained once per module on MNIST subsets (20 images per digit,
1 epoch): a softmax regression (twice, with and without L2), an MLP and a CNN. They
are saved to a temporary run store owned by this test's user token, so each page
finds them as "my runs". Every page is loaded for every architecture; what it shows
is checked against mnist_core.metrics computed directly on the same run.
"""
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from preconditions import mnist_data_dir
from mnist_core.config import TrainConfig
from mnist_core.metrics import (confusion_matrix, describe_confusions, misclassified, precision_recall_f1,
                                top_confusions)
from mnist_core.runs import RunStore
from mnist_core.train import fit

pytestmark = pytest.mark.integration

PAGES = Path(__file__).resolve().parent.parent / "pages"
USER = "inspecttester01"
ARCHS = ("softmax", "mlp", "cnn")


@pytest.fixture(scope="module")
def runs(mnist, tmp_path_factory):
    """{arch: RunInfo} of tiny runs saved in a fresh store that the app is pointed at."""
    root = tmp_path_factory.mktemp("inspect-runs")
    store = RunStore(root)
    saved = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_LAB_RUNS", str(root))
        patch.setenv("MNIST_DATA_DIR", str(mnist_data_dir()))
        configs = {
            "softmax-l2": TrainConfig(arch="softmax", optimizer="sgd", lr=0.5, l2=0.01),
            "softmax": TrainConfig(arch="softmax", optimizer="sgd", lr=0.5),
            "mlp": TrainConfig(arch="mlp", hidden=(64,)),
            "cnn": TrainConfig(arch="cnn"),
        }
        for name, config in configs.items():
            result = fit(config.replace(subset=20, epochs=1, batch_size=32), mnist)
            saved[name] = store.save(result, name=f"tiny {name}", owner=USER, test_labels=mnist.test_labels)
        yield saved


def open_page(page: str, run_id: str | None = None, session: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=120)
    at.query_params["user"] = USER
    for key, value in (session or {}).items():
        at.session_state[key] = value
    if run_id is not None:
        at.session_state["selected_run_id"] = run_id  # what the run picker remembers across pages
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def predictions(runs, arch, mnist):
    probabilities = RunStore(runs[arch].path.parent).load(runs[arch].run_id, with_model=False).test_probabilities
    return mnist.test_labels.numpy(), probabilities


def gallery(at: AppTest) -> str:
    """The HTML of the page's tile gallery ('' when there is none)."""
    return next((h.proto.body for h in at.get("html") if "mnist-digit" in h.proto.body and "<img" in h.proto.body),
                "")


def vega_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def chart_rows(at: AppTest, index: int = 0) -> list[dict]:
    """The data rows of the page's index-th chart (Streamlit sends chart data as Arrow, beside the spec)."""
    chart = at.get("vega_lite_chart")[index]
    return convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data).to_dict("records")


# ------------------------------------------------------------------ mistakes
@pytest.mark.parametrize("arch", ARCHS)
def test_mistakes_page_counts_and_shows_the_mistakes(runs, mnist, arch):
    at = open_page("mistakes", runs[arch].run_id)
    labels, probabilities = predictions(runs, arch, mnist)
    mistakes = misclassified(labels, probabilities)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Mistakes in all"] == f"{len(mistakes):,}"
    tiles = gallery(at)
    assert tiles.count("<img") == min(40, len(mistakes))
    assert tiles.index(f'alt="test image {mistakes.index[0]}:') < tiles.index(f'alt="test image {mistakes.index[1]}:')
    assert at.number_input(key=at.number_input[0].key).max == -(-len(mistakes) // 40)  # pages of 40


def test_mistakes_page_filters_by_true_and_predicted_digit(runs, mnist):
    at = open_page("mistakes", runs["softmax"].run_id)
    labels, probabilities = predictions(runs, "softmax", mnist)
    mistakes = misclassified(labels, probabilities)
    top = top_confusions(confusion_matrix(labels, probabilities.argmax(1)), k=1)[0]
    at.selectbox(key="mistakes_true").select(top["true"]).run()
    at.selectbox(key="mistakes_predicted").select(top["predicted"]).run()
    assert not at.exception
    expected = mistakes.filter(true_label=top["true"], predicted_label=top["predicted"])
    assert any(f"**{len(expected):,}** of the {len(mistakes):,} mistakes" in m.value for m in at.markdown)
    assert gallery(at).count("<img") == min(40, len(expected))
    at.selectbox(key="mistakes_true").select("Any").run()
    at.selectbox(key="mistakes_predicted").select("Any").run()
    at.slider(key="mistakes_confidence").set_value((0, 50)).run()
    assert not at.exception
    unsure = mistakes.filter(max_confidence=0.5)
    assert any(f"**{len(unsure):,}** of the {len(mistakes):,} mistakes" in m.value for m in at.markdown)


# ------------------------------------------------------------------ confusion matrix
@pytest.mark.parametrize("arch", ARCHS)
def test_confusion_page_draws_the_matrix_and_names_the_top_confusions(runs, mnist, arch):
    at = open_page("confusion_matrix", runs[arch].run_id)
    labels, probabilities = predictions(runs, arch, mnist)
    cm = confusion_matrix(labels, probabilities.argmax(1))
    params = [p["name"] for p in vega_specs(at)[0].get("params", [])]
    assert "cell" in params  # the click selection the page reads back
    counts = {(r["true"], r["predicted"]): r["count"] for r in chart_rows(at)}
    assert counts == {(t, p): cm[t, p] for t in range(10) for p in range(10)}
    assert any(describe_confusions(cm, k=3) in m.value for m in at.markdown)
    assert [b.label for b in at.get("download_button")] == ["Confusion matrix (PNG)", "Confusion matrix (CSV)"]


def test_choosing_a_cell_shows_exactly_its_examples_and_average(runs, mnist):
    at = open_page("confusion_matrix", runs["mlp"].run_id)
    labels, probabilities = predictions(runs, "mlp", mnist)
    cm = confusion_matrix(labels, probabilities.argmax(1))
    top = top_confusions(cm, k=1)[0]
    at.selectbox(key="cm_cell").select((top["true"], top["predicted"])).run()
    assert not at.exception
    assert at.subheader[0].value.startswith(f"True {top['true']}, read as {top['predicted']}: {top['count']:,} images")
    assert gallery(at).count("<img") == min(40, top["count"])
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert captions == [f"Average of these images ({top['count']:,})",
                        f"Average of {top['true']}s read correctly ({cm[top['true'], top['true']]:,})",
                        f"Average of {top['predicted']}s read correctly ({cm[top['predicted'], top['predicted']]:,})"]


def test_a_diagonal_cell_shows_the_right_answers(runs):
    at = open_page("confusion_matrix", runs["cnn"].run_id, session={"cm_cell": (1, 1)})
    assert "1 read correctly" in at.selectbox(key="cm_cell").format_func((1, 1))
    assert at.subheader[0].value.startswith("True 1, read as 1")


# ------------------------------------------------------------------ per-class scores
@pytest.mark.parametrize("arch", ARCHS)
def test_per_class_page_has_chart_table_history_and_comparison(runs, mnist, arch):
    at = open_page("per_class", runs[arch].run_id)
    table = at.dataframe[0].value
    assert list(table["digit"]) == [str(d) for d in range(10)] + ["macro"]
    labels, probabilities = predictions(runs, arch, mnist)
    expected = precision_recall_f1(confusion_matrix(labels, probabilities.argmax(1)))
    np.testing.assert_allclose(table["f1"][:10] / 100, expected.f1)
    assert table["support"].tolist() == expected.support.tolist() + [10_000]
    charts = vega_specs(at)
    assert len(charts) == 3  # accuracy bars, per-epoch history, two-run comparison
    assert at.selectbox(key="per_class_other").value != runs[arch].run_id
    at.radio(key="per_class_measure").set_value("Error rate").run()
    assert not at.exception


# ------------------------------------------------------------------ weights and activations
def open_tab(at: AppTest, label: str) -> AppTest:
    """Switch the weights page's tabs (only the open one runs) and rerun."""
    at.session_state["weights_tab"] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("arch", ARCHS)
def test_weights_page_shows_the_first_layer_activations_and_histograms(runs, arch):
    at = open_page("weights", runs[arch].run_id)
    assert [t.label for t in at.tabs] == ["What the first layer learned", "One input through the network",
                                          "Weight histograms"]
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    if arch == "softmax":
        assert at.multiselect(key=f"templates_compare-{runs[arch].run_id}").value == [runs["softmax-l2"].run_id]
        assert "**L2 = 0.01**" in text and "**L2 = 0**" in text
    if arch == "mlp":
        assert at.slider(key="units_count").value == 64
        assert "64 of the 64 units" in text
    if arch == "cnn":
        assert "The 16 filters of the first conv layer" in text
    assert not at.metric  # the other tabs did not run

    open_tab(at, "One input through the network")
    assert {m.label: m.value for m in at.metric}["The model reads"] in [str(d) for d in range(10)]
    if arch == "cnn":
        assert "Conv layer 2 after ReLU (32 maps, 14×14)" in " ".join(m.value for m in at.markdown)

    open_tab(at, "Weight histograms")
    layers = {"softmax": 1, "mlp": 2, "cnn": 4}[arch]
    assert " ".join(m.value for m in at.markdown).count(" weights · mean ") == layers  # one per weighted layer


def test_weights_page_uses_the_drawing_when_there_is_one(runs):
    drawing = np.zeros((28, 28), np.float32)
    drawing[4:24, 13:15] = 1.0  # a "1"
    at = open_page("weights", runs["cnn"].run_id, session={"last_drawing_28x28": drawing,
                                                           "weights_tab": "One input through the network"})
    assert at.radio(key="input_source").value == "Your drawing"
    assert "Your drawing" in [image.proto.imgs[0].caption for image in at.get("image")]
    at.radio(key="input_source").set_value("A test image").run()
    assert not at.exception and at.number_input(key="input_index").value == 0


# ------------------------------------------------------------------ damaged or missing runs
def test_no_runs_gives_a_hint_not_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS", str(tmp_path / "empty"))
    for page in ("mistakes", "confusion_matrix", "per_class", "weights"):
        at = open_page(page)
        assert "Train" in at.info[0].value


def test_a_damaged_run_gives_a_plain_error(runs, tmp_path, monkeypatch):
    import shutil

    # A copy under new run ids, so that nothing comes from the cache of the intact run.
    root = tmp_path / "damaged"
    no_weights = shutil.copytree(runs["mlp"].path, root / "20000101-000000-mlp-d00001")
    no_predictions = shutil.copytree(runs["mlp"].path, root / "20000101-000000-mlp-d00002")
    monkeypatch.setenv("MNIST_LAB_RUNS", str(root))
    (no_weights / "weights.pt").write_bytes(b"not a model")
    at = open_page("weights", no_weights.name)
    assert "cannot be opened" in at.error[0].value and "weights" in at.error[0].value
    (no_predictions / "test_probabilities.npy").write_bytes(b"garbage")
    at = open_page("mistakes", no_predictions.name)
    assert "damaged" in at.error[0].value
