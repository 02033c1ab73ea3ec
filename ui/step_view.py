"""The Train page's Step mode: train one batch per press and see what it changed.

The session runs as a job (mnist_core/jobs.py `submit_stepping`, the student's
one active training); a press only asks the job for batches
(`job.progress.request`) and waits a moment for the answer, so nothing trains
in the page's script run. A long press ("Run to the end of the epoch") is
watched by a polling fragment until the job answers. The view shows the last
batch's loss before and after its step, the epoch's running accuracy, a
picture of the press's change in the first layer, the batches so far, and the
page's usual live curves.
"""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from mnist_core.jobs import Job

from .image_grid import show_picture
from .job_view import my_job
from .live_training import draw_curves
from .text import plain

ANSWER_SECONDS = 3.0  # a press waits this long for the job's answer before the page polls instead
BATCHES_SHOWN = 10  # rows of the "batches so far" table
BUTTONS = {  # key -> (label, command, batches, help)
    "step_one": ("Step", "step", 1, "Train one batch: one look at the images, one nudge of every weight."),
    "step_ten": ("Step ×10", "step", 10, "Train the next ten batches."),
    "step_epoch": ("Run to the end of the epoch", "epoch", 1,
                   "Train the rest of this pass over the training images, then validate."),
}


def _press(job_id: int, command: str, count: int) -> None:
    """Button callback: ask the session for batches, and give it a moment to answer."""
    job = my_job(job_id)
    if job is not None and job.active:
        job.progress.request(command, count).wait(ANSWER_SECONDS)


def _save(job_id: int) -> None:
    """Button callback: keep the session so far as a run, and go on stepping."""
    job = my_job(job_id)
    if job is not None and job.active:
        job.progress.request("save").wait(ANSWER_SECONDS)


def _finish(job_id: int) -> None:
    """Button callback: end the session; the job evaluates and saves the run (the page polls if it is slow)."""
    job = my_job(job_id)
    if job is not None and job.active:
        job.progress.request("finish").wait(ANSWER_SECONDS)
        deadline = time.time() + ANSWER_SECONDS
        while job.active and time.time() < deadline:
            time.sleep(0.05)


def _last_batch(snapshot: dict) -> None:
    records = snapshot["records"]
    row = st.container(horizontal=True, horizontal_alignment="distribute", gap="medium")
    total, step = snapshot["total_steps"], snapshot["step"]
    row.metric("Batches trained", f"{step:,} of {total:,}",
               help=f"Epoch {max(snapshot['epoch'], 1)}: {snapshot['left_in_epoch']:,} batch(es) left in it.",
               width="content")
    if records:
        last = records[-1]
        change = last["loss_after"] - last["loss_before"]
        row.metric("Loss on the last batch", f"{last['loss_before']:.3f} → {last['loss_after']:.3f}",
                   delta=f"{change:+.3f}", delta_color="inverse", width="content",
                   help="The loss on the same images just before and just after the step (dropout off). "
                        "A step downhill makes it smaller.")
        row.metric("Running accuracy", f"{100 * last['running_accuracy']:.1f}%", width="content",
                   help="Share of this epoch's training images so far that the network read correctly "
                        "just before stepping on them.")
    else:
        row.metric("Loss on the last batch", "–", width="content")
        row.metric("Running accuracy", "–", width="content")


def _change_picture(job: Job, snapshot: dict) -> None:
    if snapshot["picture"] is None:
        st.caption("Press **Step**: the picture of what the step changed in the first layer appears here.")
        return
    what = {"softmax": "each digit's template", "cnn": "each filter of the first convolution layer"}.get(
        job.config.arch, "the first-layer units that moved most")
    st.markdown(f"**What the last press changed in {what}** (orange: weights went up, blue: down)")
    show_picture(snapshot["picture"], alt=f"What the last press changed in {what}")
    show_picture(snapshot["legend"], alt="The colour scale: orange up, blue down")


def _batches_table(snapshot: dict) -> None:
    records = snapshot["records"][-BATCHES_SHOWN:][::-1]
    if not records:
        return
    st.caption(f"{len(snapshot['records']):,} batch(es) in the history so far, newest first:")
    st.dataframe(pd.DataFrame([{"Batch": r["step"], "Epoch": r["epoch"], "Loss before": r["loss_before"],
                                "Loss after": r["loss_after"], "Running accuracy": r["running_accuracy"]}
                               for r in records]),
                 hide_index=True,
                 column_config={"Loss before": st.column_config.NumberColumn(format="%.4f"),
                                "Loss after": st.column_config.NumberColumn(format="%.4f"),
                                "Running accuracy": st.column_config.NumberColumn(format="percent")})


def _working(job_id: int) -> None:
    """While a long press (or Finish) is being done: say so, and settle once the job has answered."""
    job = my_job(job_id)
    snapshot = job.progress.snapshot() if job is not None else {}
    if job is None or not job.active or not (snapshot["busy"] or snapshot["finishing"]):
        st.rerun()
    latest = snapshot["latest_batch"] or {}
    st.info(("Saving the run…" if snapshot["finishing"] else
             f"Training: batch {latest.get('step', 0):,} of {snapshot['total_steps']:,}…"),
            icon=":material/hourglass_top:")


_WORKING = st.fragment(_working, run_every=0.5)


def step_view(job: Job) -> None:
    """The open Step-mode session of this user."""
    snapshot = job.progress.snapshot()
    named = job.label != job.config.short_description()
    st.markdown(f"#### Step by step{': ' + plain(job.label) if named else ''}")
    st.caption(plain(f"{job.config.short_description()} · each press trains; Finish and save keeps the run."))
    if snapshot["busy"] or snapshot["finishing"]:
        _WORKING(job.job_id)
        return
    row = st.container(horizontal=True, vertical_alignment="bottom")
    for key, (label, command, count, help_text) in BUTTONS.items():
        row.button(label, key=key, on_click=_press, args=(job.job_id, command, count), help=help_text,
                   disabled=snapshot["done"], type="primary" if key == "step_one" else "secondary")
    row.button("Save", key="step_save", icon=":material/save:", on_click=_save, args=(job.job_id,),
               help="Keep the network as it is now as a run in the run history, and go on stepping.")
    row.button("Finish and save", key="step_finish", icon=":material/flag:", on_click=_finish, args=(job.job_id,),
               help="End the session: the run is evaluated on the test images and saved in the run history.")
    if snapshot["saved"]:
        batches = snapshot["saved"][-1][1]
        st.caption(f"Saved as a run after {batches:,} batch{'es' if batches != 1 else ''} (see Run history). "
                   "Keep stepping, or finish.")
    if snapshot["done"]:
        st.success("Every batch of the run is trained: press **Finish and save** to keep it.", icon=":material/flag:")
    _last_batch(snapshot)
    _change_picture(job, snapshot)
    _batches_table(snapshot)
    draw_curves({"steps_per_epoch": snapshot["steps_per_epoch"], "batches": snapshot["batches"],
                 "epochs": snapshot["epochs"]}, chart_key="_step", live=True)
