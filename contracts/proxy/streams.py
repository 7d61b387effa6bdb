"""Bounds on a relayed WebSocket session (issue 15): checks off the event loop, floods and oversized frames.

- ``FrameChecks``: a connection's frame hooks (text and binary frames alike) run in order in a worker thread,
  so a 1 MiB invalid frame holds up its own connection, never the other clients; the relay waits once
  ``MAX_BACKLOG_BYTES`` of frames are waiting to be checked, so nothing piles up unchecked in memory; with
  ``--strict`` a server's frame waits for its own check before it is passed on;
- ``GuardedClientConnection``: the proxy's connection to the target, cut off when the target floods pings
  and never reads the pongs (they would pile up in the write buffer);
- ``UnansweredFrames``: the sent frames awaiting a reply, bounded;
- ``broken_off``: what to tell the client when the target's side ended without a close frame of its own
  (a frame over the size limit, a protocol error, a flood), instead of a clean 1000.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from websockets.asyncio.client import ClientConnection

from contracts.proxy.flows import StreamFlow, StreamMessage

log = logging.getLogger("hume_contracts.proxy")

MAX_BACKLOG_BYTES = 16 * 1024 * 1024  # frames waiting for their check, per connection (one frame always fits)
MAX_PONG_BACKLOG = 1024 * 1024
INTERNAL_ERROR, MESSAGE_TOO_BIG = 1011, 1009


class FrameChecks:
    """The frame hooks of one connection, in arrival order, off the event loop, with a bounded backlog."""

    def __init__(self, flow: StreamFlow, run: Callable[[str, StreamFlow, StreamMessage], Awaitable[None]]) -> None:
        self.flow = flow
        self.run = run
        self.waiting: asyncio.Queue[StreamMessage | None] = asyncio.Queue()
        self.backlog = 0
        self.queued = 0  # frames put so far
        self.done = 0  # frames checked so far (in order)
        self.room = asyncio.Condition()
        self.task = asyncio.create_task(self._check_each())

    async def put(self, message: StreamMessage) -> int:
        """Queue the frame for its check; its place in the queue (for ``checked``)."""
        size = len(message.text or "") + len(message.data or b"")
        async with self.room:  # the relay waits while the checks are far behind
            await self.room.wait_for(lambda: self.backlog == 0 or self.backlog + size <= MAX_BACKLOG_BYTES)
            self.backlog += size
        self.queued += 1
        self.waiting.put_nowait(message)
        return self.queued

    async def checked(self, place: int) -> None:
        """Until the frame queued at ``place`` (and every one before it) has been checked (``--strict`` holds a
        server's frame back until then: the client must not get a frame that breaks the contract)."""
        async with self.room:
            await self.room.wait_for(lambda: self.done >= place or self.task.done())

    async def _check_each(self) -> None:
        while (message := await self.waiting.get()) is not None:
            try:
                await self.run("websocket_message", self.flow, message)
            finally:
                async with self.room:
                    self.backlog -= len(message.text or "") + len(message.data or b"")
                    self.done += 1
                    self.room.notify_all()

    async def finish(self) -> None:
        """Every frame put so far checked (or, if the proxy is stopping, abandoned)."""
        self.waiting.put_nowait(None)
        await self.task


class GuardedClientConnection(ClientConnection):
    """The connection to the target; aborted when its unread pongs pass the backlog bound (a ping flood).

    The bound leaves room for one frame of the proxy's own in the write buffer: only pongs go past it.
    """

    max_frame = 16 * 1024 * 1024
    flooded = False

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.get_write_buffer_size() > self.max_frame + MAX_PONG_BACKLOG and not self.flooded:
            self.flooded = True
            log.warning("cut off a target that pings without reading the pongs")
            self.transport.abort()


def broken_off(upstream: Any) -> tuple[int, str] | None:
    """(code for the client, what happened) when the target's side ended without its own close frame.

    None for a close the target sent (passed on as it is) and for a plain dropped connection (1006).
    """
    if getattr(upstream, "flooded", False):
        return INTERNAL_ERROR, "the target flooded pings without reading the pongs; the proxy cut it off"
    sent = upstream.protocol.close_sent
    if upstream.protocol.close_rcvd is None and sent is not None and sent.code != 1000:
        if sent.code == MESSAGE_TOO_BIG:
            return MESSAGE_TOO_BIG, f"the target sent a frame over the proxy's limit ({sent.reason or 'too big'})"
        return sent.code, f"the target's stream broke: {sent.code} {sent.reason}".rstrip()
    return None


MAX_UNANSWERED = 1024


MAX_KEPT_TEXT = 10_000  # characters of a raw-text frame kept for the position check (Hume's stream text limit)


def _is_short_text(frame: dict[str, Any]) -> bool:
    """A raw-text frame whose text the reply's positions are checked against (kept; media is not)."""
    data = frame.get("data")
    return frame.get("raw_text") is True and isinstance(data, str) and len(data) <= MAX_KEPT_TEXT


class UnansweredFrames:
    """A connection's sent frames awaiting their reply, in order, at most ``MAX_UNANSWERED`` of them.

    Frames past the bound are counted, not kept: their replies are still told apart (so a later frame is
    never paired with an earlier frame's reply, which would be a false alarm), only not checked against them.
    """

    def __init__(self) -> None:
        # a frame (number, frame, when it was sent), or [how many were not kept]
        self._waiting: deque[tuple[int, Any, float] | list[int]] = deque()
        self._kept = 0
        self.overflowed = False

    def add(self, number: int, frame: Any, sent_at: float) -> bool:
        """Keep the frame; True the first time one could not be kept (worth a note)."""
        if self._kept < MAX_UNANSWERED:
            if isinstance(frame, dict) and "data" in frame and not _is_short_text(frame):
                frame = {**frame, "data": ""}  # media: the reply checks ask only whether it had data
            self._waiting.append((number, frame, sent_at))
            self._kept += 1
            return False
        if self._waiting and isinstance(self._waiting[-1], list):
            self._waiting[-1][0] += 1
        else:
            self._waiting.append([1])
        first, self.overflowed = not self.overflowed, True
        return first

    def take(self) -> tuple[int, Any, float] | None:
        """The oldest frame awaiting a reply; None when there is none, or its frame was not kept."""
        if not self._waiting:
            return None
        head = self._waiting[0]
        if isinstance(head, list):
            head[0] -= 1
            if head[0] == 0:
                self._waiting.popleft()
            return None
        self._waiting.popleft()
        self._kept -= 1
        return head

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def __iter__(self) -> Iterator[tuple[int, Any, float]]:
        """The kept frames still awaiting a reply (at the close)."""
        return (entry for entry in self._waiting if isinstance(entry, tuple))
