"""Tests of mnist_core.durations: the time left in a run and durations in words.

(Its >>> examples run too: pytest.ini has --doctest-modules.)
"""
import math

from mnist_core.durations import eta_seconds, format_duration


def test_eta_is_the_remaining_steps_at_the_pace_so_far():
    assert eta_seconds(0, 100, 5.0) is None
    assert eta_seconds(50, 100, 5.0) == 5.0
    assert eta_seconds(100, 100, 5.0) == 0.0


def test_format_duration():
    assert format_duration(None) == "–" and format_duration(59.4) == "59 s"
    assert format_duration(math.inf) == "–" and format_duration(math.nan) == "–"
