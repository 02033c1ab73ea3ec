"""Issue 15 on real MNIST: a 1-epoch MLP run taken home as a script, a notebook and a zip.

- the exported script, run as `python FILE.py --data-dir DIR`, lands within 1 point of the run's
  own test accuracy (it takes the same steps, so in practice it lands on it);
- the exported notebook, executed headless with nbclient, does the same;
- a download -> upload round trip gives identical predictions on the 10,000 test images.
"""
from __future__ import annotations

import pytest
import torch

from conftest import mnist_data_dir
from mnist_core.config import TrainConfig
from test_script_export import ENV, printed_accuracy, run_script

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mnist_run(mnist, tmp_path_factory):
    from mnist_core.runs import RunStore
    from mnist_core.train import fit

    result = fit(TrainConfig(arch="mlp", epochs=1), mnist)
    store = RunStore(tmp_path_factory.mktemp("runs"))
    info = store.save(result, name="one epoch", owner="teacher0001", test_labels=mnist.test_labels)
    assert result.test_accuracy > 0.95
    return store, info


def test_the_exported_script_reaches_the_runs_test_accuracy(mnist_run, tmp_path):
    from mnist_core.script_export import export_file_name, training_script

    store, info = mnist_run
    script = tmp_path / export_file_name(info.run_id, "script")
    script.write_text(training_script(info.config, name=info.name, run_id=info.run_id))
    completed = run_script(script, "--data-dir", str(mnist_data_dir().resolve()))
    assert completed.returncode == 0, completed.stderr
    assert abs(printed_accuracy(completed.stdout) - info.test_accuracy) <= 0.01, (completed.stdout, info.test_accuracy)


def test_the_exported_notebook_runs_headless_to_the_runs_test_accuracy(mnist_run, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    from mnist_core.script_export import training_notebook

    store, info = mnist_run
    notebook = nbformat.reads(training_notebook(info.config, data_dir=str(mnist_data_dir().resolve())), as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute(env=ENV)  # one torch thread, as the run
    printed = "".join(out.get("text", "") for out in notebook.cells[-1].outputs if out.output_type == "stream")
    assert abs(printed_accuracy(printed) - info.test_accuracy) <= 0.01, (printed, info.test_accuracy)


def test_a_download_upload_round_trip_gives_identical_test_predictions(mnist_run, mnist, tmp_path):
    from mnist_core.run_export import run_zip_bytes
    from mnist_core.run_import import import_run_zip
    from mnist_core.runs import RunStore
    from mnist_core.train import predict_probabilities

    store, info = mnist_run
    uploads = RunStore(tmp_path / "runs")
    back = import_run_zip(run_zip_bytes(store, info.run_id), uploads, owner="student0002")
    before = predict_probabilities(store.load_model(info.run_id), mnist.test_x)
    after = predict_probabilities(uploads.load_model(back.run_id), mnist.test_x)
    assert torch.equal(before.argmax(1), after.argmax(1)) and torch.equal(before, after)
    assert back.test_accuracy == info.test_accuracy and back.owner == "student0002"
