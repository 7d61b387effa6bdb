"""A v1 realtime session judged live, as a proxy relays it: frames fed one at a time, both directions.

The session's promises are ``SessionJudge``'s (every v1 rule, the same as ``validate`` applies to a recording);
the client's own mistakes are ``ClientWatch``'s, reported apart as client findings. Memory stays bounded by the
judge's counters, whatever the session's length.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from contracts.apis.v1.client import ClientWatch
from contracts.apis.v1.session import SessionJudge
from contracts.readers import Note, WsFrame


class LiveSession:
    """``feed`` each frame as it passes (with when it passed), then ``finish``; both return results."""

    def __init__(
        self, channel: str, source: str, *, disabled: Collection[str] = (), closed_world: bool = False
    ) -> None:
        self.judge = SessionJudge(channel, source, disabled)
        self.client = ClientWatch(channel, source)
        self.closed_world = closed_world
        self.disabled = frozenset(disabled)

    def feed(self, frame: WsFrame, at: float) -> list[Any]:
        mistakes = self.client.sent(frame, at) if frame.direction == "sent" else []
        mistakes = [mistake for mistake in mistakes if mistake.code not in self.disabled]
        results = self.judge.feed(frame)
        if mistakes and frame.opcode == 2:
            # the judge's note on a client's media frame says what the client finding says
            results = [result for result in results if not isinstance(result, Note)]
        return [*self._settled(results), *mistakes]

    def finish(self) -> list[Any]:
        return self._settled(self.judge.finish())

    def _settled(self, results: list[Any]) -> list[Any]:
        from contracts.apis.v1 import _settled

        return [settled for result in results for settled in _settled(result, self.closed_world)]
