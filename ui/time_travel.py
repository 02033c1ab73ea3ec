"""Time travel: an "epoch" slider that shows a saved run's model as it was after epoch t.

Every run keeps up to 30 weight snapshots (mnist_core/snapshots.py). The
inspection pages and the Draw page call `epoch_slider` and then use
`model_at` / `probabilities_at` for an earlier epoch; the last epoch is the
saved model itself. Snapshot models and their test predictions are cached
(read-only) per run and epoch.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from mnist_core.predict import predict_probabilities
from mnist_core.runs import LoadedRun, RunInfo, RunStoreError

from .session import get_data, get_store
from .text import plain

LESSON = ("Slide back to the first epochs and forward again: watch the templates sharpen and the "
          "confusions shrink as the network learns.")


@st.cache_resource(show_spinner=False, max_entries=32)
def model_at(run_id: str, epoch: int, stamp: float):
    """The run's model after `epoch` (eval mode, read-only)."""
    return get_store().load_snapshot(run_id, epoch)


@st.cache_resource(show_spinner=False, max_entries=32)
def probabilities_at(run_id: str, epoch: int, stamp: float) -> np.ndarray:
    """Test-set probabilities (n_test, 10) of the run's model after `epoch`."""
    model = model_at(run_id, epoch, stamp)
    return predict_probabilities(model, get_data().test_x).numpy().astype(np.float32)


def _stamp(info: RunInfo) -> float:
    return (info.path / "meta.json").stat().st_mtime


def epoch_slider(info: RunInfo, key: str, container=st, label: str = "Epoch (time travel)") -> int | None:
    """The epoch to look at, or None for the run's final model (also when it kept no snapshots)."""
    try:
        epochs = get_store().snapshot_epochs(info.run_id)
    except RunStoreError as error:
        container.caption(plain(str(error)))
        return None
    if len(epochs) < 2:
        return None
    final = epochs[-1]
    chosen = container.select_slider(
        label, epochs, value=final, key=f"{key}-{info.run_id}",
        help="The model as it was after this epoch (weights kept after up to 30 epochs of every run). "
             + LESSON)
    early = info.status == "early-stopped" and info.metrics.get("best_epoch")
    if chosen == final and not early:
        return None
    if chosen == final and early:
        container.caption(plain(f"After epoch {final}, the last one trained; the saved model is the best "
                                f"epoch's ({info.metrics['best_epoch']}), restored by early stopping."))
    else:
        container.caption(plain(f"Showing the model as it was after epoch {chosen} of {final}. {LESSON}"))
    return chosen


def loaded_at(info: RunInfo, loaded: LoadedRun, epoch: int | None, with_model: bool) -> LoadedRun:
    """`loaded` as it was after `epoch` (its model and test predictions then); unchanged for None."""
    if epoch is None:
        return loaded
    stamp = _stamp(info)
    return dataclasses.replace(loaded, test_probabilities=probabilities_at(info.run_id, epoch, stamp),
                               model=model_at(info.run_id, epoch, stamp) if with_model else loaded.model)
