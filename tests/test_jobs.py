"""Tests of mnist_core.jobs: the first-come queue, stopping and cancelling, crashes, owners, specs.

Gated jobs here block on events the test controls, so nothing depends on timing:
`wait_until` only polls (with a generous limit) for a state the test knows will come.
A gated job is a plain JobSpec whose name picks its Gate; the test gives the manager
a runner for it, as the app gives it the training and study runners.
"""
import threading
import time

import pytest
import torch
from torch import nn

import mnist_core.runs as runs_module
from mnist_core.config import TrainConfig
from mnist_core.jobs import (CANCELLED, FAILED, FINISHED, QUEUED, RUNNING, STUDY, TRAIN, JobError, JobManager,
                             JobSpec)
from mnist_core.models import MODEL_REGISTRY
from mnist_core.runs import RunStore


def wait_until(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the job never reached the expected state")
        time.sleep(0.01)


def wait_done(job):
    wait_until(lambda: not job.active and job.finished is not None)


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


class Gate:
    """A job's work that records when it runs and waits until the test opens it."""

    def __init__(self, name, log):
        self.name, self.log = name, log
        self.opened = threading.Event()

    def __call__(self, job):
        self.log.append(self.name)
        assert self.opened.wait(timeout=60)
        return self.name


class Gates:
    """The runner of gated jobs: the spec's name says which Gate runs."""

    def __init__(self):
        self.by_name = {}

    def __call__(self, job, data, store):
        return self.by_name[job.spec.name](job)


@pytest.fixture
def gates():
    return Gates()


@pytest.fixture
def manager(store, gates):
    """One slot; real training jobs, and gated jobs of kinds "train" (by name) and "gate"."""
    manager = JobManager(store, slots=1)
    real_training = manager.runners[TRAIN]

    def train_or_gate(job, data, store):
        return gates(job, data, store) if job.spec.config is None else real_training(job, data, store)
    manager.runners.update({TRAIN: train_or_gate, "gate": gates})
    return manager


def submit_gate(manager, gates, owner, work, label, kind=TRAIN):
    gates.by_name[label] = work
    return manager.submit(JobSpec(kind=kind, owner=owner, name=label))


def test_jobs_wait_their_turn_first_come_first_served(manager, gates):
    log = []
    gate = {name: Gate(name, log) for name in "abc"}
    a = submit_gate(manager, gates, "alice", gate["a"], label="a")
    wait_until(lambda: a.state == RUNNING)
    b = submit_gate(manager, gates, "bob", gate["b"], label="b")
    c = submit_gate(manager, gates, "carol", gate["c"], label="c")
    assert (b.state, c.state) == (QUEUED, QUEUED)
    assert manager.queue_position(a) is None
    assert (manager.queue_position(b), manager.queue_position(c)) == (1, 2)
    assert manager.stats() == {"running": 1, "waiting": 2, "slots": 1, "jobs": 3}

    gate["a"].opened.set()
    wait_until(lambda: b.state == RUNNING)
    assert a.state == FINISHED and a.result == "a"
    assert c.state == QUEUED and manager.queue_position(c) == 1
    gate["b"].opened.set()
    gate["c"].opened.set()
    wait_done(c)
    assert log == ["a", "b", "c"]
    assert [j.state for j in (a, b, c)] == [FINISHED] * 3
    assert manager.stats()["running"] == 0 and manager.stats()["waiting"] == 0


def test_stopping_a_queued_job_cancels_it_without_running_it(manager, gates):
    log = []
    first, second = Gate("first", log), Gate("second", log)
    running = submit_gate(manager, gates, "alice", first, label="first")
    wait_until(lambda: running.state == RUNNING)
    queued = submit_gate(manager, gates, "bob", second, label="second")
    assert manager.stop("bob", queued.job_id) is queued
    wait_done(queued)
    assert queued.state == CANCELLED and manager.queue_position(queued) is None
    first.opened.set()
    wait_done(running)
    assert log == ["first"], "the cancelled job's work never ran"


def test_stopping_a_running_training_job_ends_it_as_stopped_and_saves_the_run(manager, store, synthetic):
    config = TrainConfig(arch="mlp", hidden=(32,), epochs=200, batch_size=10, schedule="constant")
    job = manager.submit_training(config, synthetic, owner="alice", name="to be stopped")
    wait_until(lambda: len(job.progress.snapshot()["batches"]) >= 3)
    manager.stop("alice", job.job_id)
    wait_done(job)
    assert job.state == FINISHED and job.error is None
    assert job.result.status == "stopped" and job.result.steps < 200 * 45
    assert job.result.test_accuracy is not None
    assert job.progress.snapshot()["finished"] is True
    assert job.run_info is not None and job.run_info.status == "stopped"
    assert [r.name for r in store.list(owner="alice")] == ["to be stopped"]


class CrashesAtCall(nn.Module):
    def __init__(self, at_call):
        super().__init__()
        self.linear = nn.Linear(784, 10)
        self.calls, self.at_call = 0, at_call

    def forward(self, x):
        self.calls += 1
        if self.calls == self.at_call:
            raise RuntimeError("a bug in the model")
        return self.linear(x.flatten(1))


def test_a_crash_while_training_fails_the_job_and_saves_nothing(manager, store, synthetic, monkeypatch):
    monkeypatch.setitem(MODEL_REGISTRY, "softmax", lambda config: CrashesAtCall(at_call=3))
    job = manager.submit_training(TrainConfig(arch="softmax", epochs=1, batch_size=50), synthetic, owner="alice")
    wait_done(job)
    assert job.state == FAILED
    assert job.error == "The training crashed: RuntimeError: a bug in the model"
    assert job.run_info is None and job.result is None
    assert not store.root.exists() or list(store.root.iterdir()) == []


def test_a_crash_while_saving_fails_the_job_and_leaves_no_half_written_folder(manager, store, synthetic,
                                                                              monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("cannot pickle this")
    monkeypatch.setattr(runs_module.torch, "save", crash)
    job = manager.submit_training(TrainConfig(arch="softmax", epochs=1, batch_size=50), synthetic, owner="alice")
    wait_done(job)
    assert job.state == FAILED and "cannot pickle this" in job.error
    assert list(store.root.iterdir()) == [], "neither a run folder nor a temporary one"
    assert store.list() == []


def test_a_save_that_the_store_refuses_keeps_the_result_and_says_why(manager, store, synthetic, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(runs_module.torch, "save", disk_full)
    job = manager.submit_training(TrainConfig(arch="softmax", epochs=1, batch_size=50), synthetic, owner="alice")
    wait_done(job)
    assert job.state == FINISHED and job.result.status == "completed" and job.run_info is None
    assert "No space left on device" in job.save_error and "not in the run history" in job.save_error


def test_a_config_error_inside_a_job_fails_it_with_the_sentence(manager, synthetic):
    job = manager.submit_training(TrainConfig(arch="softmax", batch_size=1000), synthetic, owner="alice")
    wait_done(job)
    assert job.state == FAILED
    assert job.error == "The batch size 1,000 is larger than the training set (450 images): choose at most 450."


def test_one_active_job_per_owner_and_kind(manager, gates):
    gate = Gate("train", [])
    first = submit_gate(manager, gates, "alice", gate, label="my MLP", kind=TRAIN)
    with pytest.raises(JobError) as caught:
        submit_gate(manager, gates, "alice", Gate("again", []), label="another", kind=TRAIN)
    assert str(caught.value).startswith("“my MLP” is still ")
    assert "stop it or wait for it before starting another" in str(caught.value)
    # Another kind, or another person, may still start.
    experiment = submit_gate(manager, gates, "alice", Gate("exp", []), label="sweep", kind="gate")
    other = submit_gate(manager, gates, "bob", Gate("bob", []), label="bob's", kind=TRAIN)
    assert manager.active_job("alice", kind=TRAIN) is first
    assert manager.active_job("alice", kind="gate") is experiment
    for job in (first, experiment, other):
        job.stop()
    gate.opened.set()
    wait_done(first)
    wait_done(experiment)
    wait_done(other)
    # Once the first has finished, a new one is welcome.
    again = submit_gate(manager, gates, "alice", lambda job: "done", label="next", kind=TRAIN)
    wait_done(again)
    assert again.state == FINISHED and again.result == "done"
    assert manager.latest_job("alice", kind=TRAIN) is again


def test_nobody_can_see_or_stop_someone_elses_job(manager, gates):
    gate = Gate("alice's", [])
    job = submit_gate(manager, gates, "alice", gate, label="alice's")
    with pytest.raises(JobError, match="does not exist or belongs to someone else"):
        manager.get("mallory", job.job_id)
    with pytest.raises(JobError, match="does not exist or belongs to someone else"):
        manager.stop("mallory", job.job_id)
    with pytest.raises(JobError, match="does not exist or belongs to someone else"):
        manager.get("alice", 9999)
    assert manager.jobs_of("mallory") == [] and manager.active_job("mallory") is None
    assert not job.stop_event.is_set(), "the failed stop did not touch the job"
    assert manager.get("alice", job.job_id) is job
    gate.opened.set()
    wait_done(job)
    assert job.state == FINISHED


def test_a_job_needs_an_owner(manager, gates):
    with pytest.raises(JobError, match="no identity yet"):
        submit_gate(manager, gates, "", lambda job: None, label="anonymous")


def test_a_job_spec_is_plain_data_that_survives_json(synthetic):
    import json

    spec = JobSpec(kind=TRAIN, owner="alice", config=TrainConfig(arch="mlp", hidden=(32,), epochs=2), name="mine")
    again = JobSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and again.config.hidden == (32,)
    study = JobSpec(kind=STUDY, owner="bob", study="lr-sweep", seeds=(0, 1), options={"subset": 10})
    assert JobSpec.from_dict(json.loads(json.dumps(study.to_dict()))) == study
    assert study.label == "Learning-rate sweep"


def test_a_study_job_saves_each_run_and_reports_rows(manager, store, synthetic):
    base = TrainConfig(arch="mlp", hidden=(16,), optimizer="sgd", schedule="constant", lr=0.1, batch_size=20,
                       epochs=1, subset=10)
    job = manager.submit_study("custom", synthetic, owner="alice",
                               options={"knob": "lr", "values": [0.1, 0.01], "base": base.to_dict()})
    wait_done(job)
    assert job.state == FINISHED and job.kind == STUDY and [r.label for r in job.result] == ["lr 0.1", "lr 0.01"]
    snapshot = job.progress.snapshot()
    assert snapshot["finished"] and snapshot["done"] == 2 and len(snapshot["rows"]) == 2
    saved = store.list(owner="alice")
    assert len(saved) == 2 and {r.extra["experiment"] for r in saved} == {"custom"}
    assert all(row.run_id for row in job.result)


def test_a_bad_study_is_refused_at_submit(manager, synthetic):
    from mnist_core.config import ConfigError

    with pytest.raises(ConfigError, match="Unknown experiment"):
        manager.submit_study("no-such-study", synthetic, owner="alice")


class SlowPolicy:
    """Caps whose checks take as long as the test likes (as database reads and a disk check can)."""

    def __init__(self):
        self.checking, self.go_on = threading.Event(), threading.Event()

    def active_limit(self, spec):
        return 1

    def admit(self, spec, waiting, slots):
        self.checking.set()
        assert self.go_on.wait(timeout=60)


def test_a_submit_s_slow_checks_never_hold_up_page_look_ups_and_still_allow_one_job(store, gates):
    manager = JobManager(store, slots=1, policy=SlowPolicy())
    manager.runners.update({TRAIN: gates})
    policy = manager.policy
    first = Gate("first", [])
    gates.by_name.update({"first": first, "second": Gate("second", [])})
    submitted, refused = [], []

    def submit(name):
        try:
            submitted.append(manager.submit(JobSpec(kind=TRAIN, owner="alice", name=name)))
        except JobError as error:
            refused.append(str(error))

    threads = [threading.Thread(target=submit, args=(name,)) for name in ("first", "second")]
    threads[0].start()
    assert policy.checking.wait(timeout=60)
    threads[1].start()  # a second tab presses Train while the first submit is still being checked
    looked_up = []
    reader = threading.Thread(target=lambda: looked_up.append(
        (manager.jobs_of("alice"), manager.active_job("bob"), manager.latest_job("alice"))))
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive() and looked_up == [([], None, None)], "a page's look-up did not wait for the checks"
    policy.go_on.set()
    for thread in threads:
        thread.join(timeout=60)
    assert len(submitted) == 1 and submitted[0].spec.name == "first"
    assert len(refused) == 1 and "is still " in refused[0] and "before starting another" in refused[0]
    first.opened.set()
    wait_done(submitted[0])
    assert submitted[0].state == FINISHED
