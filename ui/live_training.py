"""The live view of a training run: progress, curves, per-digit accuracy and the outcome in words.

Training runs as a background job (mnist_core.jobs); this module only says how
a running and a finished training job look, and ui/job_view.py polls: while the
job is active it redraws from the job's History snapshot, when the job ends the
page settles into a static final view. No Streamlit call happens in the worker.

A job lives in the process-wide JobManager under the user's token, so a
reload or a page switch finds it again; after a server restart the user's
latest saved run is shown from the run store instead.
"""
from __future__ import annotations

import time

import streamlit as st

from mnist_core.chart_rows import curve_rows, exploded_loss, first_learned
from mnist_core.chart_summaries import curve_summary, per_class_history_summary, runs_overlay_summary
from mnist_core.data import batch_count
from mnist_core.durations import eta_seconds, format_duration
from mnist_core.jobs import CANCELLED, FAILED, FINISHED, QUEUED, RUNNING, TRAIN, Job

from .charts.training import per_class_heatmap_spec, runs_overlay_spec, training_curves_spec
from .page_links import TRAIN_PAGE
from .run_picker import SELECTED_RUN_KEY, load_run
from .job_view import FAST, SLOW, job_view, queue_text, stop_job
from .guesses import draw_guess_outcome
from .identity import current_owner
from .projector import chart_summary
from .session import get_jobs, get_store, user_params
from .take_home import download_buttons
from .text import plain

RUN_SAVED_WHEN_IT_ENDS = "It joins the run history when it ends."
ANNOUNCED_KEY = "announced_job_id"  # session_state: the finished job already announced with a toast

STATUS_STYLE = {  # status -> (st function name, icon)
    "completed": ("success", ":material/check_circle:"),
    "early-stopped": ("success", ":material/timer_off:"),
    "stopped": ("info", ":material/stop_circle:"),
    "diverged": ("error", ":material/trending_up:"),
    "failed": ("error", ":material/error:"),
}




def _sentence(text: str) -> str:
    text = (text or "").strip()
    return text[:1].upper() + text[1:] if text else ""


def outcome_sentence(status: str, reason: str, history: dict | None = None) -> str:
    """What happened, in words: e.g. "Diverged: loss became NaN at step 37: ... try 0.1."

    >>> outcome_sentence("stopped", "stopped by the user at step 40 (epoch 1).")
    'Stopped by the user at step 40 (epoch 1).'
    """
    if status == "diverged":
        text = f"Diverged: {reason}"
    elif status in ("completed", "stopped", "early-stopped"):
        text = _sentence(reason)
    else:
        text = _sentence(reason) or f"The run ended as {status}."
    loss = exploded_loss(history or {}) if status != "diverged" else None
    if loss is not None:
        # The engine only calls a NaN/inf loss "diverged"; a loss far above guessing is the same story.
        text += (f" But the training loss ended at {loss:,.0f}, far above 2.3 (the loss of random guessing): "
                 "the steps overshoot, so the learning rate is probably too large.")
    return text


# --- small drawing pieces ------------------------------------------------------

def draw_outcome(status: str, reason: str, history: dict | None = None) -> None:
    """The status line: a coloured box with one plain sentence."""
    kind, icon = STATUS_STYLE.get(status, ("info", ":material/info:"))
    text = outcome_sentence(status, reason, history)
    if status not in ("diverged", "failed") and exploded_loss(history or {}) is not None:
        kind = "warning"
    getattr(st, kind)(plain(text), icon=icon)


def draw_result_metrics(test_accuracy: float | None, val_accuracy: float | None, seconds: float | None,
                        parameters: int | None, train_size: int | None) -> None:
    """The final numbers; the test accuracy first, as the number that counts."""
    # A wrapping row: four metrics side by side when there is room, two by two on a narrow screen.
    row = st.container(horizontal=True, horizontal_alignment="distribute", gap="medium")
    row.metric("Test accuracy", f"{100 * test_accuracy:.2f}%" if test_accuracy is not None else "–",
                   help="Share of the 10,000 test images (never seen in training) read correctly.", width="content")
    row.metric("Validation accuracy", f"{100 * val_accuracy:.2f}%" if val_accuracy is not None else "–",
                   help="Accuracy on the held-out 10% of the training images, measured after each epoch.",
                   width="content")
    row.metric("Training time", format_duration(seconds),
                   help="Time spent in training steps (validation and test evaluation not included).",
                   width="content")
    row.metric("Trained on", f"{train_size:,} images" if train_size else "–",
                   help=f"The model has {parameters:,} weights and biases." if parameters else None, width="content")


