"""The Experiments page's drawing: study picker, explanation, queue progress and results side by side.

An experiment runs as one background job (kind "experiment") in the shared
JobManager; its worker calls `mnist_core.experiments.run_experiment`, saves
each finished run to the run store, and reports through an
`ExperimentProgress` kept in `job.extra`. This module only reads snapshots
of that progress and draws them: a fragment refreshes once a second while the
job is active and calls `st.rerun()` once when it ends.
"""
from __future__ import annotations

import time

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from mnist_core import experiments as ex
from mnist_core.config import ARCHITECTURES, ConfigError, TrainConfig
from mnist_core.chart_rows import curve_rows
from mnist_core.config import CHANCE_LOSS
from mnist_core.durations import format_duration
from mnist_core.inspection import colour_legend, diverging_rgb, symmetric_limit, tile_grid
from mnist_core.jobs import CANCELLED, FAILED, QUEUED, Job, JobError

from .image_grid import crisp_images, show_picture
from .text import plain
from .session import get_jobs, user_params, user_token

REFRESH_SECONDS = 1.0  # runs take seconds to minutes: once a second is plenty, and nearly free
CUSTOM = "custom"
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
LOSS_CAP = 2 * CHANCE_LOSS  # losses above this are drawn at the top edge, so one wild run cannot flatten the rest
RUNS_PAGE = "pages/runs.py"
# Known figures quoted beside our own, value -> test accuracy in %.
REPORTED = {
    "lr-sweep": {1.0: 95.2, 0.1: 92.7, 0.05: 91.4, 0.01: 76.2},
    "l2-sweep": {1.0: 10, 0.1: 36, 0.01: 89, 1e-3: 93, 1e-4: 93},
}
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

def choose_study() -> ex.Study | None:
    """The study picker; for "Custom", the knob and values. None (with an st.error) if invalid."""
    names = [*ex.STUDIES, CUSTOM]
    titles = {name: study.title for name, study in ex.STUDIES.items()}
    titles[CUSTOM] = "Custom: one knob, your values"
    name = st.selectbox("Study", names, format_func=titles.get, key="experiment_study")
    if name != CUSTOM:
        return ex.STUDIES[name]
    return _custom_study_form()


def _custom_study_form() -> ex.Study | None:
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
        return ex.custom_study(knob, ex.parse_values(knob, text), base)
    except ConfigError as error:
        st.error(plain(str(error)), icon=":material/error:")
        return None


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

def start_experiment(study: ex.Study, data, seeds: tuple[int, ...]) -> Job:
    """Queue the study as one background job; each finished run is saved to the run store."""
    jobs = get_jobs()
    experiment_id = f"{study.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    progress = ex.ExperimentProgress(ex.run_plan(study, seeds))  # the runner plans again when it starts

    def work(job: Job):
        def on_run_end(row: ex.RunRow, result) -> None:
            if result is not None and row.status != "stopped":
                info = jobs.save_result(job, result, name=ex.run_name(study, row),
                                        extra=ex.run_extra(study, experiment_id, row), test_labels=data.test_labels)
                row.run_id = info.run_id if info else None

        return ex.run_experiment(study, data, seeds=seeds, on_run_end=on_run_end, stop=job.stop_event,
                                 progress=progress)

    job = jobs.submit(user_token(), work, label=study.title, kind="experiment")
    job.extra.update(study=study, seeds=seeds, progress=progress, experiment_id=experiment_id)
    return job


def start_controls(study: ex.Study | None, data) -> None:
    """Seed repeats and the Run button (disabled while this user's experiment runs)."""
    active = get_jobs().active_job(user_token(), kind="experiment")
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
            start_experiment(study, data, seeds)
        except JobError as error:
            st.error(plain(str(error)), icon=":material/error:")
            return
        st.rerun()


def _cancel(job_id: int) -> None:
    try:
        get_jobs().get(user_token(), job_id).stop()
    except JobError:
        pass


# --- the results view -----------------------------------------------------------

def results_view() -> None:
    """This user's latest experiment: live while it runs, then its final tables and charts."""
    job = get_jobs().latest_job(user_token(), kind="experiment")
    if job is None or "study" not in job.extra:
        st.info("Pick a study and press **Run experiment**: results appear here run by run.",
                icon=":material/science:")
        return
    if job.active:
        _live_fragment(job.job_id)
    else:
        draw_finished(job)


