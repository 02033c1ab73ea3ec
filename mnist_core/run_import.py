"""Upload a run: a .zip made by run_export.py becomes a new run of the uploader's.

An uploaded file is hostile until proven otherwise, so it is checked before
anything in it is loaded, in this order:

1. its size (at most MAX_UPLOAD_MB), and that it is a zip at all;
2. its entries: at most MAX_ENTRIES, no absolute path and no `..`, only the
   files a run has, and no more unpacked bytes than a run can hold (a zip bomb
   is refused from its directory, and every read is capped besides, in case the
   directory lies);
3. config.json, validated by TrainConfig.from_dict;
4. weights.pt, loaded with torch.load(weights_only=True) (plain tensors only,
   never a pickle that runs code) and compared, name by name and shape by shape,
   with the state_dict of create_model(config);
5. history.json, metrics.json and test_probabilities.npy, checked as the run
   store checks a folder on disk.

Anything wrong raises RunImportError with one sentence, and nothing is left in
the run store: the run is written to a hidden folder, renamed into place, and
read back once before it counts.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import re
import secrets
import shutil
import time
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from .config import ARCHITECTURES, ConfigError, TrainConfig
from .models import create_model
from .run_export import README_NAME, RUN_FILES, shared_meta
from .runs import (FORMAT_VERSION, LATEST_TIME, RUN_ID_PATTERN, RunInfo, RunStore, RunStoreError, _check_history,
                   _check_metrics, clean_run_name)

MAX_UPLOAD_MB = 50  # the largest file accepted (an MLP 512 run is about 2 MB)
MAX_ENTRIES = 16  # a run has 9 files
MAX_UNPACKED_MB = 200  # all entries together, unpacked
MAX_RATIO = 100  # unpacked / packed above this, for an entry over 1 MB, is a zip bomb's signature
REQUIRED = ("config.json", "weights.pt")
MB = 1024 * 1024


class RunImportError(RunStoreError):
    """An uploaded run was refused; the message says why in one sentence."""


NOT_A_ZIP = "This file is not a .zip archive: upload a .zip made by MNIST Lab's Download button."
ZIP_BOMB = ("The zip would unpack to far more than a run holds (it looks like a zip bomb), "
            "so it was not opened.")
PICKLE = ("The weights.pt in the zip holds more than plain tensors (it could run code when loaded), "
          "so it was not loaded.")


def _sizes(value: int) -> str:
    return f"{value / MB:.1f} MB"


def _unsafe(name: str) -> bool:
    """True for a path that could land outside the folder it is unpacked into.

    >>> [_unsafe(n) for n in ("run/config.json", "../x", "run/../../x", "/etc/passwd", "C:/x", "a\\\\b")]
    [False, True, True, True, True, True]
    """
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        return True
    return any(part == ".." for part in PurePosixPath(name).parts)


def _ignored(name: str) -> bool:
    """Files that travel with a run but are not part of it (the README and the exported code)."""
    return name == README_NAME or bool(re.fullmatch(r"train_[A-Za-z0-9_]{1,80}\.(py|ipynb)", name))


def _entries(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The run's files by name, after the checks on the zip's directory (count, paths, sizes)."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise RunImportError(f"The zip holds {len(infos):,} entries, more than the {MAX_ENTRIES} a run has, "
                             "so it was not opened.")
    for info in infos:
        if _unsafe(info.filename):
            raise RunImportError(f"The zip holds a path outside its folder ({info.filename[:80]!r}), "
                                 "so it was not opened.")
    files = [info for info in infos if not info.is_dir()]
    total = sum(info.file_size for info in files)
    if total > MAX_UNPACKED_MB * MB or any(
            info.file_size > MB and info.file_size > MAX_RATIO * max(info.compress_size, 1) for info in files):
        raise RunImportError(ZIP_BOMB)
    folders = {PurePosixPath(info.filename).parts[0] for info in files if len(PurePosixPath(info.filename).parts) > 1}
    prefix = f"{folders.pop()}/" if len(folders) == 1 and all("/" in info.filename for info in files) else ""
    entries = {}
    for info in files:
        name = info.filename.removeprefix(prefix)
        if _ignored(name):
            continue
        if name not in RUN_FILES or name in entries:
            raise RunImportError(f"The zip holds {info.filename[:80]!r}, which is not part of a run made by "
                                 "MNIST Lab, so it was not opened.")
        entries[name] = info
    missing = [name for name in REQUIRED if name not in entries]
    if missing:
        raise RunImportError(f"The zip has no {missing[0]}, so it is not a run made by MNIST Lab's "
                             "Download button.")
    return entries


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """An entry's bytes, never more than its directory promised (a lying directory is a zip bomb too)."""
    name = PurePosixPath(info.filename).name
    try:
        with archive.open(info) as stream:
            data = stream.read(info.file_size + 1)
    except zipfile.BadZipFile:
        raise RunImportError(f"The {name} in the zip is damaged (it fails its checksum).") from None
    except (OSError, EOFError, RuntimeError, NotImplementedError, ValueError):
        raise RunImportError(f"The {name} in the zip cannot be unpacked (it is damaged or encrypted).") from None
    if len(data) > info.file_size:
        raise RunImportError(ZIP_BOMB)
    return data


