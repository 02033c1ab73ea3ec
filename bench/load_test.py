"""Classroom load test: N students on one MNIST Lab server at once.

    .venv/bin/python bench/load_test.py --sessions 5 10 20

For each N it starts the real server (`streamlit run app.py` on a free port of
127.0.0.1, with its own empty run folder), warms it up like a teacher would
(one session loads the pages and trains a tiny run, so torch and MNIST are in
memory), then drives N concurrent sessions through Streamlit's own websocket
protocol (bench/streamlit_client.py; a browser each would not fit on 2 cores).

Each session, as a student would: opens the app with its own user token, loads
Home, Train and Run history, sets a small run in the sidebar (1k images,
1 epoch, its own run name and seed) and presses Train, watches the Train page
(the live fragment refreshes as the browser's timer would) and moves between
pages while its run waits in the queue and trains, then checks its results
(Train page, Run history, the run store on disk), and draws a digit on the
Draw page.

Printed per N: page response times while training runs (full page loads:
median, p95, max), live-refresh times, queue waits, server memory (RSS from
/proc, sampled every 0.2 s) and whether every session got exactly its own
results; then the memory growth per session across N (the dataset must be
held once) and PASS/FAIL for "a page loads in under 2 s at N = 20".
Options: `--costs` also measures each page's server CPU one request at a time
after the round; `--profile` samples the server with py-spy (optional:
`pip install py-spy`) and prints where its busy threads spent their time;
`--trace` prints every session's states and page times; `--named` makes every
session join the class with a name and a PIN first (the runs are then the
student's, and found in the store by the name they were filed under).
It is a benchmark, not a test: it lives outside the timed CI suite.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from streamlit_client import PageView, StreamlitClientError, StreamlitSession, element_texts, table_rows  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # never anything else: this drives a local server only
PAGE_LIMIT_SECONDS = 2.0  # the bar: a page loads in under 2 s at N = 20
GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=17179869184"
MNIST_FLOAT_MB = 60_000 * 784 * 4 / 2**20  # ~180 MB: what a per-session copy of the training set would cost

# Pages, by their titles in app.py's st.navigation.
HOME, TRAIN, HISTORY, DRAW = "Home", "Train", "Run history", "Draw a digit"
# The pages a student wanders to while the run trains; the Train page between each.
WANDER = [HISTORY, HOME]


# --- the server --------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Server:
    """`streamlit run app.py` in a child process, with an RSS sampler."""

    def __init__(self, runs_dir: Path, log_path: Path, data_dir: str, niceness: int = 0):
        self.port = free_port()
        self.niceness = niceness
        self.runs_dir, self.log_path, self.data_dir = runs_dir, log_path, data_dir
        self.process: subprocess.Popen | None = None
        self.samples: list[tuple[float, float]] = []  # (time, RSS MB)
        self._sampling = threading.Event()

    def start(self, timeout: float = 90.0) -> float:
        """Start it and wait until /_stcore/health answers; returns the seconds that took."""
        env = dict(os.environ, MNIST_DATA_DIR=self.data_dir, MNIST_LAB_RUNS=str(self.runs_dir),
                   GLIBC_TUNABLES=os.environ.get("GLIBC_TUNABLES", GLIBC_TUNABLES))
        streamlit = REPO / ".venv/bin/streamlit"
        command = [*([str(streamlit)] if streamlit.exists() else [sys.executable, "-m", "streamlit"]), "run", "app.py", "--server.port", str(self.port),
                   "--server.address", HOST, "--server.headless", "true"]
        started = time.perf_counter()
        self._log = open(self.log_path, "w")
        niceness = self.niceness
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True,  # its own group: stop() signals it alone
                                        # set before exec, so every server thread inherits it
                                        preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, niceness))
        threading.Thread(target=self._sample, daemon=True).start()
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with code {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the server did not answer within {timeout:.0f} s; see {self.log_path}")

    def rss_mb(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except (OSError, AttributeError):
            return None
        return None

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def _sample(self) -> None:
        while self.process is not None and self.process.poll() is None:
            rss = self.rss_mb()
            if rss is not None:
                self.samples.append((time.perf_counter(), rss))
            time.sleep(0.2)

    def peak_between(self, start: float, end: float) -> float:
        inside = [rss for t, rss in self.samples if start <= t <= end]
        return max(inside) if inside else float("nan")

    def stop(self) -> None:
        """SIGTERM to the server (its own process group, which only it is in), SIGKILL after 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self._log.close()

    def log_problems(self) -> list[str]:
        """The server log's errors: for each traceback, its last line (the exception and message)."""
        lines = self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        problems, in_traceback = [], False
        for index, line in enumerate(lines):
            if line.startswith("Traceback"):
                in_traceback = True
            elif in_traceback and line and not line.startswith((" ", "\t", "Traceback", "During handling",
                                                                 "The above exception")):
                problems.append(line.strip())
                in_traceback = False
            elif " ERROR " in line and not in_traceback:
                problems.append(line.strip())
        return problems


