"""Browser test: the queue survives a server that is killed mid-run.

Three students press Train on the real server (`streamlit run app.py`; two with
the default settings, the third with a small run); while two runs train and the third waits, the server is killed with
SIGKILL. Its worker processes notice and exit. A new server on the same run
store then runs the waiting job to the end, and the two students whose runs
were training see "interrupted by a server restart" with a Re-run button.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT, SERVER_START_TIMEOUT, _answers, _free_port, wait_until_ready
from preconditions import have_mnist, mnist_data_dir, require
from test_train_in_browser import set_slider

pytestmark = pytest.mark.e2e

STUDENTS = ["restartstudent1", "restartstudent2", "restartstudent3"]


def start_server(runs: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, MNIST_DATA_DIR=str(mnist_data_dir()), MNIST_LAB_RUNS=str(runs), MNIST_LAB_EXECUTOR="")
    log = open(log_path, "a")
    # exec: the Popen's pid is the server itself, so SIGKILL hits the server and not a shell.
    server = subprocess.Popen(["bash", "-c", f"source scripts/env.sh && exec '{sys.executable}' -m streamlit run app.py "
                               f"--server.port {port} --server.headless true --server.address 127.0.0.1"],
                              cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + SERVER_START_TIMEOUT
    while not _answers(url):
        assert server.poll() is None and time.time() < deadline, log_path.read_text()[-2000:]
        time.sleep(0.3)
    return server, url


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def job_states(runs: Path) -> dict[str, str]:
    from mnist_core.database import Database
    rows = Database(runs / "mnist_lab.sqlite3").query("SELECT owner, state FROM jobs ORDER BY id")
    return {row["owner"]: row["state"] for row in rows}


def wait_for(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_server_comes_back_with_its_queue(browser_page, tmp_path):
    require(have_mnist(), "real MNIST is not available (set MNIST_DATA_DIR)")
    runs, log_path = tmp_path / "runs", tmp_path / "server.log"
    server, url = start_server(runs, log_path)
    page = browser_page
    try:
        for student in STUDENTS:
            page.goto(f"{url}/?user={student}")
            wait_until_ready(page)
            if student == STUDENTS[-1]:  # the one left waiting: small, so that it ends soon after the restart
                set_slider(page, "Training images", "200")
                set_slider(page, "Epochs", "1")
            page.get_by_role("button", name="Train", exact=True).click()
            wait_for(lambda: student in job_states(runs), 60, f"{student}'s job in the database")
        def two_training():
            states = job_states(runs)
            return states if list(states.values()).count("running") == 2 else None

        states = wait_for(two_training, 120, "two runs training and one waiting")
        assert states[STUDENTS[-1]] == "queued", states
        workers = children_of(server.pid)
        time.sleep(2)  # mid-run
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
        # The workers notice that their server is gone and exit (they never save a run for it).
        wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), 60, "the workers to exit")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)

    interrupted = [owner for owner, state in states.items() if state == "running"]
    waiting = next(owner for owner, state in states.items() if state == "queued")
    server, url = start_server(runs, log_path)
    try:
        page.goto(f"{url}/train?user={waiting}")  # the first visit loads MNIST and recovers the queue
        wait_until_ready(page)
        wait_for(lambda: job_states(runs)[waiting] == "finished", 300, "the waiting job to finish after the restart")
        from mnist_core.runs import RunStore
        assert [run.owner for run in RunStore(runs).list(owner=waiting)] == [waiting]
        for owner in interrupted:
            assert job_states(runs)[owner] == "interrupted"
            page.goto(f"{url}/train?user={owner}")
            wait_until_ready(page)
            page.get_by_text("interrupted by a server restart").wait_for(timeout=30_000)
            assert page.get_by_role("button", name="Re-run").count() == 1
            assert RunStore(runs).list(owner=owner) == []  # nothing half-saved
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
