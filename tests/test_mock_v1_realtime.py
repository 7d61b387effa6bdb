"""The v1 mock's realtime sessions: the documented protocol, message by message."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import API_KEY, fast_config
from mock_v1_media import face_jpeg, pcm, plain_jpeg
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from mockserver import MockHandle, running_mock
from strategies.media import make_png

KEY = {"X-Hume-Api-Key": API_KEY}


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[MockHandle]:
    with running_mock(fast_config(data_dir=tmp_path)) as handle:
        yield handle


def session(mock: MockHandle, endpoint: str) -> ClientConnection:
    url = f"ws://{mock.host}:{mock.port}/v1/expression/{endpoint}/realtime"
    return connect(url, additional_headers=KEY, max_size=2**22, open_timeout=10)


def recv(ws: ClientConnection) -> dict:
    return json.loads(ws.recv(timeout=10))


def rest(ws: ClientConnection) -> list[dict]:
    """Every message until the server closes."""
    out = []
    try:
        while True:
            out.append(recv(ws))
    except ConnectionClosed:
        return out


def run_of(mock: MockHandle, run_id: str) -> dict:
    return httpx.get(f"{mock.base_url}/v1/expression/run/{run_id}", headers=KEY).json()


def events_of(mock: MockHandle, run_id: str, **params: object) -> dict:
    return httpx.get(f"{mock.base_url}/v1/expression/run/{run_id}/events", headers=KEY, params=params).json()


def test_handshake_without_a_valid_key_is_401(mock: MockHandle) -> None:
    for headers in ({}, {"X-Hume-Api-Key": "wrong"}):
        url = f"ws://{mock.host}:{mock.port}/v1/expression/audio/realtime"
        with pytest.raises(InvalidStatus) as refused:
            connect(url, additional_headers=headers, open_timeout=10)
        assert refused.value.response.status_code == 401


def test_audio_session_flow_and_its_run(mock: MockHandle) -> None:
    with session(mock, "audio") as ws:
        created = recv(ws)
        assert created["type"] == "session.created" and created["measurement_timer_ms"] == 3000
        ws.send(json.dumps({"type": "session.update", "measurement_timer_ms": 4000}))
        assert recv(ws) == {"type": "session.updated", "audio": created["audio"], "measurement_timer_ms": 4000}
        audio = pcm((500, False), (5000, True), (700, False), (1000, True))
        for start in range(0, len(audio), 32_000):  # 1 s frames: within the 10 s allowance
            ws.send(audio[start : start + 32_000])
        ws.send(json.dumps({"type": "session.close"}))
        messages = rest(ws)
    assert [m["type"] for m in messages] == [
        "utterance.start", "measurement.result", "measurement.result", "utterance.end",
        "utterance.start", "measurement.result", "utterance.end", "session.closed",
    ]  # fmt: skip
    start0, interval, ended0, end0, start1, ended1, end1, closed = messages
    assert (start0["utterance_id"], start0["audio_start_ms"]) == (0, 500)
    assert (interval["audio_start_ms"], interval["audio_end_ms"], interval["trigger"]) == (500, 4500, "interval")
    assert (ended0["audio_end_ms"], ended0["trigger"]) == (5500, "speech_ended")
    assert end0 == {"type": "utterance.end", "utterance_id": 0, "audio_start_ms": 500, "audio_end_ms": 5500}
    assert [m["measurement_id"] for m in (interval, ended0, ended1)] == [0, 1, 2]
    assert (start1["utterance_id"], end1["audio_start_ms"], end1["audio_end_ms"]) == (1, 6200, 7200)
    assert closed["reason"] == "client_request" and closed["session_id"] == created["session_id"]
    assert closed["received"] == {"audio_duration_ms": 7200, "frames": 8}
    assert closed["produced"] == {"utterances": 2, "measurements": 3}
    run = run_of(mock, created["session_id"])
    assert (run["status"], run["mode"], run["close_code"], run["close_reason"]) == ("ended", "realtime", 1000,
                                                                                     "client_request")  # fmt: skip
    assert run["config"]["measurement_timer_ms"] == 4000 and run["metered_seconds"] == 10.0


def test_a_session_file_and_upload_measure_the_same_audio_alike(mock: MockHandle) -> None:
    audio = pcm((300, False), (4500, True), (700, False))
    upload = httpx.post(f"{mock.base_url}/v1/expression/audio/file", headers=KEY,
                        files=[("file", ("a", audio, "audio/wav"))]).json()  # fmt: skip
    with session(mock, "audio") as ws:
        recv(ws)
        ws.send(audio)
        ws.send(json.dumps({"type": "session.close"}))
        streamed = [{k: v for k, v in m.items() if k != "type"} for m in rest(ws) if m["type"] == "measurement.result"]
    assert streamed == upload["measurements"]


@pytest.mark.parametrize("update", [{"audio": {"sample_rate": 8000}}, {"measurement_timer_ms": 100},
                                    {"timer_ms": 3000}])  # fmt: skip
def test_an_invalid_update_ends_the_session_with_config_invalid(mock: MockHandle, update: dict) -> None:
    with session(mock, "audio") as ws:
        created = recv(ws)
        ws.send(json.dumps({"type": "session.update", **update}))
        error, closed = rest(ws)
        assert ws.close_code == 1008
    assert error["code"] == "config_invalid" and error["retryable"] is False
    assert closed["type"] == "session.closed" and closed["reason"] == "error"
    assert run_of(mock, created["session_id"])["status"] == "errored"


def test_update_after_media_ends_the_session(mock: MockHandle) -> None:
    with session(mock, "audio") as ws:
        recv(ws)
        ws.send(pcm((100, False)))
        ws.send(json.dumps({"type": "session.update"}))
        error, closed = rest(ws)
    assert error["code"] == "config_invalid" and closed["reason"] == "error"


def test_invalid_frames_are_survived_and_logged(mock: MockHandle) -> None:
    with session(mock, "audio") as ws:
        run_id = recv(ws)["session_id"]
        for frame in (b"", b"\x01\x02\x03", bytes(320_002)):
            ws.send(frame)
            error = recv(ws)
            assert (error["code"], error["retryable"]) == ("invalid_audio_frame", True)
        ws.send(json.dumps({"type": "bogus"}))
        assert recv(ws)["code"] == "message_invalid"
        ws.send(bytes(320_000))  # exactly 10 s: accepted
        ws.send(json.dumps({"type": "session.close"}))
        (closed,) = rest(ws)
    assert closed["received"] == {"audio_duration_ms": 10_000, "frames": 1}
    first = events_of(mock, run_id, page_size=2)
    assert [e["seq"] for e in first["events"]] == [1, 2] and first["next_cursor"]
    second = events_of(mock, run_id, page_size=2, cursor=first["next_cursor"])
    assert [e["seq"] for e in second["events"]] == [3] and "next_cursor" not in second
    assert {e["kind"] for e in first["events"] + second["events"]} == {"invalid_audio_frame"}


@pytest.mark.parametrize(("endpoint", "limit"), [("audio", 1_048_576), ("video", 2_000_000)])
def test_a_message_over_the_limit_ends_the_session(mock: MockHandle, endpoint: str, limit: int) -> None:
    with session(mock, endpoint) as ws:
        run_id = recv(ws)["session_id"]
        ws.send(b"\xff\xd8\xff" + bytes(limit))
        error, closed = rest(ws)
        assert ws.close_code == 1008
    assert (error["code"], error["retryable"], closed["reason"]) == ("message_too_large", False, "error")
    assert events_of(mock, run_id)["events"][0]["detail"] == {"limit_bytes": limit}


def test_audio_faster_than_real_time_is_rate_limited(mock: MockHandle) -> None:
    with session(mock, "audio") as ws:
        recv(ws)
        for _ in range(20):  # 20 s of silence at once; the allowance is 10 s plus real time
            ws.send(bytes(32_000))
        ws.send(json.dumps({"type": "session.close"}))
        messages = rest(ws)
    limited = [m for m in messages if m.get("code") == "rate_limited"]
    assert len(limited) >= 1 and limited[0]["retryable"] is True
    assert messages[-1]["received"]["frames"] == 20 - len(limited)


def test_idle_session_ends_with_idle_timeout(mock: MockHandle) -> None:
    mock.app.state.v1.settings.idle_timeout_s = 0.3
    with session(mock, "audio") as ws:
        recv(ws)
        (closed,) = rest(ws)
        assert ws.close_code == 1000
    assert closed["reason"] == "idle_timeout"


def test_video_one_reply_per_frame_and_frame_id_counts_results(mock: MockHandle) -> None:
    with session(mock, "video") as ws:
        created = recv(ws)
        assert created["face"] == {"threshold": 0.9, "min_size": 60} and created["image"] == {"type": "image/jpeg"}
        ws.send(json.dumps({"type": "session.update", "face": {"threshold": 0.5}}))
        assert recv(ws)["face"] == {"threshold": 0.5, "min_size": 60}
        replies = []
        for frame in (face_jpeg(), make_png(128, 128).data, plain_jpeg(), face_jpeg()):
            ws.send(frame)
            replies.append(recv(ws))
            time.sleep(0.34)  # 3 frames a second at most
        ws.send(json.dumps({"type": "session.close"}))
        (closed,) = rest(ws)
    assert [r["type"] for r in replies] == ["measurement.result", "error", "measurement.result", "measurement.result"]
    assert replies[1]["code"] == "invalid_image_frame"
    assert [r["frame_id"] for r in replies if r["type"] == "measurement.result"] == [0, 1, 2]
    assert len(replies[0]["faces"]) == 1 and replies[2]["faces"] == [] and replies[3]["faces"][0]["face_id"] == 0
    assert closed["received"] == {"frames": 3} and closed["produced"] == {"measurements": 2}
    run = run_of(mock, created["session_id"])
    assert run["config"]["face"] == {"threshold": 0.5, "min_size": 60}


def test_video_over_three_frames_a_second_is_rate_limited(mock: MockHandle) -> None:
    with session(mock, "video") as ws:
        recv(ws)
        for _ in range(12):  # a burst of 6 is let through (frames queued while the mock was busy), then 3 a second
            ws.send(plain_jpeg())
        replies = [recv(ws) for _ in range(12)]
    assert [r.get("code") for r in replies].count("rate_limited") >= 4


def test_five_failed_frames_in_a_row_end_a_video_session(mock: MockHandle) -> None:
    whole = face_jpeg()
    broken = whole[: len(whole) // 2]  # its header reads; its pixels cannot be decoded
    with session(mock, "video") as ws:
        run_id = recv(ws)["session_id"]
        for _ in range(4):
            ws.send(broken)
            assert recv(ws)["code"] == "internal_error"
            time.sleep(0.34)
        ws.send(broken)
        error, closed = rest(ws)
    assert (error["code"], error["retryable"], closed["reason"]) == ("internal_error", False, "error")
    kinds = [e["kind"] for e in events_of(mock, run_id)["events"]]
    assert kinds == ["inference_failed"] * 5


def test_a_vanished_client_leaves_an_errored_run(mock: MockHandle) -> None:
    with session(mock, "audio") as ws:
        run_id = recv(ws)["session_id"]
        ws.send(pcm((1000, True)))
        ws.socket.shutdown(socket.SHUT_RDWR)  # no close frame
        ws.socket.close()
    deadline = time.monotonic() + 10
    while run_of(mock, run_id)["status"] == "live" and time.monotonic() < deadline:
        time.sleep(0.05)
    run = run_of(mock, run_id)
    assert (run["status"], run["close_code"], run["close_reason"]) == ("errored", 1011, "error")
    assert run["bytes_received"] == 32_000 and run["metered_seconds"] == 10.0


def test_a_mock_shutting_down_closes_sessions_with_1012_and_records_why(tmp_path: Path) -> None:
    serving = running_mock(fast_config(data_dir=tmp_path))
    handle = serving.__enter__()
    with session(handle, "audio") as ws:
        run_id = recv(ws)["session_id"]
        ws.send(pcm((100, False)))
        time.sleep(0.1)
        serving.__exit__(None, None, None)  # the mock stops while the session is open
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
        assert ws.close_code == 1012  # the SDK reconnects on 1012
    with running_mock(fast_config(data_dir=tmp_path)) as again:
        run = run_of(again, run_id)
    assert (run["status"], run["close_code"], run["close_reason"]) == ("ended", 1012, "server_shutdown")
