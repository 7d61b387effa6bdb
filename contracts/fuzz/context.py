"""What every part of a fuzz run shares: the target, the budgets, the ledger, the recorder, the redactor.

Budgets are enforced here, in one place: a deadline for the whole run, a job budget (jobs on a real
service cost money), a request rate, per-request timeouts, bounded retries of network errors, and 429
answers waited out (bounded by the deadline) and reported apart from failures.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from contracts.fuzz.ledger import Ledger

API_KEY_HEADER = "X-Hume-Api-Key"
REDACTED = "[REDACTED]"


MAX_BODY_BYTES = 256 * 1024 * 1024  # a hostile or broken server cannot make a run hold more than this


class BodyTooLarge(httpx.TransportError):
    """The response body exceeded MAX_BODY_BYTES; it was not read to the end."""


def _bounded(client: httpx.Client, request: httpx.Request, limit: int) -> httpx.Response:
    """Send ``request`` and read at most ``limit`` bytes of the body."""
    response = client.send(request, stream=True)
    try:
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"{request.method} {request.url.path}: body over {limit} bytes", request=request)
            chunks.append(chunk)
    finally:
        response.close()
    # iter_bytes() already undid any content-encoding: the rebuilt response must not claim it again.
    drop = ("content-encoding", "content-length")
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in drop]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=b"".join(chunks),
        request=request,
        extensions=response.extensions,
    )


class Redactor:
    """Replaces secret values (and their URL-encoded forms) wherever text leaves the process."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms = {form for s in secrets if s for form in (s, quote(s, safe=""), quote(s))}
        self._forms = sorted(forms, key=len, reverse=True)

    def text(self, value: str) -> str:
        for form in self._forms:
            value = value.replace(form, REDACTED)
        return value

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k): self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return value


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
    request_timeout: float = 10.0
    max_retries: int = 2
    seed: int = 0
    rate: RateLimiter = field(default_factory=lambda: RateLimiter(None))
    recorder: Any = None  # contracts.fuzz.recorder.Recorder | None
    progress: Callable[[str], None] = lambda _line: None
    started: float = field(default_factory=time.monotonic)
    jobs_created: int = 0
    known_job_ids: list[str] = field(default_factory=list)  # jobs the lifecycle made, for the batch part to read

    @functools.cached_property
    def redactor(self) -> Redactor:
        return Redactor([self.api_key])

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
        """One request under the budgets: rate-limited, 429 waited out, network errors retried (bounded)."""
        for attempt in range(self.max_retries + 1):
            self.check_time()
            self.rate.wait()
            try:
                response = _bounded(client, client.build_request(method, url, **kwargs), MAX_BODY_BYTES)
            except httpx.TransportError:
                if attempt == self.max_retries:
                    raise
                time.sleep(min(0.2 * 2**attempt, 2.0))
                continue
            if self.recorder is not None:
                self.recorder.http(response)
            retry_after = response.headers.get("retry-after")
            if response.status_code == 429 and attempt < self.max_retries and self.wait_out(retry_after, url):
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

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
