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
        "yours measured at": r["measured_at"],
    } for r in comparison["rows"]])


def measured_caption(comparison: dict) -> str:
    """Which test accuracy 'yours' is: the final weights', or the one at the best validation epoch.

    >>> measured_caption({"rows": [{"measured_at": "final"}]})
    "Yours: the final weights' test accuracy."
    >>> measured_caption({"rows": [{"measured_at": "best validation epoch 17"}]})[:62]
    'Yours: the test accuracy after the epoch with the best validat'
    """
    places = {r["measured_at"] for r in comparison["rows"]}
    if places <= {"final"}:
        return "Yours: the final weights' test accuracy."
    return ("Yours: the test accuracy after the epoch with the best validation accuracy, as the study reported "
            "it (the epoch is in the last column; with several seeds, the mean over them).")


def ordering_lines(comparison: dict) -> list[str]:
    """'lr 1 > lr 0.1 (reported gap 2.5 points): held' for every reported ordering of at least 1 point."""
    lines = []
    for o in comparison["orderings"]:
        verdict = "not measured" if o["held"] is None else "held" if o["held"] else "did NOT hold"
        lines.append(f"{o['higher']} > {o['lower']} (reported gap {o['reported_gap']:.1f} points): {verdict}")
    return lines


def confusion_lines(comparison: dict) -> list[str]:
    """'9 read as 3, 4, 7: held (yours: 4 ×26, 7 ×16, 3 ×12, 5 ×8)' for every confusion the study reported.

    >>> confusion_lines({"confusions": [{"digit": 5, "reported": [3], "yours": [(3, 21), (8, 10)], "held": True}]})
    ['5 read as 3: held (yours: 3 ×21, 8 ×10)']
    """
    return [f"{c['digit']} read as {', '.join(map(str, c['reported']))}: "
            f"{'held' if c['held'] else 'did NOT hold'} (yours: "
            + ", ".join(f"{d} ×{n}" for d, n in c["yours"]) + ")" for c in comparison.get("confusions", [])]


def draw_reproduction(study, summaries: list[dict]) -> None:
    """The comparison with the figures `study` reported (at its `Study.compare` figure), where yours
    was measured, the confusions it reported, and a sentence for every number that missed."""
    comparison = reproduction(summaries, study.compare, study.reported_confusions)
    if not comparison["rows"]:
        return
    st.markdown("**Reported vs yours**")
    st.dataframe(reproduction_table(comparison), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.2f")
                                for c in ("reported %", "yours %", "difference (points)")})
    st.caption(plain(measured_caption(comparison)))
    orderings = ordering_lines(comparison)
    held = sum(1 for o in comparison["orderings"] if o["held"])
    if orderings:
        st.markdown(plain(f"Orderings the study reported (gaps of at least {100 * ORDERING_GAP:.0f} point): "
                          f"{held} of {len(orderings)} held.") + "\n" + "\n".join(
            f"- {plain(line)}" for line in orderings))
    confusions = confusion_lines(comparison)
    if confusions:
        st.markdown(plain("Confusions the study reported (the most common wrong readings of a digit on your "
                          "test images, all seeds and reported settings together):") + "\n" + "\n".join(
            f"- {plain(line)}" for line in confusions))
    for row in comparison["rows"]:
        if row["difference"] is not None and not row["within"]:
            st.warning(plain(f"{row['label']}: {miss_note(study.name, row['label'], row['difference'])}"),
                       icon=":material/info:")
