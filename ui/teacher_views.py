"""The teacher console's parts: unlock, the live class board, lessons, students, control and data care.

pages/teacher.py lays these out in tabs. Everything the console changes goes
through mnist_core (classroom, lessons, caps, class_data, the job queue); the
console acts as the teacher, the one user who may change anyone's runs.
"""
from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from mnist_core.caps import Caps, CapError, class_caps, set_class_caps
from mnist_core.chart_summaries import board_summary, guesses_summary
from mnist_core.class_board import LiveRun, board_csv, board_rows, mean_guess_error
from mnist_core.class_data import backup_zip, erase_student, reset_class
from mnist_core.classroom import DEFAULT_CLASS_CODE, TEACHER_PIN_ENV, ClassroomError, TeacherPinNotSetError
from mnist_core.config import TrainConfig
from mnist_core.lessons import BOARD_X_CHOICES, CONTROLS, FREE, HIDDEN, LOCKED, MODES, Lesson

from .charts.class_board import class_board_chart, display_names, guesses_chart
from .identity import TEACHER_CLASS_KEY, get_classroom, lesson_book, lock_teacher, teacher_unlocked, unlock_teacher
from .projector import chart_summary, projector_on
from .session import get_jobs, get_store
from .text import plain

BOARD_REFRESH = 2.0  # seconds between board redraws while the console is open
MODE_LABELS = {FREE: "students move it", LOCKED: "shown, locked", HIDDEN: "hidden"}


# --- unlocking ------------------------------------------------------------------------------
def unlock_or_stop() -> None:
    """The PIN form, until the teacher PIN is given (st.stop() until then)."""
    if teacher_unlocked():
        return
    st.subheader("Unlock the console")
    pin = st.text_input("Teacher PIN", type="password", key="teacher_pin", max_chars=40)
    if st.button("Unlock", key="teacher_unlock", type="primary", icon=":material/lock_open:"):
        try:
            get_classroom().teacher_sign_in(pin)
        except TeacherPinNotSetError as error:
            st.info(plain(str(error)), icon=":material/key:")
        except ClassroomError as error:
            st.error(plain(str(error)))
        else:
            st.session_state.pop("teacher_pin", None)
            unlock_teacher()
            st.rerun()
    import os
    if not os.environ.get(TEACHER_PIN_ENV):
        st.info(f"The console is off on this server: it has no teacher PIN. Stop the server and start it with "
                f"the environment variable {TEACHER_PIN_ENV} set to a PIN of your choice, for example "
                f"`{TEACHER_PIN_ENV}=4821 streamlit run app.py`. There is no default PIN.", icon=":material/key:")
    st.stop()


def choose_class() -> str:
    """The class the console shows (a picker, and a way to create one); returns its code."""
    room = get_classroom()
    classes = room.list_classes()
    codes = [c.code for c in classes]
    names = {c.code: (c.name if c.code == DEFAULT_CLASS_CODE else f"{c.name} · code {c.code}") for c in classes}
    if st.session_state.get(TEACHER_CLASS_KEY) not in codes:
        st.session_state[TEACHER_CLASS_KEY] = codes[0]
    with st.container(horizontal=True, vertical_alignment="bottom"):
        code = st.selectbox("Class", codes, format_func=names.get, key=TEACHER_CLASS_KEY)
        new_name = st.text_input("New class", key="new_class_name", max_chars=30, placeholder="e.g. Maths 9B")
        if st.button("Create class", key="create_class", icon=":material/add:"):
            try:
                created = room.create_class(new_name)
            except ClassroomError as error:
                st.error(plain(str(error)))
            else:
                st.session_state["teacher_class_pending"] = created.code
                st.rerun()
        st.button("Lock the console", key="teacher_lock", type="tertiary", on_click=lock_teacher)
    if code != DEFAULT_CLASS_CODE:
        st.markdown(f"Students join with the code **{plain(code)}**.")
    else:
        st.caption("Students who leave the class code empty join this class.")
    return code


