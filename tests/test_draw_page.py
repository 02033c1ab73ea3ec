"""App tests of the Draw page (pages/draw.py) with Streamlit's AppTest.

A drawing is injected the way the canvas sends one: its widget key in session_state
set to {"drawing": {"raw": {"objects": [...]}, "data": "data:image/png;base64,..."}}.
What the page shows is checked against `predict_digit` called directly on the same
canvas, so the tests need no accurate model: a softmax regression trained for a few
steps on synthetic data. Each test gets its own run store (MNIST_LAB_RUNS) and fresh
shared caches.
"""
import base64
import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from digit_strokes import as_canvas_rgba, render_digit
from mnist_core.config import TrainConfig
from mnist_core.handwriting import HandwritingStore, as_uint8_image
from mnist_core.predict import predict_digit
from mnist_core.preprocess import to_mnist
from mnist_core.runs import RunStore
from mnist_core.train import fit

# integration: the page runs with MNIST_DATA_DIR at real MNIST (the runs_dir fixture), like the app.
pytestmark = pytest.mark.integration

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "draw.py")
NOTHING_DRAWN = "Nothing drawn yet"


@pytest.fixture(scope="module")
def trained(synthetic):
    return fit(TrainConfig(arch="softmax", epochs=1, batch_size=50, lr=0.1, optimizer="sgd"), synthetic)


@pytest.fixture
def run(runs_dir, trained, synthetic):
    """One saved run in this test's store; returns its model as the page will load it."""
    store = RunStore(runs_dir)
    info = store.save(trained, name="tiny softmax", owner="someone", test_labels=synthetic.test_labels)
    return store.load_model(info.run_id)