@st.fragment(run_every=REFRESH_SECONDS)
def _live_fragment(job_id: int) -> None:
    try:
        job = get_jobs().get(user_token(), job_id)
    except JobError:
        job = None
    if job is None or not job.active:
        st.rerun()  # once: the page settles into the final view and stops polling
    draw_active(job)


def _header(job: Job) -> None:
    study, seeds = job.extra["study"], job.extra["seeds"]
    st.subheader(f"Results: {study.title}", anchor=False)
    st.caption(plain(study.settings_note() + (f"; each run repeated over seeds {', '.join(map(str, seeds))}"
                                              if len(seeds) > 1 else "")))


def draw_active(job: Job) -> None:
    """Progress bar, ETA, Cancel, and the results of the runs finished so far."""
    _header(job)
    snapshot = job.extra["progress"].snapshot()
    stopping = job.stop_event.is_set()
    row = st.container(horizontal=True, vertical_alignment="bottom")
    if job.state == QUEUED:
        position = get_jobs().queue_position(job)
        row.info(f"Waiting for a free training slot (number {position or 1} in line). "
                 "The page stays usable meanwhile.", icon=":material/hourglass_top:")
    else:
        row.progress(min(max(snapshot["fraction"], 0.0), 1.0), text=_progress_text(snapshot, stopping))
    row.button("Cancel", key="cancel_experiment", icon=":material/stop:", on_click=_cancel, args=(job.job_id,),
               disabled=stopping, width="content",
               help="Stop the current run now and start no more; finished runs are kept.")
    if snapshot["current_batches"]:
        st.altair_chart(live_loss_chart(snapshot["current_batches"], snapshot["current_label"] or ""),
                        width="stretch", height=210)
    if snapshot["rows"]:
        draw_results(job.extra["study"], snapshot["rows"], live=True)


def live_loss_chart(batches: list[dict], label: str) -> alt.Chart:
    """The running run's training loss, step by step (wild losses clipped at the top)."""
    data = pd.DataFrame([{"step": b["step"], "loss": min(b["loss"], LOSS_CAP)} for b in batches[-300:]
                         if np.isfinite(b["loss"])], columns=["step", "loss"])
    return alt.Chart(data).mark_line(strokeWidth=2, color=PALETTE[0]).encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("loss:Q", title=None, scale=alt.Scale(zero=True)),
    ).properties(height=150, title=f"Now training: {label}")


def _progress_text(snapshot: dict, stopping: bool) -> str:
    done, total = snapshot["done"], snapshot["total"]
    if stopping:
        return f"Cancelling: {done} of {total} runs finished…"
    current = snapshot["current"]
    what = f"run {current + 1} of {total}: {snapshot['current_label']}" if current is not None else (
        f"{done} of {total} runs finished")
    return f"{what[:1].upper()}{what[1:]} · about {format_duration(snapshot['eta_seconds'])} left"


def draw_finished(job: Job) -> None:
    _header(job)
    if job.state == CANCELLED:
        st.info("Cancelled before it started: it was still waiting for a training slot.", icon=":material/cancel:")
        return
    if job.state == FAILED or job.result is None:
        st.error(plain(job.error or "The experiment failed."), icon=":material/error:")
        return
    rows: list[ex.RunRow] = job.result
    snapshot = job.extra["progress"].snapshot()
    if snapshot["cancelled"]:
        st.warning(f"Cancelled after {len(rows)} of {snapshot['total']} runs.", icon=":material/stop_circle:")
    if job.save_error:
        st.warning(plain(job.save_error), icon=":material/save:")
    draw_results(job.extra["study"], rows, live=False)


# --- drawing results -------------------------------------------------------------

