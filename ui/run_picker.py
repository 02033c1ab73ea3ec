"""Choosing a saved run, shared by every page that looks inside a model.

The user's own runs come first; other users' runs appear as read-only
"class runs". The choice is remembered across pages in session_state.
"""
from __future__ import annotations

import time

import streamlit as st

from mnist_core.config import ARCHITECTURES
from mnist_core.runs import LoadedRun, RunInfo, RunStoreError

from .session import get_store
from .identity import current_owner
from .text import plain

SELECTED_RUN_KEY = "selected_run_id"


def run_label(info: RunInfo, mine: bool = True) -> str:
    accuracy = f"{100 * info.test_accuracy:.1f}%" if info.test_accuracy is not None else info.status
    when = time.strftime("%H:%M", time.localtime(info.created))
    owner = "" if mine else " · class run"
    return f"{info.name} — {ARCHITECTURES.get(info.config.arch, info.config.arch)}, {accuracy}, {when}{owner}"


def list_runs(include_class_runs: bool = True, archs: tuple[str, ...] | None = None) -> list[tuple[RunInfo, bool]]:
    """(run, is_mine) pairs, mine first then class runs, newest first within each."""
    me = current_owner()
    runs = get_store().list()
    if archs:
        runs = [r for r in runs if r.config.arch in archs]
    mine = [(r, True) for r in runs if r.owner == me]
    others = [(r, False) for r in runs if r.owner != me] if include_class_runs else []
    return mine + others


def pick_run(label: str = "Run", key: str = "run_picker", archs: tuple[str, ...] | None = None,
             container=st) -> RunInfo | None:
    """A select box of runs; returns the chosen RunInfo (None, with a hint, when there is none)."""
    runs = list_runs(archs=archs)
    if not runs:
        kinds = ", ".join(ARCHITECTURES[a] for a in archs) if archs else "any model"
        container.info(f"No saved runs of {kinds} yet. Train one on the **Train** page first.")
        return None
    ids = [r.run_id for r, _ in runs]
    labels = {r.run_id: run_label(r, mine) for r, mine in runs}
    remembered = st.session_state.get(SELECTED_RUN_KEY)
    index = ids.index(remembered) if remembered in ids else 0
    chosen = container.selectbox(label, ids, index=index, format_func=labels.get, key=key,
                                 help="Your runs come first; “class runs” were trained by others and are read-only.")
    st.session_state[SELECTED_RUN_KEY] = chosen
    return dict((r.run_id, r) for r, _ in runs)[chosen]


@st.cache_resource(show_spinner=False, max_entries=16)
def _load_run(run_id: str, with_model: bool, stamp: float) -> LoadedRun:
    # `stamp` (meta.json's mtime) is part of the cache key, so a renamed run is re-read.
    return get_store().load(run_id, with_model=with_model)


def load_run(info: RunInfo, with_model: bool = True) -> LoadedRun | None:
    """The run's history, test probabilities and model (cached, read-only); an st.error if damaged."""
    try:
        stamp = (info.path / "meta.json").stat().st_mtime
        return _load_run(info.run_id, with_model, stamp)
    except (RunStoreError, OSError) as error:
        st.error(plain(f"This run cannot be opened: {error}"))
        return None


def run_table_row(info: RunInfo) -> dict:
    """One row of the run-history table: name, result, model, key hyper-parameters and time."""
    config, metrics = info.config, info.metrics
    return {
        "Name": info.name,
        "Test accuracy": 100 * info.test_accuracy if info.test_accuracy is not None else None,
        "Model": config.short_description().split(" · ")[0],
        "Optimizer": f"{config.optimizer} lr {config.lr:g}" + (" one-cycle" if config.schedule == "onecycle" else ""),
        "Batch": config.batch_size,
        "Epochs": metrics.get("epochs_run") or config.epochs,
        "Images": metrics.get("train_size"),
        "Regularisation": ", ".join(part for part in (
            f"L2 {config.l2:g}" if config.l2 else "", f"L1 {config.l1:g}" if config.l1 else "",
            f"dropout {config.dropout:g}" if config.dropout else "",
            f"early stop {config.early_stopping}" if config.early_stopping else "") if part) or "none",
        "Status": info.status,
        "Time (s)": metrics.get("train_seconds"),
        "Trained at": time.strftime("%d %b %H:%M", time.localtime(info.created)),
    }


def unique_labels(runs: list[RunInfo]) -> dict[str, str]:
    """run_id -> a label for chart legends, unique even when two runs share a name."""
    labels, seen = {}, {}
    for info in runs:
        label = f"{info.name} ({time.strftime('%H:%M', time.localtime(info.created))})"
        seen[label] = seen.get(label, 0) + 1
        labels[info.run_id] = label if seen[label] == 1 else f"{label} #{seen[label]}"
    return labels