def machine_busy_seconds() -> float:
    """CPU seconds all processes on this machine have spent busy since boot (from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Profiler:
    """py-spy sampling the server while the sessions run (optional: `--profile`).

    It records only the thread holding the GIL (`--gil`): the server is one Python
    process, so at most one thread runs Python at a time, and the share of ticks
    with a GIL holder says how close it is to its ceiling, whatever the cores.
    """

    RATE = 50  # samples per second

    def __init__(self, pid: int, output: Path):
        self.output = output
        self.started = time.perf_counter()
        self.seconds = 0.0
        py_spy = shutil.which("py-spy") or str(REPO / ".venv/bin/py-spy")
        if not Path(py_spy).exists():
            raise RuntimeError("--profile needs py-spy (pip install py-spy into .venv)")
        self.process = subprocess.Popen([py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate",
                                         str(self.RATE), "--gil", "--nonblocking", "--output", str(output)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        self.seconds = time.perf_counter() - self.started
        self.process.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def gil_share(self) -> float:
        """Share of sampling ticks at which some thread held the GIL (an estimate: py-spy may skip ticks)."""
        total = sum(int(line.rpartition(" ")[2]) for line in self.output.read_text().splitlines()
                    if line.rpartition(" ")[2].isdigit()) if self.output.exists() else 0
        return total / (self.RATE * self.seconds) if self.seconds else float("nan")

    def summary(self, top: int = 8) -> list[tuple[str, float]]:
        """What held the GIL, inclusive share of samples: the project's lines (pages, ui, mnist_core;
        not the router's generic lines), then a few library hot spots (Altair's schema validation, ...)."""
        if not self.output.exists():
            return []
        inclusive, library, total = {}, dict.fromkeys(LIBRARY_HOT_SPOTS, 0), 0
        for line in self.output.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            total += int(count)
            for name in {frame.strip() for frame in stack.split(";")}:
                inclusive[name] = inclusive.get(name, 0) + int(count)
            for label, key in LIBRARY_HOT_SPOTS.items():
                if key in stack:
                    library[label] += int(count)
        if not total:
            return []
        ours = sorted(((n, c) for n, c in inclusive.items()
                       if re.search(r"\((pages|ui|mnist_core)/|\((runs|train|home|draw)\.py:", n)),
                      key=lambda item: -item[1])
        return ([(name, count / total) for name, count in ours[:top]]
                + [(label, count / total) for label, count in library.items() if count])


# Library functions worth naming in the profile: what they stand for -> a frame to look for.
LIBRARY_HOT_SPOTS = {
    "Altair: validating chart specs (jsonschema)": "validate_jsonschema (altair",
    "Altair: chart to dict (incl. validation)": "SchemaBase.to_dict (altair",
    "Streamlit: altair_chart": "VegaChartsMixin.altair_chart",
    "Streamlit: vega_lite_chart": "VegaChartsMixin.vega_lite_chart",
    "training jobs (JobManager._run)": "JobManager._run (mnist_core/jobs.py",
}


# --- reading the pages ---------------------------------------------------------------

QUEUED, RUNNING, FINISHED, FAILED, IDLE = "queued", "running", "finished", "failed", "idle"


@dataclass
class TrainState:
    state: str
    queue_position: int | None = None
    accuracy: str | None = None  # as shown, e.g. "91.23%"
    run_name: str | None = None


def main_elements(view: PageView) -> list[tuple[tuple[int, ...], object]]:
    return [(path, e) for path, e in sorted(view.elements.items()) if path[:1] == (0,)]


def read_train_state(view: PageView) -> TrainState:
    """What the page says about this user's run: queued (at which place), running, finished or failed.

    Reads the Train page's live view (ui/live_training.py) and, on other pages,
    the sidebar's compact status.
    """
    joined = _unescape("\n".join(view.texts))  # st.markdown text arrives with Markdown escapes ("91\\.2%")
    position = re.search(r"number (\d+) in (?:line|the queue)", joined)
    if "Waiting for a free training slot" in joined or "Queued" in joined:
        return TrainState(QUEUED, int(position.group(1)) if position else None)
    kinds = [e.WhichOneof("type") for e in view.elements.values()]
    if "progress" in kinds or "Training: watch it" in joined:
        return TrainState(RUNNING)
    for _, element in main_elements(view):
        if element.WhichOneof("type") == "metric" and element.metric.label == "Test accuracy":
            return TrainState(FINISHED, accuracy=element.metric.body, run_name=_run_title(view))
    last_run = re.search(r"Last run (\w[\w-]*)(?:: ([\d.]+)% test accuracy)?", joined)
    if last_run:
        return TrainState(FINISHED if last_run.group(1) != "failed" else FAILED,
                          accuracy=f"{last_run.group(2)}%" if last_run.group(2) else None)
    if "The last run failed" in joined:
        return TrainState(FAILED)
    return TrainState(IDLE)


def _run_title(view: PageView) -> str | None:
    """The run name the Train page shows above its result (a '#### name' markdown)."""
    for _, element in main_elements(view):
        if element.WhichOneof("type") == "markdown" and element.markdown.body.startswith("#### "):
            return _unescape(element.markdown.body[5:].strip())
    return None


def _unescape(markdown_text: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown_text)


# --- one student ---------------------------------------------------------------------

@dataclass
class Timing:
    at: float  # seconds since the test began
    seconds: float
    page: str
    kind: str  # "page" (a full page load), "press" (a button), "refresh" (a live fragment)
    training: bool = False  # whether some run was queued or training at that moment (filled in later)


@dataclass
class Student:
    index: int
    token: str
    run_name: str
    seed: int
    name: str = ""  # --named: the name this session joins the class with
    timings: list[Timing] = field(default_factory=list)
    pressed_at: float | None = None
    started_at: float | None = None  # first seen no longer queued
    finished_at: float | None = None  # first seen finished
    first_queue_position: int | None = None
    shown_accuracy: str | None = None
    shown_name: str | None = None
    history_check: str = "not checked"
    own_results: bool = False
    drawing: str = "not tried"
    errors: list[str] = field(default_factory=list)
    states_seen: list[str] = field(default_factory=list)


class StudentSession:
    def __init__(self, student: Student, port: int, origin: float, settings: argparse.Namespace):
        self.student = student
        self.client = StreamlitSession(port, f"user={student.token}", host=HOST, timeout=settings.request_timeout)
        self.origin = origin
        self.settings = settings

    def now(self) -> float:
        return time.perf_counter() - self.origin

    async def _timed(self, kind: str, page: str, action) -> PageView:
        at = self.now()
        view = await action
        self.student.timings.append(Timing(at, view.seconds, page, kind))
        for problem in view.exceptions:
            if "redacted" in problem:  # showErrorDetails = "none": the traceback is only in the server log
                problem = "an exception (details in the server log)"
            self.student.errors.append(f"{page} page: {problem}")
        if view.page_not_found:
            self.student.errors.append(f"{page}: page not found")
        return view

    async def load(self, page: str) -> PageView:
        return await self._timed("page", page, self.client.load(page))

    async def run(self) -> None:
        student = self.student
        await asyncio.sleep(random.Random(student.index).uniform(0, self.settings.stagger))
        await self.client.connect()
        try:
            await self._timed("page", HOME, self.client.load(None))  # the URL without a page: Home
            if student.name:
                await self.join_class()
            await self.load(TRAIN)
            await self.load(HISTORY)
            await self.train()
            await self.check_results()
            await self.draw()
        except (StreamlitClientError, KeyError, asyncio.TimeoutError) as error:
            student.errors.append(f"{type(error).__name__}: {error}")
        finally:
            await self.client.close()

    async def join_class(self) -> None:
        """Type a name and a PIN in the sidebar and press Join, as a student does first."""
        view = self.client.view
        values = {view.widget("Name", "text_input", sidebar=True): self.student.name,
                  view.widget("PIN (4 digits)", "text_input", sidebar=True): f"{1000 + self.student.index}"}
        # The panel is a form: as in the browser, the fields travel with the Join press, in one script run.
        view = await self._timed("press", HOME, self.client.interact(
            values, press=view.widget("Join", "button", sidebar=True)))
        if not view.has_widget("Sign out", "button", sidebar=True):
            raise KeyError(f"joining as {self.student.name!r} failed: {view.text[-200:]}")

    async def train(self) -> None:
        """Set a small run in the sidebar, press Train on the Train page, and watch it to the end."""
        student, settings = self.student, self.settings
        view = await self.load(TRAIN)
        if view.has_widget("Regularisation and seed", "expander", sidebar=True):  # drawn when opened
            view = await self._timed("press", TRAIN, self.client.interact(
                {view.widget("Regularisation and seed", "expander", sidebar=True): True}))
        values = {view.widget("Run name", "text_input", sidebar=True): student.run_name,
                  view.widget("Training images", sidebar=True): settings.images,
                  view.widget("Epochs", sidebar=True): settings.epochs,
                  view.widget("Seed", sidebar=True): student.seed}
        if settings.arch:
            values[view.widget("Architecture", sidebar=True)] = settings.arch
        # Choices first (the browser sends a rerun per change; one rerun for all of them is enough here).
        view = await self._timed("press", TRAIN, self.client.interact(values))
        train_button = view.widget("Train", "button", sidebar=True)
        if train_button.disabled:
            raise KeyError(f"the sidebar's Train button is disabled: {view.text[-300:]}")
        student.pressed_at = self.now()
        view = await self._timed("press", TRAIN, self.client.interact(press=train_button))
        self._observe(view)
        if student.states_seen[-1] == IDLE:  # refused: the page says why (e.g. a run still active)
            alerts = [t for e in view.elements.values() if e.WhichOneof("type") == "alert" for t in element_texts(e)]
            raise KeyError(f"pressing Train started no run: {alerts[:1] or view.text[-200:]}")
        deadline = time.perf_counter() + settings.run_timeout
        wander = 0
        while student.finished_at is None:
            if time.perf_counter() > deadline:
                raise asyncio.TimeoutError(f"the run did not finish within {settings.run_timeout:.0f} s")
            await self._dwell(settings.dwell)  # on the Train page, its live view refreshing
            if student.finished_at is not None:
                break
            await self.load(WANDER[wander % len(WANDER)])  # a look at another page meanwhile
            wander += 1
            await self._dwell(settings.dwell / 2)
            view = await self.load(TRAIN)
            self._observe(view)

    async def _dwell(self, seconds: float) -> None:
        """Stay on the page for `seconds` while every auto-rerun fragment (st.fragment(run_every=...))
        refreshes on its own timer, as the browser does; one request at a time."""
        end = time.perf_counter() + seconds
        due: dict[str, float] = {}  # fragment id -> when its timer fires next
        while time.perf_counter() < end and self.student.finished_at is None:
            timers = dict(self.client.auto_reruns)
            due = {f: due.get(f, time.perf_counter() + interval) for f, interval in timers.items()}
            if not due:
                await asyncio.sleep(min(0.5, max(0.0, end - time.perf_counter())))
                continue
            fragment_id = min(due, key=due.get)
            wait = due[fragment_id] - time.perf_counter()
            if wait > end - time.perf_counter():
                await asyncio.sleep(max(0.0, end - time.perf_counter()))
                break
            await asyncio.sleep(max(0.0, wait))
            due[fragment_id] = time.perf_counter() + timers[fragment_id]
            page = self.client.view.page_name if self.client.view else "?"
            view = await self._timed("refresh", page, self.client.refresh_fragment(fragment_id))
            self._observe(view)

    def _observe(self, view: PageView) -> None:
        student = self.student
        state = read_train_state(view)
        if not student.states_seen or student.states_seen[-1] != state.state:
            student.states_seen.append(state.state)
        if state.state == QUEUED and student.first_queue_position is None:
            student.first_queue_position = state.queue_position
        if state.state in (RUNNING, FINISHED, FAILED) and student.started_at is None:
            student.started_at = self.now()
        if state.state in (FINISHED, FAILED) and student.finished_at is None:
            student.finished_at = self.now()
            if state.state == FAILED:
                student.errors.append("the run failed")

    async def check_results(self) -> None:
        """The Train page, the Run history page and the run store must show this student's run only."""
        student = self.student
        view = await self.load(TRAIN)
        state = read_train_state(view)
        student.shown_accuracy, student.shown_name = state.accuracy, state.run_name
        view = await self.load(HISTORY)
        class_view = None
        if view.has_widget("Show class runs", "checkbox"):
            toggle = view.widget("Show class runs", "checkbox")
            class_view = await self._timed("press", HISTORY, self.client.interact({toggle: True}))
        student.history_check = check_history(view, student, class_view)

    async def draw(self) -> None:
        """Load the Draw page and, if it has the canvas, send a drawn 7 as the canvas would."""
        student = self.student
        view = await self.load(DRAW)
        canvases = [w for w in view.widgets if w.kind == "bidi_component" and "canvas" in w.label]
        if not canvases:
            student.drawing = "no canvas on the page"
            return
        if view.has_widget("Model that reads your drawing", "selectbox"):
            model = chosen_option(view.widget("Model that reads your drawing", "selectbox")) or ""
            if not model.startswith(student.run_name) or "class run" in model:
                student.errors.append(f"the Draw page reads with {model[:60]!r}, not its own run")
        drawing = {"drawing": {"raw": {"objects": [SEVEN_PATH]}, "data": seven_png_data_url()},
                   "backgroundFit": None}
        view = await self._timed("press", DRAW, self.client.interact({canvases[0]: drawing}))
        student.drawing = read_prediction(view)


