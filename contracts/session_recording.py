"""Record and replay of stream sessions: what vcrpy does for HTTP, for Hume's WebSockets.

vcrpy records HTTP only (WebSockets are out of its scope), so a test of a stream client replayed from
its cassette still calls the live service. The ``hume_sessions`` fixture (or ``@pytest.mark.hume_sessions``)
patches the ``websockets`` client connect calls the official SDKs use (``websockets.sync.client.connect``,
``websockets.asyncio.client.connect``, the legacy ``websockets.legacy.client.connect``) for the duration of
the test. Each session the test opens to a stream endpoint (``RECORDED_PATHS``, matched by path so a mock
on a random port replays) is either

- recorded into ``<cassette dir>/<test>.session<N>.jsonl`` (pytest-recording's ``cassettes/<module>/``
  convention), a transcript ``validate`` reads: a first line ``{"_session": {"url", "headers"}}`` (the key
  redacted), then one HAR ``_webSocketMessages``-style record per frame in the order the test saw them
  (``{"type": "send"|"receive", "opcode": 1|2|8, "data", "code", "reason"}``, binary data in base64); or
- replayed from it offline: every frame the test sends must be the transcript's next sent frame (text
  compared as JSON, binary byte for byte, close by code), else the test fails naming the frame and what the
  transcript holds; a received message is handed out only once the frames sent before it were sent again.

Record modes follow vcrpy (``--hume-record-mode``, else pytest-recording's ``--record-mode``, else ``once``):
``none`` replays and never records; ``once`` records a test that has no transcript and replays one that has;
``new_episodes`` replays the sessions it has and records the ones beyond; ``all`` records every time.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

RECORDED_PATHS = ("/v0/stream/models", "/v1/expression/audio/realtime", "/v1/expression/video/realtime")
RECORD_MODES = ("none", "once", "new_episodes", "all")
DEFAULT_MODE = "once"
HEADER_KEY = "_session"
REPLAY_WAIT = 5.0  # seconds a replayed recv waits for the frames it depends on to be sent (other tasks)
_SECRET_NAME_PARTS = ("key", "auth", "token", "secret", "cookie", "password")
_POLL = 0.005


class SessionMismatch(AssertionError):
    """The test did on replay what its transcript does not hold."""


# ------------------------------------------------------------------------------------- test's cassette


@dataclass
class SessionCassette:
    """The transcripts of one test: which sessions replay, which record, and the failures seen."""

    directory: Path
    name: str
    mode: str
    secrets: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    opened: int = 0
    had_transcripts: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        existing = self.transcripts()
        self.had_transcripts = bool(existing)
        if self.mode == "all":
            for path in existing:
                path.unlink()

    def transcripts(self) -> list[Path]:
        return sorted(self.directory.glob(f"{_glob_escape(self.name)}.session*.jsonl"))

    def transcript(self, number: int) -> Path:
        return self.directory / f"{self.name}.session{number}.jsonl"

    def open(self, url: str, headers: Any) -> Recorder | ReplayScript:
        """The next session: a recorder writing its transcript, or the script replaying it."""
        with self._lock:
            self.opened += 1
            number = self.opened
        path = self.transcript(number)
        redactor = _redactor(self.secrets + _secrets_of(url, headers))
        if self._replays(path):
            return ReplayScript.load(path, number, url, redactor, self)
        if self.mode == "none" or (self.mode == "once" and self.had_transcripts):
            held = len(self.transcripts())
            self.fail(
                f"session {number} ({_path_of(url)}) has no transcript {path} (record mode {self.mode!r}; "
                + (f"the test's transcripts end at session {held}" if held else "the test has none")
                + "); record with --hume-record-mode=once, new_episodes or all"
            )
        return Recorder(path, url, headers, redactor)

    def _replays(self, path: Path) -> bool:
        return self.mode != "all" and path.exists()

    def fail(self, message: str) -> None:
        """Fail the test loudly: raised where it happened (a BaseException the SDK does not swallow) and
        kept, so that teardown fails a test whose thread or task swallowed it anyway."""
        self.failures.append(message)
        pytest.fail(f"hume_sessions: {message}", pytrace=False)


def _glob_escape(name: str) -> str:
    return "".join(f"[{ch}]" if ch in "[]*?" else ch for ch in name)


def _path_of(url: str) -> str:
    return urlsplit(url).path


def is_recorded_url(url: Any) -> bool:
    """A stream endpoint of Hume's (a base path may precede it, as behind a proxy)."""
    return isinstance(url, str) and _path_of(url).rstrip("/").endswith(RECORDED_PATHS)


