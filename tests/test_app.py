"""App tests of the router, the shared sidebar, the Train page and the Run history page (AppTest).

The whole app runs from app.py, as a browser would see it: the sidebar builds
the TrainConfig, Train submits a job to the shared JobManager, and the job
trains in a worker thread. `run_every` never fires in AppTest, so a test waits
for the job to end and then reruns the script. Training uses real MNIST
($MNIST_DATA_DIR, default ../shared/mnist) on tiny subsets: 200 images, 1 epoch.
Each test has its own run store (MNIST_LAB_RUNS), hence its own job queue.
"""
import json
import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnist_core.config import OPTIMIZERS, TrainConfig
from mnist_core.runs import RunStore

REPO_ROOT = Path(__file__).resolve().parent.parent


def mnist_data_dir() -> Path:
    """As tests/conftest.py: $MNIST_DATA_DIR, else ../shared/mnist beside the repository."""
    return Path(os.environ.get("MNIST_DATA_DIR") or REPO_ROOT.parent / "shared" / "mnist")

APP = str(REPO_ROOT / "app.py")
ALL_PAGES = sorted(p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "pages").glob("*.py"))

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("router_mode")]  # needs real MNIST: conftest.py


def open_app(page: str | None = None, user: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if user:
        at.query_params["user"] = user
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def config_of(at: AppTest) -> TrainConfig:
    return at.session_state["sidebar_config"]


def tiny(at: AppTest) -> AppTest:
    """Sidebar set to the smallest run: 200 training images, 1 epoch."""
    at.select_slider(key="cfg_subset").set_value("200").run()
    at.slider(key="cfg_epochs").set_value(1).run()
    assert not at.exception
    return at


def job_of(at: AppTest):
    from ui.session import get_jobs
    return get_jobs().latest_job(at.query_params["user"], kind="train")


def wait_for_end(job, timeout: float = 90.0) -> None:
    deadline = time.time() + timeout
    while job.active and time.time() < deadline:
        time.sleep(0.05)
    assert not job.active, f"the job is still {job.state} after {timeout} s"


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def unescape(text: str) -> str:
    return text.replace("\\", "")


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


# --- loading ----------------------------------------------------------------------------

def test_app_opens_on_home_with_sidebar_and_sample_digits(runs_dir):
    at = open_app()
    assert texts(at.title) == ["MNIST Lab"]
    assert len(at.image) == 1  # the grid of sample digits
    # Sent as the PNG it was encoded as: st.image's default would decode it and re-encode a JPEG on every visit.
    assert [picture.url.rsplit(".", 1)[-1] for picture in at.image[0].proto.imgs] == ["png"]
    assert at.button(key="sidebar_train").label == "Train"
    assert at.button(key="sidebar_stop").disabled  # nothing to stop yet
    assert isinstance(config_of(at), TrainConfig) and config_of(at).to_dict() == TrainConfig().to_dict()


def test_page_scripts_define_no_cached_functions_and_pictures_go_out_as_png():
    """Two per-visit costs that 30 students multiply: a cached function defined in a page script is
    re-made (its whole file read and tokenized) on every visit, and `st.image` with its default format
    decodes PNG bytes and re-encodes them as JPEG on every visit. Pages use ui/ helpers instead."""
    for page in ALL_PAGES:
        assert "st.cache_" not in (REPO_ROOT / page).read_text(), page
    for source in [*(REPO_ROOT / "pages").glob("*.py"), *(REPO_ROOT / "ui").rglob("*.py")]:
        for number, line in enumerate(source.read_text().splitlines(), 1):
            if ".image(" in line:
                assert 'output_format="PNG"' in line, f"{source.name}:{number}: {line.strip()}"


@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_page_loads_without_exception_and_keeps_the_sidebar(runs_dir, page):
    at = open_app(page)
    assert not at.exception
    assert at.button(key="sidebar_train")  # the shared sidebar is drawn on every page
    at.run()  # a second run (a widget interaction) goes through the router again
    assert not at.exception and at.button(key="sidebar_train")


# --- the sidebar builds the config -----------------------------------------------------------

def test_sidebar_controls_change_the_config(runs_dir):
    at = open_app()
    at.selectbox(key="cfg_arch").set_value("cnn").run()
    at.select_slider(key="cfg_subset").set_value("1k").run()
    at.select_slider(key="cfg_batch_size").set_value(64).run()
    at.slider(key="cfg_dropout").set_value(0.25).run()
    config = config_of(at)
    assert (config.arch, config.subset, config.batch_size, config.dropout) == ("cnn", 100, 64, 0.25)
    at.select_slider(key="cfg_lr").set_value(0.01).run()
    assert config_of(at).lr == 0.01


def test_switching_optimizer_picks_its_usual_learning_rate_and_enables_momentum(runs_dir):
    at = open_app()
    assert at.slider(key="cfg_momentum").disabled
    at.selectbox(key="cfg_optimizer").set_value("momentum").run()
    assert config_of(at).optimizer == "momentum"
    assert config_of(at).lr == OPTIMIZERS["momentum"][1]
    assert not at.slider(key="cfg_momentum").disabled


def test_controls_that_do_not_apply_are_hidden_with_a_note(runs_dir):
    at = open_app()
    assert at.select_slider(key="cfg_hidden_mlp")
    at.selectbox(key="cfg_arch").set_value("softmax").run()
    keys = {w.key for w in at.sidebar.select_slider} | {w.key for w in at.sidebar.selectbox}
    assert "cfg_hidden_mlp" not in keys and "cfg_activation" not in keys
    assert any("no hidden layer" in c for c in texts(at.sidebar.caption))
    assert config_of(at).arch == "softmax" and config_of(at).hidden_sizes == ()


def test_every_control_explains_itself_in_a_tooltip(runs_dir):
    at = open_app()
    at.expander[0]  # noqa: B018  (the regularisation expander exists)
    widgets = [w for kind in ("selectbox", "select_slider", "slider", "radio", "number_input", "text_input")
               for w in getattr(at.sidebar, kind)]
    assert len(widgets) >= 12
    assert all(w.help and len(w.help) > 30 for w in widgets), [w.key for w in widgets if not w.help]


def test_an_invalid_value_shows_a_sentence_and_disables_train(runs_dir):
    at = open_app()
    at.selectbox(key="cfg_arch").set_value("deep-mlp").run()
    at.text_input(key="cfg_hidden_deep").set_value("512, lots").run()
    assert not at.exception
    assert any("whole numbers" in e for e in texts(at.sidebar.error))
    assert at.button(key="sidebar_train").disabled
    at.text_input(key="cfg_hidden_deep").set_value("64, 32, 16").run()
    assert config_of(at).hidden_sizes == (64, 32, 16)
    assert not at.button(key="sidebar_train").disabled


def test_settings_survive_a_page_switch_and_reset_puts_defaults_back(runs_dir):
    at = open_app()
    at.select_slider(key="cfg_lr").set_value(0.05).run()
    at.switch_page("pages/runs.py").run()
    at.switch_page("pages/train.py").run()
    assert config_of(at).lr == 0.05
    at.button(key="reset_settings").click().run()
    assert config_of(at).lr == TrainConfig().lr



def test_the_closed_expanders_draw_nothing_and_their_settings_are_kept(runs_dir):
    """"Regularisation and seed" and "Hardware" draw their widgets only while open; closed, the
    config still carries what they were set to, across a close, a page switch and a reopen."""
    at = open_app()
    drawn = lambda: {w.key for w in [*at.number_input, *at.select_slider, *at.slider, *at.selectbox]}
    assert not {"cfg_seed", "cfg_l2", "cfg_l1", "cfg_early_stopping", "cfg_device"} & drawn()
    at.session_state["sidebar_more_open"] = True  # a click on the expander
    at.run()
    assert {"cfg_seed", "cfg_l2", "cfg_l1", "cfg_early_stopping"} <= drawn()
    at.number_input(key="cfg_seed").set_value(41).run()
    at.select_slider(key="cfg_l2").set_value(1e-3).run()
    at.switch_page("pages/runs.py").run()  # an open expander stays open on the next page
    assert at.number_input(key="cfg_seed").value == 41
    at.switch_page("pages/train.py").run()
    at.session_state["sidebar_more_open"] = False
    at.run()
    assert "cfg_seed" not in drawn()
    assert (config_of(at).seed, config_of(at).l2) == (41, 1e-3)
    at.switch_page("pages/runs.py").run()
    at.switch_page("pages/train.py").run()
    assert (config_of(at).seed, config_of(at).l2) == (41, 1e-3)
    at.session_state["sidebar_more_open"] = True
    at.run()
    assert at.number_input(key="cfg_seed").value == 41 and at.select_slider(key="cfg_l2").value == 1e-3
    at.button(key="reset_settings").click().run()
    assert (config_of(at).seed, config_of(at).l2) == (TrainConfig().seed, TrainConfig().l2)

# --- training through the UI ------------------------------------------------------------------

def test_a_tiny_run_started_from_the_sidebar_finishes_with_accuracy_and_charts(runs_dir):
    at = tiny(open_app())
    at.button(key="sidebar_train").click().run()
    assert not at.exception
    assert texts(at.title) == ["Train a network"]  # Train takes the student to the live view
    job = job_of(at)
    assert job is not None and job.config.subset == 20 and job.config.epochs == 1
    wait_for_end(job)
    at.run()
    assert not at.exception
    assert any("Completed 1 epoch" in unescape(t) for t in texts(at.success))
    metrics = {m.label: m.value for m in at.metric}
    accuracy = float(metrics["Test accuracy"].rstrip("%"))
    assert accuracy == pytest.approx(100 * job.result.test_accuracy, abs=0.01) and accuracy > 20
    titles = [spec.get("title") for spec in chart_specs(at)]
    assert {"Loss (cross-entropy)", "Accuracy", "Validation accuracy of each digit"} <= set(titles)
    saved = RunStore(runs_dir).list()
    assert len(saved) == 1 and saved[0].owner == at.query_params["user"] and saved[0].status == "completed"
    assert any("test accuracy" in c for c in texts(at.sidebar.caption))


def test_stop_ends_the_run_as_stopped_and_keeps_what_it_learned(runs_dir):
    at = open_app()
    at.select_slider(key="cfg_subset").set_value("All 60k").run()
    at.select_slider(key="cfg_batch_size").set_value(16).run()  # ~3,400 steps per epoch: long enough to stop
    at.button(key="sidebar_train").click().run()
    job = job_of(at)
    deadline = time.time() + 60
    while not job.progress.snapshot()["batches"] and time.time() < deadline:
        time.sleep(0.05)
    at.run()
    assert at.button(key="page_stop") and not at.button(key="sidebar_stop").disabled
    at.button(key="sidebar_stop").click().run()
    wait_for_end(job)
    at.run()
    assert not at.exception
    assert job.result.status == "stopped" and job.result.steps < job.progress.snapshot()["info"]["total_steps"]
    assert any("Stopped by the user" in unescape(t) for t in texts(at.info))
    assert job.result.test_accuracy is not None and job.result.test_accuracy > 0.15  # it kept what it learned (chance is 0.10)
    assert RunStore(runs_dir).list()[0].status == "stopped"


def press_train_with_an_absurd_learning_rate(at: AppTest) -> None:
    """A deep MLP with plain SGD at lr 10: its loss blows up within the first batches."""
    at.selectbox(key="cfg_arch").set_value("deep-mlp").run()
    at.selectbox(key="cfg_optimizer").set_value("sgd").run()
    at.radio(key="cfg_schedule").set_value("constant").run()
    at.select_slider(key="cfg_lr").set_value(10.0).run()
    at.select_slider(key="cfg_subset").set_value("1k").run()
    at.select_slider(key="cfg_batch_size").set_value(16).run()
    at.slider(key="cfg_epochs").set_value(1).run()
    at.button(key="sidebar_train").click().run()


def test_an_absurd_learning_rate_ends_as_diverged_with_the_reason_shown(runs_dir):
    at = open_app()
    press_train_with_an_absurd_learning_rate(at)
    wait_for_end(job_of(at))
    at.run()
    assert not at.exception
    errors = [unescape(t) for t in texts(at.error)]
    assert any(t.startswith("Diverged: loss") and "the learning rate 10 is too large for SGD" in t for t in errors), errors
    assert job_of(at).result.status == "diverged"


def test_a_reload_finds_the_run_and_another_user_never_sees_it(runs_dir):
    at = tiny(open_app())
    at.button(key="sidebar_train").click().run()
    wait_for_end(job_of(at))
    me = at.query_params["user"]
    reloaded = open_app("pages/train.py", user=me)  # a reload is a new session with the same URL
    assert any("Completed" in unescape(t) for t in texts(reloaded.success))
    stranger = open_app("pages/train.py", user="someoneelse1234")
    assert not stranger.success and not stranger.metric
    assert stranger.button(key="sidebar_stop").disabled
    # The stranger sees the run only as a read-only class run.
    stranger.switch_page("pages/runs.py").run()
    assert "You have not trained a run yet." in texts(stranger.caption)
    assert not [b for b in stranger.button if b.key in ("rename_button", "delete_button")]


def test_a_second_user_waits_in_line_and_sees_their_place(runs_dir):
    from ui.session import get_data, get_jobs
    jobs = get_jobs()
    long_run = TrainConfig(arch="mlp", batch_size=16, epochs=3)
    # One blocker per training slot (one slot per core): the next run has to wait.
    blockers = [jobs.submit_training(long_run, get_data(), owner=f"firstuser123{i}")
                for i in range(jobs.stats()["slots"])]
    deadline = time.monotonic() + 120  # the worker processes may still be importing torch
    while any(b.state != "running" for b in blockers) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        at = tiny(open_app())
        at.button(key="sidebar_train").click().run()
        assert job_of(at).state == "queued"
        assert any("You are number 1 in the queue" in t for t in texts(at.info))
        at.button(key="cancel_queued_job").click().run()
        wait_for_end(job_of(at))
        at.run()
        assert job_of(at).state == "cancelled"
        assert any("Cancelled before it started" in t for t in texts(at.info))
    finally:
        for blocker in blockers:
            blocker.stop()
            wait_for_end(blocker)


# --- run history ------------------------------------------------------------------------------

def test_run_history_lists_renames_compares_and_deletes_a_run(runs_dir):
    at = tiny(open_app())
    at.button(key="sidebar_train").click().run()
    wait_for_end(job_of(at))
    at.run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 1 and table["Test accuracy"][0] > 20
    assert at.get("download_button")  # the history as CSV
    assert any(spec.get("title", "").startswith("Validation accuracy") for spec in chart_specs(at))
    run_id = RunStore(runs_dir).list()[0].run_id
    at.text_input(key=f"rename_{run_id}").set_value("**my** <b>run</b>").run()
    at.button(key="rename_button").click().run()
    assert RunStore(runs_dir).get(run_id).name == "**my** <b>run</b>"
    assert at.dataframe[0].value["Name"][0] == "**my** <b>run</b>"  # shown as typed, not as Markdown/HTML
    at.button(key="delete_button").click().run()
    at.button(key="delete_yes").click().run()
    assert not at.exception
    assert RunStore(runs_dir).list() == []
    assert any("No runs yet" in t for t in texts(at.info))
