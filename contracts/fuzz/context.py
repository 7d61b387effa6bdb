"""What every part of a fuzz run shares: the target, the budgets, the ledger, the recorder, the redactor.

Budgets are enforced here, in one place: a deadline for the whole run, a job budget (jobs on a real
service cost money), a request rate, per-read timeouts and a deadline for each whole exchange (never past
the run's), bodies read through a size cap (contracts/fuzz/bounded.py), bounded retries of network errors,
and 429 answers waited out (bounded by the deadline) and reported apart from failures.
"""

from __future__ import annotations

import functools
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts.fuzz.bounded import (
    MAX_BODY_BYTES,
    BodyTooLarge,
    BoundedSession,
    RateLimitHandling,
    SocketWatch,
    send_httpx,
)
from contracts.fuzz.echoes import Echoes
from contracts.fuzz.ledger import CheckFailure, Ledger
from contracts.fuzz.redaction import REDACTED, Redactor
from contracts.job_judging import retry_after_problem

__all__ = ["REDACTED", "BodyTooLarge", "Redactor"]  # re-exported: the parts import them from here

API_KEY_HEADER = "X-Hume-Api-Key"


class RateLimiter:
    """At most ``rate`` requests a second across threads (None: unlimited)."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            time.sleep(delay)


class BudgetExhausted(Exception):
    """The run's time budget is spent; stop starting new work."""


@dataclass
class FuzzContext:
    base_url: str
    stream_url: str
    api_key: str
    ledger: Ledger
    max_examples: int = 25
    max_jobs: int = 3
    time_budget: float = 110.0
    request_timeout: float = 10.0  # one read, one connect
    response_timeout: float = 30.0  # one whole exchange, connect to last byte
    max_body_bytes: int = MAX_BODY_BYTES
    max_retries: int = 2
    seed: int = 0
    rate: RateLimiter = field(default_factory=lambda: RateLimiter(None))
    recorder: Any = None  # contracts.fuzz.recorder.Recorder | None
    progress: Callable[[str], None] = lambda _line: None
    started: float = field(default_factory=time.monotonic)
    jobs_created: int = 0
    known_job_ids: list[str] = field(default_factory=list)  # COMPLETED jobs of the lifecycle, for the batch part
    echoes: Echoes = field(default_factory=Echoes)  # values the run sent out of bounds that a server took

    def __post_init__(self) -> None:
        self.ledger.timelines.redact = self.redactor.text  # a timeline's steps name server-given values
        self.ledger.timelines.started = self.started  # its steps are timed from the run's start

    @functools.cached_property
    def redactor(self) -> Redactor:
        return Redactor([self.api_key])

    @functools.cached_property
    def watch(self) -> SocketWatch:
        return SocketWatch()

    @functools.cached_property
    def session(self) -> BoundedSession:
        """The ``requests`` session schemathesis sends with: the same cap and deadlines as ``request``."""
        return self.new_session()

    def new_session(self) -> BoundedSession:
        """A bounded ``requests`` session under the run's rate-limit handling (429s waited out inside it)."""
        return BoundedSession(self.watch, self.exchange_seconds, self.max_body_bytes, self.rate_limit_handling)

    @property
    def rate_limit_handling(self) -> RateLimitHandling:
        return RateLimitHandling(self.rate.wait, self.wait_out, self.max_retries)

    def exchange_seconds(self) -> float:
        """How long the next exchange may take: its own timeout, never past the run's budget."""
        return max(0.0, min(self.response_timeout, self.remaining()))

    def open_timeout(self) -> float:
        """For a WebSocket handshake (a whole one, in the websockets library): never past the budget."""
        return max(0.1, min(self.request_timeout, self.remaining()))

    @property
    def auth_headers(self) -> dict[str, str]:
        return {API_KEY_HEADER: self.api_key}

    def remaining(self) -> float:
        return self.time_budget - (time.monotonic() - self.started)

    def check_time(self) -> None:
        if self.remaining() <= 0:
            raise BudgetExhausted

    def take_job(self) -> bool:
        """Reserve one job of the budget; False when it is spent."""
        if self.jobs_created >= self.max_jobs:
            return False
        self.jobs_created += 1
        return True

    def http(self) -> httpx.Client:
        """A client for the target with the key set; callers close it (use as a context manager)."""
        return httpx.Client(base_url=self.base_url, headers=self.auth_headers, timeout=self.request_timeout)

    def request(self, client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request under the budgets: rate-limited, bounded in size and time, 429 waited out, network
        errors retried (bounded). A body over the cap is a failure in the ledger, then raised, not retried."""
        for attempt in range(self.max_retries + 1):
            self.check_time()
            self.rate.wait()
            request = client.build_request(method, url, **kwargs)
            try:
                response = send_httpx(client, request, self.watch, self.exchange_seconds(), self.max_body_bytes)
            except BodyTooLarge as error:
                url_shown = shlex.quote(self.redactor.url(str(request.url)))
                curl = f'curl -sS -X {method} {url_shown} -H "{API_KEY_HEADER}: $HUME_API_KEY" | wc -c'
                self.body_too_large(f"{method} {request.url.path}", curl, error)
                raise
            except httpx.TransportError:
                self.check_time()  # a deadline the budget set ends the part, not a retry
                if attempt == self.max_retries:
                    raise
                time.sleep(min(0.2 * 2**attempt, 2.0, max(self.remaining(), 0.0)))
                continue
            if self.recorder is not None:
                self.recorder.http(response)
            retry_after = response.headers.get("retry-after")
            if response.status_code == 429:
                self.judge_retry_after(request, retry_after)
            if response.status_code == 429 and attempt < self.max_retries and self.wait_out(retry_after, url):
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def judge_retry_after(self, request: httpx.Request, retry_after: str | None) -> None:
        """A 429 says when to retry (the contract's ``Retry-After``): judged before it is waited out."""
        where, check = f"{request.method} {request.url.path}", "rate_limit_headers"
        problem = retry_after_problem(429, retry_after)
        if problem is None:
            self.ledger.ok(where, check)
            return
        url_shown = shlex.quote(self.redactor.url(str(request.url)))
        curl = f'curl -sS -i -X {request.method} {url_shown} -H "{API_KEY_HEADER}: $HUME_API_KEY"'
        title, expected = "a 429 without a usable Retry-After", "Retry-After: <whole seconds> on every 429"
        self.ledger.fail(CheckFailure(where, check, "retry-after-missing", title, expected, problem, curl))

    def body_too_large(self, where: str, reproduce: str, error: BodyTooLarge) -> None:
        """A body over the cap is a named failure of the target (the run keeps its memory)."""
        self.ledger.fail(
            CheckFailure(
                where,
                "body_size_cap",
                "body-too-large",
                f"response body over {error.limit} bytes",
                f"a response body of at most {error.limit} bytes",
                f"more than {error.limit} bytes; reading stopped there",
                reproduce,
            )
        )

    def wait_out(self, retry_after: str | None, where: str) -> bool:
        """After a 429: sleep for Retry-After (at most 30 s) if the budget allows, noted apart from failures."""
        try:
            seconds = min(float(retry_after or "1"), 30.0)
        except ValueError:
            seconds = 1.0
        if seconds >= self.remaining():
            return False
        self.ledger.rate_limited_seconds += seconds
        self.ledger.note(f"rate limited (429) on {where}: waited {seconds:.0f} s")
        time.sleep(seconds)
        return True