# ------------------------------------------------------------------------------------------ redaction


def _secrets_of(url: str, headers: Any) -> list[str]:
    """The key as this session carries it: secret-looking headers and query values."""
    found = [value for name, value in _header_items(headers) if _is_secret_name(name)]
    found += [value for name, value in parse_qsl(urlsplit(url).query) if _is_secret_name(name)]
    return [value.split(" ", 1)[-1] if value.lower().startswith("bearer ") else value for value in found]


def _header_items(headers: Any) -> list[tuple[str, str]]:
    if headers is None:
        return []
    items = headers.raw_items() if hasattr(headers, "raw_items") else getattr(headers, "items", lambda: headers)()
    return [(str(name), str(value)) for name, value in items]


def _is_secret_name(name: str) -> bool:
    return any(part in name.lower() for part in _SECRET_NAME_PARTS)


def _redactor(secrets: list[str]) -> Any:
    from contracts.fuzz.redaction import Redactor

    return Redactor(sorted({s for s in secrets if s}))


# ------------------------------------------------------------------------------------------ recording


class Recorder:
    """Writes one session's transcript as it happens (a crashed test leaves what it saw)."""

    def __init__(self, path: Path, url: str, headers: Any, redactor: Any) -> None:
        from contracts.fuzz.redaction import REDACTED

        self.path = path
        self.redactor = redactor
        self.server_closed = False
        self.client_closed = False
        self._lock = threading.Lock()
        shown = {
            name: REDACTED if _is_secret_name(name) else redactor.text(value) for name, value in _header_items(headers)
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("w", encoding="utf-8")
        self._write({HEADER_KEY: {"url": redactor.url(url), "headers": shown}})

    def _write(self, record: dict[str, Any]) -> None:
        with self._lock:
            if not self._handle.closed:
                self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                self._handle.flush()

    def frame(self, kind: str, message: Any) -> None:
        record: dict[str, Any] = {"type": kind, "time": round(time.time(), 3)}
        if isinstance(message, str):
            record |= {"opcode": 1, "data": self.redactor.json_text(message)}
        else:
            data = self.redactor.binary(bytes(message))  # base64 would hide a key from any later redaction
            record |= {"opcode": 2, "data": base64.b64encode(data).decode("ascii")}
        self._write(record)

    def sent(self, message: Any) -> None:
        self.frame("send", joined(message))

    def closed_by_server(self, code: int | None, reason: str) -> None:
        if not self.server_closed:
            self.server_closed = True
            self._close_record("receive", 1006 if code is None else code, reason)

    def closed_by_client(self, code: int, reason: str) -> None:
        if not (self.client_closed or self.server_closed):
            self.client_closed = True
            self._close_record("send", code, reason)

    def _close_record(self, kind: str, code: int, reason: str) -> None:
        self._write({"type": kind, "time": round(time.time(), 3), "opcode": 8, "code": int(code), "reason": reason})

    def finish(self) -> None:
        with self._lock:
            self._handle.close()


def joined(message: Any) -> str | bytes:
    """One message as sent: websockets sends an iterable of strings or of bytes as one fragmented message."""
    if isinstance(message, str):
        return message
    if isinstance(message, (bytes, bytearray, memoryview)):
        return bytes(message)
    parts = list(message)
    return "".join(parts) if parts and isinstance(parts[0], str) else b"".join(parts)


def _close_of(error: Any) -> tuple[int | None, str]:
    rcvd = getattr(error, "rcvd", None)
    return (rcvd.code, rcvd.reason) if rcvd is not None else (None, "")


class _RecordingBase:
    def __init__(self, real: Any, recorder: Recorder) -> None:
        self._real = real
        self._recorder = recorder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def _after_close(self) -> None:
        code = getattr(self._real, "close_code", None)
        if code is not None:
            self._recorder.closed_by_server(code, getattr(self._real, "close_reason", "") or "")
        self._recorder.finish()


class RecordingConnection(_RecordingBase):
    """A live sync connection whose frames are written to the transcript."""

    def send(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._real.send(message, *args, **kwargs)
        self._recorder.sent(message)

    def recv(self, *args: Any, **kwargs: Any) -> Any:
        from websockets.exceptions import ConnectionClosed

        try:
            message = self._real.recv(*args, **kwargs)
        except ConnectionClosed as closed:
            self._recorder.closed_by_server(*_close_of(closed))
            raise
        self._recorder.frame("receive", message)
        return message

    def __iter__(self) -> Iterator[Any]:
        from websockets.exceptions import ConnectionClosedOK

        with contextlib.suppress(ConnectionClosedOK):
            while True:
                yield self.recv()

    def close(self, code: int = 1000, reason: str = "") -> None:
        self._recorder.closed_by_client(code, reason)
        self._real.close(code, reason)
        self._after_close()

    def __enter__(self) -> RecordingConnection:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncRecordingConnection(_RecordingBase):
    """A live asyncio (or legacy) connection whose frames are written to the transcript."""

    async def send(self, message: Any, *args: Any, **kwargs: Any) -> None:
        await self._real.send(message, *args, **kwargs)
        self._recorder.sent(message)

    async def recv(self, *args: Any, **kwargs: Any) -> Any:
        from websockets.exceptions import ConnectionClosed

        try:
            message = await self._real.recv(*args, **kwargs)
        except ConnectionClosed as closed:
            self._recorder.closed_by_server(*_close_of(closed))
            raise
        self._recorder.frame("receive", message)
        return message

    async def __aiter__(self) -> Any:
        from websockets.exceptions import ConnectionClosedOK

        with contextlib.suppress(ConnectionClosedOK):
            while True:
                yield await self.recv()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._recorder.closed_by_client(code, reason)
        await self._real.close(code, reason)
        self._after_close()


# --------------------------------------------------------------------------------------------- replay


@dataclass(frozen=True)
class Step:
    """One transcript record: where it is, who sent it, and what."""

    line: int
    kind: str  # "send" | "receive"
    opcode: int
    data: Any = None  # text, or bytes for a binary frame
    code: int | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.opcode == 8:
            return f"close {self.code}" + (f" {self.reason!r}" if self.reason else "")
        return _describe_data(self.data)


def _describe_data(data: Any) -> str:
    if isinstance(data, str):
        shown = data if len(data) <= 160 else data[:160] + "..."
        return f"text frame {shown}"
    raw = bytes(data)
    return f"binary frame of {len(raw)} bytes (starting {raw[:8].hex()})"


class ReplayScript:
    """One session replayed from its transcript; shared by the test's threads and tasks."""

    def __init__(self, path: Path, number: int, steps: list[Step], redactor: Any, cassette: SessionCassette) -> None:
        self.path = path
        self.number = number
        self.steps = steps
        self.redactor = redactor
        self.cassette = cassette
        self.sends = [s for s in steps if s.kind == "send"]
        self.receives = [s for s in steps if s.kind == "receive"]
        self.sent = 0  # sends replayed
        self.received = 0  # receives handed out
        self.closed: Step | None = None  # the close the test saw, once it saw one
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path, number: int, url: str, redactor: Any, cassette: SessionCassette) -> ReplayScript:
        steps: list[Step] = []
        recorded_path = None
        for line_number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
                if isinstance(record, dict) and HEADER_KEY in record:
                    recorded_path = _path_of(str(record[HEADER_KEY].get("url", "")))
                    continue
                steps.append(_step(record, line_number))
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                cassette.fail(f"{path}: line {line_number}: not a frame record ({error})")
        script = cls(path, number, steps, redactor, cassette)
        if recorded_path is not None and recorded_path.rstrip("/") != _path_of(url).rstrip("/"):
            script.fail(f"the test opened {_path_of(url)}, but the transcript's session is {recorded_path}")
        return script

    def fail(self, message: str) -> None:
        self.cassette.fail(f"session {self.number} ({self.path}): {message}")

    # -- the test sends

    def on_send(self, message: Any) -> None:
        live = self._normalised(message)
        with self._lock:
            expected = self.sends[self.sent] if self.sent < len(self.sends) else None
            if expected is not None and expected.opcode != 8 and _same_data(expected.data, live):
                self.sent += 1
                return
        ordinal = self.sent + 1
        self.fail(f"the test sent frame {ordinal} ({_describe_data(live)}), but {self._holds(expected)}")

    def on_close(self, code: int) -> None:
        with self._lock:
            if self.closed is not None:
                return  # closing a closed connection: nothing is sent
            expected = self.sends[self.sent] if self.sent < len(self.sends) else None
            if expected is not None and expected.opcode == 8 and expected.code == code:
                self.sent += 1
                self.closed = self._next_close_received() or expected
                return
        self.fail(f"the test closed the session with code {code}, but {self._holds(expected)}")

    def _holds(self, expected: Step | None) -> str:
        if expected is None:
            last = self.steps[-1].describe() if self.steps else "nothing"
            return f"the transcript holds no more sent frames (it ends with {last})"
        return f"the transcript holds at line {expected.line}: {expected.describe()}"

    def _normalised(self, message: Any) -> Any:
        message = joined(message)
        if isinstance(message, str):
            return self.redactor.json_text(message)
        return self.redactor.binary(bytes(message)) if isinstance(message, bytes | bytearray | memoryview) else message

    def _next_close_received(self) -> Step | None:
        later = [s for s in self.receives[self.received :] if s.opcode == 8]
        return later[0] if later else None

    # -- the test receives

    def ready(self) -> Step | None:
        """The next received step if every frame sent before it was sent again; None while it waits."""
        with self._lock:
            if self.closed is not None:
                return self.closed
            if self.received >= len(self.receives):
                return Step(0, "receive", 8, code=1006, reason="")  # the recording ended here
            step = self.receives[self.received]
            if sum(1 for s in self.sends if s.line < step.line) > self.sent:
                return None
            if step.opcode == 8:
                self.closed = step
            else:
                self.received += 1
            return step

    def waited_too_long(self) -> None:
        step = self.receives[self.received]
        missing = next(s for s in self.sends[self.sent :] if s.line < step.line)
        self.fail(
            f"the test waits for a message, but the transcript's next one (line {step.line}: {step.describe()}) "
            f"came after the client sent line {missing.line}: {missing.describe()}, which the test has not sent"
        )

    def message_or_close(self, step: Step) -> Any:
        if step.opcode != 8:
            return step.data
        from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
        from websockets.frames import Close

        close = Close(step.code if step.code is not None else 1006, step.reason)
        error = ConnectionClosedOK if close.code in (1000, 1001) else ConnectionClosedError
        raise error(close if step.code != 1006 else None, close if step.code != 1006 else None, True)


def _step(record: dict[str, Any], line: int) -> Step:
    kind = record["type"]
    if kind not in ("send", "receive"):
        raise ValueError(f'"type" is {kind!r}, expected "send" or "receive"')
    opcode = int(record.get("opcode", 1))
    if opcode == 8:
        code = record.get("code")
        return Step(line, kind, 8, code=int(code) if code is not None else None, reason=str(record.get("reason", "")))
    data = record["data"]
    return Step(line, kind, opcode, base64.b64decode(data) if opcode == 2 else str(data))


def _same_data(recorded: Any, live: Any) -> bool:
    if isinstance(recorded, bytes) or isinstance(live, bytes):
        return recorded == live
    if recorded == live:
        return True
    try:
        return json.loads(recorded) == json.loads(live)
    except ValueError:
        return False


class _ReplayBase:
    def __init__(self, script: ReplayScript) -> None:
        self._script = script

    @property
    def close_code(self) -> int | None:
        closed = self._script.closed
        return closed.code if closed is not None else None

    @property
    def close_reason(self) -> str | None:
        closed = self._script.closed
        return closed.reason if closed is not None else None

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"{name!r}: a replayed session (hume_sessions) has only send, recv, close and iteration")


