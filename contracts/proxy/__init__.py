"""A live validating reverse proxy for Hume's APIs: v0's batch API and ``/v0/stream/models``, v1's uploads, runs
and realtime sessions (judged as sessions, ``contracts.proxy.sessions``).

``ProxySession`` puts the addons together; ``running_proxy`` serves one on a free loopback port in a
background thread (tests, and teams' own integration tests); ``contracts.proxy_command`` is the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx
import uvicorn

from contracts.coverage import Coverage, add_coverage, collecting
from contracts.html_report import write_beside
from contracts.proxy.addons import ContractChecker, LiveLog, SecretWatch, SessionResults, StrictGate, decoded
from contracts.proxy.budget import HOLD_BUDGET
from contracts.proxy.core import ProxyCore
from contracts.proxy.guard import HEAD_TIMEOUT, guarded_protocols
from contracts.proxy.har import HarRecorder
from contracts.proxy.jobs import JobMemory
from contracts.proxy.sessions import SessionChecker

STARTUP_TIMEOUT_SECONDS = 10.0
STREAM_PATH = "/v0/stream/models"
GRACEFUL_STOP_SECONDS = 5.0  # then what is still in flight is cancelled: a stop never waits on a slow peer


@dataclass
class ProxyOptions:
    target: str
    record: Path | None = None
    report: Path | None = None
    strict: bool = False
    disabled: Collection[str] = ()
    known_keys: Collection[str] = ()
    log: TextIO = field(default_factory=lambda: sys.stderr)
    timeout: float = 30.0  # seconds for the target to connect, and for each read or write
    coverage: bool = False  # count which parts of the contract the session exercised
    reply_wait: float = 10.0  # seconds a stream frame waits for its reply before a client's close is the server's fault
    max_connections: int | None = None  # None: as many as the file-descriptor limit allows
    head_timeout: float = HEAD_TIMEOUT  # seconds for a request's head to arrive (slowloris)
    hold_budget: int = HOLD_BUDGET  # body bytes held for checking across all clients at once


class ProxySession:
    """The core and its addons for one run; ``finish`` writes the report files and the HAR.

    OSError at once when ``--record`` cannot be written (its spool file is opened here).
    """

    def __init__(self, options: ProxyOptions) -> None:
        self.options = options
        self.secrets = SecretWatch(options.known_keys)
        self.results = SessionResults()
        self.live = LiveLog(self.secrets, options.log)
        listeners = [self.results, self.live]
        self.checker = ContractChecker(listeners, disabled=options.disabled, reply_wait=options.reply_wait)
        self.sessions = SessionChecker(listeners, disabled=options.disabled)
        self.jobs = JobMemory(listeners, disabled=options.disabled)
        addons: list[object] = [_KeyLearner(self.secrets), self.checker, self.sessions, self.jobs, self.results]
        if options.strict:  # before the live log: it says how the gate ended a session
            addons.append(StrictGate(self.results.results))
        addons.append(self.live)
        self.recorder = HarRecorder(options.record, self.secrets, decoded) if options.record else None
        if self.recorder is not None:
            addons.append(self.recorder)
        timeout = httpx.Timeout(options.timeout, connect=min(5.0, options.timeout))
        self.core = ProxyCore(
            options.target, addons, buffered=options.strict, timeout=timeout, hold_budget=options.hold_budget
        )
        self.written: list[Path] = []
        self.problems: list[str] = []  # what could not be written, named
        self.finished = False
        self.coverage = Coverage() if options.coverage else None

    def collecting(self) -> contextlib.AbstractContextManager[object]:
        """While serving: every check of the session counts towards its coverage (when asked for)."""
        return collecting(self.coverage) if self.coverage is not None else contextlib.nullcontext()

    def finish(self) -> None:
        """The report files (``--report``) and the HAR (``--record``), once; ``written`` lists only files that
        were, ``problems`` names each that could not be (a full disk, an unwritable path, memory)."""
        if self.finished:
            return
        self.finished = True
        if self.options.report is not None:
            try:
                self.written += self.results.write(self.options.report, self.secrets.redactor)
                if self.coverage is not None:
                    add_coverage(self.options.report / "report.json", self.coverage)
                self.written.append(write_beside(self.options.report / "report.json", "proxy"))
            except (OSError, MemoryError) as error:
                self.problems.append(f"cannot write the report to {self.options.report}: {_reason(error)}")
        if self.recorder is not None:
            try:
                self.recorder.write()
                self.written.append(self.recorder.path)
            except (OSError, MemoryError, ValueError) as error:
                self.problems.append(f"cannot write the HAR {self.recorder.path}: {_reason(error)}")
            finally:
                with contextlib.suppress(OSError):
                    self.recorder.close()


def _reason(error: BaseException) -> str:
    if isinstance(error, MemoryError):
        return "out of memory"
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror} ({error.filename})" if error.filename else error.strerror
    return f"{type(error).__name__}: {error}"


class _KeyLearner:
    """Learns each key a client sends before anything about its exchange is shown or written."""

    def __init__(self, secrets: SecretWatch) -> None:
        self.secrets = secrets

    def response(self, flow) -> None:  # noqa: ANN001 (HttpFlow)
        self.secrets.learn(flow.request_headers, flow.path)

    error = response

    def websocket_start(self, flow) -> None:  # noqa: ANN001 (StreamFlow)
        self.secrets.learn(flow.request_headers, flow.path)


@dataclass(frozen=True)
class ProxyHandle:
    session: ProxySession
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


def uvicorn_config(app: ProxyCore, host: str, port: int, options: ProxyOptions | None = None) -> uvicorn.Config:
    """uvicorn with the guarded protocols (``contracts.proxy.guard``) and a bounded graceful stop."""
    options = options or ProxyOptions(target=str(app.target))
    http, ws = guarded_protocols(options.max_connections, options.head_timeout)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        http=http,
        ws=ws,
        lifespan="on",
        ws_max_size=16 * 2**20,
        timeout_graceful_shutdown=GRACEFUL_STOP_SECONDS,
    )


CLOSE_SECONDS = 2.0  # after the server stops: what is still running gets this long to end once cancelled


def serve(server: uvicorn.Server, sockets: list[socket.socket]) -> None:
    """``server.run`` with a bounded close. After a second Ctrl-C uvicorn skips cancelling what is in flight and
    leaves it to ``asyncio.run``, which waits for every cancelled task without limit; an exchange reading an
    endless body could hold the stop there for ever (files unwritten). Here the cancelled tasks get
    ``CLOSE_SECONDS``; what is left is abandoned with the loop."""
    factory = server.config.get_loop_factory() or asyncio.new_event_loop
    loop = factory()
    try:
        loop.run_until_complete(server.serve(sockets=sockets))
    finally:
        try:
            left = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.wait(left, timeout=CLOSE_SECONDS))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.set_exception_handler(lambda *_: None)  # abandoned tasks are not worth a traceback at exit
            loop.close()


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (port 0: a free one), for uvicorn; OSError if it cannot bind.

    IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on such sockets, and without it every answer (headers,
    then body) waits out the client's 40 ms delayed ACK.
    """
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


@contextlib.contextmanager
def running_proxy(options: ProxyOptions, host: str = "127.0.0.1") -> Iterator[ProxyHandle]:
    """A proxy on a free loopback port in a background thread; stopped, and its files written, on exit."""
    session = ProxySession(options)
    listener = listen(host, 0)
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(session.core, host, port, options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="hume-proxy", daemon=True)
    thread.start()
    with session.collecting():
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the proxy did not start (see the log above)")
                time.sleep(0.01)
            yield ProxyHandle(session, host, port)
        finally:
            server.should_exit = True
            thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
            listener.close()
            session.finish()


logging.getLogger("contracts.proxy").addHandler(logging.NullHandler())
