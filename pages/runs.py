"""Run history: every saved run, curves of several runs on one chart, rename, delete, download and upload.

Runs live in the run store on disk ($MNIST_LAB_RUNS, default ./runs), so they
survive a server restart. Your own runs can be renamed and deleted; runs
trained by others appear as read-only "class runs".
"""
import pandas as pd
import streamlit as st

from mnist_core.data import batch_count
from mnist_core.chart_rows import curve_rows
from mnist_core.history import history_to_csv
from mnist_core.runs import RunStoreError
from ui.live_training import draw_runs_overlay, outcome_sentence
from ui.text import plain
from ui.gap_views import gap_panel
from ui.run_picker import SELECTED_RUN_KEY, load_run, run_table_row, unique_labels
from ui.identity import current_owner
from ui.session import get_store
from ui.take_home import download_buttons, upload_box

st.title("Run history")
store, me = get_store(), current_owner()
runs = store.list()
mine = [r for r in runs if r.owner == me]
others = [r for r in runs if r.owner != me]
for problem in store.problems:
    st.caption(f"Skipped a damaged run folder: {plain(problem)}")
with st.expander("Upload a run", icon=":material/upload:", expanded=not runs):
    upload_box(store, me)
if not runs:
    st.info("No runs yet. Press **Train** in the sidebar; every run is saved here.", icon=":material/history:")
    st.stop()

COLUMNS = {"Name": st.column_config.TextColumn("Name", width="medium"),
           "Test accuracy": st.column_config.NumberColumn("Test accuracy", format="%.2f%%"),
           "Images": st.column_config.NumberColumn("Images", format="localized"),
           "Time (s)": st.column_config.NumberColumn("Time (s)", format="%.1f", help="Time spent training")}
st.subheader("Your runs")
if mine:
    st.dataframe(pd.DataFrame([run_table_row(r) for r in mine]), hide_index=True,
                 column_config=COLUMNS)
else:
    st.caption("You have not trained a run yet.")
show_class = st.toggle(f"Show class runs ({len(others)})", value=not mine, key="show_class_runs",
                       help="Runs trained by others on this server (or with the CLI). You can compare and "
                            "download them, but not rename or delete them.")
if show_class and others:
    st.dataframe(pd.DataFrame([run_table_row(r) for r in others]), hide_index=True,
                 column_config=COLUMNS)

st.subheader("Compare runs")
visible = mine + (others if show_class else [])
labels = unique_labels(visible)
chosen = st.multiselect("Runs to overlay", [r.run_id for r in visible], default=[r.run_id for r in visible[:3]],
                        format_func=labels.get, key="compare_runs", max_selections=8,
                        help="Pick up to 8 runs; their curves share one chart, with the epoch on the x-axis.")
metric_names = {"validation accuracy": ("accuracy", "validation"), "validation loss": ("loss", "validation"),
                "training loss": ("loss", "training"), "training accuracy": ("accuracy", "training")}
which = st.segmented_control("Curve", list(metric_names), default="validation accuracy", key="compare_metric",
                             required=True)
rows = []
for info in (r for r in visible if r.run_id in chosen):
    loaded = load_run(info, with_model=False)
    if loaded is not None:
        spe = batch_count(info.metrics.get("train_size") or 1, info.config.batch_size)
        rows += [dict(row, run=labels[info.run_id]) for row in curve_rows(loaded.history, spe, max_points=200)]
if rows:
    metric, split = metric_names[which or "validation accuracy"]
    draw_runs_overlay(rows, metric, split)

gap_panel(visible, labels)

st.subheader("One run")
by_id = {r.run_id: r for r in visible}
remembered = st.session_state.get(SELECTED_RUN_KEY)
run_id = st.selectbox("Run", list(by_id), format_func=labels.get, key="manage_run",
                      index=list(by_id).index(remembered) if remembered in by_id else 0)
info = by_id[run_id]
st.caption(plain(f"{info.config.short_description()} · {outcome_sentence(info.status, info.reason)}"))
loaded = load_run(info, with_model=False)
if loaded is not None:
    download_buttons(store, info, key="history_download")
    st.download_button("Download history (CSV)", history_to_csv(loaded.history), file_name=f"{run_id}-history.csv",
                       mime="text/csv", icon=":material/download:", key="download_csv")
if info.owner != me:
    st.caption("A class run: read-only.")
    st.stop()
name_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
new_name = name_col.text_input("New name", value=info.name, max_chars=60, key=f"rename_{run_id}")
if button_col.button("Rename", key="rename_button", width="stretch"):
    try:
        store.rename(run_id, new_name, actor=me)
        st.rerun()
    except RunStoreError as error:
        st.error(plain(str(error)))
if st.session_state.get("confirm_delete") != run_id:
    if st.button("Delete this run", icon=":material/delete:", key="delete_button"):
        st.session_state["confirm_delete"] = run_id
        st.rerun()
else:
    st.warning(f"Delete “{plain(info.name)}” for good? Its weights and history are removed from disk.")
    yes, no = st.columns(2)
    if yes.button("Yes, delete it", type="primary", key="delete_yes"):
        try:
            store.delete(run_id, actor=me)
        except RunStoreError as error:
            st.error(plain(str(error)))
        else:
            st.session_state.pop("confirm_delete", None)
            st.session_state.pop(SELECTED_RUN_KEY, None)
            st.rerun()
    if no.button("Cancel", key="delete_no"):
        st.session_state.pop("confirm_delete", None)
        st.rerun()
