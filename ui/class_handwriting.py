"""The Draw page's class handwriting test set: how the chosen model reads the drawings the class saved.

Drawings are saved from the drawing area (ui/draw_views.py's `save_panel`) into a
mnist_core.handwriting.HandwritingStore beside the run store. This module scores a
model on all of them, per digit, and shows the drawings it misreads.
"""
from __future__ import annotations

import base64

import pandas as pd
import streamlit as st

from mnist_core.chart_summaries import per_digit_summary
from mnist_core.handwriting import HandwritingError, HandwritingReport, HandwritingStore, evaluate_examples
from mnist_core.pictures import digit_png
from mnist_core.runs import RunStoreError

from .charts.draw import per_digit_chart
from .charts.palette import VERMILLION
from .draw_views import FLASH_KEY, handwriting_store
from .identity import current_owner, get_classroom, teacher_unlocked
from .projector import chart_summary
from .session import get_store
from .text import plain


def _folder_stamp(store: HandwritingStore) -> int:
    try:
        return store.folder.stat().st_mtime_ns  # changes whenever an example is added or removed
    except FileNotFoundError:
        return 0


# Cached per folder state (its modification time changes with every save or delete), so a
# stroke on the canvas never re-reads hundreds of files. Shared read-only by every session.
@st.cache_resource(show_spinner=False, max_entries=4)
def _examples(runs_root: str, stamp: int):
    store = HandwritingStore(runs_root)
    return store.list(), store.problems


@st.cache_resource(show_spinner=False, max_entries=32)
def _evaluate(run_id: str, runs_root: str, stamp: int, _model) -> HandwritingReport:
    examples, _ = _examples(runs_root, stamp)
    return evaluate_examples(_model, examples)


def _mnist_accuracy(run_id: str) -> float | None:
    try:
        return get_store().get(run_id).test_accuracy
    except RunStoreError:  # a run deleted meanwhile: the class figure still stands alone
        return None


def _misread_html(examples, report: HandwritingReport, limit: int = 24) -> str:
    tiles = []
    for example, predicted in zip(examples, report.predicted):
        if predicted == example.label:
            continue
        picture = base64.b64encode(digit_png(example.image, scale=2)).decode("ascii")
        tiles.append(f'<div style="text-align:center;font-size:0.85rem;"><img src="data:image/png;base64,{picture}" '
                     f'width="56" height="56" style="image-rendering:pixelated;" alt="drawn {example.label}"><br>'
                     f'{example.label} → <b style="color:{VERMILLION}">{int(predicted)}</b></div>')
    shown = tiles[-limit:]  # the newest mistakes
    return '<div style="display:flex;flex-wrap:wrap;gap:8px;">' + "".join(shown) + "</div>"


def _delete_my_last(example_id: str) -> None:
    try:
        handwriting_store().delete(example_id, owner=current_owner())
        st.session_state[FLASH_KEY] = "Your last saved drawing was removed from the class set."
    except HandwritingError as error:
        st.session_state[FLASH_KEY] = str(error)


def handwriting_report(model, run_id: str | None, run_name: str = "") -> None:
    """How the chosen model reads the class's saved drawings, overall and per digit."""
    st.subheader("The class handwriting test set", anchor=False)
    store = handwriting_store()
    stamp = _folder_stamp(store)
    examples, problems = _examples(str(get_store().root), stamp)
    if problems:
        st.warning(f"{len(problems)} saved example file(s) could not be read and are left out: {problems[0]}")
    if not examples:
        st.caption("No drawings saved yet. Draw a digit, choose its label and press **Save as test example**: "
                   "together the class builds a test set of its own handwriting.")
        return
    people = len({e.owner for e in examples})
    mine = [e for e in examples if e.owner == current_owner()]
    summary = (f"{len(examples)} drawing{'s' if len(examples) != 1 else ''} by {people} "
               f"{'person' if people == 1 else 'people'} ({len(mine)} yours).")
    if model is None:
        st.caption(summary + " Train a model to see how well it reads them.")
        return
    report = _evaluate(run_id, str(get_store().root), stamp, model)
    left, right = st.columns([1, 2.4], gap="large")
    with left:
        st.metric("Read correctly", f"{100 * report.accuracy:.0f}%",
                  help=f"Share of the class's drawings that “{run_name}” reads as the digit its author "
                       "meant. MNIST's own test set is a different handwriting: compare the two.")
        mnist_accuracy = _mnist_accuracy(run_id)
        if mnist_accuracy is not None:
            st.metric("MNIST test, for comparison", f"{100 * mnist_accuracy:.1f}%",
                      help="The same model on MNIST's 10,000 test digits (written in the 1990s by "
                           "American census staff and students).")
        st.caption(summary)
        missing = [str(d) for d in range(10) if report.support[d] == 0]
        if missing:
            st.caption(f"Nobody has saved a {', '.join(missing)} yet.")
        if mine:
            st.button("Delete my last saved drawing", key="draw_delete_last", icon=":material/undo:",
                      on_click=_delete_my_last, args=(mine[-1].example_id,),
                      help="Saved with the wrong label? Remove it from the class set.")
    with right:
        st.altair_chart(per_digit_chart(report), width="stretch", key="draw_class_per_digit")
        chart_summary(per_digit_summary(report.per_digit_accuracy, report.support))
    wrong = int(report.count - round(report.accuracy * report.count))
    if wrong:
        st.markdown(f"**Misread drawings** ({wrong}): drawn → read")
        st.html(_misread_html(examples, report))
    per_student_table(examples, report)
    fine_tune_panel(run_id, len(examples))