def draw_curves(history: dict, chart_key: str = "", live: bool = False) -> None:
    """Loss and accuracy charts side by side, then the per-digit heatmap once an epoch is done.
    `history` is a History's snapshot or to_dict(): its steps per epoch put x on an epoch axis."""
    rows = curve_rows(history)
    if not rows:
        st.caption("The curves appear after the first few batches." if live else
                   "No curves: the run ended before its first progress report (one every few batches).")
        return
    left, right = st.columns(2)
    # Cached Altair specs + fresh data: rebuilding Altair charts twice a second would take
    # 0.1-0.2 s of Python each time, which the training thread would wait for (the GIL).
    left.vega_lite_chart(*training_curves_spec(rows, "loss"), width="stretch", key=f"loss_chart{chart_key}")
    right.vega_lite_chart(*training_curves_spec(rows, "accuracy"), width="stretch", key=f"acc_chart{chart_key}")
    epochs = history.get("epochs") or []
    chart_summary(curve_summary(epochs))
    if epochs and epochs[0].get("per_class_val_accuracy"):
        st.vega_lite_chart(*per_class_heatmap_spec(epochs), width="stretch", key=f"class_chart{chart_key}")
        chart_summary(per_class_history_summary(epochs))
        learned = first_learned(epochs, 0.95)
        if learned and len(epochs) > 1:
            first_epoch = learned[0][1]
            firsts = ", ".join(str(d) for d, e in learned if e == first_epoch)
            st.caption(f"Digits above 95% after epoch {first_epoch}: {firsts}. "
                       f"{10 - len(learned)} digit(s) never reached 95% in this run.")
    elif live:
        st.caption("Each digit's validation accuracy appears here after the first epoch.")


def draw_runs_overlay(rows: list[dict], metric: str, split: str) -> None:
    """Run history's chart: one line per chosen run (`rows` are curve rows with a "run" label), and its summary."""
    # A cached spec + fresh data: every student opens this page, and building the chart with Altair
    # on each visit was most of the page's server time (see ui/charts/training.py).
    st.vega_lite_chart(*runs_overlay_spec(rows, metric, split), width="stretch", key="compare_chart")
    chart_summary(runs_overlay_summary(rows, metric, split), always=True)


def progress_text(snapshot: dict, started: float | None, stopping: bool) -> tuple[float, str]:
    """The progress bar's fraction and its text: epoch, step, images/s and time left."""
    info, latest = snapshot["info"], snapshot["latest_batch"]
    total = info.get("total_steps") or (latest or {}).get("total_steps") or 1
    if not latest:
        size = info.get("train_size")
        return 0.0, f"Starting: preparing {size:,} training images…" if size else "Starting…"
    step = latest["step"]
    if stopping:
        return step / total, f"Stopping after the current batch (step {step:,})…"
    if step >= total:
        return 1.0, "Measuring accuracy on the validation and test images…"
    elapsed = time.time() - started if started else 0.0
    eta = eta_seconds(step, total, elapsed)
    return step / total, (f"Epoch {latest['epoch']}/{info.get('epochs', '?')} · step {step:,}/{total:,} · "
                          f"{latest['examples_per_second']:,.0f} images/s · about {format_duration(eta)} left")


# --- the job views ---------------------------------------------------------------

def _job_title(job: Job) -> None:
    """The run's name (if the user gave one) and its settings in one line."""
    config = job.config
    named = config is None or job.label != config.short_description()
    st.markdown(f"#### {plain(job.label) if named else 'Your run'}")
    if config is not None:
        images = "all training images" if not config.subset else f"{10 * config.subset:,} training images"
        st.caption(plain(f"{config.short_description()} · {images}"))


def draw_running_job(job: Job) -> None:
    """Progress, Stop and live curves of a running job (called inside job_view's fragment)."""
    _job_title(job)
    snapshot = job.progress.snapshot()
    stopping = job.stop_event.is_set()
    fraction, text = progress_text(snapshot, job.started, stopping)
    row = st.container(horizontal=True, vertical_alignment="bottom")  # the button wraps below on narrow screens
    row.progress(min(max(fraction, 0.0), 1.0), text=text)
    row.button("Stop training", key="page_stop", icon=":material/stop:", on_click=stop_job,
                  args=(job.job_id,), disabled=stopping, width="content",
                  help="End the run after the current batch; the weights learned so far are kept and saved.")
    history = {"steps_per_epoch": snapshot["info"].get("steps_per_epoch"), "batches": snapshot["batches"],
               "epochs": snapshot["epochs"]}
    draw_curves(history, chart_key="_live", live=True)


def draw_queued_job(job: Job) -> None:
    _job_title(job)
    st.info(queue_text(job), icon=":material/hourglass_top:")
    st.button("Cancel", key="cancel_queued_job", on_click=stop_job, args=(job.job_id,),
              help="Leave the queue; nothing has been trained yet.")


def draw_finished_job(job: Job) -> None:
    """The final view of a training job that ended well in this server's lifetime."""
    result = job.result
    draw_outcome(result.status, result.reason, result.history)
    draw_guess_outcome(job.spec.options.get("extra"), result.val_accuracy, result.status)
    if job.save_error:
        st.warning(plain(job.save_error), icon=":material/save:")
    draw_result_metrics(result.test_accuracy, result.val_accuracy, result.train_seconds, result.parameters,
                        result.train_size)
    if job.run_info is not None:
        download_buttons(get_store(), job.run_info, key="train_result")
    draw_curves(result.history)


