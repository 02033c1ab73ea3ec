"""A headless Streamlit client that speaks the browser's websocket protocol.

`bench/load_test.py` uses it to drive many sessions at once without a browser
each (20 chromiums do not fit on 2 cores). It does what the frontend does:
opens `/_stcore/stream` with the "streamlit" subprotocol, sends `BackMsg`
rerun requests (page, query string, widget states), and reads `ForwardMsg`s
(navigation, deltas, auto-rerun timers, script_finished) back into a simple
`PageView`: the page's elements, its texts and its widgets by label.

Widget values follow the frontend's rules: every rerun sends the current
value of each widget still on the page; a button press is a `trigger_value`
sent once. Only the encodings MNIST Lab's widgets need are covered.
"""
from __future__ import annotations

import asyncio
import io
import json
import time
from dataclasses import dataclass, field
from typing import Any

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

SCRIPT_RERAN_EARLY = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
MAIN_CONTAINER, SIDEBAR_CONTAINER = 0, 1  # the first index of a delta path

# Element kinds that are widgets the client can set, and the WidgetState field each uses.
WIDGET_VALUE_FIELDS = {
    "button": "trigger_value",
    "checkbox": "bool_value",
    "selectbox": "string_value",
    "radio": "string_value",
    "number_input": "double_value",
    "text_input": "string_value",
    "text_area": "string_value",
    "button_group": "string_array_value",  # st.segmented_control / st.pills
    "multiselect": "string_array_value",
    "slider": "double_array_value",  # a select_slider uses string_array_value, see encode_widget_value
    "bidi_component": "json_value",  # components v2, e.g. streamlit-drawable-canvas 0.13
    "expander": "bool_value",  # an st.expander with on_change: opening it reruns (its content is drawn lazily)
}


class StreamlitClientError(RuntimeError):
    """The server refused, closed or did not answer the session."""


@dataclass(eq=False)  # hashable by identity: used as a dict key for the values to send
class Widget:
    kind: str  # the Element oneof name: "button", "selectbox", ...
    widget_id: str
    label: str
    in_sidebar: bool
    proto: Any  # the element's protobuf, for options, bounds and defaults
    fragment_id: str = ""  # the st.fragment it lives in: changing it reruns only that fragment

    @property
    def options(self) -> list[str]:
        options = getattr(self.proto, "options", [])
        return [getattr(o, "content", o) for o in options]

    @property
    def disabled(self) -> bool:
        return bool(getattr(self.proto, "disabled", False))


@dataclass
class PageView:
    """What one script run (a page load, a button press or a fragment refresh) showed."""

    seconds: float  # from sending the rerun request to the final script_finished
    page_name: str
    elements: dict[tuple[int, ...], Any] = field(default_factory=dict)  # delta path -> Element
    fragments: dict[tuple[int, ...], str] = field(default_factory=dict)  # delta path -> fragment id, if any
    expanders: dict[tuple[int, ...], Any] = field(default_factory=dict)  # delta path -> stateful Block.Expandable
    fragment_run: bool = False
    page_not_found: bool = False

    @property
    def texts(self) -> list[str]:
        return [t for _, element in sorted(self.elements.items()) for t in element_texts(element)]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def exceptions(self) -> list[str]:
        return [f"{e.exception.type}: {e.exception.message}" for e in self.elements.values()
                if e.WhichOneof("type") == "exception"]

    @property
    def widgets(self) -> list[Widget]:
        found = []
        for path, element in sorted(self.elements.items()):
            kind = element.WhichOneof("type")
            if kind in WIDGET_VALUE_FIELDS:
                proto = getattr(element, kind)
                label = getattr(proto, "label", "") or getattr(proto, "component_name", "")
                found.append(Widget(kind, proto.id, label, path[:1] == (SIDEBAR_CONTAINER,), proto,
                                    self.fragments.get(path, "")))
        for path, proto in sorted(self.expanders.items()):
            found.append(Widget("expander", proto.id, proto.label, path[:1] == (SIDEBAR_CONTAINER,), proto,
                                self.fragments.get(path, "")))
        return found

    def widget(self, label: str, kind: str | None = None, sidebar: bool | None = None) -> Widget:
        """The widget whose label is `label` (exact, then case-insensitive prefix); KeyError if none."""
        candidates = [w for w in self.widgets if (kind is None or w.kind == kind)
                      and (sidebar is None or w.in_sidebar == sidebar)]
        for match in (lambda w: w.label == label,
                      lambda w: w.label.lower().startswith(label.lower()),
                      lambda w: label.lower() in w.label.lower()):
            hits = [w for w in candidates if match(w)]
            if hits:
                return hits[0]
        raise KeyError(f"no {kind or 'widget'} labelled {label!r}; have {[w.label for w in candidates]}")

    def has_widget(self, label: str, kind: str | None = None, sidebar: bool | None = None) -> bool:
        try:
            self.widget(label, kind, sidebar)
            return True
        except KeyError:
            return False


