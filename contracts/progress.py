"""Live progress on stderr for runs longer than a second or two, drawn by ``rich``.

Only when stderr is a terminal and the user did not ask for ``--quiet``: a CI log (stderr a file or a pipe)
gets exactly the line-oriented output it always had. ``rich`` honours ``NO_COLOR`` (no colour, the bar is
still drawn) and ``TERM=dumb``. The display refreshes itself several times a second from its own thread, so
a part that works for a minute without a word still shows its elapsed time moving.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

REFRESHES_PER_SECOND = 4
MAX_PART = 36


def wanted(stream: TextIO, quiet: bool = False) -> bool:
    """A live display only on a terminal, and never with ``--quiet``."""
    if quiet:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


class LiveProgress:
    """One task: what part is running, how far along (``done`` of ``total``, or of a time budget), elapsed
    and (with a budget) remaining seconds, and free-form running totals. Does nothing when not ``wanted``."""

    def __init__(
        self,
        description: str,
        total: float | None = None,
        budget_seconds: float | None = None,
        stream: TextIO | None = None,
        quiet: bool = False,
        running_totals: Callable[[], str] | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = wanted(self.stream, quiet)
        self.budget = budget_seconds
        self._progress: Any = None
        self._task: Any = None
        self._description = description
        self._total = total
        self._running_totals = running_totals  # read at each refresh (a long-lived server's counters)

    def __enter__(self) -> LiveProgress:
        if self.enabled:
            self._start()
        return self

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(file=self.stream)
        columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
        if self.budget is not None:  # how far along a time-bounded run is: its budget, drawn from the clock
            columns += _budget_columns(self.budget)
        elif self._total:
            columns += [BarColumn(), MofNCompleteColumn()]
        columns += [TimeElapsedColumn(), TextColumn("{task.fields[totals]}")]
        if self._running_totals is not None:
            columns.append(_totals_column(self._running_totals))
        # stdout through the display only when both are the terminal: a redirected stdout keeps every line
        self._progress = Progress(
            *columns, console=console, refresh_per_second=REFRESHES_PER_SECOND, redirect_stdout=wanted(sys.stdout)
        )
        self._progress.start()
        self._task = self._progress.add_task(self._description, total=self._total, totals="")

    def update(self, part: str | None = None, advance: float = 0, totals: str | None = None) -> None:
        """``part``: what is running now; ``advance``: units done since the last call; ``totals``: running counts."""
        if self._progress is None:
            return
        fields: dict[str, Any] = {"advance": advance}
        if part is not None:  # one line on an 80-column terminal, whatever the part's name
            fields["description"] = part if len(part) <= MAX_PART else part[: MAX_PART - 1] + "…"
        if totals is not None:
            fields["totals"] = totals
        self._progress.update(self._task, **fields)

    def print(self, line: str) -> None:
        """A line above the live display (or plainly on stdout when there is none)."""
        if self._progress is None:
            print(line, flush=True)
        else:
            self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _budget_columns(budget: float) -> list[Any]:
    """A bar of the time used and the seconds left of ``budget``, both moving with the clock between updates."""
    from rich.progress import ProgressColumn
    from rich.progress_bar import ProgressBar
    from rich.text import Text

    class BudgetBar(ProgressColumn):
        def render(self, task: Any) -> ProgressBar:
            return ProgressBar(total=budget, completed=min(budget, task.elapsed or 0.0), width=20)

    class BudgetLeft(ProgressColumn):
        def render(self, task: Any) -> Text:
            left = max(0.0, budget - (task.elapsed or 0.0))
            return Text(f"{left:.0f}/{budget:g} s left", no_wrap=True)

    return [BudgetBar(), BudgetLeft()]


def _totals_column(read: Callable[[], str]) -> Any:
    """A column showing ``read()`` at every refresh."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RunningTotals(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(read(), no_wrap=True)

    return RunningTotals()
