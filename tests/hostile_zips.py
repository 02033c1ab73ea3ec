"""Uploads a run store must refuse, built from a good exported run (tests/test_run_import.py and the
bad-input catalogue use the same ones; the sentence each one gets is UPLOAD_REFUSED in
tests/bad_input_catalogue.py).

`hostile_zip(kind, good_zip, marker)` returns the bytes of one bad upload; `marker` is a file
that the pickle case would create if it were ever unpickled. `exported_mlp_zip()` is the good one.
"""
from __future__ import annotations

import io
import json
import zipfile

import torch

MB = 1024 * 1024


class WritesAMarker:
    """A pickle that, if ever unpickled, creates a file: what a malicious weights.pt could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def entries(good_zip: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(good_zip)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def zip_of(files: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _replace(good_zip: bytes, file_name: str, data: bytes) -> bytes:
    files = entries(good_zip)
    (key,) = [k for k in files if k.endswith("/" + file_name)]
    files[key] = data
    return zip_of(files)


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _config(good_zip: bytes) -> dict:
    (data,) = [v for k, v in entries(good_zip).items() if k.endswith("/config.json")]
    return json.loads(data)


def exported_mlp_zip(root, data=None) -> bytes:
    """A small MLP (hidden=(32,)) trained on `data` (default: synthetic digits), saved in `root`, as a zip."""
    from mnist_core.config import TrainConfig
    from mnist_core.data import make_synthetic
    from mnist_core.run_export import run_zip_bytes
    from mnist_core.runs import RunStore
    from mnist_core.train import fit

    data = data or make_synthetic(n_train_per_class=10, n_test_per_class=2)
    result = fit(TrainConfig(arch="mlp", hidden=(32,), epochs=1, batch_size=50, subset=20), data)
    store = RunStore(root)
    info = store.save(result, name="taken home", owner="teacher0001", test_labels=data.test_labels)
    return run_zip_bytes(store, info.run_id)


def hostile_zip(kind: str, good_zip: bytes, marker=None) -> bytes:
    """One bad upload, made from `good_zip` (an exported MLP run with hidden=(32,))."""
    from mnist_core.models import MLP

    if kind == "not-a-zip":
        return b"\x89PNG\r\n\x1a\n" + bytes(2000)  # a picture, renamed .zip
    if kind == "zip-bomb":  # 20 MB of zeros packed into about 20 kB
        return _replace(good_zip, "history.json", bytes(20 * MB))
    if kind == "dotdot":
        return zip_of({**entries(good_zip), "../../evil.txt": b"written outside the folder"})
    if kind == "absolute":
        return zip_of({**entries(good_zip), "/etc/cron.d/evil": b"* * * * * root true"})
    if kind == "pickle":
        return _replace(good_zip, "weights.pt", _saved({"layers.0.weight": WritesAMarker(marker)}))
    if kind == "wrong-shapes":
        return _replace(good_zip, "weights.pt", _saved(MLP(hidden=(16,)).state_dict()))
    if kind == "unknown-architecture":
        return _replace(good_zip, "config.json", json.dumps(dict(_config(good_zip), arch="resnet")).encode())
    if kind == "oversized":  # a real zip, padded to 51 MB
        return good_zip + bytes(51 * MB - len(good_zip))
    if kind == "too-many-entries":
        return zip_of({f"run/{i}.txt": b"" for i in range(500)})
    if kind == "no-config":
        return zip_of({k: v for k, v in entries(good_zip).items() if not k.endswith("/config.json")})
    if kind == "bad-json":
        return _replace(good_zip, "config.json", b"{not json")
    raise ValueError(kind)
