"""Download a run: its folder as one .zip a student can take home, without its owner's identity.

    20261122-193000-mlp-3f9a1c.zip
        20261122-193000-mlp-3f9a1c/README.txt               how to load it (PyTorch, or back into MNIST Lab)
        20261122-193000-mlp-3f9a1c/meta.json                name, date, status, reason, data source (no owner)
        20261122-193000-mlp-3f9a1c/config.json              the TrainConfig
        20261122-193000-mlp-3f9a1c/history.json             batch and epoch events
        20261122-193000-mlp-3f9a1c/metrics.json             test accuracy, confusion matrix, ...
        20261122-193000-mlp-3f9a1c/weights.pt               the state_dict: tensors only
        20261122-193000-mlp-3f9a1c/test_probabilities.npy   (n_test, 10) float32
        20261122-193000-mlp-3f9a1c/train_<run>.py           the run as a plain-PyTorch script

Who trained it (user token, PIN hash, class) stays on the server: meta.json keeps
only the keys in SHARED_META_KEYS. mnist_core/run_import.py reads such a zip back.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

from .runs import RunStore, RunStoreError
from .script_export import export_file_name, training_script

# What of meta.json travels with a run; everything else (owner, PIN hash, class, ...) stays home.
SHARED_META_KEYS = ("format_version", "name", "created", "status", "reason", "data_source", "extra")
# Keys that name a person; dropped from `extra` too, in case a feature ever puts one there.
IDENTITY_KEYS = {"owner", "user", "user_token", "token", "pin", "pin_hash", "salt", "class", "class_code",
                 "classroom", "student"}
RUN_FILES = ("meta.json", "config.json", "history.json", "metrics.json", "weights.pt", "test_probabilities.npy")
README_NAME = "README.txt"


def shared_meta(meta: dict) -> dict:
    """meta.json as it leaves the server: no owner, no PIN hash, no class.

    >>> shared_meta({"name": "mine", "owner": "3f9a1c2b", "pin_hash": "x", "extra": {"class": "7b", "study": "l2"}})
    {'name': 'mine', 'extra': {'study': 'l2'}}
    >>> shared_meta({"format_version": 2, "name": "mine", "owner": "3f9a1c2b"})
    {'format_version': 2, 'name': 'mine'}
    """
    shared = {key: meta[key] for key in SHARED_META_KEYS if key in meta}
    if isinstance(shared.get("extra"), dict):
        shared["extra"] = {k: v for k, v in shared["extra"].items() if k not in IDENTITY_KEYS}
    return shared


def readme_text(run_id: str, name: str, script_name: str) -> str:
    return (f"MNIST Lab run “{name}” ({run_id}).\n\n"
            f"To load it in PyTorch: model.load_state_dict(torch.load(\"weights.pt\", weights_only=True)), "
            f"with the model defined in {script_name}; `python {script_name} --data-dir DIR` trains it again "
            "with plain PyTorch and prints its test accuracy.\n"
            "To bring it back into MNIST Lab: upload this .zip on the Run history page, or run "
            "`python -m mnist_core import THIS.zip`.\n"
            "config.json holds its settings, history.json its training curves, metrics.json its test scores, "
            "test_probabilities.npy its predictions on the 10,000 test images.\n")


def run_zip_bytes(store: RunStore, run_id: str) -> bytes:
    """The run as the bytes of a .zip (what a download button serves)."""
    info = store.get(run_id)  # RunStoreError if it is missing or damaged
    script_name = export_file_name(run_id, "script")
    buffer = io.BytesIO()
    try:
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            def add(name: str, data: bytes) -> None:
                archive.writestr(f"{run_id}/{name}", data)

            add(README_NAME, readme_text(run_id, info.name, script_name).encode())
            meta = json.loads((info.path / "meta.json").read_text())
            add("meta.json", json.dumps(shared_meta(meta), indent=1).encode())
            for name in RUN_FILES[1:]:
                path = info.path / name
                if path.is_file():
                    add(name, path.read_bytes())
                elif name != "test_probabilities.npy":
                    raise RunStoreError(f"The run {run_id} has no {name}, so it cannot be downloaded.")
            add(script_name, training_script(info.config, name=info.name, run_id=run_id).encode())
    except OSError as error:
        raise RunStoreError(f"Could not read the run {run_id}: {error.strerror or error}.") from None
    return buffer.getvalue()


def export_run_zip(store: RunStore, run_id: str, out: str | os.PathLike) -> Path:
    """Write the run's .zip to `out` (written beside it first, then renamed into place)."""
    data = run_zip_bytes(store, run_id)
    out = Path(out)
    temporary = out.with_name(f".{out.name}.part")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, out)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise RunStoreError(f"Could not write {out}: {error.strerror or error}.") from None
    return out
