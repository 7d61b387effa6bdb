"""Reading from the server under test, bounded in size and in time, whatever the server does.

Every request goes through the run's one rate-limit handling (``RateLimitHandling``: the request rate, and 429
answers waited out), whichever library or session sends it. Every response body is streamed through a size cap:
past it nothing more is read, and the caller gets ``BodyTooLarge`` (a named failure, not a crash). Every exchange,
from connecting to the last byte of the body (each redirect hop is one), has a deadline. Per-read socket timeouts
cannot hold one: a server that drips a byte a second satisfies every read. So the sockets opened to the target are
watched, and a timer shuts them down when the deadline passes, which ends any read blocked on them at once; the
exchange then fails as a timeout of the client library in use (httpx for the lifecycle, ``requests`` for
schemathesis).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import requests
from requests.adapters import HTTPAdapter
from schemathesis.transport.requests import ManagedCookiesSession
from urllib3.poolmanager import PoolManager

MAX_BODY_BYTES = 256 * 1024 * 1024  # a hostile or broken server cannot make a run hold more than this
MAX_REDIRECTS = 3  # schemathesis's requests follow this many; a loop is then one named failure
CHUNK_BYTES = 64 * 1024
CONNECTED = ("connection.connect_tcp.complete", "connection.start_tls.complete")  # httpcore trace events


class BodyTooLarge(Exception):
    """A response body went past the cap; it was not read further."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the response body is larger than {limit} bytes; reading stopped there")
        self.limit = limit


class HttpxBodyTooLarge(BodyTooLarge, httpx.TransportError):
    """``BodyTooLarge`` that httpx callers handle as a transport error."""


class RequestsBodyTooLarge(BodyTooLarge, requests.RequestException):
    """``BodyTooLarge`` that ``requests`` callers handle as a request error."""


