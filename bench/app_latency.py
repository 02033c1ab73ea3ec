"""How live the app feels: Train-to-first-point, refresh rate, epoch time in the app vs the CLI, 3 sessions at once.

    .venv/bin/python bench/app_latency.py            # starts its own server on a free port
    .venv/bin/python bench/app_latency.py --url http://127.0.0.1:8611   # or measures a running one

Everything is measured in headless Chromium (Debian's /usr/bin/chromium via
Playwright), as a student sees it. A MutationObserver in the page stamps
every change of the progress text and of the loss chart's x-axis (Vega's SVG
labels it "... values from 0 to <epochs done>") with performance.now(), so
the figures are browser-side times, not polling artefacts.

Printed:
1. Train -> first chart point: from the click on Train (sidebar, Home page) to
   the loss chart's first drawn point, for 3 fresh users (MLP, all 60k images).
2. Refresh rate while training: progress-text and chart updates per second,
   median and longest gap between updates.
3. MLP epoch time (1 epoch, constant lr, batch 128, all images): the app's run
   (one torch thread, live view refreshing) against
   `python -m mnist_core train --arch mlp --epochs 1 --schedule constant`
   with its default threads (all cores) and with --threads 1.
4. Three sessions pressing Train at once: each one's wait in the queue, its
   training time, click-to-result time, the queue places it showed and the
   longest gap between its page's updates.

The machine is shared: quote ratios from one run, not absolute times.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

# Installed in every page: stamps each change of the progress text and of the loss chart's extent.
OBSERVER_JS = r"""
() => {
  if (window.__lab) return;
  const lab = window.__lab = {clicks: [], progress: [], extents: [], queue: [], result: null};
  const epochAxis = /X-axis titled 'epoch' for a linear scale with values from 0 to ([0-9.]+)/;
  let lastText = null, lastExtent = null;
  const look = () => {
    const t = performance.now();
    const bar = document.querySelector('[data-testid="stProgress"] p');
    const text = bar ? bar.innerText : null;
    if (text && text !== lastText) { lab.progress.push([t, text]); }
    lastText = text;
    let extent = null;
    for (const el of document.querySelectorAll('[data-testid="stVegaLiteChart"] [aria-label^="X-axis titled \'epoch\'"]')) {
      const m = epochAxis.exec(el.getAttribute('aria-label') || '');
      if (m) { extent = parseFloat(m[1]); break; }
    }
    if (extent !== null && extent !== lastExtent) { lab.extents.push([t, extent]); }
    lastExtent = extent;
    const line = document.body.innerText.match(/you are number (\d+) in line/);
    if (line && (!lab.queue.length || lab.queue[lab.queue.length - 1][1] !== +line[1])) lab.queue.push([t, +line[1]]);
    if (lab.result === null && lab.clicks.length) {
      for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
        if (m.innerText.includes('Test accuracy')) { lab.result = t; break; }
      }
    }
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true, characterData: true,
                                                      attributes: true});
  document.addEventListener('click', e => {
    const button = e.target.closest('button');
    if (button && /(^|\s)Train$/.test(button.innerText.trim())) lab.clicks.push(performance.now());
  }, true);
}
"""


# --- the server -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(runs_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, MNIST_LAB_RUNS=str(runs_dir),
               MNIST_DATA_DIR=os.environ.get("MNIST_DATA_DIR") or str(REPO_ROOT.parent / "shared" / "mnist"))
    command = (f"source scripts/env.sh && exec .venv/bin/streamlit run app.py --server.port {port} "
               "--server.headless true --server.address 127.0.0.1")
    server = subprocess.Popen(["bash", "-c", command], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return server, url
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    sys.exit("The app did not start within 90 s.")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


# --- driving one session ----------------------------------------------------------------------

def open_session(browser, url: str):
    """A fresh browser context (so a fresh user token), on Home, ready, with the observer installed."""
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(120_000)
    page.goto(url)
    page.get_by_role("button", name="Train", exact=True).wait_for()
    page.evaluate(OBSERVER_JS)
    return page


def set_select_slider(page, name: str, value: str) -> None:
    slider = page.get_by_role("slider", name=name)
    slider.focus()
    for _ in range(40):
        current = slider.get_attribute("aria-valuetext")
        if current == value:
            break
        slider.press("ArrowLeft")
        page.wait_for_function("([el, before]) => el.getAttribute('aria-valuetext') !== before",
                               arg=[slider.element_handle(), current])
    time.sleep(0.6)  # the rerun this change triggers


def one_epoch_constant(page) -> None:
    """Sidebar: 1 epoch, constant learning rate (the CLI comparison's settings); the rest stays default."""
    set_select_slider(page, "Epochs", "1")
    page.get_by_text("Constant", exact=True).click()
    time.sleep(0.6)


def finished(page) -> bool:
    return page.locator('[data-testid="stMetric"]').filter(has_text="Test accuracy").count() > 0


def lab(page) -> dict:
    return page.evaluate("() => window.__lab")


def gaps(stamps: list[float]) -> list[float]:
    return [(b - a) / 1000 for a, b in zip(stamps, stamps[1:])]


def user_of(page) -> str:
    return re.search(r"user=(\w+)", page.url).group(1)


def saved_run(runs_dir: Path, user: str) -> tuple[dict, dict]:
    """(history, metrics) of this user's newest saved run."""
    for path in sorted(runs_dir.iterdir(), reverse=True):
        meta = path / "meta.json"
        if meta.is_file() and json.loads(meta.read_text()).get("owner") == user:
            return json.loads((path / "history.json").read_text()), json.loads((path / "metrics.json").read_text())
    raise RuntimeError(f"no saved run of {user}")


# --- the four figures ---------------------------------------------------------------------------

def first_point_and_refresh(browser, url: str, runs_dir: Path, repeats: int) -> dict:
    firsts, progress_gaps, chart_gaps, rates, epoch_seconds = [], [], [], [], []
    for i in range(repeats):
        page = open_session(browser, url)
        if i == 0:
            one_epoch_constant(page)  # this run doubles as the app's MLP epoch (figure 3)
        page.get_by_role("button", name="Train", exact=True).click()
        deadline = time.time() + 300
        while not finished(page) and time.time() < deadline:
            time.sleep(0.2)
        data = lab(page)
        click = data["clicks"][0]
        print(f"   run {i + 1}: first point {(data['extents'][0][0] - click) / 1000:.2f} s, "
              f"result {(data['result'] - click) / 1000:.1f} s after the click", flush=True)
        firsts.append((data["extents"][0][0] - click) / 1000)
        # While training: from the first progress line to the last one before the result.
        stamps = [t for t, _ in data["progress"]]
        progress_gaps += gaps(stamps)
        chart_gaps += gaps([t for t, _ in data["extents"]])
        if len(stamps) > 1:
            rates.append((len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1000))
        if i == 0:
            history, metrics = saved_run(runs_dir, user_of(page))
            epoch_seconds.append((history["epochs"][0]["seconds"], metrics["train_seconds"]))
        page.context.close()
    return {"first": firsts, "progress_gaps": progress_gaps, "chart_gaps": chart_gaps, "rates": rates,
            "app_epoch": epoch_seconds[0]}


def unwatched_epoch(browser, url: str, runs_dir: Path) -> tuple[float, float]:
    """The app's 1-epoch MLP with nobody watching: press Train, close the page, wait for the saved run.

    Against the watched run this separates the live view's cost from the rest
    (here the browser also shares the server's two cores, as it would not in a class).
    """
    page = open_session(browser, url)
    one_epoch_constant(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_url(re.compile(r"/train\?"))
    user = user_of(page)
    page.context.close()
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            history, metrics = saved_run(runs_dir, user)
            return history["epochs"][0]["seconds"], metrics["train_seconds"]
        except (RuntimeError, OSError, ValueError):
            time.sleep(0.3)
    raise RuntimeError("the unwatched run did not finish in 300 s")


def cli_epoch(threads: int | None) -> tuple[float, float]:
    """(epoch seconds incl. validation, train seconds) of the CLI's 1-epoch MLP run."""
    with tempfile.TemporaryDirectory() as out:
        command = [str(REPO_ROOT / ".venv/bin/python"), "-m", "mnist_core"]
        if threads:
            command += ["--threads", str(threads)]
        command += ["train", "--arch", "mlp", "--epochs", "1", "--schedule", "constant", "--out", out]
        env = dict(os.environ, GLIBC_TUNABLES=os.environ.get("GLIBC_TUNABLES") or
                   "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=17179869184",
                   MNIST_DATA_DIR=os.environ.get("MNIST_DATA_DIR") or str(REPO_ROOT.parent / "shared" / "mnist"))
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        history = json.loads((Path(summary["run_dir"]) / "history.json").read_text())
        return history["epochs"][0]["seconds"], summary["train_seconds"]


def three_at_once(browser, url: str, runs_dir: Path, sessions: int) -> list[dict]:
    pages = [open_session(browser, url) for _ in range(sessions)]
    for page in pages:
        one_epoch_constant(page)
    for page in pages:  # as close together as three students can click
        page.get_by_role("button", name="Train", exact=True).click()
    deadline = time.time() + 600
    while not all(finished(p) for p in pages) and time.time() < deadline:
        time.sleep(0.3)
    results = []
    for page in pages:
        data = lab(page)
        history, metrics = saved_run(runs_dir, user_of(page))
        click = data["clicks"][0]
        stamps = [t for t, _ in data["progress"]]
        results.append({
            "click_to_result": (data["result"] - click) / 1000,
            "queue_places": [n for _, n in data["queue"]],
            "first_progress": (stamps[0] - click) / 1000 if stamps else None,
            "train_seconds": metrics["train_seconds"],
            "epoch_seconds": history["epochs"][0]["seconds"],
            "longest_gap": max(gaps(stamps), default=None),
            "accuracy": metrics["test_accuracy"],
        })
        page.context.close()
    return results


def describe_gaps(values: list[float]) -> str:
    if not values:
        return "no updates seen"
    return (f"median gap {statistics.median(values):.2f} s, p90 {sorted(values)[int(0.9 * (len(values) - 1))]:.2f} s, "
            f"longest {max(values):.2f} s ({len(values)} gaps)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="measure a running server (its MNIST_LAB_RUNS must be --runs)")
    parser.add_argument("--runs", help="the running server's run folder (with --url)")
    parser.add_argument("--repeats", type=int, default=3, help="fresh users for figures 1-2 (default 3)")
    parser.add_argument("--sessions", type=int, default=3, help="sessions training at once (default 3)")
    args = parser.parse_args()
    if args.url and not args.runs:
        parser.error("--url needs --runs (the server's MNIST_LAB_RUNS) to read the saved runs")

    scratch = tempfile.TemporaryDirectory()
    runs_dir = Path(args.runs or scratch.name)
    server, url = (None, args.url) if args.url else start_server(runs_dir)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            warm = open_session(browser, url)  # the first page load imports torch and loads MNIST: not measured
            warm.context.close()
            live = first_point_and_refresh(browser, url, runs_dir, args.repeats)
            unwatched = unwatched_epoch(browser, url, runs_dir)
            crowd = three_at_once(browser, url, runs_dir, args.sessions)
            browser.close()
    finally:
        if server is not None:
            stop_server(server)
    cli_all, cli_one = cli_epoch(None), cli_epoch(1)

    print(f"1. Train -> first chart point ({args.repeats} fresh users, MLP on all 60k): "
          + ", ".join(f"{s:.2f} s" for s in live["first"]) + f" (median {statistics.median(live['first']):.2f} s)")
    print(f"2. Refresh while training: {statistics.median(live['rates']):.2f} progress updates/s (median over runs); "
          f"progress text: {describe_gaps(live['progress_gaps'])}; chart: {describe_gaps(live['chart_gaps'])}")
    app_epoch, app_train = live["app_epoch"]
    print(f"3. MLP epoch (1 epoch, constant lr, batch 128, 54k images), epoch incl. validation / training steps only:\n"
          f"   app (1 thread, live view on)  {app_epoch:6.2f} s / {app_train:6.2f} s\n"
          f"   app, nobody watching          {unwatched[0]:6.2f} s / {unwatched[1]:6.2f} s\n"
          f"   CLI --threads 1               {cli_one[0]:6.2f} s / {cli_one[1]:6.2f} s   "
          f"(app / CLI = {app_epoch / cli_one[0]:.2f})\n"
          f"   CLI default (all cores)       {cli_all[0]:6.2f} s / {cli_all[1]:6.2f} s")
    print(f"4. {args.sessions} sessions press Train at once (MLP, 1 epoch, all images):")
    for i, r in enumerate(crowd, 1):
        places = "→".join(map(str, r["queue_places"])) or "none (started at once)"
        print(f"   session {i}: queue places shown {places}; first progress {r['first_progress']:.1f} s after the "
              f"click; result {r['click_to_result']:.1f} s after the click; training {r['train_seconds']:.1f} s; "
              f"longest gap between updates while training {r['longest_gap'] or 0:.2f} s; "
              f"test accuracy {100 * r['accuracy']:.2f}%")


if __name__ == "__main__":
    main()
