"""JobManager's work outside its own threads, and its memory across restarts (a mixin of jobs.JobManager).

- `_submit_to_pool`: a training run, a study or an analysis goes to the warm worker pool
  (workers.py, through job_worker.py) or, with executor "ray", to a Ray cluster
  (ray_executor.py); `_on_event` applies what comes back to the Job (state,
  progress, result), so a page cannot tell where the job ran.
- `recover`, `interrupted`, `rerun`: with a jobs table (job_records.py), the
  queue survives a restart: waiting jobs run again, interrupted ones are offered
  to their owners for a re-run.
"""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from .job_records import INTERRUPTED

if TYPE_CHECKING:
    from .jobs import Job


class ElsewhereAndAfterRestart:
    """Methods of JobManager; they use its store, records, executor, _lock, _jobs and _waiting."""

    # --- in worker processes ---------------------------------------------------
    def _on_event(self, job: Job, kind: str, payload) -> None:
        """An event of a job running elsewhere (a worker process, a Ray task), applied to the Job.
        Called from the pool's or the executor's thread: quick, and it never raises into it."""
        from .analysis_jobs import ANALYSIS, keep_in_server
        from .job_worker import replay
        from .jobs import CANCELLED, FAILED, FINISHED, RUNNING

        if kind == "running":
            job.state, job.started = RUNNING, time.time()
            job.worker_pid = (payload or {}).get("pid")
            self._record_start(job)
        elif kind == "call":
            replay(job.progress, payload)
        elif kind in ("done", "failed", "cancelled"):
            if kind == "done":
                job.result, job.run_info, job.save_error = (payload["result"], payload["run_info"],
                                                            payload["save_error"])
                if job.kind == ANALYSIS:
                    keep_in_server(job)  # e.g. the flip comparison's cache, read by the Draw page
            elif kind == "failed":
                job.error = payload
            state = {"done": FINISHED, "failed": FAILED, "cancelled": CANCELLED}[kind]
            self._record_end(job, state)  # first: whoever sees the job ended finds its row ended too
            job.state, job.finished = state, time.time()

    def _submit_to_pool(self, job: Job, data) -> None:
        payload = {"spec": job.spec.to_dict(), "job_id": job.job_id, "runs_root": str(self.store.root),
                   "check_space": self.policy is not None}  # the class caps' disk check, again just before the save
        on_event = lambda kind, event: self._on_event(job, kind, event)  # noqa: E731
        if self.executor == "ray":
            from .ray_executor import RayExecutor
            remote = self._remote = RayExecutor.shared(self.ray_address)
            remote_id = remote.submit(job.owner, payload, on_event, data)
            job.on_stop = lambda: remote.stop(remote_id)
            return
        from .job_worker import shared_pool

        pool = self._pool = shared_pool(data)
        # The pool is shared by every manager (one per run store): it numbers jobs its own way.
        from .jobs import STUDY

        pool_id = pool.submit(job.owner, "job", payload, on_event, long=job.spec.kind == STUDY)
        self._pool_ids[job.job_id] = pool_id
        job.on_stop = lambda: pool.stop(pool_id)

    def warm_up(self, data) -> None:
        """Start the worker processes now (torch imported, data shared), so the first job need not wait."""
        if self.executor == "processes":
            from .job_worker import shared_pool
            self._pool = shared_pool(data)

    # --- surviving a restart ---------------------------------------------------
    def _record_start(self, job: Job) -> None:
        if self.records is not None:
            self.records.started(job.job_id)

    def _record_end(self, job: Job, state: str | None = None) -> None:
        if self.records is not None:
            self.records.ended(job.job_id, state or job.state, run_id=job.run_info.run_id if job.run_info else None,
                               message=job.error or job.save_error)

    def recover(self, data) -> list[Job]:
        """After a restart: the jobs that were running are marked interrupted (see `interrupted`); those
        that were still queued are queued again, oldest first, under their old ids. Returns them."""
        from .jobs import Job, JobSpec

        if self.records is None:
            return []
        again = []
        for row in self.records.recover():
            spec = JobSpec.from_dict(row["spec"])
            job = Job(job_id=row["id"], spec=spec, progress=self.new_progress(spec), created=row["created"])
            with self._lock:
                self._jobs[job.job_id] = job
                if self._runs_elsewhere(spec):
                    self._submit_to_pool(job, data)
                else:
                    self._waiting.append(job.job_id)
                    threading.Thread(target=self._run, args=(job, data), daemon=True).start()
            again.append(job)
        return again

    def interrupted(self, owner: str) -> list[dict]:
        """The owner's jobs that a server restart interrupted (rows: id, label, kind, spec, message)."""
        return self.records.interrupted_of(owner) if self.records is not None else []

    def rerun(self, owner: str, record_id: int, data) -> Job:
        """Queue an interrupted job of `owner` again; JobError if it is not theirs or not interrupted."""
        from .jobs import JobError, JobSpec

        row = self.records.get(owner, record_id) if self.records is not None else None
        if row is None or row["state"] != INTERRUPTED:
            raise JobError("That run does not exist, belongs to someone else, or was already re-run.")
        job = self.submit(JobSpec.from_dict(row["spec"]), data)
        self.records.mark_rerun(owner, record_id)
        return job
