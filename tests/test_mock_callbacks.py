"""The mock's callbacks against hostile receivers: slow, dripping, endless, many at once (loopback only).

Each receiver is a few lines of raw asyncio, so it can misbehave below HTTP. Before the fix, callbacks went
out one after another from the ticker, each read whole: one slow receiver delayed every other callback, and
an endless answer was read into memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from conftest import API_KEY, fast_config

from mockserver import MockHandle, running_mock
from mockserver.callbacks import MAX_IN_FLIGHT, PER_RECEIVER, receiver_of

JOBS = "/v0/batch/jobs"
CALLBACK_SECONDS = 1.0


@dataclass
class Receiver:
    """What a receiver saw: how many connections were open at once, and how much it managed to send."""

    url: str = ""
    open_now: int = 0
    most_open: int = 0
    requests: int = 0
    bytes_sent: int = 0
    first_request_at: list[float] = field(default_factory=list)


Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter, Receiver], Awaitable[None]]


@contextlib.contextmanager
def receiving(behaviour: Behaviour) -> Iterator[Receiver]:
    """A loopback HTTP receiver that reads each request's head and then behaves as told."""
    loop = asyncio.new_event_loop()
    seen = Receiver()
    started = threading.Event()
    box: dict[str, asyncio.Server] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.open_now += 1
        seen.most_open = max(seen.most_open, seen.open_now)
        try:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
                await reader.readuntil(b"\r\n\r\n")
                seen.requests += 1
                seen.first_request_at.append(time.monotonic())
                await behaviour(reader, writer, seen)
        finally:
            seen.open_now -= 1
            writer.close()

    async def start() -> None:
        box["server"] = await asyncio.start_server(handle, "127.0.0.1", 0)
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert started.wait(5)
    seen.url = f"http://127.0.0.1:{box['server'].sockets[0].getsockname()[1]}/hook"

    async def stop() -> None:
        box["server"].close()
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    try:
        yield seen
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


async def answer_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Receiver) -> None:
    writer.write(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
    await writer.drain()


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Receiver) -> None:
    while await reader.read(65536):  # the body, then nothing until the mock hangs up
        pass


async def drip_the_status_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Receiver) -> None:
    for byte in b"HTTP/1.1 200 OK\r\n" + b"x-drip: " + b"y" * 10_000:  # a byte every 0.1 s: never a whole head
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.1)


async def answer_without_end(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Receiver) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
    chunk = b"[" + b"0," * 32_767 + b"\r\n"
    while True:
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        seen.bytes_sent += len(chunk)
        await writer.drain()


@contextlib.contextmanager
def mock_with_callbacks(**overrides: Any) -> Iterator[tuple[MockHandle, httpx.Client]]:
    config = fast_config(callback_timeout_seconds=CALLBACK_SECONDS, **overrides)
    with running_mock(config) as mock, httpx.Client(base_url=mock.base_url, headers={"X-Hume-Api-Key": API_KEY}) as c:
        yield mock, c


def submit(client: httpx.Client, url: str) -> str:
    response = client.post(JOBS, json={"text": ["hello"], "callback_url": url})
    assert response.status_code == 200, response.text
    return response.json()["job_id"]


def outcome(mock: MockHandle, job_id: str, timeout: float) -> dict[str, Any]:
    """The recorded callback outcome, waited for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (record := mock.app.state.mock.store.get(job_id)).callback is None:
        assert time.monotonic() < deadline, f"no callback outcome within {timeout} s"
        time.sleep(0.02)
    return record.callback


def test_a_slow_receiver_does_not_delay_a_fast_one() -> None:
    with receiving(never_answer) as slow, receiving(answer_at_once) as fast, mock_with_callbacks() as (mock, client):
        slow_jobs = [submit(client, slow.url) for _ in range(6)]  # one after another, these alone would take 6 s
        started = time.monotonic()
        fast_job = submit(client, fast.url)
        assert outcome(mock, fast_job, timeout=CALLBACK_SECONDS) == {"url": fast.url, "status_code": 204}
        assert time.monotonic() - started < CALLBACK_SECONDS  # well before the first slow one times out
        for job_id in slow_jobs:  # each slow one is bounded in time and recorded as such
            assert "no answer within 1 s" in outcome(mock, job_id, timeout=6 * CALLBACK_SECONDS + 3)["error"]
        assert slow.most_open <= PER_RECEIVER


def test_a_receiver_that_drips_its_answer_is_cut_at_the_deadline() -> None:
    with receiving(drip_the_status_line) as dripping, mock_with_callbacks() as (mock, client):
        job_id = submit(client, dripping.url)
        result = outcome(mock, job_id, timeout=CALLBACK_SECONDS + 3)
        took = time.monotonic() - dripping.first_request_at[0]
    assert result == {"url": dripping.url, "error": "no answer within 1 s (connect to status line)"}
    assert took < CALLBACK_SECONDS + 1.5  # one deadline for the whole exchange, not per byte


def test_an_endless_answer_is_not_read() -> None:
    with receiving(answer_without_end) as endless, mock_with_callbacks() as (mock, client):
        job_id = submit(client, endless.url)
        assert outcome(mock, job_id, timeout=CALLBACK_SECONDS + 2) == {"url": endless.url, "status_code": 200}
        time.sleep(0.3)
        assert endless.open_now == 0  # the mock hung up after the status line
    assert endless.bytes_sent < 64 * 1024 * 1024  # what socket buffers hold at most, not what the receiver had


def test_deliveries_to_one_receiver_are_bounded_and_every_job_is_called_back() -> None:
    async def answer_slowly(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Receiver) -> None:
        await asyncio.sleep(0.2)
        await answer_at_once(reader, writer, seen)

    with receiving(answer_slowly) as receiver, mock_with_callbacks() as (mock, client):
        jobs = [submit(client, receiver.url) for _ in range(8)]
        assert all(outcome(mock, job_id, timeout=10)["status_code"] == 204 for job_id in jobs)
    assert receiver.requests == 8 and 1 <= receiver.most_open <= PER_RECEIVER


def test_the_bounds_count_a_receiver_by_scheme_host_and_port() -> None:
    assert receiver_of("http://127.0.0.1:8080/a") == receiver_of("http://127.0.0.1:8080/b?x=1")
    assert receiver_of("http://127.0.0.1:8080/a") != receiver_of("http://127.0.0.1:8081/a")
    assert receiver_of("http://LOCALHOST:1/a") == receiver_of("http://localhost:1/a")
    assert receiver_of("http://127.0.0.1:99999/a") == "http://127.0.0.1:None"  # no crash on a bad port
    assert PER_RECEIVER < MAX_IN_FLIGHT
