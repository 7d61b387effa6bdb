"""How many body bytes the proxy holds for checking, across every client at once.

Each body is kept for checking up to the check limit; without a global bound, a hundred concurrent
large uploads add up to gigabytes (issue 15). A body that does not fit in what is left passes
through unchecked (and says so), as one over the check limit does.
"""

from __future__ import annotations

import threading

HOLD_BUDGET = 512 * 1024 * 1024


class HoldBudget:
    """A byte count shared by every flow; ``take`` fails rather than go over ``limit``."""

    def __init__(self, limit: int = HOLD_BUDGET) -> None:
        self.limit = limit
        self.held = 0
        self.peak = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self._lock:
            if self.held + size > self.limit:
                return False
            self.held += size
            self.peak = max(self.peak, self.held)
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self.held -= size


class HeldBody:
    """One body kept for checking, within the per-body ``check_limit`` and the shared budget."""

    def __init__(self, budget: HoldBudget, check_limit: int) -> None:
        self.budget = budget
        self.check_limit = check_limit
        self.data = bytearray()
        self.taken = 0  # bytes counted against the budget until ``release``
        self.kept = True  # False once a chunk did not fit: the body goes unchecked
        self.over_budget = False

    def add(self, chunk: bytes) -> bool:
        """Keep ``chunk``; False (and nothing kept from now on) once the body does not fit.

        What was held stays in ``data`` until ``release``: a buffered answer still has to send it.
        """
        if not self.kept:
            return False
        if len(self.data) + len(chunk) > self.check_limit:
            self.kept = False
        elif self.budget.take(len(chunk)):
            self.taken += len(chunk)
            self.data.extend(chunk)
        else:
            self.kept, self.over_budget = False, True
        return self.kept

    def drop(self) -> None:
        self.kept = False
        self.release()

    def release(self) -> None:
        """Give the bytes back to the budget, once the flow's hooks are done with the body."""
        self.budget.give(self.taken)
        self.taken = 0
        self.data = bytearray()

    def value(self) -> bytes | None:
        """The body (still counted against the budget until ``release``), or None when it was not kept."""
        if not self.kept:
            return None
        body, self.data = bytes(self.data), bytearray()
        return body
