"""The Draw page's analyses on worker processes: what the app runs (executor "processes").

Fine-tuning, the hidden-layer map and the flip comparison run in a worker process
of the shared pool, never in the server; their progress comes back through the
pool's relay, Stop ends them, and a killed worker fails the job with a sentence.
The neighbour index stays in the server, whose queries use it.
"""
import os
import signal
import time

import numpy as np
import pytest

from mnist_core.analysis_jobs import ANALYSIS, cached_flip_comparison, cached_map, neighbour_key
from mnist_core.config import TrainConfig
from mnist_core.flip import pixels_to_flip_comparison
from mnist_core.handwriting import HandwritingStore
from mnist_core.job_worker import shared_pool
from mnist_core.jobs import CANCELLED, FAILED, FINISHED, RUNNING, JobManager
from mnist_core.neighbours import cached_index
from mnist_core.runs import RunStore
from mnist_core.train import fit

from test_jobs_in_processes import TIMEOUT, data, wait_done, wait_until  # noqa: F401  (the shared pool fixture)


@pytest.fixture(scope="module")
def trained(data):
    return fit(TrainConfig(arch="mlp", hidden=(32,), epochs=2, batch_size=10, val_fraction=0.0), data)


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


@pytest.fixture
def run_id(store, trained, data):
    return store.save(trained, name="tiny mlp", owner="teacher", test_labels=data.test_labels).run_id


@pytest.fixture
def manager(store):
    return JobManager(store, executor="processes")


def save_drawings(store, data, count=30):
    """The class's drawings: test images with their labels, from three students."""
    handwriting = HandwritingStore(store.root)
    for i in range(count):
        handwriting.save(data.test_images[i], int(data.test_labels[i]), owner=f"student-{i % 3}")


def ran_in_a_worker(job, data) -> bool:
    """The pid the worker reported when it took the job is one of the pool's, not this process's."""
    pid = job.worker_pid
    return pid is not None and pid != os.getpid() and pid in shared_pool(data).worker_pids()


def test_fine_tuning_runs_in_a_worker_and_saves_a_new_run(manager, store, data, run_id):
    save_drawings(store, data)
    shares = []
    job = manager.submit_analysis("fine-tune", data, owner="alice", run_id=run_id)
    while job.active:
        shares.append(job.progress.snapshot()["share"])
        time.sleep(0.01)
    wait_done(job)
    assert job.state == FINISHED, job.error
    assert ran_in_a_worker(job, data)
    outcome = job.result
    assert outcome.held_out == 6 and outcome.trained_on == 24  # a fifth of 30 held out
    tuned = store.get(outcome.run_id)  # saved by the worker, in the same run store
    assert tuned.owner == "alice" and tuned.extra["fine_tuned_from"] == run_id
    assert job.progress.snapshot() == {"share": 1.0, "text": "done"}  # relayed: this process never ran it
    assert shares == sorted(shares)


def test_the_hidden_map_is_computed_in_a_worker_and_cached_in_the_run(manager, store, data, run_id):
    assert cached_map(store, run_id, "pca") is None
    job = manager.submit_analysis("hidden-map", data, owner="bob", run_id=run_id, method="pca")
    wait_done(job)
    assert job.state == FINISHED, job.error
    assert ran_in_a_worker(job, data)
    assert (store.root / run_id / "hidden_map_pca.npz").is_file()
    cached = cached_map(store, run_id, "pca")
    assert np.array_equal(cached.points, job.result.points) and len(cached.points) == len(data.test_labels)


def test_the_flip_comparison_runs_in_a_worker_and_fills_the_servers_cache(manager, store, data, run_id):
    other = fit(TrainConfig(arch="softmax", epochs=1, batch_size=10, val_fraction=0.0), data)
    run_ids = {"mlp": run_id, "softmax": store.save(other, owner="teacher", test_labels=data.test_labels).run_id}
    job = manager.submit_analysis("flip-comparison", data, owner="carol", run_ids=run_ids, count=3)
    wait_done(job)
    assert job.state == FINISHED, job.error
    assert ran_in_a_worker(job, data)
    images = data.test_images[:3].numpy().astype(np.float32) / 255
    expected = pixels_to_flip_comparison({arch: store.load_model(i) for arch, i in run_ids.items()}, images)
    for arch, row in expected.items():
        row.pop("counts")
        assert job.result[arch] == row  # the same figures as computed here
    assert cached_flip_comparison(run_ids) == job.result  # what the Draw page reads


def test_stop_ends_a_fine_tune_in_a_worker_and_keeps_nothing(manager, store, data, run_id):
    save_drawings(store, data)
    job = manager.submit_analysis("fine-tune", data, owner="dave", run_id=run_id, epochs=5000)
    wait_until(lambda: job.state == RUNNING and job.progress.snapshot()["share"] > 0)
    assert ran_in_a_worker(job, data)
    job.stop()
    wait_done(job)
    assert job.state == CANCELLED and job.result is None
    assert job.progress.snapshot()["share"] < 1.0
    assert [info.run_id for info in store.list()] == [run_id], "no tuned run was saved"


def test_stop_ends_a_fine_tune_in_a_thread_too(store, data, run_id):
    save_drawings(store, data)
    job = JobManager(store, executor="threads").submit_analysis("fine-tune", data, owner="dave", run_id=run_id,
                                                                 epochs=5000)
    wait_until(lambda: job.state == RUNNING and job.progress.snapshot()["share"] > 0)
    assert job.worker_pid is None  # in this process
    job.stop()
    wait_done(job)
    assert job.state == CANCELLED and job.result is None and job.error is None
    assert [info.run_id for info in store.list()] == [run_id]


def test_a_killed_worker_fails_the_analysis_not_the_server(manager, store, data, run_id):
    save_drawings(store, data)
    job = manager.submit_analysis("fine-tune", data, owner="erin", run_id=run_id, epochs=5000)
    wait_until(lambda: job.state == RUNNING and job.progress.snapshot()["share"] > 0)
    os.kill(job.worker_pid, signal.SIGKILL)
    wait_done(job)
    assert job.state == FAILED and job.error.startswith("The process running this job was killed")
    again = manager.submit_analysis("hidden-map", data, owner="erin", run_id=run_id)
    wait_done(again)
    assert again.state == FINISHED and ran_in_a_worker(again, data)  # the pool replaced the worker


def test_the_neighbour_index_is_built_in_the_server(manager, store, data, run_id):
    job = manager.submit_analysis("neighbours", data, owner="frank", run_id=run_id)
    wait_done(job)
    assert job.state == FINISHED and job.kind == ANALYSIS and job.worker_pid is None
    assert cached_index(neighbour_key(run_id, data)) is job.result  # the page's queries find it here
