"""Tests of the gap verdict: Welch's t-test against the formula by hand, on constructed cases."""
import math

import pytest
from scipy import stats

from mnist_core.config import TrainConfig
from mnist_core.gap_test import differing_settings, gap_verdict, shared_new_seeds


def welch_p_by_hand(a, b):
    """Welch's t statistic and Welch-Satterthwaite degrees of freedom, two-sided p."""
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1)
    sa, sb = va / len(a), vb / len(b)
    t = (ma - mb) / math.sqrt(sa + sb)
    df = (sa + sb) ** 2 / (sa ** 2 / (len(a) - 1) + sb ** 2 / (len(b) - 1))
    return 2 * stats.t.sf(abs(t), df)


def test_a_clear_gap_is_real_and_p_is_welchs():
    a, b = [0.981, 0.979, 0.983, 0.980], [0.962, 0.958, 0.965, 0.960]
    verdict = gap_verdict(a, b)
    assert verdict.p_value == pytest.approx(welch_p_by_hand(a, b), rel=1e-9)
    assert verdict.real and verdict.p_value < 0.05
    assert verdict.gap_points == pytest.approx(100 * (sum(a) / 4 - sum(b) / 4))
    assert "real" in verdict.sentence("lr 0.1", "lr 0.01") and "lr 0.1 is better" in verdict.sentence("lr 0.1", "lr 0.01")


def test_a_gap_inside_the_seed_noise_is_not_real():
    a, b = [0.970, 0.962, 0.978, 0.966], [0.968, 0.975, 0.959, 0.964]  # means 0.969 and 0.9665, spread ~0.007
    verdict = gap_verdict(a, b)
    assert verdict.p_value == pytest.approx(welch_p_by_hand(a, b), rel=1e-9)
    assert not verdict.real and verdict.p_value > 0.05
    assert "seed noise" in verdict.sentence()


def test_unequal_spreads_use_welch_not_the_pooled_test():
    a, b = [0.90, 0.99, 0.92, 0.97, 0.95], [0.951, 0.952, 0.950]
    pooled = stats.ttest_ind(a, b, equal_var=True).pvalue
    assert gap_verdict(a, b).p_value == pytest.approx(welch_p_by_hand(a, b), rel=1e-9)
    assert gap_verdict(a, b).p_value != pytest.approx(pooled, rel=1e-3)


def test_one_seed_or_no_spread_cannot_be_judged():
    assert gap_verdict([0.97], [0.95]).p_value is None
    verdict = gap_verdict([0.97, 0.97], [0.95, 0.95])
    assert verdict.p_value is None and not verdict.real and "Cannot tell" in verdict.sentence()


def test_differing_settings_ignore_the_seed_and_name_the_knob():
    a = TrainConfig(arch="mlp", lr=0.1, seed=0)
    assert differing_settings(a, a.replace(seed=5)) == []
    assert differing_settings(a, a.replace(l2=1e-3, seed=2)) == [("l2", 0.0, 1e-3)]
    assert [name for name, _, _ in differing_settings(a, a.replace(lr=0.01, pixels="unit"))] == ["lr", "pixels"]


def test_new_seeds_are_shared_and_unused():
    assert shared_new_seeds([0]) == [1, 2, 3]
    assert shared_new_seeds([2, 7, 1]) == [8, 9, 10]
