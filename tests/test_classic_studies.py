"""The six classic studies on real MNIST, seed 0: orderings hold and every reported number lands in a band.

The band is 3 points (bench/classic_studies.py measured seeds 0-2 within it), except where
classic.MISS_NOTES documents a setting on a knife's edge, whose band covers seeds 0-2 too.
The long studies run on a reduced budget (fewer epochs); their bands were checked on that budget.
Together this is a few minutes of CI on two cores.
"""
import json
import subprocess
import sys

import pytest

from mnist_core.experiments import get_study, run_experiment, summarize, with_budget
from mnist_core.experiments.classic import CLASSIC_STUDIES, reproduction

pytestmark = pytest.mark.integration

BAND = 3.0  # points
EDGE_BANDS = {("classic-l2", "L2 0.1"): 5.0}  # seeds 0-2 measured 38.3 / 34.4 / 39.8 against 36.0
REDUCED = {"classic-overfitting": 4, "classic-model-family": 1, "classic-from-scratch": 15}  # epochs in CI


def test_the_six_classic_studies_are_registered_by_their_cli_names():
    assert [s.name for s in CLASSIC_STUDIES] == ["classic-lr", "classic-l2", "classic-overfitting",
                                                 "classic-dropout", "classic-model-family", "classic-from-scratch"]
    for study in CLASSIC_STUDIES:
        assert all(v.config.subset == 0 for v in study.variants)  # the full training set
        assert any(v.reported is not None for v in study.variants)


def test_classic_lr_from_the_cli_prints_test_and_reported_accuracy(tmp_path, mnist):
    out = subprocess.run([sys.executable, "-m", "mnist_core", "experiment", "classic-lr", "--threads", "1",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=600, check=True)
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert [line["label"] for line in lines] == ["lr 1", "lr 0.1", "lr 0.05", "lr 0.01"]
    for line in lines:
        assert abs(100 * (line["test_accuracy"] - line["reported_test_accuracy"])) <= BAND, line


@pytest.mark.parametrize("name", ["classic-l2", "classic-dropout", "classic-overfitting",
                                  "classic-model-family", "classic-from-scratch"])
def test_seed_0_keeps_the_orderings_and_lands_in_the_band(name, mnist):
    study = get_study(name)
    if name in REDUCED:
        study = with_budget(study, epochs=REDUCED[name])
    comparison = reproduction(summarize(run_experiment(study, mnist, seeds=(0,))), study.compare,
                              study.reported_confusions)
    for row in comparison["rows"]:
        band = EDGE_BANDS.get((name, row["label"]), BAND)
        assert row["yours"] is not None and abs(row["difference"]) <= band, row
    assert all(o["held"] for o in comparison["orderings"]), comparison["orderings"]
    # classic-overfitting: 9 most often read as 3, 4 or 7, and 5 as 3 (held for seeds 0-2 on the full budget)
    assert len(comparison["confusions"]) == len(study.reported_confusions)
    assert all(c["held"] for c in comparison["confusions"]), comparison["confusions"]