def element_texts(element) -> list[str]:
    """The human-readable strings an element shows (bodies, labels, options, table cells)."""
    kind = element.WhichOneof("type")
    proto = getattr(element, kind) if kind else None
    if proto is None:
        return []
    texts = []
    for name in ("label", "body", "text", "title", "message", "delta", "code_text"):
        value = getattr(proto, name, None)
        if isinstance(value, str) and value:
            texts.append(value)
    if kind in ("selectbox", "radio", "button_group", "multiselect", "slider"):
        texts.extend(getattr(o, "content", o) for o in getattr(proto, "options", []))
    if kind in ("dataframe", "table") and proto.arrow_data.data:
        texts.extend(_arrow_cells(proto.arrow_data.data))
    return texts


def _arrow_cells(data: bytes) -> list[str]:
    return [str(cell) for row in _arrow_rows(data) for cell in row.values() if cell is not None]


def _arrow_rows(data: bytes) -> list[dict]:
    import pyarrow.ipc

    try:
        table = pyarrow.ipc.open_stream(io.BytesIO(data)).read_all()
    except Exception:  # an unreadable table is shown as nothing rather than failing the run
        return []
    return table.to_pylist()


def table_rows(element) -> list[dict]:
    """The rows of an st.dataframe / st.table element, as dicts keyed by column name."""
    kind = element.WhichOneof("type")
    if kind not in ("dataframe", "table"):
        return []
    return _arrow_rows(getattr(element, kind).arrow_data.data)


def encode_widget_value(widget: Widget, value) -> WidgetState:
    """The WidgetState the browser would send for `value` in `widget` (labels for choices)."""
    state = WidgetState(id=widget.widget_id)
    kind = widget.kind
    if kind == "button":
        state.trigger_value = bool(value)
    elif kind in ("checkbox", "expander"):
        state.bool_value = bool(value)
    elif kind in ("selectbox", "radio", "text_input", "text_area"):
        state.string_value = str(value)
    elif kind == "number_input":
        if widget.proto.data_type == widget.proto.INT:
            state.int_value = int(value)
        else:
            state.double_value = float(value)
    elif kind in ("button_group", "multiselect"):
        state.string_array_value.data.extend([value] if isinstance(value, str) else list(value))
    elif kind == "slider":
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if widget.options:  # st.select_slider: the chosen options' labels
            state.string_array_value.data.extend(str(v) for v in values)
        else:
            state.double_array_value.data.extend(float(v) for v in values)
    elif kind == "bidi_component":
        state.json_value = value if isinstance(value, str) else json.dumps(value)
    else:
        raise ValueError(f"setting a {kind} is not supported")
    return state


