"""Tests of mnist_core.runs: the run store's round trip, folder names, damaged runs, safe
loading of weights, atomic saving and unwritable folders."""
import json
import os
import pickle
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import mnist_core.runs as runs_module
from mnist_core.config import TrainConfig
from mnist_core.models import MLP
from mnist_core.runs import (RUN_ID_PATTERN, RUNS_ENV, RunStore, RunStoreError, clean_run_name, open_run_folder,
                             resolve_runs_dir)
from mnist_core.predict import predict_probabilities
from mnist_core.train import fit

FOLDER_NAME = re.compile(r"^20\d{6}-\d{6}-softmax-[0-9a-f]{6}$")


@pytest.fixture(scope="module")
def result(synthetic):
    return fit(TrainConfig(arch="softmax", epochs=2, batch_size=50, seed=4), synthetic, log_every=3)


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- the round trip ---------------------------------------------------------------

def test_save_list_get_load_rename_delete_round_trip(store, result, synthetic):
    info = store.save(result, name="first try", owner="alice", extra={"lesson": 2},
                      test_labels=synthetic.test_labels)
    assert FOLDER_NAME.match(info.run_id) and RUN_ID_PATTERN.match(info.run_id)
    assert info.path == store.root / info.run_id
    assert {"meta.json", "config.json", "history.json", "metrics.json", "weights.pt",
            "test_probabilities.npy", "snapshots.pt"} == set(entries(info.path))
    assert (info.name, info.owner, info.status, info.extra) == ("first try", "alice", "completed", {"lesson": 2})
    assert info.config == result.config and info.reason == result.reason
    assert info.test_accuracy == pytest.approx(result.test_accuracy)
    assert info.metrics["test"]["accuracy"] == pytest.approx(result.test_accuracy)
    assert np.array(info.metrics["test"]["confusion_matrix"]).sum() == 100

    assert [r.run_id for r in store.list()] == [info.run_id] and store.problems == []
    assert store.get(info.run_id).name == "first try"

    loaded = store.load(info.run_id)
    assert loaded.history == result.history
    assert loaded.test_probabilities.dtype == np.float32
    assert np.array_equal(loaded.test_probabilities, result.test_probabilities)  # saved as float32, exactly
    assert not loaded.model.training
    assert torch.equal(predict_probabilities(loaded.model, synthetic.test_x),
                       predict_probabilities(result.model, synthetic.test_x))
    assert store.load(info.run_id, with_model=False).model is None

    store.rename(info.run_id, "  best   so far ", actor="alice")
    assert store.get(info.run_id).name == "best so far"
    store.delete(info.run_id, actor="alice")
    assert store.list() == [] and entries(store.root) == []
    with pytest.raises(RunStoreError, match=f"There is no run {info.run_id}."):
        store.get(info.run_id)
    with pytest.raises(RunStoreError, match="There is no run"):
        store.delete(info.run_id, actor="alice")


def test_list_is_newest_first_and_filters_by_owner(store, result):
    first = store.save(result, owner="alice")
    second = store.save(result, owner="bob")
    third = store.save(result, owner="alice")
    assert len({first.run_id, second.run_id, third.run_id}) == 3
    assert [r.run_id for r in store.list()] == [third.run_id, second.run_id, first.run_id]
    assert [r.run_id for r in store.list(owner="alice")] == [third.run_id, first.run_id]
    assert store.list(owner="carol") == []


def test_without_test_labels_only_the_summary_is_kept(store, result):
    info = store.save(result)
    assert "test" not in info.metrics and info.metrics["status"] == "completed"
    assert info.name == result.config.short_description()


def test_an_empty_or_missing_store_lists_nothing(tmp_path):
    assert RunStore(tmp_path / "nowhere").list() == []


def test_resolve_runs_dir_prefers_the_argument_then_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "env"))
    assert resolve_runs_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_runs_dir() == tmp_path / "env"
    monkeypatch.delenv(RUNS_ENV)
    assert resolve_runs_dir() == Path("./runs")


# --- names and ids ------------------------------------------------------------------

@pytest.mark.parametrize("run_id", ["..", "../etc", "a/b", "/etc/passwd", "20261122-193000-mlp-3f9a1c/../../x",
                                    "20261122-193000-MLP-3f9a1c", "", ".tmp-20261122-193000-mlp-3f9a1c", None, 42])
