"""The one live view of a background job: queued, running, finished, cancelled or failed.

Every page that starts a job (Train, Experiments, Draw, and the sidebar's
compact status) draws it through `job_view(...)`. While the job is active, the
view is an `st.fragment` that redraws itself from the job's progress snapshot
every `refresh` seconds; when the job ends, the fragment calls `st.rerun()`
once and the page settles into its static final view, so nothing polls then.
The page only says how a running job and a finished one look; the queued,
cancelled and failed views are the same everywhere and live here.
"""
from __future__ import annotations

import time
from typing import Callable

import streamlit as st

from mnist_core.caps import queue_sentence
from mnist_core.config import ConfigError
from mnist_core.jobs import CANCELLED, FAILED, QUEUED, Job, JobError

from .session import get_jobs
from .identity import current_owner
from .text import plain

FAST, SLOW = 0.5, 1.0  # seconds between redraws: 0.5 s costs ~6% of training speed, 0.25 s ~30%
WAITING = 2.0  # seconds between redraws of a job with others ahead of it in the queue: in a class of 30,
# most sessions wait, and their 0.5 s redraws were most of the server's work (bench/load_test.py);
# the view switches to the job's own rate (one rerun) when it becomes next in line
FIRST_POINT_WAIT = 0.75  # seconds the Train press's own script run may wait for the run's first logged batch
QUEUE_GRACE = 0.15  # seconds after which a job still queued is taken to wait for a slot (no point waiting)

JobDrawer = Callable[[Job], None]


def my_job(job_id: int | None) -> Job | None:
    """This user's job with that id, or None (another user's job is never returned)."""
    try:
        return get_jobs().get(current_owner(), job_id) if job_id is not None else None
    except JobError:
        return None


def wait_for_first_point(job: Job, timeout: float = FIRST_POINT_WAIT) -> bool:
    """Hold the Train press's script run until the new training job has logged its first batch.

    The page it opens then draws the first chart point at once, instead of at the live
    view's next refresh (up to FAST later). Not for a job that waits behind others for a
    slot. True if the first point came in time.
    """
    start = time.monotonic()
    while job.active and time.monotonic() - start < timeout:
        if getattr(job.progress, "latest_batch", None) is not None:
            return True
        if job.state == QUEUED and time.monotonic() - start > QUEUE_GRACE:
            return False
        time.sleep(0.02)
    return getattr(job.progress, "latest_batch", None) is not None


def alone_on_the_server(stats: dict) -> bool:
    """True when the new job is the only one running or waiting (`JobManager.stats()`): only then is
    the Train press's script run held for the first point. In a busy class the page answers first,
    and the live view draws the point at its next refresh.

    >>> alone_on_the_server({"running": 1, "waiting": 0}), alone_on_the_server({"running": 2, "waiting": 5})
    (True, False)
    """
    return stats["running"] + stats["waiting"] <= 1


def stop_job(job_id: int) -> None:
    """Button callback: ask this user's job to stop (a queued one is cancelled)."""
    job = my_job(job_id)
    if job is not None:
        job.stop()


def queue_text(job: Job) -> str:
    """Where a queued job stands, in one sentence."""
    jobs = get_jobs()
    position, stats = jobs.queue_position(job), jobs.stats()
    return (f"Waiting for a free training slot. {queue_sentence(position or 1, stats['slots'])} "
            "The page stays usable meanwhile.")


def draw_queued(job: Job, key: str) -> None:
    st.info(queue_text(job), icon=":material/hourglass_top:")
    st.button("Cancel", key=f"cancel_queued_{key}", on_click=stop_job, args=(job.job_id,),
              help="Leave the queue; nothing has been trained yet.")


def draw_ended(job: Job, finished: JobDrawer) -> None:
    """The final view: the page's own for a finished job; the shared one if cancelled or failed."""
    if job.state == CANCELLED and job.started is not None:  # an analysis stopped midway
        st.info("Stopped before it finished: nothing was kept.", icon=":material/cancel:")
    elif job.state == CANCELLED:
        st.info("Cancelled before it started: it was still waiting for a training slot.", icon=":material/cancel:")
    elif job.state == FAILED or job.result is None:
        st.error(plain(job.error or "The job failed."), icon=":material/error:")
    else:
        finished(job)


def behind_others(job: Job) -> bool:
    """True while other jobs are ahead of this one in the queue (it cannot start at the next free slot)."""
    return job.state == QUEUED and (get_jobs().queue_position(job) or 1) > 1


def _live(job_id: int, running: JobDrawer, queued: JobDrawer | None, key: str, waiting: bool) -> None:
    job = my_job(job_id)
    if job is None or not job.active or (waiting and not behind_others(job)):
        st.rerun()  # once: the page settles into the final view, or redraws at the job's own rate
    if job.state == QUEUED:
        (queued or (lambda j: draw_queued(j, key)))(job)
    else:
        running(job)


# One fragment per refresh rate (a fragment's rate is fixed when it is made).
_LIVE = {rate: st.fragment(_live, run_every=rate) for rate in (FAST, SLOW, WAITING)}


def job_view(job: Job, running: JobDrawer, finished: JobDrawer, queued: JobDrawer | None = None,
             refresh: float = FAST, key: str = "job") -> None:
    """Draw `job`: live (a polling fragment) while active, then its final view.

    `running(job)` draws a running job; `finished(job)` a job that ended well;
    `queued(job)` replaces the shared queue view if given. `key` keeps widget keys
    apart when two views share a page (the sidebar and the page).
    """
    if job.active:
        waiting = behind_others(job)
        _LIVE[WAITING if waiting else refresh](job.job_id, running, queued, key, waiting)
    else:
        draw_ended(job, finished)


def _rerun(record_id: int) -> None:
    """Button callback: queue an interrupted job of this user again."""
    from .session import get_data

    try:
        get_jobs().rerun(current_owner(), record_id, get_data())
    except (JobError, ConfigError) as error:
        st.session_state["rerun_error"] = str(error)


def interrupted_notices(kind: str) -> None:
    """This user's jobs of `kind` that a server restart interrupted, each with a Re-run button."""
    if message := st.session_state.pop("rerun_error", None):
        st.error(plain(message), icon=":material/error:")
    for row in get_jobs().interrupted(current_owner()):
        if row["kind"] != kind:
            continue
        with st.container(border=True, horizontal=True, vertical_alignment="center"):
            st.warning(plain(f"“{row['label']}” was {row['message']}, so it did not finish. "
                             "Nothing it had learned was saved."), icon=":material/restart_alt:")
            st.button("Re-run", key=f"rerun_{row['id']}", icon=":material/replay:", on_click=_rerun,
                      args=(row["id"],), help="Queue the same settings again.")
