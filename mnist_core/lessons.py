"""Lessons: which training controls students see, which are locked, and at what values.

A lesson says, for each control of the sidebar (named as TrainConfig's
fields), whether students may move it ("free"), see it fixed ("locked") or not
see it at all ("hidden"); locked and hidden controls take the lesson's value
(or TrainConfig's default). A lesson also says whether students enter a guess
before Train, and which setting the class board puts on its x-axis. The
teacher saves lessons per class and makes one the current lesson; every
student's sidebar follows it. Three ready lessons ship with the app.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from .classroom import Classroom, ClassroomError, clean_student_name
from .config import ConfigError, TrainConfig

FREE, LOCKED, HIDDEN = "free", "locked", "hidden"
MODES = (FREE, LOCKED, HIDDEN)
# The controls a lesson can set, in sidebar order (TrainConfig's field names).
CONTROLS = ("arch", "hidden", "activation", "dropout", "optimizer", "lr", "momentum", "schedule", "batch_size",
            "epochs", "subset", "l2", "l1", "early_stopping", "seed")
BOARD_X_CHOICES = CONTROLS  # any setting can go on the board's x-axis


@dataclass(frozen=True)
class Lesson:
    name: str
    guide: str = ""  # one paragraph for the teacher: what to show and what to ask
    modes: dict = field(default_factory=dict)  # control -> free / locked / hidden (missing = free)
    values: dict = field(default_factory=dict)  # control -> the value locked, hidden or preset
    guesses: bool = False  # students guess the final validation accuracy before Train
    board_x: str = "lr"  # the setting on the class board's x-axis

    def mode(self, control: str) -> str:
        return self.modes.get(control, FREE)

    def fixed_values(self) -> dict:
        """The values students cannot change: those of locked and hidden controls."""
        defaults = dataclasses.asdict(TrainConfig())
        return {c: self.values.get(c, defaults[c]) for c in CONTROLS if self.mode(c) != FREE}

    def apply(self, values: dict) -> dict:
        """The student's control values with the lesson's fixed ones put over them."""
        return {**values, **self.fixed_values()}

    def validate(self) -> "Lesson":
        """LessonError-free or a ClassroomError saying what is wrong with it."""
        clean_student_name(self.name)
        bad = [c for c, m in self.modes.items() if c not in CONTROLS or m not in MODES]
        if bad:
            raise ClassroomError(f"A lesson cannot set {', '.join(map(str, bad))}.")
        unknown = [c for c in self.values if c not in CONTROLS]
        if unknown:
            raise ClassroomError(f"A lesson cannot set {', '.join(map(str, unknown))}.")
        if self.board_x not in BOARD_X_CHOICES:
            raise ClassroomError(f"The board cannot put {self.board_x!r} on its x-axis.")
        try:
            TrainConfig(**self.values).validate()
        except (ConfigError, TypeError) as error:
            raise ClassroomError(f"The lesson's values do not fit together: {error}") from None
        return self

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Lesson":
        data = json.loads(text)
        names = {f.name for f in dataclasses.fields(cls)}
        values = data.get("values", {})
        if isinstance(values.get("hidden"), list):
            values["hidden"] = tuple(values["hidden"])
        return cls(**{k: v for k, v in data.items() if k in names}).validate()


def _only(free: tuple[str, ...], values: dict, **kwargs) -> dict:
    """A lesson where only `free` controls move and the others are locked at `values` or defaults."""
    return dict(modes={c: FREE if c in free else LOCKED for c in CONTROLS}, values=values, **kwargs)


READY_LESSONS = (
    Lesson(name="Learning rate", guesses=True, board_x="lr", **_only(
        ("lr",), {"arch": "mlp", "optimizer": "sgd", "schedule": "constant", "lr": 0.1, "epochs": 2,
                  "subset": 100}),
        guide="Today only the learning rate moves: a shallow MLP on 1,000 images, plain SGD, two epochs, so a "
              "run takes seconds. Ask each student to pick a learning rate between 0.0001 and 10 and to guess "
              "its validation accuracy first. The board fills into a hill: too small a step crawls and ends "
              "low, a middle one wins, and from about 1 up the loss explodes and the run diverges. Reveal the "
              "names once the hill is clear and ask the winners and the divergers what their curves looked "
              "like."),
    Lesson(name="Regularisation and overfitting", guesses=True, board_x="l2", **_only(
        ("l2", "dropout", "epochs"), {"arch": "mlp", "hidden": (1024,), "subset": 20, "epochs": 20,
                                      "optimizer": "adam", "lr": 0.001}),
        guide="A big MLP (1,024 units) on only 200 images learns them by heart: training accuracy reaches "
              "100% while validation accuracy stalls. Students move L2, dropout and the number of epochs and "
              "guess the validation accuracy. On the board, runs without regularisation sit lower; some L2 "
              "or dropout lifts them, and too much pulls them down again. Open a run's curves on the Train "
              "page to show the gap between the training and validation lines closing."),
    Lesson(name="Model families", guesses=True, board_x="arch", **_only(
        ("arch",), {"arch": "softmax", "subset": 100, "epochs": 3, "optimizer": "adam", "lr": 0.003}),
        guide="Only the architecture moves: softmax regression, a shallow MLP, a deep MLP and the CNN, each "
              "on 1,000 images for three epochs. Ask for a guess before each run: most students expect a "
              "bigger gap than they get. The board's columns show each family's spread; the CNN wins but takes "
              "the longest. Then open Weights and activations to show that softmax learns one template per "
              "digit while the CNN learns small strokes."),
)


def ready_lesson(name: str) -> Lesson | None:
    return next((lesson for lesson in READY_LESSONS if lesson.name == name), None)


class LessonBook:
    """A class's saved lessons and its current one, kept in the classroom database."""

    def __init__(self, room: Classroom):
        self.room = room

    def lessons(self, code: str | None) -> list[Lesson]:
        """The ready lessons, then the class's own (a saved lesson with a ready one's name replaces it)."""
        info = self.room.get_class(code)
        return list(self.room.memo.get(("lessons", info.class_id), lambda: self._read_lessons(info.class_id)))

    def _read_lessons(self, class_id: int) -> tuple[Lesson, ...]:
        saved = {}
        for row in self.room.db.query("SELECT name, spec FROM lessons WHERE class_id = ? ORDER BY id",
                                      (class_id,)):
            try:
                saved[row["name"]] = Lesson.from_json(row["spec"])
            except (ClassroomError, ValueError, TypeError):
                continue  # an unreadable lesson is skipped rather than breaking every sidebar
        ready = [saved.pop(lesson.name, lesson) for lesson in READY_LESSONS]
        return tuple(ready + list(saved.values()))

    def get(self, code: str | None, name: str) -> Lesson:
        for lesson in self.lessons(code):
            if lesson.name == name:
                return lesson
        raise ClassroomError(f"There is no lesson called “{name}” in this class.")

    def save(self, code: str | None, lesson: Lesson) -> Lesson:
        lesson = lesson.validate()
        info = self.room.get_class(code)
        self.room.db.execute("INSERT INTO lessons (class_id, name, spec) VALUES (?, ?, ?) "
                             "ON CONFLICT (class_id, name) DO UPDATE SET spec = excluded.spec",
                             (info.class_id, lesson.name, lesson.to_json()))
        self.room.memo.forget()
        return lesson

    def delete_all(self, code: str | None) -> None:
        self.room.db.execute("DELETE FROM lessons WHERE class_id = ?", (self.room.get_class(code).class_id,))
        self.room.memo.forget()

    def set_current(self, code: str | None, name: str | None) -> None:
        """Make `name` the class's current lesson (None: no lesson, every control free)."""
        if name is not None:
            self.get(code, name)
        self.room.set_class_setting(code, "current_lesson", name)

    def current(self, code: str | None) -> Lesson | None:
        name = self.room.class_setting(code, "current_lesson")
        if not name:
            return None
        try:
            return self.get(code, name)
        except ClassroomError:
            return None
