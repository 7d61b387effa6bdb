"""Timelines of a fuzz run: each job's lifecycle and each stream or realtime session, step by step, for the
reports (``timelines`` in report.json, drawn in report.html).

A step says when it happened (seconds since the run started), what happened (a state seen, a message type, a
status code, a close code: never a body or a header) and whether a check failed on it. Which checks are a
step's is read from the ledger's count of failures (warnings, judgements of ours, mark nothing):

- ``add(what)``: the checks came first; a failure recorded since the timeline's last step (or ``mark()``)
  marks this step. A part that works on several jobs in turn calls ``mark()`` where one job's work begins;
- ``add_before_checks(what)``: the checks follow (a frame's reply is judged after it came); a failure
  recorded before the timeline's next step marks this one.

This assumes one part at a time (the parts run in order): a failure a part records from another thread
meanwhile would be counted too.

Bounded: at most ``MAX_TIMELINES`` timelines (later ones counted in a last entry), ``MAX_STEPS`` steps each
(later ones counted in one "… N more steps" marker), texts clipped. Everything is redacted (server-given
values such as job ids, states and message types could carry the key) and thread safe, like the ledger.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_TIMELINES = 50
MAX_STEPS = 200
MAX_TEXT = 160  # characters of a name or a step


@dataclass(frozen=True)
class Step:
    at: float  # seconds since the run started
    what: str
    failed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"at": round(self.at, 3), "what": self.what, "failed": self.failed}


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


class Timeline:
    """One job or session, step by step (see the module docstring for which failures mark a step)."""

    def __init__(self, name: str, timelines: Timelines, kept: bool = True) -> None:
        self.name = name
        self._timelines = timelines
        self._kept = kept  # past MAX_TIMELINES a timeline records nothing
        self.steps: list[Step] = []
        self.more = 0  # steps past MAX_STEPS: counted, not kept
        self.more_failed = 0
        self.more_until = 0.0  # when the last of them happened
        self._mark = timelines.failures()
        self._pending: tuple[float, str] | None = None  # a step whose checks follow

    def rename(self, name: str) -> None:
        """Once it is known what it is (a job's id comes with the answer that started it)."""
        self.name = self._timelines.clean(name)

    def mark(self) -> None:
        """Failures recorded from now on are the next step's."""
        with self._timelines.lock:
            self._settle()
            self._mark = self._timelines.failures()

    def add(self, what: str, failed: bool | None = None, only_on_failure: bool = False) -> None:
        """A step whose checks came first: failed when told, else when a failure was recorded since the last step
        or ``mark()``. ``only_on_failure``: recorded only when it failed (a poll that saw nothing new)."""
        if not self._kept:
            return
        with self._timelines.lock:
            self._settle()
            failures = self._timelines.failures()
            failed = failures > self._mark if failed is None else failed
            self._mark = failures
            if failed or not only_on_failure:
                self._append(Step(self._timelines.now(), self._timelines.clean(what), failed))

    def add_before_checks(self, what: str) -> None:
        """A step whose checks follow: failed when a failure is recorded before this timeline's next step."""
        if not self._kept:
            return
        with self._timelines.lock:
            self._settle()
            self._pending = (self._timelines.now(), self._timelines.clean(what))
            self._mark = self._timelines.failures()

    def _settle(self) -> None:
        """The pending step, judged by the failures recorded since it (called with the lock held)."""
        if self._pending is not None:
            failures = self._timelines.failures()
            self._append(Step(*self._pending, failed=failures > self._mark))
            self._pending, self._mark = None, failures

    def _append(self, step: Step) -> None:
        if len(self.steps) < MAX_STEPS:
            self.steps.append(step)
        else:
            self.more += 1
            self.more_failed += step.failed
            self.more_until = step.at

    @property
    def empty(self) -> bool:
        """No step yet (a job whose request the budget cut off): not listed."""
        return not self.steps and self._pending is None

    def as_dict(self) -> dict[str, Any]:
        """Its steps, and how many there were and failed (those not kept included). A step whose checks have not
        ended yet is shown unmarked: no failure is claimed for it."""
        with self._timelines.lock:
            steps = list(self.steps)
            more, more_failed, more_until = self.more, self.more_failed, self.more_until
            if self._pending is not None and len(steps) < MAX_STEPS:
                steps.append(Step(*self._pending))
            elif self._pending is not None:
                more, more_until = more + 1, self._pending[0]
            listed = [step.as_dict() for step in steps]
            if more:
                failed = f" ({more_failed} failed)" if more_failed else ""
                listed.append(Step(more_until, f"… {more} more steps{failed}", bool(more_failed)).as_dict())
            count, failed_steps = len(steps) + more, sum(step.failed for step in steps) + more_failed
            return {"name": self.name, "steps": listed, "step_count": count, "failed_steps": failed_steps}


class Timelines:
    """The run's timelines, in the order they were opened (at most ``MAX_TIMELINES``)."""

    def __init__(self, failures: Callable[[], int] = lambda: 0) -> None:
        self.failures = failures  # how many failures the ledger has recorded so far
        self.redact: Callable[[str], str] = lambda text: text  # the run's redactor (set by the FuzzContext)
        self.started = time.monotonic()
        self.lock = threading.RLock()
        self.kept: list[Timeline] = []
        self.not_kept = 0
        self._names: Counter[str] = Counter()

    def open(self, name: str) -> Timeline:
        """A new timeline; a name opened before gets a number (``stream session #2``)."""
        with self.lock:
            if len(self.kept) >= MAX_TIMELINES:
                self.not_kept += 1
                return Timeline(name, self, kept=False)
            self._names[name] += 1
            count = self._names[name]
            timeline = Timeline(self.clean(name if count == 1 else f"{name} #{count}"), self)
            self.kept.append(timeline)
            return timeline

    def now(self) -> float:
        return time.monotonic() - self.started

    def clean(self, text: str) -> str:
        return _clip(self.redact(text))

    def as_list(self) -> list[dict[str, Any]]:
        """Every timeline kept; then, when some were not, one entry saying how many."""
        with self.lock:
            listed = [timeline.as_dict() for timeline in self.kept if not timeline.empty]
            if self.not_kept:
                name = f"… {self.not_kept} more jobs and sessions (not kept)"
                listed.append({"name": name, "steps": [], "step_count": 0, "failed_steps": 0})
            return listed
