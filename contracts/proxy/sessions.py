"""Relayed WebSocket sessions of an API judged session by session (v1), live, as the proxy passes them on.

The API is chosen per connection by its path (``contracts.apis``); its adapter's ``live_session`` judges the
session from its frames fed one at a time, both directions, text and binary: the server's promises become
findings, the client's own documented mistakes client findings (never counted against the server). v0's
stream is judged frame by frame by ``ContractChecker``, which leaves these sessions alone.

The frame hooks of one connection run in order in one worker thread (``contracts.proxy.streams``), so a
session's judge is never fed by two threads at once; the table of sessions is shared, and locked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable
from typing import Any
from urllib.parse import urlsplit

from contracts.apis import session_api_for_path
from contracts.proxy.flows import StreamFlow, StreamMessage
from contracts.readers import JsonProblem, Note, WsFrame, parse_json
from contracts.violations import Finding, Violation

SOURCE = "proxy"
HEAD_BYTES = 16  # of a binary frame, kept for the judge (a JPEG's magic)
Listener = Callable[[Any], None]


def judged_as_session(path: str) -> bool:
    """Whether a WebSocket at ``path`` belongs to an API whose sessions are judged as a whole (v1)."""
    return session_api_for_path(urlsplit(path).path) is not None


class SessionChecker:
    """The addon: one live judge per session of such an API; every result goes to each listener."""

    def __init__(
        self, listeners: Collection[Listener], *, disabled: Collection[str] = (), closed_world: bool = False
    ) -> None:
        self.listeners = list(listeners)
        self.disabled = frozenset(disabled)
        self.closed_world = closed_world
        self._live: dict[int, Any] = {}
        self._lock = threading.Lock()

    def websocket_start(self, flow: StreamFlow) -> None:
        path = urlsplit(flow.path).path
        api = session_api_for_path(path)
        if api is None or flow.status != 101:
            return
        make = getattr(api.adapter(), "live_session", None)
        live = make(path, SOURCE, disabled=self.disabled, closed_world=self.closed_world) if make else None
        if live is None:
            self._publish([Note(SOURCE, flow.label, f"{api.name} has no realtime channel at this path: not checked")])
            return
        with self._lock:
            self._live[flow.number] = live

    def websocket_message(self, flow: StreamFlow, message: StreamMessage) -> None:
        with self._lock:
            live = self._live.get(flow.number)
        if live is None:
            return
        frame = as_frame(flow, message)
        if isinstance(frame, Finding | Note):  # a text frame that is not JSON
            flow.findings = self._publish([frame])
            return
        flow.findings = self._publish(live.feed(frame, message.at))

    def websocket_end(self, flow: StreamFlow) -> None:
        with self._lock:
            live = self._live.pop(flow.number, None)
        if live is None:
            return
        if flow.closed_by == "target":  # the session's end is the server's own: its promises about it are due
            where = f"{flow.label} close ({flow.close_code})"
            self._publish(live.feed(WsFrame("received", where, 8, close_code=flow.close_code), flow.started))
        self._publish(live.finish())

    def _publish(self, results: Iterable[Any]) -> list[Finding]:
        return publish(self.listeners, results)


def publish(listeners: Iterable[Listener], results: Iterable[Any]) -> list[Finding]:
    """Each result to each listener, in order; the findings among them (what ``--strict`` reads)."""
    listeners = list(listeners)
    findings = []
    for result in results:
        for listener in listeners:
            listener(result)
        if isinstance(result, Finding):
            findings.append(result)
    return findings


def as_frame(flow: StreamFlow, message: StreamMessage) -> WsFrame | Finding | Note:
    """The relayed frame as the session judge reads a recorded one (a binary frame: its size and first bytes);
    a text frame that is not JSON is said at once: the server's fault when it sent it, a note when the client did."""
    direction = "sent" if message.from_client else "received"
    where = f"{flow.label} frame {message.number} ({direction})"
    if message.data is not None:
        return WsFrame(direction, where, 2, size=len(message.data), head=message.data[:HEAD_BYTES])
    text = message.text or ""
    size = len(text.encode("utf-8", "surrogatepass"))
    try:
        return WsFrame(direction, where, 1, parse_json(text), size=size)
    except JsonProblem as problem:
        if message.from_client:
            return Note(SOURCE, where, f"the client sent a text frame that is not JSON: {problem}")
        violation = Violation("unparsable-body", "", "a JSON text frame", str(problem))
        return Finding(SOURCE, where, "stream-message", [violation])
