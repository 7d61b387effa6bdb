"""The mock's stream against clients that send and never read (loopback only).

Before the fix, a 10,000-character text frame got a 14 MB reply that waited whole in the mock for a client
that never read it, with the next reply computed and waiting too, for as many clients as connected: 87 of
them filled 6 GiB, and then SIGTERM waited forever for those buffers to drain. Now a session holds at most
one unsent reply, a client that makes no progress reading is dropped, sessions are capped (429 beyond), and
a SIGTERM aborts what cannot drain.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from conftest import API_KEY, fast_config
from hostile_peers import NonReadingClient, non_reading_clients, status_of, text_frame
from websockets.sync.client import connect

from mockserver import MockHandle, running_mock

HELLO = {"data": "hello there", "raw_text": True, "models": {"language": {}}, "payload_id": "p1"}
STALL_SECONDS = 1.0
GIB = 1024**3


def ask(mock_url: str, payload: dict) -> dict:
    with connect(mock_url, additional_headers={"X-Hume-Api-Key": API_KEY}, open_timeout=10) as socket:
        socket.send(json.dumps(payload))
        return json.loads(socket.recv(timeout=10))


def wait_for_sessions(mock: MockHandle, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while mock.app.state.mock.stream_sessions.admitted != count:
        assert time.monotonic() < deadline, f"{mock.app.state.mock.stream_sessions.admitted} sessions, not {count}"
        time.sleep(0.05)


def test_clients_that_do_not_read_hold_one_reply_each_are_dropped_and_never_stop_the_others() -> None:
    config = fast_config(max_stream_sessions=5, stream_stall_seconds=STALL_SECONDS)
    with running_mock(config) as mock, non_reading_clients(mock.stream_url, API_KEY, 4) as idle:
        for client in idle:
            assert client.accepted
            for _ in range(3):
                client.send_text(text_frame(3000))  # ~5 MB of reply each
        started = time.monotonic()
        assert ask(mock.stream_url, HELLO)["payload_id"] == "p1"  # served while the four wait on their readers
        assert time.monotonic() - started < 5
        wait_for_sessions(mock, 0, timeout=STALL_SECONDS + 15)  # each dropped once its reply stopped moving
        for client in idle:
            seen = client.drain(2.0)
            assert seen.ended in ("reset", "closed") and seen.replies <= 1, seen  # one reply, never the next two
        assert ask(mock.stream_url, HELLO)["payload_id"] == "p1"


def test_sessions_beyond_the_cap_are_refused_with_429_and_retry_after_until_one_ends() -> None:
    config = fast_config(max_stream_sessions=2, stream_stall_seconds=30.0)
    with running_mock(config) as mock, non_reading_clients(mock.stream_url, API_KEY, 2) as idle:
        assert all(client.accepted for client in idle)
        wait_for_sessions(mock, 2, timeout=5)
        status, headers = status_of(mock.stream_url, API_KEY)
        assert status == 429 and headers.get("retry-after") == "1"
        idle[0].close()
        wait_for_sessions(mock, 1, timeout=5)
        assert ask(mock.stream_url, HELLO)["payload_id"] == "p1"


def test_a_reading_client_gets_every_reply_however_large() -> None:
    with running_mock(fast_config(stream_stall_seconds=STALL_SECONDS)) as mock:
        client = NonReadingClient(mock.stream_url, API_KEY)
        try:
            for _ in range(2):
                client.send_text(text_frame(3000))
            seen, deadline = 0, time.monotonic() + 20
            while seen < 2 and time.monotonic() < deadline:
                seen += client.drain(0.5).replies  # reads at its own pace: slow is not stalled
            assert seen == 2
        finally:
            client.close()


# -- a separate mock process: its own memory, a real SIGTERM -------------------------------------------------


@contextlib.contextmanager
def mock_process(tmpdir: Path | None = None, **settings: object) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``serve`` in a child process under a 2 GiB address-space cap (temporary files in ``tmpdir``, if given);
    yields it and its stream URL."""
    code = (
        "import sys; from mockserver.config import MockConfig; from mockserver.server import serve; "
        f"sys.exit(serve('127.0.0.1', 0, MockConfig(api_key={API_KEY!r}, **{settings!r})))"
    )

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 * GIB, 2 * GIB))

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "TMPDIR": str(tmpdir)} if tmpdir is not None else None
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=cap,
    )
    try:
        yield child, _stream_url(child)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=10)


def _stream_url(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        assert selector.select(timeout=30), "the mock printed no banner"
    banner = child.stdout.readline()
    found = re.search(r"stream (ws://127.0.0.1:(\d+)\S*)", banner)
    assert found, banner
    deadline = time.monotonic() + 30  # the banner comes once the port is bound, a moment before it listens
    while True:
        try:
            socket.create_connection(("127.0.0.1", int(found.group(2))), timeout=1).close()
            return found.group(1)
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "the mock never listened"
            time.sleep(0.05)


def peak_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024  # type: ignore[union-attr]


def resident_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024  # type: ignore[union-attr]


def test_many_clients_that_do_not_read_cannot_grow_the_mock_and_sigterm_still_stops_it() -> None:
    clients, cap = 24, 4
    with mock_process(max_stream_sessions=cap, stream_stall_seconds=30.0) as (child, url):
        ask(url, HELLO)  # warm: the first answer imports and builds what every later one uses
        base = resident_mb(child.pid)
        with non_reading_clients(url, API_KEY, clients) as idle:
            accepted = [client for client in idle if client.accepted]
            assert len(accepted) == cap and {client.status for client in idle} == {101, 429}
            accepted[0].send_pings(50_000)  # pongs it will never read
            for client in accepted:
                for _ in range(3):
                    client.send_text(text_frame(5000))  # ~9 MB of reply each
            time.sleep(6)  # the replies that fit are computed and sent (or waiting) by now
            grown = peak_mb(child.pid) - base
            started = time.monotonic()
            child.send_signal(signal.SIGTERM)
            code = child.wait(timeout=15)
            stopped = time.monotonic() - started
    assert code == 128 + signal.SIGTERM and stopped < 10, (code, stopped)
    # Unbounded, 24 clients x (a reply unsent + the next one waiting) would be ~650 MB at this size.
    assert grown < 400, f"the mock grew by {grown:.0f} MB"


def test_the_cap_of_2_gib_is_applied_to_the_child() -> None:
    with mock_process() as (child, _url):
        limits = Path(f"/proc/{child.pid}/limits").read_text()
        assert re.search(r"Max address space\s+2147483648", limits), limits


def test_sigterm_unwinds_through_the_cleanup(tmp_path: Path) -> None:
    """uvicorn raises the SIGTERM again once shut down; it must end the mock only after the store is closed and the
    temporary data directory removed (it used to kill the process first, leaving /tmp/hume-mock-* behind)."""
    with mock_process(tmpdir=tmp_path) as (child, url):
        ask(url, HELLO)
        assert [path.name for path in tmp_path.iterdir() if path.name.startswith("hume-mock-")]
        child.send_signal(signal.SIGTERM)
        code = child.wait(timeout=15)
    assert code == 128 + signal.SIGTERM
    assert not list(tmp_path.iterdir())
