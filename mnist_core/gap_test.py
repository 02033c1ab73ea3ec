"""Is this gap real? Two runs that differ in one setting, repeated over shared seeds.

`differing_settings` names what differs between two configs (the seed aside).
`gap_verdict` compares the test accuracies of the two settings over their seeds
with Welch's t-test (`scipy.stats.ttest_ind(..., equal_var=False)`, which does
not assume equal spreads) and calls the gap "real" at p < 0.05.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .config import TrainConfig

ALPHA = 0.05  # a gap is "real" when a gap this large would arise by seed noise alone less than 5% of the time
EXTRA_SEEDS = 3  # seeds the app adds to each setting with one click
IGNORED = ("seed", "max_steps")  # not a setting a student compares


def differing_settings(a: TrainConfig, b: TrainConfig) -> list[tuple[str, object, object]]:
    """(field, value in a, value in b) for every setting that differs, the seed aside.

    >>> differing_settings(TrainConfig(lr=0.1, seed=1), TrainConfig(lr=0.01, seed=2))
    [('lr', 0.1, 0.01)]
    """
    da, db = a.to_dict(), b.to_dict()
    return [(f.name, da[f.name], db[f.name]) for f in dataclasses.fields(TrainConfig)
            if f.name not in IGNORED and da[f.name] != db[f.name]]


def shared_new_seeds(used: list[int], count: int = EXTRA_SEEDS) -> list[int]:
    """`count` seeds that neither run used, the same for both settings (so the data order matches).

    >>> shared_new_seeds([0, 3])
    [4, 5, 6]
    """
    start = max(used, default=-1) + 1
    return list(range(start, start + count))


@dataclass(frozen=True)
class GapVerdict:
    mean_a: float  # mean test accuracy of setting a over its seeds, in [0, 1]
    mean_b: float
    std_a: float  # sample standard deviation over seeds (0 for a single seed)
    std_b: float
    n_a: int
    n_b: int
    gap_points: float  # 100 * (mean_a - mean_b)
    p_value: float | None  # Welch's t-test; None when it cannot be computed
    real: bool

    def sentence(self, label_a: str = "A", label_b: str = "B") -> str:
        """The verdict in words, with the spread."""
        spread = (f"{label_a}: {100 * self.mean_a:.2f}% ± {100 * self.std_a:.2f} over {self.n_a} seeds; "
                  f"{label_b}: {100 * self.mean_b:.2f}% ± {100 * self.std_b:.2f} over {self.n_b} seeds")
        if self.p_value is None:
            return (f"Cannot tell yet: {spread}. The test needs at least 2 seeds of each setting "
                    "and some spread between seeds.")
        if self.real:
            better = label_a if self.gap_points > 0 else label_b
            return (f"The gap is real: {better} is better by {abs(self.gap_points):.2f} points "
                    f"(Welch's t-test p = {self.p_value:.3g} < {ALPHA:g}). {spread}.")
        return (f"The gap of {abs(self.gap_points):.2f} points could be seed noise "
                f"(Welch's t-test p = {self.p_value:.3g} ≥ {ALPHA:g}). {spread}.")


def gap_verdict(accuracies_a, accuracies_b, alpha: float = ALPHA) -> GapVerdict:
    """Welch's t-test on two lists of test accuracies; "real" at p < alpha.

    >>> v = gap_verdict([0.98, 0.981, 0.979], [0.95, 0.951, 0.949])
    >>> v.real, round(v.gap_points, 1)
    (True, 3.0)
    """
    from scipy.stats import ttest_ind

    a, b = np.asarray(accuracies_a, dtype=float), np.asarray(accuracies_b, dtype=float)
    std = lambda x: float(np.std(x, ddof=1)) if len(x) > 1 else 0.0  # noqa: E731
    p_value = None
    if len(a) >= 2 and len(b) >= 2 and (std(a) > 0 or std(b) > 0):
        p = float(ttest_ind(a, b, equal_var=False).pvalue)
        p_value = p if math.isfinite(p) else None
    return GapVerdict(mean_a=float(a.mean()), mean_b=float(b.mean()), std_a=std(a), std_b=std(b),
                      n_a=len(a), n_b=len(b), gap_points=100 * float(a.mean() - b.mean()),
                      p_value=p_value, real=p_value is not None and p_value < alpha)


GAP_STUDY = "gap"  # the study name a "3 more seeds of each" job runs (experiments.runner.study_for)


def gap_study(config_a: TrainConfig, config_b: TrainConfig, label_a: str = "A", label_b: str = "B"):
    """A two-variant study: setting A and setting B, run over the same seeds (so the data order matches).

    >>> s = gap_study(TrainConfig(lr=0.1), TrainConfig(lr=0.01)); [v.config.lr for v in s.variants]
    [0.1, 0.01]
    """
    from .experiments.studies import Study, Variant

    differing = differing_settings(config_a, config_b)
    knob = differing[0][0] if len(differing) == 1 else "setting"
    variants = (Variant(label=label_a, value="A", config=config_a), Variant(label=label_b, value="B", config=config_b))
    return Study(name=GAP_STUDY, title="Is this gap real?", knob=knob, knob_label=knob, variants=variants,
                 takeaway="", explanation="The two settings over the same new seeds.")
