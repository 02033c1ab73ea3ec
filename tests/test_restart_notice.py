"""App test: after a restart, an interrupted run is shown to its owner (and only them) with Re-run.

The database is filled as a server that died mid-run leaves it: one job running.
Opening the app loads MNIST, which recovers the queue (ui/session.py).
"""
import pytest

from mnist_core.config import TrainConfig
from mnist_core.database import open_database
from mnist_core.job_records import INTERRUPTED_MESSAGE, RERUN, JobRecords
from mnist_core.jobs import TRAIN, JobSpec
from test_app import open_app, texts, wait_for_end

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("router_mode")]

OWNER, OTHER = "alice20261201", "bob20261201xx"


def test_an_interrupted_run_is_offered_to_its_owner_for_a_re_run(runs_dir):
    records = JobRecords(open_database(runs_dir))
    spec = JobSpec(kind=TRAIN, owner=OWNER, config=TrainConfig(arch="softmax", subset=20, epochs=1),
                   name="before the restart")
    record_id = records.add(OWNER, TRAIN, spec.label, spec.to_dict())
    records.started(record_id)  # ... and then the server was killed

    other = open_app("pages/train.py", user=OTHER)
    assert not any(INTERRUPTED_MESSAGE in t for t in texts(other.warning))  # not bob's run
    assert f"rerun_{record_id}" not in [b.key for b in other.button]

    at = open_app("pages/train.py", user=OWNER)
    notice = [t for t in texts(at.warning) if INTERRUPTED_MESSAGE in t]
    assert notice and "before the restart" in notice[0]
    at.button(key=f"rerun_{record_id}").click().run()
    assert not at.exception
    from ui.session import get_jobs
    job = get_jobs().latest_job(OWNER, kind=TRAIN)
    assert job is not None and job.spec == spec
    wait_for_end(job, timeout=180)
    assert job.state == "finished" and job.run_info.name == "before the restart"
    at.run()
    assert not any(INTERRUPTED_MESSAGE in t for t in texts(at.warning))
    assert records.get(OWNER, record_id)["state"] == RERUN
