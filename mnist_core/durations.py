"""Times in words: how long a run took and how long it has left.

Nothing here imports streamlit or torch.
"""
from __future__ import annotations

import math


def eta_seconds(step: int, total_steps: int, elapsed_seconds: float) -> float | None:
    """Seconds left if the remaining steps go as fast as the ones done (None before the first step).

    >>> eta_seconds(25, 100, 10.0)
    30.0
    """
    if step <= 0 or total_steps <= 0 or elapsed_seconds <= 0:
        return None
    return max(0.0, elapsed_seconds * (total_steps - step) / step)


def format_duration(seconds: float | None) -> str:
    """A short human duration.

    >>> [format_duration(s) for s in (0.4, 12.3, 75, 3725)]
    ['0.4 s', '12 s', '1 min 15 s', '1 h 02 min']
    """
    if seconds is None or not math.isfinite(seconds):
        return "–"
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
