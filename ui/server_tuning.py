"""What the web server changes in Streamlit itself so that a class of 30 stays quick.

Streamlit reads a config option (`streamlit.config.get_option`) for every element a
script run sends: `forward_msg_cache.populate_hash_if_needed` asks for
`global.minCachedMessageSize` once per delta, `save_for_app_testing` asks for
`global.appTest` once per widget. Each read takes one process-wide lock
(`config._config_lock`). With 30 sessions' script threads taking turns at the GIL,
a thread that holds that lock loses the GIL every switch interval, and every other
script thread then waits for the lock, then for the GIL again: py-spy (`--idle`) saw
the server's script threads spend 59% of their time waiting in `get_option` while
30 named sessions trained (bench/load_test.py).

`read_options_without_lock()` replaces `get_option` with a read of the parsed options
that takes no lock. The lock exists so that a read never sees a re-parse half done
(Streamlit re-parses when config.toml changes on disk); this read looks only at the
options dict of the last *finished* parse, which Streamlit announces with its
`on_config_parsed` signal, so it never sees a half-filled one either. A key that is
not there (or a read before the first parse) goes to Streamlit's own function, which
says what is wrong as before.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from streamlit import config as streamlit_config

_installed_lock = threading.Lock()
_original: Callable[[str], Any] | None = None
_parsed: dict = {}  # {"options": the options dict of the last finished parse}


def _remember_parsed() -> None:
    _parsed["options"] = streamlit_config._config_options  # noqa: SLF001  (no public handle)


def get_option_without_lock(key: str) -> Any:
    """`streamlit.config.get_option(key)` from the last finished parse, without the config lock."""
    options = _parsed.get("options")
    option = options.get(key) if options else None
    if option is None:  # before the first parse, or an unknown key: Streamlit's own answer
        return _original(key)
    return option.value


def read_options_without_lock() -> bool:
    """Install `get_option_without_lock` as `streamlit.config.get_option`, once per process.

    Returns True if this call installed it (False if it already was, or if this is an AppTest:
    AppTest swaps `get_option` for its own during each run, to say `global.appTest` is on).
    """
    global _original  # noqa: PLW0603
    with _installed_lock:
        if _original is not None or streamlit_config.get_option("global.appTest"):
            return False
        _original = streamlit_config.get_option
        streamlit_config.on_config_parsed(_remember_parsed, force_connect=True)  # after every later parse
        if streamlit_config._config_options:  # noqa: SLF001  parsed already (a running server): remember it now
            _remember_parsed()
        streamlit_config.get_option = get_option_without_lock
        return True


# --- one wake-up of the event loop at a time -----------------------------------------------------
_PENDING = "_mnist_lab_wakeup_pending"  # on the loop: a wake-up byte is in its self-pipe, not yet read
_loop_patch: dict = {}


def _write_to_self_once(loop) -> None:
    """asyncio's `_write_to_self`, skipped while an earlier wake-up byte is still unread.

    A script thread hands every element it draws to the event loop with
    `call_soon_threadsafe`: the callback goes into the loop's ready queue first, then one
    byte is written to the loop's self-pipe to wake it. Each write is a system call that
    gives up the GIL, and with 30 script threads taking it back costs far more than the
    write. A byte already waiting wakes the loop just as well: once awake, the loop runs
    every callback in its ready queue, including those queued after that byte.
    """
    if getattr(loop, _PENDING, False):
        return
    setattr(loop, _PENDING, True)
    _loop_patch["write"](loop)


def _process_self_data_then_rearm(loop, data) -> None:
    """Called by the loop with the bytes it has just read from its self-pipe: the next
    `call_soon_threadsafe` writes a wake-up byte again."""
    setattr(loop, _PENDING, False)
    _loop_patch["process"](loop, data)


def coalesce_loop_wakeups() -> bool:
    """Install `_write_to_self_once` on asyncio's selector event loop, once per process.

    Returns True if this call installed it. Only the unread-byte flag is added: the loop
    reads its self-pipe and runs its ready queue exactly as before.
    """
    import asyncio.selector_events  # binds `asyncio` too

    loop_class = asyncio.SelectorEventLoop  # the loop Streamlit's server runs on (on Unix, with signals)
    with _installed_lock:
        if _loop_patch:
            return False
        _loop_patch["write"] = asyncio.selector_events.BaseSelectorEventLoop._write_to_self
        _loop_patch["process"] = loop_class._process_self_data
        loop_class._write_to_self = _write_to_self_once
        loop_class._process_self_data = _process_self_data_then_rearm
        return True


def tune_server() -> bool:
    """Both changes, once, in a real server (never inside an AppTest). True if installed now."""
    if not read_options_without_lock():
        return False
    coalesce_loop_wakeups()
    return True
