"""The reference mock's stream endpoint over a real WebSocket on loopback (websockets' sync client)."""

from __future__ import annotations

import base64
import io
import json
import wave
from typing import Any

import pytest
from conftest import API_KEY
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from contracts.validation import validate_body
from mockserver import MockHandle
from mockserver.names import EXPRESSION_EMOTIONS, LANGUAGE_EMOTIONS
from strategies.media import make_png, make_wav

HEADERS = {"X-Hume-Api-Key": API_KEY}
FACE = {"face": {}}
TEXT = "I met Maria in Paris. It was lovely!"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def exchange(mock: MockHandle, payloads: list[dict[str, Any] | str]) -> list[dict[str, Any]]:
    """Send each payload on one connection and collect the one reply frame each gets."""
    replies = []
    with connect(mock.stream_url, additional_headers=HEADERS, open_timeout=5, close_timeout=2) as ws:
        for payload in payloads:
            ws.send(payload if isinstance(payload, str) else json.dumps(payload))
            replies.append(json.loads(ws.recv(timeout=5)))
    return replies


def ask(mock: MockHandle, payload: dict[str, Any] | str) -> dict[str, Any]:
    return exchange(mock, [payload])[0]


def silent_wav(duration_ms: int = 500, frames: int | None = None) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(bytes(2 * (frames if frames is not None else duration_ms * 8)))
    return buffer.getvalue()


def assert_valid_reply(reply: dict[str, Any]) -> None:
    assert validate_body(reply, "stream-message") == [], reply


# -- predictions -----------------------------------------------------------------------------------------


def test_an_image_with_a_face_gets_face_predictions(mock_server: MockHandle) -> None:
    image = make_png(200, 150)
    reply = ask(mock_server, {"data": b64(image.data), "models": FACE, "payload_id": "p-1", "job_details": True})
    assert_valid_reply(reply)
    assert list(reply) == ["payload_id", "job_details", "face"]
    assert reply["payload_id"] == "p-1"
    job_id = reply["job_details"]["job_id"]
    assert len(job_id) == 32 and int(job_id, 16) >= 0
    [face] = reply["face"]["predictions"]
    box = face["bbox"]
    assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["w"] <= 200 and box["y"] + box["h"] <= 150
    assert (face["frame"], face["time"], face["face_id"], face["facs"]) == (0.0, 0.0, "unknown", None)
    assert [e["name"] for e in face["emotions"]] == list(EXPRESSION_EMOTIONS)
    assert all(0 <= e["score"] <= 1 for e in face["emotions"])


def test_an_image_without_a_face_gets_the_w0103_warning(mock_server: MockHandle) -> None:
    reply = ask(mock_server, {"data": b64(make_png(face=False).data), "models": FACE})
    assert reply == {"face": {"warning": "No faces detected.", "code": "W0103"}}
    assert_valid_reply(reply)


@pytest.mark.parametrize("granularity, expected", [("word", TEXT.split()), ("passage", [TEXT])])
def test_raw_text_gets_language_predictions_that_index_it(
    mock_server: MockHandle, granularity: str, expected: list[str]
) -> None:
    models = {"language": {"granularity": granularity, "sentiment": {}}}
    reply = ask(mock_server, {"data": TEXT, "raw_text": True, "models": models})
    assert_valid_reply(reply)
    items = reply["language"]["predictions"]
    assert [item["text"] for item in items] == expected
    for item in items:
        assert TEXT[item["position"]["begin"] : item["position"]["end"]] == item["text"]
        assert [e["name"] for e in item["emotions"]] == list(LANGUAGE_EMOTIONS)
        assert len(item["sentiment"]) == 9 and item["toxicity"] is None


def test_audio_gets_prosody_and_burst_inside_its_duration(mock_server: MockHandle) -> None:
    reply = ask(mock_server, {"data": b64(make_wav(1200).data), "models": {"prosody": {}, "burst": {}}})
    assert_valid_reply(reply)
    for model in ("prosody", "burst"):
        [item] = reply[model]["predictions"]
        assert 0 <= item["time"]["begin"] <= item["time"]["end"] <= 1.2


def test_silent_audio_has_no_vocal_burst(mock_server: MockHandle) -> None:
    reply = ask(mock_server, {"data": b64(silent_wav()), "models": {"burst": {}}})
    assert reply == {"burst": {"warning": "No vocal bursts detected.", "code": "W0101"}}


def test_facemesh_landmarks_as_the_sdk_and_older_clients_send_them(mock_server: MockHandle) -> None:
    landmarks = json.dumps([[[0.1, 0.2, 0.3]] * 478] * 2)
    sdk, legacy = exchange(
        mock_server,
        [
            {"data": landmarks, "models": {"facemesh": {}}},  # hume 0.13: plain JSON
            {"data": b64(landmarks.encode()), "models": {"facemesh": {}}},  # legacy SDK: base64 of the JSON
        ],
    )
    assert sdk == legacy
    assert len(sdk["facemesh"]["predictions"]) == 2
    assert_valid_reply(sdk)


def test_models_are_remembered_across_payloads(mock_server: MockHandle) -> None:
    first, second = exchange(
        mock_server, [{"data": b64(make_png().data), "models": FACE}, {"data": b64(make_png().data)}]
    )
    assert first == second and "face" in second