class StreamlitSession:
    """One browser tab: a websocket session with its own query string and widget values."""

    def __init__(self, port: int, query_string: str = "", host: str = "127.0.0.1", timeout: float = 120.0):
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the load-test client only connects to this machine")
        self.url = f"ws://{host}:{port}/_stcore/stream"
        self.origin = f"http://{host}:{port}"
        self.query_string = query_string
        self.timeout = timeout
        self.pages: dict[str, str] = {}  # page title (and url path) -> page_script_hash
        self.page_titles: dict[str, str] = {}  # page_script_hash -> page title
        self.page_hash = ""  # the page currently shown
        self.auto_reruns: dict[str, float] = {}  # fragment id -> interval (s), as st.fragment(run_every=) asks
        self.view: PageView | None = None  # the last full page
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._widget_states: dict[str, WidgetState] = {}
        self._run: dict | None = None  # the rerun we are waiting for

    # --- connection --------------------------------------------------------
    async def connect(self) -> None:
        try:
            self._ws = await websockets.connect(
                self.url, subprotocols=["streamlit"], origin=self.origin, max_size=None,
                open_timeout=self.timeout, ping_interval=None, compression=None)
        except (OSError, websockets.InvalidHandshake) as error:
            raise StreamlitClientError(f"cannot open {self.url}: {error}") from error
        self._reader = asyncio.create_task(self._read_forever())

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass

    # --- reruns ------------------------------------------------------------
    async def load(self, page: str | None = None) -> PageView:
        """Open a page (by title, e.g. "Train"; None for the app's default page) as a full rerun."""
        page_hash = self._page_hash(page) if page else ""
        if page_hash != self.page_hash and self.view is not None:
            # The old page's widgets unmount; the shared sidebar's stay and keep their values.
            sidebar_ids = {w.widget_id for w in self.view.widgets if w.in_sidebar}
            self._widget_states = {i: s for i, s in self._widget_states.items() if i in sidebar_ids}
        return await self._rerun(page_hash=page_hash, page_name=page or "")

    async def interact(self, values: dict[Widget, Any] | None = None, press: Widget | None = None) -> PageView:
        """Change widgets and/or press a button on the current page, like a user would."""
        for widget, value in (values or {}).items():
            self._widget_states[widget.widget_id] = encode_widget_value(widget, value)
        triggers = [encode_widget_value(press, True)] if press else []
        # Like the browser: a widget inside an st.fragment reruns only its fragment.
        touched = list(values or {}) + ([press] if press else [])
        fragment_ids = {w.fragment_id for w in touched}
        fragment_id = fragment_ids.pop() if len(fragment_ids) == 1 else ""
        return await self._rerun(page_hash=self.page_hash, page_name="", triggers=triggers,
                                 fragment_id=fragment_id, auto=False)

    async def refresh_fragment(self, fragment_id: str) -> PageView:
        """What the browser does every `run_every` seconds for an auto-rerunning fragment."""
        return await self._rerun(page_hash=self.page_hash, page_name="", fragment_id=fragment_id, auto=True)

    def _page_hash(self, page: str) -> str:
        if page not in self.pages:
            raise KeyError(f"no page {page!r}; the app has {sorted(self.pages)}")
        return self.pages[page]

    async def _rerun(self, page_hash: str, page_name: str, triggers=(), fragment_id: str = "",
                     auto: bool = False) -> PageView:
        if self._run is not None:
            raise StreamlitClientError("one rerun at a time per session")
        back = BackMsg()
        state = back.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = page_hash
        state.page_name = page_name
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = auto
        state.widget_states.widgets.extend(list(self._widget_states.values()) + list(triggers))
        done = asyncio.get_running_loop().create_future()
        self._run = {"done": done, "elements": {}, "fragments": {}, "expanders": {}, "fragment": bool(fragment_id),
                     "not_found": False}
        started = time.perf_counter()
        await self._ws.send(back.SerializeToString())
        try:
            await asyncio.wait_for(asyncio.shield(done), self.timeout)
        except asyncio.TimeoutError as error:
            raise StreamlitClientError(f"no script_finished within {self.timeout:.0f} s") from error
        finally:
            run, self._run = self._run, None
        elapsed = time.perf_counter() - started
        page = self.page_titles.get(self.page_hash, page_name)
        if run["fragment"] and self.view is not None:
            # The fragment's old elements are replaced by what it drew this time.
            kept = {p: e for p, e in self.view.elements.items() if self.view.fragments.get(p) != fragment_id}
            merged = {**kept, **run["elements"]}
            expanders = {**{p: e for p, e in self.view.expanders.items() if self.view.fragments.get(p) != fragment_id},
                         **run["expanders"]}
            fragments = {p: f for p, f in {**self.view.fragments, **run["fragments"]}.items()
                         if p in merged or p in expanders}
            view = PageView(elapsed, page, merged, fragments, expanders, fragment_run=True)
            self.view = PageView(self.view.seconds, page, merged, fragments, expanders)
        else:
            view = PageView(elapsed, page, run["elements"], run["fragments"], run["expanders"],
                            page_not_found=run["not_found"])
            self.view = view
            self._forget_unmounted(view)
        return view

    def _forget_unmounted(self, view: PageView) -> None:
        # The browser only sends values for widgets still on the page.
        mounted = {w.widget_id for w in view.widgets}
        for widget_id in list(self._widget_states):
            if widget_id not in mounted:
                del self._widget_states[widget_id]

    # --- the reader ----------------------------------------------------------
    async def _read_forever(self) -> None:
        try:
            async for raw in self._ws:
                message = ForwardMsg()
                message.ParseFromString(raw)
                self._handle(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            if self._run is not None and not self._run["done"].done():
                self._run["done"].set_exception(StreamlitClientError("the server closed the session"))

    def _handle(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        run = self._run
        if kind == "navigation":
            for page in message.navigation.app_pages:
                self.pages[page.page_name] = page.page_script_hash
                self.page_titles[page.page_script_hash] = page.page_name
                if page.url_pathname:
                    self.pages[page.url_pathname] = page.page_script_hash
            self.page_hash = message.navigation.page_script_hash or self.page_hash
        elif kind == "new_session":
            if message.new_session.page_script_hash:
                self.page_hash = message.new_session.page_script_hash
            if not message.metadata.run.fragment_ids:
                # A full run (also after st.rerun() in a fragment): the page starts over, and
                # the browser drops its auto-rerun timers until fragments register again.
                self.auto_reruns.clear()
                if run is not None:
                    run["elements"], run["fragments"], run["expanders"], run["fragment"] = {}, {}, {}, False
        elif kind == "delta" and run is not None:
            delta, path = message.delta, tuple(message.metadata.delta_path)
            if delta.WhichOneof("type") == "new_element":
                run["elements"][path] = delta.new_element
            elif (delta.WhichOneof("type") == "add_block" and delta.add_block.WhichOneof("type") == "expandable"
                  and delta.add_block.expandable.id):
                run["expanders"][path] = delta.add_block.expandable
            if delta.fragment_id:
                run["fragments"][path] = delta.fragment_id
        elif kind == "auto_rerun":
            self.auto_reruns[message.auto_rerun.fragment_id] = message.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fragment_id in message.stop_auto_rerun.fragment_ids:
                self.auto_reruns.pop(fragment_id, None)
        elif kind == "page_not_found" and run is not None:
            run["not_found"] = True
        elif kind == "script_finished" and run is not None:
            if message.script_finished != SCRIPT_RERAN_EARLY and not run["done"].done():
                run["done"].set_result(None)
