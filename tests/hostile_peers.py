"""Hostile WebSocket peers for tests and bench/ (loopback only): a client that never reads, a server that floods.

Both speak WebSocket through the websockets library's Sans-I/O protocol over a plain socket, so they can do
what no well-behaved library does: send frames and pings and never read an answer.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

SMALL_RECEIVE_BUFFER = 4096  # so that what the client leaves unread stays on the server's side
MAX_REPLY_BYTES = 64 * 1024 * 1024
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def text_frame(characters: int) -> str:
    """A valid stream payload whose reply is as large as raw text can make it: one word per two characters."""
    models = {"language": {"granularity": "word", "sentiment": {}, "toxicity": {}}}
    return json.dumps({"data": ("a " * characters)[:characters], "raw_text": True, "models": models})


@dataclass
class Drained:
    """What a client found once it read: whole text frames, bytes, and how the connection ended."""

    replies: int = 0
    received_bytes: int = 0
    ended: str = "open"  # "open" (still open at the deadline), "closed" (EOF) or "reset"


class NonReadingClient:
    """Opens the stream with the key in the header, then sends without ever reading (until ``drain``)."""

    def __init__(self, url: str, key: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.protocol = ClientProtocol(parse_uri(url), max_size=MAX_REPLY_BYTES)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RECEIVE_BUFFER)
        self.sock.settimeout(timeout)
        self.sock.connect((parts.hostname, parts.port))
        request = self.protocol.connect()
        request.headers["X-Hume-Api-Key"] = key
        self.protocol.send_request(request)
        self._flush()
        self.response: Response | None = None
        self.status = self._handshake_status()

    @property
    def accepted(self) -> bool:
        return self.status == 101

    def send_text(self, text: str) -> None:
        self.protocol.send_text(text.encode())
        self._flush()

    def send_pings(self, count: int, size: int = 125) -> int:
        """Send up to ``count`` pings; how many went before the server stopped taking them (socket timeout)."""
        for sent in range(count):
            self.protocol.send_ping(sent.to_bytes(4, "big") + b"p" * (size - 4))
            try:
                self._flush()
            except (TimeoutError, OSError):
                return sent
        return count

    def drain(self, seconds: float) -> Drained:
        """Read for at most ``seconds``: whole replies counted, until the server ends the connection."""
        seen, deadline = Drained(), time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 20)
            except TimeoutError:
                break
            except ConnectionResetError:
                seen.ended = "reset"
                break
            if not data:
                seen.ended = "closed"
                break
            seen.received_bytes += len(data)
            self.protocol.receive_data(data)
            seen.replies += sum(
                1
                for event in self.protocol.events_received()
                if isinstance(event, Frame) and event.opcode is Opcode.TEXT
            )
        return seen

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)

    def _handshake_status(self) -> int:
        while True:
            data = self.sock.recv(65536)
            self.protocol.receive_data(data)
            for event in self.protocol.events_received():
                if isinstance(event, Response):
                    self.response = event
                    return event.status_code
            if not data:
                return 0


@contextlib.contextmanager
def non_reading_clients(url: str, key: str, count: int) -> Iterator[list[NonReadingClient]]:
    clients: list[NonReadingClient] = []
    try:
        for _ in range(count):
            clients.append(NonReadingClient(url, key))
        yield clients
    finally:
        for client in clients:
            client.close()


@contextlib.contextmanager
def ping_flooding_server() -> Iterator[str]:
    """A stream server that accepts any handshake, then floods pings and never reads (ws:// URL yielded)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    connections: list[socket.socket] = []

    def flood(connection: socket.socket) -> None:
        ping = b"\x89\x7d" + b"p" * 125  # FIN + PING, unmasked (server to client), 125-byte payload
        with contextlib.suppress(OSError):
            _accept_handshake(connection)
            while not stop.is_set():
                connection.sendall(ping * 64)

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connections.append(connection)
            threading.Thread(target=flood, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"ws://127.0.0.1:{listener.getsockname()[1]}/v0/stream/models"
    finally:
        stop.set()
        for sock in [listener, *connections]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a flood blocked in sendall
            sock.close()
        thread.join(5)


def _accept_handshake(connection: socket.socket) -> None:
    """Read one upgrade request (its head only) and switch protocols; nothing is read after it (plain HTTP: 200)."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(4096)
        if not chunk:
            raise ConnectionError("the client left before its handshake")
        head += chunk
    lines = head.split(b"\r\n")
    keys = [line.split(b":", 1)[1].strip() for line in lines if line.lower().startswith(b"sec-websocket-key:")]
    if not keys:  # plain HTTP (fuzz's reachability probe): an empty job list, and nothing more is read
        connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n[]")
        raise ConnectionError("not a WebSocket handshake")
    key = keys[0]
    accept = base64.b64encode(hashlib.sha1(key + WEBSOCKET_GUID.encode()).digest())
    connection.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


def status_of(url: str, key: str) -> tuple[int, dict[str, Any]]:
    """The handshake's status and headers, the connection closed at once."""
    client = NonReadingClient(url, key)
    try:
        headers = dict(client.response.headers.raw_items()) if client.response else {}
        return client.status, {name.lower(): value for name, value in headers.items()}
    finally:
        client.close()
