"""App tests of the Draw page's new views: the deskew and pen-width toggles, saliency, flip the
digit, the nearest MNIST images, the hidden-layer map, the class set per student and fine-tuning.

What the page shows is checked against the engine called directly (mnist_core.saliency,
flip, neighbours), on a tiny softmax regression; heavy views go through the job queue,
so a test clicks, waits for the job (run_every never fires in AppTest), then reruns.
"""
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_core.config import TrainConfig
from mnist_core.flip import flip_search
from mnist_core.handwriting import HandwritingStore
from mnist_core.predict import predict_digit
from mnist_core.runs import RunStore
from mnist_core.train import fit
from test_draw_page import PAGE, canvas_of, inject, texts

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def trained(synthetic):
    return fit(TrainConfig(arch="softmax", epochs=1, batch_size=50, lr=0.1, optimizer="sgd"), synthetic)


@pytest.fixture
def run(runs_dir, trained, synthetic):
    store = RunStore(runs_dir)
    info = store.save(trained, name="tiny softmax", owner="someone", test_labels=synthetic.test_labels)
    return info.run_id, store.load_model(info.run_id)


def drawn_page(digit=7, seed=0):
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.run()
    canvas = canvas_of(digit, seed)
    inject(at, canvas)
    at.run()
    assert not at.exception
    return at, canvas


def wait_for_job(at, task):
    from ui.session import get_jobs
    job = get_jobs().latest_job(at.query_params["user"], kind="analysis")
    assert job is not None and job.spec.options["task"] == task
    deadline = time.time() + 120
    while job.active and time.time() < deadline:
        time.sleep(0.1)
    assert job.state == "finished", job.error
    at.run()
    assert not at.exception
    return job


def test_pen_width_and_deskew_toggles_show_their_own_readings(run):
    _, model = run
    at, canvas = drawn_page(4)
    at.toggle(key="draw_step_strokes").set_value(False).run()
    cards = texts(at.get("html"))
    assert "without pen-width normalization" in cards
    plain = predict_digit(model, canvas, strokes=False)
    assert f">{plain.digit}</b> · {100 * plain.confidence:.0f}%" in cards
    at.toggle(key="draw_step_deskew").set_value(True).run()  # off by default: switching it on adds a card
    cards = texts(at.get("html"))
    assert "with deskewing" in cards and not at.exception


def test_saliency_maps_add_up_to_the_logit_change(run):
    at, canvas = drawn_page(3)
    captions = [c.value for c in at.caption if "The map adds up to" in c.value]
    assert len(captions) == 2  # the top digit and the chosen one
    at.radio(key="draw_saliency_method").set_value("gradient-x-input").run()
    for caption in (c.value for c in at.caption if "The map adds up to" in c.value):
        total = float(caption.split("adds up to ")[1].split(";")[0])
        change = float(caption.split("moved ")[1].split(" from")[0])
        assert total == pytest.approx(change, abs=0.02)  # exact for a linear model
    at.button_group(key="draw_saliency_digit").set_value(6).run()
    assert "the logit of 6 moved" in texts(at.caption)


def test_flip_the_digit_finds_a_flip_and_counts_a_students_edit(run):
    _, model = run
    at, canvas = drawn_page(1)
    reading = predict_digit(model, canvas)
    target = (reading.digit + 2) % 10
    at.button_group(key="draw_flip_target").set_value(target).run()
    at.button(key="draw_flip_run").click().run()
    assert not at.exception
    expected = flip_search(model, reading.preprocessed.image, target)
    assert f"flipped it to **{target}** with **{expected.changed}** changed pixels" in texts(at.caption)
    assert at.metric[0].value == "0 pixels"  # the student has not edited the drawing yet


def test_nearest_images_are_built_as_a_job_then_shown(run):
    at, _ = drawn_page(2)
    at.button(key="draw_nearest_build").click().run()
    wait_for_job(at, "neighbours")
    assert "By pixels" in texts(at.markdown) and "By the last hidden layer" in texts(at.markdown)
    tiles = [h for h in texts(at.get("html")).split("</div>") if "· " in h and "<b>" in h]
    assert len(tiles) >= 16  # 8 by pixels and 8 by the hidden layer


