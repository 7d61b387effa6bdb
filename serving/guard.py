"""Bounds uvicorn's HTTP protocol lacks, for every server of the suite (issue 15, section 2).

- a request head (request line and headers) must arrive within ``head_timeout`` seconds (slowloris), and
  hold at most ``MAX_HEADERS`` fields and ``MAX_HEAD_BYTES`` bytes: 20,000 headers are refused at the
  257th, before anything quadratic can run (431);
- at most ``max_connections`` connections at once (HTTP and WebSocket together), below the file
  descriptor limit, so a flood of idle connections is refused (503) instead of stopping every accept.

These subclass uvicorn internals (``pyproject.toml`` bounds its version).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEADERS = 256
MAX_HEAD_BYTES = 64 * 1024
HEAD_TIMEOUT = 10.0  # seconds for a request head to arrive, from the connection or the request's first byte
LINGER_SECONDS = 1.0
FDS_IN_RESERVE = 64  # listening socket, log files, spools, the interpreter's own
ACCEPT_BURST = 160  # asyncio accepts the whole listen backlog (128) before the first connection can be refused


def connection_cap(wanted: int | None = None, *, fds_per_connection: int = 1) -> int:
    """How many connections may be open at once: ``wanted``, within what the file-descriptor limit allows.

    Raises the soft limit to the hard one first (as servers do), so the cap is as high as the system lets it be.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or hard > soft):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    spare = soft - FDS_IN_RESERVE - ACCEPT_BURST
    allowed = 1_000_000 if soft == resource.RLIM_INFINITY else max(1, spare // fds_per_connection)
    return min(wanted, allowed) if wanted else allowed


class HeadTooLarge(Exception):
    """A request head with too many fields, or too many bytes."""


class Refusals:
    """Connections refused at the cap, logged at most once a second (a flood must not flood the log too)."""

    def __init__(self, log: logging.Logger, server: str) -> None:
        self.log, self.server = log, server
        self.unlogged = 0
        self.logged_at = 0.0

    def note(self, cap: int) -> None:
        self.unlogged += 1
        now = time.monotonic()
        if now - self.logged_at >= 1.0:
            self.log.warning("refused %d connection(s): the %s is at its cap of %d", self.unlogged, self.server, cap)
            self.unlogged, self.logged_at = 0, now


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head deadline, head limits and a connection cap."""

    max_connections = 1000  # set by ``guarded_http_protocol``
    head_timeout = HEAD_TIMEOUT
    server = "server"  # the name a refusal gives
    refusals = Refusals(logging.getLogger(__name__), server)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_fields = 0
        self._head_bytes = 0
        self._refused = False  # an answer of ours is out: the rest the client sends is read and dropped

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self.refusals.note(self.max_connections)
            self._refuse(503, f"the {self.server} is at its connection limit", linger=False)  # the descriptor back
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            if isinstance(error.__context__, HeadTooLarge):
                self._refuse(431, str(error.__context__))
            else:
                self._refuse(400, "Invalid HTTP request received.")
        except httptools.HttpParserError:
            self._refuse(400, "Invalid HTTP request received.")
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    # ---- parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_fields = self._head_bytes = 0
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._count(0, len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(1, len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        super().on_headers_complete()

    def _count(self, fields: int, size: int) -> None:
        self._head_fields += fields
        self._head_bytes += size
        if self._head_fields > MAX_HEADERS:
            raise HeadTooLarge(f"more than {MAX_HEADERS} header fields")
        if self._head_bytes > MAX_HEAD_BYTES:
            raise HeadTooLarge(f"a request head over {MAX_HEAD_BYTES} bytes")

    # ---- the head deadline

    def _arm_head_timer(self) -> None:
        if self._head_timer is None and self.head_timeout:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered: its own timeouts apply
        self._refuse(408, f"no complete request head within {self.head_timeout:g} s")

    def _refuse(self, status: int, reason: str, *, linger: bool = True) -> None:
        """A plain-text answer, then the connection closes (nothing reaches the app).

        A lingering close: our side shuts, what the client still sends is read and dropped for a moment,
        then the socket closes. Closing at once with its data unread would reset the connection, and the
        client would lose the answer.
        """
        if self.transport.is_closing() or self._refused:
            return
        self._refused = True
        self._disarm_head_timer()
        phrase = {400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large"}
        phrase[503] = "Service Unavailable"
        body = reason.encode("ascii", "replace")
        head = f"HTTP/1.1 {status} {phrase[status]}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        head += f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        self.transport.write(head.encode("ascii") + body)
        if not linger:
            self.transport.close()
            return
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


def guarded_http_protocol(
    base: type[GuardedHttpProtocol], max_connections: int, head_timeout: float, *, server: str, log: logging.Logger
) -> type[GuardedHttpProtocol]:
    """``base`` for uvicorn's ``http=`` with these bounds; ``server`` names it in refusals and in ``log``."""
    settings = {"max_connections": max_connections, "head_timeout": head_timeout, "server": server}
    return type(base.__name__, (base,), {**settings, "refusals": Refusals(log, server), "__module__": base.__module__})
