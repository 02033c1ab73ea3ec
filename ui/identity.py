"""Who acts in this browser session: a signed-in student, the teacher, or a quick-start token.

A student who joined a class with a name and PIN acts as their owner id
(`student-<n>`) for as long as this session lasts; the URL's `?user=` token
then acts for nobody but a quick start without a name. A reload is a new
session, so it asks for the name and PIN again. The teacher console is
unlocked per session with the teacher PIN.

`current_owner()` is what every page passes as the owner of runs, jobs and
drawings.
"""
from __future__ import annotations

import streamlit as st

from mnist_core.classroom import TEACHER_OWNER, Classroom, Student
from mnist_core.database import open_database
from mnist_core.lessons import LessonBook

from .session import runs_root, shared_for_root, user_token

STUDENT_KEY = "signed_in_student"  # session_state: the Student this session acts for
TEACHER_KEY = "teacher_unlocked"  # session_state: True once the teacher PIN was given
TEACHER_CLASS_KEY = "teacher_class"  # session_state: the class code the console shows


@st.cache_resource(show_spinner=False)
def _classroom_at(root: str) -> Classroom:
    return Classroom(open_database(root))


def get_classroom() -> Classroom:
    """The classes, names and lessons of this run store (one database for every session)."""
    return shared_for_root(_classroom_at, runs_root())


def lesson_book() -> LessonBook:
    return LessonBook(get_classroom())


def signed_in() -> Student | None:
    """The student this session acts for, or None (a quick start without a name)."""
    return st.session_state.get(STUDENT_KEY)


def sign_in_as(student: Student) -> None:
    st.session_state[STUDENT_KEY] = student
    st.session_state.pop("watched_job", None)  # a job of the quick-start token is not this student's


def sign_out() -> None:
    st.session_state.pop(STUDENT_KEY, None)
    st.session_state.pop("watched_job", None)


def current_owner() -> str:
    """The owner id of everything this session makes: the student's, or the quick-start token."""
    student = signed_in()
    return student.owner if student is not None else user_token()


def current_class_code() -> str | None:
    """The class this session belongs to (None: the default class)."""
    student = signed_in()
    return student.class_code if student is not None else None


def teacher_unlocked() -> bool:
    return bool(st.session_state.get(TEACHER_KEY))


def unlock_teacher() -> None:
    st.session_state[TEACHER_KEY] = True


def lock_teacher() -> None:
    st.session_state.pop(TEACHER_KEY, None)


def teacher_actor() -> str:
    """The acting user for the console's changes to other people's runs."""
    return TEACHER_OWNER
