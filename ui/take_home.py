"""Take a run home and bring it back: the download buttons and the upload box the pages share.

The files are made by mnist_core (run_export, script_export, run_import); this
module only puts them behind buttons. Downloads are built when clicked, not on
every rerun. An upload becomes a run of this browser's user; a refused file gets
its one sentence, and the upload box is emptied either way, so a file is
imported once, not at every rerun.
"""
from __future__ import annotations

import streamlit as st

from mnist_core.run_export import run_zip_bytes
from mnist_core.run_import import MAX_UPLOAD_MB, import_run_zip
from mnist_core.runs import RunInfo, RunStore, RunStoreError
from mnist_core.script_export import export_file_name, training_notebook, training_script

from .run_picker import SELECTED_RUN_KEY
from .text import plain

UPLOAD_ROUND_KEY = "upload_round"  # session_state: bumped after each upload, which empties the box
UPLOAD_MESSAGE_KEY = "upload_message"  # session_state: ("success" | "error", text) of the last upload


def download_buttons(store: RunStore, info: RunInfo, key: str) -> None:
    """Three buttons in a row: the run as a .zip, as a plain-PyTorch script, as a notebook."""
    run_id, name, config = info.run_id, info.name, info.config
    row = st.container(horizontal=True, vertical_alignment="center")
    row.download_button(
        "Download run (.zip)", data=lambda: run_zip_bytes(store, run_id), file_name=export_file_name(run_id, "zip"),
        mime="application/zip", icon=":material/download:", key=f"{key}_zip", on_click="ignore",
        help="Config, history, metrics, test predictions and weights (tensors only), without who trained it. "
             "Upload it here again, or load weights.pt in PyTorch.")
    row.download_button(
        "Script (.py)", data=lambda: training_script(config, name=name, run_id=run_id),
        file_name=export_file_name(run_id, "script"), mime="text/x-python", icon=":material/code:",
        key=f"{key}_script", on_click="ignore",
        help="This run as plain PyTorch, no MNIST Lab needed: python FILE.py --data-dir DIR")
    row.download_button(
        "Notebook (.ipynb)", data=lambda: training_notebook(config, name=name, run_id=run_id),
        file_name=export_file_name(run_id, "notebook"), mime="application/x-ipynb+json",
        icon=":material/menu_book:", key=f"{key}_notebook", on_click="ignore",
        help="The same code as a Jupyter notebook, one step per cell.")


def _import_upload(store: RunStore, owner: str, widget_key: str) -> None:
    uploaded = st.session_state.get(widget_key)
    if uploaded is None:
        return
    try:
        info = import_run_zip(uploaded.getvalue(), store, owner=owner)
    except RunStoreError as error:  # RunImportError included: one sentence, nothing saved
        st.session_state[UPLOAD_MESSAGE_KEY] = ("error", str(error))
    else:
        st.session_state[UPLOAD_MESSAGE_KEY] = ("success", f"Uploaded “{info.name}”: it is now one of your runs.")
        st.session_state[SELECTED_RUN_KEY] = info.run_id
    st.session_state[UPLOAD_ROUND_KEY] = st.session_state.get(UPLOAD_ROUND_KEY, 0) + 1


def upload_box(store: RunStore, owner: str) -> None:
    """A file box for a run's .zip; the uploaded run becomes `owner`'s."""
    widget_key = f"upload_run_{st.session_state.get(UPLOAD_ROUND_KEY, 0)}"
    st.file_uploader("Upload a run (.zip)", type=["zip"], key=widget_key, max_upload_size=MAX_UPLOAD_MB,
                     on_change=_import_upload, args=(store, owner, widget_key),
                     help=f"A .zip made by a Download run button (at most {MAX_UPLOAD_MB} MB). It is checked "
                          "before anything in it is loaded, and becomes one of your runs.")
    outcome = st.session_state.pop(UPLOAD_MESSAGE_KEY, None)
    if outcome is not None:
        kind, text = outcome
        (st.success if kind == "success" else st.error)(plain(text), icon=":material/upload:")
