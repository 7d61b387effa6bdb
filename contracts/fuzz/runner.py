"""One fuzz run: pick the target (a base URL, or the embedded mock), run the parts in order, report.

Order matters: the lifecycle first (it creates the jobs, under ``--max-jobs``, that the batch part then
reads through schemathesis), then the batch operations, then the stream.
"""

from __future__ import annotations

import contextlib
import importlib
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import hypothesis.configuration

from contracts.fuzz.bounded import MAX_BODY_BYTES, send_httpx
from contracts.fuzz.context import BudgetExhausted, FuzzContext, RateLimiter
from contracts.fuzz.ledger import Ledger
from contracts.fuzz.recorder import Recorder
from contracts.report import plural

PARTS = ("lifecycle", "batch", "stream")


class TargetUnreachable(Exception):
    """The target does not answer at all: a usage problem (exit 2), not a contract failure."""


class KeyRefused(TargetUnreachable):
    """The target refuses the run's API key: a configuration error (exit 2), not contract failures."""


@dataclass
class FuzzOptions:
    base_url: str | None = None
    api_key: str | None = None
    max_examples: int = 25
    max_jobs: int = 3
    time_budget: float = 300.0
    rate_limit: float | None = None
    seed: int | None = None
    only: str | None = None  # "batch" (lifecycle + operations) or "stream"
    record: Path | None = None
    request_timeout: float = 10.0
    response_timeout: float = 30.0
    max_body_bytes: int = MAX_BODY_BYTES
    drifts: frozenset[str] = field(default_factory=frozenset)  # only for the embedded mock: test the suite itself
    strict_judgements: bool = False  # findings graded a judgement fail the run instead of warning
    api: str = "v0"  # "v0", "v1" or "all" (the main job against the embedded mock: all)
    max_media_seconds: float = 600.0  # v1: billable media seconds the run may send (Hume bills v1 by them)


@dataclass
class FuzzResult:
    ledger: Ledger
    target: str
    seed: int
    seconds: float
    jobs_created: int
    recorded: int = 0


@contextlib.contextmanager
def target(options: FuzzOptions) -> Iterator[tuple[str, str, str, str]]:
    """(base URL, stream URL, api key, description); the embedded mock is started and stopped here."""
    if options.base_url:
        base = options.base_url.rstrip("/")
        stream = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/v0/stream/models"
        yield base, stream, options.api_key or "", base
        return
    from mockserver.config import MockConfig
    from mockserver.server import running_mock

    key = options.api_key or "mock-" + secrets.token_hex(8)
    with running_mock(MockConfig(api_key=key, drifts=options.drifts)) as mock:
        yield mock.base_url, mock.stream_url, key, f"{mock.base_url} (embedded mock)"


@contextlib.contextmanager
def private_hypothesis_home() -> Iterator[None]:
    """Hypothesis keeps caches in ./.hypothesis even without an example database; a run writes nothing there."""
    previous = getattr(hypothesis.configuration, "__hypothesis_home_directory", None)
    with tempfile.TemporaryDirectory(prefix="hume-contracts-") as home:
        hypothesis.configuration.set_hypothesis_home_dir(home)
        try:
            yield
        finally:
            hypothesis.configuration.set_hypothesis_home_dir(previous)


def probe(ctx: FuzzContext) -> None:
    """Fail fast, with a clear message, when nothing answers at the base URL or the key is refused (the status
    line is enough): either is a configuration error, and every later check would only repeat it."""
    shown = ctx.redactor.url(ctx.base_url)
    try:
        with ctx.http() as client:
            request = client.build_request("GET", "/v0/batch/jobs", params={"limit": 1})
            ctx.rate.wait()
            answer = send_httpx(client, request, ctx.watch, min(ctx.request_timeout, ctx.exchange_seconds()), limit=0)
    except httpx.HTTPError as error:
        raise TargetUnreachable(f"cannot reach {shown}: {type(error).__name__}: {error}") from None
    if answer.status_code in (401, 403):
        raise KeyRefused(
            f"the server refused the API key (GET {shown}/v0/batch/jobs answered {answer.status_code});"
            " check --api-key or HUME_API_KEY"
        )


