"""The Ray executor against a real local Ray head (started here on loopback, stopped after).

A study and a training run go through the same job API as in the app; their runs land
in the run store, progress comes back, Stop works; and the CLI's `experiment ...
--executor ray --ray-address HOST:PORT` prints one JSON line per run.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from mnist_core.config import TrainConfig
from mnist_core.jobs import FINISHED, STUDY, JobManager
from mnist_core.runs import RunStore
from preconditions import require_module

TIMEOUT = 300  # a shared machine: a Ray worker's first torch import may wait for the CPU


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ray_address():
    """`ray start --head --num-cpus 2` on 127.0.0.1 in its own process group; stopped after the module."""
    require_module("ray", "ray is missing (pip install -r requirements-dev.txt)")
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="mnist-lab-ray-")
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    head = subprocess.Popen([sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
                             "--num-cpus", "2", "--port", str(port), "--node-ip-address", "127.0.0.1",
                             "--include-dashboard", "false", "--temp-dir", temp, "--disable-usage-stats"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    address = f"127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert head.poll() is None and time.time() < deadline, head.stdout.read() if head.poll() else "no head"
        time.sleep(0.5)
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    yield address
    import ray
    ray.shutdown()
    os.killpg(head.pid, signal.SIGTERM)
    try:
        head.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()


@pytest.fixture
def manager(tmp_path, ray_address):
    return JobManager(RunStore(tmp_path / "runs"), executor="ray", ray_address=ray_address)


def wait_done(job, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while job.active or job.finished is None:
        assert time.monotonic() < deadline, f"the job is still {job.state}"
        time.sleep(0.1)


def test_a_study_runs_as_a_ray_task_and_saves_its_runs(manager, synthetic):
    base = TrainConfig(arch="mlp", hidden=(16,), optimizer="sgd", schedule="constant", lr=0.1, batch_size=20,
                       epochs=1, subset=10)
    job = manager.submit_study("custom", synthetic, owner="alice",
                               options={"knob": "lr", "values": [0.1, 0.01], "base": base.to_dict()})
    wait_done(job)
    assert job.state == FINISHED, job.error
    assert job.kind == STUDY and [r.label for r in job.result] == ["lr 0.1", "lr 0.01"]
    snapshot = job.progress.snapshot()  # the progress came back from the task
    assert snapshot["finished"] and snapshot["done"] == 2 and len(snapshot["rows"]) == 2
    saved = manager.store.list(owner="alice")
    assert len(saved) == 2 and sorted(r.run_id for r in saved) == sorted(r.run_id for r in job.result)


def test_stop_reaches_a_ray_task(manager, synthetic):
    job = manager.submit_training(TrainConfig(arch="mlp", hidden=(32,), batch_size=10, epochs=200,
                                              schedule="constant"), synthetic, owner="bob")
    deadline = time.monotonic() + TIMEOUT
    while len(job.progress.snapshot()["batches"]) < 2:
        assert time.monotonic() < deadline and job.active, job.error
        time.sleep(0.1)
    job.stop()
    wait_done(job)
    assert job.state == FINISHED and job.result.status == "stopped" and job.result.steps < 200 * 45
    assert job.run_info is not None and job.run_info.owner == "bob"


@pytest.mark.integration  # the CLI reads real MNIST
def test_the_cli_runs_an_experiment_on_ray(ray_address, tmp_path):
    from test_cli import run_cli

    completed = run_cli("experiment", "activation", "--subset", "20", "--epochs", "1", "--out",
                        str(tmp_path / "runs"), "--executor", "ray", "--ray-address", ray_address,
                        env_changes={"RAY_USAGE_STATS_ENABLED": "0"})
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    assert lines and all(line["experiment"] == "activation" and line["status"] == "completed" for line in lines)
    assert len(RunStore(tmp_path / "runs").list()) == len(lines)


@pytest.mark.integration
def test_an_unreachable_cluster_is_one_line(tmp_path):
    require_module("ray", "ray is missing (pip install -r requirements-dev.txt)")
    from test_cli import run_cli

    completed = run_cli("experiment", "activation", "--subset", "20", "--epochs", "1", "--out",
                        str(tmp_path / "runs"), "--executor", "ray", "--ray-address", f"127.0.0.1:{_free_port()}",
                        env_changes={"RAY_USAGE_STATS_ENABLED": "0"}, timeout=120)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    last = completed.stderr.splitlines()[-1]  # after the study's header line
    assert last.startswith("error: ") and "cannot be reached" in last