def draw_saved_run(info) -> None:
    """The final view of a run read back from the run store (e.g. after a server restart)."""
    loaded = load_run(info, with_model=False)
    if loaded is None:
        return
    st.markdown(f"#### {plain(info.name)}")
    st.caption(plain(f"{info.config.short_description()} · saved {time.strftime('%d %b %H:%M', time.localtime(info.created))}"))
    metrics = info.metrics
    draw_outcome(info.status, info.reason, loaded.history)
    draw_guess_outcome(info.extra, metrics.get("val_accuracy"), info.status)
    draw_result_metrics(metrics.get("test_accuracy"), metrics.get("val_accuracy"), metrics.get("train_seconds"),
                        metrics.get("parameters"), metrics.get("train_size"))
    download_buttons(get_store(), info, key="train_saved")
    history = dict(loaded.history)
    # A run saved before the history kept its steps per epoch (run format 1).
    history.setdefault("steps_per_epoch", batch_count(metrics.get("train_size") or 1, info.config.batch_size))
    draw_curves(history)


def latest_train_job() -> Job | None:
    return get_jobs().latest_job(current_owner(), kind=TRAIN)


def live_view() -> None:
    """The Train page's main view: the active job live, else the last job or last saved run, final."""
    job = latest_train_job()
    if job is not None:
        if not job.active:
            _job_title(job)
        job_view(job, running=draw_running_job, finished=draw_finished_job, queued=draw_queued_job,
                 refresh=FAST, key="train")
    else:
        mine = get_store().list(owner=current_owner())
        if mine:
            st.caption("Your latest saved run:")
            draw_saved_run(mine[0])
        else:
            st.info("Choose settings in the sidebar, then press **Train** to watch the network learn. "
                    "Tip: with **1k** training images a run takes a few seconds.", icon=":material/school:")


# --- the sidebar's compact status --------------------------------------------------------

def _announce(job: Job) -> None:
    """Once per finished job: select its run on the other pages and say it was saved."""
    if st.session_state.get(ANNOUNCED_KEY) == job.job_id:
        return
    st.session_state[ANNOUNCED_KEY] = job.job_id
    if job.run_info is not None:
        st.session_state[SELECTED_RUN_KEY] = job.run_info.run_id
        accuracy = job.run_info.test_accuracy
        st.toast(plain(f"Run saved: {job.run_info.name}" + (f" ({100 * accuracy:.1f}% test accuracy)"
                                                             if accuracy is not None else "")), icon=":material/save:")


def _compact_status(job: Job) -> None:
    """The sidebar's few words on a queued or running job (inside job_view's fragment)."""
    if job.state == QUEUED:
        position = get_jobs().queue_position(job)
        st.caption(f"Queued: number {position or 1} in line for a training slot.")
    elif job.state == RUNNING and job.step_mode:
        steps = (job.progress.snapshot()["latest_batch"] or {}).get("step", 0)
        st.caption(f"Step mode: {steps:,} batch{'es' if steps != 1 else ''} trained by hand so far.")
    elif job.state == RUNNING:
        snapshot = job.progress.snapshot()
        fraction, text = progress_text(snapshot, job.started, job.stop_event.is_set())
        st.progress(min(max(fraction, 0.0), 1.0), text=text.split(" · about")[0])
    if job.active:
        st.page_link(TRAIN_PAGE, label="Back to stepping" if job.step_mode else "Watch it live",
                     icon=":material/monitoring:", query_params=user_params())
        # Until then it is not in the run history, so no page can rename or delete a run mid-training.
        st.caption(RUN_SAVED_WHEN_IT_ENDS)


def sidebar_status(live: bool = True) -> None:
    """This user's latest training job in a few words (a live fragment while active, if `live`)."""
    job = latest_train_job()
    if job is None:
        return
    if job.active:
        if live:
            job_view(job, running=_compact_status, finished=_compact_status, queued=_compact_status,
                     refresh=SLOW, key="sidebar")
        else:
            # Drawn once per script run, so a queued job's words stay true when it starts meanwhile.
            st.caption("Waiting for a free slot, then training: watch it on this page." if job.state == QUEUED else
                       "Step mode: press the buttons on this page." if job.step_mode else
                       "Training: watch it on this page.")
        return
    _announce(job)
    if job.state == FINISHED and job.result is not None:
        accuracy = job.result.test_accuracy
        st.caption(plain(f"Last run {job.result.status}" + (f": {100 * accuracy:.1f}% test accuracy."
                                                              if accuracy is not None else ".")))
    elif job.state == FAILED:
        st.caption("The last run failed; see the Train page.")
    elif job.state == CANCELLED:
        st.caption("The last run was cancelled.")

