"""The mock's ASGI app: the batch API and the stream WebSocket on one port.

State lives in one place, ``app.state.mock`` (config, SQLite store, job runner). A background ticker
advances jobs and sends callbacks; readers also advance jobs before answering (lazy catch-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from mockserver import batch
from mockserver.admission import WorkGate
from mockserver.batch import MockState, error_response
from mockserver.callbacks import CallbackSender
from mockserver.config import MockConfig
from mockserver.jobs import JobRunner
from mockserver.store import Store, StoreError
from mockserver.stream import stream_endpoint

__all__ = ["INVALID_KEY_BODY", "MockConfig", "close_app", "create_app"]

log = logging.getLogger("mockserver")

# Hume's gateway answer to a missing or wrong key, byte for byte what clients check.
INVALID_KEY_BODY = {"fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}}
API_PREFIX = "/v0/"


class GateMiddleware:
    """API key check (HTTP header; stream: header or ``apikey``/``apiKey`` query) and the optional rate limit."""

    def __init__(self, app: ASGIApp, config: MockConfig) -> None:
        self.app = app
        self.config = config
        self._window_start = 0.0
        self._window_count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        if not self._authorised(scope):
            await self._refuse(scope, receive, send, JSONResponse(INVALID_KEY_BODY, status_code=401))
            return
        if self._rate_limited():
            refusal = error_response(429, "Too many requests; retry later.", headers={"Retry-After": "1"})
            await self._refuse(scope, receive, send, refusal)
            return
        await self.app(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        if self.config.drifted("auth-not-enforced"):
            return True
        key = Headers(scope=scope).get("x-hume-api-key")
        if key is None and scope["type"] == "websocket":
            query = QueryParams(scope["query_string"])
            key = query.get("apikey") or query.get("apiKey")
        return key is not None and hmac.compare_digest(key.encode(), self.config.api_key.encode())

    def _rate_limited(self) -> bool:
        if self.config.rate_limit_per_second is None:
            return False
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        return self._window_count > self.config.rate_limit_per_second

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, response: Response) -> None:
        if scope["type"] == "http":
            await response(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        if "websocket.http.response" in (scope.get("extensions") or {}):
            await websocket.send_denial_response(response)
        else:  # servers without the denial extension can only refuse with a close before accept (403)
            await websocket.close(code=1008)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, exc.detail, headers=exc.headers)


async def _client_gone(request: Request, exc: Exception) -> Response:
    """The client hung up before its body arrived: nothing to answer, nothing broken; one line, no traceback."""
    log.info("client disconnected before sending its whole request: %s %s", request.method, request.url.path)
    return Response(status_code=400)  # never delivered: the connection is gone


async def _database_error(request: Request, exc: Exception) -> Response:
    """Damage found while running (opening checks the file): one line naming the file, and a 500."""
    path = request.app.state.mock.store.path
    log.error("%s %s: the job database %s is damaged: %s", request.method, request.url.path, path, exc)
    return error_response(500, f"The mock's job database is damaged ({exc}); restart it on a fresh --data-dir.")


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("mock error on %s %s", request.method, request.url.path)
    return error_response(500, "internal error in the mock server")


def create_app(config: MockConfig | None = None) -> Starlette:
    """A mock with its own store (``config.data_dir``, or a temporary directory removed with the app)."""
    config = config or MockConfig()
    temporary = None if config.data_dir is not None else tempfile.TemporaryDirectory(prefix="hume-mock-")
    data_dir = config.data_dir if config.data_dir is not None else Path(temporary.name)  # type: ignore[union-attr]
    store = Store(data_dir)
    runner = JobRunner(store, config)
    runner.recover()
    # v1 imports this module (the gate's refusal), so it is imported once this module exists.
    from mockserver.v1 import routes as v1_routes
    from mockserver.v1.gate import V1GateMiddleware
    from mockserver.v1.state import open_v1

    try:
        v1_state = open_v1(config, data_dir)  # v1 runs beside v0 jobs, in the same data directory
    except StoreError:
        store.close()
        raise
    callbacks = CallbackSender(store, config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ticker = asyncio.create_task(_tick(runner, callbacks, config.tick_seconds))
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await callbacks.close()

    routes = [
        # One route per path, so a 405 lists every method of the resource in `Allow`.
        Route("/v0/batch/jobs", batch.jobs_collection, methods=["GET", "POST"]),
        Route("/v0/batch/jobs/{id}", batch.get_job, methods=["GET"]),
        Route("/v0/batch/jobs/{id}/predictions", batch.get_predictions, methods=["GET"]),
        Route("/v0/batch/jobs/{id}/artifacts", batch.get_artifacts, methods=["GET"]),
        WebSocketRoute("/v0/stream/models", stream_endpoint),
        *v1_routes(),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            HTTPException: _http_error,
            ClientDisconnect: _client_gone,
            sqlite3.DatabaseError: _database_error,
            Exception: _server_error,
        },
    )
    app.add_middleware(GateMiddleware, config=config)
    app.add_middleware(V1GateMiddleware, config=config)
    app.state.v1 = v1_state
    gate = WorkGate(slots=config.concurrent_jobs, waiting=config.waiting_jobs)
    app.state.mock = MockState(config=config, store=store, runner=runner, gate=gate)
    app.state.temporary_dir = temporary  # keeps the temporary directory alive as long as the app
    return app


def close_app(app: Starlette) -> None:
    """Release what ``create_app`` opened: the database, and the temporary directory if it made one."""
    app.state.mock.store.close()
    app.state.v1.runs.close()
    if app.state.temporary_dir is not None:
        app.state.temporary_dir.cleanup()


async def _tick(runner: JobRunner, callbacks: CallbackSender, seconds: float) -> None:
    """Advance jobs and start callbacks (each its own task) until cancelled; a failure is logged, never fatal."""
    while True:
        try:
            await run_in_threadpool(runner.advance)
            await callbacks.dispatch()
        except Exception:  # noqa: BLE001 - the ticker must survive anything
            log.exception("mock job ticker failed; continuing")
        await asyncio.sleep(seconds)