class SocketWatch:
    """The sockets a run opened to its target; ``deadline`` shuts them all down when time is up.

    A run makes one exchange at a time, so at a deadline every watched socket is idle or the late one;
    an idle pooled socket that is shut down is replaced by a fresh connection on its next use.
    """

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()

    def add(self, sock: socket.socket | None) -> Any:
        if sock is not None:
            with self._lock:
                self._sockets.add(sock)
        return sock

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` request extension: note every socket a request connects or wraps in TLS."""
        stream = info.get("return_value") if event in CONNECTED else None
        if stream is not None:
            self.add(stream.get_extra_info("socket"))

    def shut_down(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed, or detached by a TLS wrap
                sock.shutdown(socket.SHUT_RDWR)

    @contextlib.contextmanager
    def deadline(self, seconds: float) -> Iterator[threading.Event]:
        """Within the block, the watched sockets live at most ``seconds``; the event tells whether they were cut."""
        cut = threading.Event()

        def expire() -> None:
            cut.set()
            self.shut_down()

        timer = threading.Timer(max(seconds, 0.0), expire)
        timer.daemon = True
        timer.start()
        try:
            yield cut
        finally:
            timer.cancel()


def capped(chunks: Iterable[bytes], limit: int, too_large: Callable[[int], Exception]) -> bytes:
    """Join ``chunks`` while they stay within ``limit`` bytes; past it, raise ``too_large(limit)``."""
    body = bytearray()
    for chunk in chunks:
        if len(body) + len(chunk) > limit:
            raise too_large(limit)
        body += chunk
    return bytes(body)


def send_httpx(
    client: httpx.Client, request: httpx.Request, watch: SocketWatch, seconds: float, limit: int
) -> httpx.Response:
    """Send ``request`` and read at most ``limit`` bytes of the body, all within ``seconds``.

    ``limit`` 0 reads the status and headers only (the body is left unread and the connection closed).
    """
    if seconds <= 0:
        raise httpx.ReadTimeout("no time left for this exchange", request=request)
    request.extensions["trace"] = watch.trace
    per_read = min(httpx.Timeout(client.timeout).read or seconds, seconds)
    request.extensions["timeout"] = httpx.Timeout(per_read).as_dict()
    with watch.deadline(seconds) as cut:
        try:
            response = client.send(request, stream=True)
            try:
                body = capped(response.iter_bytes(), limit, HttpxBodyTooLarge) if limit else b""
            finally:
                response.close()
        except httpx.TransportError as error:
            if not cut.is_set() or isinstance(error, BodyTooLarge):
                raise
        if cut.is_set():  # also when a cut socket looked like the end of a body without a length
            raise httpx.ReadTimeout(f"no complete response within {seconds:.1f} s", request=request)
    # iter_bytes() already undid any content-encoding: the rebuilt response must not claim it again.
    drop = ("content-encoding", "content-length")
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in drop]
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=request, extensions=response.extensions
    )


def _watched_pool(pool_class: type, watch: SocketWatch) -> type:
    """A urllib3 pool class whose connections add their sockets (plain, then TLS) to ``watch``."""

    class WatchedConnection(pool_class.ConnectionCls):  # type: ignore[name-defined,misc]
        def _new_conn(self) -> socket.socket:
            return watch.add(super()._new_conn())

        def connect(self) -> None:
            super().connect()
            watch.add(self.sock)

    return type(pool_class.__name__, (pool_class,), {"ConnectionCls": WatchedConnection})


def operation_of(request: requests.PreparedRequest) -> str:
    """``GET /v0/batch/jobs/{id}``: what a request did, without its query or generated ids (for notes)."""
    path = JOB_ID_SEGMENT.sub(r"\1{id}", urlsplit(request.path_url or "/").path)
    return f"{request.method} {path}"


JOB_ID_SEGMENT = re.compile(r"(/v0/batch/jobs/)[^/]+")


class RateLimitHandling:
    """The run's one rate-limit handling, for every request it sends: ``wait`` before each (``--rate-limit``),
    and after a 429 ``wait_out(retry_after, where)``, True when it waited and the request may be sent again
    (at most ``retries`` times). The default does neither."""

    def __init__(
        self,
        wait: Callable[[], None] = lambda: None,
        wait_out: Callable[[str | None, str], bool] = lambda _after, _where: False,
        retries: int = 0,
    ) -> None:
        self.wait, self.wait_out, self.retries = wait, wait_out, retries


class BoundedAdapter(HTTPAdapter):
    """A ``requests`` transport that reads every body through the cap, within the exchange's deadline, under
    the run's rate-limit handling: so do the requests schemathesis's checks re-send on their own sessions
    (``ignored_auth``), which would otherwise meet a rate-limiting gateway's 429 and report it as a finding."""

    def __init__(
        self,
        watch: SocketWatch,
        seconds: Callable[[], float],
        limit: int = MAX_BODY_BYTES,
        rate: RateLimitHandling | None = None,
    ) -> None:
        self._watch, self._seconds, self._limit = watch, seconds, limit
        self._rate = rate or RateLimitHandling()
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        manager: PoolManager = self.poolmanager
        manager.pool_classes_by_scheme = {
            scheme: _watched_pool(pool, self._watch) for scheme, pool in manager.pool_classes_by_scheme.items()
        }

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **kwargs: Any) -> Any:
        """Send under the rate limit; a 429 is waited out (Retry-After, within the budget) and sent again."""
        for attempt in range(self._rate.retries + 1):
            self._rate.wait()
            response = self._send_once(request, timeout, **kwargs)
            if response.status_code != 429 or attempt == self._rate.retries:
                return response
            if not self._rate.wait_out(response.headers.get("retry-after"), operation_of(request)):
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(self, request: requests.PreparedRequest, timeout: Any, **kwargs: Any) -> Any:
        seconds = self._seconds()
        if seconds <= 0:  # the run's budget is spent (urllib3 refuses a zero timeout)
            raise requests.exceptions.ReadTimeout("no time left for this exchange", request=request)
        per_read = min(timeout, seconds) if isinstance(timeout, int | float) else seconds
        with self._watch.deadline(seconds) as cut:
            try:
                response = super().send(request, stream=True, timeout=per_read, **kwargs)
                try:
                    body = capped(response.iter_content(CHUNK_BYTES), self._limit, RequestsBodyTooLarge)
                except BaseException:
                    response.close()
                    raise
            except requests.RequestException as error:
                if not cut.is_set() or isinstance(error, BodyTooLarge):
                    raise
                late = f"no complete response within {seconds:.1f} s"  # the deadline cut the connection
                raise requests.exceptions.ReadTimeout(late, request=request) from None
            if cut.is_set():
                response.close()
                raise requests.exceptions.ReadTimeout(f"no complete response within {seconds:.1f} s", request=request)
        response._content = body  # what ``response.content`` returns: the body is already read, through the cap
        return response


class BoundedSession(ManagedCookiesSession):
    """The session schemathesis sends with: bounded bodies and exchanges, at most ``MAX_REDIRECTS`` hops.

    Like schemathesis's own, it follows redirects on the same host only and drops cookies between requests.
    """

    def __init__(
        self,
        watch: SocketWatch,
        seconds: Callable[[], float],
        limit: int = MAX_BODY_BYTES,
        rate: RateLimitHandling | None = None,
    ) -> None:
        super().__init__()
        self.max_redirects = MAX_REDIRECTS
        adapter = BoundedAdapter(watch, seconds, limit, rate)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
