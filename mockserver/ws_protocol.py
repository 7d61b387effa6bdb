"""uvicorn's websockets-sansio protocol, with what a peer that does not read must not get: unbounded buffers.

asyncio never blocks a write: what the peer does not take waits in the transport's buffer. uvicorn already
waits for room before writing a message (flow control), but the message itself goes in whole, so each
connection of a client that sends and never reads would hold its last reply unsent, the next one computed
and waiting, and every pong it asked for. Here:

- a reply is sent only once the previous one has left (``send`` returns when the buffer has drained), so a
  connection holds at most one reply unsent, and the app does not read the next frame before that;
- a connection whose unsent bytes make no progress for ``stall_seconds`` is dropped (aborted: a graceful
  close would wait for the buffer to drain, forever);
- pings are not answered while writes are held up (a ping flood from a peer that does not read adds nothing);
- at shutdown a held-up connection is aborted at once, so SIGTERM stops the mock whatever clients do.

This subclasses a uvicorn internal: pyproject bounds uvicorn's version.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class BoundedWebSocketProtocol(WebSocketsSansIOProtocol):
    stall_seconds: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stall_check: asyncio.TimerHandle | None = None
        self._unsent_at_last_check = 0

    async def send(self, message: Any) -> None:  # uvicorn's ASGISendEvent
        await super().send(message)
        if message["type"] == "websocket.send":
            await self.writable.wait()  # set again when the buffer drains, or when the connection is lost

    def pause_writing(self) -> None:
        super().pause_writing()
        self._unsent_at_last_check = self.transport.get_write_buffer_size()
        self._schedule_stall_check()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._cancel_stall_check()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_stall_check()
        super().connection_lost(exc)

    def handle_ping(self) -> None:
        if self.writable.is_set():
            super().handle_ping()
        else:
            self.conn.data_to_send()  # drop the pong: the peer is not reading what it already has

    def shutdown(self) -> None:
        super().shutdown()
        if not self.writable.is_set():
            self.transport.abort()

    def _schedule_stall_check(self) -> None:
        self._cancel_stall_check()
        self._stall_check = self.loop.call_later(self.stall_seconds, self._check_progress)

    def _cancel_stall_check(self) -> None:
        if self._stall_check is not None:
            self._stall_check.cancel()
            self._stall_check = None

    def _check_progress(self) -> None:
        """Drop the connection if nothing of its unsent bytes left since the last check."""
        self._stall_check = None
        unsent = self.transport.get_write_buffer_size()
        if unsent >= self._unsent_at_last_check:
            self.logger.warning(
                "stream client %s read nothing for %g s with %d bytes waiting for it: dropped",
                f"{self.client[0]}:{self.client[1]}" if self.client else "?",
                self.stall_seconds,
                unsent,
            )
            self.transport.abort()
            return
        self._unsent_at_last_check = unsent
        self._schedule_stall_check()


def bounded_protocol(stall_seconds: float) -> type[BoundedWebSocketProtocol]:
    """The protocol class for uvicorn's ``ws`` setting, dropping peers stalled for ``stall_seconds``."""
    return type("BoundedWebSocketProtocol", (BoundedWebSocketProtocol,), {"stall_seconds": stall_seconds})
