"""The classic studies beside what they reported: reported / yours / difference / ordering held.

Drawn under a study's results when its variants carry reported numbers
(mnist_core/experiments/classic.py has the setups and the comparison).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from mnist_core.experiments.classic import ORDERING_GAP, TOLERANCE, miss_note, reproduction

from .text import plain


def reproduction_table(comparison: dict) -> pd.DataFrame:
    """One line per reported number: reported %, yours %, difference in points, within 2 points."""
    return pd.DataFrame([{
        "setting": f"{r['group']} · {r['label']}" if r["group"] else r["label"],
        "reported %": round(r["reported"], 2),
        "yours %": None if r["yours"] is None else round(r["yours"], 2),
        "difference (points)": None if r["difference"] is None else round(r["difference"], 2),
        f"within {100 * TOLERANCE:.0f} points": "yes" if r["within"] else "no",
    } for r in comparison["rows"]])


def ordering_lines(comparison: dict) -> list[str]:
    """'lr 1 > lr 0.1 (reported gap 2.5 points): held' for every reported ordering of at least 1 point."""
    lines = []
    for o in comparison["orderings"]:
        verdict = "not measured" if o["held"] is None else "held" if o["held"] else "did NOT hold"
        lines.append(f"{o['higher']} > {o['lower']} (reported gap {o['reported_gap']:.1f} points): {verdict}")
    return lines


def draw_reproduction(study_name: str, summaries: list[dict]) -> None:
    """The comparison with the reported figures, and a sentence for every number that missed."""
    comparison = reproduction(summaries)
    if not comparison["rows"]:
        return
    st.markdown("**Reported vs yours**")
    st.dataframe(reproduction_table(comparison), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.2f")
                                for c in ("reported %", "yours %", "difference (points)")})
    orderings = ordering_lines(comparison)
    held = sum(1 for o in comparison["orderings"] if o["held"])
    if orderings:
        st.markdown(plain(f"Orderings the study reported (gaps of at least {100 * ORDERING_GAP:.0f} point): "
                          f"{held} of {len(orderings)} held.") + "\n" + "\n".join(
            f"- {plain(line)}" for line in orderings))
    for row in comparison["rows"]:
        if row["difference"] is not None and not row["within"]:
            st.warning(plain(f"{row['label']}: {miss_note(study_name, row['label'], row['difference'])}"),
                       icon=":material/info:")