def draw_results(study: ex.Study, rows: list[ex.RunRow], live: bool) -> None:
    """Takeaway, table, accuracy bars, overlaid curves, study extras and the CSV download."""
    summaries = ex.summarize(rows)
    if not live:
        st.success(plain(ex.takeaway(study, rows)), icon=":material/lightbulb:")
    table = results_table(study, summaries)
    st.dataframe(table, hide_index=True, width="stretch", column_config=column_formats(table))
    left, right = st.columns(2)
    with left:
        # An explicit height: Streamlit's "content" height squeezes a layered chart with a discrete y axis.
        st.altair_chart(accuracy_bars(summaries), width="stretch",
                        height=bars_height(len(summaries), legend=len({x["group"] for x in summaries}) > 1))
    with right:
        groups = list(dict.fromkeys(r.group for r in rows))
        focus = ("" if not study.curve_epochs else " in the first epoch" if study.curve_epochs == 1
                 else f" in the first {study.curve_epochs} epochs")
        for group in groups:
            chart = loss_overlay([r for r in rows if r.group == group], epochs=study.curve_epochs, title=(
                f"Training loss{focus} · {group}" if group else f"Training loss{focus}, each run"))
            if chart is not None:
                st.altair_chart(chart, width="stretch")
    if "templates" in study.views:
        draw_templates(rows)
    if "parameters" in study.views:
        st.altair_chart(parameters_chart(summaries), width="stretch")
    if "generalization" in study.views:
        st.altair_chart(epoch_curves(rows, "final_val", "Training vs validation loss"), width="stretch")
    if "test-loss" in study.views:
        st.altair_chart(epoch_curves(rows, "test", "Training vs test loss"), width="stretch")
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
    reported = REPORTED.get(study.name, {})
    lines = []
    for s in summaries:
        line = {}
        if any(x["group"] for x in summaries):
            line["model"] = s["group"]
        line[study.knob_label] = s["label"]
        line["test acc. %"] = _percent(s["test_accuracy"])
        if repeated:
            line["± (std, seeds)"] = _percent(s["test_accuracy_std"])
        if reported:
            line["reported %"] = reported.get(s["value"])
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


def _run_name(summary_or_row) -> str:
    group = summary_or_row["group"] if isinstance(summary_or_row, dict) else summary_or_row.group
    label = summary_or_row["label"] if isinstance(summary_or_row, dict) else summary_or_row.label
    return f"{group} · {label}" if group else label


