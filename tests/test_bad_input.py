"""Every case of the bad-input catalogue (tests/bad_input_catalogue.py), through the real surface.

- cli: `python -m mnist_core ...` in a subprocess. A refused input exits 2 with the message
  as its one stderr line ("error: ..."); nothing anywhere says "Traceback".
- page: app.py in AppTest, as a browser would run it (sidebar, router, worker thread). The
  message must be on the page as the user reads it (Markdown rendered: markers gone, escapes
  undone), there is no exception element, and no rendered element mentions a traceback.
- engine: mnist_core called directly; the exception (or result) says the message.

Pages train on real MNIST in tiny runs (200 images, 1 epoch); runs that must still be going
when a test acts (Stop, reload, a second Train) train on all 54,000 images in batches of 16
and are stopped at the end. Each test has its own run store, hence its own job queue.

At the end: the security defaults (localhost, XSRF protection, no usage stats, raw HTML only
where reviewed, saved files never unpickled).
"""
from __future__ import annotations

import errno
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

from bad_input_catalogue import BULLETS, CASES, HOSTILE_NAME, Case
from streamlit.testing.v1 import AppTest

from test_app import APP, open_app, press_train_with_an_absurd_learning_rate, tiny, wait_for_end
from test_cli import run_cli

# AppTests of app.py run as the router (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("router_mode")

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_MNIST = Path(os.environ.get("MNIST_DATA_DIR") or REPO_ROOT.parent / "shared" / "mnist").resolve()
# A proxy on the discard port: every download is refused at once, as on a machine without internet.
OFFLINE_ENV = {name: "http://127.0.0.1:9" for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}
OFFLINE_ENV.update({"no_proxy": None, "NO_PROXY": None})


@dataclass
class Seen:
    """What the user got: the messages (one per line or element) and everything shown, raw."""
    messages: list[str]
    raw: str
    values: dict = field(default_factory=dict)  # fills the message's {placeholders}
    exit_code: int | None = None


# ---------------------------------------------------------------- reading a page as the user sees it

def shown(text: str) -> str:
    r"""Markdown source -> the text on screen: bold markers dropped, backslash escapes undone.

    >>> shown(r"**MNIST is not available.** a \*\*b\*\* c\_d")
    'MNIST is not available. a **b** c_d'
    """
    return re.sub(r"\\(.)", r"\1", re.sub(r"(?<!\\)\*\*", "", str(text)))


def everything_rendered(at) -> str:
    """Every element of the page and the sidebar, as its protobuf text (labels, bodies, captions...)."""
    parts = []

    def walk(node):
        if getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def page_seen(at, values: dict | None = None) -> Seen:
    kinds = ("error", "warning", "info", "success", "markdown", "caption", "toast", "text")
    messages = [shown(e.value) for kind in kinds for e in getattr(at, kind)]
    messages += [shown(s.label) for s in at.status]
    assert not at.exception, [e.value for e in at.exception]
    return Seen(messages, everything_rendered(at), values or {})


def user_of(at) -> str:
    return at.query_params["user"]


def train_job(at):
    from ui.session import get_jobs
    return get_jobs().latest_job(user_of(at), kind="train")


def start_long_run(at):
    """A run that lasts (all 54,000 images, batches of 16), started from the sidebar; waits for its first report."""
    at.select_slider(key="cfg_subset").set_value("All 60k").run()
    at.select_slider(key="cfg_batch_size").set_value(16).run()
    at.slider(key="cfg_epochs").set_value(1).run()
    at.button(key="sidebar_train").click().run()
    job = train_job(at)
    assert job is not None and job.active
    deadline = time.time() + 60
    while not job.progress.snapshot()["batches"] and time.time() < deadline:
        time.sleep(0.05)
    assert job.active, job.error
    return job


@pytest.fixture
def jobs_to_stop():
    """Long runs a test started; stopped at the end whatever happened."""
    started = []
    yield started
    for job in started:
        job.stop()
        wait_for_end(job)


# ---------------------------------------------------------------- building damaged things on disk

def damaged_mnist(tmp_path: Path, damage: str, name: str) -> Path:
    """A copy of MNIST in tmp_path (links to the real files) with one file damaged."""
    root = tmp_path / "mnist"
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for source in (REAL_MNIST / "MNIST" / "raw").iterdir():
        if source.name != name:
            (raw / source.name).symlink_to(source)
    original = (REAL_MNIST / "MNIST" / "raw" / name).read_bytes()
    if damage == "truncate":
        (raw / name).write_bytes(original[:100 if "labels" in name else 1000])
    elif damage == "header":
        (raw / name).write_bytes(b"\x00\x00\x00\x00" + original[4:])
    else:
        assert damage == "missing"
    return root


