"""How the chart summaries write numbers: percentages, counts and quoted names."""
from __future__ import annotations


def pct(value: float) -> str:
    """A share in [0, 1] as a percentage with one decimal, dropping a trailing ".0"; a share that
    would round to 0% or 100% without being it says so ("under 0.1%"), so that no runner-up reads 0%.

    >>> pct(0.961), pct(0.98), pct(1.0), pct(0.0), pct(0.0003), pct(0.99996)
    ('96.1%', '98%', '100%', '0%', 'under 0.1%', 'over 99.9%')
    """
    if 0 < value < 0.0005:
        return "under 0.1%"
    if 0.9995 <= value < 1:
        return "over 99.9%"
    return f"{100 * value:.1f}%".replace(".0%", "%")


def plural(count: int, word: str, many: str | None = None) -> str:
    """"1 run", "3 runs" (or the given plural), with thousands separated.

    >>> plural(1, "run"), plural(10000, "image"), plural(2, "guess", "guesses")
    ('1 run', '10,000 images', '2 guesses')
    """
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def quoted(name: str) -> str:
    """A run's name between curly quotes, as the summaries print it.

    >>> quoted("lr 0.1")
    '“lr 0.1”'
    """
    return f"“{name}”"
