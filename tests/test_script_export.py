"""The exported plain-PyTorch script and notebook (mnist_core/script_export.py).

The reference is the engine itself: the script trains on the same images (synthetic
digits written as MNIST files, so torchvision reads them) and must land on the same
test accuracy as fit() with the same config, to the last printed digit, because it
takes the same split, batch order, initial weights and steps.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_core.config import TrainConfig
from mnist_core.data import MNIST_MEAN, MNIST_STD
from mnist_core.script_export import export_file_name, training_notebook, training_script

ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def write_mnist_files(data, root: Path) -> Path:
    """`data` (an MnistData) as the four idx files torchvision reads from root/MNIST/raw."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, images, labels in (("train", data.train_images, data.train_labels),
                                   ("t10k", data.test_images, data.test_labels)):
        n = len(labels)
        header = (2051).to_bytes(4, "big") + n.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(header + images.numpy().astype(np.uint8).tobytes())
        header = (2049).to_bytes(4, "big") + n.to_bytes(4, "big")
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(header + labels.numpy().astype(np.uint8).tobytes())
    return root


def run_script(path: Path, *args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True, env=ENV,
                          timeout=timeout, cwd=path.parent)


def printed_accuracy(stdout: str) -> float:
    last = stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"test accuracy: \d\.\d{4}", last), last
    return float(last.split(": ")[1])


CONFIGS = {
    "softmax-sgd-onecycle": TrainConfig(arch="softmax", optimizer="sgd", lr=0.5, batch_size=32, epochs=2),
    "mlp-adam-l1-l2-dropout": TrainConfig(arch="mlp", hidden=(32,), activation="tanh", dropout=0.2, l1=1e-4,
                                          l2=1e-3, batch_size=40, epochs=2, seed=3),
    "deep-mlp-momentum-constant-early-stopping": TrainConfig(
        arch="deep-mlp", hidden=(24, 16), activation="sigmoid", optimizer="momentum", momentum=0.8, lr=0.2,
        schedule="constant", batch_size=64, epochs=4, early_stopping=1, val_fraction=0.2, seed=1),
    "cnn-max-steps-subset": TrainConfig(arch="cnn", batch_size=16, epochs=1, subset=20, max_steps=7),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_the_script_reproduces_the_engine_run(name, synthetic, tmp_path):
    from mnist_core.train import fit

    config = CONFIGS[name]
    result = fit(config, synthetic)
    script = tmp_path / "train_run.py"
    script.write_text(training_script(config, name="a run", run_id="20261122-193000-mlp-3f9a1c"))
    completed = run_script(script, "--data-dir", str(write_mnist_files(synthetic, tmp_path / "data")))
    assert completed.returncode == 0, completed.stderr
    assert printed_accuracy(completed.stdout) == round(result.test_accuracy, 4), completed.stdout
    epochs_printed = [line for line in completed.stdout.splitlines() if line.startswith("epoch ")]
    assert len(epochs_printed) == len(result.history["epochs"]), completed.stdout
    for line, event in zip(epochs_printed, result.history["epochs"]):
        assert f"train loss {event['train_loss']:.4f}" in line, (line, event)


def test_epochs_and_subset_shorten_the_script(synthetic, tmp_path):
    from mnist_core.train import fit

    config = TrainConfig(arch="softmax", optimizer="sgd", lr=0.5, batch_size=10, epochs=5)
    shorter = fit(config.replace(epochs=1, subset=5), synthetic)
    script = tmp_path / "train_run.py"
    script.write_text(training_script(config))
    completed = run_script(script, "--data-dir", str(write_mnist_files(synthetic, tmp_path / "data")),
                           "--epochs", "1", "--subset", "5")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[0] == "50 training images, 50 for validation, 100 for the test"
    assert sum(line.startswith("epoch ") for line in completed.stdout.splitlines()) == 1
    assert printed_accuracy(completed.stdout) == round(shorter.test_accuracy, 4)


@pytest.mark.parametrize("name", CONFIGS)
def test_the_script_is_plain_pytorch_with_the_runs_settings(name):
    config = CONFIGS[name]
    source = training_script(config)
    tree = ast.parse(source)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"argparse", "math", "time", "torch", "torchvision"}
    settings = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.isupper() and isinstance(node.value, ast.Constant)}
    for field in ("seed", "lr", "batch_size", "epochs", "l2", "l1", "dropout", "early_stopping",
                  "val_fraction", "subset", "max_steps"):
        assert settings[field.upper()] == getattr(config, field), field
    assert ("MOMENTUM" in settings) == (config.optimizer == "momentum")
    assert ("OneCycleLR" in source) == (config.schedule == "onecycle")
    assert f"MNIST_MEAN, MNIST_STD = {MNIST_MEAN}, {MNIST_STD}\n" in source
    assert max(len(line) for line in source.splitlines()) <= 120


def test_the_runs_weights_load_into_the_scripts_model(synthetic):
    """The layer names match the engine's, so weights.pt fits the script's model."""
    import torch

    from mnist_core.models import create_model

    for config in CONFIGS.values():
        namespace: dict = {}
        source = training_script(config)
        exec(compile(source.split("\ndef main(")[0], "train_run.py", "exec"), namespace)  # definitions only
        theirs = namespace["create_model"]()
        ours = create_model(config)
        theirs.load_state_dict(ours.state_dict())  # raises if a name or a shape differs
        assert all(torch.equal(a, b) for a, b in zip(theirs.state_dict().values(), ours.state_dict().values())), \
            "the same seed gives the same initial weights"


def test_the_notebook_is_valid_and_holds_the_same_code():
    import nbformat

    config = CONFIGS["mlp-adam-l1-l2-dropout"]
    notebook = nbformat.reads(training_notebook(config, name="a run"), as_version=4)
    nbformat.validate(notebook)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "mnist_core" not in code and "argparse" not in code
    for line in ("L1 = 0.0001", "L2 = 0.001", "DROPOUT = 0.2", "HIDDEN = (32,)", "nn.Tanh()"):
        assert line in code, line
    assert notebook.cells[-1].source.endswith('print(f"test accuracy: {test_accuracy:.4f}")')


def test_export_file_names():
    assert export_file_name("20261122-193000-cnn-3f9a1c", "zip") == "20261122-193000-cnn-3f9a1c.zip"
    assert export_file_name("20261122-193000-cnn-3f9a1c", "notebook") == "train_20261122_193000_cnn_3f9a1c.ipynb"


def test_the_notebook_runs_headless_and_prints_the_runs_accuracy(synthetic, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    from mnist_core.train import fit

    config = CONFIGS["softmax-sgd-onecycle"]
    result = fit(config, synthetic)
    data_dir = write_mnist_files(synthetic, tmp_path / "data")
    notebook = nbformat.reads(training_notebook(config, data_dir=str(data_dir)), as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute(env=ENV)  # one torch thread in the kernel too
    outputs = [out.get("text", "") for out in notebook.cells[-1].outputs if out.output_type == "stream"]
    assert printed_accuracy("".join(outputs)) == round(result.test_accuracy, 4), json.dumps(outputs)
