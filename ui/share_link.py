"""Links to settings: "Copy link to these settings", and a link's settings put into the sidebar.

The link carries TrainConfig's fields as query parameters (mnist_core/share_links.py)
and never the user's token, so sharing it shares settings, not an identity.
Opening it fills the sidebar once per session, after validation: every value
that is malformed or hostile is left out with a one-line note, and a value
between the sidebar's steps moves to the nearest step, saying so.
"""
from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import streamlit as st

from mnist_core.config import DEFAULT_HIDDEN, TrainConfig
from mnist_core.share_links import config_from_query, config_to_query

from .text import plain

APPLIED_KEY = "link_settings_applied"  # session_state: the link was read (only the first run reads it)
NOTES_KEY = "link_settings_notes"  # session_state: what the link could not set, shown once
SHOW_LINK_KEY = "show_settings_link"


def _nearest(choices, value):
    return min(choices, key=lambda c: abs(c - value))


def widget_state(field: str, value, arch: str) -> tuple[str, object] | None:
    """The sidebar widget (session_state key) and the value that shows `field = value`; None if it has no control."""
    from . import sidebar as s

    if field == "hidden":
        if arch == "mlp":
            return "cfg_hidden_mlp", _nearest(s.HIDDEN_SIZES, value[0])
        if arch == "deep-mlp":
            return "cfg_hidden_deep", ", ".join(str(v) for v in value)
        return None
    simple = {"arch", "activation", "optimizer", "schedule"}
    if field in simple:
        return f"cfg_{field}", value
    snapped = {
        "lr": lambda v: _nearest(s.LR_CHOICES, v),
        "batch_size": lambda v: _nearest(s.BATCH_SIZES, v),
        "l2": lambda v: _nearest(s.L2_CHOICES, v),
        "l1": lambda v: _nearest(s.L1_CHOICES, v),
        "epochs": lambda v: min(max(int(v), 1), s.EPOCHS_UI_MAX),
        "dropout": lambda v: round(min(v, s.DROPOUT_MAX) / 0.05) * 0.05,
        "momentum": lambda v: round(min(v, 0.99), 2),
        "early_stopping": lambda v: min(int(v), s.PATIENCE_MAX),
        "seed": lambda v: min(int(v), s.SEED_MAX),
    }
    if field in snapped:
        return f"cfg_{field}", snapped[field](value)
    if field == "subset":
        per_class = _nearest(list(s.TRAINING_SET_SIZES.values()), value) if value else 0
        return "cfg_subset", s._size_label(per_class)
    return None  # val_fraction, max_steps: no control in the app


def put_settings(settings: dict) -> list[str]:
    """Set the sidebar's widgets to `settings` ({field: value}); a note for each value that moved or has no control."""
    from . import sidebar as s

    notes = []
    arch = settings.get("arch", st.session_state.get("cfg_arch", TrainConfig().arch))
    if "hidden" not in settings and arch in DEFAULT_HIDDEN and "arch" in settings:
        settings = {**settings, "hidden": DEFAULT_HIDDEN[arch]}
    for field, value in settings.items():
        target = widget_state(field, value, arch)
        if target is None:
            if field != "hidden":
                notes.append(f"{field} has no control in the app, so the link's {field}={value:g} was not used."
                             if isinstance(value, float) else f"The link's {field} has no control in the app.")
            continue
        key, shown = target
        st.session_state[key] = shown
        if field in ("lr", "batch_size", "l2", "l1", "epochs", "dropout", "early_stopping", "seed", "momentum") \
                and abs(float(shown) - float(value)) > 1e-12:
            notes.append(f"The link's {field}={value:g} was set to the nearest choice, {float(shown):g}.")
    return notes


def apply_link_settings() -> None:
    """Once per session, before the sidebar draws: fill it from the link's query parameters."""
    if st.session_state.get(APPLIED_KEY):
        return
    st.session_state[APPLIED_KEY] = True
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    settings, notes = config_from_query(params)
    if settings:
        notes += put_settings(settings)
    if notes:
        st.session_state[NOTES_KEY] = notes


def show_link_notes() -> None:
    """The notes about the link, once, where the sidebar puts them."""
    for note in st.session_state.pop(NOTES_KEY, []):
        st.warning(plain(note), icon=":material/link_off:")


def settings_link(config: TrainConfig) -> str:
    """The address that opens the app with `config` in the sidebar (no user token in it)."""
    try:
        here = urlsplit(st.context.url or "")
        base = f"{here.scheme}://{here.netloc}{here.path}" if here.netloc else ""
    except Exception:  # noqa: BLE001  (no browser context, e.g. in AppTest)
        base = ""
    base = base or "http://localhost:8501/"
    query = urlencode(config_to_query(config))
    return base + (f"?{query}" if query else "")


def copy_link_button(config: TrainConfig | None) -> None:
    """"Copy link to these settings": shows the link in a box with a copy icon."""
    if st.button("Copy link to these settings", key="copy_settings_link", type="tertiary", icon=":material/link:",
                 disabled=config is None, help="A link that opens MNIST Lab with these settings in the sidebar."):
        st.session_state[SHOW_LINK_KEY] = True
    if st.session_state.get(SHOW_LINK_KEY) and config is not None:
        st.code(settings_link(config), language=None, wrap_lines=True)
        st.caption("Press the copy icon at the box's right, then paste the link anywhere. It holds the settings "
                   "only, never your name.")
