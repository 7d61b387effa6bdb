"""Test servers for recording real cassettes: the mock behind a compressing layer, served on loopback.

vcrpy keeps a response as it came off the wire, so a cassette holds compressed bodies only when the
server compressed them. The mock does not compress; ``Compressing`` does, with the first coding the
client's ``Accept-Encoding`` lists among gzip, deflate and br, so each test picks its coding.
"""

from __future__ import annotations

import contextlib
import gzip
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


@contextlib.contextmanager
def serving_mock(config: MockConfig, compress: bool = True) -> Iterator[str]:
    """The mock (behind ``Compressing`` unless told otherwise) on a free loopback port; yields its URL."""
    app = create_app(config)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    served = Compressing(app) if compress else app
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
