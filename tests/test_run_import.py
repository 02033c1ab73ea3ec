"""Uploading a run (mnist_core/run_import.py): a downloaded zip comes back as the uploader's run,
and every hostile file is refused with one sentence, leaving nothing behind."""
from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pytest
import torch

from bad_input_catalogue import UPLOAD_REFUSED
from hostile_zips import entries, hostile_zip, zip_of
from mnist_core.config import TrainConfig
from mnist_core.run_export import run_zip_bytes
from mnist_core.run_import import RunImportError, import_run_zip
from mnist_core.runs import RunStore


@pytest.fixture(scope="module")
def exported(tmp_path_factory, synthetic):
    from mnist_core.train import fit

    result = fit(TrainConfig(arch="mlp", hidden=(32,), epochs=1, batch_size=50, dropout=0.1), synthetic)
    store = RunStore(tmp_path_factory.mktemp("home"))
    info = store.save(result, name="taken home", owner="teacher0001", test_labels=synthetic.test_labels)
    return store, info, run_zip_bytes(store, info.run_id)


def left_in(store: RunStore) -> list[str]:
    return sorted(p.name for p in store.root.iterdir()) if store.root.exists() else []


def test_a_round_trip_gives_the_same_run_with_a_new_owner(exported, synthetic, tmp_path):
    from mnist_core.train import predict_probabilities

    home, original, data = exported
    store = RunStore(tmp_path / "runs")
    info = import_run_zip(data, store, owner="student0002")
    assert info.owner == "student0002" and info.run_id != original.run_id and info.name == "taken home"
    assert info.config == original.config and info.metrics == original.metrics
    back, before = store.load(info.run_id), home.load(original.run_id)
    assert back.history == before.history
    assert np.array_equal(back.test_probabilities, before.test_probabilities)
    assert torch.equal(predict_probabilities(back.model, synthetic.test_x),
                       predict_probabilities(before.model, synthetic.test_x)), "identical test predictions"
    assert [r.run_id for r in store.list(owner="student0002")] == [info.run_id]
    assert store.list(owner="teacher0001") == []


def test_a_flat_zip_and_a_minimal_zip_are_accepted(exported, tmp_path):
    _, original, data = exported
    flat = {name.split("/", 1)[1]: value for name, value in entries(data).items()}
    store = RunStore(tmp_path / "runs")
    assert import_run_zip(zip_of(flat), store, owner="student0002").config == original.config
    minimal = {name: flat[name] for name in ("config.json", "weights.pt")}
    info = import_run_zip(zip_of(minimal), store, owner="student0002", name="only weights")
    loaded = store.load(info.run_id)
    assert info.name == "only weights" and loaded.test_probabilities is None and loaded.history["epochs"] == []


def test_an_upload_from_disk_works_like_one_from_memory(exported, tmp_path):
    _, original, data = exported
    path = tmp_path / "run.zip"
    path.write_bytes(data)
    assert import_run_zip(path, RunStore(tmp_path / "runs"), owner="student0002").config == original.config


@pytest.mark.parametrize("kind", UPLOAD_REFUSED)
def test_a_hostile_upload_gets_its_sentence_and_leaves_nothing(kind, exported, tmp_path):
    marker = tmp_path / "i-was-executed"
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RunImportError) as caught:
        import_run_zip(hostile_zip(kind, exported[2], marker), store, owner="student0002")
    assert str(caught.value) == UPLOAD_REFUSED[kind]
    assert left_in(store) == [] and not marker.exists()
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_a_zip_whose_directory_lies_about_a_size_is_refused(exported, tmp_path):
    """The directory says history.json unpacks to 10 bytes; it unpacks to more."""
    files = entries(exported[2])
    data = bytearray(zip_of(files))
    name = next(k for k in files if k.endswith("history.json")).encode()
    for signature, size_offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):  # central and local headers
        start = 0
        while (start := data.find(signature, start)) != -1:
            name_offset = start + (46 if signature == b"PK\x01\x02" else 30)
            if data[name_offset:name_offset + len(name)] == name:
                struct.pack_into("<I", data, start + size_offset, 10)
            start += 4
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RunImportError, match=r"^The history.json in the zip is damaged \(it fails its checksum\)\.$"):
        import_run_zip(bytes(data), store, owner="student0002")
    assert left_in(store) == []


@pytest.mark.parametrize("change, message", [
    (lambda f: {**f, "run/notes.exe": b"MZ"}, "The zip holds 'run/notes.exe', which is not part of a run made by "
                                               "MNIST Lab, so it was not opened."),
    (lambda f: {**f, "run/weights.pt": torch_bytes([1, 2, 3])},
     "The weights in the zip do not fit the Shallow MLP its config.json describes: weights.pt is not a table of "
     "named tensors."),
    (lambda f: {**f, "run/weights.pt": b"garbage"},
     "The weights.pt in the zip is damaged or was not saved by torch.save, so it was not loaded."),
    (lambda f: {**f, "run/weights.pt": b"\x80\x04K\x01."},  # a bare pickle, not torch.save's zip
     "The weights.pt in the zip is damaged or was not saved by torch.save, so it was not loaded."),
    (lambda f: {**f, "run/weights.pt": torch_bytes({"x": 1})[:-200]},
     "The weights.pt in the zip is damaged or was not saved by torch.save, so it was not loaded."),
    (lambda f: {**f, "run/history.json": json.dumps({"batches": [{"step": "x", "epoch": 1}]}).encode()},
     "The history.json in the zip is damaged."),
    (lambda f: {**f, "run/metrics.json": b'{"test_accuracy": "high"}'}, "The metrics.json in the zip is damaged."),
    (lambda f: {**f, "run/test_probabilities.npy": npy_bytes(np.zeros((5, 3)))},
     "The test_probabilities.npy in the zip is damaged."),
    (lambda f: {**f, "run/config.json": b"[1, 2]"}, "The config.json in the zip does not hold a run's settings."),
])
def test_a_damaged_file_inside_the_zip_is_named(change, message, exported, tmp_path):
    flat = {"run/" + name.split("/", 1)[1]: value for name, value in entries(exported[2]).items()}
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RunImportError) as caught:
        import_run_zip(zip_of(change(flat)), store, owner="student0002")
    assert str(caught.value) == message
    assert left_in(store) == []


def test_a_failure_after_the_rename_leaves_nothing(exported, tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")

    def fail(self, run_id, with_model=True):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(RunStore, "load", fail)
    with pytest.raises(RunImportError, match="^Could not save the uploaded run in .*: No space left on device.$"):
        import_run_zip(exported[2], store, owner="student0002")
    assert left_in(store) == []


def test_an_upload_needs_an_owner(exported, tmp_path):
    with pytest.raises(RunImportError, match="needs an owner"):
        import_run_zip(exported[2], RunStore(tmp_path / "runs"), owner="")


def torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()
