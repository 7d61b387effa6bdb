"""The proxy's pass-through core: an ASGI app that forwards HTTP and WebSocket traffic to one target.

It changes nothing on the way: status, headers (less the hop-by-hop ones a proxy must not forward), body
bytes as the target sent them (compressed stays compressed), frames in order, close codes. What it does
with the traffic is up to its addons, small objects with any of these hooks (as in mitmproxy):

- ``wants_body(flow) -> bool``: the target's answer head arrived; True keeps a body that is not text (the
  artifacts zip) for the ``response`` hooks too. Called on the event loop: it must be cheap;
- ``response(flow)``: an HTTP exchange ended (the body is kept for checking when it is text, or an addon wanted it,
  and within ``check_limit``). Called in a worker thread once the client has the whole answer; with ``buffered`` the
  target's body is held back until the hooks ran, so a hook can set ``flow.replacement``;
- ``error(flow)``: the target could not be reached, or broke off;
- ``websocket_start(flow)``, ``websocket_message(flow, message)``, ``websocket_end(flow)``; with ``buffered``
  a target's frame is passed on only once its hooks ran, so a hook can set ``flow.closing`` to end the session;
- ``done()``: the proxy stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio.to_thread
import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from contracts.proxy.budget import HOLD_BUDGET, HeldBody, HoldBudget
from contracts.proxy.flows import Headers, HttpFlow, Replacement, StreamFlow, StreamMessage, header, is_text_media
from contracts.proxy.streams import FrameChecks, GuardedClientConnection, broken_off
from contracts.proxy.targets import NotOriginForm, request_target, upstream_url
from contracts.proxy.upstream import forwarded_headers, upstream_client

log = logging.getLogger("hume_contracts.proxy")

# RFC 9110 7.6.1: connection-specific fields are not forwarded; host is the target's own.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers"}
    | {"transfer-encoding", "upgrade", "host"}
)
# The client's handshake fields that the WebSocket library writes itself.
HANDSHAKE_OWN = frozenset({"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"})
CHECK_LIMIT = 256 * 1024 * 1024  # bodies over this pass through unchecked
SMALL_BODY = 1024 * 1024  # request bodies up to this size are read whole before they are forwarded
MAX_FRAME_BYTES = 16 * 1024 * 1024  # Hume's stream frames carry base64 media of a few MB
GOING_AWAY, INTERNAL_ERROR = 1001, 1011
TITLES = {400: "Bad Request", 408: "Request Timeout", 502: "Bad Gateway"}


def problem(status: int, detail: str) -> Replacement:
    """A problem+json answer (RFC 9457) the proxy gives itself, saying what went wrong."""
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status, "detail": detail}
    return Replacement(status, [("content-type", "application/problem+json")], json.dumps(body).encode())


def bad_gateway(detail: str) -> Replacement:
    """A problem+json 502 that says what went wrong with the target."""
    return problem(502, detail)


class ProxyCore:
    """ASGI app: every request to ``target`` and back, through ``addons``."""

    def __init__(
        self,
        target: str,
        addons: Sequence[Any],
        *,
        buffered: bool = False,
        check_limit: int = CHECK_LIMIT,
        timeout: httpx.Timeout | None = None,
        hold_budget: int = HOLD_BUDGET,
    ) -> None:
        self.target = httpx.URL(target.rstrip("/"))
        self.addons = list(addons)
        self.buffered = buffered
        self.check_limit = check_limit
        self.timeout = timeout or httpx.Timeout(30.0, connect=5.0)
        self.budget = HoldBudget(hold_budget)
        self._numbers = itertools.count(1)
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send)
            elif scope["type"] == "websocket":
                await self._websocket(scope, receive, send)
            elif scope["type"] == "lifespan":
                await self._lifespan(receive, send)
        except asyncio.CancelledError:
            # The stop's grace period is over (or a second Ctrl-C): this exchange is cut off. Said in one
            # line, not a traceback from the server; the task ends here either way.
            if scope["type"] != "lifespan":
                log.warning("%s %s: cut off by the proxy stopping", scope.get("method", "stream"), scope["path"])

    # ------------------------------------------------------------------------------------- hooks

    async def _call_off_loop(self, hook: str, *args: Any) -> None:
        """The hooks in a worker thread: a slow check holds up its own exchange, never the other clients.

        Abandoned on cancel (the proxy stopping): the check finishes on its own, the stop does not wait for it.
        """
        await anyio.to_thread.run_sync(self._call, hook, *args, abandon_on_cancel=True)

    def _call(self, hook: str, *args: Any) -> None:
        for addon in self.addons:
            method = getattr(addon, hook, None)
            if method is None:
                continue
            try:
                method(*args)
            except Exception:  # an addon's bug must not break the traffic it watches
                log.exception("proxy addon %s.%s failed", type(addon).__name__, hook)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._client = upstream_client(self.timeout)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                self._call("done")
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -------------------------------------------------------------------------------------- HTTP

    @staticmethod
    def _headers(scope: dict[str, Any], drop: frozenset[str] = HOP_BY_HOP) -> Headers:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        return [(k, v) for k, v in headers if k.lower() not in drop]

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        flow = HttpFlow(
            next(self._numbers), scope["method"], scope["path"] + (f"?{query}" if query else ""), self._headers(scope)
        )
        try:
            url = upstream_url(self.target, request_target(scope))
        except NotOriginForm as refused:
            await self._refuse(flow, send, 400, str(refused))
            return
        held = HeldBody(self.budget, self.check_limit)
        try:
            await self._exchange(flow, url, scope, receive, send, held)
        finally:
            held.release()

    async def _exchange(
        self, flow: HttpFlow, url: httpx.URL, scope: dict[str, Any], receive: Any, send: Any, held: HeldBody
    ) -> None:
        started = time.monotonic()
        read_timeout = self.timeout.read

        async def request_body() -> AsyncIterator[bytes]:
            while True:
                try:
                    message = await asyncio.wait_for(receive(), read_timeout)
                except TimeoutError:
                    raise ClientTooSlow(f"the client sent no body bytes for {read_timeout:g} s") from None
                if message["type"] == "http.disconnect":
                    raise ClientGone()
                chunk = message.get("body", b"")
                flow.request_size += len(chunk)
                if not held.add(chunk):
                    held.release()
                if chunk:
                    yield chunk
                if not message.get("more_body", False):
                    return

        assert self._client is not None, "the proxy app runs under a server with lifespan on"
        content: bytes | AsyncIterator[bytes] = request_body()
        if _small_in_one_piece(scope["headers"]):
            # Bodiless and small requests go on in one piece, as they came: a body-less GET must not become a
            # chunked one, and one write instead of several spares the target a delayed-ACK wait. Anything
            # else (chunked, or large) streams through as it arrives.
            try:
                content = b"".join([chunk async for chunk in request_body()])
            except ClientTooSlow as slow:
                await self._refuse(flow, send, 408, str(slow))
                return
            except ClientGone:
                log.warning("%s: the client went away while sending its body", flow.label)
                return
        raw_headers = forwarded_headers(flow.request_headers)
        request = self._client.build_request(flow.method, url, headers=raw_headers, content=content)
        try:
            response = await self._client.send(request, stream=True)
        except ClientTooSlow as slow:
            await self._refuse(flow, send, 408, str(slow))
            return
        except ClientGone:
            log.warning("%s: the client went away while sending its body", flow.label)
            return
        except httpx.HTTPError as exc:
            flow.request_body = held.value()
            detail = f"target {self.target} did not answer: {type(exc).__name__}: {exc}".rstrip(": ")
            await self._refuse(flow, send, 502, detail)
            return
        flow.request_body = held.value()
        try:
            await self._answer(flow, response, send)
        finally:
            await response.aclose()
            flow.elapsed = time.monotonic() - started

    async def _answer(self, flow: HttpFlow, response: httpx.Response, send: Any) -> None:
        flow.status, flow.reason = response.status_code, response.reason_phrase
        if not 100 <= response.status_code <= 599:
            await self._refuse(flow, send, 502, f"target answered status {response.status_code}, not an HTTP status")
            return
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
        flow.response_headers = [(k, v) for k, v in raw if k.lower() not in HOP_BY_HOP]
        held = HeldBody(self.budget, self.check_limit)
        try:
            if self.buffered:
                await self._answer_buffered(flow, response, send, held)
            else:
                await self._answer_streamed(flow, response, send, held)
        finally:
            held.release()

    async def _refuse(self, flow: HttpFlow, send: Any, status: int, detail: str) -> None:
        """Answer the client ourselves (400, 408, 502): a logged, counted, recorded exchange."""
        flow.error = detail
        await self._finished(flow)
        replacement = problem(status, detail)
        flow.replacement = replacement
        await _send_replacement(send, replacement)

    def _keeps(self, flow: HttpFlow) -> bool:
        """A text body is kept for checking; another only when an addon wants it (``wants_body``)."""
        return is_text_media(header(flow.response_headers, "content-type")) or any(
            self._wants_body(addon, flow) for addon in self.addons
        )

    @staticmethod
    def _wants_body(addon: Any, flow: HttpFlow) -> bool:
        wants = getattr(addon, "wants_body", None)
        if wants is None:
            return False
        try:
            return bool(wants(flow))
        except Exception:  # an addon's bug must not break the traffic it watches
            log.exception("proxy addon %s.wants_body failed", type(addon).__name__)
            return False

    async def _send_body(self, send: Any, chunk: bytes) -> None:
        """One piece of the answer; a client that reads nothing for the read timeout is given up on."""
        try:
            await asyncio.wait_for(
                send({"type": "http.response.body", "body": chunk, "more_body": True}), self.timeout.read
            )
        except TimeoutError:
            raise ClientTooSlow(f"the client read nothing for {self.timeout.read:g} s") from None

    async def _answer_streamed(self, flow: HttpFlow, response: httpx.Response, send: Any, held: HeldBody) -> None:
        if not self._keeps(flow):
            held.drop()
        await send({"type": "http.response.start", "status": flow.status, "headers": _raw(flow.response_headers)})
        try:
            async for chunk in response.aiter_raw():
                flow.response_size += len(chunk)
                if not held.add(chunk):
                    held.release()
                await self._send_body(send, chunk)
            flow.response_complete = True
        except httpx.HTTPError as exc:
            flow.error = f"the target broke off the body after {flow.response_size} bytes ({type(exc).__name__})"
        except ClientTooSlow as slow:
            flow.error = str(slow)
        except OSError:  # the client went away; the target's answer is still worth checking if whole
            log.warning("%s: the client went away during the response", flow.label)
        flow.response_body = held.value()
        if flow.error is None:
            with contextlib.suppress(OSError, RuntimeError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        # else: no clean end: the client's connection is closed with the body short, as the target's was
        await self._finished(flow)

    async def _answer_buffered(self, flow: HttpFlow, response: httpx.Response, send: Any, held: HeldBody) -> None:
        """Hold the body back until the hooks ran (they may replace it); one too big to hold streams through."""
        chunks = response.aiter_raw()
        try:
            async for chunk in chunks:
                flow.response_size += len(chunk)
                if not held.add(chunk):
                    await self._stream_rest(flow, chunk, chunks, send, held)
                    return
            flow.response_complete = True
        except httpx.HTTPError as exc:
            detail = f"the target broke off the body after {flow.response_size} bytes ({type(exc).__name__})"
            await self._refuse(flow, send, 502, detail)
            return
        body = held.value() or b""
        flow.response_body = body if self._keeps(flow) else None
        await self._finished(flow)
        if flow.replacement is not None:
            await _send_replacement(send, flow.replacement)
            return
        await send({"type": "http.response.start", "status": flow.status, "headers": _raw(flow.response_headers)})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _stream_rest(
        self, flow: HttpFlow, last: bytes, rest: AsyncIterator[bytes], send: Any, held: HeldBody
    ) -> None:
        """A body over the check limit (or the shared budget): what was held back, then the rest, unchecked."""
        flow.response_body = None
        head = bytes(held.data) + last  # what was held, and the chunk that did not fit
        held.release()
        await send({"type": "http.response.start", "status": flow.status, "headers": _raw(flow.response_headers)})
        try:
            await self._send_body(send, head)
            async for chunk in rest:
                flow.response_size += len(chunk)
                await self._send_body(send, chunk)
            flow.response_complete = True
        except httpx.HTTPError as exc:
            flow.error = f"the target broke off the body after {flow.response_size} bytes ({type(exc).__name__})"
        except ClientTooSlow as slow:
            flow.error = str(slow)
        if flow.error is None:
            with contextlib.suppress(OSError, RuntimeError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        await self._finished(flow)

    async def _finished(self, flow: HttpFlow) -> None:
        if flow.error is not None:
            log.warning("%s: %s", flow.label, flow.error)
            await self._call_off_loop("error", flow)
            return
        await self._call_off_loop("response", flow)

    # --------------------------------------------------------------------------------- WebSocket

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        headers = self._headers(scope, HOP_BY_HOP | HANDSHAKE_OWN | {"sec-websocket-protocol", "origin"})
        flow = StreamFlow(next(self._numbers), scope["path"] + (f"?{query}" if query else ""), headers)
        if (await receive())["type"] != "websocket.connect":
            return
        ws_scheme = "wss" if self.target.scheme == "https" else "ws"
        try:
            url = upstream_url(self.target, request_target(scope), ws_scheme)
        except NotOriginForm as refused:
            await self._deny_stream(flow, scope, send, problem(400, str(refused)))
            return
        subprotocols = scope.get("subprotocols") or None
        try:
            upstream = await connect(
                str(url),
                additional_headers=headers,
                origin=next((v for k, v in self._headers(scope, frozenset()) if k.lower() == "origin"), None),
                subprotocols=subprotocols,
                proxy=None,  # never the environment's proxy: the target is where the traffic goes
                max_size=MAX_FRAME_BYTES,
                open_timeout=self.timeout.connect,
                close_timeout=self.timeout.connect,
                ping_interval=None,  # the client's pings are its own business; the proxy adds none
                compression=None,
                user_agent_header=None,
                create_connection=GuardedClientConnection,
            )
        except InvalidStatus as refused:
            flow.status = refused.response.status_code
            self._call("websocket_start", flow)
            await _deny(
                scope, send, refused.response.status_code, refused.response.headers.raw_items(), refused.response.body
            )
            self._call("websocket_end", flow)
            return
        except (OSError, WebSocketException, TimeoutError) as exc:
            detail = f"target {self.target} refused the stream handshake: {type(exc).__name__}: {exc}"
            await self._deny_stream(flow, scope, send, bad_gateway(detail))
            return
        flow.status = 101
        self._call("websocket_start", flow)
        await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
        checks = FrameChecks(flow, self._call_off_loop)
        try:
            await self._relay(flow, receive, send, upstream, checks)
        finally:
            await upstream.close()
            await checks.finish()
            if flow.error is not None:
                log.warning("%s: %s", flow.label, flow.error)
                self._call("error", flow)
            self._call("websocket_end", flow)

    async def _deny_stream(self, flow: StreamFlow, scope: dict[str, Any], send: Any, answer: Replacement) -> None:
        """Refuse a handshake ourselves (400, 502): logged, and counted as a stream the proxy ended."""
        flow.status, flow.error = answer.status, json.loads(answer.body)["detail"]
        log.warning("%s: %s", flow.label, flow.error)
        self._call("websocket_start", flow)
        self._call("error", flow)
        await _deny(scope, send, answer.status, answer.headers, answer.body)
        self._call("websocket_end", flow)

    async def _relay(
        self, flow: StreamFlow, receive: Any, send: Any, upstream: ClientConnection, checks: FrameChecks
    ) -> None:
        """Frames both ways until either side closes; the other side gets the same close code."""

        def message(from_client: bool, payload: str | bytes) -> StreamMessage:
            flow.frames += 1
            text, data = (payload, None) if isinstance(payload, str) else (None, payload)
            return StreamMessage(flow.frames, from_client, text, data, time.time())

        async def client_to_target() -> None:
            while True:
                event = await receive()
                if event["type"] == "websocket.disconnect":
                    flow.close_code, flow.closed_by = event.get("code", 1005), flow.closed_by or "client"
                    await upstream.close(code=_sendable(flow.close_code), reason=event.get("reason") or "")
                    return
                payload = event.get("text") if event.get("text") is not None else event.get("bytes", b"")
                # Queued for its check before it is sent: its reply can never be checked first (a reply pairs
                # with its frame).
                await checks.put(message(True, payload))
                await upstream.send(payload)

        async def target_to_client() -> None:
            try:
                async for payload in upstream:
                    frame = {"type": "websocket.send"}
                    frame["text" if isinstance(payload, str) else "bytes"] = payload
                    if self.buffered:  # --strict: the frame waits for its check, which may end the session
                        await checks.checked(await checks.put(message(False, payload)))
                        if flow.closing is not None:
                            await self._end_session(flow, send, upstream)
                            return
                        await send(frame)
                    else:
                        await send(frame)
                        await checks.put(message(False, payload))
            except ConnectionClosed:
                pass
            if not flow.closed_by:
                flow.closed_by = "target"
                flow.close_code = upstream.close_code or 1006
                flow.close_reason = upstream.close_reason or ""
                if (broken := broken_off(upstream)) is not None:
                    flow.closed_by, (flow.close_code, flow.error) = "proxy", broken
                    flow.close_reason = flow.error.encode()[:120].decode(errors="ignore")  # at most 123 bytes
                with contextlib.suppress(OSError, RuntimeError):
                    await send(
                        {"type": "websocket.close", "code": _sendable(flow.close_code), "reason": flow.close_reason}
                    )

        tasks = [asyncio.create_task(client_to_target()), asyncio.create_task(target_to_client())]
        try:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, OSError, RuntimeError):
                    await task
        finally:
            for task in tasks:
                task.cancel()

    @staticmethod
    async def _end_session(flow: StreamFlow, send: Any, upstream: ClientConnection) -> None:
        """A hook asked to end the session (``flow.closing``): the client gets that close instead of the frame,
        and the target a normal close (the proxy, its client, is going)."""
        assert flow.closing is not None
        flow.closed_by, (flow.close_code, flow.close_reason) = "proxy", flow.closing
        with contextlib.suppress(OSError, RuntimeError):
            await send({"type": "websocket.close", "code": flow.close_code, "reason": flow.close_reason})
        with contextlib.suppress(OSError, RuntimeError, WebSocketException):
            await upstream.close(code=1000, reason="hume-contracts proxy --strict ended the session")


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


class ClientTooSlow(ClientGone):
    """The client sent or read nothing for the read timeout (a slow upload, a slowloris reader)."""


def _small_in_one_piece(raw_headers: list[tuple[bytes, bytes]]) -> bool:
    """No body, or one with a Content-Length up to ``SMALL_BODY``: read whole, then sent in one write.

    The raw headers, not the forwarded ones: ``transfer-encoding`` is hop-by-hop and already dropped there.
    """
    length = 0
    for name, value in raw_headers:
        if name.lower() == b"transfer-encoding":
            return False
        if name.lower() == b"content-length":
            length = int(value) if value.strip().isdigit() else SMALL_BODY + 1
    return length <= SMALL_BODY


def _raw(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def _sendable(code: int | None) -> int:
    """A close code one may send: 1005/1006/1015 only ever describe a close, so they become 1000."""
    return 1000 if code in (None, 1005, 1006, 1015) else code


async def _send_replacement(send: Any, replacement: Replacement) -> None:
    headers = [*replacement.headers, ("content-length", str(len(replacement.body)))]
    with contextlib.suppress(OSError, RuntimeError):
        await send({"type": "http.response.start", "status": replacement.status, "headers": _raw(headers)})
        await send({"type": "http.response.body", "body": replacement.body, "more_body": False})


async def _deny(scope: dict[str, Any], send: Any, status: int, headers: Any, body: bytes | None) -> None:
    """Refuse a handshake with the target's own answer (ASGI's WebSocket denial response extension)."""
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    pairs = [(str(k), str(v)) for k, v in headers if str(k).lower() not in HOP_BY_HOP | {"content-length"}]
    body = body or b""
    pairs.append(("content-length", str(len(body))))
    await send({"type": "websocket.http.response.start", "status": status, "headers": _raw(pairs)})
    await send({"type": "websocket.http.response.body", "body": body, "more_body": False})
