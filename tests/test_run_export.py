"""Downloading a run (mnist_core/run_export.py): what the .zip holds, and what it leaves out."""
from __future__ import annotations

import io
import json
import zipfile

import pytest

from mnist_core.config import TrainConfig
from mnist_core.run_export import export_run_zip, run_zip_bytes, shared_meta
from mnist_core.runs import RunStore, RunStoreError
from mnist_core.script_export import export_file_name, training_script

OWNER = "ownertoken1234"


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory, synthetic):
    from mnist_core.train import fit

    result = fit(TrainConfig(arch="mlp", hidden=(32,), epochs=1, batch_size=50), synthetic)
    store = RunStore(tmp_path_factory.mktemp("runs"))
    info = store.save(result, name="my first MLP", owner=OWNER, test_labels=synthetic.test_labels,
                      extra={"study": "l2-sweep", "class_code": "7B"})
    return store, info


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_the_zip_holds_the_run_folder_in_one_folder(saved_run):
    store, info = saved_run
    files = unzip(run_zip_bytes(store, info.run_id))
    folder = info.run_id + "/"
    script = export_file_name(info.run_id, "script")
    assert sorted(files) == sorted(folder + name for name in (
        "README.txt", "meta.json", "config.json", "history.json", "metrics.json", "weights.pt",
        "test_probabilities.npy", script))
    for name in ("config.json", "history.json", "metrics.json", "weights.pt", "test_probabilities.npy"):
        assert files[folder + name] == (info.path / name).read_bytes(), name
    assert files[folder + script].decode() == training_script(info.config, name=info.name, run_id=info.run_id)
    readme = files[folder + "README.txt"].decode()
    assert 'torch.load("weights.pt", weights_only=True)' in readme and "python -m mnist_core import" in readme


def test_the_owners_identity_stays_on_the_server(saved_run):
    store, info = saved_run
    files = unzip(run_zip_bytes(store, info.run_id))
    assert all(OWNER.encode() not in data for data in files.values())
    # The class code "7B" is two bytes: it turns up by chance in float32 weights, so look in the text files only.
    assert all(b"7B" not in data for name, data in files.items() if not name.endswith((".pt", ".npy")))
    meta = json.loads(files[info.run_id + "/meta.json"])
    assert meta["name"] == "my first MLP" and meta["extra"] == {"study": "l2-sweep"}
    assert "owner" not in meta


def test_shared_meta_keeps_only_what_describes_the_run():
    meta = {"name": "n", "created": 1.0, "status": "completed", "reason": "r", "data_source": "mnist",
            "owner": "abc", "pin_hash": "h", "class": "7B", "extra": {"student": "Ann", "seed_row": 2}}
    assert shared_meta(meta) == {"name": "n", "created": 1.0, "status": "completed", "reason": "r",
                                 "data_source": "mnist", "extra": {"seed_row": 2}}


def test_export_writes_the_file_and_nothing_else(saved_run, tmp_path):
    store, info = saved_run
    out = export_run_zip(store, info.run_id, tmp_path / "mine.zip")
    assert out == tmp_path / "mine.zip" and [p.name for p in tmp_path.iterdir()] == ["mine.zip"]
    assert unzip(out.read_bytes()).keys() == unzip(run_zip_bytes(store, info.run_id)).keys()


def test_a_run_without_weights_cannot_be_downloaded(saved_run, tmp_path):
    import shutil

    store, info = saved_run
    copy = RunStore(tmp_path / "runs")
    shutil.copytree(info.path, copy.root / info.run_id)
    (copy.root / info.run_id / "weights.pt").unlink()
    with pytest.raises(RunStoreError, match=f"^The run {info.run_id} has no weights.pt, so it cannot be downloaded.$"):
        run_zip_bytes(copy, info.run_id)
    with pytest.raises(RunStoreError, match="is not a valid run id"):
        run_zip_bytes(copy, "../../etc")