@pytest.fixture(scope="module")
def tiny_result():
    """A trained softmax run on synthetic digits (the run store needs a TrainResult)."""
    from mnist_core.config import TrainConfig
    from mnist_core.data import make_synthetic
    from mnist_core.train import fit

    data = make_synthetic(n_train_per_class=10, n_test_per_class=2)
    return fit(TrainConfig(arch="softmax", epochs=1, batch_size=50, lr=0.1, optimizer="sgd"), data), data


HOSTILE_KINDS = ("good", "bad-json", "wrong-shape", "pickle", "bad-history", "bad-metrics", "bad-date", "bad-events")
READABLE_NAMES = ["bad-events run", "bad-history run", "pickle run", "wrong-shape run", "good run"]  # newest first


class WritesAMarker:
    """A pickle that, if ever unpickled, creates a file: what a malicious weights.pt could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def hostile_store(root: Path, tiny_result, marker: Path) -> dict[str, str]:
    """A run store with one good run and four damaged ones; returns their ids by kind."""
    from mnist_core.models import MLP
    from mnist_core.runs import RunStore

    result, data = tiny_result
    store = RunStore(root)
    ids = {}
    for kind in HOSTILE_KINDS:
        ids[kind] = store.save(result, name=f"{kind} run", owner="someoneelse123", test_labels=data.test_labels).run_id
        time.sleep(0.01)  # distinct creation times, so the order of the list is fixed
    (root / ids["bad-json"] / "meta.json").write_text("{not json")
    torch.save(MLP(hidden=(16,)).state_dict(), root / ids["wrong-shape"] / "weights.pt")
    torch.save({"linear.weight": WritesAMarker(marker)}, root / ids["pickle"] / "weights.pt")
    (root / ids["bad-history"] / "history.json").write_text('{"batches": [')
    # Valid JSON with the wrong types: what a hand-edited or forged folder holds.
    metrics = json.loads((root / ids["bad-metrics"] / "metrics.json").read_text())
    (root / ids["bad-metrics"] / "metrics.json").write_text(json.dumps(dict(metrics, test_accuracy="lots")))
    meta = json.loads((root / ids["bad-date"] / "meta.json").read_text())
    (root / ids["bad-date"] / "meta.json").write_text(json.dumps(dict(meta, created=1e30)))
    (root / ids["bad-events"] / "history.json").write_text(json.dumps(
        {"batches": [{"step": 10, "epoch": 1, "loss": "<b>x</b>"}], "epochs": [{"step": 10, "epoch": "1"}]}))
    assert not marker.exists()
    return ids


# ---------------------------------------------------------------- the command line

def cli_seen(completed, values: dict | None = None) -> Seen:
    errors = [line.removeprefix("error: ") for line in completed.stderr.splitlines() if line.startswith("error: ")]
    return Seen(errors, completed.stderr + completed.stdout, values or {}, completed.returncode)


def scenario_cli(case: Case, tmp_path, **_) -> Seen:
    completed = run_cli(*(arg.format(tmp=tmp_path) for arg in case.args))
    assert len(completed.stderr.splitlines()) == 1, completed.stderr  # the message alone, no usage dump
    return cli_seen(completed)


def scenario_cli_mnist(case: Case, tmp_path, **_) -> Seen:
    damage, name = case.args
    root = damaged_mnist(tmp_path, damage, name)
    completed = run_cli("train", "--data-dir", str(root), "--out", str(tmp_path / "runs"), env_changes=OFFLINE_ENV)
    assert not (tmp_path / "runs").exists(), "nothing is trained or saved on damaged data"
    return cli_seen(completed, {"data_dir": root, "raw": root / "MNIST" / "raw"})


def scenario_cli_run(case: Case, tmp_path, tiny_result, **_) -> Seen:
    marker = tmp_path / "i-was-executed"
    ids = hostile_store(tmp_path / "runs", tiny_result, marker)
    kind = case.args[0]
    path = (f"{tmp_path / 'runs' / ids['good']}/../.." if kind == "dotdot" else str(tmp_path / "runs" / ids[kind]))
    completed = run_cli("evaluate", path)
    assert not marker.exists(), "a weights file must never be unpickled as code"
    return cli_seen(completed, {"run_id": ids.get(kind), "path": path})


def scenario_cli_predict_blank(case: Case, tmp_path, tiny_result, **_) -> Seen:
    from PIL import Image

    from mnist_core.runs import RunStore

    info = RunStore(tmp_path / "runs").save(tiny_result[0], name="reader")
    blank = tmp_path / "blank.png"
    Image.fromarray(np.zeros((280, 280, 4), np.uint8) + np.uint8([0, 0, 0, 255])).save(blank)
    completed = run_cli("predict", str(info.path), str(blank))
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    assert lines == [{"image": str(blank), "error": lines[0].get("error")}], completed.stdout
    return Seen([lines[0]["error"]], completed.stderr + completed.stdout, exit_code=completed.returncode)


def scenario_cli_run_name(case: Case, tmp_path, **_) -> Seen:
    from mnist_core.runs import RUN_ID_PATTERN

    out = tmp_path / "out" / "runs"
    completed = run_cli("train", "--arch", "softmax", "--subset", "2", "--batch-size", "10", "--max-steps", "1",
                        "--name", HOSTILE_NAME, "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    run_dir = Path(json.loads(completed.stdout.splitlines()[-1])["run_dir"])
    assert run_dir.parent == out and RUN_ID_PATTERN.match(run_dir.name), "the name is never a path"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_dir()) == sorted(["out", "runs", run_dir.name])
    name = json.loads((run_dir / "meta.json").read_text())["name"]
    return Seen([name], completed.stderr + completed.stdout, exit_code=completed.returncode)


def scenario_cli_runs_not_writable(case: Case, tmp_path, **_) -> Seen:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "runs"
    completed = run_cli("train", "--subset", "2", "--batch-size", "10", "--out", str(out))
    assert "epoch 1" not in completed.stderr, "the folder is checked before training, not after"
    assert len(completed.stderr.splitlines()) == 1, completed.stderr
    return cli_seen(completed, {"path": out})


# ---------------------------------------------------------------- pages

def scenario_page_sidebar(case: Case, runs_dir, **_) -> Seen:
    at = open_app()
    for kind, key, value in case.args:
        getattr(at, kind)(key=key).set_value(value).run()
    assert at.button(key="sidebar_train").disabled, "Train is off while a setting is invalid"
    assert at.session_state["sidebar_config"] is None
    seen = page_seen(at)
    seen.messages = [shown(e.value) for e in at.sidebar.error]  # the message sits under the controls
    return seen


def scenario_page_diverge(case: Case, runs_dir, **_) -> Seen:
    at = open_app()
    press_train_with_an_absurd_learning_rate(at)
    wait_for_end(train_job(at))
    at.run()
    assert train_job(at).result.status == "diverged"
    return page_seen(at)


def scenario_page_blank_canvas(case: Case, runs_dir, tiny_result, **_) -> Seen:
    from test_draw_page import inject

    from mnist_core.runs import RunStore

    RunStore(runs_dir).save(tiny_result[0], name="reader", owner="someoneelse123")
    at = open_app("pages/draw.py")
    reset_canvas = np.zeros((280, 280, 4), np.uint8)
    reset_canvas[..., 3] = 255  # what the canvas sends after its reset: opaque black
    inject(at, reset_canvas)
    at.run()
    assert not any("draw-top-digit" in m.value for m in at.markdown), "no prediction for a blank canvas"
    return page_seen(at)


def scenario_page_mnist(case: Case, tmp_path, runs_dir, monkeypatch, **_) -> Seen:
    damage, name = case.args
    root = damaged_mnist(tmp_path, damage, name)
    monkeypatch.setenv("MNIST_DATA_DIR", str(root))
    at = open_app()
    assert at.button(key="use_stand_in_button_data"), "the stand-in is offered"
    assert not at.image, "no sample digits from damaged files"
    return page_seen(at, {"data_dir": root, "raw": root / "MNIST" / "raw"})


def scenario_page_hostile_runs(case: Case, tmp_path, runs_dir, tiny_result, **_) -> Seen:
    page, kind = case.args
    marker = tmp_path / "i-was-executed"
    ids = hostile_store(runs_dir, tiny_result, marker)
    at = open_app()
    at.session_state["selected_run_id"] = ids[kind]
    at.switch_page(page).run()
    if page == "pages/runs.py":
        names = list(at.dataframe[0].value["Name"])  # the damaged ones are left out, the rest listed
        assert names == READABLE_NAMES, names
        skipped = [c.value for c in at.caption if c.value.startswith("Skipped a damaged run folder")]
        assert len(skipped) == 3, skipped  # bad JSON, bad metrics, bad date
    else:
        picker = at.selectbox[0]
        assert len(picker.options) == len(READABLE_NAMES) and picker.value == ids[kind]
        picker.set_value(ids["good"]).run()  # the good run still opens
        assert not at.exception and not [e for e in at.error if "cannot be opened" in e.value]
        at.selectbox[0].set_value(ids[kind]).run()
    assert not marker.exists(), "a weights file must never be unpickled as code"
    return page_seen(at, {"run_id": ids[kind]})


def scenario_page_run_name(case: Case, tmp_path, runs_dir, **_) -> Seen:
    from mnist_core.runs import RUN_ID_PATTERN
    from ui.text import plain

    at = tiny(open_app())
    at.text_input(key="cfg_run_name").set_value(HOSTILE_NAME).run()
    at.button(key="sidebar_train").click().run()
    job = train_job(at)
    wait_for_end(job)
    at.run()
    assert job.run_info is not None, job.save_error
    assert f"#### {plain(HOSTILE_NAME)}" in [m.value for m in at.markdown], "the title shows the name as typed"
    assert any(plain(f"Run saved: {HOSTILE_NAME}") in t.value for t in at.toast)
    seen = page_seen(at)
    saved = run_store_entries(runs_dir)
    assert len(saved) == 1 and RUN_ID_PATTERN.match(saved[0]), "the folder name never comes from the run name"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"], "nothing was written outside the run store"
    at.switch_page("pages/runs.py").run()
    history = page_seen(at)
    names = list(at.dataframe[0].value["Name"])
    assert names == [HOSTILE_NAME], names  # a table cell: plain text, never Markdown or HTML
    return Seen(seen.messages + names, seen.raw + history.raw)


def scenario_page_train_twice(case: Case, runs_dir, jobs_to_stop, monkeypatch, **_) -> Seen:
    from mnist_core.jobs import JobManager
    from ui.session import get_jobs

    first_tab = open_app()
    second_tab = open_app("pages/train.py", user=user_of(first_tab))  # opened before the run starts
    assert not second_tab.button(key="sidebar_train").disabled
    job = start_long_run(first_tab)
    jobs_to_stop.append(job)
    if case.args[0] == "race":
        # Both tabs looked for a running job before either had submitted one, so both show Train
        # enabled: the job queue itself must refuse the second run.
        real_active_job = JobManager.active_job
        monkeypatch.setattr(JobManager, "active_job", lambda self, owner, kind=None: None)
        second_tab.run()
        assert not second_tab.button(key="sidebar_train").disabled
        second_tab.button(key="sidebar_train").click().run()
        monkeypatch.setattr(JobManager, "active_job", real_active_job)
    else:
        second_tab.button(key="sidebar_train").click().run()
    assert [j for j in get_jobs().jobs_of(user_of(first_tab)) if j.active] == [job], "one run, not two"
    if case.args[0] == "second-tab":
        # Streamlit drops a click on a button that is disabled by the time the script runs;
        # the tab shows the running job instead, and says why Train is off.
        train = second_tab.button(key="sidebar_train")
        assert train.disabled and train.help == "A run is already training: stop it or wait for it to finish."
        assert second_tab.button(key="page_stop"), "the second tab shows the running job, live"
    return page_seen(second_tab, {"label": job.label})


def scenario_page_stop_twice(case: Case, runs_dir, jobs_to_stop, **_) -> Seen:
    first_tab = open_app()
    job = start_long_run(first_tab)
    jobs_to_stop.append(job)
    second_tab = open_app("pages/train.py", user=user_of(first_tab))
    assert not second_tab.button(key="sidebar_stop").disabled
    first_tab.button(key="sidebar_stop").click().run()
    second_tab.button(key="sidebar_stop").click().run()  # the second press, from a page not yet redrawn
    wait_for_end(job)
    first_tab.run()
    second_tab.run()
    assert job.result.status == "stopped"
    first = page_seen(first_tab)
    second = page_seen(second_tab)
    assert [m for m in first.messages if "Stopped by the user" in m] == [m for m in second.messages
                                                                         if "Stopped by the user" in m]
    assert not first_tab.button(key="sidebar_train").disabled, "Train is back once the run has ended"
    return Seen(second.messages, first.raw + second.raw)


def scenario_page_reload(case: Case, runs_dir, jobs_to_stop, **_) -> Seen:
    at = open_app()
    job = start_long_run(at)
    jobs_to_stop.append(job)
    reloaded = open_app("pages/train.py", user=user_of(at))  # a reload is a new session with the same URL
    assert train_job(reloaded) is job
    assert reloaded.button(key="sidebar_train").disabled and reloaded.button(key="page_stop")
    assert reloaded.get("progress"), "the live progress bar is back"
    seen = page_seen(reloaded)
    reloaded.button(key="page_stop").click().run()  # and the reloaded page can stop it
    wait_for_end(job)
    reloaded.run()
    assert job.result.status == "stopped" and not reloaded.exception
    seen.raw += everything_rendered(reloaded)
    return seen


def scenario_page_delete_training(case: Case, runs_dir, jobs_to_stop, **_) -> Seen:
    from mnist_core.runs import RunStore

    at = tiny(open_app())
    at.button(key="sidebar_train").click().run()
    wait_for_end(train_job(at))
    finished = RunStore(runs_dir).list()[0].run_id
    job = start_long_run(at)
    jobs_to_stop.append(job)
    at.switch_page("pages/runs.py").run()
    assert [r.run_id for r in RunStore(runs_dir).list()] == [finished], "the training run is not in the history"
    picker = at.selectbox(key="manage_run")
    assert len(picker.options) == 1 and picker.value == finished, "delete is offered for finished runs only"
    at.button(key="delete_button").click().run()
    at.button(key="delete_yes").click().run()
    assert job.active and not at.exception, "deleting another run leaves the training alone"
    return page_seen(at)


def scenario_page_save_error(case: Case, runs_dir, monkeypatch, **_) -> Seen:
    import mnist_core.runs as runs_module

    runs_dir.mkdir(parents=True)
    if case.args[0] == "disk-full":
        owner, name = runs_module.torch, "save"

        def fault(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    else:
        # The tests run as root, which ignores permission bits: say what the kernel says to anyone else.
        owner, name = Path, "mkdir"
        real_mkdir = Path.mkdir

        def fault(self, *args, **kwargs):
            if self.parent == runs_dir:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
            return real_mkdir(self, *args, **kwargs)
    real = getattr(owner, name)
    monkeypatch.setattr(owner, name, fault)
    # The fault is injected into this process, so the run must be saved here: the threads executor
    # (a supported setting) saves in the server's process, the default worker processes would not see it.
    monkeypatch.setenv("MNIST_LAB_EXECUTOR", "threads")
    at = tiny(open_app())
    at.button(key="sidebar_train").click().run()
    job = train_job(at)
    wait_for_end(job)
    at.run()
    assert job.state == "finished" and job.run_info is None and job.save_error
    assert any("Completed 1 epoch" in shown(s.value) for s in at.success), "the results are still shown"
    seen = page_seen(at, {"runs": runs_dir.resolve()})
    assert run_store_entries(runs_dir) == [], "no half-written run folder is left"
    monkeypatch.setattr(owner, name, real)  # space again: the page still works, and the next run is saved
    at.switch_page("pages/runs.py").run()
    assert any("No runs yet" in i.value for i in at.info) and not at.exception
    at.button(key="sidebar_train").click().run()
    wait_for_end(train_job(at))
    assert train_job(at).run_info is not None
    seen.raw += everything_rendered(at)
    return seen


def run_store_entries(runs_dir) -> list[str]:
    """What the run store folder holds besides the class database (mnist_core/database.py)."""
    from mnist_core.database import DATABASE_FILE
    return [] if not runs_dir.exists() else sorted(p.name for p in runs_dir.iterdir()
                                                   if not p.name.startswith(DATABASE_FILE))


def scenario_page_crash(case: Case, runs_dir, monkeypatch, **_) -> Seen:
    from mnist_core.history import History

    def crash(self, event):
        raise RuntimeError("injected fault")
    monkeypatch.setattr(History, "on_batch_end", crash)
    # The fault is injected into this process: the threads executor trains here. (A worker process that
    # crashes or is killed is tests/test_workers.py's and tests/test_jobs_in_processes.py's.)
    monkeypatch.setenv("MNIST_LAB_EXECUTOR", "threads")
    at = tiny(open_app())
    at.button(key="sidebar_train").click().run()
    job = train_job(at)
    wait_for_end(job)  # the session never hangs on a crashed worker
    at.run()
    assert job.state == "failed"
    assert "The last run failed; see the Train page." in [c.value for c in at.sidebar.caption]
    assert run_store_entries(runs_dir) == [], "no half-written run folder"
    assert not at.button(key="sidebar_train").disabled, "the user can train again"
    seen = page_seen(at)
    at.switch_page("pages/runs.py").run()
    assert any("No runs yet" in i.value for i in at.info) and not at.exception
    seen.raw += everything_rendered(at)
    return seen


# ---------------------------------------------------------------- the engine

def scenario_engine_config(case: Case, **_) -> Seen:
    from mnist_core.config import ConfigError, TrainConfig

    with pytest.raises(ConfigError) as caught:
        TrainConfig(**dict(case.args)).validate()
    return Seen([str(caught.value)], str(caught.value))


def scenario_engine_diverge(case: Case, **_) -> Seen:
    from mnist_core.config import TrainConfig
    from mnist_core.data import make_synthetic
    from mnist_core.train import fit

    config = TrainConfig(arch="deep-mlp", optimizer="sgd", schedule="constant", lr=10, batch_size=16, epochs=1)
    result = fit(config, make_synthetic(n_train_per_class=20, n_test_per_class=2))
    assert result.status == "diverged" and result.test_accuracy is None
    return Seen([result.reason], result.reason)


def scenario_engine_run_id(case: Case, tmp_path, **_) -> Seen:
    from mnist_core.runs import RunStore, RunStoreError

    (tmp_path / "etc").mkdir()  # a folder the '..' would reach
    store = RunStore(tmp_path / "runs" / "inner")
    messages = []
    for action in (store.get, store.load, store.load_model, lambda i: store.delete(i, actor="cli"),
                   lambda i: store.rename(i, "x", actor="cli")):
        with pytest.raises(RunStoreError) as caught:
            action(case.args[0])
        messages.append(str(caught.value))
    assert (tmp_path / "etc").is_dir(), "nothing outside the store was touched"
    assert len(set(messages)) == 1
    return Seen(messages, "\n".join(messages))


# ---------------------------------------------------------------- the class at once (issue 12)

def scenario_engine_classroom(case: Case, tmp_path, **_) -> Seen:
    from mnist_core.classroom import Classroom, ClassroomError
    from mnist_core.database import Database

    room = Classroom(Database(tmp_path / "db.sqlite3"))
    room.join(None, "Ada", "2580")
    kind = case.args[0]
    attempts = {"taken": lambda: room.join(None, "ada", "1111"),
                "wrong-pin": lambda: room.sign_in(None, "Ada", "1111"),
                "bad-pin": lambda: room.join(None, "Bo", "12a")}
    if kind == "five-wrong":
        for _ in range(4):
            with pytest.raises(ClassroomError):
                room.sign_in(None, "Ada", "1111")
        attempts[kind] = lambda: room.sign_in(None, "Ada", "1111")
    with pytest.raises(ClassroomError) as caught:
        attempts[kind]()
    assert room.sign_in(None, "Ada", "2580") if kind != "five-wrong" else True, "the account is unchanged"
    return Seen([str(caught.value)], str(caught.value))


def scenario_engine_ownership(case: Case, tmp_path, tiny_result, **_) -> Seen:
    from mnist_core.runs import RunPermissionError, RunStore

    store = RunStore(tmp_path / "runs")
    info = store.save(tiny_result[0], name="theirs", owner="student-1")
    with pytest.raises(RunPermissionError) as caught:
        if case.args[0] == "rename":
            store.rename(info.run_id, "mine", actor="student-2")
        else:
            store.delete(info.run_id, actor="student-2")
    assert store.get(info.run_id).name == "theirs", "nothing changed"
    return Seen([str(caught.value)], str(caught.value), {"run_id": info.run_id})


def scenario_engine_caps(case: Case, tmp_path, tiny_result, monkeypatch, **_) -> Seen:
    from collections import namedtuple

    import mnist_core.caps as caps_module
    from mnist_core.caps import Caps, CapError, ClassroomPolicy, set_class_caps
    from mnist_core.classroom import Classroom
    from mnist_core.config import TrainConfig
    from mnist_core.database import Database
    from mnist_core.jobs import JobSpec
    from mnist_core.runs import RunStore, RunStoreError

    room = Classroom(Database(tmp_path / "db.sqlite3"))
    store = RunStore(tmp_path / "runs")
    policy = ClassroomPolicy(room, store)
    store.space_check = policy.space_check
    ada = room.join(None, "Ada", "2580")
    kind = case.args[0]
    with pytest.raises((CapError, RunStoreError)) as caught:
        if kind == "model":
            policy.admit(JobSpec(kind="train", owner=ada.owner, config=TrainConfig(arch="deep-mlp", hidden=(2048, 2048))),
                         waiting=0, slots=1)
        elif kind == "queue":
            policy.admit(JobSpec(kind="train", owner=ada.owner, config=TrainConfig()), waiting=60, slots=1)
        elif kind == "quota":
            set_class_caps(room, None, Caps(quota_bytes_per_student=1_000_000))
            store.save(tiny_result[0], owner=ada.owner)
        else:
            usage = namedtuple("Usage", "total used free")
            monkeypatch.setattr(caps_module.shutil, "disk_usage", lambda path: usage(0, 0, 500_000_000))
            store.save(tiny_result[0], owner=ada.owner)
    assert store.list() == [], "nothing was saved"
    return Seen([str(caught.value)], str(caught.value))


def scenario_page_sign_in(case: Case, runs_dir, **_) -> Seen:
    from mnist_core.classroom import Classroom
    from mnist_core.database import open_database

    Classroom(open_database(runs_dir)).join(None, "Ada", "2580")
    name, pin, button = case.args
    at = open_app()
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_pin").input(pin)
    at.button(key=button).click().run()
    assert "signed_in_student" not in at.session_state, "not signed in"
    return page_seen(at)


def scenario_page_teacher(case: Case, runs_dir, monkeypatch, **_) -> Seen:
    from mnist_core.classroom import TEACHER_PIN_ENV

    if case.args[0] == "unset":
        monkeypatch.delenv(TEACHER_PIN_ENV, raising=False)
    else:
        monkeypatch.setenv(TEACHER_PIN_ENV, "4821")
    at = open_app("pages/teacher.py")
    if case.args[0] == "wrong":
        at.text_input(key="teacher_pin").input("0000")
        at.button(key="teacher_unlock").click().run()
    assert not [t for t in at.tabs], "the console stays locked"
    return page_seen(at)


def scenario_page_link(case: Case, runs_dir, **_) -> Seen:
    import html

    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in case.args:
        at.query_params[key] = value
    at.run()
    seen = page_seen(at)
    seen.messages = [html.unescape(m) for m in seen.messages]
    assert at.session_state["sidebar_config"] is not None, "the rest of the sidebar still works"
    return seen


def scenario_page_run_name_invisible(case: Case, runs_dir, **_) -> Seen:
    at = tiny(open_app())
    at.text_input(key="cfg_run_name").set_value("\u200b\u200b").run()
    at.button(key="sidebar_train").click().run()
    assert train_job(at) is None, "refused before training"
    return page_seen(at)


def scenario_cli_predict_bomb(case: Case, tmp_path, tiny_result, **_) -> Seen:
    import struct
    import zlib

    from mnist_core.runs import RunStore

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    bomb = tmp_path / "bomb.png"  # a few bytes whose header claims 20000x20000 grey pixels
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b""))
    info = RunStore(tmp_path / "runs").save(tiny_result[0], name="reader")
    completed = run_cli("predict", str(info.path), str(bomb))
    line = json.loads(completed.stdout.splitlines()[0])
    assert set(line) == {"image", "error"}
    return Seen([line["error"]], completed.stderr + completed.stdout, exit_code=completed.returncode)


def scenario_engine_canvas_size(case: Case, **_) -> Seen:
    from mnist_core.preprocess import PreprocessError, to_mnist

    with pytest.raises(PreprocessError) as caught:
        to_mnist(np.zeros((6000, 6000, 4), np.uint8))
    return Seen([str(caught.value)], str(caught.value))


def scenario_cli_experiment_not_writable(case: Case, tmp_path, **_) -> Seen:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "runs"
    completed = run_cli("experiment", "lr-sweep", "--subset", "2", "--epochs", "1", "--out", str(out))
    assert "test_accuracy" not in completed.stdout, "the folder is checked before the first run"
    assert len(completed.stderr.splitlines()) == 1, completed.stderr
    return cli_seen(completed, {"path": out})


def scenario_cli_upload(case: Case, tmp_path, good_upload, **_) -> Seen:
    from hostile_zips import hostile_zip

    marker = tmp_path / "i-was-executed"
    upload = tmp_path / "upload.zip"
    upload.write_bytes(hostile_zip(case.args[0], good_upload, marker))
    completed = run_cli("import", str(upload), "--out", str(tmp_path / "runs"))
    assert len(completed.stderr.splitlines()) == 1, completed.stderr
    assert not marker.exists(), "a weights file must never be unpickled as code"
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == [], "nothing is left behind"
    assert sorted(p.name for p in tmp_path.parent.iterdir() if p.name == "evil.txt") == []
    return cli_seen(completed)


def scenario_page_upload(case: Case, tmp_path, runs_dir, good_upload, **_) -> Seen:
    from hostile_zips import hostile_zip

    from mnist_core.runs import RunStore

    marker = tmp_path / "i-was-executed"
    at = open_app("pages/runs.py")
    (box,) = at.get("file_uploader")
    box.set_value(("upload.zip", hostile_zip(case.args[0], good_upload, marker), "application/zip")).run()
    assert not marker.exists(), "a weights file must never be unpickled as code"
    assert RunStore(runs_dir).list() == [] and not at.success, "nothing is saved"
    assert run_store_entries(runs_dir) == [], "nothing is left behind"
    return page_seen(at)


@pytest.fixture(scope="module")
def good_upload(tmp_path_factory):
    from hostile_zips import exported_mlp_zip
    return exported_mlp_zip(tmp_path_factory.mktemp("home"))


def scenario_engine_upload(case: Case, tmp_path, good_upload, **_) -> Seen:
    from hostile_zips import hostile_zip

    from mnist_core.run_import import RunImportError, import_run_zip
    from mnist_core.runs import RunStore

    marker = tmp_path / "i-was-executed"
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RunImportError) as caught:
        import_run_zip(hostile_zip(case.args[0], good_upload, marker), store, owner="student0002")
    assert not marker.exists(), "a weights file must never be unpickled as code"
    assert not store.root.exists() or list(store.root.iterdir()) == [], "nothing is left behind"
    return Seen([str(caught.value)], str(caught.value))


SCENARIOS = {name.removeprefix("scenario_"): function for name, function in globals().items()
             if name.startswith("scenario_")}


# ---------------------------------------------------------------- the tests

def test_the_catalogue_covers_every_line_of_the_issue():
    assert len(CASES) >= 15
    assert {case.bullet for case in CASES} == set(BULLETS)
    assert len({case.id for case in CASES}) == len(CASES)
    assert {case.where for case in CASES} == {"cli", "page", "engine"}
    assert {case.scenario for case in CASES} <= set(SCENARIOS)
    assert all(case.message.strip() for case in CASES)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id, marks=pytest.mark.integration if case.needs_mnist else ())
                                  for case in CASES])  # integration: needs real MNIST (conftest.py)
def test_bad_input(case: Case, request, tmp_path, monkeypatch):
    fixtures = {"tmp_path": tmp_path, "monkeypatch": monkeypatch, "tiny_result": request.getfixturevalue("tiny_result")}
    if case.bullet == "upload":
        fixtures["good_upload"] = request.getfixturevalue("good_upload")
    if case.where == "page":
        fixtures["runs_dir"] = request.getfixturevalue("runs_dir")
        fixtures["jobs_to_stop"] = request.getfixturevalue("jobs_to_stop")
    seen = SCENARIOS[case.scenario](case, **fixtures)

    assert "Traceback" not in seen.raw and "traceback" not in seen.raw.lower()
    if case.where == "cli":
        assert seen.exit_code == case.exit_code, seen.raw
    if case.pattern:
        assert any(re.search(case.message, m) for m in seen.messages), seen.messages
        return
    expected = case.message.format(**seen.values)
    if case.where == "page":  # the sentence is one of the page's elements, or a whole part of one
        assert any(expected in m for m in seen.messages), (expected, seen.messages)
    else:  # the command's error line, or the exception, is exactly the sentence
        assert expected in seen.messages, (expected, seen.messages)


# ---------------------------------------------------------------- security defaults (issue 7, item 5)

APP_SOURCES = [REPO_ROOT / "app.py", *sorted((REPO_ROOT / "ui").glob("*.py")),
               *sorted((REPO_ROOT / "pages").glob("*.py"))]
# Every place that sends raw HTML to the browser, reviewed: each builds its HTML from numbers,
# pictures it encodes itself and fixed text, never from text a user typed or a file on disk.
REVIEWED_RAW_HTML = {
    "ui/class_handwriting.py": 1,  # the misread drawings
    "ui/draw_insight.py": 2,  # the nearest MNIST images: PNGs, digit labels and distances (numbers only)
    "ui/draw_views.py": 2,  # the big digit and its percentage; the preprocessing cards
    "ui/image_grid.py": 2,  # the crisp-pixels CSS; the gallery tiles (digits, probabilities, PNGs)
    "ui/projector.py": 2,  # the projector style sheet (a constant); a chart's summary (html.escape)
}


def test_streamlit_serves_localhost_only_with_xsrf_protection_and_no_usage_stats():
    import tomllib

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"
    assert config["server"]["enableXsrfProtection"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "none", "an unexpected error never shows a traceback"


def test_raw_html_is_sent_only_from_reviewed_places():
    found = {}
    for path in APP_SOURCES:
        text = path.read_text()
        count = text.count("unsafe_allow_html=True") + len(re.findall(r"\bst\.html\(|components\.html\(", text))
        if count:
            found[path.relative_to(REPO_ROOT).as_posix()] = count
    assert found == REVIEWED_RAW_HTML, ("a new raw-HTML call: check that no user text reaches it "
                                        "(escape it with html.escape), then list it here")


def test_saved_files_are_never_unpickled():
    sources = [*sorted((REPO_ROOT / "mnist_core").glob("*.py")), *APP_SOURCES]
    loads = 0
    for path in sources:
        text = path.read_text()
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, f"{path.name}: {call}"
            loads += 1
        for call in re.findall(r"np\.load\([^)]*\)", text):
            assert "allow_pickle=False" in call, f"{path.name}: {call}"
        assert not re.search(r"\bpickle\.loads?\(|\bjoblib\.load\(", text), path.name
    assert loads >= 1, "the run store's torch.load was not found: update this test"
