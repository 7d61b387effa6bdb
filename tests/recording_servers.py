"""Test servers for recording real cassettes: the mock behind a compressing layer, served on loopback.

vcrpy keeps a response as it came off the wire, so a cassette holds compressed bodies only when the
server compressed them. The mock does not compress; ``Compressing`` does, with the first coding the
client's ``Accept-Encoding`` lists among gzip, deflate and br, so each test picks its coding.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import brotli
import uvicorn

from mockserver import MockConfig
from mockserver.app import close_app, create_app

CODERS = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}


class Compressing:
    """ASGI middleware compressing every HTTP response body the client accepts compressed."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accepted = dict(scope["headers"]).get(b"accept-encoding", b"").decode()
        coding = next((c.strip() for c in accepted.split(",") if c.strip() in CODERS), None)
        if coding is None:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def compressing_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = CODERS[coding](b"".join(chunks))
            headers = [(k, v) for k, v in start["headers"] if k.lower() not in (b"content-length", b"content-encoding")]
            headers += [(b"content-encoding", coding.encode()), (b"content-length", str(len(body)).encode())]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, compressing_send)


class RateLimitingGateway:
    """ASGI middleware answering 429 with ``Retry-After: 1`` past ``per_second`` HTTP requests a second, before
    any key is looked at, as a gateway in front of an API does (the mock itself checks the key first)."""

    def __init__(self, app: Any, per_second: int = 5) -> None:
        self.app = app
        self.per_second = per_second
        self.window = (0.0, 0)
        self.refused = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        start, count = self.window if now - self.window[0] < 1.0 else (now, 0)
        self.window = (start, count + 1)
        if count < self.per_second:
            await self.app(scope, receive, send)
            return
        self.refused += 1
        body = b'{"status_code": 429, "message": "Too many requests"}'
        headers = [(b"content-type", b"application/json"), (b"retry-after", b"1")]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class UncheckedThreshold:
    """ASGI middleware making the mock a server that takes ``face.prob_threshold`` above 1 instead of refusing
    it, and echoes the value as sent: the mock stores 1, and every job answer shows what was sent again."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent: dict[float, float] = {}  # what the mock stored -> what was sent

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v0/batch/jobs"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST":
            receive = await self._clamped(receive)
        await self.app(scope, receive, self._echoing(send) if self.sent else send)

    async def _clamped(self, receive: Any) -> Any:
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        try:
            request = json.loads(body)
            face = request["models"]["face"]
            if face["prob_threshold"] > 1:
                self.sent[1] = face["prob_threshold"]
                face["prob_threshold"] = 1
                body = json.dumps(request).encode()
        except (ValueError, KeyError, TypeError):
            pass
        done = False

        async def replay() -> dict[str, Any]:
            nonlocal done
            if done:
                return await receive()
            done = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay

    def _echoing(self, send: Any) -> Any:
        start: dict[str, Any] = {}

        async def echoing(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body = message.get("body", b"")
            try:
                document = json.loads(body)
                for job in document if isinstance(document, list) else [document]:
                    face = job["request"]["models"].get("face") if isinstance(job, dict) else None
                    if isinstance(face, dict) and face.get("prob_threshold") in self.sent:
                        face["prob_threshold"] = self.sent[face["prob_threshold"]]
                body = json.dumps(document).encode()
            except (ValueError, KeyError, TypeError, AttributeError):
                pass
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        return echoing


@contextlib.contextmanager
def serving_mock(config: MockConfig, compress: bool = True, wrap: Any = None) -> Iterator[str]:
    """The mock (behind ``Compressing`` unless told otherwise, and behind ``wrap(app)`` if given) on a free
    loopback port; yields its URL."""
    app = create_app(config)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    served = Compressing(app) if compress else app
    served = wrap(served) if wrap is not None else served
    server = uvicorn.Server(uvicorn.Config(served, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()
        close_app(app)