def test_job_details_alone_and_reset_alone(mock_server: MockHandle) -> None:
    details, again, reset = exchange(
        mock_server, [{"job_details": True}, {"job_details": True}, {"reset_stream": True}]
    )
    assert list(details) == ["job_details"] and details == again
    assert reset == {}
    other = ask(mock_server, {"job_details": True})
    assert other["job_details"]["job_id"] != details["job_details"]["job_id"]


# -- errors ----------------------------------------------------------------------------------------------

ERROR_CASES = {
    "bad json": ("{not json", "E0100"),
    "not an object": ("[1, 2]", "E0101"),
    "unknown field": ({"data": "x", "raw_text": True, "models": {"language": {}}, "colour": 1}, "E0101"),
    "window too small": ({"job_details": True, "stream_window_ms": 100}, "E0101"),
    "unknown model": ({"data": "x", "raw_text": True, "models": {"ner": {}}}, "E0101"),
    "no models yet": ({"data": "x", "raw_text": True}, "E0101"),
    "bad base64": ({"data": "%%%not-base64", "models": FACE}, "E0201"),
    "model/type mismatch": ({"data": b64(make_png().data), "models": {"prosody": {}}}, "E0102"),
    "audio too long": ({"data": b64(make_wav(5200, sample_rate=8000).data), "models": {"prosody": {}}}, "E0203"),
    "image too large": ({"data": b64(make_png(3001, 8, face=False).data), "models": FACE}, "E0205"),
    "no audio": ({"data": b64(silent_wav(frames=0)), "models": {"prosody": {}}}, "E0202"),
    "unreadable media": ({"data": b64(b"\x00\x01\x02\x03 not media"), "models": FACE}, "E0200"),
    "bad facemesh": ({"data": "[[[1, 2]]]", "models": {"facemesh": {}}}, "E0101"),
    "truncated image": ({"data": b64(make_png().data[:60]), "models": FACE}, "E0200"),
}


@pytest.mark.parametrize("payload, code", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_bad_payloads_get_error_frames_with_hume_codes(mock_server: MockHandle, payload: Any, code: str) -> None:
    reply = ask(mock_server, payload)
    assert reply["code"] == code, reply
    assert isinstance(reply["error"], str) and reply["error"]
    assert_valid_reply(reply)


def test_model_mismatch_uses_hume_wording_and_echoes_the_payload_id(mock_server: MockHandle) -> None:
    reply = ask(mock_server, {"data": b64(make_png().data), "models": {"prosody": {}}, "payload_id": "p-9"})
    assert reply == {
        "error": "Streaming payload configured with model type 'prosody', which is not supported for the "
        "detected file type 'image'.",
        "code": "E0102",
        "payload_id": "p-9",
    }


def test_a_binary_frame_gets_an_error_not_a_crash(mock_server: MockHandle) -> None:
    with connect(mock_server.stream_url, additional_headers=HEADERS) as ws:
        ws.send(b"\x00\x01binary")
        assert json.loads(ws.recv(timeout=5))["code"] == "E0100"
        ws.send(json.dumps({"job_details": True}))
        assert "job_details" in json.loads(ws.recv(timeout=5))


def test_ten_identical_errors_close_the_connection(mock_server: MockHandle) -> None:
    mismatch = json.dumps({"data": b64(make_png().data), "models": {"prosody": {}}})
    with connect(mock_server.stream_url, additional_headers=HEADERS) as ws:
        for _ in range(9):
            ws.send(mismatch)
            assert json.loads(ws.recv(timeout=5))["code"] == "E0102"
        ws.send("{bad json")  # a different error does not count towards the same ten
        assert json.loads(ws.recv(timeout=5))["code"] == "E0100"
        ws.send(mismatch)
        assert json.loads(ws.recv(timeout=5))["code"] == "E0102"  # the tenth is still answered...
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)  # ...then the server closes
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "E0102" in closed.value.rcvd.reason


def test_huge_and_deeply_nested_frames_are_answered(mock_server: MockHandle) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    big_text = {"data": "word " * 3000, "raw_text": True, "models": {"language": {"granularity": "passage"}}}
    nested, text = exchange(mock_server, [deep, big_text])
    assert nested["code"] in ("E0100", "E0101")
    assert text["code"] == "E0101" and "10000" in text["error"]


# -- auth ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?apikey=wrong", "?apiKey="])
def test_handshake_without_a_valid_key_is_refused_with_401(mock_server: MockHandle, query: str) -> None:
    with pytest.raises(InvalidStatus) as refused, connect(mock_server.stream_url + query, open_timeout=5):
        pass
    assert refused.value.response.status_code == 401


@pytest.mark.parametrize("query", [f"?apikey={API_KEY}", f"?apiKey={API_KEY}"])
def test_the_key_may_come_as_a_query_parameter(mock_server: MockHandle, query: str) -> None:
    with connect(mock_server.stream_url + query, open_timeout=5) as ws:
        ws.send(json.dumps({"job_details": True}))
        assert "job_details" in json.loads(ws.recv(timeout=5))
