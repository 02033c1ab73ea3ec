"""App tests of the Experiments page (AppTest): choose a study, run a tiny one, read its results, cancel.

The page queues the experiment as a background job; `run_every` never fires in
AppTest, so a test waits for the job to end and then reruns the script. Runs
use real MNIST ($MNIST_DATA_DIR, default ../shared/mnist) with the custom
study's small softmax base (5,000 images, 2 epochs: a fraction of a second).
Each test has its own run store (MNIST_LAB_RUNS), hence its own job queue.
"""
import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnist_core.runs import RunStore
from ui.experiment_views import job_study

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "pages/experiments.py"
USER = "experimenttester1"

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("router_mode")]  # needs real MNIST: conftest.py


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["user"] = USER
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def choose_custom(at: AppTest, base: str, knob: str, values: str) -> AppTest:
    at.selectbox(key="experiment_study").set_value("custom").run()
    at.selectbox(key="custom_base").set_value(base).run()
    at.selectbox(key="custom_knob").set_value(knob).run()
    at.text_input(key=f"custom_values_{knob}").set_value(values).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def experiment_job():
    from ui.session import get_jobs
    return get_jobs().latest_job(USER, kind="study")


def wait_for_end(job, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while job.active and time.time() < deadline:
        time.sleep(0.05)
    assert not job.active, f"the experiment is still {job.state} after {timeout} s"


def texts(elements) -> list[str]:
    return [str(e.value).replace("\\", "") for e in elements]


def test_a_ready_made_study_is_explained_before_it_runs(runs_dir):
    at = open_page()
    at.selectbox(key="experiment_study").set_value("l2-sweep").run()
    assert not at.exception
    assert any("templates" in text for text in texts(at.markdown))
    assert any("5 runs" in text and "per digit" in text for text in texts(at.info))
    assert len(at.dataframe[0].value) == 5  # the planned runs, one line each
    assert not at.button(key="run_experiment").disabled
    assert any("Pick a study" in text for text in texts(at.info))  # no results yet


def test_a_tiny_experiment_runs_through_the_page(runs_dir):
    at = choose_custom(open_page(), base="softmax", knob="l2", values="0.1, 0.0001")
    at.button(key="run_experiment").click().run()
    job = experiment_job()
    assert job is not None and job.spec.study == "custom" and job_study(job).knob == "l2"
    wait_for_end(job)
    at.run()
    assert not at.exception, [e.value for e in at.exception]

    takeaway = texts(at.success)
    assert len(takeaway) == 1 and "L2 0.1" in takeaway[0] and "%" in takeaway[0]
    table = at.dataframe[-1].value
    assert list(table["L2 (weight decay)"]) == ["L2 0.1", "L2 0.0001"]
    assert table["test acc. %"].between(50, 100).all()
    assert table["test acc. %"].iloc[1] > table["test acc. %"].iloc[0]  # less decay, better here
    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    titles = json.dumps([spec.get("title") for spec in specs])
    assert "Final test accuracy" in titles and "Training loss" in titles
    assert len(at.image) >= 3  # two rows of templates and the colour legend
    assert at.get("download_button")

    saved = RunStore(runs_dir).list(owner=USER)
    assert len(saved) == 2
    assert {run.extra["experiment"] for run in saved} == {"custom"}
    assert sorted(run.extra["value"] for run in saved) == [0.0001, 0.1]
    assert not at.button(key="run_experiment").disabled  # ready for the next one


def test_bad_custom_values_explain_and_disable_the_run_button(runs_dir):
    at = choose_custom(open_page(), base="mlp", knob="lr", values="0.1, fast")
    assert any("not a number" in text for text in texts(at.error))
    assert at.button(key="run_experiment").disabled


def test_cancelling_keeps_the_finished_runs_and_starts_no_more(runs_dir):
    at = choose_custom(open_page(), base="cnn", knob="epochs", values="1, 2, 3")
    at.button(key="run_experiment").click().run()
    job = experiment_job()
    assert at.button(key="cancel_experiment")  # the live view offers Cancel while it runs
    at.button(key="cancel_experiment").click().run()
    wait_for_end(job)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Cancelled after" in text for text in texts(at.warning))
    rows = job.result
    assert len(rows) < 3 and all(row.status in ("completed", "stopped") for row in rows)
    assert len(RunStore(runs_dir).list(owner=USER)) == sum(row.status == "completed" for row in rows)


def test_three_seeds_show_mean_and_spread(runs_dir):
    at = choose_custom(open_page(), base="softmax", knob="lr", values="0.5, 0.01")
    at.toggle(key="experiment_three_seeds").set_value(True).run()
    assert any("6 runs" in text for text in texts(at.info))
    at.button(key="run_experiment").click().run()
    job = experiment_job()
    assert job.spec.seeds == (0, 1, 2)
    wait_for_end(job)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[-1].value
    assert len(table) == 2 and table["± (std, seeds)"].notna().all()
    assert "seed noise: typically" in texts(at.success)[0]
    assert len(RunStore(runs_dir).list(owner=USER)) == 6


def test_a_study_cancelled_before_its_first_run_trained_says_so_instead_of_failing():
    from streamlit.testing.v1 import AppTest

    def page():
        from mnist_core.experiments.runner import StudyProgress
        from mnist_core.jobs import FINISHED, STUDY, Job, JobSpec
        from ui.experiment_views import draw_finished

        progress = StudyProgress([("lr 0.1", 0.1), ("lr 0.01", 0.01)])
        progress.cancelled = True  # Cancel pressed before the first run had trained a batch
        spec = JobSpec(kind=STUDY, owner="u", study="custom",
                       options={"base": "mlp", "knob": "lr", "values": [0.1, 0.01]})
        draw_finished(Job(job_id=1, spec=spec, progress=progress, state=FINISHED, result=[]))

    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Cancelled after 0 of 2 runs" in text for text in texts(at.warning))
    assert any("nothing to compare" in text for text in texts(at.info))
