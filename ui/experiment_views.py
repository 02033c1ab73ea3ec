"""The Experiments page's drawing: study picker, explanation, queue progress and results side by side.

An experiment runs as one background study job (`JobManager.submit_study`, a
study name and options as plain data): the engine runs it, saves each finished
run to the run store and reports through the job's `StudyProgress`. This
module only says how a running and a finished study look; ui/job_view.py polls
once a second while the job is active and settles the page when it ends.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mnist_core import experiments as ex
from mnist_core.chart_summaries import (accuracy_bars_summary, epoch_curves_summary, live_loss_summary,
                                       loss_overlay_summary, parameters_summary)
from mnist_core.config import ARCHITECTURES, ConfigError, TrainConfig
from mnist_core.durations import format_duration
from mnist_core.pictures import colour_legend, diverging_rgb, symmetric_limit, tile_grid
from mnist_core.jobs import STUDY, Job, JobError

from .charts.experiments import (accuracy_bars, bars_height, epoch_curves, live_loss_chart, loss_overlay,
                                 parameters_chart, percent_text)
from .classic_views import draw_reproduction
from .image_grid import crisp_images, show_picture
from .job_view import SLOW, job_view, queue_text, stop_job
from .page_links import RUNS_PAGE
from .projector import chart_summary
from .text import plain
from .session import get_jobs, user_params
from .identity import current_owner

CUSTOM = "custom"
# Custom study: the base models a student can pick, and the knobs offered.
CUSTOM_BASES = {
    "mlp": TrainConfig(arch="mlp", hidden=(128,), optimizer="adam", schedule="constant", lr=3e-3,
                       batch_size=100, epochs=2, subset=500),
    "softmax": TrainConfig(arch="softmax", optimizer="sgd", schedule="constant", lr=0.1,
                           batch_size=100, epochs=2, subset=500),
    "cnn": TrainConfig(arch="cnn", optimizer="adam", schedule="onecycle", lr=3e-3,
                       batch_size=100, epochs=1, subset=200),
}
CUSTOM_EXAMPLES = {"lr": "1, 0.1, 0.01, 0.001", "l2": "0.1, 0.01, 0.001, 0", "l1": "0.001, 0.0001, 0",
                   "dropout": "0, 0.3, 0.6", "momentum": "0.5, 0.9, 0.99", "batch_size": "20, 100, 500",
                   "epochs": "1, 2, 4", "subset": "50, 200, 1000", "hidden": "16; 64; 256; 64 64",
                   "activation": "relu, tanh, sigmoid", "optimizer": "sgd, momentum, adam",
                   "schedule": "constant, onecycle", "arch": "softmax, mlp, cnn"}


# --- choosing a study ------------------------------------------------------------

def choose_study() -> tuple[ex.Study | None, dict]:
    """The study picker; for "Custom", the knob and values. Returns the study (None, with an
    st.error, if invalid) and the plain options a job needs to rebuild it (see experiments.study_for)."""
    names = [*ex.STUDIES, CUSTOM]
    titles = {name: study.title for name, study in ex.STUDIES.items()}
    titles[CUSTOM] = "Custom: one knob, your values"
    name = st.selectbox("Study", names, format_func=titles.get, key="experiment_study")
    if name != CUSTOM:
        return ex.STUDIES[name], {}
    return _custom_study_form()


def _custom_study_form() -> tuple[ex.Study | None, dict]:
    knobs = list(ex.KNOBS)
    left, middle, right = st.columns([1, 1, 2])
    arch = left.selectbox("Base model", list(CUSTOM_BASES), format_func=ARCHITECTURES.get, key="custom_base")
    knob = middle.selectbox("Knob", knobs, format_func=lambda k: ex.KNOBS[k][1], key="custom_knob")
    text = right.text_input("Values", value=CUSTOM_EXAMPLES[knob], key=f"custom_values_{knob}",
                            help="Separate values with commas (hidden layers: semicolons between networks, "
                                 "e.g. 64; 256; 64 64).")
    base = CUSTOM_BASES[arch]
    st.caption(plain(f"Everything else as in the base: {base.short_description()}, "
                     f"{10 * base.subset:,} training images."))
    try:
        values = ex.parse_values(knob, text)
        return ex.custom_study(knob, values, base), {"knob": knob, "values": values, "base": base.to_dict()}
    except ConfigError as error:
        st.error(plain(str(error)), icon=":material/error:")
        return None, {}


def draw_study_intro(study: ex.Study, seeds: int) -> None:
    """What the study does and what to expect, shown before it runs."""
    st.markdown(study.explanation)
    if study.reported:
        st.caption(plain(study.reported))
    estimate = ex.estimate_study_seconds(study, seeds)
    runs = len(study.variants) * seeds
    st.info(plain(f"{runs} run{'s' if runs > 1 else ''}: {study.settings_note()}. "
                  f"About {format_duration(estimate)} on one free core (longer while others train)."),
            icon=":material/schedule:")
    with st.expander("The runs in this experiment"):
        st.dataframe(pd.DataFrame([{
            "run": f"{v.group} · {v.label}" if v.group else v.label,
            "settings": ex.BASELINES[v.baseline] + " on the same images" if v.baseline
            else v.config.short_description()} for v in study.variants]), hide_index=True, width="stretch")


# --- starting and stopping ---------------------------------------------------------

def start_controls(study: ex.Study | None, options: dict, data) -> None:
    """Seed repeats and the Run button (disabled while this user's experiment runs)."""
    active = get_jobs().active_job(current_owner(), kind=STUDY)
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    repeat = left.toggle("Repeat every run over 3 seeds (mean ± spread)", key="experiment_three_seeds",
                         help="Shows whether a difference is larger than the noise from the random start "
                              "and batch order. Takes 3× as long.")
    pressed = right.button("Run experiment", type="primary", icon=":material/science:", width="stretch",
                           disabled=study is None or active is not None, key="run_experiment",
                           help="Runs go one after another in the background; the page stays usable.")
    if active is not None:
        st.caption("Your experiment below is still running: cancel it or wait for it to start another.")
    if pressed and study is not None:
        seeds = tuple(study.base.seed + i for i in range(3 if repeat else 1))
        try:
            get_jobs().submit_study(study.name, data, owner=current_owner(), seeds=seeds, options=options)
        except (JobError, ConfigError) as error:
            st.error(plain(str(error)), icon=":material/error:")
            return
        st.rerun()


# --- the results view -----------------------------------------------------------

def results_view() -> None:
    """This user's latest experiment: live while it runs, then its final tables and charts."""
    job = get_jobs().latest_job(current_owner(), kind=STUDY)
    if job is None:
        st.info("Pick a study and press **Run experiment**: results appear here run by run.",
                icon=":material/science:")
        return
    if not job.active:
        _header(job)
    # Runs take seconds to minutes: a redraw once a second is plenty, and nearly free.
    job_view(job, running=draw_active, finished=draw_finished, queued=draw_active, refresh=SLOW, key="study")


def job_study(job: Job) -> ex.Study:
    """The study a job runs, rebuilt from its plain spec."""
    return ex.study_for(job.spec.study, job.spec.options)


def _header(job: Job) -> None:
    study, seeds = job_study(job), job.spec.seeds
    st.subheader(f"Results: {study.title}", anchor=False)
    st.caption(plain(study.settings_note() + (f"; each run repeated over seeds {', '.join(map(str, seeds))}"
                                              if len(seeds) > 1 else "")))


def draw_active(job: Job) -> None:
    """Progress bar, ETA, Cancel, and the results of the runs finished so far."""
    _header(job)
    snapshot = job.progress.snapshot()
    stopping = job.stop_event.is_set()
    row = st.container(horizontal=True, vertical_alignment="bottom")
    if job.active and job.started is None:
        row.info(queue_text(job), icon=":material/hourglass_top:")
    else:
        row.progress(min(max(snapshot["fraction"], 0.0), 1.0), text=_progress_text(snapshot, stopping))
    row.button("Cancel", key="cancel_experiment", icon=":material/stop:", on_click=stop_job, args=(job.job_id,),
               disabled=stopping, width="content",
               help="Stop the current run now and start no more; finished runs are kept.")
    if snapshot["current_batches"]:
        st.altair_chart(live_loss_chart(snapshot["current_batches"], snapshot["current_label"] or ""),
                        width="stretch", height=210)
        chart_summary(live_loss_summary(snapshot["current_batches"], snapshot["current_label"] or ""))
    if snapshot["rows"]:
        draw_results(job_study(job), snapshot["rows"], live=True)


def _progress_text(snapshot: dict, stopping: bool) -> str:
    done, total = snapshot["done"], snapshot["total"]
    if stopping:
        return f"Cancelling: {done} of {total} runs finished…"
    current = snapshot["current"]
    what = f"run {current + 1} of {total}: {snapshot['current_label']}" if current is not None else (
        f"{done} of {total} runs finished")
    return f"{what[:1].upper()}{what[1:]} · about {format_duration(snapshot['eta_seconds'])} left"


def draw_finished(job: Job) -> None:
    """A study that ended well (cancelled and failed ones are job_view's)."""
    rows: list[ex.RunRow] = job.result
    snapshot = job.progress.snapshot()
    if snapshot["cancelled"]:
        st.warning(f"Cancelled after {len(rows)} of {snapshot['total']} runs.", icon=":material/stop_circle:")
    if job.save_error:
        st.warning(plain(job.save_error), icon=":material/save:")
    if not rows:  # cancelled before its first run had trained a batch: nothing to compare
        st.info("No run had started training, so nothing was kept and there is nothing to compare.",
                icon=":material/info:")
        return
    draw_results(job_study(job), rows, live=False)


# --- drawing results -------------------------------------------------------------

def draw_results(study: ex.Study, rows: list[ex.RunRow], live: bool) -> None:
    """Takeaway, table, accuracy bars, overlaid curves, study extras and the CSV download."""
    summaries = ex.summarize(rows)
    if not live:
        st.success(plain(ex.takeaway(study, rows)), icon=":material/lightbulb:")
    table = results_table(study, summaries)
    st.dataframe(table, hide_index=True, width="stretch", column_config=column_formats(table))
    if not live:
        draw_reproduction(study, summaries)
    left, right = st.columns(2)
    with left:
        # An explicit height: Streamlit's "content" height squeezes a layered chart with a discrete y axis.
        st.altair_chart(accuracy_bars(summaries), width="stretch",
                        height=bars_height(len(summaries), legend=len({x["group"] for x in summaries}) > 1))
        chart_summary(accuracy_bars_summary(summaries))
    with right:
        groups = list(dict.fromkeys(r.group for r in rows))
        focus = ("" if not study.curve_epochs else " in the first epoch" if study.curve_epochs == 1
                 else f" in the first {study.curve_epochs} epochs")
        for group in groups:
            members = [r for r in rows if r.group == group]
            chart = loss_overlay(members, epochs=study.curve_epochs, title=(
                f"Training loss{focus} · {group}" if group else f"Training loss{focus}, each run"))
            if chart is not None:
                st.altair_chart(chart, width="stretch")
                chart_summary(loss_overlay_summary(members, epochs=study.curve_epochs))
    if "templates" in study.views:
        draw_templates(rows)
    if "parameters" in study.views:
        st.altair_chart(parameters_chart(summaries), width="stretch")
        chart_summary(parameters_summary(summaries))
    if "generalization" in study.views:
        st.altair_chart(epoch_curves(rows, "final_val", "Training vs validation loss"), width="stretch")
        chart_summary(epoch_curves_summary(rows, "final_val"), always=True)
    if "test-loss" in study.views:
        st.altair_chart(epoch_curves(rows, "test", "Training vs test loss"), width="stretch")
        chart_summary(epoch_curves_summary(rows, "test"), always=True)
    if not live:
        st.download_button("Download the table (CSV)", ex.rows_to_csv(rows), file_name=f"{study.name}.csv",
                           mime="text/csv", icon=":material/download:", key="experiment_csv")
        saved = sum(1 for r in rows if r.run_id)
        if saved:
            st.page_link(RUNS_PAGE, label=f"{saved} run{'s' if saved > 1 else ''} saved in the run history",
                         icon=":material/folder_open:", query_params=user_params())


def results_table(study: ex.Study, summaries: list[dict]) -> pd.DataFrame:
    """The study's table: one line per knob value (mean over seeds), numbers a student can read.

    Columns that say the same for every line (parameters of one model, "completed") are left out.
    """
    repeated = any(s["seeds"] > 1 for s in summaries)
    reported = any(s.get("reported_test_accuracy") is not None for s in summaries)
    lines = []
    for s in summaries:
        line = {}
        if any(x["group"] for x in summaries):
            line["model"] = s["group"]
        line[study.knob_label] = s["label"]
        line["test acc. %"] = _percent(s["test_accuracy"])
        if study.compare == "best_val":
            line["test acc. at best val. %"] = _percent(s.get("test_accuracy_at_best_val"))
        if repeated:
            line["± (std, seeds)"] = _percent(s["test_accuracy_std"])
        if reported:
            line["reported %"] = _percent(s["reported_test_accuracy"])
        if study.name == "activation":
            line["held-out loss, epoch 1"] = _round(s["first_epoch_val_loss"], 3)
        line["train loss"] = _round(s["final_train_loss"], 3)
        line["val. loss"] = _round(s["final_val_loss"], 3)
        if "metrics" in study.views:
            line["precision %"] = _percent(s["macro_precision"])
            line["recall %"] = _percent(s["macro_recall"])
        line["F1 %"] = _percent(s["macro_f1"])
        if "templates" in study.views:
            line["confidence %"] = _percent(s["mean_confidence"])
        line["train s"] = _round(s["train_seconds"], 2)
        line["parameters"] = s["parameters"]
        line["status"] = s["status"]
        lines.append(line)
    table = pd.DataFrame(lines)
    table = table.drop(columns=[c for c in table.columns if table[c].isna().all()])  # e.g. no validation set
    for column in ("parameters", "status"):
        if column in table and table[column].nunique(dropna=False) <= 1 and (
                column != "status" or set(table[column]) <= {"completed"}):
            table = table.drop(columns=column)
    return table


def column_formats(table: pd.DataFrame) -> dict:
    """Fixed decimals per kind of column (94.0, not 94), thousands separators for parameters."""
    formats = {}
    for column in table.columns:
        if column.endswith("%") or column.startswith("±"):
            formats[column] = st.column_config.NumberColumn(format="%.1f")
        elif "loss" in column:
            formats[column] = st.column_config.NumberColumn(format="%.3f")
        elif column == "train s":
            formats[column] = st.column_config.NumberColumn(format="%.2f")
        elif column == "parameters":
            formats[column] = st.column_config.NumberColumn(format="localized")
    return formats


def _percent(value) -> float | None:
    return None if value is None else round(100 * value, 1)


def _round(value, digits: int):
    return None if value is None or not np.isfinite(value) else round(value, digits)


def draw_templates(rows: list[ex.RunRow]) -> None:
    """Each run's 10 digit templates on ONE colour scale, so weaker weights look fainter."""
    shown = [r for r in rows if r.templates is not None and r.seed == min(x.seed for x in rows)]
    if not shown:
        return
    crisp_images()
    st.markdown("**Weight templates** (orange: ink here raises the digit's score; blue: lowers it)")
    limit = symmetric_limit(np.concatenate([r.templates.ravel() for r in shown]))
    for row in shown:
        tiles = [diverging_rgb(template, limit) for template in row.templates]
        sheet = tile_grid(tiles, columns=10, scale=3, gap=4, labels=[str(d) for d in range(10)], label_size=13)
        left, right = st.columns([1, 6], vertical_alignment="center")
        left.markdown(f"**{plain(row.label)}**  \n{percent_text(row.test_accuracy)}")
        with right:
            show_picture(sheet, alt=f"The ten digit templates of {row.label}, 0 to 9")
    show_picture(colour_legend(limit), caption="the same colour scale for every row")
