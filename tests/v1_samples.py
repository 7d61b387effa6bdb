"""Valid v1 bodies and sessions, hand-written from the docs' own examples (message flows of the reference pages),
for the v1 rule, reader and validate tests. Each function returns a fresh copy to mutate."""

from __future__ import annotations

import base64
import json
from typing import Any

AUDIO_CONFIG = {"type": "audio/pcm", "encoding": "s16le", "sample_rate": 16000, "channels": 1}
JPEG = b"\xff\xd8\xff\xe0" + bytes(200)


def score(name: str, probability: float) -> dict[str, Any]:
    return {"name": name, "probability": probability}


def audio_measurement(measurement_id: int, start: int, end: int, trigger: str = "interval") -> dict[str, Any]:
    return {
        "measurement_id": measurement_id,
        "utterance_id": 0,
        "audio_start_ms": start,
        "audio_end_ms": end,
        "trigger": trigger,
        "expressions": [score("interest", 0.6231), score("amusement", 0.4187)],
        "voice_attributes": [score("clear", 0.9612), score("calm", 0.9148)],
    }


def audio_file_response() -> dict[str, Any]:
    return {
        "request_id": "3f9a1c07e2b84d56a0c7e19b5d2f8a64",
        "run_id": "0f3a9c1e-2b4d-4e6f-8a0b-1c2d3e4f5a6b",
        "received": {"audio_duration_ms": 9000},
        "utterances": [{"utterance_id": 0, "audio_start_ms": 98, "audio_end_ms": 8000}],
        "measurements": [
            audio_measurement(0, 98, 3098),
            audio_measurement(1, 98, 6098),
            audio_measurement(2, 98, 8000, "speech_ended"),
        ],
    }


def measured_face(face_id: int, size: float, confidence: float = 0.99) -> dict[str, Any]:
    return {
        "face_id": face_id,
        "bbox": [10.0, 20.0, 10.0 + size, 20.0 + size],
        "confidence": confidence,
        "expressions": [score("amusement", 0.7124), score("joy", 0.5308)],
        "descriptions": [score("smile", 0.8419), score("grin", 0.3172)],
    }


def unmeasured_face(confidence: float) -> dict[str, Any]:
    return {
        "face_id": None,
        "bbox": [0.0, 0.0, 30.0, 30.0],
        "confidence": confidence,
        "expressions": None,
        "descriptions": None,
    }


def faces() -> list[dict[str, Any]]:
    return [measured_face(0, 200), measured_face(1, 120), unmeasured_face(0.97), unmeasured_face(0.93)]


def video_file_response() -> dict[str, Any]:
    return {
        "request_id": "r-1",
        "run_id": "0f3a9c1e-2b4d-4e6f-8a0b-1c2d3e4f5a6b",
        "received": {"frames": 2},
        "measurements": [{"frame_id": 0, "faces": faces()}, {"frame_id": 1, "faces": []}],
        "face_state": "opaque-state",
    }


def run(status: str = "ended") -> dict[str, Any]:
    return {
        "run_id": "0f3a9c1e-2b4d-4e6f-8a0b-1c2d3e4f5a6b",
        "user_id": "user-1",
        "status": status,
        "endpoint": "audio",
        "mode": "realtime",
        "started_at": "2026-10-07T12:00:00Z",
        "ended_at": None if status == "live" else "2026-10-07T12:05:00Z",
        "bytes_received": 9600000,
        "bytes_recorded": 9600000,
        "metered_seconds": 300.0,
        "close_code": 1000,
        "close_reason": "client_request",
        "config": {"schema": "v4", "audio": dict(AUDIO_CONFIG), "measurement_timer_ms": 3000},
    }


def run_summary(run_id: str, started_at: str, status: str = "ended") -> dict[str, Any]:
    summary = {key: value for key, value in run(status).items() if key not in ("close_code", "close_reason", "config")}
    return {**summary, "run_id": run_id, "started_at": started_at}


def runs_page() -> dict[str, Any]:
    return {
        "runs": [
            run_summary("1f3a9c1e-2b4d-4e6f-8a0b-1c2d3e4f5a6b", "2026-10-08T12:00:00Z", "live"),
            run_summary("2f3a9c1e-2b4d-4e6f-8a0b-1c2d3e4f5a6b", "2026-10-07T12:00:00Z"),
        ],
        "next_cursor": "opaque",
    }