class ReplayConnection(_ReplayBase):
    """A sync connection served from a transcript, offline."""

    def send(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._script.on_send(message)

    def recv(self, timeout: float | None = None, *args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + (REPLAY_WAIT if timeout is None else min(timeout, REPLAY_WAIT))
        while (step := self._script.ready()) is None:
            if time.monotonic() >= deadline:
                if timeout is not None and timeout < REPLAY_WAIT:
                    raise TimeoutError("timed out while waiting for a message (replayed session)")
                self._script.waited_too_long()
            time.sleep(_POLL)
        return self._script.message_or_close(step)

    def __iter__(self) -> Iterator[Any]:
        from websockets.exceptions import ConnectionClosedOK

        with contextlib.suppress(ConnectionClosedOK):
            while True:
                yield self.recv()

    def close(self, code: int = 1000, reason: str = "") -> None:
        self._script.on_close(code)

    def __enter__(self) -> ReplayConnection:
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None or not issubclass(exc[0], pytest.fail.Exception):
            self.close()


class AsyncReplayConnection(_ReplayBase):
    """An asyncio connection served from a transcript, offline."""

    async def send(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._script.on_send(message)

    async def recv(self, *args: Any, **kwargs: Any) -> Any:
        import asyncio

        deadline = time.monotonic() + REPLAY_WAIT
        while (step := self._script.ready()) is None:
            if time.monotonic() >= deadline:
                self._script.waited_too_long()
            await asyncio.sleep(_POLL)
        return self._script.message_or_close(step)

    async def __aiter__(self) -> Any:
        from websockets.exceptions import ConnectionClosedOK

        with contextlib.suppress(ConnectionClosedOK):
            while True:
                yield await self.recv()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._script.on_close(code)


# ------------------------------------------------------------------------------------ the connect calls


def _headers_of(kwargs: dict[str, Any]) -> Any:
    return kwargs.get("additional_headers") or kwargs.get("extra_headers")


def _sync_connect(original: Any, cassette: SessionCassette) -> Any:
    def connect(uri: str, *args: Any, **kwargs: Any) -> Any:
        if not is_recorded_url(uri):
            return original(uri, *args, **kwargs)
        session = cassette.open(uri, _headers_of(kwargs))
        if isinstance(session, ReplayScript):
            return ReplayConnection(session)
        try:
            return RecordingConnection(original(uri, *args, **kwargs), session)
        except BaseException:
            session.finish()
            raise

    return connect


class _AsyncConnect:
    """What ``websockets.asyncio.client.connect(...)`` (and the legacy one) returns: awaitable, and an
    async context manager that closes the connection on exit."""

    def __init__(self, original: Any, cassette: SessionCassette, uri: str, args: Any, kwargs: Any) -> None:
        self._opening = (original, cassette, uri, args, kwargs)
        self._connection: Any = None

    async def _open(self) -> Any:
        original, cassette, uri, args, kwargs = self._opening
        session = cassette.open(uri, _headers_of(kwargs))
        if isinstance(session, ReplayScript):
            return AsyncReplayConnection(session)
        try:
            return AsyncRecordingConnection(await original(uri, *args, **kwargs), session)
        except BaseException:
            session.finish()
            raise

    def __await__(self) -> Any:
        return self._open().__await__()

    async def __aenter__(self) -> Any:
        self._connection = await self._open()
        return self._connection

    async def __aexit__(self, kind: Any, *rest: Any) -> None:
        if kind is None or not issubclass(kind, pytest.fail.Exception):
            await self._connection.close()


def _async_connect(original: Any, cassette: SessionCassette) -> Any:
    def connect(uri: str, *args: Any, **kwargs: Any) -> Any:
        if not is_recorded_url(uri):
            return original(uri, *args, **kwargs)
        return _AsyncConnect(original, cassette, uri, args, kwargs)

    return connect


def _originals() -> list[tuple[Any, str]]:
    """Each websockets client connect callable, and whether it is sync or async."""
    import websockets.asyncio.client
    import websockets.sync.client

    found = [(websockets.sync.client.connect, "sync"), (websockets.asyncio.client.connect, "async")]
    with warnings.catch_warnings():  # the SDKs import the deprecated legacy client; so must we, to patch it
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import websockets.legacy.client
        except ImportError:
            return found
    return [*found, (websockets.legacy.client.connect, "async")]


@contextlib.contextmanager
def patched_connects(cassette: SessionCassette) -> Iterator[None]:
    """Every module attribute bound to a connect callable (``from websockets import connect`` included)
    points at the recording one for the duration; each is put back after."""
    originals = _originals()
    replacements = {
        id(original): (_sync_connect if flavour == "sync" else _async_connect)(original, cassette)
        for original, flavour in originals
    }
    by_id = {id(original): original for original, _ in originals}
    swapped = _swap(by_id, replacements)
    try:
        yield
    finally:
        back = {id(fake): by_id[key] for key, fake in replacements.items()}
        _swap({id(fake): fake for fake in replacements.values()}, back)
        del swapped


def _swap(wanted: dict[int, Any], replacements: dict[int, Any]) -> int:
    swapped = 0
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for name, value in list(namespace.items()):
            if name == "Connect":  # the legacy class's own name, which websockets uses inside; not a call site
                continue
            if id(value) in wanted and value is wanted[id(value)]:
                namespace[name] = replacements[id(value)]
                swapped += 1
    return swapped


# ------------------------------------------------------------------------------------ pytest wiring


def add_options(group: Any) -> None:
    group.addoption(
        "--hume-record-mode",
        default=None,
        choices=RECORD_MODES,
        help="stream sessions of tests using hume_sessions: none, once, new_episodes, all (default: "
        "pytest-recording's --record-mode when given, else once)",
    )


def record_mode(request: pytest.FixtureRequest) -> str:
    marker = request.node.get_closest_marker("hume_sessions")
    if marker is not None and marker.kwargs.get("record_mode"):
        return str(marker.kwargs["record_mode"])
    config = request.config
    return config.getoption("--hume-record-mode") or config.getoption("--record-mode", None) or DEFAULT_MODE


def _cassette_place(request: pytest.FixtureRequest) -> tuple[Path, str]:
    """pytest-recording's cassette dir and name when it is installed (a test's overrides apply), else
    its convention: ``<test dir>/cassettes/<module>/<Class.test>``."""
    try:
        return Path(request.getfixturevalue("vcr_cassette_dir")), request.getfixturevalue("default_cassette_name")
    except pytest.FixtureLookupError:
        pass
    module = Path(str(request.node.fspath))
    name = f"{request.cls.__name__}.{request.node.name}" if request.cls else request.node.name
    for ch in r"<>?%*:|\"'/\\":
        name = name.replace(ch, "-")
    return module.parent / "cassettes" / module.stem, name


@pytest.fixture
def hume_sessions(request: pytest.FixtureRequest) -> Iterator[SessionCassette]:
    """Records the test's v0 and v1 stream sessions into transcripts beside its cassettes, or replays them."""
    import os

    directory, name = _cassette_place(request)
    key = request.config.getoption("--hume-api-key", None) or os.environ.get("HUME_API_KEY", "")
    cassette = SessionCassette(directory, name, record_mode(request), secrets=[key])
    with patched_connects(cassette):
        yield cassette
    if cassette.failures and not getattr(request.node, "_hume_sessions_failed", False):
        pytest.fail("hume_sessions: " + "\n".join(cassette.failures), pytrace=False)


@pytest.fixture(autouse=True)
def _hume_sessions_marker(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("hume_sessions") is not None:
        request.getfixturevalue("hume_sessions")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember a failed test call, so that teardown does not report the same mismatch twice."""
    outcome = yield
    if call.when == "call" and outcome.get_result().failed:
        item._hume_sessions_failed = True  # type: ignore[attr-defined]
