"""Train page: press Train and watch the network learn, live, or train it by hand, one batch per press.

The settings live in the sidebar (ui/sidebar.py); training runs in a worker
process and this page only draws its progress (ui/live_training.py, and
ui/step_view.py in Step mode), so the page stays usable, and a reload or a page
switch finds the run again.
"""
import streamlit as st

from ui.guesses import forget_guess, pending
from ui.job_view import interrupted_notices
from ui.live_training import latest_train_job, live_view
from ui.step_view import step_view
from ui.train_tools import numpy_panel, range_test_panel
from ui.text import plain
from ui.sidebar import RUN_NAME_KEY, current_config, start_training

MODES = {"watch": "Watch it train", "step": "Step by step"}

st.title("Train a network")
st.markdown("Pick the settings in the sidebar and press **Train**. The network looks at batches of images, "
            "measures how wrong it is (the **loss**) and nudges its weights to be less wrong. Watch the loss "
            "fall and the accuracy rise; the **validation** curve shows how well it reads digits it was not "
            "trained on.")

interrupted_notices("train")
config = current_config()
job = latest_train_job()
if job is not None and job.active and job.step_mode:
    step_view(job)
    st.stop()
if job is None or not job.active:
    # A wrapping row: the button moves under the text on a narrow screen instead of being cut.
    with st.container(border=True, horizontal=True, vertical_alignment="center"):
        if config is None:
            st.warning("The settings in the sidebar need fixing before training (see the message there).")
        else:
            mode = st.segmented_control("Mode", list(MODES), format_func=MODES.get, default="watch", required=True,
                                        key="train_mode", label_visibility="collapsed", persist_state="session",
                                        help="Step by step: you press a button for every batch and see what "
                                             "each step changes.")
            st.markdown(f"**Next run:** {plain(config.short_description())} · "
                        f"{'all' if not config.subset else f'{10 * config.subset:,}'} training images")
            stepping = mode == "step"
            ready, guess = pending()  # a lesson with guesses: Train waits for the sidebar's guess
            if st.button("Start stepping" if stepping else "Train this model", type="primary", width="content",
                         icon=":material/footprint:" if stepping else ":material/play_arrow:", key="page_train",
                         disabled=not ready, help=None if ready else "Type your guess in the sidebar first."):
                if start_training(config, st.session_state.get(RUN_NAME_KEY) or "", step_mode=stepping, extra=guess):
                    forget_guess()
                    st.rerun()
if config is not None:
    range_test_panel(config)
    if config.arch in ("softmax", "mlp", "deep-mlp"):
        numpy_panel(config)

live_view()