def accuracy_bars(summaries: list[dict]) -> alt.LayerChart:
    """Final test accuracy of each run (mean over seeds, with the min–max range when repeated)."""
    data = pd.DataFrame([{
        "run": _run_name(s), "group": s["group"] or "all", "accuracy": s["test_accuracy"] or 0.0,
        "low": s["test_accuracy_min"], "high": s["test_accuracy_max"],
        "label_x": max(s["test_accuracy_max"] or 0.0, s["test_accuracy"] or 0.0),
        "text": "diverged" if s["status"] == "diverged" else _pct_text(s["test_accuracy"])} for s in summaries])
    order = list(data["run"])
    groups = list(dict.fromkeys(data["group"]))
    y = alt.Y("run:N", sort=order, title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False))
    base = alt.Chart(data).encode(y=y)
    bars = base.mark_bar().encode(
        x=alt.X("accuracy:Q", title="test accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("group:N", title=None, legend=None if len(groups) == 1 else alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=groups, range=PALETTE[:len(groups)])),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("accuracy:Q", format=".1%", title="test accuracy")])
    # Right of the bar, or of its min-max whisker when runs were repeated over seeds.
    labels = base.mark_text(align="left", dx=4).encode(x="label_x:Q", text="text:N")
    layers = [bars, labels]
    if any(s["seeds"] > 1 for s in summaries):
        layers.append(base.mark_rule(color="#1B1F24").encode(x="low:Q", x2="high:Q"))
    return alt.layer(*layers).properties(height=26 * max(len(data), 2), title="Final test accuracy")


def bars_height(bars: int, legend: bool = False) -> int:
    """Pixels for the accuracy bars: 26 px a bar plus title and axis (and a legend below)."""
    return 100 + 26 * max(bars, 2) + (40 if legend else 0)


def _pct_text(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def loss_overlay(rows: list[ex.RunRow], title: str, epochs: int = 0) -> alt.Chart | None:
    """Training loss of each run on a shared epoch axis (first seed only; wild losses clipped).

    With `epochs`, only the first that many epochs are drawn.
    """
    first_seed = min(r.seed for r in rows)
    data = []
    for row in rows:
        if row.seed != first_seed or not row.history:
            continue
        for point in curve_rows(row.history, row.steps_per_epoch, max_points=150):
            if point["metric"] == "loss" and point["split"] == "training" and (
                    not epochs or point["epoch"] <= epochs):
                data.append({"run": row.label, "epoch": point["epoch"], "loss": min(point["value"], LOSS_CAP)})
    if not data:
        return None
    runs = list(dict.fromkeys(d["run"] for d in data))
    top = max(d["loss"] for d in data)  # the cap, or less when every run stays below it
    chart = alt.Chart(pd.DataFrame(data)).mark_line(strokeWidth=2).encode(
        x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(domainMin=0, nice=False)),
        y=alt.Y("loss:Q", title=None, scale=alt.Scale(domain=[0, top], clamp=True, nice=True)),
        color=alt.Color("run:N", title=None, sort=runs,
                        scale=alt.Scale(domain=runs, range=[PALETTE[i % len(PALETTE)] for i in range(len(runs))]),
                        legend=alt.Legend(orient="right", labelLimit=160)),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("loss:Q", format=".3f")])
    subtitle = f"losses above {LOSS_CAP:.1f} are drawn at the top edge" if top >= LOSS_CAP else ""
    return chart.properties(height=220, title=alt.TitleParams(title, subtitle=subtitle))


def epoch_curves(rows: list[ex.RunRow], other: str, title: str) -> alt.Chart:
    """Per-epoch training loss (dashed) against validation or test loss (solid), one colour per run."""
    first_seed = min(r.seed for r in rows)
    name = "validation" if other == "final_val" else "test"
    data = []
    for row in rows:
        if row.seed != first_seed:
            continue
        epochs = row.history.get("epochs") or []
        others = row.test_loss_curve if other == "test" else [e["val_loss"] for e in epochs]
        for event, value in zip(epochs, others):
            data.append({"run": row.label, "epoch": event["epoch"], "split": "training", "loss": event["train_loss"]})
            if value is not None:
                data.append({"run": row.label, "epoch": event["epoch"], "split": name, "loss": value})
    runs = list(dict.fromkeys(d["run"] for d in data))
    return alt.Chart(pd.DataFrame(data, columns=["run", "epoch", "split", "loss"])).mark_line(strokeWidth=2).encode(
        x=alt.X("epoch:Q", title="epoch"),
        y=alt.Y("loss:Q", title=None),
        color=alt.Color("run:N", title=None, sort=runs,
                        scale=alt.Scale(domain=runs, range=[PALETTE[i % len(PALETTE)] for i in range(len(runs))])),
        strokeDash=alt.StrokeDash("split:N", title=None, sort=["training", name],
                                  scale=alt.Scale(domain=["training", name], range=[[5, 3], [1, 0]])),
        tooltip=["run:N", "split:N", "epoch:Q", alt.Tooltip("loss:Q", format=".3f")],
    ).properties(height=300, title=alt.TitleParams(
        title, subtitle=f"dashed: training images · solid: {name} images, never trained on"))


def parameters_chart(summaries: list[dict]) -> alt.LayerChart:
    """Test accuracy against parameter count (log scale), one colour per number of hidden layers."""
    data = pd.DataFrame([{"run": s["label"], "parameters": s["parameters"], "accuracy": s["test_accuracy"],
                          "layers": (f"{len(s['value'])} hidden layer{'s' if len(s['value']) > 1 else ''}"
                                     if isinstance(s["value"], tuple) else "")}
                         for s in summaries if s["parameters"] and s["test_accuracy"] is not None])
    kinds = sorted(set(data["layers"])) if len(data) else []
    base = alt.Chart(data).encode(
        x=alt.X("parameters:Q", title="parameters (log scale)", scale=alt.Scale(type="log")),
        y=alt.Y("accuracy:Q", title="test accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False)),
        tooltip=["run:N", alt.Tooltip("parameters:Q", format=","), alt.Tooltip("accuracy:Q", format=".1%")])
    points = base.mark_point(filled=True, size=110).encode(
        color=alt.Color("layers:N", title=None, scale=alt.Scale(domain=kinds, range=PALETTE[:len(kinds)]),
                        legend=alt.Legend(orient="bottom-right") if len(kinds) > 1 else None),
        shape=alt.Shape("layers:N", legend=None))
    labels = base.mark_text(align="left", dx=9, dy=-7).encode(text="run:N")
    return alt.layer(points, labels).properties(height=280, title="Accuracy against parameter count")


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
        left.markdown(f"**{plain(row.label)}**  \n{_pct_text(row.test_accuracy)}")
        with right:
            show_picture(sheet)
    show_picture(colour_legend(limit), caption="the same colour scale for every row")
