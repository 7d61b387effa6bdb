"""The ledger of a fuzz run: pass/fail counts per (where, check), and each distinct failure once.

``where`` names what was exercised: an operation (``GET /v0/batch/jobs/{id}``), a lifecycle step
(``lifecycle: poll``), or a stream message kind (``stream: predictions``). ``check`` names the check family.
Everything stored here has already been redacted: the ledger is what reports are written from.

A failure whose evidence grade is a judgement of this suite (``contracts/evidence.py``) is a **warning**: kept
and counted apart (``warnings``, ``warned``), never making the run fail, unless ``strict_judgements``.

The ledger also keeps the run's timelines (``contracts/fuzz/timelines.py``): each job and session step by
step, a step marked failed by the failures recorded on it.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from contracts.evidence import grade_of, is_warning
from contracts.fuzz.timelines import Timelines


@dataclass(frozen=True)
class CheckFailure:
    where: str
    check: str
    code: str  # a stable code: a violation code (contracts/codes.py) or a schemathesis failure code
    title: str
    expected: str
    found: str
    reproduce: str  # a curl command, a JSON frame to send, or the steps of a lifecycle
    grade: str = ""  # narrower than its code's evidence grade for this finding; "" for the code's

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.where, self.check, self.code, self.title)

    @property
    def evidence(self) -> str:
        """The grade that applies: its own, else its code's."""
        return grade_of(self.code, self.grade).value


@dataclass
class Ledger:
    passed: Counter[tuple[str, str]] = field(default_factory=Counter)
    failed: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: dict[tuple[str, str, str, str], CheckFailure] = field(default_factory=dict)
    occurrences: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    rate_limited_seconds: float = 0.0
    strict_judgements: bool = False
    warned: Counter[tuple[str, str]] = field(default_factory=Counter)
    warnings: dict[tuple[str, str, str, str], CheckFailure] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)  # the parts that did not run to the end, and why
    echoes: int = 0  # later reads attributed to the finding that caused them (contracts/fuzz/echoes.py)
    failure_count: int = 0  # failures recorded (each occurrence; warnings apart): what marks a timeline's step
    timelines: Timelines = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.timelines = Timelines(lambda: self.failure_count)

    def ok(self, where: str, check: str) -> None:
        with self._lock:
            self.passed[(where, check)] += 1

    def fail(self, failure: CheckFailure) -> None:
        """A finding: a failure, or a warning when it rests on a judgement of ours (unless strict)."""
        warning = is_warning(failure.code, failure.grade, self.strict_judgements)
        with self._lock:
            (self.warned if warning else self.failed)[(failure.where, failure.check)] += 1
            (self.warnings if warning else self.failures).setdefault(failure.key, failure)
            self.occurrences[failure.key] += 1
            self.failure_count += not warning

    def echoed(self, key: tuple[str, str, str, str]) -> None:
        """A later read showing again what the finding ``key`` caused (a value the run sent out of bounds, echoed
        back): one more occurrence of that finding, not a finding of its own."""
        with self._lock:
            self.occurrences[key] += 1
            self.echoes += 1

    def skip(self, part: str, reason: str) -> None:
        """A part of the run that did not run to its end: the run is INCOMPLETE."""
        with self._lock:
            entry = f"{part}: {reason}"
            if entry not in self.incomplete:
                self.incomplete.append(entry)

    def skipped(self, part: str) -> str | None:
        """Why ``part`` did not run to its end, or None."""
        return next((entry.split(": ", 1)[1] for entry in self.incomplete if entry.startswith(f"{part}: ")), None)

    def note(self, text: str) -> None:
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)

    @property
    def has_failures(self) -> bool:
        return bool(self.failures)

    def rows(self) -> list[tuple[str, str, int, int]]:
        """(where, check, passed, failed) for every pair seen, sorted for stable reports."""
        keys = sorted(set(self.passed) | set(self.failed) | set(self.warned))
        return [(where, check, self.passed[(where, check)], self.failed[(where, check)]) for where, check in keys]
