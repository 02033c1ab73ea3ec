"""The worker pool: runs a job, honours Stop, survives a killed worker, shares the dataset,
serves owners in turn, and gives a job alone every core."""
import os
import signal
import threading
import time

import pytest

from mnist_core.config import TrainConfig
from mnist_core.data import make_synthetic
from mnist_core.runs import RunStore
from mnist_core.workers import TASKS, WorkerPool, death_sentence

TIMEOUT = 180  # the machine is shared: a worker's first job may wait for the CPU

TASKS.update({"memory": "worker_tasks:memory_task", "threads": "worker_tasks:threads_task",
              "crash": "worker_tasks:crash_task"})


class Listener:
    """Collects a job's events; `wait_for(kind)` blocks until one of that kind arrived."""

    def __init__(self):
        self.events, self._arrived = [], threading.Condition()

    def __call__(self, kind, payload):
        with self._arrived:
            self.events.append((time.time(), kind, payload))
            self._arrived.notify_all()

    def wait_for(self, *kinds, timeout=TIMEOUT):
        with self._arrived:
            assert self._arrived.wait_for(lambda: self.last(*kinds) is not None, timeout), \
                f"no {kinds} event; got {[k for _, k, _ in self.events]}"
            return self.last(*kinds)

    def last(self, *kinds):
        found = [payload for _, kind, payload in self.events if kind in kinds]
        return found[-1] if found else None

    def kinds(self):
        return [kind for _, kind, _ in self.events]


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_train_per_class=1000, n_test_per_class=10)  # 10,000 images: 39 MB shared


@pytest.fixture(scope="module")
def pool(data):
    pool = WorkerPool(data, workers=2, cores=2)
    assert pool.wait_ready(TIMEOUT)
    yield pool
    pool.shutdown()


def train_payload(tmp_path, owner="alice", **changes):
    config = TrainConfig(arch="mlp", hidden=(32,), subset=50, batch_size=25, **changes)
    return {"config": config.to_dict(), "runs_root": str(tmp_path), "owner": owner, "name": f"{owner}'s run"}


def test_a_job_trains_reports_and_is_saved(pool, tmp_path):
    listener = Listener()
    pool.submit("alice", "train", train_payload(tmp_path, epochs=2), listener)
    answer = listener.wait_for("done", "failed")
    assert listener.kinds()[-1] == "done", answer
    assert answer["summary"]["status"] == "completed" and answer["summary"]["epochs_run"] == 2
    assert answer["summary"]["test_accuracy"] > 0.5  # it learned, in another process
    kinds = listener.kinds()
    assert kinds[0] == "running" and "train_start" in kinds and kinds.count("epoch") == 2 and "batch" in kinds
    run = RunStore(tmp_path).get(answer["run_id"])
    assert run.owner == "alice" and run.name == "alice's run"


def test_stop_ends_a_running_job_early(pool, tmp_path):
    listener = Listener()
    job_id = pool.submit("alice", "train", train_payload(tmp_path, epochs=200), listener)
    listener.wait_for("batch")
    pool.stop(job_id)
    stopped_at = time.time()
    answer = listener.wait_for("done", "failed")
    assert answer["summary"]["status"] == "stopped", answer
    assert answer["summary"]["steps"] < 200 * 20
    assert time.time() - stopped_at < 30  # one batch, then the (tiny) test pass and the save


def test_a_killed_worker_fails_its_job_and_is_replaced(pool, tmp_path):
    listener = Listener()
    before = pool.stats()["replaced"]
    job_id = pool.submit("alice", "train", train_payload(tmp_path, epochs=200), listener)
    pid = listener.wait_for("running")["pid"]
    assert pool.running_pid(job_id) == pid and pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    message = listener.wait_for("failed")
    assert message == death_sentence(-signal.SIGKILL) and "killed" in message
    assert pool.stats()["replaced"] == before + 1
    assert pool.wait_ready(TIMEOUT) and pid not in pool.worker_pids()
    again = Listener()  # the pool still trains
    pool.submit("alice", "train", train_payload(tmp_path, max_steps=5), again)
    assert again.wait_for("done", "failed")["summary"]["status"] == "completed"


