"""ui/server_tuning.py: Streamlit's config reads without its process-wide lock (in a child process,
so that the test process's own Streamlit stays as it is)."""
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent("""
    import sys, threading
    sys.path.insert(0, {repo!r})
    from streamlit import config
    config.get_config_options()  # parsed, as in a running server
    original = config.get_option
    keys = ["global.minCachedMessageSize", "global.appTest", "server.port", "theme.base", "client.toolbarMode"]
    before = {{k: original(k) for k in keys}}

    from ui import server_tuning
    assert server_tuning.read_options_without_lock() is True
    assert server_tuning.read_options_without_lock() is False, "installed once"
    assert config.get_option is server_tuning.get_option_without_lock
    assert {{k: config.get_option(k) for k in keys}} == before, "the same values"

    # No lock: a read returns while another thread holds Streamlit's config lock.
    held, release = threading.Event(), threading.Event()
    def hold():
        with config._config_lock:
            held.set(); release.wait(10)
    threading.Thread(target=hold, daemon=True).start(); held.wait(10)
    answer = []
    reader = threading.Thread(target=lambda: answer.append(config.get_option("global.minCachedMessageSize")))
    reader.start(); reader.join(2)
    assert answer == [before["global.minCachedMessageSize"]], "the read waited for the lock"
    release.set()

    # A value set at run time is seen; an unknown key still gets Streamlit's own error.
    config.set_option("client.toolbarMode", "minimal")
    assert config.get_option("client.toolbarMode") == "minimal"
    try:
        config.get_option("no.suchOption")
    except RuntimeError as error:
        assert "no.suchOption" in str(error)
    else:
        raise AssertionError("an unknown key must raise")

    # A re-parse (config.toml changed on disk) is seen once it has finished.
    assert before["global.minCachedMessageSize"] == 111, "read from ./.streamlit/config.toml"
    with open(".streamlit/config.toml", "w") as toml:
        toml.write("[global]\\nminCachedMessageSize = 222\\n")
    config.get_config_options(force_reparse=True)
    assert config.get_option("global.minCachedMessageSize") == 222
    print("ok")
""")


def test_config_reads_take_no_lock_and_give_streamlits_values(tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text("[global]\nminCachedMessageSize = 111\n")
    result = subprocess.run([sys.executable, "-c", CHILD.format(repo=str(REPO))], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def test_an_apptest_keeps_its_own_get_option():
    """AppTest patches get_option during each run; installing then would hide `global.appTest`."""
    from unittest import mock

    from streamlit import config

    from ui import server_tuning

    with mock.patch.object(config, "get_option", lambda key: key == "global.appTest"), \
            mock.patch.object(server_tuning, "_original", None):
        assert server_tuning.read_options_without_lock() is False
        assert server_tuning._original is None


WAKEUPS_CHILD = textwrap.dedent("""
    import asyncio, sys, threading
    sys.path.insert(0, {repo!r})
    from ui import server_tuning
    assert server_tuning.coalesce_loop_wakeups() is True
    assert server_tuning.coalesce_loop_wakeups() is False, "installed once"

    loop = asyncio.new_event_loop()
    bytes_read = []
    process = type(loop)._process_self_data
    type(loop)._process_self_data = lambda self, data: (bytes_read.append(len(data)), process(self, data))
    threading.Thread(target=loop.run_forever, daemon=True).start()

    # Ping-pong: each callback is queued while the loop sleeps in select(); a lost wake-up
    # would leave it queued until the 5 s timeout.
    for i in range(2000):
        done = threading.Event()
        loop.call_soon_threadsafe(done.set)
        assert done.wait(5), f"wake-up {{i}} was lost"

    # Eight threads queue 40,000 callbacks at once: every one runs, with far fewer wake-up bytes.
    ran = []
    def queue_many():
        for _ in range(5000):
            loop.call_soon_threadsafe(ran.append, 1)
    threads = [threading.Thread(target=queue_many) for _ in range(8)]
    before = sum(bytes_read)
    for t in threads: t.start()
    for t in threads: t.join()
    finished = threading.Event()
    loop.call_soon_threadsafe(finished.set)
    assert finished.wait(10)
    assert len(ran) == 40000, len(ran)
    written = sum(bytes_read) - before
    print("ok", written)
    loop.call_soon_threadsafe(loop.stop)
""")


def test_the_event_loop_wakes_for_every_callback_with_fewer_wakeup_bytes():
    result = subprocess.run([sys.executable, "-c", WAKEUPS_CHILD.format(repo=str(REPO))], capture_output=True,
                            text=True, timeout=180, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    word, written = result.stdout.split()[-2:]
    assert word == "ok"
    assert int(written) < 40000, "one byte per callback: the wake-ups were not coalesced"