def run_events_page() -> dict[str, Any]:
    return {
        "events": [
            {"seq": 1, "at": "2026-10-07T12:01:00Z", "kind": "rate_limited"},
            {"seq": 2, "at": "2026-10-07T12:02:00Z", "kind": "invalid_audio_frame", "detail": {"detail": "odd length"}},
        ],
        "at_cap": False,
        "capped_kinds": [],
        "gaps": False,
    }


def error_body() -> dict[str, Any]:
    return {
        "type": "error",
        "code": "config_invalid",
        "message": "the config part is not valid",
        "request_id": "3f9a1c07e2b84d56a0c7e19b5d2f8a64",
    }


# --------------------------------------------------------------------------------------------- sessions
# A session is a list of (direction, message) with message a dict (text) or bytes (binary).


def audio_session() -> list[tuple[str, Any]]:
    """The audio reference page's message flow, shortened: one utterance, closed by the client."""
    pcm = bytes(3200)
    return [
        (
            "received",
            {"type": "session.created", "session_id": "s-1", "audio": dict(AUDIO_CONFIG), "measurement_timer_ms": 3000},
        ),
        ("sent", {"type": "session.update", "measurement_timer_ms": 3000}),
        ("received", {"type": "session.updated", "audio": dict(AUDIO_CONFIG), "measurement_timer_ms": 3000}),
        ("sent", pcm),
        ("received", {"type": "utterance.start", "utterance_id": 0, "audio_start_ms": 98}),
        ("sent", pcm),
        ("received", {"type": "measurement.result", **audio_measurement(0, 98, 3098)}),
        ("received", {"type": "measurement.result", **audio_measurement(1, 98, 6098)}),
        ("sent", {"type": "session.close"}),
        ("received", {"type": "measurement.result", **audio_measurement(2, 98, 8000, "speech_ended")}),
        ("received", {"type": "utterance.end", "utterance_id": 0, "audio_start_ms": 98, "audio_end_ms": 8000}),
        (
            "received",
            {
                "type": "session.closed",
                "session_id": "s-1",
                "reason": "client_request",
                "received": {"audio_duration_ms": 8000, "frames": 2},
                "produced": {"utterances": 1, "measurements": 3},
            },
        ),
    ]


def video_session() -> list[tuple[str, Any]]:
    """The video reference page's flow: a rejected frame gets no frame_id; produced counts measured faces."""
    face_config = {"threshold": 0.9, "min_size": 60}
    return [
        (
            "received",
            {"type": "session.created", "session_id": "s-2", "image": {"type": "image/jpeg"}, "face": face_config},
        ),
        ("sent", {"type": "session.update", "face": {"threshold": 0.9}}),
        ("received", {"type": "session.updated", "image": {"type": "image/jpeg"}, "face": face_config}),
        ("sent", JPEG),
        ("received", {"type": "measurement.result", "frame_id": 0, "faces": faces()}),
        ("sent", b"\x89PNG not a jpeg"),
        ("received", {"type": "error", "code": "invalid_image_frame", "message": "not a JPEG", "retryable": True}),
        ("sent", JPEG),
        ("received", {"type": "measurement.result", "frame_id": 1, "faces": []}),
        ("sent", {"type": "session.close"}),
        (
            "received",
            {
                "type": "session.closed",
                "session_id": "s-2",
                "reason": "client_request",
                "received": {"frames": 2},
                "produced": {"measurements": 2},
            },
        ),
    ]


def har_records(session: list[tuple[str, Any]], close: bool = True) -> list[dict[str, Any]]:
    """The session as HAR ``_webSocketMessages`` entries (binary base64, and a close frame)."""
    records = []
    for direction, message in session:
        kind = "send" if direction == "sent" else "receive"
        if isinstance(message, bytes):
            records.append({"type": kind, "time": 0, "opcode": 2, "data": base64.b64encode(message).decode()})
        else:
            records.append({"type": kind, "time": 0, "opcode": 1, "data": json.dumps(message)})
    if close:
        records.append({"type": "receive", "time": 0, "opcode": 8, "code": 1000, "reason": ""})
    return records


def har(path: str, session: list[tuple[str, Any]]) -> dict[str, Any]:
    entry = {
        "request": {"method": "GET", "url": f"wss://api.cloud.hume.ai{path}", "headers": []},
        "response": {"status": 101, "headers": [], "content": {"size": 0, "mimeType": ""}},
        "_webSocketMessages": har_records(session),
    }
    return {"log": {"version": "1.2", "creator": {"name": "tests", "version": "1"}, "entries": [entry]}}