def test_a_crashing_job_fails_with_a_sentence_and_the_worker_stays(pool):
    pids = pool.worker_pids()
    listener = Listener()
    pool.submit("alice", "crash", {}, listener)
    assert listener.wait_for("failed") == "The training crashed: ValueError: a bug in the job"
    assert pool.worker_pids() == pids


def test_workers_share_the_dataset_instead_of_copying_it(pool, data):
    listener = Listener()
    pool.submit("alice", "memory", {}, listener)
    answer = listener.wait_for("done")
    assert answer["total"] == pytest.approx(float(data.train_x.sum()) + int(data.train_images.count_nonzero()))
    dataset_kb = answer["bytes"] / 1024
    private = answer["after"]["anon"] - answer["before"]["anon"]
    shared = answer["after"]["shmem"] - answer["before"]["shmem"]
    # Reading every image maps the server's shared pages; a copy would show up as private memory.
    assert shared > 0.9 * dataset_kb - answer["before"]["shmem"]
    assert private < 0.1 * dataset_kb


def test_a_job_alone_gets_every_core_and_drops_to_one_when_another_starts(pool):
    first, second = Listener(), Listener()
    first_id = pool.submit("alice", "threads", {"seconds": 120}, first)
    first.wait_for("threads")
    deadline = time.time() + TIMEOUT
    while first.last("threads")["threads"] != 2 and time.time() < deadline:
        time.sleep(0.05)
    assert first.last("threads")["threads"] == 2  # alone: both cores
    second_id = pool.submit("bob", "threads", {"seconds": 120}, second)
    second.wait_for("threads")
    seen = len(first.events)
    deadline = time.time() + TIMEOUT
    while (len(first.events) < seen + 2 or first.last("threads")["threads"] != 1) and time.time() < deadline:
        time.sleep(0.05)
    assert first.last("threads")["threads"] == 1 and second.last("threads")["threads"] == 1
    for job_id, listener in ((first_id, first), (second_id, second)):
        pool.stop(job_id)
        assert listener.wait_for("done")["stopped"]


def test_owners_are_served_in_turn(pool):
    blockers = [Listener(), Listener()]
    blocker_ids = [pool.submit("teacher", "threads", {"seconds": 120}, listener) for listener in blockers]
    for listener in blockers:
        listener.wait_for("threads")  # both workers busy: what follows waits in the queue
    alice = [pool.submit("alice", "threads", {"seconds": 0}, Listener()) for _ in range(3)]
    bob = pool.submit("bob", "threads", {"seconds": 0}, Listener())
    positions = {job_id: pool.queue_position(job_id) for job_id in [*alice, bob]}
    assert positions == {alice[0]: 1, bob: 2, alice[1]: 3, alice[2]: 4}
    pool.stop(alice[2])  # a queued job is dropped at once
    assert pool.queue_position(alice[2]) is None and pool.queue_position(alice[1]) == 3
    for job_id in [*blocker_ids, *alice[:2], bob]:
        pool.stop(job_id)


def test_a_study_never_takes_the_last_free_slot_from_a_waiting_single_run(pool):
    running_study, other = Listener(), Listener()
    study_id = pool.submit("carol", "threads", {"seconds": 120}, running_study, long=True)
    other_id = pool.submit("teacher", "threads", {"seconds": 120}, other)
    running_study.wait_for("threads")
    other.wait_for("threads")  # one slot holds a study, the other a single run
    second_study, single = Listener(), Listener()
    second_id = pool.submit("alice", "threads", {"seconds": 120}, second_study, long=True)  # alice's turn first
    single_id = pool.submit("bob", "threads", {"seconds": 3}, single)
    assert pool.queue_position(single_id) == 1 and pool.queue_position(second_id) == 2
    pool.stop(other_id)  # a slot frees: bob's single run takes it, alice's study waits
    single.wait_for("threads")
    assert pool.queue_position(second_id) == 1 and second_study.last("threads") is None
    second_study.wait_for("threads")  # then, with nobody else waiting, the study starts on the free slot
    assert single.last("done") is not None  # only once bob's run had ended
    for job_id in (study_id, second_id):
        pool.stop(job_id)
