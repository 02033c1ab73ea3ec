"""Streamlit helpers shared by the pages (the only package besides pages/ that imports streamlit)."""


def _leave_pages_directory_mode() -> None:
    """Make the first script run of a fresh server go through app.py's router.

    Streamlit 1.67 decides between the old `pages/`-folder mode and
    st.navigation before any of our code runs, and a folder named `pages`
    makes it choose the old mode until the first st.navigation call. So the
    first visitor after a server start who opens e.g. /train got that page
    alone: no set_page_config, no sidebar, no user token. Every page imports
    `ui`, so this runs in that first run: switch the mode off and rerun.

    Renaming the folder would avoid this, but the design keeps `pages/` (one
    file per thing a teacher shows), so this is the one place that handles it.
    AppTest resets the flag before every run; tests/conftest.py's `router_mode`
    fixture does the same for tests.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        import streamlit as st

        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_pages_directory_mode()