def adopt_new_class() -> None:
    """Select a class created on the previous run (a widget's key cannot change after it is drawn)."""
    pending = st.session_state.pop("teacher_class_pending", None)
    if pending:
        st.session_state[TEACHER_CLASS_KEY] = pending


# --- the class board ------------------------------------------------------------------------
def live_runs(code: str) -> list[LiveRun]:
    """The class's runs still training, from the job queue."""
    owners = {s.owner for s in get_classroom().students(code)}
    runs = []
    for job in get_jobs().all_jobs():
        if job.kind != "train" or not job.active or job.owner not in owners:
            continue
        epochs = job.progress.snapshot()["epochs"]
        val = epochs[-1].get("val_accuracy") if epochs else None
        runs.append(LiveRun(job.owner, job.config, val, dict(job.spec.options.get("extra") or {})))
    return runs


def _reveal(code: str, reveal: bool) -> None:
    get_classroom().set_reveal_names(code, reveal)


def class_board(code: str) -> None:
    """The live board: a fragment that redraws every BOARD_REFRESH seconds."""
    lesson = lesson_book().current(code)
    default_x = lesson.board_x if lesson else "lr"
    setting = st.selectbox("x-axis", BOARD_X_CHOICES, index=BOARD_X_CHOICES.index(default_x),
                           key=f"board_x_{code}", help="The setting each dot is placed by; a lesson "
                           "chooses its knob.")
    reveal = get_classroom().get_class(code).reveal_names
    st.button("Hide names" if reveal else "Reveal", key="board_reveal", on_click=_reveal, args=(code, not reveal),
              icon=":material/visibility:", type="secondary" if reveal else "primary",
              help="Names stay hidden (Student 1, 2, ...) until you reveal them.")
    _board_fragment(code, setting)


@st.fragment(run_every=BOARD_REFRESH)
def _board_fragment(code: str, setting: str) -> None:
    room = get_classroom()
    reveal = room.get_class(code).reveal_names
    rows = board_rows(get_store(), room, code, setting, live_runs(code))
    projector = projector_on()
    st.altair_chart(class_board_chart(rows, setting, reveal, projector), width="stretch", key="class_board_chart")
    chart_summary(board_summary(rows, setting) + (" Hollow dots are still training." if any(r.training for r in rows)
                                                  else ""), always=True)
    st.download_button("Download the board (CSV)", board_csv(rows, setting, reveal), file_name=f"board-{code}.csv",
                       mime="text/csv", icon=":material/download:", key="board_csv")
    st.subheader("Guesses against outcomes")
    error = mean_guess_error(rows)
    scored = [r for r in rows if r.score is not None]
    if scored:
        st.metric("Class's mean error", f"{error:g} points")
        st.altair_chart(guesses_chart(rows, reveal, projector), width="stretch", key="guesses_chart")
    chart_summary(guesses_summary(rows, error), always=True)
    if rows:
        # A plain HTML table (not a canvas grid): readable on a projector and by a screen reader.
        names = display_names(rows, reveal)
        st.table(pd.DataFrame([{
            "Student": name, setting: str(r.x),
            "Validation accuracy": "" if r.val_accuracy is None else f"{100 * r.val_accuracy:.1f}%",
            "Run": "still training" if r.training else r.status,
            "Guess": "" if r.guess is None else f"{100 * r.guess:.0f}%",
            "Diverge guess": "" if r.guess_diverges is None else ("yes" if r.guess_diverges else "no"),
            "Score": "" if r.score is None else f"{r.score:g}"} for name, r in zip(names, rows)]).set_index("Student"))


