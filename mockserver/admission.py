"""A bound on the mock's heavy work (computing a job's predictions, building an artifacts archive).

At most ``slots`` such requests run at once and up to ``waiting`` more wait their turn, before their bodies
are read; beyond that the mock answers 429 with ``Retry-After``, as Hume does when it is busy. Memory and
time then grow with the work admitted, not with how many clients push at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

RETRY_AFTER_SECONDS = 1


class Busy(Exception):
    """Every slot is taken and the queue is full: answer 429."""


class WorkGate:
    def __init__(self, slots: int, waiting: int) -> None:
        self.slots = slots
        self.waiting = waiting
        self._semaphore: asyncio.Semaphore | None = None  # made in the server's event loop, on first use
        self._admitted = 0

    @property
    def admitted(self) -> int:
        """How many are running or waiting now."""
        return self._admitted

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Run the block in a slot, waiting for one if the queue has room; Busy otherwise."""
        if self._admitted >= self.slots + self.waiting:
            raise Busy
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.slots)
        self._admitted += 1
        try:
            async with self._semaphore:
                yield
        finally:
            self._admitted -= 1
