"""Callbacks: the outcome of a job with a ``callback_url`` is POSTed there once, after the job ends.

Bounded so that no receiver can hurt the mock or another receiver:

- time: one deadline (``callback_timeout_seconds``) for the whole exchange, connect to status line, so a
  receiver that drips or never answers holds its slot that long at most;
- bytes: the answer's body is never read, only its status is recorded (h11 caps the status line and headers);
- concurrency: each delivery is its own task, at most ``PER_RECEIVER`` at once to one receiver (scheme, host,
  port) and ``MAX_IN_FLIGHT`` in all; the others wait for a later tick, so a slow receiver delays only itself.

Only loopback targets are contacted (no DNS lookup, so no rebinding), without redirects (one could lead away
from loopback) and without proxies from the environment.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.concurrency import run_in_threadpool

from mockserver import wire
from mockserver.config import MockConfig, is_loopback_host
from mockserver.store import Store, UnservableJob

log = logging.getLogger("mockserver")

MAX_IN_FLIGHT = 16
PER_RECEIVER = 2
ERROR_CHARS = 300


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs whose host is literally loopback (no DNS lookup, so no rebinding)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https"):
        return False
    return is_loopback_host(host)


def receiver_of(url: str) -> str:
    """Who answers ``url``: the unit the per-receiver bound counts."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # an out-of-range port: no one answers it, but it still counts as one receiver
        port = None
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


class CallbackSender:
    """Starts deliveries from the app's ticker (``dispatch``) and records each outcome in the store."""

    def __init__(self, store: Store, config: MockConfig) -> None:
        self.store = store
        self.config = config
        self._in_flight: dict[str, str] = {}  # job id -> receiver
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None  # made in the server's event loop, on first use

    async def dispatch(self) -> None:
        """Start a delivery for each ended job awaiting its callback, as far as the bounds allow."""
        busy = Counter(self._in_flight.values())
        for job_id, url in await run_in_threadpool(self.store.awaiting_callback):
            if len(self._in_flight) >= MAX_IN_FLIGHT:
                return
            receiver = receiver_of(url)
            if job_id in self._in_flight or busy[receiver] >= PER_RECEIVER:
                continue
            busy[receiver] += 1
            self._in_flight[job_id] = receiver
            task = asyncio.create_task(self._deliver(job_id, url), name=f"callback {job_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel the deliveries still running (their jobs stay awaiting) and close the HTTP client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    async def _deliver(self, job_id: str, url: str) -> None:
        try:
            outcome = await self._outcome(job_id, url)
            await run_in_threadpool(self.store.record_callback, job_id, outcome)
        except Exception:  # noqa: BLE001 - one failed delivery must not end the others; retried on a later tick
            log.exception("callback for job %s failed; will retry", job_id)
        finally:
            self._in_flight.pop(job_id, None)

    async def _outcome(self, job_id: str, url: str) -> dict[str, Any]:
        if not is_loopback_url(url):
            return {"url": url, "error": "not sent: the mock only calls back to loopback addresses"}
        try:
            body = await run_in_threadpool(self._body, job_id)
        except UnservableJob as exc:
            return {"url": url, "error": f"not sent: {exc}"}
        seconds = self.config.callback_timeout_seconds
        try:
            async with asyncio.timeout(seconds):
                return {"url": url, "status_code": await self._post(url, body)}
        except TimeoutError:
            return {"url": url, "error": f"no answer within {seconds:g} s (connect to status line)"}
        except httpx.HTTPError as exc:
            return {"url": url, "error": f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]}

    async def _post(self, url: str, body: bytes) -> int:
        """The receiver's status; its body is left unread (closing the response drops the connection)."""
        client = self._http()
        headers = {"content-type": "application/json"}
        async with client.stream("POST", url, content=body, headers=headers) as response:
            return response.status_code

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                trust_env=False,  # no HTTP(S)_PROXY: a callback goes straight to its loopback receiver
                timeout=self.config.callback_timeout_seconds,
                limits=httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=0),
            )
        return self._client

    def _body(self, job_id: str) -> bytes:
        """``{job_id, status, predictions | message}``, the stored predictions spliced in rather than parsed again."""
        job = self.store.get(job_id)
        if job is None:
            raise UnservableJob(job_id, "it is no longer stored")
        head = wire.dumps({"job_id": job.job_id, "status": job.status})[:-1]
        if job.status == "COMPLETED":
            return head + b',"predictions":' + self.store.predictions_body(job_id) + b"}"
        return head + b',"message":' + wire.dumps(job.message) + b"}"