def run_fuzz(options: FuzzOptions, progress: Callable[[str], None] = print) -> FuzzResult:
    seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
    ledger = Ledger(strict_judgements=options.strict_judgements)
    started = time.monotonic()
    with private_hypothesis_home(), target(options) as (base_url, stream_url, api_key, description):
        ctx = FuzzContext(
            base_url=base_url,
            stream_url=stream_url,
            api_key=api_key,
            ledger=ledger,
            max_examples=options.max_examples,
            max_jobs=options.max_jobs,
            time_budget=options.time_budget - wrap_up_seconds(options.time_budget),
            request_timeout=options.request_timeout,
            response_timeout=options.response_timeout,
            max_body_bytes=options.max_body_bytes,
            seed=seed,
            rate=RateLimiter(options.rate_limit),
            started=started,  # the budget is for the run as a whole, starting the mock included
        )
        probe(ctx)
        ctx.recorder = Recorder(ctx.redactor) if options.record else None
        ctx.progress = lambda line: progress(ctx.redactor.text(line))
        ctx.progress(f"fuzzing {ctx.redactor.url(description)} with seed {seed}")
        if options.api in ("v0", "all"):
            with v0_share(ctx, options.api):
                for part in selected_parts(options.only):
                    run_part(ctx, part)
        if options.api in ("v1", "all"):
            run_v1_part(ctx, options)
        if options.api == "all":
            for line in per_api_summary(ledger):
                ledger.note(line)
        if ctx.remaining() <= 0 or ledger.incomplete:
            ledger.note(
                f"the time budget ({options.time_budget:g} s) ran out: the run stopped early; this is what it found"
                if ctx.remaining() <= 0
                else "the run did not check everything it set out to check (see INCOMPLETE)"
            )
        ctx.session.close()
        recorded = ctx.recorder.write(options.record) if ctx.recorder and options.record else 0
        seconds = time.monotonic() - started
        return FuzzResult(ledger, ctx.redactor.url(description), seed, seconds, ctx.jobs_created, recorded)


def wrap_up_seconds(budget: float) -> float:
    """What the parts leave of the budget for what follows the last one (ending Hypothesis's generation,
    stopping the mock, writing reports), so that the run as a whole ends within it."""
    return min(2.0, 0.05 * budget)


def selected_parts(only: str | None) -> tuple[str, ...]:
    return {"batch": ("lifecycle", "batch"), "stream": ("stream",)}.get(only or "", PARTS)


V0_SHARE = 0.6  # of the time budget, when both APIs are fuzzed: v1 is never starved by a slow v0 part


@contextlib.contextmanager
def v0_share(ctx: FuzzContext, api: str) -> Iterator[None]:
    """With ``--api all`` the v0 parts end by their share of the budget; v1 then has the rest."""
    whole = ctx.time_budget
    if api == "all":
        ctx.time_budget = whole * V0_SHARE
    try:
        yield
    finally:
        ctx.time_budget = whole


def api_of_row(where: str) -> str:
    """The API version a ledger row belongs to: its path segment (``/v1/``) or its name as a prefix (``v1 ...``);
    rows of neither are the oldest version's (v0's rows predate the registry)."""
    from contracts.apis import APIS

    for api in reversed(APIS):
        if api.path_segment in where or where.startswith(api.name + " "):
            return api.name
    return APIS[0].name


def per_api_summary(ledger: Ledger) -> list[str]:
    """One line per API of the run: its checks and distinct failures (the main job reports each apart)."""
    checks: dict[str, list[int]] = {}
    for where, _check, passed, failed in ledger.rows():
        counts = checks.setdefault(api_of_row(where), [0, 0])
        counts[0] += passed + failed
    for failure in ledger.failures.values():
        checks.setdefault(api_of_row(failure.where), [0, 0])[1] += 1
    return [f"{api}: {plural(n, 'check')}, {plural(f, 'distinct failure')}" for api, (n, f) in sorted(checks.items())]


def run_v1_part(ctx: FuzzContext, options: FuzzOptions) -> None:
    """v1 (uploads, realtime sessions, runs): its own package, under the same budgets and ledger."""
    from contracts.fuzz.v1 import run_v1

    run_v1(ctx, options.only, options.max_media_seconds)


RUNNERS = {"lifecycle": "run_lifecycle", "batch": "run_batch", "stream": "run_stream"}


def run_part(ctx: FuzzContext, part: str) -> None:
    """Run one part; one that does not run to its end is marked skipped in the ledger (the run is INCOMPLETE)."""
    if ctx.remaining() <= 0:  # not even loading a part (the batch part's schema takes seconds)
        ctx.ledger.note(f"the {part} part was not run: the time budget was spent")
        ctx.ledger.skip(part, "not run: the time budget was spent before it started")
        return
    module = importlib.import_module(f"contracts.fuzz.{part}")
    try:
        getattr(module, RUNNERS[part])(ctx)
    except BudgetExhausted:
        ctx.ledger.note(f"time budget spent during the {part} part")
        ctx.ledger.skip(part, "cut short: the time budget ran out during it")