def per_student_table(examples, report: HandwritingReport) -> None:
    """Accuracy per person who drew: "you" and "student N" for students (as the board hides names
    until the teacher reveals them); the teacher, with the console unlocked, sees the names."""
    owners = list(dict.fromkeys(e.owner for e in examples))
    if len(owners) < 2 and owners and owners[0] == current_owner():
        return  # only your own drawings: the overall figure says it all
    me, room = current_owner(), get_classroom() if teacher_unlocked() else None
    rows, number = [], 0
    for owner in owners:
        picks = [i for i, e in enumerate(examples) if e.owner == owner]
        if owner != me:
            number += 1
        student = room.student_by_owner(owner) if room is not None else None
        right = sum(int(report.predicted[i]) == examples[i].label for i in picks)
        rows.append({"who": "you" if owner == me else (student.name if student else f"student {number}"),
                     "drawings": len(picks), "read correctly": f"{100 * right / len(picks):.0f}%"})
    st.markdown("**Per student**")
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def _fine_tune_outcome(job) -> None:
    outcome = job.result
    st.success(plain(f"Saved as a new run: “{outcome.run_name}”. Choose it above to draw with it."),
               icon=":material/check_circle:")
    table = pd.DataFrame({
        "test set": [f"class drawings held out ({outcome.held_out})", "MNIST test (10,000)"],
        "before": [_percent(outcome.before["drawings"]), _percent(outcome.before["mnist"])],
        "after": [_percent(outcome.after["drawings"]), _percent(outcome.after["mnist"])]})
    st.dataframe(table, hide_index=True)
    st.caption("The held-out fifth of the drawings was never trained on. A rise there with MNIST kept is the "
               "model adapting to this class's handwriting: a change of distribution, not of the task.")


def _percent(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def fine_tune_panel(run_id: str, count: int) -> None:
    """One click fine-tunes the chosen run on the class's drawings (a background job) and saves a new run."""
    from mnist_core.analysis_jobs import ANALYSIS
    from mnist_core.fine_tune import MIN_DRAWINGS
    from mnist_core.jobs import JobError

    from .job_view import SLOW, job_view
    from .session import data_or_stop, get_jobs

    st.markdown("**Fine-tune on our handwriting.** Train the model a little more on the class's drawings "
                "(a fifth held out, MNIST mixed in so nothing is forgotten) and compare before and after.")
    jobs = get_jobs()
    job = next((j for j in jobs.jobs_of(current_owner())
                if j.kind == ANALYSIS and j.spec.options.get("task") == "fine-tune"
                and j.spec.options.get("run_id") == run_id), None)
    if job is not None and job.active:
        job_view(job, running=_fine_tune_progress, finished=_fine_tune_outcome, refresh=SLOW, key="fine_tune")
        return
    if job is not None:
        job_view(job, running=_fine_tune_progress, finished=_fine_tune_outcome, key="fine_tune")
    if st.button("Fine-tune on our handwriting", icon=":material/tune:", key="draw_fine_tune",
                 disabled=count < MIN_DRAWINGS,
                 help=f"Needs at least {MIN_DRAWINGS} saved drawings." if count < MIN_DRAWINGS else
                 "Runs in the background; the tuned model is saved as a new run of yours."):
        try:
            jobs.submit_analysis("fine-tune", data_or_stop(), owner=current_owner(), run_id=run_id)
        except JobError as error:
            st.error(plain(str(error)))
            return
        st.rerun()


def _fine_tune_progress(job) -> None:
    snapshot = job.progress.snapshot()
    st.progress(snapshot["share"], text=plain(f"Fine-tuning: {snapshot['text']}…"))