def test_an_id_that_is_not_a_run_id_is_refused_before_touching_the_disk(store, run_id):
    for action in (store.get, store.load, store.load_model, lambda r: store.delete(r, actor="alice"),
                   lambda r: store.rename(r, "x", actor="alice")):
        with pytest.raises(RunStoreError, match="is not a valid run id"):
            action(run_id)


def test_a_name_with_slashes_and_markup_is_display_text_only(store, result):
    name = "../../evil/<script>alert(1)</script>\n"
    info = store.save(result, name=name, owner="alice")
    assert info.name == "../../evil/<script>alert(1)</script>"
    assert FOLDER_NAME.match(info.run_id) and info.path.parent == store.root
    assert entries(store.root) == [info.run_id]
    assert not (store.root.parent / "evil").exists()
    store.rename(info.run_id, "a/b\\c <b>bold</b>", actor="alice")
    assert store.get(info.run_id).name == "a/b\\c <b>bold</b>"
    assert entries(store.root) == [info.run_id]


def test_clean_run_name():
    assert clean_run_name("  my   <b>best</b>/run\n ") == "my <b>best</b>/run"
    assert clean_run_name("tab\there\x00and\x1bnull") == "tab here and null"
    assert clean_run_name("x" * 100) == "x" * 60
    assert clean_run_name(12) == "12"
    for empty in ("", "   ", "\n\t\x00"):
        with pytest.raises(RunStoreError, match="A run name cannot be empty."):
            clean_run_name(empty)


def test_renaming_to_an_empty_name_is_refused(store, result):
    info = store.save(result, name="kept", owner="alice")
    with pytest.raises(RunStoreError, match="cannot be empty"):
        store.rename(info.run_id, "  ", actor="alice")
    assert store.get(info.run_id).name == "kept"


# --- damaged runs ---------------------------------------------------------------------

@pytest.mark.parametrize("file_name, content, fragment", [
    ("meta.json", "{not json", "The file meta.json of run {id} is damaged (not valid JSON)."),
    ("config.json", "[1, 2", "The file config.json of run {id} is damaged (not valid JSON)."),
    ("config.json", json.dumps({"arch": "mlp", "lr": -1}), "The config of run {id} is damaged: The learning rate"),
    ("config.json", json.dumps({"arch": "mlp", "colour": 1}), "The config of run {id} is damaged: Unknown setting"),
    ("config.json", "null", "The config of run {id} is damaged"),
    ("metrics.json", "[]", "The files of run {id} are damaged."),
    ("meta.json", json.dumps({"created": "yesterday"}), "The meta.json of run {id} is damaged"),
    ("meta.json", None, "The run folder {id} has no meta.json."),
])
def test_a_damaged_run_is_skipped_by_list_and_refused_by_get(store, result, file_name, content, fragment):
    good = store.save(result, name="good")
    bad = store.save(result, name="bad")
    if content is None:
        (bad.path / file_name).unlink()
    else:
        (bad.path / file_name).write_text(content)
    assert [r.run_id for r in store.list()] == [good.run_id]
    assert len(store.problems) == 1 and fragment.format(id=bad.run_id) in store.problems[0]
    with pytest.raises(RunStoreError) as caught:
        store.get(bad.run_id)
    assert fragment.format(id=bad.run_id) in str(caught.value)


def test_temporary_trash_and_foreign_folders_are_ignored_quietly(store, result):
    info = store.save(result)
    for name in (f".tmp-{info.run_id}", f".deleting-{info.run_id}", "notes", "20261122-193000-mlp"):
        (store.root / name).mkdir()
    (store.root / "README.txt").write_text("hello")
    assert [r.run_id for r in store.list()] == [info.run_id] and store.problems == []


def test_weights_of_the_wrong_shape_are_a_run_store_error(store, result):
    info = store.save(result)
    torch.save(MLP(hidden=(16,)).state_dict(), info.path / "weights.pt")
    with pytest.raises(RunStoreError, match=f"The weights of run {info.run_id} do not fit its architecture"):
        store.load_model(info.run_id)
    torch.save({"linear.weight": torch.zeros(10, 100), "linear.bias": torch.zeros(10)}, info.path / "weights.pt")
    with pytest.raises(RunStoreError, match="do not fit its architecture"):
        store.load_model(info.run_id)


