"""What every page shares: who the user is, the dataset, the run store and the job queue.

Shared across all browser sessions (st.cache_resource, read-only): the dataset
tensors and the JobManager. Private to a user: their token, kept in the URL
(`?user=...`) so that a reload finds the same runs and the same running job.
"""
from __future__ import annotations

import functools
import os
import secrets
import threading
from pathlib import Path

import streamlit as st

from mnist_core.data import (DataError, MnistData, download_mnist, load_mnist, load_sklearn_digits, missing_files,
                             resolve_data_dir)
from mnist_core.database import open_database
from mnist_core.job_records import JobRecords
from mnist_core.jobs import EXECUTOR_ENV, JobManager
from mnist_core.runs import RunStore, resolve_runs_dir
from mnist_core.runtime import configure_server, freeze_heap

from .server_tuning import tune_server
from .text import plain

USER_PARAM = "user"
USER_KEY = "user_token"  # session_state copy of the token
STAND_IN_KEY = "use_stand_in"  # session_state: True when this user chose the offline stand-in dataset
DATA_ERROR_KEY = "mnist_error"  # session_state: why MNIST could not be loaded (not retried at every rerun)
STAND_IN_LABEL = "small stand-in dataset"


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
    # Never downloads: a download shows its progress on the page (_download_with_progress), and
    # anything drawn inside a cached function would be replayed on every later cache hit.
    return load_mnist(data_dir, download=False)


@st.cache_resource(show_spinner=False)
def _load_stand_in_once() -> MnistData:
    return load_sklearn_digits()


@st.cache_resource(show_spinner=False)
def _download_lock() -> threading.Lock:
    return threading.Lock()


def _download_with_progress(root: Path) -> None:
    """A first start with internet: download MNIST into `root`, one line per file on the page."""
    with _download_lock():  # two first visitors at once: the second waits, then finds the files
        if not missing_files(root):
            return
        with st.status("Downloading MNIST (about 11 MB), once for everyone…", expanded=True) as status:
            try:
                download_mnist(root, progress=lambda text: st.text(text))
            except DataError:
                status.update(label="MNIST could not be downloaded.", state="error", expanded=False)
                raise
            status.update(label=plain(f"MNIST downloaded into {root}."), state="complete", expanded=False)


def use_stand_in() -> bool:
    """Whether this session chose the small offline stand-in dataset."""
    return bool(st.session_state.get(STAND_IN_KEY))


@functools.lru_cache(maxsize=16)
def _resolved(path: str) -> str:
    return str(Path(path).resolve())


def runs_root() -> str:
    """The run store's folder as an absolute path: the cache key of the store, the job queue and the
    classroom. Resolved once per setting (a resolve is a system call per folder level, and every
    page asks for it several times: under a class's load those calls queue for the GIL)."""
    return _resolved(str(resolve_runs_dir()))


_IN_MEMORY: dict[tuple[str, str], MnistData] = {}  # (data folder, run store) -> MNIST, loaded, jobs started


def mnist_in_memory() -> bool:
    """True once MNIST is loaded: pages then need no spinner (each one starts a thread)."""
    return (str(resolve_data_dir()), runs_root()) in _IN_MEMORY


def get_data() -> MnistData:
    """The dataset, loaded once for every session. Raises DataError with a plain message.

    When the MNIST files are missing (a first start), they are downloaded first, with
    the progress shown in the current container.
    """
    if use_stand_in():
        return _load_stand_in_once()
    root = resolve_data_dir()
    if (data := _IN_MEMORY.get((str(root), runs_root()))) is not None:
        return data
    if missing_files(root):
        _download_with_progress(root)
    data = _load_mnist_once(str(root))
    _start_jobs_once(runs_root(), data)
    _IN_MEMORY[str(root), runs_root()] = data
    return data


@st.cache_resource(show_spinner=False)
def _start_jobs_once(root: str, _data: MnistData) -> bool:
    """Once per server and run store, when MNIST is in memory: start the worker processes, and queue
    again the jobs that were waiting when the server last stopped (jobs.JobManager.recover)."""
    manager = _jobs_for(root)
    manager.warm_up(_data)
    manager.recover(_data)
    freeze_heap()  # what is loaded by now stays: keep the collector's full passes short
    return True


def _choose_stand_in(chosen: bool) -> None:
    st.session_state[STAND_IN_KEY] = chosen
    st.session_state.pop(DATA_ERROR_KEY, None)


def explain_missing_data(message: str, key: str = "data") -> None:
    """Why MNIST cannot be loaded (with how to fix it), and the way on without it: the stand-in."""
    st.error(f"**MNIST is not available.** {plain(message)}", icon=":material/cloud_off:")
    st.info(f"No internet? You can still train, look inside and draw with a {STAND_IN_LABEL}: scikit-learn's "
            "1,797 hand-written 8×8 digits, upscaled to 28×28. It needs no download; accuracies will be "
            "lower than on MNIST.", icon=":material/school:")
    with st.container(horizontal=True):
        st.button("Use the small stand-in dataset", key=f"use_stand_in_button_{key}", type="primary",
                  on_click=_choose_stand_in, args=(True,))
        # MNIST is not retried at every rerun (that would try the network at every click): only here.
        st.button("Try MNIST again", key=f"retry_mnist_button_{key}", on_click=_choose_stand_in, args=(False,),
                  help="Press once the four files are in the folder or the internet is back. A changed "
                       "MNIST_DATA_DIR takes effect when the app is restarted.")


