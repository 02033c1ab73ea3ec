"""The sidebar's name panel: join a class with a name and a PIN, or sign in again with them.

Without a name a visitor still trains at once (a quick start, owned by the
URL's token). With a name, their runs, drawings and running job follow them to
any tab, device or day. Every refusal (a taken name, a wrong PIN, a wait after
five wrong tries) is one sentence under the form, and changes nothing.
"""
from __future__ import annotations

import streamlit as st

from mnist_core.classroom import DEFAULT_CLASS_CODE, ClassroomError
from mnist_core.database import DatabaseError

from .identity import get_classroom, sign_in_as, sign_out, signed_in
from .text import plain

MESSAGE_KEY = "sign_in_message"  # session_state: the last refusal, shown under the form


def _attempt(action: str) -> None:
    """Join or sign in with what the form holds (a button's on_click, so the sidebar redraws signed in)."""
    code = (st.session_state.get("sign_in_class") or "").strip() or None
    name = st.session_state.get("sign_in_name") or ""
    pin = st.session_state.get("sign_in_pin") or ""
    room = get_classroom()
    try:
        student = room.join(code, name, pin) if action == "join" else room.sign_in(code, name, pin)
    except (ClassroomError, DatabaseError) as error:
        st.session_state[MESSAGE_KEY] = str(error)
        return
    st.session_state.pop(MESSAGE_KEY, None)
    st.session_state["sign_in_pin"] = ""  # never kept in the session once used
    sign_in_as(student)


def render_sign_in() -> None:
    """The panel, in the current container (the top of the sidebar)."""
    student = signed_in()
    if student is not None:
        where = "" if student.class_code == DEFAULT_CLASS_CODE else f" · class {student.class_code}"
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f":material/person: **{plain(student.name)}**{plain(where)}")
            st.button("Sign out", key="sign_out", type="tertiary", on_click=sign_out,
                      help="This tab forgets your name; your runs stay yours. Sign in again with your PIN.")
        return
    with st.expander("Your name (join or sign in)", icon=":material/person:",
                     expanded=bool(st.session_state.get(MESSAGE_KEY))):
        # A form: typing sends nothing; Join or Sign in sends the three fields in one script run
        # (without it, every field's change was a rerun: three per student, 90 in a class joining at once).
        # Enter does not submit: it would press Join, which a returning student does not mean.
        with st.form("sign_in_form", border=False, enter_to_submit=False):
            st.text_input("Class code", key="sign_in_class", max_chars=12, placeholder="empty: the default class",
                          help="The short code your teacher shows, such as K7QX2M.")
            st.text_input("Name", key="sign_in_name", max_chars=30, placeholder="a first name or a nickname",
                          help="A first name or a nickname, unique in your class; the teacher's board shows it.")
            st.text_input("PIN (4 digits)", key="sign_in_pin", max_chars=4, type="password",
                          help="Choose 4 digits when you join; type the same ones to sign in again, on any device.")
            with st.container(horizontal=True):
                st.form_submit_button("Join", key="sign_in_join", type="primary", on_click=_attempt, args=("join",))
                st.form_submit_button("Sign in", key="sign_in_again", on_click=_attempt, args=("sign_in",))
        message = st.session_state.get(MESSAGE_KEY)
        if message:
            st.error(plain(message))
        else:
            st.caption("Without a name you can still train; with one, your runs follow you to any device.")
