"""Tests of the command line, run as a user runs it: `python -m mnist_core ...` in a subprocess.

Bad input must end with exit status 2 and exactly one line on stderr (never a
traceback). Training and evaluating need real MNIST, so those tests are
integration-marked and kept tiny (--subset 20 --epochs 1, one thread).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MNIST_DIR = REPO_ROOT.parent / "shared" / "mnist"
GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=17179869184"


def run_cli(*args, env_changes=None, timeout=600):
    env = dict(os.environ)
    env["MNIST_DATA_DIR"] = str(Path(os.environ.get("MNIST_DATA_DIR") or DEFAULT_MNIST_DIR).resolve())
    env.setdefault("GLIBC_TUNABLES", GLIBC_TUNABLES)
    env.update(env_changes or {})
    for name in [name for name, value in env.items() if value is None]:
        del env[name]
    return subprocess.run([sys.executable, "-m", "mnist_core", "--threads", "1", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(completed):
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("error: ")
    assert completed.stdout == ""
    return lines[0]


@pytest.mark.parametrize("args, fragment", [
    (["train", "--arch", "resnet"], "argument --arch: invalid choice: 'resnet'"),
    (["train", "--lr", "0"], "The learning rate must be greater than 0 (got 0)"),
    (["train", "--epochs", "0"], "Train for at least 1 epoch (got 0)"),
    (["train", "--dropout", "1"], "Dropout must be at least 0 and below 1 (got 1)"),
    (["train", "--hidden", "0"], "A hidden layer needs between 1 and 8192 units (got 0)."),
    (["train", "--lr", "fast"], "argument --lr: invalid float value: 'fast'"),
    (["train", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ([], "the following arguments are required: command"),
    (["evaluate"], "the following arguments are required: run_dir"),
])
def test_bad_arguments_exit_2_with_one_line(args, fragment):
    line = assert_one_line_error(run_cli(*args))
    assert fragment in line


@pytest.mark.parametrize("where", ["argument", "environment"])
def test_a_missing_data_folder_exits_2_with_one_line(tmp_path, where):
    missing = tmp_path / "no-mnist-here"
    if where == "argument":
        completed = run_cli("train", "--data-dir", str(missing), "--out", str(tmp_path / "runs"))
    else:
        completed = run_cli("train", "--out", str(tmp_path / "runs"), env_changes={"MNIST_DATA_DIR": str(missing)})
    line = assert_one_line_error(completed)
    assert f"The MNIST folder {missing} does not exist" in line and "MNIST_DATA_DIR" in line
    assert not missing.exists() and not (tmp_path / "runs").exists()


def test_evaluate_of_a_folder_that_is_not_a_run_exits_2(tmp_path):
    line = assert_one_line_error(run_cli("evaluate", str(tmp_path)))
    assert f"{tmp_path} is not a run folder" in line
    line = assert_one_line_error(run_cli("evaluate", str(tmp_path / "missing")))
    assert "is not a run folder (it does not exist)" in line


# --- real training --------------------------------------------------------------------

SUMMARY_KEYS = {"status", "test_accuracy", "val_accuracy", "train_accuracy", "epochs_run", "train_seconds", "run_dir"}


def last_json_line(completed):
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli-runs")
    completed = run_cli("train", "--subset", "20", "--epochs", "1", "--name", "cli smoke", "--out", str(out))
    return completed, last_json_line(completed), out


@pytest.mark.integration
def test_train_prints_a_json_summary_and_saves_a_run(trained_run):
    completed, summary, out = trained_run
    assert SUMMARY_KEYS <= set(summary)
    assert summary["status"] == "completed" and summary["epochs_run"] == 1
    assert 0.2 < summary["test_accuracy"] <= 1 and 0 <= summary["train_accuracy"] <= 1
    assert summary["train_seconds"] >= 0 and 0 <= summary["val_accuracy"] <= 1
    run_dir = Path(summary["run_dir"])
    assert run_dir.parent == out and (run_dir / "weights.pt").is_file()
    assert json.loads((run_dir / "meta.json").read_text())["name"] == "cli smoke"
    # Progress goes to stderr: one epoch line and the final status line.
    assert "epoch 1: train loss" in completed.stderr
    assert completed.stderr.strip().splitlines()[-1].startswith("completed: ")


@pytest.mark.integration
def test_evaluate_reports_the_test_metrics_of_a_saved_run(trained_run):
    _, summary, _ = trained_run
    report = last_json_line(run_cli("evaluate", summary["run_dir"]))
    assert report["run_dir"] == summary["run_dir"]
    assert report["accuracy"] == pytest.approx(summary["test_accuracy"], abs=1e-6)
    for key in ("per_class_accuracy", "precision", "recall", "f1", "support"):
        assert len(report[key]) == 10, key
    matrix = report["confusion_matrix"]
    assert len(matrix) == 10 and all(len(row) == 10 for row in matrix)
    assert sum(map(sum, matrix)) == 10_000 == sum(report["support"])
    assert sum(matrix[d][d] for d in range(10)) / 10_000 == pytest.approx(report["accuracy"])
    assert {"macro_precision", "macro_recall", "macro_f1"} <= set(report)


@pytest.mark.integration
def test_evaluate_of_a_run_with_damaged_weights_exits_2(trained_run, tmp_path):
    import shutil

    _, summary, _ = trained_run
    copy = tmp_path / Path(summary["run_dir"]).name
    shutil.copytree(summary["run_dir"], copy)
    (copy / "weights.pt").write_bytes(b"not weights")
    line = assert_one_line_error(run_cli("evaluate", str(copy)))
    assert f"The weights file of run {copy.name} is damaged" in line


@pytest.mark.integration
def test_a_diverging_run_exits_0_with_status_diverged(tmp_path):
    completed = run_cli("train", "--arch", "mlp", "--optimizer", "sgd", "--lr", "100", "--schedule", "constant",
                        "--subset", "50", "--out", str(tmp_path))
    summary = last_json_line(completed)
    assert summary["status"] == "diverged"
    assert "the learning rate 100 is too large for SGD — try 0.1." in summary["reason"]
    assert summary["test_accuracy"] is None
    assert Path(summary["run_dir"]).is_dir(), "a diverged run is kept in the history too"
    assert "diverged: loss " in completed.stderr


def test_every_command_has_help_that_prints(capsys):
    """`--help` formats every option's help text (argparse reads a lone % in it as a format and crashes)."""
    from mnist_core.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    assert {"train", "predict", "class-board"} <= set(commands)
    for command in [[]] + [[name] for name in commands]:
        with pytest.raises(SystemExit) as stop:
            parser.parse_args(command + ["--help"])
        assert stop.value.code == 0, command
        assert "usage:" in capsys.readouterr().out, command
