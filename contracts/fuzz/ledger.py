"""The ledger of a fuzz run: pass/fail counts per (where, check), and each distinct failure once.

``where`` names what was exercised: an operation (``GET /v0/batch/jobs/{id}``), a lifecycle step
(``lifecycle: poll``), or a stream message kind (``stream: predictions``). ``check`` names the check family.
Everything stored here has already been redacted: the ledger is what reports are written from.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckFailure:
    where: str
    check: str
    code: str  # a stable code: a violation code (contracts/codes.py) or a schemathesis failure code
    title: str
    expected: str
    found: str
    reproduce: str  # a curl command, a JSON frame to send, or the steps of a lifecycle

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.where, self.check, self.code, self.title)


@dataclass
class Ledger:
    passed: Counter[tuple[str, str]] = field(default_factory=Counter)
    failed: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: dict[tuple[str, str, str, str], CheckFailure] = field(default_factory=dict)
    occurrences: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    rate_limited_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ok(self, where: str, check: str) -> None:
        with self._lock:
            self.passed[(where, check)] += 1

    def fail(self, failure: CheckFailure) -> None:
        with self._lock:
            self.failed[(failure.where, failure.check)] += 1
            self.failures.setdefault(failure.key, failure)
            self.occurrences[failure.key] += 1

    def note(self, text: str) -> None:
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)

    @property
    def has_failures(self) -> bool:
        return bool(self.failures)

    def rows(self) -> list[tuple[str, str, int, int]]:
        """(where, check, passed, failed) for every pair seen, sorted for stable reports."""
        keys = sorted(set(self.passed) | set(self.failed))
        return [(where, check, self.passed[(where, check)], self.failed[(where, check)]) for where, check in keys]