# --- checks ------------------------------------------------------------------------------

ROUND_RUN_NAMES: dict[str, str] = {}  # run name -> token, for every student of the current N


def tables_by_section(view: PageView) -> dict[str, list[list[dict]]]:
    """The main area's tables grouped under the heading (or toggle) shown above them."""
    section, tables = "", {}
    for _, element in main_elements(view):
        kind = element.WhichOneof("type")
        if kind == "heading":
            section = _unescape(element.heading.body)
        elif kind == "checkbox":  # st.toggle, e.g. "Show class runs (4)"
            section = element.checkbox.label
        elif kind in ("dataframe", "table"):
            tables.setdefault(section, []).append(table_rows(element))
    return tables


def run_names_under(view: PageView, section_start: str) -> list[str] | None:
    """The "Name" column of every table under sections starting with `section_start`; None if no such section."""
    found = None
    for section, tables in tables_by_section(view).items():
        if section.lower().startswith(section_start.lower()):
            found = (found or []) + [str(row.get("Name")) for rows in tables for row in rows]
    return found


def check_history(view: PageView, student: Student, class_view: PageView | None) -> str:
    """'ok', or what is wrong. The Run history page's "Your runs" table must list exactly this
    student's run; with class runs shown, the others' runs must be in the class table, not in theirs."""
    mine = run_names_under(view, "Your runs")
    if mine is None:
        return f"no 'Your runs' table on the page (sections: {list(tables_by_section(view))})"
    if mine != [student.run_name]:
        return f"'Your runs' lists {mine}, expected only {student.run_name!r}"
    if class_view is None:
        return "ok"
    mine_again = run_names_under(class_view, "Your runs")
    classmates = run_names_under(class_view, "Show class runs") or []
    if mine_again != [student.run_name]:
        return f"with class runs shown, 'Your runs' lists {mine_again}"
    if student.run_name in classmates:
        return "its own run is listed among the class runs"
    strangers = [name for name in classmates if name not in ROUND_RUN_NAMES and name != "warm-up run"]
    if strangers:
        return f"unknown runs among the class runs: {strangers[:3]}"
    return "ok"


