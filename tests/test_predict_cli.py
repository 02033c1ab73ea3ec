"""Tests for mnist_core.predict: `python -m mnist_core predict` and the Draw page's `read_drawing`.

Every printed prediction is checked against `predict_digit` called directly on the
same file (the page's path), so the command and the page provably agree. The model
is a softmax regression trained for a few steps on synthetic data: the tests are
about plumbing, not accuracy (the integration test covers accuracy on MNIST).
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digit_strokes import as_canvas_rgba, render_digit
from mnist_core.cli import main
from mnist_core.config import TrainConfig
from mnist_core.predict import STEP_DEFAULTS, ablation_toggles, read_drawing
from mnist_core.predict import predict_digit
from mnist_core.preprocess import PreprocessError
from mnist_core.runs import RunStore
from mnist_core.train import fit

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, synthetic):
    result = fit(TrainConfig(arch="softmax", epochs=1, batch_size=50, lr=0.1, optimizer="sgd"), synthetic)
    info = RunStore(tmp_path_factory.mktemp("runs")).save(result, name="tiny", owner="test",
                                                          test_labels=synthetic.test_labels)
    return info.path


@pytest.fixture(scope="module")
def model(run_dir):
    return RunStore(run_dir.parent).load_model(run_dir.name)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    """Two drawings, a blank canvas, a damaged file and a missing one."""
    folder = tmp_path_factory.mktemp("pictures")
    rng = np.random.default_rng(0)
    Image.fromarray(render_digit(7, rng)).save(folder / "seven.png")
    Image.fromarray(as_canvas_rgba(render_digit(3, rng))).convert("RGB").save(folder / "three.jpg", quality=90)
    Image.new("RGBA", (280, 280), (0, 0, 0, 255)).save(folder / "blank.png")
    (folder / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a picture")
    return {"seven": folder / "seven.png", "three": folder / "three.jpg", "blank": folder / "blank.png",
            "damaged": folder / "damaged.png", "missing": folder / "missing.png"}


def run_cli(capsys, *argv) -> tuple[int, list[dict], str]:
    code = main(["--threads", "1", "predict", *map(str, argv)])
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    return code, lines, captured.err


def test_prints_one_json_object_per_picture_matching_the_page(capsys, run_dir, model, pictures):
    code, lines, _ = run_cli(capsys, run_dir, pictures["seven"], pictures["three"])
    assert code == 0
    assert [line["image"] for line in lines] == [str(pictures["seven"]), str(pictures["three"])]
    for line, name in zip(lines, ("seven", "three")):
        assert set(line) == {"image", "digit", "probabilities"}
        expected = predict_digit(model, pictures[name])  # what the Draw page computes
        assert line["probabilities"] == pytest.approx(expected.probabilities, abs=1e-6)
        assert line["digit"] == expected.digit == int(np.argmax(line["probabilities"]))
        assert len(line["probabilities"]) == 10 and sum(line["probabilities"]) == pytest.approx(1, abs=1e-4)


def test_blank_and_unreadable_pictures_get_an_error_line_and_the_rest_are_read(capsys, run_dir, pictures):
    order = ["blank", "seven", "damaged", "missing", "three"]
    code, lines, err = run_cli(capsys, run_dir, *(pictures[name] for name in order))
    assert code == 1
    assert [line["image"] for line in lines] == [str(pictures[name]) for name in order]
    by_name = dict(zip(order, lines))
    assert by_name["blank"] == {"image": str(pictures["blank"]),
                                "error": "Nothing drawn yet: draw a digit with the mouse or a finger."}
    assert "not a picture" in by_name["damaged"]["error"]
    assert "does not exist" in by_name["missing"]["error"]
    assert "digit" in by_name["seven"] and "digit" in by_name["three"]
    assert "3 of 5" in err and "Traceback" not in err


def test_preprocessing_steps_can_be_switched_off(capsys, run_dir, model, pictures):
    code, lines, _ = run_cli(capsys, run_dir, "--no-crop", "--no-center-of-mass", pictures["seven"])
    assert code == 0
    expected = predict_digit(model, pictures["seven"], crop=False, scale=True, center_of_mass=False)
    full = predict_digit(model, pictures["seven"])
    assert lines[0]["probabilities"] == pytest.approx(expected.probabilities, abs=1e-6)
    assert expected.probabilities != pytest.approx(full.probabilities, abs=1e-6)  # the flags did something


@pytest.mark.parametrize("make_bad_run", ["missing", "not a run", "damaged weights"])
def test_a_run_folder_that_cannot_be_opened_exits_2_with_one_line(capsys, tmp_path, run_dir, pictures,
                                                                   make_bad_run):
    if make_bad_run == "missing":
        bad = tmp_path / "20261122-193000-cnn-abcdef"
    elif make_bad_run == "not a run":
        bad = tmp_path
    else:
        import shutil
        bad = tmp_path / run_dir.name
        shutil.copytree(run_dir, bad)
        (bad / "weights.pt").write_bytes(b"garbage")
    code, lines, err = run_cli(capsys, bad, pictures["seven"])
    assert code == 2
    assert lines == []
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_the_real_command_line(run_dir, pictures):
    """`python -m mnist_core predict` as a user types it: stdout is JSON lines only."""
    completed = subprocess.run(
        [sys.executable, "-m", "mnist_core", "--threads", "1", "predict", str(run_dir),
         str(pictures["seven"]), str(pictures["blank"])],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1, completed.stderr
    first, second = (json.loads(line) for line in completed.stdout.splitlines())
    assert first["image"] == str(pictures["seven"]) and 0 <= first["digit"] <= 9
    assert "error" in second and "Traceback" not in completed.stderr


def test_ablation_toggles_leave_out_one_step_each_then_all_together():
    variants = ablation_toggles(["crop", "scale", "center_of_mass"])
    rest = {"deskew": STEP_DEFAULTS["deskew"], "strokes": STEP_DEFAULTS["strokes"]}  # at their defaults
    assert variants["crop"] == {"crop": False, "scale": True, "center_of_mass": True, **rest}
    assert variants["center_of_mass"] == {"crop": True, "scale": True, "center_of_mass": False, **rest}
    assert variants["crop+scale+center_of_mass"] == {"crop": False, "scale": False, "center_of_mass": False, **rest}
    assert ablation_toggles(["strokes"])["strokes"]["strokes"] is False
    assert ablation_toggles([]) == {}
    with pytest.raises(ValueError, match="Unknown"):
        ablation_toggles(["rotate"])


def test_read_drawing_agrees_with_predict_digit_for_every_variant(model):
    canvas = as_canvas_rgba(render_digit(4, np.random.default_rng(5)))
    reading = read_drawing(model, canvas, steps_off=["scale", "center_of_mass"])
    assert reading.prediction.probabilities == pytest.approx(predict_digit(model, canvas).probabilities)
    assert set(reading.without) == {"scale", "center_of_mass", "scale+center_of_mass"}
    assert reading.without["scale"].probabilities == pytest.approx(
        predict_digit(model, canvas, scale=False).probabilities)
    assert reading.without["scale+center_of_mass"].preprocessed.steps == {
        "crop": True, "scale": False, "center_of_mass": False,
        "deskew": STEP_DEFAULTS["deskew"], "strokes": STEP_DEFAULTS["strokes"]}
    assert reading.seconds > 0


def test_read_drawing_of_a_blank_canvas_or_a_data_url(model):
    blank = np.zeros((280, 280, 4), np.uint8)
    blank[..., 3] = 255
    reading = read_drawing(model, blank, steps_off=["crop"])
    assert reading.prediction.blank and reading.without == {}
    import base64
    import io
    buffer = io.BytesIO()
    canvas = as_canvas_rgba(render_digit(2, np.random.default_rng(1)))
    Image.fromarray(canvas).save(buffer, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    assert read_drawing(model, url).prediction.probabilities == pytest.approx(
        predict_digit(model, canvas).probabilities)
    with pytest.raises(PreprocessError):
        read_drawing(model, "data:image/png;base64,bm90IGEgcGljdHVyZQ==")
