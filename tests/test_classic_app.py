"""App tests of issue 11's controls: pixel scaling and engine in the sidebar, a NumPy run trained
from the sidebar, and the classic studies' reported-vs-yours view (AppTest, real MNIST, tiny runs)."""
import pytest

from tests.test_app import chart_specs, config_of, job_of, open_app, tiny, wait_for_end

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
    at = tiny(open_app(user="numpystudent"))
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


def test_range_test_button_plots_and_use_this_learning_rate_sets_the_sidebar(runs_dir):
    at = open_app(page="pages/train.py")
    at.button(key="lr_range_run").click().run()
    assert not at.exception
    specs = [s for s in chart_specs(at)
             if s.get("title") == "Loss as the learning rate grows"]
    assert specs, "no range-test chart"
    result = at.session_state["lr_range_result"][1]
    assert 1e-5 <= result.suggested_lr < result.min_loss_lr <= 10
    assert any("suggestion" in m.value for m in at.markdown)
    at.button(key="lr_range_use").click().run()
    assert not at.exception
    from ui.sidebar import learning_rate_choice
    assert config_of(at).lr == pytest.approx(learning_rate_choice(result.suggested_lr))


def test_numpy_panel_shows_the_real_backward_pass_and_a_gradient_check(runs_dir):
    import inspect

    from mnist_core.numpy_network import NumpyNetwork

    at = open_app(page="pages/train.py")
    assert inspect.getsource(NumpyNetwork.backward).strip() in [c.value.strip() for c in at.code]
    assert "gradient_check" not in [b.key for b in at.button]  # torch engine: nothing to check
    at.radio(key="cfg_engine").set_value("numpy").run()
    at.button(key="gradient_check").click().run()
    assert not at.exception
    metric = next(m for m in at.metric if m.label.startswith("Largest difference"))
    assert float(metric.value) < 1e-10
    assert at.session_state["gradient_check_result"]["largest_gradient"] > 1e-3  # real gradients compared


@pytest.fixture
def three_epoch_run(runs_dir, mnist):
    """A softmax run of 3 epochs on 200 images, saved as the user "traveller"'s, with its snapshots."""
    from mnist_core.config import TrainConfig
    from mnist_core.runs import RunStore
    from mnist_core.train import fit

    result = fit(TrainConfig(arch="softmax", optimizer="sgd", schedule="constant", lr=0.05, batch_size=20,
                             epochs=3, subset=20), mnist)
    return RunStore(runs_dir).save(result, owner="traveller", test_labels=mnist.test_labels)


@pytest.mark.parametrize("page", ["pages/mistakes.py", "pages/confusion_matrix.py", "pages/per_class.py",
                                  "pages/weights.py", "pages/draw.py"])
def test_the_epoch_slider_shows_the_model_as_it_was(three_epoch_run, mnist, page):
    from mnist_core.predict import predict_probabilities
    from mnist_core.runs import RunStore

    at = open_app(page=page, user="traveller")
    sliders = [s for s in at.select_slider if s.key.startswith(("inspect_epoch", "draw_epoch"))]
    assert len(sliders) == 1 and sliders[0].options == ["1", "2", "3"] and sliders[0].value == 3
    sliders[0].set_value(1).run()
    assert not at.exception
    assert any("after epoch 1 of 3" in c.value for c in at.caption)
    if page == "pages/mistakes.py":
        store = RunStore(three_epoch_run.path.parent)
        then = predict_probabilities(store.load_snapshot(three_epoch_run.run_id, 1), mnist.test_x)
        accuracy = (then.argmax(1) == mnist.test_labels).float().mean().item()
        final = three_epoch_run.test_accuracy
        shown = next(m.value for m in at.metric if m.label == "Test accuracy")
        assert shown == f"{100 * accuracy:.2f}%" and abs(accuracy - final) > 1e-4  # epoch 1's, not the final


def test_is_this_gap_real_trains_3_more_seeds_of_each_and_gives_a_verdict(runs_dir, mnist):
    from mnist_core.config import TrainConfig
    from mnist_core.runs import RunStore
    from mnist_core.train import fit
    from ui.session import get_jobs

    base = TrainConfig(arch="softmax", optimizer="sgd", schedule="constant", batch_size=20, epochs=1, subset=20)
    store = RunStore(runs_dir)
    for lr in (0.001, 0.1):  # 9 steps: lr 0.001 barely moves, lr 0.1 learns; a gap far above seed noise
        store.save(fit(base.replace(lr=lr), mnist), owner="gapper01", test_labels=mnist.test_labels)
    at = open_app(page="pages/runs.py", user="gapper01")
    assert any("differ in one setting, lr" in m.value for m in at.markdown)
    at.button(key="gap_train").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    job = get_jobs().latest_job("gapper01", kind="study")
    assert job is not None and job.spec.study == "gap" and job.spec.seeds == (1, 2, 3)
    wait_for_end(job)
    at.run()
    assert not at.exception
    rows = job.result
    assert sorted((r.value, r.seed) for r in rows) == [("A", 1), ("A", 2), ("A", 3), ("B", 1), ("B", 2), ("B", 3)]
    verdicts = [e.value for e in (*at.success, *at.info) if "Welch" in e.value]
    assert len(verdicts) == 1 and "The gap is real" in verdicts[0]
    assert len(RunStore(runs_dir).list()) == 2 + 6  # the new seeds are saved runs too
