"""The proxy's pass-through core: an ASGI app that forwards HTTP and WebSocket traffic to one target.

It changes nothing on the way: status, headers (less the hop-by-hop ones a proxy must not forward), body
bytes as the target sent them (compressed stays compressed), frames in order, close codes. What it does
with the traffic is up to its addons, small objects with any of these hooks (as in mitmproxy):

- ``response(flow)``: an HTTP exchange ended (the body is kept for checking when it is text and within
  ``check_limit``). Called in a worker thread once the client has the whole answer; with ``buffered`` the
  target's body is held back until the hooks ran, so a hook can set ``flow.replacement``;
- ``error(flow)``: the target could not be reached, or broke off;
- ``websocket_start(flow)``, ``websocket_message(flow, message)``, ``websocket_end(flow)``;
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

from contracts.proxy.flows import Headers, HttpFlow, Replacement, StreamFlow, StreamMessage, header

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
TEXT_MEDIA = ("json", "text/")
GOING_AWAY, INTERNAL_ERROR = 1001, 1011


def bad_gateway(detail: str) -> Replacement:
    """A problem+json 502 (RFC 9457) that says what went wrong with the target."""
    body = json.dumps({"type": "about:blank", "title": "Bad Gateway", "status": 502, "detail": detail}).encode()
    return Replacement(502, [("content-type", "application/problem+json")], body)


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
    ) -> None:
        self.target = httpx.URL(target.rstrip("/"))
        self.addons = list(addons)
        self.buffered = buffered
        self.check_limit = check_limit
        self.timeout = timeout or httpx.Timeout(30.0, connect=5.0)
        self._numbers = itertools.count(1)
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    # ------------------------------------------------------------------------------------- hooks

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
                # trust_env=False: never route the traffic under test through the environment's proxies.
                self._client = httpx.AsyncClient(timeout=self.timeout, trust_env=False, follow_redirects=False)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                self._call("done")
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -------------------------------------------------------------------------------------- HTTP

    def _target_url(self, scope: dict[str, Any], scheme: str | None = None) -> str:
        """The target's URL for this request: its path as the client encoded it, and its query string."""
        path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        query = scope.get("query_string", b"").decode("latin-1")
        base = self.target.copy_with(scheme=scheme) if scheme else self.target
        return str(base).rstrip("/") + path + (f"?{query}" if query else "")

    @staticmethod
    def _headers(scope: dict[str, Any], drop: frozenset[str] = HOP_BY_HOP) -> Headers:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        return [(k, v) for k, v in headers if k.lower() not in drop]

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        flow = HttpFlow(
            next(self._numbers), scope["method"], scope["path"] + (f"?{query}" if query else ""), self._headers(scope)
        )
        started = time.monotonic()
        kept = bytearray()

        async def request_body() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone()
                chunk = message.get("body", b"")
                flow.request_size += len(chunk)
                if flow.request_size <= self.check_limit:
                    kept.extend(chunk)
                if chunk:
                    yield chunk
                if not message.get("more_body", False):
                    return

        assert self._client is not None, "the proxy app runs under a server with lifespan on"
        content: bytes | AsyncIterator[bytes] = request_body()
        length = header(flow.request_headers, "content-length")
        if header(flow.request_headers, "transfer-encoding") is None and int(length or 0) <= SMALL_BODY:
            # Bodiless and small requests go on in one piece, as they came: a body-less GET must not become a
            # chunked one, and one write instead of several spares the target a delayed-ACK wait.
            try:
                content = b"".join([chunk async for chunk in request_body()])
            except ClientGone:
                log.warning("%s: the client went away while sending its body", flow.label)
                return
        request = self._client.build_request(
            flow.method, self._target_url(scope), headers=flow.request_headers, content=content
        )
        try:
            response = await self._client.send(request, stream=True)
        except ClientGone:
            log.warning("%s: the client went away while sending its body", flow.label)
            return
        except httpx.HTTPError as exc:
            flow.error = f"target {self.target} did not answer: {type(exc).__name__}: {exc}".rstrip(": ")
            flow.request_body = bytes(kept) if flow.request_size <= self.check_limit else None
            self._call("error", flow)
            await _send_replacement(send, bad_gateway(flow.error))
            return
        flow.request_body = bytes(kept) if flow.request_size <= self.check_limit else None
        flow.status, flow.reason = response.status_code, response.reason_phrase
        flow.response_headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in HOP_BY_HOP]
        try:
            if self.buffered:
                await self._answer_buffered(flow, response, send)
            else:
                await self._answer_streamed(flow, response, send)
        finally:
            await response.aclose()
            flow.elapsed = time.monotonic() - started

    def _keeps(self, flow: HttpFlow) -> bool:
        content_type = (header(flow.response_headers, "content-type") or "").lower()
        return any(media in content_type for media in TEXT_MEDIA)

    async def _answer_streamed(self, flow: HttpFlow, response: httpx.Response, send: Any) -> None:
        keep = self._keeps(flow)
        kept = bytearray()
        await send({"type": "http.response.start", "status": flow.status, "headers": _raw(flow.response_headers)})
        try:
            async for chunk in response.aiter_raw():
                flow.response_size += len(chunk)
                keep = keep and flow.response_size <= self.check_limit
                if keep:
                    kept.extend(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            flow.response_complete = True
        except httpx.HTTPError as exc:
            flow.error = f"the target broke off the body after {flow.response_size} bytes ({type(exc).__name__})"
        except OSError:  # the client went away; the target's answer is still worth checking if whole
            log.warning("%s: the client went away during the response", flow.label)
        with contextlib.suppress(OSError):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        flow.response_body = bytes(kept) if keep else None
        await self._finished(flow)

    async def _answer_buffered(self, flow: HttpFlow, response: httpx.Response, send: Any) -> None:
        """Hold the body back until the hooks ran (they may replace it); one too big to hold streams through."""
        kept = bytearray()
        chunks = response.aiter_raw()
        try:
            async for chunk in chunks:
                flow.response_size += len(chunk)
                kept.extend(chunk)
                if flow.response_size > self.check_limit:
                    await self._stream_rest(flow, bytes(kept), chunks, send)
                    return
            flow.response_complete = True
        except httpx.HTTPError as exc:
            flow.error = f"the target broke off the body after {flow.response_size} bytes ({type(exc).__name__})"
            await self._finished(flow)
            await _send_replacement(send, bad_gateway(flow.error))
            return
        flow.response_body = bytes(kept) if self._keeps(flow) else None
        await self._finished(flow)
        if flow.replacement is not None:
            await _send_replacement(send, flow.replacement)
            return
        await send({"type": "http.response.start", "status": flow.status, "headers": _raw(flow.response_headers)})
        await send({"type": "http.response.body", "body": bytes(kept), "more_body": False})

    async def _stream_rest(self, flow: HttpFlow, head: bytes, rest: AsyncIterator[bytes], send: Any) -> None:
        """A body over the check limit: what was held back, then the rest as it comes, unchecked."""
        flow.response_body = None
        await send({"type": "http.response.start", "status": flow.status, "headers": _raw(flow.response_headers)})
        await send({"type": "http.response.body", "body": head, "more_body": True})
        try:
            async for chunk in rest:
                flow.response_size += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            flow.response_complete = True
        except httpx.HTTPError as exc:
            flow.error = f"the target broke off the body after {flow.response_size} bytes ({type(exc).__name__})"
        with contextlib.suppress(OSError):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        await self._finished(flow)

    async def _finished(self, flow: HttpFlow) -> None:
        if flow.error is not None:
            log.warning("%s: %s", flow.label, flow.error)
            self._call("error", flow)
            return
        await anyio.to_thread.run_sync(self._call, "response", flow)

    # --------------------------------------------------------------------------------- WebSocket

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        headers = self._headers(scope, HOP_BY_HOP | HANDSHAKE_OWN | {"sec-websocket-protocol", "origin"})
        flow = StreamFlow(next(self._numbers), scope["path"] + (f"?{query}" if query else ""), headers)
        if (await receive())["type"] != "websocket.connect":
            return
        ws_scheme = "wss" if self.target.scheme == "https" else "ws"
        subprotocols = scope.get("subprotocols") or None
        try:
            upstream = await connect(
                self._target_url(scope, ws_scheme),
                additional_headers=headers,
                origin=next((v for k, v in self._headers(scope, frozenset()) if k.lower() == "origin"), None),
                subprotocols=subprotocols,
                proxy=None,  # never the environment's proxy: the target is where the traffic goes
                max_size=MAX_FRAME_BYTES,
                open_timeout=self.timeout.connect,
                ping_interval=None,  # the client's pings are its own business; the proxy adds none
                compression=None,
                user_agent_header=None,
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
            log.warning("%s: %s", flow.label, detail)
            flow.status = 502
            self._call("websocket_start", flow)
            replacement = bad_gateway(detail)
            await _deny(scope, send, 502, replacement.headers, replacement.body)
            self._call("websocket_end", flow)
            return
        flow.status = 101
        self._call("websocket_start", flow)
        await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
        try:
            await self._relay(flow, receive, send, upstream)
        finally:
            await upstream.close()
            self._call("websocket_end", flow)

    async def _relay(self, flow: StreamFlow, receive: Any, send: Any, upstream: ClientConnection) -> None:
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
                # Seen before it is sent: its reply can then never be seen first (a reply pairs with its frame).
                self._call("websocket_message", flow, message(True, payload))
                await upstream.send(payload)

        async def target_to_client() -> None:
            try:
                async for payload in upstream:
                    frame = {"type": "websocket.send"}
                    frame["text" if isinstance(payload, str) else "bytes"] = payload
                    await send(frame)
                    self._call("websocket_message", flow, message(False, payload))
            except ConnectionClosed:
                pass
            if not flow.closed_by:
                flow.closed_by = "target"
                flow.close_code = upstream.close_code or 1006
                flow.close_reason = upstream.close_reason or ""
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


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


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
