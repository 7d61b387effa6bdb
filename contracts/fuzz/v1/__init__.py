"""The v1 part of ``hume-contracts fuzz``: uploads, realtime sessions and runs of Hume's live API.

In order: the session probes (every documented session rule from both sides, and handshakes), the upload and
runs probes (valid media under ``--max-media-seconds``; the limits), every HTTP operation through schemathesis,
then generated sessions (a Hypothesis state machine per realtime channel). The engine (budgets, ledger,
reports) is the version-agnostic one of ``contracts.fuzz``; what is v1's lives here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

from contracts.fuzz.context import BudgetExhausted, FuzzContext
from contracts.fuzz.v1 import codes as codes  # registers the probe codes' grades
from contracts.fuzz.v1.budget import MediaBudget

DEFAULT_MAX_MEDIA_SECONDS = 600.0


def _steps() -> dict[str, Callable[[Any], None]]:
    """Every step by name, in the order a run takes them."""
    from contracts.fuzz.v1.http import run_operations
    from contracts.fuzz.v1.machine import run_machines
    from contracts.fuzz.v1.probes import SESSIONS, handshakes, runs_probes, session_probe, upload_probes

    def with_client(step: Callable[[Any, Any], None]) -> Callable[[Any], None]:
        def run_step(run: Any) -> None:
            with run.ctx.http() as client:
                step(run, client)

        return run_step

    steps: dict[str, Callable[[Any], None]] = {"handshakes": handshakes}
    steps.update({name: (lambda run, name=name: session_probe(run, name)) for name in SESSIONS})
    steps["uploads"] = with_client(upload_probes)
    steps["runs"] = with_client(runs_probes)
    steps["operations"] = lambda run: run_operations(run.ctx, run.run_ids)
    steps["machine"] = run_machines
    return steps


def part_steps(only: str | None) -> list[str]:
    """--only stream: the session probes and generated sessions; --only batch: uploads, runs, operations."""
    names = list(_steps())
    http = ["uploads", "runs", "operations"]
    if only == "batch":
        return http
    if only == "stream":
        return [name for name in names if name not in http]
    return names


def run_v1(
    ctx: FuzzContext, only: str | None, max_media_seconds: float, steps: Collection[str] | None = None
) -> MediaBudget:
    """The v1 steps selected (all, ``--only``'s, or ``steps`` by name), under the run's budgets; the media
    budget it spent is returned (and noted in the ledger)."""
    from contracts.fuzz.v1.probes import V1Run

    run = V1Run(ctx, MediaBudget(max_media_seconds))
    table = _steps()
    for name in steps if steps is not None else part_steps(only):
        if ctx.remaining() <= 0:
            ctx.ledger.note(f"v1 {name} was not run: the time budget was spent")
            continue
        started = time.monotonic()
        try:
            table[name](run)
        except BudgetExhausted:
            ctx.ledger.note(f"time budget spent during v1 {name}")
        ctx.progress(f"v1     {name:<40} {time.monotonic() - started:5.1f} s")
    ctx.ledger.note(run.budget.describe())
    if run.failures.written:
        ctx.ledger.note(f"v1 sessions that failed: {run.failures.written} transcripts in {run.failures.directory}")
    ctx.progress(run.budget.describe())
    return run.budget
