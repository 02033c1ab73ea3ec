"""Lessons: free, locked and hidden controls, the three ready lessons, a class's current lesson."""
import pytest

from mnist_core.classroom import Classroom, ClassroomError
from mnist_core.config import TrainConfig
from mnist_core.database import Database
from mnist_core.lessons import CONTROLS, FREE, HIDDEN, LOCKED, READY_LESSONS, Lesson, LessonBook


@pytest.fixture
def book(tmp_path):
    return LessonBook(Classroom(Database(tmp_path / "db.sqlite3")))


def test_a_lesson_puts_its_fixed_values_over_the_student_s():
    lesson = Lesson("Only lr", modes={"lr": FREE, "arch": LOCKED, "epochs": HIDDEN}, values={"arch": "cnn"})
    student = {"arch": "mlp", "lr": 0.5, "epochs": 20}
    assert lesson.apply(student) == {"arch": "cnn", "lr": 0.5, "epochs": TrainConfig().epochs}
    assert lesson.mode("batch_size") == FREE  # controls it does not name stay free


def test_the_three_ready_lessons_are_valid_and_leave_one_knob_free():
    assert [lesson.name for lesson in READY_LESSONS] == ["Learning rate", "Regularisation and overfitting",
                                                         "Model families"]
    for lesson in READY_LESSONS:
        lesson.validate()
        assert len(lesson.guide.split()) > 50, "each has a paragraph for the teacher"
        assert lesson.guesses and lesson.mode(lesson.board_x) == FREE
        TrainConfig(**lesson.apply({})).validate()
    assert [c for c in CONTROLS if READY_LESSONS[0].mode(c) == FREE] == ["lr"]


@pytest.mark.parametrize("lesson, message", [
    (Lesson("x", modes={"device": FREE}), "cannot set device"),
    (Lesson("x", modes={"lr": "maybe"}), "cannot set lr"),
    (Lesson("x", values={"lr": -1}), "do not fit together"),
    (Lesson("x", values={"__class__": 1}), "cannot set __class__"),
    (Lesson("x", board_x="password"), "x-axis"),
    (Lesson("\u200b"), "Type a name"),
])
def test_a_bad_lesson_is_refused(book, lesson, message):
    with pytest.raises(ClassroomError, match=message):
        book.save(None, lesson)


def test_a_class_saves_lessons_and_follows_its_current_one(book):
    other = book.room.create_class("B").code
    mine = Lesson("Batch size day", modes={c: LOCKED for c in CONTROLS} | {"batch_size": FREE},
                  values={"hidden": (64,)}, board_x="batch_size")
    book.save(None, mine)
    assert [l.name for l in book.lessons(None)][-1] == "Batch size day"
    assert "Batch size day" not in [l.name for l in book.lessons(other)]
    assert book.current(None) is None
    book.set_current(None, "Batch size day")
    assert book.current(None) == mine and book.current(other) is None
    book.save(None, Lesson("Batch size day", board_x="lr"))  # saving again replaces it
    assert book.current(None).board_x == "lr"
    with pytest.raises(ClassroomError, match="no lesson called"):
        book.set_current(None, "Nothing")
    book.set_current(None, "Learning rate")
    assert book.current(None) == READY_LESSONS[0]
    book.set_current(None, None)
    assert book.current(None) is None


def test_a_lesson_survives_json():
    lesson = READY_LESSONS[1]
    assert Lesson.from_json(lesson.to_json()) == lesson


def test_a_change_of_lesson_shows_at_once_in_this_process_and_within_the_memo_time_from_another(tmp_path):
    import sqlite3
    path = tmp_path / "db.sqlite3"
    teacher, student = LessonBook(Classroom(Database(path))), LessonBook(Classroom(Database(path)))
    assert student.current(None) is None
    teacher.set_current(None, "Learning rate")  # the teacher's console, another session of this server
    assert student.current(None).name == "Learning rate"
    teacher.save(None, Lesson("Mine", modes={"lr": LOCKED}, values={"lr": 0.01}))
    teacher.set_current(None, "Mine")
    assert student.current(None).values == {"lr": 0.01}

    # Another process (the CLI) writes the database directly: this process may show the old
    # lesson for the memo's seconds, never longer.
    now = [0.0]
    student.room.memo.clock = lambda: now[0]
    student.room.memo.forget()
    assert student.current(None).name == "Mine"
    with sqlite3.connect(path) as other:
        other.execute("UPDATE classes SET current_lesson = NULL")
    now[0] += student.room.memo.seconds + 0.01
    assert student.current(None) is None
