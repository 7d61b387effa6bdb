"""Hostile input on the v1 routes, and a mock killed mid-session: documented errors, bounded work, no lost run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import API_KEY, fast_config
from mock_v1_media import pcm
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from mockserver import MockHandle, running_mock

KEY = {"X-Hume-Api-Key": API_KEY}
REPO = Path(__file__).resolve().parent.parent
CLOSE = json.dumps({"type": "session.close"})


@pytest.fixture
def mock(tmp_path: Path):
    with running_mock(fast_config(data_dir=tmp_path)) as handle:
        yield handle


def ws_url(host: str, port: int, endpoint: str) -> str:
    return f"ws://{host}:{port}/v1/expression/{endpoint}/realtime"


def drain(ws) -> list[dict]:  # noqa: ANN001
    out = []
    try:
        while True:
            out.append(json.loads(ws.recv(timeout=30)))
    except ConnectionClosed:
        return out


@pytest.mark.parametrize(
    "config",
    [b'{"measurement_timer_ms": NaN}', b'{"measurement_timer_ms": 1e400}', b'{"x": "\\ud800"}', b"[" * 5000],
    ids=["nan", "overflow", "lone-surrogate", "deep"],
)
def test_values_json_cannot_carry_are_config_invalid(mock: MockHandle, config: bytes) -> None:
    files = [("config", (None, config, "application/json")), ("file", ("a", pcm((500, True)), "audio/wav"))]
    response = httpx.post(mock.base_url + "/v1/expression/audio/file", headers=KEY, files=files)
    assert response.status_code == 400 and response.json()["code"] == "config_invalid"


def test_values_json_cannot_carry_in_a_session_are_message_invalid(mock: MockHandle) -> None:
    with connect(ws_url(mock.host, mock.port, "audio"), additional_headers=KEY) as ws:
        ws.recv(timeout=10)
        ws.send('{"type": "session.update", "measurement_timer_ms": NaN}')
        ws.send('{"type": "session.update", "x": "\\ud800"}')
        ws.send(CLOSE)
        messages = drain(ws)
    assert [m.get("code") for m in messages[:2]] == ["message_invalid", "message_invalid"]
    assert messages[-1]["reason"] == "client_request"


@pytest.mark.slow
def test_ten_thousand_tiny_frames_are_answered_and_the_log_is_capped(mock: MockHandle) -> None:
    with connect(ws_url(mock.host, mock.port, "audio"), additional_headers=KEY) as ws:
        run_id = json.loads(ws.recv(timeout=10))["session_id"]
        sender = threading.Thread(target=lambda: [ws.send(b"\x01") for _ in range(10_000)] and ws.send(CLOSE))
        sender.start()  # send and read at once: the server's replies would otherwise fill the pipes
        messages = drain(ws)
        sender.join()
    assert [m.get("code") for m in messages[:-1]] == ["invalid_audio_frame"] * 10_000
    assert messages[-1]["type"] == "session.closed"
    log = httpx.get(f"{mock.base_url}/v1/expression/run/{run_id}/events", headers=KEY, params={"page_size": 200})
    body = log.json()
    assert len(body["events"]) == 100 and body["at_cap"] and body["capped_kinds"] == ["invalid_audio_frame"]


@pytest.mark.slow
def test_a_flood_from_many_sessions_leaves_a_real_time_session_unharmed(mock: MockHandle) -> None:
    def flood() -> None:
        with connect(ws_url(mock.host, mock.port, "audio"), additional_headers=KEY) as ws:
            ws.recv(timeout=10)
            sender = threading.Thread(target=lambda: [ws.send(bytes(3200)) for _ in range(2000)] and ws.send(CLOSE))
            sender.start()
            drain(ws)
            sender.join()

    flooders = [threading.Thread(target=flood) for _ in range(4)]
    for thread in flooders:
        thread.start()
    speech = pcm((100, False), (1800, True), (600, False))
    with connect(ws_url(mock.host, mock.port, "audio"), additional_headers=KEY) as ws:
        ws.recv(timeout=10)
        for start in range(0, len(speech), 3200):
            ws.send(speech[start : start + 3200])
            time.sleep(0.1)
        ws.send(CLOSE)
        messages = drain(ws)
    for thread in flooders:
        thread.join(timeout=120)
    assert [m["type"] for m in messages] == ["utterance.start", "measurement.result", "utterance.end",
                                             "session.closed"]  # fmt: skip
    assert messages[-1]["received"] == {"audio_duration_ms": 2500, "frames": 25}


def test_sessions_past_the_cap_are_refused_at_the_handshake_and_freed_later(tmp_path: Path) -> None:
    with (
        running_mock(fast_config(data_dir=tmp_path, max_realtime_sessions=2)) as mock,
        connect(ws_url(mock.host, mock.port, "video"), additional_headers=KEY) as second,
    ):
        with connect(ws_url(mock.host, mock.port, "audio"), additional_headers=KEY) as first:
            for ws in (first, second):
                ws.recv(timeout=10)  # session.created: both slots taken
            with pytest.raises(InvalidStatus) as refused:
                connect(ws_url(mock.host, mock.port, "audio"), additional_headers=KEY)
            first.send(CLOSE)
            drain(first)
        deadline = time.monotonic() + 5
        while True:  # the slot is given back once the first session's run is finished
            try:
                with connect(ws_url(mock.host, mock.port, "audio"), additional_headers=KEY) as third:
                    created = json.loads(third.recv(timeout=10))
                break
            except InvalidStatus:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    response = refused.value.response
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert json.loads(response.body)["code"] == "server_busy" and created["type"] == "session.created"


def _start_mock(data_dir: Path) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "HUME_API_KEY": API_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "--port", "0", "--data-dir", str(data_dir)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    banner = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
    assert match, banner + process.stderr.read()
    port = int(match.group(1))
    deadline = time.monotonic() + 20
    while True:  # the banner comes when the port is bound, a moment before it accepts
        try:
            httpx.get(f"http://127.0.0.1:{port}/v1/expression/run", headers=KEY)
            return process, port
        except httpx.ConnectError:
            assert time.monotonic() < deadline, "the mock did not start accepting"
            time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_mid_session_loses_no_finished_run(tmp_path: Path) -> None:
    process, port = _start_mock(tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        finished = httpx.post(base + "/v1/expression/audio/file", headers=KEY,
                              files=[("file", ("a", pcm((1000, True)), "audio/wav"))]).json()["run_id"]  # fmt: skip
        with connect(ws_url("127.0.0.1", port, "audio"), additional_headers=KEY) as ws:
            live = json.loads(ws.recv(timeout=10))["session_id"]
            for _ in range(3):
                ws.send(pcm((500, True)))
                time.sleep(0.6)  # past the 1 s counter flush
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
    finally:
        process.kill()
        process.communicate(timeout=10)
    process, port = _start_mock(tmp_path)
    try:
        runs = {run["run_id"]: run for run in httpx.get(f"http://127.0.0.1:{port}/v1/expression/run",
                                                        headers=KEY).json()["runs"]}  # fmt: skip
        lost = httpx.get(f"http://127.0.0.1:{port}/v1/expression/run/{live}", headers=KEY).json()
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert runs[finished]["status"] == "ended"
    assert (lost["status"], lost["close_code"], lost["close_reason"]) == ("errored", 1011, "error")
    assert lost["bytes_received"] >= 16_000 and lost["metered_seconds"] == 10.0 and lost["ended_at"]