def stored_runs(runs_dir: Path) -> list[dict]:
    """Every saved run's meta.json plus its test accuracy, read straight from the run folders
    (the server's truth; read without mnist_core so this client never imports torch)."""
    runs = []
    for meta_path in sorted(runs_dir.glob("*/meta.json")):
        if meta_path.parent.name.startswith("."):
            continue  # a run still being written
        meta = json.loads(meta_path.read_text())
        metrics_path = meta_path.with_name("metrics.json")
        metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
        config = json.loads(meta_path.with_name("config.json").read_text())
        runs.append({**meta, "test_accuracy": metrics.get("test_accuracy"), "config": config})
    return runs


def check_run_store(runs_dir: Path, students: list[Student]) -> dict[str, str]:
    """Token -> 'ok' or the problem: the store must hold exactly one run per student, under its name,
    with its own settings (its seed) and the accuracy its Train page showed."""
    runs = stored_runs(runs_dir)
    verdicts = {}
    for student in students:
        own = [r for r in runs if ((r.get("extra") or {}).get("student") == student.name if student.name
                                   else r.get("owner") == student.token)]
        accuracy = own[0]["test_accuracy"] if len(own) == 1 else None
        if len(own) != 1:
            verdicts[student.token] = f"{len(own)} runs in the store"
        elif own[0].get("name") != student.run_name:
            verdicts[student.token] = f"stored under the name {own[0].get('name')!r}"
        elif own[0]["config"].get("seed") != student.seed:
            verdicts[student.token] = f"trained with seed {own[0]['config'].get('seed')}, not its own {student.seed}"
        elif accuracy is not None and student.shown_accuracy != f"{100 * accuracy:.2f}%":
            verdicts[student.token] = f"page showed {student.shown_accuracy}, store has {100 * accuracy:.2f}%"
        else:
            verdicts[student.token] = "ok"
    return verdicts


