"""The class on the command line: `train --student`, guesses, and `class-board`, run as a teacher runs them."""
import json

import pytest

from test_cli import assert_one_line_error, run_cli

TINY = ("--arch", "softmax", "--subset", "5", "--epochs", "1", "--batch-size", "50", "--max-steps", "2")


@pytest.mark.integration
def test_student_runs_are_filed_by_name_and_listed_by_class_board(tmp_path):
    out = str(tmp_path / "runs")
    first = run_cli("train", *TINY, "--out", out, "--student", "Ada", "--guess", "0.9")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[-1])["run_dir"].startswith(out)
    again = run_cli("train", *TINY, "--lr", "0.1", "--out", out, "--student", "ada", "--guess", "0.5",
                    "--guess-diverges")
    assert again.returncode == 0, again.stderr
    assert run_cli("train", *TINY, "--out", out, "--student", "Bo").returncode == 0
    alone = run_cli("train", *TINY, "--out", out, "--student", "Cy", "--guess-diverges")
    assert alone.returncode == 0, alone.stderr  # a divergence guess alone: the run ends at chance, 10%
    board = run_cli("class-board", "--out", out)
    assert board.returncode == 0, board.stderr
    lines = [json.loads(line) for line in board.stdout.splitlines()]
    assert [line["student"] for line in lines] == ["Ada", "Bo", "Cy"]  # one line per student, the name as first given
    ada, bo, cy = lines
    assert cy["guess"] == 0.1
    assert set(ada) == {"student", "config", "val_accuracy", "test_accuracy", "status", "guess"}
    assert ada["config"]["lr"] == 0.1 and ada["guess"] == 0.5, "the latest run of each student"
    assert bo["guess"] is None and 0 <= bo["val_accuracy"] <= 1 and bo["status"] == "completed"


@pytest.mark.integration
def test_a_class_code_keeps_classes_apart(tmp_path):
    from mnist_core.classroom import Classroom
    from mnist_core.database import open_database

    out = tmp_path / "runs"
    code = Classroom(open_database(out)).create_class("9B").code
    assert run_cli("train", *TINY, "--out", str(out), "--student", "Cy", "--class", code).returncode == 0
    in_class = run_cli("class-board", "--out", str(out), "--class", code.lower())
    assert [json.loads(l)["student"] for l in in_class.stdout.splitlines()] == ["Cy"]
    default = run_cli("class-board", "--out", str(out))
    assert default.returncode == 0 and default.stdout == "" and "No student of class DEFAULT" in default.stderr


@pytest.mark.parametrize("args, message", [
    (("--student", "Ada", "--guess", "90"), "--guess: A guess is a fraction from 0 to 1, such as 0.9 for 90% (got 90.0)."),
    (("--guess", "0.9"), "--class, --guess and --guess-diverges go with --student NAME."),
    (("--student", "\u200b"), "Type a name (a first name or a nickname)."),
    (("--student", "Ada", "--class", "NOPE99"), "There is no class with the code NOPE99"),
    (("--name", "\u200b\ufeff"), "A run name cannot be only invisible characters"),
    (("--name", ""), "A run name cannot be empty."),
    (("--name", "   "), "A run name cannot be empty."),
    (("--seed", "18446744073709551614"), "The seed must be a whole number from 0 to 4294967295 (got 18446744073709551614)."),
    (("--seed", "-1"), "The seed must be a whole number from 0 to 4294967295 (got -1)."),
])
def test_bad_class_arguments_are_one_line_and_nothing_is_trained(tmp_path, args, message):
    out = tmp_path / "runs"
    completed = run_cli("train", *TINY, "--out", str(out), *args)
    assert message in assert_one_line_error(completed)
    assert not any(p.name[:1].isdigit() for p in out.glob("*")) if out.exists() else True
    assert "epoch" not in completed.stderr.lower() or "error" in completed.stderr


def test_class_board_with_an_unknown_code_is_one_line(tmp_path):
    assert "There is no class with the code ZZZZ" in assert_one_line_error(
        run_cli("class-board", "--out", str(tmp_path), "--class", "zzzz"))
