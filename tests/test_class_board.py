"""The class board's data and the scoring of guesses, at the store level."""
import pytest

from mnist_core.class_board import (Guess, LiveRun, board_csv, board_json_lines, board_rows, check_guess,
                                    guess_score, mean_guess_error)
from mnist_core.classroom import Classroom
from mnist_core.config import TrainConfig
from mnist_core.database import Database
from mnist_core.runs import RunStore
from mnist_core.train import fit


@pytest.fixture(scope="module")
def results(synthetic):
    return {lr: fit(TrainConfig(arch="softmax", epochs=1, batch_size=100, lr=lr, seed=0), synthetic)
            for lr in (0.01, 0.1)}


@pytest.fixture
def world(tmp_path):
    store = RunStore(tmp_path / "runs")
    return store, Classroom(Database(tmp_path / "runs" / "db.sqlite3"))


def test_scores_are_100_minus_the_gap_floored_at_0():
    assert guess_score(0.9, 0.9) == 100.0
    assert guess_score(0.9, 0.97) == pytest.approx(93.0)
    assert guess_score(0.97, 0.9) == pytest.approx(93.0)
    assert guess_score(0.0, 1.0) == 0.0
    with pytest.raises(ValueError, match="fraction from 0 to 1"):
        check_guess(90)


def test_the_board_has_each_student_s_latest_run_and_live_ones(world, results):
    store, room = world
    ada, bo, cy = (room.join(None, name, "1234") for name in ("Ada", "Bo", "Cy"))
    room.join(None, "Dee", "1234")  # no run yet: not on the board
    store.save(results[0.01], owner=ada.owner, extra=Guess(0.5).to_extra())
    latest = store.save(results[0.1], owner=ada.owner, extra=Guess(0.7, diverges=True).to_extra())
    store.save(results[0.01], owner=bo.owner)
    store.save(results[0.01], owner="abcdef1234")  # a quick-start user, not in the class
    live = [LiveRun(cy.owner, TrainConfig(arch="cnn", lr=0.02), 0.91, Guess(0.95).to_extra()),
            LiveRun("someone-else", TrainConfig(), 0.5)]
    rows = {row.student: row for row in board_rows(store, room, None, "lr", live)}
    assert set(rows) == {"Ada", "Bo", "Cy"}
    a = rows["Ada"]
    assert a.run_id == latest.run_id and a.x == 0.1 and a.arch == "softmax" and not a.training
    assert a.val_accuracy == pytest.approx(results[0.1].summary()["val_accuracy"])
    assert a.guess == 0.7 and a.guess_diverges is True and a.divergence_right is False
    assert a.score == pytest.approx(guess_score(0.7, a.val_accuracy))
    assert rows["Bo"].guess is None and rows["Bo"].score is None
    c = rows["Cy"]
    assert c.training and c.status == "training" and c.x == 0.02 and c.val_accuracy == 0.91
    assert c.score is None, "a guess is scored once the run has ended"
    assert mean_guess_error(list(rows.values())) == pytest.approx(round(100 - a.score, 1))


def test_a_diverged_run_scores_against_zero_and_the_divergence_guess_is_right(world, results):
    store, room = world
    ada = room.join(None, "Ada", "1234")
    result = results[0.1]
    result.status, saved_status = "diverged", result.status
    try:
        store.save(result, owner=ada.owner, extra=Guess(0.1, diverges=True).to_extra())
    finally:
        result.status = saved_status
    (row,) = board_rows(store, room, None)
    assert row.diverged and row.divergence_right is True


def test_the_x_axis_can_be_any_setting(world, results):
    store, room = world
    ada = room.join(None, "Ada", "1234")
    store.save(results[0.1], owner=ada.owner)
    assert board_rows(store, room, None, "arch")[0].x == "Softmax regression"
    assert board_rows(store, room, None, "batch_size")[0].x == 100


def test_csv_hides_names_until_revealed_and_defuses_formulas(world, results):
    store, room = world
    eve = room.join(None, "=HYPERLINK(1)", "1234")
    store.save(results[0.1], owner=eve.owner)
    rows = board_rows(store, room, None)
    hidden, shown = board_csv(rows, "lr", False), board_csv(rows, "lr", True)
    assert hidden.splitlines()[0].startswith("student,lr,architecture,val_accuracy")
    assert "Student 1" in hidden and "HYPERLINK" not in hidden
    assert "'=HYPERLINK(1)" in shown


def test_json_lines_carry_the_issue_s_fields(world, results):
    store, room = world
    ada = room.join(None, "Ada", "1234")
    store.save(results[0.1], owner=ada.owner, extra=Guess(0.8).to_extra())
    (line,) = board_json_lines(board_rows(store, room, None))
    assert set(line) == {"student", "config", "val_accuracy", "test_accuracy", "status", "guess"}
    assert line["student"] == "Ada" and line["guess"] == 0.8 and line["config"]["lr"] == 0.1


@pytest.mark.parametrize("extra", [{}, {"guess": "high"}, {"guess": {"val_accuracy": 2}},
                                   {"guess": {"val_accuracy": True}}, None])
def test_a_missing_or_damaged_guess_is_no_guess(extra):
    assert Guess.from_extra(extra) is None