# --- lessons ----------------------------------------------------------------------------------
def lessons_editor(code: str, sidebar_config: TrainConfig | None) -> None:
    book = lesson_book()
    lessons = book.lessons(code)
    current = book.current(code)
    st.markdown(f"Current lesson: **{plain(current.name) if current else 'none (every control free)'}**")
    names = [lesson.name for lesson in lessons]
    base_name = st.selectbox("Start from", names, key=f"lesson_base_{code}")
    base = lessons[names.index(base_name)]
    if base.guide:
        st.info(plain(base.guide), icon=":material/school:")
    cols = st.columns(3)
    modes = {}
    for i, control in enumerate(CONTROLS):
        modes[control] = cols[i % 3].selectbox(control, MODES, index=MODES.index(base.mode(control)),
                                               format_func=MODE_LABELS.get, key=f"lesson_mode_{code}_{base_name}_{control}")
    use_sidebar = st.checkbox("Lock at the values of my sidebar", value=False, key="lesson_use_sidebar",
                              disabled=sidebar_config is None,
                              help="Otherwise locked and hidden controls keep the lesson's values.")
    values = dict(base.values)
    if use_sidebar and sidebar_config is not None:
        full = dataclasses.asdict(sidebar_config)
        values = {c: full[c] for c in CONTROLS if c in full}
        values["hidden"] = sidebar_config.hidden_sizes or None
    guesses = st.checkbox("Students guess before Train", value=base.guesses, key=f"lesson_guesses_{code}_{base_name}")
    board_x = st.selectbox("Board x-axis", BOARD_X_CHOICES, index=BOARD_X_CHOICES.index(base.board_x),
                           key=f"lesson_board_x_{code}_{base_name}")
    name = st.text_input("Lesson name", value=base.name, max_chars=30, key=f"lesson_name_{code}_{base_name}")
    with st.container(horizontal=True):
        save = st.button("Save and make current", key="lesson_save", type="primary", icon=":material/save:")
        st.button("No lesson", key="lesson_none", on_click=book.set_current, args=(code, None),
                  help="Every control free again.")
    if save:
        try:
            lesson = book.save(code, Lesson(name=name, guide=base.guide, modes=modes, values=values,
                                            guesses=guesses, board_x=board_x))
            book.set_current(code, lesson.name)
        except ClassroomError as error:
            st.error(plain(str(error)))
        else:
            st.success(plain(f"“{lesson.name}” is the current lesson: every student's sidebar follows within a "
                             "few seconds."))


# --- students -----------------------------------------------------------------------------------
def students_panel(code: str) -> None:
    room, store = get_classroom(), get_store()
    students = room.students(code)
    if not students:
        st.caption("No student has joined this class yet.")
        return
    runs_per_owner = {}
    for info in store.list():
        runs_per_owner[info.owner] = runs_per_owner.get(info.owner, 0) + 1
    st.dataframe(pd.DataFrame([{"Name": s.name, "Runs": runs_per_owner.get(s.owner, 0),
                                "PIN set": "yes" if s.has_pin else "no (filed from the CLI)"} for s in students]),
                 hide_index=True)
    by_name = {s.name: s for s in students}
    who = st.selectbox("Student", list(by_name), key=f"student_pick_{code}")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        new_pin = st.text_input("New PIN", type="password", max_chars=4, key="reset_pin_value")
        if st.button("Reset PIN", key="reset_pin", icon=":material/password:"):
            try:
                room.reset_pin(code, who, new_pin)
            except ClassroomError as error:
                st.error(plain(str(error)))
            else:
                st.success(plain(f"{who} can sign in with the new PIN now."))
    if st.session_state.get("confirm_erase") != who:
        if st.button(f"Erase {who}", key="erase_student", icon=":material/person_remove:"):
            st.session_state["confirm_erase"] = who
            st.rerun()
        return
    st.warning(plain(f"Erase {who} for good: their name, PIN, runs and drawings?"))
    yes, no = st.columns(2)
    if yes.button("Yes, erase", key="erase_yes", type="primary"):
        student = by_name[who]
        job = get_jobs().active_job(student.owner)
        if job is not None:
            job.stop()
        done = erase_student(room, store, student)
        st.session_state.pop("confirm_erase", None)
        st.success(plain(f"Erased {done['student']}: {done['runs']} runs and {done['drawings']} drawings."))
    if no.button("Cancel", key="erase_no"):
        st.session_state.pop("confirm_erase", None)
        st.rerun()