def read_prediction(view: PageView) -> str:
    """The Draw page's answer: "read 7 (93% sure)", or why there is none."""
    for problem in view.exceptions:
        return f"exception: {problem[:80]}"
    for _, element in main_elements(view):
        if element.WhichOneof("type") == "markdown" and "draw-top-digit" in element.markdown.body:
            found = re.search(r"draw-top-digit[^>]*>(\d)</span>.*?(\d+)% sure", element.markdown.body)
            if found:
                return f"read {found.group(1)} ({found.group(2)}% sure)"
    hints = [t for _, e in main_elements(view) if e.WhichOneof("type") == "alert" for t in element_texts(e)]
    return "no reading" + (f": {hints[0][:70]}" if hints else "")


def chosen_option(widget) -> str | None:
    """The option a select box shows as chosen: a value the server set, else its default index."""
    options = widget.options
    if widget.proto.set_value and widget.proto.HasField("raw_value"):
        return widget.proto.raw_value
    if widget.proto.HasField("default") and 0 <= widget.proto.default < len(options):
        return options[widget.proto.default]
    return None


def _seven_points() -> list[tuple[float, float]]:
    return [(70, 60), (210, 60), (120, 230)]


SEVEN_PATH = {"type": "path", "stroke": "#FFFFFF", "strokeWidth": 18, "fill": None,
              "path": [["M", *_seven_points()[0]], *[["L", x, y] for x, y in _seven_points()[1:]]]}


def seven_png_data_url() -> str:
    """A 280x280 drawing of a 7, white on black, as the canvas's PNG data URL."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(image).line(_seven_points(), fill=(255, 255, 255, 255), width=18, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


# --- one N -----------------------------------------------------------------------------

@dataclass
class Round:
    sessions: int
    students: list[Student]
    started_seconds: float
    warmup_seconds: float
    rss_idle: float
    rss_warm: float
    rss_peak: float
    rss_end: float
    wall_seconds: float
    cpu_seconds: float
    client_cpu_seconds: float
    other_cpu_seconds: float  # everything else on the machine (other people's work) during the round
    store_verdicts: dict[str, str]
    log_problems: list[str]
    training_window: tuple[float, float]
    costs: dict[str, tuple[float, float]]  # request -> (server CPU s, wall s), one at a time, after the round
    profile: list[tuple[str, float]]  # (function, share of the server's GIL-holding samples), with --profile
    gil_share: float | None  # share of the time some server thread held the GIL, with --profile
    client_lag_marks: list[tuple[float, float]]  # (t from the round's start, how late this client's event loop
    # woke for a 10 ms timer then), through the round

    @property
    def client_lags(self) -> list[float]:
        return [lag for _, lag in self.client_lag_marks]


async def warm_up(port: int, settings) -> None:
    """What the teacher does before class: open the app and train one tiny run (loads torch and MNIST)."""
    teacher = Student(-1, "teacher0warmup", "warm-up run", 0)
    session = StudentSession(teacher, port, time.perf_counter(), settings)
    await session.client.connect()
    try:
        await session.client.load(None)
        session.settings = argparse.Namespace(**{**vars(settings), "images": "200"})
        await session.train()
        for page in (HISTORY, DRAW):
            await session.client.load(page)
    finally:
        await session.client.close()
    if teacher.errors:
        raise RuntimeError(f"the warm-up failed: {teacher.errors}")


async def measure_costs(server: Server, student: Student, settings, repeats: int = 8) -> dict[str, tuple[float, float]]:
    """Server CPU and wall time per request, one request at a time, for a student whose run is done:
    what each page costs the server, without the queueing of the load test. -> {request: (cpu s, wall s)}"""
    probe = StudentSession(Student(student.index, student.token, student.run_name, student.seed),
                           server.port, time.perf_counter(), settings)
    await probe.client.connect()
    costs: dict[str, list[tuple[float, float]]] = {}

    async def measure(name: str, action) -> PageView:
        cpu = server.cpu_seconds()
        view = await action
        costs.setdefault(name, []).append((server.cpu_seconds() - cpu, view.seconds))
        return view

    try:
        await probe.client.load(None)
        for _ in range(repeats):
            for page in (HOME, TRAIN, HISTORY, DRAW):
                view = await measure(f"{page} page", probe.client.load(page))
            canvases = [w for w in view.widgets if w.kind == "bidi_component" and "canvas" in w.label]
            if canvases:
                drawing = {"drawing": {"raw": {"objects": [SEVEN_PATH]}, "data": seven_png_data_url()},
                           "backgroundFit": None}
                await measure("drawing read (fragment)", probe.client.interact({canvases[0]: drawing}))
    finally:
        await probe.client.close()
    return {name: (statistics.median(c for c, _ in pairs), statistics.median(w for _, w in pairs))
            for name, pairs in costs.items()}


async def watch_client_lag(marks: list[tuple[float, float]], origin: float, every: float = 0.01) -> None:
    """The client's own delay, into `marks` as (t from `origin`, lag): every page time includes it, since
    all sessions share one event loop. If it is large, the client, not the server, made pages look slow;
    the times tell the client's share of a given slow page."""
    while True:
        asked = time.perf_counter()
        await asyncio.sleep(every)
        woke = time.perf_counter()
        marks.append((woke - origin, woke - asked - every))


async def drive(port: int, students: list[Student], origin: float, settings,
                marks: list[tuple[float, float]]) -> None:
    """All sessions at once; `marks` gets how late this client's loop woke for a 10 ms timer meanwhile, and when."""
    sessions = [StudentSession(s, port, origin, settings) for s in students]
    watcher = asyncio.create_task(watch_client_lag(marks, origin))
    try:
        await asyncio.gather(*(s.run() for s in sessions))
    finally:
        watcher.cancel()


