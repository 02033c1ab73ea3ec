"""App tests of issue 11's controls: pixel scaling and engine in the sidebar, a NumPy run trained
from the sidebar, and the classic studies' reported-vs-yours view (AppTest, real MNIST, tiny runs)."""
import pytest

from tests.test_app import config_of, job_of, open_app, tiny, wait_for_end

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("router_mode")]


def test_pixels_control_sets_the_scaling_and_explains_step_strength(runs_dir):
    at = open_app()
    assert config_of(at).pixels == "standardized"
    radio = at.radio(key="cfg_pixels")
    assert "step" in radio.help
    radio.set_value("unit").run()
    assert not at.exception
    assert config_of(at).pixels == "unit"


def test_engine_control_switches_to_numpy_settings_and_is_hidden_for_the_cnn(runs_dir):
    at = open_app()
    assert config_of(at).engine == "torch"
    at.radio(key="cfg_engine").set_value("numpy").run()
    assert not at.exception
    config = config_of(at)
    assert (config.engine, config.optimizer, config.schedule, config.activation) == (
        "numpy", "momentum", "constant", "relu")
    assert config.lr == pytest.approx(0.01)
    assert any("NumPy from scratch" in c.value for c in at.sidebar.caption)
    at.selectbox(key="cfg_arch").set_value("cnn").run()
    assert not at.exception
    assert "cfg_engine" not in [w.key for w in at.sidebar.radio]
    assert config_of(at).engine == "torch"
    assert any("CNN needs PyTorch" in c.value for c in at.sidebar.caption)


def test_a_numpy_run_from_the_sidebar_is_saved_and_opens_on_the_pages(runs_dir):
    at = tiny(open_app(user="numpy-student"))
    at.radio(key="cfg_engine").set_value("numpy").run()
    at.radio(key="cfg_pixels").set_value("unit").run()
    at.select_slider(key="cfg_batch_size").set_value(16).run()
    at.slider(key="cfg_epochs").set_value(3).run()
    at.button(key="sidebar_train").click().run()
    job = job_of(at)
    wait_for_end(job)
    at.run()
    assert not at.exception
    assert job.result.status == "completed" and job.result.config.engine == "numpy"
    assert job.result.test_accuracy > 0.3  # 180 images, 33 steps: far above the 10% of guessing
    for page in ("pages/mistakes.py", "pages/weights.py", "pages/confusion_matrix.py", "pages/draw.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
