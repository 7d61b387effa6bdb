"""One v1 realtime session the fuzzer holds: every frame sent and received is kept as a transcript line (the
HAR ``_webSocketMessages`` form ``validate`` reads), the session is judged as a whole by the v1 session rules,
and a transcript that shows a failure is written to a ``.jsonl`` file that reproduces it.

Every wait is bounded (a reply timeout, never past the run's budget); the transcript is bounded by what the
fuzzer sends (the media budget) and by ``MAX_RECEIVED`` server messages.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from contracts.apis import get_api
from contracts.fuzz.context import API_KEY_HEADER, BudgetExhausted, FuzzContext
from contracts.fuzz.ledger import CheckFailure
from contracts.fuzz.redaction import Redactor
from contracts.readers import ReadError, SessionItem, WsFrame, ws_frame
from contracts.violations import Finding

MAX_RECEIVED = 2000  # server messages kept per session
MAX_MESSAGE = 2**21  # what the fuzzer reads of one server message (v1 server messages are small)
SESSION_RULES = "v1 session rules"


def channel_path(channel: str) -> str:
    return f"/v1/expression/{channel}/realtime"


def ws_base(base_url: str) -> str:
    return base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)


class SessionLost(Exception):
    """The session could not be opened or held (the server closed it, or did not answer in time)."""


@dataclass
class Transcript:
    channel: str
    records: list[dict[str, Any]] = field(default_factory=list)
    received: int = 0

    def sent(self, item: dict[str, Any] | bytes) -> None:
        self.records.append(_record("send", item))

    def got(self, text: str | bytes) -> None:
        self.received += 1
        self.records.append(_record("receive", text))

    def close(self, direction: str, code: int | None, reason: str = "") -> None:
        self.records.append({"type": direction, "opcode": 8, "code": code, "reason": reason})

    def frames(self) -> Iterator[WsFrame | ReadError]:
        for index, record in enumerate(self.records):
            frame = ws_frame(record, f"frame {index + 1}")
            if frame is not None:
                yield frame

    def write(self, directory: Path, name: str, redactor: Redactor) -> Path:
        """The transcript as ``.jsonl``, with the key out of every frame (a server may echo it)."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.jsonl"
        records = (_redacted(record, redactor) for record in self.records)
        path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
        return path


