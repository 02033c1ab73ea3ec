"""The class board's data: every student's latest run, and guesses scored against outcomes.

One row per student of a class: their run still training if they have one,
else their latest saved run. x is a chosen setting (the lesson's knob), y the
validation accuracy; a run still training is marked so the board can draw it
hollow. A guess (made before Train) is kept in the run's `extra` as
`{"guess": {"val_accuracy": 0.9, "diverges": false}}` and scored here:
100 minus the gap in percentage points, floored at 0.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from .classroom import Classroom, Student
from .config import ARCHITECTURES, TrainConfig

GUESS_KEY = "guess"


@dataclass(frozen=True)
class Guess:
    val_accuracy: float  # a fraction, 0..1
    diverges: bool = False

    def to_extra(self) -> dict:
        return {GUESS_KEY: {"val_accuracy": float(self.val_accuracy), "diverges": bool(self.diverges)}}

    @classmethod
    def from_extra(cls, extra: dict | None) -> "Guess | None":
        """The guess a run's extra holds, or None if it holds none (or a damaged one)."""
        data = (extra or {}).get(GUESS_KEY)
        if not isinstance(data, dict):
            return None
        value = data.get("val_accuracy")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            return None
        return cls(float(value), bool(data.get("diverges", False)))


def check_guess(fraction) -> float:
    """A guess of final validation accuracy as a fraction in [0, 1]; ValueError with a sentence otherwise.

    >>> check_guess(0.9)
    0.9
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
        raise ValueError(f"A guess is a fraction from 0 to 1, such as 0.9 for 90% (got {fraction!r}).")
    return float(fraction)


def guess_score(guess: float, actual: float) -> float:
    """100 minus the gap between guess and outcome in percentage points, floored at 0.

    Both are fractions (0.9 = 90%).

    >>> guess_score(0.90, 0.95), guess_score(0.5, 0.97), guess_score(0.2, 0.98)
    (95.0, 53.0, 22.0)
    >>> guess_score(0.99, 0.0)
    1.0
    """
    return round(max(0.0, 100.0 - abs(guess - actual) * 100.0), 1)


@dataclass(frozen=True)
class LiveRun:
    """A run still training, as the board sees it (made from a job by the page)."""
    owner: str
    config: TrainConfig
    val_accuracy: float | None  # after the last finished epoch, None before the first
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BoardRow:
    student: str
    student_id: int
    run_id: str | None  # None while training
    config: dict
    arch: str
    x: object  # the chosen setting's value
    val_accuracy: float | None
    test_accuracy: float | None
    status: str  # "training", or the saved run's status (completed, stopped, diverged, ...)
    training: bool
    guess: float | None
    guess_diverges: bool | None
    diverged: bool
    score: float | None  # the guess's score once the run has ended
    divergence_right: bool | None


def x_value(config: TrainConfig, setting: str):
    """The value the board puts on its x-axis for `setting` (the architecture as its label)."""
    if setting == "arch":
        return ARCHITECTURES.get(config.arch, config.arch)
    if setting == "hidden":
        return "-".join(str(h) for h in config.hidden_sizes) or "none"
    return getattr(config, setting)


def _row(student: Student, config: TrainConfig, setting: str, *, run_id, val, test, status, training, extra):
    guess = Guess.from_extra(extra)
    diverged = status == "diverged"
    ended = not training
    actual = val if val is not None else (0.0 if diverged else None)
    return BoardRow(
        student=student.name, student_id=student.student_id, run_id=run_id, config=config.to_dict(),
        arch=config.arch, x=x_value(config, setting), val_accuracy=val, test_accuracy=test, status=status,
        training=training, guess=guess.val_accuracy if guess else None,
        guess_diverges=guess.diverges if guess else None, diverged=diverged,
        score=guess_score(guess.val_accuracy, actual) if guess and ended and actual is not None else None,
        divergence_right=(guess.diverges == diverged) if guess and ended else None)


def board_rows(store, room: Classroom, code: str | None, setting: str = "lr",
               live: list[LiveRun] = ()) -> list[BoardRow]:
    """One row per student of the class who has a run: the one training, else the latest saved."""
    students = {s.owner: s for s in room.students(code)}
    live_by_owner = {run.owner: run for run in live if run.owner in students}
    latest = {}
    for info in store.list():  # newest first
        if info.owner in students and info.owner not in latest:
            latest[info.owner] = info
    rows = []
    for owner, student in students.items():
        if owner in live_by_owner:
            run = live_by_owner[owner]
            rows.append(_row(student, run.config, setting, run_id=None, val=run.val_accuracy, test=None,
                             status="training", training=True, extra=run.extra))
        elif owner in latest:
            info = latest[owner]
            rows.append(_row(student, info.config, setting, run_id=info.run_id,
                             val=info.metrics.get("val_accuracy"), test=info.metrics.get("test_accuracy"),
                             status=info.status, training=False, extra=info.extra))
    return rows


def mean_guess_error(rows: list[BoardRow]) -> float | None:
    """The class's mean gap between guess and outcome, in percentage points (None if nothing to score).

    >>> mean_guess_error([])
    """
    gaps = [100.0 - row.score for row in rows if row.score is not None]
    return round(sum(gaps) / len(gaps), 1) if gaps else None


def board_csv(rows: list[BoardRow], setting: str, reveal_names: bool) -> str:
    """The board as CSV; names are replaced by 'Student 1', 'Student 2', ... until revealed."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student", setting, "architecture", "val_accuracy", "test_accuracy", "status", "guess",
                     "guess_diverges", "score"])
    for number, row in enumerate(rows, start=1):
        name = row.student if reveal_names else f"Student {number}"
        writer.writerow([_csv_safe(name), row.x, row.arch, row.val_accuracy, row.test_accuracy, row.status,
                         row.guess, row.guess_diverges, row.score])
    return out.getvalue()


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (a name like '=HYPERLINK(...)')."""
    return "'" + text if text[:1] in "=+-@\t\r" else text


def board_json_lines(rows: list[BoardRow]) -> list[dict]:
    """What `python -m mnist_core class-board` prints, one dict per student."""
    return [{"student": row.student, "config": row.config, "val_accuracy": row.val_accuracy,
             "test_accuracy": row.test_accuracy, "status": row.status, "guess": row.guess} for row in rows]
