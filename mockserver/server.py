"""Run the reference mock of Hume's Expression Measurement API on one port: v0 (batch REST, the stream WebSocket)
and v1 (uploads, realtime sessions, runs; ``mockserver.v1``).

Jobs really progress (QUEUED, IN_PROGRESS, COMPLETED or FAILED) and live in SQLite under --data-dir, so a
restarted mock still knows them. Predictions follow deterministically from the input. Clients authenticate
with the X-Hume-Api-Key header (the stream also takes ?apikey=); the key is never printed, only where it
came from. --drift NAME makes the mock break the contract one way, to test a contract suite.

From Python and pytest: ``mockserver.running_mock(MockConfig(...))`` starts it on a free loopback port in a
background thread (``add_arguments``/``run`` serve this command).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from mockserver.app import close_app, create_app
from mockserver.config import DEFAULT_API_KEY, MockConfig, is_loopback_host
from mockserver.drifts import describe_catalogue, unknown_drifts
from mockserver.store import StoreError
from mockserver.ws_protocol import bounded_protocol
from serving.guard import GuardedHttpProtocol, connection_cap, guarded_http_protocol

KEY_ENV = "HUME_API_KEY"
STARTUP_TIMEOUT_SECONDS = 10.0
GRACEFUL_SHUTDOWN_SECONDS = 3.0  # then running sessions are cancelled: SIGTERM stops the mock whatever clients do
STREAM_PATH = "/v0/stream/models"
log = logging.getLogger("mockserver")


@dataclass(frozen=True)
class MockHandle:
    app: Starlette
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def stream_url(self) -> str:
        return f"ws://{self.host}:{self.port}{STREAM_PATH}"

    @property
    def ws_base(self) -> str:
        """What the v1 SDK's environment calls ``production`` (it appends ``/v1/expression/.../realtime``)."""
        return f"ws://{self.host}:{self.port}"

    @property
    def stream_base(self) -> str:
        """What the SDK's environment calls ``stream`` (it appends ``/models``)."""
        return f"ws://{self.host}:{self.port}/v0/stream"