def _json(archive, entries, name, default):
    if name not in entries:
        return default
    try:
        return json.loads(_read(archive, entries[name]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise RunImportError(f"The {name} in the zip is not valid JSON.") from None


def _format_version(meta) -> None:
    version = meta.get("format_version", 1) if isinstance(meta, dict) else 1
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RunImportError("The meta.json in the zip is damaged (its format version is not a whole number).")
    if version > FORMAT_VERSION:
        raise RunImportError(f"The run in the zip was saved by a newer MNIST Lab (format version {version}; this "
                             f"version reads up to {FORMAT_VERSION}), so it cannot be imported here.")


def _config(archive, entries) -> TrainConfig:
    """The zip's TrainConfig; settings an older format lacks take their defaults, as in the run store."""
    data = _json(archive, entries, "config.json", None)
    if not isinstance(data, dict):
        raise RunImportError("The config.json in the zip does not hold a run's settings.")
    try:
        return TrainConfig.from_dict(data)
    except (ConfigError, TypeError) as error:
        raise RunImportError(f"The settings in the zip's config.json are not valid: {error}") from None


def _shape(shape) -> str:
    return "×".join(str(n) for n in shape) or "a single number"


def check_weights(state, config: TrainConfig) -> torch.nn.Module:
    """The model of `config` with `state` loaded; RunImportError naming the first layer that does not fit."""
    model = create_model(config)
    expected = model.state_dict()
    fit = f"The weights in the zip do not fit the {ARCHITECTURES[config.arch]} its config.json describes"
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise RunImportError(f"{fit}: weights.pt is not a table of named tensors.")
    for key, tensor in expected.items():
        if key not in state:
            raise RunImportError(f"{fit}: {key} is missing.")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise RunImportError(f"{fit}: {key} is {_shape(state[key].shape)} where the model has "
                                 f"{_shape(tensor.shape)}.")
        if not state[key].is_floating_point():
            raise RunImportError(f"{fit}: {key} does not hold real numbers.")
    unknown = sorted(set(state) - set(expected))
    if unknown:
        raise RunImportError(f"{fit}: it has a layer {unknown[0][:60]!r} that the model has not.")
    model.load_state_dict(state)
    return model.eval()


def _weights(data: bytes, config: TrainConfig) -> torch.nn.Module:
    damaged = RunImportError("The weights.pt in the zip is damaged or was not saved by torch.save, "
                             "so it was not loaded.")
    if not data.startswith(b"PK\x03\x04"):
        raise damaged  # torch.save writes a zip; anything else (a bare pickle, garbage) is refused unread
    try:
        stream = io.BytesIO(data)
        state = torch.load(stream, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # weights_only=True refused an object that is not a plain tensor: never fall back to a full unpickle.
        raise RunImportError(PICKLE) from None
    except (RuntimeError, KeyError, TypeError, ValueError, EOFError, OSError, AttributeError, IndexError,
            zipfile.BadZipFile):
        raise damaged from None
    return check_weights(state, config)


def _probabilities(data: bytes) -> np.ndarray:
    try:
        stream = io.BytesIO(data)
        array = np.load(stream, allow_pickle=False)
    except (ValueError, OSError, EOFError):
        array = None
    if (not isinstance(array, np.ndarray) or array.ndim != 2 or array.shape[1] != 10
            or not np.issubdtype(array.dtype, np.floating) or not np.isfinite(array).all()):
        raise RunImportError("The test_probabilities.npy in the zip is damaged.")
    return array.astype(np.float32)


def _checked(check, *args, name: str):
    try:
        check(*args, "in the zip")
    except RunStoreError:
        raise RunImportError(f"The {name} in the zip is damaged.") from None


def _meta(meta, config: TrainConfig, owner: str, name: str | None) -> dict:
    meta = shared_meta(meta if isinstance(meta, dict) else {})
    original = meta.get("created")
    extra = meta.get("extra") if isinstance(meta.get("extra"), dict) else {}
    extra["imported"] = {"created": original if isinstance(original, (int, float)) and not isinstance(
        original, bool) and 0 <= original <= LATEST_TIME else None}
    try:
        shown = clean_run_name(name or meta.get("name") or config.short_description())
    except RunStoreError:
        shown = clean_run_name(config.short_description())
    return {"format_version": FORMAT_VERSION, "name": shown, "created": time.time(), "owner": owner,
            "status": str(meta.get("status") or "completed")[:20], "reason": str(meta.get("reason") or "")[:300],
            "data_source": str(meta.get("data_source") or "mnist")[:40], "extra": extra}


def _open_zip(source: bytes | str | os.PathLike) -> zipfile.ZipFile:
    if isinstance(source, (bytes, bytearray)):
        size, stream = len(source), io.BytesIO(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise RunImportError(f"There is no file {path} to import.")
        size, stream = path.stat().st_size, path
    if size > MAX_UPLOAD_MB * MB:
        raise RunImportError(f"The file is {_sizes(size)}, more than the {MAX_UPLOAD_MB} MB an uploaded run "
                             "may have.")
    try:
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise RunImportError(NOT_A_ZIP) from None


def import_run_zip(source: bytes | str | os.PathLike, store: RunStore, owner: str,
                   name: str | None = None) -> RunInfo:
    """Check the zip (bytes of an upload, or a path) and save it as a new run of `owner`'s; its RunInfo."""
    if not owner:
        raise RunImportError("An imported run needs an owner: reload the page and upload it again.")
    with _open_zip(source) as archive:
        entries = _entries(archive)
        meta = _json(archive, entries, "meta.json", {})
        _format_version(meta)
        config = _config(archive, entries)
        _weights(_read(archive, entries["weights.pt"]), config)
        history = _json(archive, entries, "history.json", {"batches": [], "epochs": []})
        _checked(_check_history, history, name="history.json")
        metrics = _json(archive, entries, "metrics.json", {})
        if not isinstance(metrics, dict):
            raise RunImportError("The metrics.json in the zip is damaged.")
        _checked(_check_metrics, metrics, name="metrics.json")
        files = {file_name: _read(archive, entries[file_name])
                 for file_name in ("weights.pt", "test_probabilities.npy") if file_name in entries}
        if "test_probabilities.npy" in files:
            _probabilities(files["test_probabilities.npy"])
        meta = _meta(meta, config, owner, name)
    return _save(store, config, meta, history, metrics, files)


def _save(store: RunStore, config, meta, history, metrics, files) -> RunInfo:
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{config.arch}-{secrets.token_hex(3)}"
    assert RUN_ID_PATTERN.match(run_id)
    temporary, final = store.root / f".tmp-{run_id}", store.root / run_id
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        temporary.mkdir()
        texts = {"meta.json": meta, "config.json": config.to_dict(), "history.json": history,
                 "metrics.json": metrics}
        for file_name, data in texts.items():
            (temporary / file_name).write_text(json.dumps(data, indent=1))
        for file_name, data in files.items():
            (temporary / file_name).write_bytes(data)
        os.rename(temporary, final)
        store.load(run_id)  # read back as every page will read it
        return store.get(run_id)
    except OSError as error:
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        raise RunImportError(f"Could not save the uploaded run in {store.root}: {error.strerror or error}.") from None
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        raise