def test_the_hidden_layer_map_is_computed_once_as_a_job_and_cached_in_the_run(run, runs_dir):
    run_id, _ = run
    at, _ = drawn_page(5)
    at.button(key="draw_map_build").click().run()
    wait_for_job(at, "hidden-map")
    assert (runs_dir / run_id / "hidden_map_pca.npz").is_file()
    import json
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    maps = [s for s in specs if "diamond" in json.dumps(s)]
    assert maps, "the map is drawn with the drawing marked on it (a diamond)"
    tooltips = [json.dumps(layer.get("encoding", {}).get("tooltip")) for layer in maps[0]["layer"]]
    assert any('"image"' in t for t in tooltips)  # hovering a point shows its image
    assert "Compute the map" not in str([b.label for b in at.button])


def test_class_drawings_per_student_and_fine_tuning(run, runs_dir):
    run_id, _ = run
    handwriting = HandwritingStore(runs_dir)
    rng = np.random.default_rng(0)
    for i in range(30):
        digit = i % 10
        canvas = canvas_of(digit, seed=100 + i)
        image = predict_digit(run[1], canvas).preprocessed.image
        handwriting.save(image, digit, owner=f"student-{i % 3}")
    at, _ = drawn_page(0)
    assert any("MNIST test" in m.label for m in at.metric)
    frames = [d.value for d in at.dataframe]
    assert any("who" in f.columns and len(f) == 3 for f in frames)  # three students
    at.button(key="draw_fine_tune").click().run()
    job = wait_for_job(at, "fine-tune")
    assert job.result.held_out == 6 and job.result.trained_on == 24  # a fifth held out
    store = RunStore(runs_dir)
    tuned = store.get(job.result.run_id)
    assert tuned.owner == at.query_params["user"] and tuned.extra["fine_tuned_from"] == run_id
    frames = [d.value for d in at.dataframe]
    assert any("before" in f.columns and "after" in f.columns for f in frames)


def test_a_fine_tune_stopped_midway_says_that_nothing_was_kept(run, runs_dir):
    from ui.session import get_data, get_jobs
    run_id, model = run
    handwriting = HandwritingStore(runs_dir)
    for i in range(30):
        image = predict_digit(model, canvas_of(i % 10, seed=200 + i)).preprocessed.image
        handwriting.save(image, i % 10, owner="student")
    at, _ = drawn_page(0)
    # What the button starts, made long enough to stop halfway (the page always asks for the default epochs).
    job = get_jobs().submit_analysis("fine-tune", get_data(), owner=at.query_params["user"], run_id=run_id,
                                     epochs=5000)
    deadline = time.time() + 120
    while not (job.state == "running" and job.progress.snapshot()["share"] > 0) and time.time() < deadline:
        time.sleep(0.05)
    at.run()
    bars = [p.proto.text.replace("\\", "") for p in at.get("progress")]  # (markdown-escaped)
    assert any(t.startswith("Fine-tuning: step ") and t.endswith(" of 10000…") for t in bars), bars
    job.stop()  # what the teacher console's Stop calls
    while job.active and time.time() < deadline:
        time.sleep(0.05)
    at.run()
    assert job.state == "cancelled" and not at.exception
    assert "Stopped before it finished: nothing was kept." in texts(at.info)
    assert [info.run_id for info in RunStore(runs_dir).list()] == [run_id]


def test_the_per_student_table_names_the_students_for_the_teacher_only(run, runs_dir):
    from mnist_core.classroom import Classroom
    from mnist_core.database import open_database
    from ui.identity import TEACHER_KEY

    room = Classroom(open_database(runs_dir))
    names = ["Ada", "Bo", "Cy"]
    owners = [room.join(None, name, "1234").owner for name in names]
    handwriting = HandwritingStore(runs_dir)
    for i in range(12):
        image = predict_digit(run[1], canvas_of(i % 10, seed=300 + i)).preprocessed.image
        handwriting.save(image, i % 10, owner=owners[i % 3])

    def who(at):
        return sorted(next(d.value for d in at.dataframe if "who" in d.value.columns)["who"])

    at, _ = drawn_page(0)
    assert who(at) == ["student 1", "student 2", "student 3"]  # a student sees no other student's name
    at.session_state[TEACHER_KEY] = True  # the teacher console unlocked in this session
    at.run()
    assert who(at) == names
