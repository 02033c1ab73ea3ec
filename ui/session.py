"""What every page shares: who the user is, the dataset, the run store and the job queue.

Shared across all browser sessions (st.cache_resource, read-only): the dataset
tensors and the JobManager. Private to a user: their token, kept in the URL
(`?user=...`) so that a reload finds the same runs and the same running job.
"""
from __future__ import annotations

import secrets

import streamlit as st

from mnist_core.data import DataError, MnistData, load_mnist, resolve_data_dir
from mnist_core.jobs import JobManager
from mnist_core.runs import RunStore, resolve_runs_dir

USER_PARAM = "user"
USER_KEY = "user_token"  # session_state copy of the token


def user_token() -> str:
    """A random token identifying this browser user; stored in the URL so it survives reloads.

    The session keeps a copy too: a click in the navigation menu clears the
    URL's query parameters, and the token must survive that (it is put back
    into the URL, so that a later reload still finds it).
    """
    remembered = st.session_state.get(USER_KEY)
    token = st.query_params.get(USER_PARAM, "")
    if remembered:
        if token != remembered:
            st.query_params[USER_PARAM] = remembered
        return remembered
    if not (isinstance(token, str) and 8 <= len(token) <= 40 and token.isalnum()):
        token = secrets.token_hex(8)
        st.query_params[USER_PARAM] = token
    st.session_state[USER_KEY] = token
    return token


def user_params() -> dict[str, str]:
    """Query parameters that keep this user's identity across a page change.

    `st.switch_page` and `st.page_link` clear the URL's query parameters unless
    given some: always pass `query_params=user_params()`, or the user would get
    a new token and lose sight of their runs.
    """
    return {USER_PARAM: user_token()}


@st.cache_resource(show_spinner=False)
def _load_mnist_once(data_dir: str) -> MnistData:
    return load_mnist(data_dir, download=True)


@st.cache_resource(show_spinner=False)
def _load_stand_in_once() -> MnistData:
    from mnist_core.data import load_sklearn_digits
    return load_sklearn_digits()


def use_stand_in() -> bool:
    """Whether this session chose the small offline stand-in dataset."""
    return bool(st.session_state.get("use_stand_in"))


def get_data() -> MnistData:
    """The dataset, loaded once for every session. Raises DataError with a plain message."""
    if use_stand_in():
        return _load_stand_in_once()
    return _load_mnist_once(str(resolve_data_dir()))


def data_or_stop() -> MnistData:
    """The dataset, or an explanation on the page (and st.stop()) when it cannot be loaded."""
    try:
        with st.spinner("Loading MNIST into memory…"):
            return get_data()
    except DataError as error:
        st.error(f"**MNIST is not available.** {error}")
        st.info("No internet? You can still explore the app with a small stand-in: scikit-learn's "
                "1,797 hand-written 8×8 digits, upscaled to 28×28. Results will be lower than on MNIST.")
        if st.button("Use the small stand-in dataset", key="use_stand_in_button"):
            st.session_state["use_stand_in"] = True
            st.rerun()
        st.stop()


@st.cache_resource(show_spinner=False)
def _store_at(root: str) -> RunStore:
    return RunStore(root)


def get_store() -> RunStore:
    """The run store (folder $MNIST_LAB_RUNS, default ./runs), one per folder for all sessions.

    The folder is part of the cache key, so tests that point MNIST_LAB_RUNS at a
    temporary folder get their own store (and job queue) without clearing caches.
    """
    return _store_at(str(resolve_runs_dir().resolve()))


@st.cache_resource(show_spinner=False)
def _jobs_for(root: str) -> JobManager:
    from mnist_core.runtime import configure_threads

    # One torch thread per training job, one slot per core less one kept for the
    # web server (see mnist_core/jobs.py): oversubscribed OpenMP threads run 5-10x slower.
    configure_threads(1)
    return JobManager(_store_at(root), threads_per_job=1)


def get_jobs() -> JobManager:
    """The process-wide job queue shared by every session (one per run-store folder)."""
    return _jobs_for(str(resolve_runs_dir().resolve()))