@pytest.mark.parametrize("content", [b"", b"garbage, not a weights file"])
def test_damaged_weights_are_a_run_store_error(store, result, content):
    info = store.save(result)
    (info.path / "weights.pt").write_bytes(content)
    with pytest.raises(RunStoreError, match=f"run {info.run_id}"):
        store.load_model(info.run_id)


def test_missing_weights_are_a_run_store_error(store, result):
    info = store.save(result)
    (info.path / "weights.pt").unlink()
    with pytest.raises(RunStoreError, match="has no weights file"):
        store.load_model(info.run_id)


def test_damaged_test_predictions_are_a_run_store_error(store, result):
    info = store.save(result)
    (info.path / "test_probabilities.npy").write_bytes(b"\x93NUMPY nonsense")
    with pytest.raises(RunStoreError, match="saved test predictions of run .* are damaged"):
        store.load(info.run_id, with_model=False)


class WritesAMarker:
    """A pickle that, if ever unpickled, creates a file: what a malicious weights.pt could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch warns about the pickle protocol
@pytest.mark.parametrize("how", ["torch.save", "plain pickle"])
def test_a_weights_file_with_code_in_it_is_never_executed(store, result, tmp_path, how):
    info = store.save(result)
    marker = tmp_path / "i-was-executed"
    bomb = {"linear.weight": WritesAMarker(marker)}
    if how == "torch.save":
        torch.save(bomb, info.path / "weights.pt")
    else:
        (info.path / "weights.pt").write_bytes(pickle.dumps(bomb))
    assert not marker.exists()
    with pytest.raises(RunStoreError) as caught:
        store.load_model(info.run_id)
    assert not marker.exists(), "torch.load must use weights_only=True"
    assert str(caught.value) == (f"The weights file of run {info.run_id} is damaged or holds more than plain "
                                 "weights (it may have been tampered with), so it was not loaded.")


# --- saving safely --------------------------------------------------------------------------

def test_a_save_that_fails_midway_leaves_no_folder(store, result, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(runs_module.torch, "save", disk_full)
    with pytest.raises(RunStoreError) as caught:
        store.save(result, name="doomed")
    assert str(caught.value) == (f"Could not save the run in {store.root}: No space left on device. Check that "
                                 f"the folder is writable and the disk is not full (the folder is set by {RUNS_ENV}).")
    assert entries(store.root) == []
    assert store.list() == []


def test_an_unexpected_error_while_saving_also_leaves_no_folder(store, result, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("pickling exploded")
    monkeypatch.setattr(runs_module.torch, "save", crash)
    with pytest.raises(RuntimeError, match="pickling exploded"):
        store.save(result)
    assert entries(store.root) == []


def test_a_read_only_runs_folder_gives_a_plain_message(tmp_path, result, monkeypatch):
    root = tmp_path / "runs"
    root.mkdir()
    if os.geteuid() == 0:
        # root ignores permission bits, so simulate what the kernel would say to anyone else.
        real_mkdir = Path.mkdir

        def refuse_inside_root(self, *args, **kwargs):
            if self.parent == root:
                raise PermissionError(13, "Permission denied", str(self))
            return real_mkdir(self, *args, **kwargs)
        monkeypatch.setattr(Path, "mkdir", refuse_inside_root)
    else:
        root.chmod(0o555)
    try:
        with pytest.raises(RunStoreError) as caught:
            RunStore(root).save(result)
    finally:
        root.chmod(0o755)
    message = str(caught.value)
    assert message.startswith(f"Could not save the run in {root}: Permission denied. ")
    assert "Check that the folder is writable" in message and "\n" not in message
    assert entries(root) == []


def test_open_run_folder_finds_the_store_and_refuses_other_folders(store, result, tmp_path):
    info = store.save(result)
    found_store, run_id = open_run_folder(info.path)
    assert run_id == info.run_id and found_store.root == store.root.resolve()
    with pytest.raises(RunStoreError, match="is not a run folder: a run folder is named like"):
        open_run_folder(tmp_path)
    with pytest.raises(RunStoreError, match="is not a run folder \\(it does not exist\\)"):
        open_run_folder(tmp_path / "missing")


# --- who may change a run ---------------------------------------------------------------

def test_only_the_owner_or_the_teacher_renames_or_deletes_a_run(store, result):
    from mnist_core.classroom import TEACHER_OWNER
    from mnist_core.runs import RunPermissionError

    info = store.save(result, name="ann's", owner="student-1")
    for stranger in ("student-2", "", "cli"):
        with pytest.raises(RunPermissionError, match="belongs to someone else"):
            store.rename(info.run_id, "mine now", actor=stranger)
        with pytest.raises(PermissionError, match="Only its owner or the teacher"):
            store.delete(info.run_id, actor=stranger)
    assert store.get(info.run_id).name == "ann's"  # nothing changed
    assert isinstance(RunPermissionError("x"), RunStoreError)  # pages and the CLI already catch these
    store.rename(info.run_id, "renamed by the teacher", actor=TEACHER_OWNER)
    assert store.get(info.run_id).name == "renamed by the teacher"
    store.delete(info.run_id, actor=TEACHER_OWNER)
    assert store.list() == []


def test_a_run_with_no_owner_can_only_be_deleted_by_the_teacher(store, result):
    info = store.save(result)  # owner ""
    with pytest.raises(PermissionError):
        store.delete(info.run_id, actor="")
    store.delete(info.run_id, actor="teacher")
    assert store.list() == []


# --- crash safety -----------------------------------------------------------------------

def test_a_save_fsyncs_every_file_before_the_rename(store, result, monkeypatch):
    calls = []
    real_fsync, real_rename = os.fsync, os.rename
    monkeypatch.setattr(runs_module.os, "fsync", lambda fd: (calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))),
                                                            real_fsync(fd)))
    monkeypatch.setattr(runs_module.os, "rename", lambda a, b: (calls.append(("rename", str(a))), real_rename(a, b)))
    info = store.save(result, owner="alice")
    rename_at = [i for i, call in enumerate(calls) if call[0] == "rename"][0]
    synced_before = {Path(path).name for kind, path in calls[:rename_at] if kind == "fsync"}
    assert {"meta.json", "config.json", "history.json", "metrics.json", "weights.pt"} <= synced_before
    assert f".tmp-{info.run_id}" in synced_before  # the folder itself, too
    assert ("fsync", str(store.root.resolve())) in calls[rename_at:]  # and the store folder after the rename


def test_left_over_temporary_and_trash_folders_are_removed_when_a_store_opens(tmp_path, result):
    root = tmp_path / "runs"
    first = RunStore(root).save(result, owner="alice")
    old, young = root / ".tmp-20260101-000000-mlp-aaaaaa", root / ".deleting-20260101-000000-mlp-bbbbbb"
    for folder in (old, young):
        folder.mkdir()
        (folder / "weights.pt").write_bytes(b"half")
    an_hour_ago = os.path.getmtime(old) - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    RunStore(root)
    assert not old.exists()
    assert young.exists(), "a young one may be a save under way in another process"
    os.utime(young, (an_hour_ago, an_hour_ago))
    assert RunStore(root).remove_leftovers() == [] and not young.exists()  # removed by the constructor
    assert [r.run_id for r in RunStore(root).list()] == [first.run_id]


# --- format versions ----------------------------------------------------------------
# tests/fixtures/run_v1 holds a folder written by the code of 2026-12-01, before meta.json had a
# format version: softmax regression, 4 steps of 50 on the synthetic set (seed 0), model seed 7.
# Its text files and its test_probabilities.npy are kept as that code wrote them; its weights.pt (a
# plain state_dict, the same format then and now) is not kept in the repo: the fixture below trains
# it again from the folder's own config.json, which gives that code's weights to 4e-9.
FIXTURE_STORE = Path(__file__).parent / "fixtures" / "run_v1"
FIXTURE_RUN = "20261201-200158-softmax-068bc4"


@pytest.fixture
def old_store(tmp_path, synthetic):
    """A copy of the version 1 fixture store with its weights file, free to edit."""
    shutil.copytree(FIXTURE_STORE, tmp_path / "runs")
    folder = tmp_path / "runs" / FIXTURE_RUN
    config = TrainConfig(**json.loads((folder / "config.json").read_text()))
    torch.save(fit(config, synthetic).model.state_dict(), folder / "weights.pt")
    return RunStore(tmp_path / "runs")


def test_a_version_1_folder_from_before_the_format_version_still_loads(old_store, synthetic):
    store = old_store
    assert [r.run_id for r in store.list()] == [FIXTURE_RUN] and store.problems == []
    loaded = store.load(FIXTURE_RUN)
    info = loaded.info
    assert info.format_version == 1
    assert (info.name, info.owner, info.status) == ("format v1 fixture", "fixture", "completed")
    assert info.config == TrainConfig(arch="softmax", epochs=1, batch_size=50, max_steps=4, seed=7)
    assert info.metrics["steps"] == 4 and info.metrics["test"]["accuracy"] == pytest.approx(info.test_accuracy)
    assert np.array(info.metrics["test"]["confusion_matrix"]).sum() == 100
    assert [event["step"] for event in loaded.history["batches"]] == [1, 2, 3, 4]
    assert len(loaded.history["epochs"]) == 1
    assert loaded.test_probabilities.shape == (100, 10) and loaded.test_probabilities.dtype == np.float32
    probabilities = predict_probabilities(loaded.model, synthetic.test_x)
    assert probabilities.shape == (100, 10)
    assert np.allclose(probabilities.numpy(), loaded.test_probabilities, atol=1e-5)  # the same weights, the same answers


def test_a_new_run_records_the_format_version(store, result):
    info = store.save(result)
    assert json.loads((info.path / "meta.json").read_text())["format_version"] == runs_module.FORMAT_VERSION
    assert info.format_version == runs_module.FORMAT_VERSION == 2


def test_a_config_field_the_folder_lacks_takes_its_default(old_store):
    config_path = old_store.root / FIXTURE_RUN / "config.json"
    config = json.loads(config_path.read_text())
    del config["momentum"], config["val_fraction"]
    config_path.write_text(json.dumps(config))
    info = old_store.get(FIXTURE_RUN)
    assert (info.config.momentum, info.config.val_fraction) == (TrainConfig().momentum, TrainConfig().val_fraction)
    assert info.config.max_steps == 4 and old_store.problems == []


def test_an_unknown_config_field_marks_the_run_damaged_with_one_clear_sentence(old_store):
    config_path = old_store.root / FIXTURE_RUN / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps(dict(config, colour="red", sharpen=True)))
    expected = (f"The config of run {FIXTURE_RUN} is damaged: Unknown setting(s) colour, sharpen (the run was "
                "saved by a newer MNIST Lab or its config.json was edited).")
    assert old_store.list() == [] and old_store.problems == [expected]
    with pytest.raises(RunStoreError) as caught:
        old_store.get(FIXTURE_RUN)
    assert str(caught.value) == expected


@pytest.mark.parametrize("version, fragment", [
    (3, "was saved by a newer MNIST Lab (format version 3; this version reads up to 2)"),
    ("2", "is damaged (its format version is not a whole number)"),
    (0, "is damaged (its format version is not a whole number)"),
])
def test_a_newer_or_damaged_format_version_is_reported(old_store, version, fragment):
    meta_path = old_store.root / FIXTURE_RUN / "meta.json"
    meta_path.write_text(json.dumps(dict(json.loads(meta_path.read_text()), format_version=version)))
    assert old_store.list() == [] and len(old_store.problems) == 1 and fragment in old_store.problems[0]


def test_a_run_read_again_comes_from_memory_until_one_of_its_files_changes(store, result, monkeypatch):
    info = store.save(result, name="first", owner="ada")
    reads = []
    real_read = runs_module._read_json
    monkeypatch.setattr(runs_module, "_read_json", lambda path: reads.append(path.name) or real_read(path))
    assert store.get(info.run_id).name == "first"
    assert store.get(info.run_id).name == "first" and store.list()[0].name == "first"
    assert reads == [], "unchanged files are not read again"

    shown = store.get(info.run_id)
    shown.name = "changed by a caller"  # a caller's change to its copy is not what the next caller gets
    assert store.get(info.run_id).name == "first"

    store.rename(info.run_id, "second", actor="ada")  # meta.json replaced: a new inode
    assert store.get(info.run_id).name == "second"

    # Edited in place by hand or by another program, same size: its times change, so it is read again.
    time.sleep(0.05)
    meta_path = info.path / "meta.json"
    meta_path.write_text(meta_path.read_text().replace('"second"', '"secont"'))
    assert store.get(info.run_id).name == "secont"
    time.sleep(0.05)
    meta_path.write_text("{ damaged")
    with pytest.raises(RunStoreError, match="damaged"):
        store.get(info.run_id)

    store2 = RunStore(store.root)  # another store on the same folder (another page) sees the same
    with pytest.raises(RunStoreError, match="damaged"):
        store2.get(info.run_id)