class _DenialIsNotAnError(logging.Filter):
    """uvicorn's websockets-sansio logs a completed handshake denial (our 401) as an unfinished handshake."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing handshake."


logging.getLogger("uvicorn.error").addFilter(_DenialIsNotAnError())
# A malformed multipart body is answered with a 400; the parser's own warning about it is noise on stderr.
logging.getLogger("python_multipart.multipart").setLevel(logging.ERROR)


def _uvicorn_config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    # websockets-sansio (the legacy websockets implementation is deprecated in websockets >= 14), bounded against
    # clients that do not read. The graceful-shutdown bound is a backstop: held-up connections are aborted anyway.
    # The HTTP protocol is guarded too: slow heads, huge heads and connection floods are refused (serving.guard).
    config = app.state.mock.config
    cap = connection_cap(config.max_connections)
    http = guarded_http_protocol(GuardedHttpProtocol, cap, config.head_timeout_seconds, server="mock", log=log)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        http=http,
        ws=bounded_protocol(config.stream_stall_seconds),
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


@contextlib.contextmanager
def running_mock(config: MockConfig | None = None, host: str = "127.0.0.1") -> Iterator[MockHandle]:
    """A mock serving on a free loopback port in a background thread, stopped on exit."""
    app = create_app(config or MockConfig())
    listener = listen(host, 0)
    server = uvicorn.Server(_uvicorn_config(app, host, listener.getsockname()[1]))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="hume-mock", daemon=True)
    thread.start()
    try:
        _wait_started(server, thread)
        yield MockHandle(app=app, host=host, port=listener.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        listener.close()
        close_app(app)


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the mock server did not start (see the log above)")
        time.sleep(0.01)


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (port 0: a free one), ready for uvicorn; OSError if it cannot bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on such sockets; without it every answer (headers, then
    # body) waits out the client's 40 ms delayed ACK.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError:
        listener.close()
        raise
    return listener


def serve(host: str, port: int, config: MockConfig, *, key_source: str = "(set)") -> int:
    """Serve in the foreground until interrupted. Prints the URLs, never the key; 2 if it cannot start.

    The data directory is opened and the port bound before anything is announced, so a mock that cannot
    start says why in one line and prints no banner.
    """
    try:
        app = create_app(config)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        listener = listen(host, port)
    except OSError as exc:
        close_app(app)
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    port = listener.getsockname()[1]  # the one given, or the free one found for port 0
    print(f"Hume mock API on http://{host}:{port}  stream ws://{host}:{port}{STREAM_PATH}", flush=True)
    print(f"v1: http://{host}:{port}/v1/expression/...  realtime ws://{host}:{port}/v1/expression/{{audio,video}}/realtime",
          flush=True)  # fmt: skip
    print(f"key: {key_source}; drifts: {', '.join(sorted(config.drifts)) or 'none'}", flush=True)
    if config.data_dir is not None:
        print(f"jobs and runs stored in {config.data_dir}", flush=True)
    try:
        with contextlib.suppress(KeyboardInterrupt), _sigterm_unwinds():
            uvicorn.Server(_uvicorn_config(app, host, port)).run(sockets=[listener])
    finally:
        listener.close()
        close_app(app)
    return 0


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """Once shut down, uvicorn raises again the SIGTERM it caught; by default that kills the process before
    ``serve`` closes the store and removes its temporary directory. As SystemExit(143) it unwinds through them."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port (default 8787)")
    parser.add_argument(
        "--api-key", default=None, help=f"key clients must send (default: ${KEY_ENV}, else '{DEFAULT_API_KEY}')"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="keep jobs and runs here (default: a temporary dir)"
    )
    parser.add_argument(
        "--drift", action="append", default=[], metavar="NAME", help="break the contract on purpose (repeatable)"
    )
    parser.add_argument(
        "--list-drifts",
        nargs="?",
        const="v0",
        default=None,
        choices=["v0", "v1", "all"],
        metavar="VERSION",
        help="print the drift catalogue of v0 (default), v1 or all, and exit",
    )
    parser.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback interface")
    parser.add_argument("--queued-seconds", type=float, default=2.0, help="how long jobs stay QUEUED (default 2)")
    parser.add_argument(
        "--in-progress-seconds", type=float, default=2.0, help="how long jobs stay IN_PROGRESS (default 2)"
    )


def run(args: argparse.Namespace) -> int:
    """The ``mock`` command. Returns the exit status."""
    if args.list_drifts:
        print(describe_catalogue(args.list_drifts))
        return 0
    unknown = sorted(unknown_drifts(args.drift))
    if unknown:
        print(f"error: unknown drift(s): {', '.join(unknown)}; see --list-drifts", file=sys.stderr)
        return 2
    if not args.allow_remote and not is_loopback_host(args.host):
        print(f"error: refusing to bind {args.host}: not loopback (pass --allow-remote to insist)", file=sys.stderr)
        return 2
    key, key_source = _api_key(args.api_key)
    try:
        config = MockConfig(
            api_key=key,
            data_dir=args.data_dir,
            drifts=frozenset(args.drift),
            queued_seconds=args.queued_seconds,
            in_progress_seconds=args.in_progress_seconds,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return serve(args.host, args.port, config, key_source=key_source)


def _api_key(explicit: str | None) -> tuple[str, str]:
    """The key and a printable description of where it came from (never the key itself)."""
    if explicit:
        return explicit, "(set from --api-key)"
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV], f"(set from ${KEY_ENV})"
    return DEFAULT_API_KEY, "(the default; see --help)"


def main(argv: list[str] | None = None) -> int:
    """``python -m mockserver``: the same command without the lead's CLI."""
    # No abbreviations: a prefix of one option must never silently become another as options are added.
    parser = argparse.ArgumentParser(
        prog="hume-mock", description="Reference mock of Hume's Expression API", allow_abbrev=False
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
