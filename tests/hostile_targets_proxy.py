"""Helpers for the proxy's hostile-input tests: a raw loopback target that says exactly what it is told to,
a listener that must never be reached, and compression bombs built without compressing gigabytes."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import socket
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection, serve

Answer = Callable[[socket.socket, bytes], None]  # (connection, request head) -> writes whatever it likes


@dataclass
class RawTarget:
    """A threaded loopback HTTP target: each request's head is kept, and answered by ``answers[target]``
    (the request-target with its query, else its path alone)."""

    answers: dict[str, Answer]
    heads: list[bytes] = field(default_factory=list)
    listener: socket.socket = field(default_factory=socket.socket)

    def __post_init__(self) -> None:
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.stopped:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            while True:
                head = _read_head(connection)
                if head is None:
                    return
                self.heads.append(head)
                try:
                    _drain_body(connection, head)
                except OSError:  # the proxy gave up on a slow client's upload
                    return
                parts = head.split(b" ", 2)
                target = parts[1].decode("latin-1") if len(parts) > 1 else ""  # a head the proxy cut short
                answer = self.answers.get(target) or self.answers.get(target.split("?", 1)[0], answer_json(200, b"{}"))
                try:
                    answer(connection, head)
                except OSError:
                    return

    def close(self) -> None:
        self.stopped = True
        self.listener.close()


def _read_head(connection: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = connection.recv(65536)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


def _drain_body(connection: socket.socket, head: bytes) -> None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and int(value) > 0:
            remaining = int(value)
            while remaining > 0:
                chunk = connection.recv(min(remaining, 65536))
                if not chunk:
                    return
                remaining -= len(chunk)


def header_of(head: bytes, name: str) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.encode():
            return value.strip()
    return None


def answer_json(status: int, body: bytes, extra: bytes = b"", reason: bytes = b"OK") -> Answer:
    def answer(connection: socket.socket, head: bytes) -> None:
        connection.sendall(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n"
            % (status, reason, len(body), extra)
            + body
        )

    return answer


def answer_cut_short(connection: socket.socket, head: bytes) -> None:
    """A Content-Length of 1000, then 10 bytes and the connection closed."""
    connection.sendall(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n[{"job_id"')
    connection.shutdown(socket.SHUT_RDWR)
    raise OSError("cut")


def answer_ping_flood(connection: socket.socket, head: bytes) -> None:
    """A WebSocket handshake, then pings without end, the pongs never read (until the proxy cuts it off)."""
    key = header_of(head, "sec-websocket-key") or b""
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
        b"sec-websocket-accept: " + accept + b"\r\n\r\n"
    )
    pings = (b"\x89\x7d" + b"p" * 125) * 512  # unmasked, as a server sends them
    for _ in range(128 * 1024 * 1024 // len(pings)):  # bounded: 128 MiB, four times what the proxy lets pile up
        connection.sendall(pings)
    raise OSError("never cut off")


class Bystander:
    """A loopback listener that no proxied request may reach; ``reached`` says whether anything connected."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]

    def reached(self) -> bool:
        try:
            connection, _ = self.listener.accept()
        except BlockingIOError:
            return False
        connection.close()
        return True

    def close(self) -> None:
        self.listener.close()


# -- compression bombs: one compressed block of zeros, repeated (a full flush makes every block the same)

BLOCK = 16 * 1024 * 1024


def _zero_blocks(count: int) -> tuple[bytes, bytes]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(BLOCK)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * count, compressor.flush(zlib.Z_FINISH)


def _checksum(function: Callable[[bytes, int], int], start: int, count: int) -> int:
    zeros, value = bytes(BLOCK), start
    for _ in range(count):
        value = function(zeros, value)
    return value


def gzip_bomb(expanded_gib: float) -> bytes:
    count = int(expanded_gib * 1024**3 // BLOCK)
    blocks, end = _zero_blocks(count)
    crc = _checksum(zlib.crc32, 0, count)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return header + blocks + end + struct.pack("<II", crc, (count * BLOCK) & 0xFFFFFFFF)


def deflate_bomb(expanded_gib: float) -> bytes:
    count = int(expanded_gib * 1024**3 // BLOCK)
    blocks, end = _zero_blocks(count)
    adler = _checksum(zlib.adler32, 1, count)
    return b"\x78\xda" + blocks + end + struct.pack(">I", adler)


def brotli_bomb(expanded_mib: int) -> bytes:
    import brotli

    compressor = brotli.Compressor(quality=1)
    zeros = bytes(BLOCK)
    return b"".join(compressor.process(zeros) for _ in range(expanded_mib // 16)) + compressor.finish()


@contextlib.contextmanager
def stream_target(reply: str) -> Iterator[str]:
    """A WebSocket target on loopback that answers every frame with ``reply``; yields its http:// URL."""
    ready, box = threading.Event(), {}

    async def handler(connection: ServerConnection) -> None:
        async for _ in connection:
            await connection.send(reply)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
            box["port"] = server.sockets[0].getsockname()[1]
            box["loop"], box["stop"] = asyncio.get_running_loop(), asyncio.get_running_loop().create_future()
            ready.set()
            await box["stop"]

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield f"http://127.0.0.1:{box['port']}"
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set_result, None)
        thread.join(5)