# --- control ------------------------------------------------------------------------------------
def control_panel(code: str) -> None:
    room, jobs = get_classroom(), get_jobs()
    active = [j for j in jobs.all_jobs() if j.active]
    names = {s.owner: s.name for s in room.students(code)}
    stats = jobs.stats()
    st.markdown(f"{stats['running']} running, {stats['waiting']} waiting, {stats['slots']} training "
                f"slot{'s' if stats['slots'] != 1 else ''}.")
    if active:
        labels = {j.job_id: f"{names.get(j.owner, 'someone outside this class')} · {j.label} · {j.state}"
                  for j in active}
        chosen = st.selectbox("Job", list(labels), format_func=lambda i: plain(labels[i]), key="control_job")
        with st.container(horizontal=True):
            if st.button("Stop this job", key="control_stop", icon=":material/stop:"):
                next(j for j in active if j.job_id == chosen).stop()
                st.rerun()
            if st.button("Clear the queue", key="control_clear", icon=":material/clear_all:",
                         help="Cancel every job still waiting; running ones go on."):
                st.success(f"Cancelled {jobs.clear_queue()} waiting jobs.")
    else:
        st.caption("No job is queued or running.")
    st.markdown("**Caps for each student of this class**")
    caps = class_caps(room, code)
    c1, c2, c3 = st.columns(3)
    new = Caps(
        training_jobs_per_student=int(c1.number_input("Training runs at once", 1, 10, caps.training_jobs_per_student, key="cap_train")),
        studies_per_student=int(c1.number_input("Studies at once", 1, 10, caps.studies_per_student, key="cap_study")),
        max_parameters=int(c2.number_input("Largest model (parameters)", 10_000, 100_000_000, caps.max_parameters,
                                           step=100_000, key="cap_params")),
        max_epochs=int(c2.number_input("Epochs per run", 1, 200, caps.max_epochs, key="cap_epochs")),
        max_queued_jobs=int(c3.number_input("Jobs waiting on the server", 1, 1000, caps.max_queued_jobs, key="cap_queue")),
        min_free_bytes=int(c3.number_input("Free disk kept (MB)", 0, 1_000_000, caps.min_free_bytes // 1_000_000,
                                           key="cap_free")) * 1_000_000,
        quota_bytes_per_student=int(c3.number_input("Disk per student (MB)", 1, 100_000,
                                                    caps.quota_bytes_per_student // 1_000_000, key="cap_quota")) * 1_000_000,
    )
    if st.button("Save caps", key="caps_save", icon=":material/save:"):
        try:
            set_class_caps(room, code, new)
        except CapError as error:
            st.error(plain(str(error)))
        else:
            st.success("Caps saved; they apply to the next run each student starts.")


# --- care of the class's data -------------------------------------------------------------------------
def data_panel(code: str) -> None:
    room, store = get_classroom(), get_store()
    if st.button("Prepare a backup of this class", key="class_backup_prepare", icon=":material/archive:",
                 help="Names, lessons, caps, every student's runs and drawings; no PINs."):
        st.session_state["class_backup"] = (code, backup_zip(room, store, code))
    prepared = st.session_state.get("class_backup")
    if prepared and prepared[0] == code:
        st.download_button("Download the backup (zip)", prepared[1], file_name=f"mnist-lab-{code}.zip",
                           mime="application/zip", icon=":material/download:", key="class_backup_download")
    st.caption("Nothing leaves the server otherwise.")
    st.markdown("**End of term**")
    typed = st.text_input(f"Type {code} to confirm", key="reset_confirm", max_chars=12)
    if st.button("Reset this class", key="class_reset", icon=":material/delete_forever:",
                 disabled=typed.strip().upper() != code,
                 help="Erases every student of the class with their runs and drawings, its own lessons and caps."):
        for job in get_jobs().all_jobs():
            if job.active and room.student_by_owner(job.owner) and room.student_by_owner(job.owner).class_code == code:
                job.stop()
        done = reset_class(room, store, code)
        st.success(f"The class is empty: {done['students']} students, {done['runs']} runs and "
                   f"{done['drawings']} drawings erased.")
