"""Run history's "Is this gap real?": two runs that differ in one setting, 3 more seeds of each, a verdict.

The extra seeds run as one study job in the shared queue (the "gap" study of
mnist_core/gap_test.py): the same new seeds for both settings, so the batch
order matches. The verdict is Welch's t-test over all seeds of each setting.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from mnist_core.config import ConfigError
from mnist_core.experiments.studies import value_text
from mnist_core.gap_test import EXTRA_SEEDS, GAP_STUDY, differing_settings, gap_verdict, shared_new_seeds
from mnist_core.jobs import JobError
from mnist_core.runs import RunInfo

from .job_view import SLOW, job_view, my_job
from .identity import current_owner
from .session import get_data, get_jobs
from .text import plain

GAP_JOB_KEY = "gap_job"  # session_state: {"pair": (run A, run B), "job": job id}


def _accuracies(info: RunInfo, rows, value: str) -> list[float]:
    extra = [r.test_accuracy for r in rows if r.value == value and r.test_accuracy is not None]
    return ([info.test_accuracy] if info.test_accuracy is not None else []) + extra


def _verdict_view(a: RunInfo, b: RunInfo, label_a: str, label_b: str):
    def draw(job) -> None:
        rows = job.result or []
        acc_a, acc_b = _accuracies(a, rows, "A"), _accuracies(b, rows, "B")
        verdict = gap_verdict(acc_a, acc_b)
        (st.success if verdict.real else st.info)(plain(verdict.sentence(label_a, label_b)),
                                                  icon=":material/balance:")
        seeds = [a.config.seed, *sorted({r.seed for r in rows})]
        st.dataframe(pd.DataFrame({"seed": seeds[:max(len(acc_a), len(acc_b))],
                                   f"{label_a} test acc. %": [round(100 * x, 2) for x in acc_a]
                                   + [None] * (max(len(acc_a), len(acc_b)) - len(acc_a)),
                                   f"{label_b} test acc. %": [round(100 * x, 2) for x in acc_b]
                                   + [None] * (max(len(acc_a), len(acc_b)) - len(acc_b))}),
                     hide_index=True)
        st.caption(f"The first line is each chosen run (run B's own seed was {b.config.seed}); the others are "
                   "the new seeds, shared by both settings.")
    return draw


def _running(job) -> None:
    snapshot = job.progress.snapshot()
    st.progress(snapshot["fraction"], text=f"Training {EXTRA_SEEDS} more seeds of each: "
                                           f"{snapshot['done']} of {snapshot['total']} runs done.")


def gap_panel(runs: list[RunInfo], labels: dict[str, str]) -> None:
    """Pick two runs; say what differs and the gap; one click for 3 more seeds of each; the verdict."""
    st.subheader("Is this gap real?")
    if len(runs) < 2:
        st.caption("Train two runs that differ in one setting to test whether their gap is more than luck.")
        return
    by_id = {r.run_id: r for r in runs}
    ids = list(by_id)
    left, right = st.columns(2)
    a_id = left.selectbox("Run A", ids, index=0, format_func=labels.get, key="gap_a")
    b_id = right.selectbox("Run B", ids, index=1, format_func=labels.get, key="gap_b")
    a, b = by_id[a_id], by_id[b_id]
    if a_id == b_id:
        st.caption("Pick two different runs.")
        return
    differing = differing_settings(a.config, b.config)
    if not differing:
        st.info(f"These two runs have the same settings; only the seed differs ({a.config.seed} and "
                f"{b.config.seed}), so any gap between them is seed noise.", icon=":material/info:")
        return
    if len(differing) > 1:
        names = ", ".join(name for name, _, _ in differing)
        st.info(plain(f"They differ in {len(differing)} settings ({names}), so a gap cannot be put down to one "
                      "of them: pick two runs that differ in one setting."), icon=":material/info:")
        return
    name, value_a, value_b = differing[0]
    label_a, label_b = f"{name} {value_text(value_a)}", f"{name} {value_text(value_b)}"
    if a.test_accuracy is None or b.test_accuracy is None:
        st.info("One of the two runs has no test accuracy (it stopped or diverged).", icon=":material/info:")
        return
    gap = 100 * (a.test_accuracy - b.test_accuracy)
    st.markdown(plain(f"They differ in one setting, {name}: {label_a} (A) and {label_b} (B). Test accuracy "
                      f"{100 * a.test_accuracy:.2f}% and {100 * b.test_accuracy:.2f}%: a gap of {gap:+.2f} points."))
    stored = st.session_state.get(GAP_JOB_KEY) or {}
    job = my_job(stored.get("job")) if tuple(stored.get("pair", ())) == (a_id, b_id) else None
    if job is None:
        if st.button(f"Train {EXTRA_SEEDS} more seeds of each", key="gap_train", icon=":material/casino:",
                     help="Runs go through the training queue; each new seed is used by both settings, so "
                          "both see the images in the same order. Then Welch's t-test says whether the gap "
                          "is larger than seed noise."):
            seeds = shared_new_seeds([a.config.seed, b.config.seed])
            options = {"a": a.config.to_dict(), "b": b.config.to_dict(), "label_a": label_a, "label_b": label_b}
            try:
                job = get_jobs().submit_study(GAP_STUDY, get_data(), owner=current_owner(), seeds=tuple(seeds),
                                              options=options)
            except (JobError, ConfigError) as error:
                st.error(plain(str(error)), icon=":material/error:")
                return
            st.session_state[GAP_JOB_KEY] = {"pair": (a_id, b_id), "job": job.job_id}
            st.rerun()
        return
    job_view(job, running=_running, finished=_verdict_view(a, b, label_a, label_b), refresh=SLOW, key="gap")
