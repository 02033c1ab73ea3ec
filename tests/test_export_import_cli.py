"""`python -m mnist_core export` and `import`, run as a user runs them (a subprocess)."""
from __future__ import annotations

import ast
import json
import zipfile
from pathlib import Path

import pytest

from mnist_core.config import TrainConfig
from mnist_core.runs import RunStore
from test_cli import assert_one_line_error, last_json_line, run_cli


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory, synthetic):
    from mnist_core.train import fit

    result = fit(TrainConfig(arch="softmax", optimizer="sgd", lr=0.2, epochs=1, batch_size=50), synthetic)
    store = RunStore(tmp_path_factory.mktemp("runs"))
    return store.save(result, name="exported", owner="teacher0001", test_labels=synthetic.test_labels)


def test_export_writes_a_zip_and_import_brings_it_back(saved_run, tmp_path):
    out = tmp_path / "mine.zip"
    assert last_json_line(run_cli("export", str(saved_run.path), "--out", str(out))) == {"path": str(out)}
    with zipfile.ZipFile(out) as archive:
        assert f"{saved_run.run_id}/weights.pt" in archive.namelist()
        assert not any(b"teacher0001" in archive.read(name) for name in archive.namelist())
    runs = tmp_path / "runs"
    line = last_json_line(run_cli("import", str(out), "--out", str(runs)))
    run_dir = Path(line["run_dir"])
    assert run_dir.parent == runs and line["name"] == "exported" and line["status"] == "completed"
    assert TrainConfig.from_dict(line["config"]) == saved_run.config
    assert line["test_accuracy"] == saved_run.test_accuracy
    info = RunStore(runs).get(run_dir.name)
    assert info.owner == "cli" and info.run_id != saved_run.run_id


def test_export_writes_a_script_and_a_notebook(saved_run, tmp_path):
    import nbformat

    script, notebook = tmp_path / "train_mine.py", tmp_path / "train_mine.ipynb"
    assert last_json_line(run_cli("export", str(saved_run.path), "--script", str(script))) == {"path": str(script)}
    assert last_json_line(run_cli("export", str(saved_run.path), "--notebook", str(notebook))) == {
        "path": str(notebook)}
    ast.parse(script.read_text())
    assert "LR = 0.2" in script.read_text()
    nbformat.validate(nbformat.read(notebook, as_version=4))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_mine.ipynb", "train_mine.py"]


@pytest.mark.parametrize("args, fragment", [
    (["export", "RUN"], "one of the arguments --out --script --notebook is required"),
    (["export", "RUN", "--out", "a.zip", "--script", "a.py"], "not allowed with argument"),
    (["import"], "the following arguments are required: FILE.zip"),
])
def test_bad_arguments_exit_2_with_one_line(args, fragment, saved_run):
    line = assert_one_line_error(run_cli(*[str(saved_run.path) if a == "RUN" else a for a in args]))
    assert fragment in line


def test_bad_files_exit_2_with_one_line(saved_run, tmp_path):
    line = assert_one_line_error(run_cli("import", str(tmp_path / "missing.zip"), "--out", str(tmp_path / "runs")))
    assert line == f"error: There is no file {tmp_path / 'missing.zip'} to import."
    line = assert_one_line_error(run_cli("export", str(tmp_path), "--out", str(tmp_path / "a.zip")))
    assert "is not a run folder" in line
    line = assert_one_line_error(run_cli("export", str(saved_run.path), "--out", str(tmp_path / "no" / "a.zip")))
    assert line.startswith(f"error: Could not write {tmp_path / 'no' / 'a.zip'}: No such file or directory")
    assert not (tmp_path / "runs").exists() and sorted(p.name for p in tmp_path.iterdir()) == []
