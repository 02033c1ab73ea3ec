"""The device choice (auto / cpu / cuda), on the CPU that CI has."""
import pytest
import torch

from mnist_core.config import ConfigError, TrainConfig
from mnist_core.device import (DeviceError, cuda_available, for_inspection, loading_device, resolve_device,
                               tensors_on)


@pytest.mark.parametrize("requested, has_cuda, expected", [
    ("auto", True, "cuda"), ("auto", False, "cpu"),
    ("cpu", True, "cpu"), ("cpu", False, "cpu"),
    ("cuda", True, "cuda"),
])
def test_resolve_device(requested, has_cuda, expected):
    assert resolve_device(requested, has_cuda=has_cuda) == expected


def test_cuda_without_a_gpu_is_one_sentence():
    with pytest.raises(DeviceError) as caught:
        resolve_device("cuda", has_cuda=False)
    message = str(caught.value)
    assert "\n" not in message and "no CUDA GPU" in message and "cpu" in message
    assert isinstance(caught.value, ConfigError)  # shown like every other bad setting


def test_unknown_device_names_the_choices():
    with pytest.raises(DeviceError, match="auto, cpu or cuda"):
        resolve_device("tpu")


def test_this_machine_matches_torch():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert cuda_available() == torch.cuda.is_available()
    assert resolve_device("auto") == expected
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError):
            resolve_device("cuda")


@pytest.mark.parametrize("requested, has_cuda, expected", [
    ("cuda", False, "cpu"), ("cuda", True, "cuda"), ("auto", False, "cpu"), ("cpu", True, "cpu"),
])
def test_loading_falls_back_to_the_cpu(requested, has_cuda, expected):
    assert loading_device(requested, has_cuda=has_cuda) == expected


def test_cpu_tensors_are_the_data_itself_moved_once(synthetic):
    first = tensors_on(synthetic, "cpu")
    assert first["train_x"].data_ptr() == synthetic.train_x.data_ptr()  # no copy on the CPU
    assert tensors_on(synthetic, "cpu") is first  # cached: moved once per process


def test_a_cpu_trained_run_loads_for_a_cuda_request_without_cuda(synthetic, tmp_path):
    from mnist_core.runs import RunStore
    from mnist_core.train import fit, predict_probabilities

    result = fit(TrainConfig(arch="mlp", hidden=(16,), epochs=1, batch_size=50), synthetic)
    info = RunStore(tmp_path).save(result, name="cpu run", owner="alice", test_labels=synthetic.test_labels)
    device = loading_device("cuda")
    assert device == ("cuda" if torch.cuda.is_available() else "cpu")
    model = for_inspection(RunStore(tmp_path).load_model(info.run_id).to(device))
    assert next(model.parameters()).device.type == "cpu" and not model.training
    reloaded = predict_probabilities(model, synthetic.test_x)
    assert torch.allclose(reloaded, torch.from_numpy(result.test_probabilities), atol=1e-6)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_the_cli_says_cuda_is_missing_in_one_line(tmp_path):
    from test_cli import assert_one_line_error, run_cli

    line = assert_one_line_error(run_cli("train", "--device", "cuda", "--out", str(tmp_path / "runs")))
    assert "no CUDA GPU" in line and not (tmp_path / "runs").exists()
    assert "invalid choice: 'tpu'" in assert_one_line_error(run_cli("train", "--device", "tpu"))


def test_a_config_names_its_device_and_old_runs_get_auto(synthetic):
    from mnist_core.train import fit

    assert TrainConfig().device == "auto" and TrainConfig.from_dict({"arch": "softmax"}).device == "auto"
    with pytest.raises(ConfigError, match="auto, cpu or cuda"):
        TrainConfig(device="gpu")
    result = fit(TrainConfig(arch="softmax", epochs=1, batch_size=50, device="cpu"), synthetic)
    assert next(result.model.parameters()).device.type == "cpu" and result.test_accuracy is not None
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError):
            fit(TrainConfig(arch="softmax", epochs=1, device="cuda"), synthetic)


@pytest.mark.integration  # the app as test_app.py opens it, on real MNIST
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_the_sidebar_says_there_is_no_gpu_in_one_sentence(runs_dir, router_mode):
    from test_app import open_app

    at = open_app()
    assert "cfg_device" not in [s.key for s in at.selectbox]  # drawn only once "Hardware" is opened
    at.session_state["sidebar_hardware_open"] = True  # what a click on the expander sets
    at.run()
    assert at.selectbox(key="cfg_device").value == "auto"
    at.selectbox(key="cfg_device").set_value("cuda").run()
    assert not at.exception
    assert any("no CUDA GPU" in str(e.value) for e in at.sidebar.error)
    assert at.session_state["sidebar_config"] is None  # Train has nothing to start
    at.selectbox(key="cfg_device").set_value("cpu").run()
    assert at.session_state["sidebar_config"].device == "cpu"
