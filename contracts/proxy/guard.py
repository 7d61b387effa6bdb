"""What the proxy's server refuses before a request reaches the app: the cheap, per-connection defences.

The head deadline, head limits and connection cap are the suite's shared server bounds (``serving.guard``); the
proxy adds:

- the request-target as the client wrote it is kept in the scope (``REQUEST_TARGET``): httptools drops
  the scheme and host of an absolute-form target, and the app refuses anything but origin-form;
- a WebSocket client that pings without reading the pongs is cut off once the unread pongs pass
  ``MAX_PONG_BACKLOG`` bytes (a frame of its own plus 1 MiB), instead of the pongs piling up in memory.

These subclass uvicorn internals (``pyproject.toml`` bounds its version).
"""

from __future__ import annotations

import logging

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from contracts.proxy.targets import REQUEST_TARGET
from serving.guard import HEAD_TIMEOUT, GuardedHttpProtocol, connection_cap, guarded_http_protocol

__all__ = ["HEAD_TIMEOUT", "connection_cap", "guarded_protocols"]

log = logging.getLogger("hume_contracts.proxy")

MAX_PONG_BACKLOG = 1024 * 1024 + 16 * 1024 * 1024  # room for one frame of the proxy's own, then 1 MiB of pongs
FDS_PER_CONNECTION = 2  # the client's socket and the target's


class ProxyHttpProtocol(GuardedHttpProtocol):
    """The guarded HTTP protocol that also keeps the raw request-target."""

    def on_headers_complete(self) -> None:
        self.scope["extensions"] = {REQUEST_TARGET: self.url}
        super().on_headers_complete()


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol that stops a client that floods pings and never reads the pongs, and one
    that breaks the protocol before the handshake is done."""

    def handle_ping(self) -> None:
        if self.transport.get_write_buffer_size() > MAX_PONG_BACKLOG:
            unread = self.transport.get_write_buffer_size()
            log.warning("cut off a stream client that pings without reading (%d bytes unread)", unread)
            self.transport.abort()
            return
        super().handle_ping()

    def handle_parser_exception(self) -> None:
        # A client that sends frames before the handshake is answered breaks the protocol before any close
        # could be sent; uvicorn asserts one was (a traceback in the log). Drop the connection instead.
        if self.conn.close_sent is None:
            log.warning("dropped a stream client that broke the WebSocket protocol: %s", self.conn.parser_exc)
            self.transport.abort()
            return
        super().handle_parser_exception()


def guarded_protocols(max_connections: int | None = None, head_timeout: float = HEAD_TIMEOUT) -> tuple[type, type]:
    """The HTTP and WebSocket protocol classes for uvicorn's ``http=`` and ``ws=``: at most ``max_connections``
    at once (None: what the file-descriptor limit allows, two per connection), heads within ``head_timeout``."""
    cap = connection_cap(max_connections, fds_per_connection=FDS_PER_CONNECTION)
    http = guarded_http_protocol(ProxyHttpProtocol, cap, head_timeout, server="proxy", log=log)
    return http, GuardedWebSocketProtocol