def _redacted(record: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    if "data" not in record:  # a close
        return record
    if record.get("opcode") == 2:
        data = redactor.binary(base64.b64decode(record["data"]))
        return {**record, "data": base64.b64encode(data).decode("ascii")}
    return {**record, "data": redactor.json_text(record["data"])}


def _record(direction: str, item: dict[str, Any] | str | bytes) -> dict[str, Any]:
    if isinstance(item, bytes):
        return {"type": direction, "opcode": 2, "data": base64.b64encode(item).decode("ascii")}
    text = item if isinstance(item, str) else json.dumps(item)
    return {"type": direction, "opcode": 1, "data": text}


class LiveSession:
    """A session on one realtime channel; use as a context manager. Messages are dicts (``None``: closed)."""

    def __init__(self, ctx: FuzzContext, channel: str, *, reply_timeout: float = 10.0, name: str = "") -> None:
        self.ctx = ctx
        self.channel = channel
        self.transcript = Transcript(channel)
        self.timeline = ctx.ledger.timelines.open(name or f"v1 {channel} session")  # message types, for the reports
        # a reply is an exchange: --response-timeout bounds it too
        self.reply_timeout = min(reply_timeout, ctx.response_timeout)
        self.closed_code: int | None = None
        self.is_closed = False  # the server closed the session (its code may be None: closed without a frame)
        self.ws: ClientConnection | None = None

    def __enter__(self) -> LiveSession:
        url = ws_base(self.ctx.base_url) + channel_path(self.channel)
        try:
            self.ws = connect(
                url,
                additional_headers={API_KEY_HEADER: self.ctx.api_key},
                open_timeout=self.ctx.open_timeout(),
                close_timeout=2,
                max_size=MAX_MESSAGE,
            ).__enter__()  # held across the probe's calls: closed by __exit__
        except (OSError, WebSocketException, TimeoutError) as error:
            self.timeline.add(f"could not open: {type(error).__name__}")
            raise SessionLost(f"could not open {channel_path(self.channel)}: {type(error).__name__}") from None
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.ws is not None:
            self.ws.close()
            if not self.is_closed:
                self.transcript.close("send", 1000)
                self.timeline.add("closed by the fuzzer: code 1000")

    def send(self, item: dict[str, Any] | bytes) -> bool:
        """Send one message; False when the server has closed the session already."""
        assert self.ws is not None
        self.transcript.sent(item)
        self.timeline.add(f"sent {len(item)} bytes" if isinstance(item, bytes) else f"sent {item.get('type')}")
        try:
            self.ws.send(item if isinstance(item, bytes) else json.dumps(item))
        except ConnectionClosed:
            self._closed()
            return False
        return True

    def receive(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next server message; None when the session is closed or nothing came in ``timeout``."""
        assert self.ws is not None
        if self.is_closed or self.transcript.received >= MAX_RECEIVED:
            return None
        if self.ctx.remaining() <= 0:  # a session cut short by the budget is not judged (no false alarm)
            raise BudgetExhausted
        wait = max(0.0, min(self.reply_timeout if timeout is None else timeout, self.ctx.remaining()))
        try:
            text = self.ws.recv(timeout=wait)
        except TimeoutError:
            return None
        except ConnectionClosed:
            self._closed()
            return None
        self.transcript.got(text)
        try:
            message = json.loads(text)
        except (ValueError, TypeError):
            message = None
        self.timeline.add(f"received {message_kind(message)}")
        return message if isinstance(message, dict) else {}

    def until(self, wanted: Callable[[dict[str, Any]], bool], timeout: float | None = None) -> dict[str, Any] | None:
        """Read until a message ``wanted`` says is the one (returned), the close, or the timeout (None)."""
        deadline = time.monotonic() + (self.reply_timeout if timeout is None else timeout)
        while (left := deadline - time.monotonic()) > 0:
            message = self.receive(left)
            if message is None:
                return None
            if wanted(message):
                return message
        return None

    def rest(self, quiet: float = 0.3, timeout: float | None = None) -> list[dict[str, Any]]:
        """Every message until the session closes, or none came for ``quiet`` s (at most ``timeout`` s)."""
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + (self.reply_timeout if timeout is None else timeout)
        while (left := deadline - time.monotonic()) > 0:
            message = self.receive(min(quiet, left))
            if message is None:
                break
            out.append(message)
        return out

    def close_session(self) -> list[dict[str, Any]]:
        """session.close, then everything up to the close (bounded)."""
        self.send({"type": "session.close"})
        return self.rest(quiet=self.reply_timeout)

    def _closed(self) -> None:
        if not self.is_closed and self.ws is not None:
            self.is_closed = True
            self.closed_code = self.ws.close_code
            self.transcript.close("receive", self.closed_code, self.ws.close_reason or "")
            self.timeline.add(f"closed by the server: code {self.closed_code}")


def message_kind(message: Any) -> str:
    """A server message as a timeline names it: its type, and an error's code (never its other fields)."""
    if not isinstance(message, dict):
        return "a message that is not a JSON object"
    code = f" {message.get('code')}" if message.get("type") == "error" else ""
    return f"{message.get('type')}{code}"


def handshake_status(ctx: FuzzContext, channel: str, headers: dict[str, str]) -> int | None:
    """The HTTP status a handshake with ``headers`` gets (101 when accepted); None when nothing answered."""
    url = ws_base(ctx.base_url) + channel_path(channel)
    try:
        with connect(url, additional_headers=headers, open_timeout=ctx.open_timeout(), close_timeout=1):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code
    except (OSError, WebSocketException, TimeoutError):
        return None


def judge(ctx: FuzzContext, transcript: Transcript, where: str) -> list[tuple[str, str, str]]:
    """The v1 session rules' verdict on a whole session: (code, title, found) of each violation."""
    item = SessionItem("fuzz", where, "v1", channel_path(transcript.channel), transcript.frames())
    found: list[tuple[str, str, str]] = []
    for result in get_api("v1").adapter().judge_session(item):
        if isinstance(result, Finding):
            for violation in result.violations:
                title = f"{violation.code} at {result.location} {violation.pointer or ''}".strip()
                found.append((violation.code, title, ctx.redactor.text(violation.describe())[:300]))
        elif isinstance(result, ReadError):
            found.append(("v1-fuzz-session", f"unreadable session: {result.location}", result.message[:300]))
    return found


@dataclass
class Failures:
    """Where a failing session's transcript is written (one directory per run, made on first use)."""

    directory: Path | None = None
    written: int = 0

    def save(self, transcript: Transcript, name: str, redactor: Redactor) -> Path:
        if self.directory is None:
            import tempfile

            self.directory = Path(tempfile.mkdtemp(prefix="hume-contracts-v1-sessions-"))
        self.written += 1
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:60]
        return transcript.write(self.directory, f"{self.written:03d}-{safe}", redactor)


def record_session(
    ctx: FuzzContext, failures: Failures, transcript: Transcript, where: str, probe_failures: list[CheckFailure]
) -> bool:
    """Judge a finished session by the v1 rules, add its probe's own failures, and record both in the ledger
    (a failing session's transcript written once, named in each failure). True when it passed."""
    judged = judge(ctx, transcript, where)
    if not judged and not probe_failures:
        ctx.ledger.ok(where, SESSION_RULES)
        return True
    path = failures.save(transcript, where, ctx.redactor)
    reproduce = f"hume-contracts validate {path}  (the session's transcript; replay its sent frames to reproduce)"
    for code, title, found in judged:
        ctx.ledger.fail(CheckFailure(where, SESSION_RULES, code, title, "the v1 session rules", found, reproduce))
    for failure in probe_failures:
        ctx.ledger.fail(CheckFailure(**{**failure.__dict__, "reproduce": reproduce}))
    if not judged:
        ctx.ledger.ok(where, SESSION_RULES)
    return False