def data_url(rgba: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def canvas_of(digit: int, seed: int = 0) -> np.ndarray:
    return as_canvas_rgba(render_digit(digit, np.random.default_rng(seed)))


def inject(at: AppTest, canvas: np.ndarray, strokes: int = 1, generation: int = 0) -> None:
    at.session_state[f"draw_canvas_{generation}"] = {
        "drawing": {"raw": {"objects": [{"type": "path", "n": i} for i in range(strokes)]}, "data": data_url(canvas)}}


def open_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def shown_digit(at: AppTest) -> int | None:
    for block in at.markdown:
        if "draw-top-digit" in block.value:
            return int(block.value.split('draw-top-digit"')[1].split(">")[1].split("<")[0])
    return None


def texts(elements) -> str:
    return " ".join(e.value for e in elements)


def chart_rows(at: AppTest, column: str) -> list[dict] | None:
    """The rows of the first Altair chart whose data has `column` (charts send their data as Arrow)."""
    for chart in at.get("vega_lite_chart"):
        for dataset in chart.proto.datasets:
            frame = convert_arrow_bytes_to_pandas_df(dataset.data.data)
            if column in frame.columns:
                return frame.to_dict("records")
    return None


def probability_chart_values(at: AppTest) -> list[float] | None:
    rows = chart_rows(at, "probability")
    return None if rows is None else [row["probability"] for row in rows]


# ---------------------------------------------------------------- no run yet

def test_without_a_run_one_button_offers_the_default_model_and_the_canvas_still_previews(runs_dir):
    at = open_page()
    assert [b.label for b in at.button if b.key == "draw_train_default"] == ["Train the default model"]
    assert len(at.selectbox) == 0  # no picker without runs, and no "train one first" hint instead of the button
    inject(at, canvas_of(3))
    at.run()
    assert not at.exception
    assert "No model yet" in texts(at.info)
    assert shown_digit(at) is None
    assert np.array_equal(at.session_state["last_drawing_28x28"], to_mnist(canvas_of(3)).image)


def test_the_default_model_button_trains_a_run_that_then_reads_the_drawing(runs_dir, monkeypatch):
    from ui import draw_views
    # The real default (a CNN on all of MNIST, 10-30 s) is measured in the browser test; here a
    # few steps on the offline stand-in data show the wiring: button -> job -> saved run -> picker.
    tiny = TrainConfig(arch="softmax", epochs=1, batch_size=64, lr=0.1, optimizer="sgd", subset=30)
    monkeypatch.setattr(draw_views, "DEFAULT_MODEL_CONFIG", tiny)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["use_stand_in"] = True
    at.run()
    at.button(key="draw_train_default").click().run()
    assert not at.exception
    assert r"Training “Default CNN \(Draw page\)”" in texts(at.markdown)  # escaped for Markdown
    from ui.session import get_jobs
    jobs = get_jobs()
    job = jobs.latest_job(at.query_params["user"], kind="train")
    assert job is not None and job.config == tiny
    deadline = time.time() + 60
    while job.active and time.time() < deadline:  # run_every never fires in AppTest: wait, then rerun
        time.sleep(0.1)
    assert job.state == "finished", job.error
    at.run()
    assert not at.exception
    assert len(at.selectbox) == 1 and at.selectbox[0].value == job.run_info.run_id
    inject(at, canvas_of(1))
    at.run()
    assert shown_digit(at) is not None


# ---------------------------------------------------------------- with a run

def test_a_drawing_is_read_exactly_as_predict_digit_reads_it(run):
    at = open_page()
    assert len(at.selectbox) == 1
    canvas = canvas_of(7)
    inject(at, canvas)
    at.run()
    assert not at.exception
    expected = predict_digit(run, canvas)
    assert shown_digit(at) == expected.digit
    assert probability_chart_values(at) == pytest.approx(expected.probabilities, abs=1e-6)
    assert np.array_equal(at.session_state["last_drawing_28x28"], expected.preprocessed.image)
    assert any("Read in" in c.value and "ms" in c.value for c in at.caption)
    assert NOTHING_DRAWN not in texts(at.info)


@pytest.mark.parametrize("blank", ["no drawing yet", "reset canvas"])
def test_a_blank_canvas_shows_a_plain_message_and_no_prediction(run, blank):
    at = open_page()
    if blank == "reset canvas":  # what the canvas sends after its reset button: opaque black
        black = np.zeros((280, 280, 4), np.uint8)
        black[..., 3] = 255
        inject(at, black, strokes=0)
        at.run()
    assert not at.exception
    assert NOTHING_DRAWN in texts(at.info)
    assert shown_digit(at) is None and probability_chart_values(at) is None
    assert at.button(key="draw_save").disabled


def test_each_step_switched_off_shows_its_own_reading_beside_the_full_one(run):
    at = open_page()
    canvas = as_canvas_rgba(render_digit(4, np.random.default_rng(0), placement={
        "left": 10, "top": 10, "width": 45, "height": 60, "slant": 0.0, "pen": 8}))  # small, in a corner
    inject(at, canvas)
    at.run()
    assert "Every step is at its default" in texts(at.caption)
    at.toggle(key="draw_step_crop").set_value(False).run()
    cards = texts(at.get("html"))
    assert "with every step" in cards and "without cropping" in cards and "without scaling" not in cards
    without_crop = predict_digit(run, canvas, crop=False)
    assert f'reads <b style="font-size:1.6rem;color:' in cards
    assert f">{without_crop.digit}</b> · {100 * without_crop.confidence:.0f}%" in cards
    at.toggle(key="draw_step_scale").set_value(False)
    at.toggle(key="draw_step_center_of_mass").set_value(False).run()
    cards = texts(at.get("html"))
    assert cards.count("<img") == 1 + 3 + 1  # full, each step off, and all off together
    assert "no step: shrunk to 28×28" in cards
    crude = predict_digit(run, canvas, crop=False, scale=False, center_of_mass=False)
    assert f">{crude.digit}</b> · {100 * crude.confidence:.0f}%" in cards
    assert shown_digit(at) == predict_digit(run, canvas).digit  # the main reading keeps every step


def test_saving_a_labelled_drawing_adds_it_to_the_class_set_and_scores_it(run, runs_dir):
    at = open_page()
    canvas = canvas_of(7, seed=3)
    inject(at, canvas)
    at.run()
    assert at.button(key="draw_save").disabled  # no label chosen yet
    at.button_group[0].set_value(7).run()
    at.button(key="draw_save").click().run()
    assert not at.exception
    examples = HandwritingStore(runs_dir).list()
    assert len(examples) == 1
    example = examples[0]
    expected = predict_digit(run, canvas)
    assert example.label == 7 and example.owner == at.query_params["user"]
    assert np.array_equal(example.image, as_uint8_image(expected.preprocessed.image))
    assert example.predicted == expected.digit
    assert "Saved as a 7" in texts(at.success)
    assert NOTHING_DRAWN in texts(at.info)  # the canvas was cleared for the next drawing
    assert at.button_group[0].value is None  # and the label too
    accuracy = at.metric[0].value
    assert accuracy == ("100%" if expected.digit == 7 else "0%")
    assert "1 drawing by 1 person (1 yours)" in texts(at.caption)
    per_digit = chart_rows(at, "accuracy")
    assert [row["examples"] for row in per_digit] == [0] * 7 + [1] + [0] * 2

    at.button(key="draw_delete_last").click().run()
    assert HandwritingStore(runs_dir).list() == []
    assert "removed" in texts(at.success)


def test_undo_removes_the_last_stroke_and_clear_starts_a_new_canvas(run):
    at = open_page()
    inject(at, canvas_of(4), strokes=2)
    at.run()
    assert not at.button(key="draw_undo").disabled
    at.button(key="draw_undo").click().run()
    initial = at.session_state["draw_initial_drawing"]
    assert initial["objects"] == [{"type": "path", "n": 0}]  # the canvas redraws without stroke 2
    at.button(key="draw_undo").click().run()
    again = at.session_state["draw_initial_drawing"]
    assert again["objects"] == [] and again["undoCount"] == initial["undoCount"] + 1
    at.button(key="draw_clear").click().run()
    assert not at.exception
    assert at.session_state["draw_canvas_generation"] == 1 and at.session_state["draw_initial_drawing"] is None
    assert NOTHING_DRAWN in texts(at.info) and shown_digit(at) is None


def test_a_damaged_drawing_is_a_message_not_a_traceback(run):
    at = open_page()
    at.session_state["draw_canvas_0"] = {"drawing": {"raw": {"objects": [{}]},
                                                     "data": "data:image/png;base64,bm90IGEgcG5n"}}
    at.run()
    assert not at.exception
    assert "could not be decoded" in texts(at.error)