def run_round(n: int, settings) -> Round:
    workdir = Path(tempfile.mkdtemp(prefix=f"mnist-lab-load-{n}-"))
    runs_dir = workdir / "runs"
    runs_dir.mkdir()
    server = Server(runs_dir, workdir / "server.log", settings.data_dir, settings.nice)
    students: list[Student] = []
    try:
        started_seconds = server.start()
        time.sleep(1.0)
        rss_idle = server.rss_mb()
        t0 = time.perf_counter()
        asyncio.run(warm_up(server.port, settings))
        warmup_seconds = time.perf_counter() - t0
        time.sleep(1.0)
        rss_warm = server.rss_mb()
        cpu_before, client_before, machine_before = server.cpu_seconds(), time.process_time(), machine_busy_seconds()
        students = [Student(i, f"load{n:02d}s{i:02d}" + os.urandom(4).hex(), f"load-{n}-student-{i:02d}", 100 + i,
                            name=f"Pupil {i:02d}" if settings.named else "")
                    for i in range(n)]
        ROUND_RUN_NAMES.clear()
        ROUND_RUN_NAMES.update({s.run_name: s.token for s in students})
        profiler = Profiler(server.process.pid, workdir / f"profile-{n}.txt") if settings.profile else None
        origin = time.perf_counter()
        client_lag_marks: list[tuple[float, float]] = []
        try:
            asyncio.run(asyncio.wait_for(drive(server.port, students, origin, settings, client_lag_marks),
                                         settings.round_timeout))
        finally:
            end = time.perf_counter()
            if profiler:
                profiler.stop()
        cpu = server.cpu_seconds() - cpu_before
        client_cpu = time.process_time() - client_before
        other_cpu = machine_busy_seconds() - machine_before - cpu - client_cpu
        rss_peak = server.peak_between(origin, end)
        time.sleep(0.5)
        rss_end = server.rss_mb()
        costs = asyncio.run(measure_costs(server, students[0], settings)) if settings.costs else {}
        verdicts = check_run_store(runs_dir, students)
        window = training_window(students)
        for student in students:
            for timing in student.timings:
                timing.training = window[0] <= timing.at <= window[1]
            student.own_results = (verdicts.get(student.token) == "ok" and student.history_check == "ok"
                                   and student.shown_name == student.run_name and not student.errors)
        return Round(n, students, started_seconds, warmup_seconds, rss_idle, rss_warm, rss_peak, rss_end,
                     end - origin, cpu, client_cpu, other_cpu, verdicts, server.log_problems(), window, costs,
                     profiler.summary() if profiler else [], profiler.gil_share() if profiler else None,
                     client_lag_marks)
    finally:
        server.stop()
        troubled = server.log_problems() or any(s.errors for s in students)
        if settings.keep or troubled:
            print(f"(server log and runs kept in {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def training_window(students: list[Student]) -> tuple[float, float]:
    """From the first Train press to the moment the last run was seen finished."""
    pressed = [s.pressed_at for s in students if s.pressed_at is not None]
    finished = [s.finished_at for s in students if s.finished_at is not None]
    if not pressed:
        return (0.0, -1.0)
    return (min(pressed), max(finished) if finished else float("inf"))


# --- the report ------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), by linear interpolation; nan for no values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _stats(values: list[float]) -> str:
    if not values:
        return "–"
    return (f"median {statistics.median(values):.3f} s · p95 {percentile(values, 95):.3f} s · "
            f"max {max(values):.3f} s  (n={len(values)})")


def client_share_of_slow_pages(timings: list[Timing], marks: list[tuple[float, float]]) -> str:
    """For the page loads over 1 s: how late this client's own loop ran during each (the summed lateness of
    its 10 ms timer inside the page's time), so that a slow page can be told from a busy client."""
    slow = [t for t in timings if t.kind == "page" and t.seconds > 1.0]
    if not slow or not marks:
        return "–"
    shares = [sum(lag for at, lag in marks if t.at <= at <= t.at + t.seconds) for t in slow]
    return f"max {max(shares):.3f} s, median {statistics.median(shares):.3f} s over {len(slow)} pages"


def over_a_second(timings: list[Timing]) -> str:
    """How many page loads while training took over a second, and when (t from the round's start)."""
    slow = sorted((t for t in timings if t.kind == "page" and t.training and t.seconds > 1.0), key=lambda t: t.at)
    if not slow:
        return "none"
    pages = Counter(t.page for t in slow)
    buckets = Counter(int(t.at // 10) * 10 for t in slow)  # 10-second bins
    return (f"{len(slow)}, by page {dict(pages)}, by time (t from, count) "
            + ", ".join(f"{start}s: {count}" for start, count in sorted(buckets.items())))


def print_round(result: Round, trace: bool = False) -> None:
    students = result.students
    timings = [t for s in students for t in s.timings]
    page_training = [t.seconds for t in timings if t.kind == "page" and t.training]
    page_other = [t.seconds for t in timings if t.kind == "page" and not t.training]
    refresh = [t.seconds for t in timings if t.kind == "refresh" and t.training]
    presses = [t.seconds for t in timings if t.kind == "press"]
    waits = [s.started_at - s.pressed_at for s in students if s.started_at and s.pressed_at]
    to_result = [s.finished_at - s.pressed_at for s in students if s.finished_at and s.pressed_at]
    positions = [s.first_queue_position for s in students if s.first_queue_position]
    own = sum(s.own_results for s in students)
    drawn = sum(s.drawing.startswith("read") for s in students)
    sevens = sum(s.drawing.startswith("read 7") for s in students)
    slowest = max((t for t in timings if t.kind == "page" and t.training), key=lambda t: t.seconds, default=None)
    window = result.training_window
    print(f"\n=== N = {result.sessions} sessions ===")
    rows = [
        ("page load while training", _stats(page_training)),
        ("slowest page while training", f"{slowest.page} {slowest.seconds:.3f} s at t={slowest.at:.1f} s"
         if slowest else "–"),
        ("page loads over 1 s while training", over_a_second(timings)),
        *[(f"  · {page} page while training", _stats([t.seconds for t in timings if t.kind == "page"
                                                         and t.training and t.page == page]))
          for page in (TRAIN, HISTORY, HOME)],
        ("page load, before/after training", _stats(page_other)),
        ("live refresh (fragment) while training", _stats(refresh)),
        ("button press (settings, Train, canvas)", _stats(presses)),
        ("queue wait (Train pressed → running)", f"median {statistics.median(waits):.1f} s · max {max(waits):.1f} s"
         if waits else "–"),
        ("Train pressed → result shown", f"median {statistics.median(to_result):.1f} s · max {max(to_result):.1f} s"
         if to_result else "–"),
        ("queue position first shown", f"max {max(positions)} (seen by {len(positions)}/{len(students)})"
         if positions else "never seen queued"),
        ("training window", f"{window[0]:.1f} s → {window[1]:.1f} s"),
        ("total time (N sessions, start to end)", f"{result.wall_seconds:.1f} s"),
        ("this client's own loop lag (10 ms timer)", _stats(result.client_lags)),
        ("the client's own lateness inside pages over 1 s", client_share_of_slow_pages(timings, result.client_lag_marks)),
        ("CPU used: server / this client / others",
         f"{result.cpu_seconds / result.wall_seconds:.2f} / {result.client_cpu_seconds / result.wall_seconds:.2f} / "
         f"{max(0.0, result.other_cpu_seconds) / result.wall_seconds:.2f} cores (of {os.cpu_count()})"),
        ("server RSS idle / warm / peak / end",
         f"{result.rss_idle:.0f} / {result.rss_warm:.0f} / {result.rss_peak:.0f} / {result.rss_end:.0f} MB"),
        ("RSS growth per session (peak − warm) / N", f"{(result.rss_peak - result.rss_warm) / result.sessions:.1f} MB"),
        ("sessions with exactly their own results", f"{own}/{len(students)}"),
        ("Draw page read the drawn 7", f"{drawn}/{len(students)} got a reading, {sevens} of them read 7"),
        ("server start / warm-up", f"{result.started_seconds:.1f} s / {result.warmup_seconds:.1f} s"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    for student in students:
        problems = []
        if student.errors:
            problems.append("; ".join(student.errors[:3]))
        if student.history_check != "ok":
            problems.append(f"run history: {student.history_check}")
        if result.store_verdicts.get(student.token) != "ok":
            problems.append(f"run store: {result.store_verdicts.get(student.token)}")
        if student.shown_name != student.run_name:
            problems.append(f"Train page showed run {student.shown_name!r}")
        if problems:
            print(f"  ! student {student.index:02d}: " + " | ".join(problems))
    if drawn < len(students):
        print(f"  ! drawing: {sorted({s.drawing for s in students if not s.drawing.startswith('read')})[:3]}")
    if trace:
        for s in students:
            pages = " ".join(f"{t.page[:5]}:{t.seconds:.2f}" for t in s.timings if t.kind != "refresh")
            print(f"  student {s.index:02d} states {'→'.join(s.states_seen)}; history {s.history_check}; "
                  f"queue #{s.first_queue_position}; shown {s.shown_name!r} {s.shown_accuracy}; {pages}")
    if result.costs:
        print("  one request at a time after the round (median server CPU · wall):")
        for name, (cpu, wall) in result.costs.items():
            print(f"    {name:<28} {1000 * cpu:6.0f} ms CPU · {1000 * wall:6.0f} ms")
    if result.profile:
        print(f"  the server's GIL was held {100 * result.gil_share:.0f}% of the time (py-spy --gil); "
              "what held it (inclusive share):")
        for name, share in result.profile:
            print(f"    {100 * share:5.1f}%  {name[:110]}")
    if result.log_problems:
        counts = {}
        for problem in result.log_problems:
            counts[problem] = counts.get(problem, 0) + 1
        for problem, count in sorted(counts.items(), key=lambda item: -item[1])[:5]:
            print(f"  ! server log, {count}×: {problem[:160]}")


def print_summary(results: list[Round]) -> bool:
    print("\n=== summary ===")
    print(f"  {'N':>3}  {'page median':>11}  {'page p95':>9}  {'page max':>9}  {'refresh p95':>11}  "
          f"{'queue wait max':>14}  {'RSS warm→peak':>14}  {'MB/session':>10}  own results")
    for r in results:
        timings = [t for s in r.students for t in s.timings]
        pages = [t.seconds for t in timings if t.kind == "page" and t.training]
        refresh = [t.seconds for t in timings if t.kind == "refresh" and t.training]
        waits = [s.started_at - s.pressed_at for s in r.students if s.started_at and s.pressed_at]
        print(f"  {r.sessions:>3}  {statistics.median(pages) if pages else float('nan'):>10.3f}s  "
              f"{percentile(pages, 95):>8.3f}s  {max(pages, default=float('nan')):>8.3f}s  "
              f"{percentile(refresh, 95):>10.3f}s  {max(waits, default=float('nan')):>13.1f}s  "
              f"{r.rss_warm:>6.0f}→{r.rss_peak:<6.0f}  {(r.rss_peak - r.rss_warm) / r.sessions:>10.1f}  "
              f"{sum(s.own_results for s in r.students)}/{r.sessions}")
    if len(results) >= 2:
        low, high = min(results, key=lambda r: r.sessions), max(results, key=lambda r: r.sessions)
        slope = (high.rss_peak - low.rss_peak) / (high.sessions - low.sessions)
        verdict = "held once" if slope < MNIST_FLOAT_MB / 4 else "GROWS WITH SESSIONS"
        print(f"  memory: peak RSS grows {slope:.1f} MB per extra session from N={low.sessions} to "
              f"N={high.sessions} (a copy of the training set per session would be ≥ {MNIST_FLOAT_MB:.0f} MB): "
              f"dataset {verdict}")
    ok = True
    target = [r for r in results if r.sessions == 20] or [max(results, key=lambda r: r.sessions)]
    for r in target:
        pages = [t.seconds for s in r.students for t in s.timings if t.kind == "page" and t.training]
        own = sum(s.own_results for s in r.students)
        passed = bool(pages) and max(pages) < PAGE_LIMIT_SECONDS
        ok = ok and passed and own == r.sessions
        print(f"  {'PASS' if passed else 'FAIL'}: a page loads in under {PAGE_LIMIT_SECONDS:.0f} s at "
              f"N = {r.sessions} (slowest page load while training: {max(pages, default=float('nan')):.3f} s)")
        print(f"  {'PASS' if own == r.sessions else 'FAIL'}: every session got exactly its own results at "
              f"N = {r.sessions} ({own}/{r.sessions})")
    return ok


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[5, 10, 20], help="N values, one server each")
    parser.add_argument("--images", default="1k", help="the sidebar's 'Training images' choice")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--arch", default="", help="the sidebar's 'Architecture' label (default: the app's)")
    parser.add_argument("--stagger", type=float, default=2.0, help="sessions open within this many seconds")
    parser.add_argument("--dwell", type=float, default=2.0, help="seconds on the Train page between other pages")
    parser.add_argument("--request-timeout", type=float, default=60.0, help="longest wait for one page (s)")
    parser.add_argument("--run-timeout", type=float, default=300.0, help="longest wait for one run (s)")
    parser.add_argument("--round-timeout", type=float, default=900.0, help="longest time for one N (s)")
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DATA_DIR", "../shared/mnist"))
    parser.add_argument("--nice", type=int, default=0,
                        help="niceness of the server and this client; a negative one (root only) gives them "
                             "priority over other work, to approximate a dedicated server on a shared machine")
    parser.add_argument("--keep", action="store_true", help="keep the server log and run folder")
    parser.add_argument("--costs", action="store_true",
                        help="after each N, measure each page's server CPU with one request at a time")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy during each N")
    parser.add_argument("--trace", action="store_true", help="print every session's states and page times")
    parser.add_argument("--named", action="store_true", help="every session joins the class with a name and PIN first")
    return parser.parse_args(argv)


IMAGES_PER_CLASS = {"200": 20, "1k": 100, "10k": 1000, "All 60k": 0}  # the sidebar's "Training images"


def cli_solo_seconds(settings) -> float | None:
    """`train_seconds` of the CLI for the sessions' run, alone on the machine with every core."""
    sys.path.insert(0, str(REPO))
    from mnist_core.config import ARCHITECTURES

    arch = {label: key for key, label in ARCHITECTURES.items()}.get(settings.arch, "mlp") if settings.arch else "mlp"
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "mnist_core", "--threads", str(os.cpu_count() or 1), "train",
                   "--arch", arch, "--subset", str(IMAGES_PER_CLASS.get(settings.images, 0)),
                   "--epochs", str(settings.epochs), "--out", out, "--data-dir", settings.data_dir]
        completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                                   env=dict(os.environ, GLIBC_TUNABLES=os.environ.get("GLIBC_TUNABLES", GLIBC_TUNABLES)))
    if completed.returncode != 0:
        print(f"  ! the CLI reference run failed: {completed.stderr.strip()[-300:]}")
        return None
    return json.loads(completed.stdout.strip().splitlines()[-1])["train_seconds"]


def print_ratio(result: "Round", solo: float | None) -> None:
    """The last result against N solo runs that each use every core (the ideal of a fair, full machine)."""
    start, end = result.training_window
    if solo is None or end == float("inf"):
        print("  last result / (N × CLI train_seconds, all cores): –")
        return
    ideal = result.sessions * solo
    print(f"  last result / (N × CLI train_seconds, all cores): {end - start:.1f} s / ({result.sessions} × "
          f"{solo:.2f} s = {ideal:.1f} s) = {(end - start) / ideal:.2f} (goal <= 1.25)")


def main(argv=None) -> int:
    settings = parse_args(argv)
    if settings.nice:
        os.setpriority(os.PRIO_PROCESS, 0, settings.nice)  # this client too: its timestamps must not lag
    print(f"MNIST Lab load test: N = {settings.sessions}; each session trains {settings.images} images × "
          f"{settings.epochs} epoch(s); {os.cpu_count()} CPU cores; load average "
          f"{os.getloadavg()[0]:.1f} before starting" + (f"; server and client at niceness {settings.nice}"
                                                          if settings.nice else ""))
    solo = cli_solo_seconds(settings)
    print(f"CLI reference: train_seconds {solo} for one such run alone with {os.cpu_count()} threads")
    results = []
    for n in settings.sessions:
        results.append(run_round(n, settings))
        print_round(results[-1], settings.trace)
        print_ratio(results[-1], solo)
    ok = print_summary(results)
    for r in results:
        print_ratio(r, solo)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