def stand_in_badge() -> None:
    """While this user trains on the stand-in, say so on every page, with the way back to MNIST."""
    st.badge(STAND_IN_LABEL.capitalize(), icon=":material/science:", color="orange")
    st.caption("scikit-learn's 1,797 8×8 digits, upscaled to 28×28 (1,437 for training, 360 for testing), "
               "not MNIST's 70,000: accuracies are lower than on MNIST.")
    st.button("Use MNIST instead", key="leave_stand_in", type="tertiary", icon=":material/swap_horiz:",
              on_click=_choose_stand_in, args=(False,))


def data_or_stop() -> MnistData:
    """The dataset, or an explanation on the page (and st.stop()) when it cannot be loaded."""
    message = None if use_stand_in() else st.session_state.get(DATA_ERROR_KEY)
    if message is None:
        try:
            if mnist_in_memory() and not use_stand_in():
                return get_data()
            with st.spinner("Loading MNIST into memory…"):
                return get_data()
        except DataError as error:
            message = st.session_state[DATA_ERROR_KEY] = str(error)
    explain_missing_data(message)
    st.stop()


@st.cache_resource(show_spinner=False)
def _store_at(root: str) -> RunStore:
    store = RunStore(root)
    store.space_check = _policy_for(root).space_check  # free disk and each student's quota, before a save
    return store


@st.cache_resource(show_spinner=False)
def _policy_for(root: str):
    """Each class's caps, as the job queue and the run store ask for them (mnist_core/caps.py)."""
    from mnist_core.caps import ClassroomPolicy
    from mnist_core.classroom import Classroom
    from mnist_core.database import open_database

    return ClassroomPolicy(Classroom(open_database(root)), RunStore(root))


_SHARED: dict[tuple[str, str], object] = {}  # (what, runs root) -> what st.cache_resource made for it


def shared_for_root(make, root: str):
    """`make(root)` (an st.cache_resource function), remembered here as well and read without a lock.

    Every page asks for the job queue, the store and the classroom several times; each
    st.cache_resource lookup takes Streamlit's process-wide cache lock, and with 30 sessions'
    script threads waiting at it by turns that was 15% of their time (py-spy --idle under
    bench/load_test.py). The first call still goes through st.cache_resource, so two sessions
    starting at once get the same object.
    """
    key = (make, root)
    value = _SHARED.get(key)
    if value is None:
        value = _SHARED[key] = make(root)
    return value


def get_store() -> RunStore:
    """The run store (folder $MNIST_LAB_RUNS, default ./runs), one per folder for all sessions.

    The folder is part of the cache key, so tests that point MNIST_LAB_RUNS at a
    temporary folder get their own store (and job queue) without clearing caches.
    """
    return shared_for_root(_store_at, runs_root())


@st.cache_resource(show_spinner=False)
def _jobs_for(root: str) -> JobManager:
    # Training runs in worker processes (one per core, mnist_core/workers.py) unless
    # MNIST_LAB_EXECUTOR=threads; the server's own torch work (inspection, drawing) keeps to one
    # thread, since oversubscribed OpenMP threads run 5-10x slower. Every job is also a row
    # in the run store's database, so that a restart loses none. (runtime.configure_server also
    # shortens the GIL switch interval, which keeps pages quick when many sessions run at once.)
    configure_server()
    tune_server()  # Streamlit's config reads and event-loop wake-ups stop queueing 30 sessions' threads
    executor = os.environ.get(EXECUTOR_ENV, "").strip() or "processes"
    return JobManager(_store_at(root), threads_per_job=1, executor=executor,
                      records=JobRecords(open_database(root)), policy=_policy_for(root))


def get_jobs() -> JobManager:
    """The process-wide job queue shared by every session (one per run-store folder).

    On the first visit after a restart that left jobs behind, MNIST is loaded at once,
    which recovers them (see _start_jobs_once): no page has to need the data first.
    """
    root = runs_root()
    manager = shared_for_root(_jobs_for, root)
    if root not in _RECOVERED:  # looked at once per server (not a query on every call while none is left)
        _RECOVERED.add(root)  # tried once: a missing MNIST is said by the pages that need it
        if manager.records is not None and manager.records.pending() and not missing_files(resolve_data_dir()):
            try:
                _start_jobs_once(root, _load_mnist_once(str(resolve_data_dir())))
            except DataError:
                pass
    return manager


_RECOVERED: set[str] = set()  # run-store folders whose leftover jobs were looked at (process-wide)
