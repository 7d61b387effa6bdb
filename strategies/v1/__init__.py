"""Hypothesis strategies for every valid v1 body and server message kind.

Every value drawn keeps every promise the v1 contract states (its schema and the rules of
``contracts.apis.v1``): scores sorted and past their thresholds, four decimals, counters from 0, windows inside
their utterances, faces in their documented order. Names come from the known (incomplete) label lists, so a
drawn body never holds an addition. ``BODIES`` and ``SERVER_MESSAGES`` map each kind to its strategy.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

import openapi.v1

TIMER_MS = 3000  # the default measurement interval
MAX_WINDOW_MS = 10_000
AUDIO_CONFIG = {"type": "audio/pcm", "encoding": "s16le", "sample_rate": 16000, "channels": 1}
THRESHOLD = 0.9  # the default face detection threshold

_NAMES = openapi.v1.load_names()
_LISTS = {
    "audio-expressions": _NAMES["audio_expression_names"]["names"],
    "voice-attributes": _NAMES["voice_attribute_names"]["names"],
    "face-expressions": _NAMES["video_expression_names"]["names"],
    "face-descriptions": _NAMES["video_description_names"]["names"],
}
# Lowest probability each array lists, in ten-thousandths: voice attributes at 0.725 or above, face scores above 0.1.
_FLOOR = {"audio-expressions": 0, "voice-attributes": 7250, "face-expressions": 1001, "face-descriptions": 1001}

ids = st.text(alphabet="0123456789abcdef", min_size=8, max_size=32)
uuids = st.uuids().map(str)
times = st.datetimes(min_value=datetime(2026, 10, 6), max_value=datetime(2027, 12, 31))


@st.composite
def scores(draw: Any, array: str) -> list[dict[str, Any]]:
    """A score list: distinct known names, four-decimal probabilities past the array's floor, by descending
    probability (face lists break ties by name)."""
    names = draw(st.lists(st.sampled_from(_LISTS[array]), unique=True, max_size=len(_LISTS[array])))
    values = draw(st.lists(st.integers(_FLOOR[array], 10_000), min_size=len(names), max_size=len(names)))
    pairs = sorted(zip(values, names, strict=True), key=lambda pair: (-pair[0], pair[1]))
    return [{"name": name, "probability": value / 10_000} for value, name in pairs]


def _utterance_measurements(draw: Any, utterance_id: int, start: int, end: int, first_id: int) -> list[dict[str, Any]]:
    """An utterance's measurements: one every TIMER_MS of speech, then speech_ended unless the last one ended
    under a second before; each window at most the latest 10 s."""
    ends = list(range(start + TIMER_MS, end, TIMER_MS))
    triggers = ["interval"] * len(ends)
    if not ends or end - ends[-1] >= 1000:
        ends.append(end)
        triggers.append("speech_ended")
    return [
        {
            "measurement_id": first_id + index,
            "utterance_id": utterance_id,
            "audio_start_ms": max(start, window_end - MAX_WINDOW_MS),
            "audio_end_ms": window_end,
            "trigger": trigger,
            "expressions": draw(scores("audio-expressions")),
            "voice_attributes": draw(scores("voice-attributes")),
        }
        for index, (window_end, trigger) in enumerate(zip(ends, triggers, strict=True))
    ]


@st.composite
def utterance_spans(draw: Any) -> list[tuple[int, int]]:
    spans, at = [], draw(st.integers(0, 2000))
    for _ in range(draw(st.integers(0, 3))):
        duration = draw(st.integers(200, 25_000))
        spans.append((at, at + duration))
        at += duration + draw(st.integers(100, 3000))
    return spans


@st.composite
def audio_file_responses(draw: Any) -> dict[str, Any]:
    spans = draw(utterance_spans())
    measurements: list[dict[str, Any]] = []
    for utterance_id, (start, end) in enumerate(spans):
        measurements += _utterance_measurements(draw, utterance_id, start, end, len(measurements))
    return {
        "request_id": draw(ids),
        "run_id": draw(uuids),
        "received": {"audio_duration_ms": (spans[-1][1] if spans else 0) + draw(st.integers(0, 5000))},
        "utterances": [
            {"utterance_id": index, "audio_start_ms": start, "audio_end_ms": end}
            for index, (start, end) in enumerate(spans)
        ],
        "measurements": measurements,
    }


@st.composite
def faces(draw: Any, threshold: float = THRESHOLD) -> list[dict[str, Any]]:
    """Measured faces first, largest first; then unmeasured ones, most confident first; at most 32."""
    measured = draw(st.integers(0, 3))
    unmeasured = draw(st.integers(0, 4))
    sizes = sorted(draw(st.lists(st.integers(60, 2000), min_size=measured, max_size=measured)), reverse=True)
    low = int(threshold * 10_000)
    confidences = sorted(
        draw(st.lists(st.integers(low, 10_000), min_size=unmeasured, max_size=unmeasured)), reverse=True
    )
    listed = []
    for face_id, size in enumerate(sizes):
        x, y = draw(st.integers(0, 2000)), draw(st.integers(0, 2000))
        listed.append(
            {
                "face_id": face_id,
                "bbox": [float(x), float(y), float(x + size), float(y + size)],
                "confidence": draw(st.integers(low, 10_000)) / 10_000,
                "expressions": draw(scores("face-expressions")),
                "descriptions": draw(scores("face-descriptions")),
            }
        )
    for confidence in confidences:
        x, y = draw(st.integers(0, 2000)), draw(st.integers(0, 2000))
        listed.append(
            {
                "face_id": None,
                "bbox": [float(x), float(y), float(x + 40), float(y + 40)],
                "confidence": confidence / 10_000,
                "expressions": None,
                "descriptions": None,
            }
        )
    return listed


@st.composite
def video_file_responses(draw: Any) -> dict[str, Any]:
    images = draw(st.integers(0, 4))
    body = {
        "request_id": draw(ids),
        "run_id": draw(uuids),
        "received": {"frames": images},
        "measurements": [{"frame_id": index, "faces": draw(faces())} for index in range(images)],
    }
    if draw(st.booleans()):
        body["face_state"] = draw(ids)
    return body


def _rfc3339(moment: Any) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


@st.composite
def run_summaries(draw: Any, started: Any = None) -> dict[str, Any]:
    status = draw(st.sampled_from(["live", "ended", "errored"]))
    started = started or draw(times)
    summary = {
        "run_id": draw(uuids),
        "user_id": draw(ids),
        "status": status,
        "endpoint": draw(st.sampled_from(["audio", "video"])),
        "mode": draw(st.sampled_from(["realtime", "file"])),
        "started_at": _rfc3339(started),
        "ended_at": None if status == "live" else _rfc3339(started + timedelta(minutes=5)),
        # at least 10 s once a run that took in media is over (0 for a failed file request)
        "metered_seconds": draw(
            st.just(0) | st.integers(0, 100_000) if status == "live" else st.just(0) | st.integers(100, 100_000)
        )
        / 10,
    }
    for key in ("bytes_received", "bytes_recorded"):
        if draw(st.booleans()):
            summary[key] = draw(st.none() | st.integers(0, 10**9))
    return summary


@st.composite
def runs(draw: Any) -> dict[str, Any]:
    run = draw(run_summaries())
    audio = run["endpoint"] == "audio"
    run["config"] = (
        {"schema": "v4", "audio": dict(AUDIO_CONFIG), "measurement_timer_ms": draw(st.integers(3000, 10_000))}
        if audio
        else {"schema": "v4", "image": {"type": "image/jpeg"}, "face": {"threshold": THRESHOLD, "min_size": 60}}
    )
    if run["mode"] == "realtime" and run["status"] != "live" and draw(st.booleans()):
        run["close_code"] = draw(st.sampled_from([1000, 1001, 1008, 1011]))
        run["close_reason"] = draw(st.sampled_from(["client_request", "server_shutdown", "idle_timeout", "error"]))
    return run


@st.composite
def runs_pages(draw: Any) -> dict[str, Any]:
    """Newest first, each run once."""
    starts = sorted(draw(st.lists(times, max_size=5, unique=True)), reverse=True)
    page: dict[str, Any] = {"runs": [draw(run_summaries(started)) for started in starts]}
    if len({run["run_id"] for run in page["runs"]}) != len(page["runs"]):
        page["runs"] = page["runs"][:1]
    if draw(st.booleans()):
        page["next_cursor"] = draw(ids)
    return page


EVENT_KINDS = _NAMES["run_event_kinds"]["values"]


@st.composite
def run_events_pages(draw: Any) -> dict[str, Any]:
    first = draw(st.integers(1, 1000))
    count = draw(st.integers(0, 5))
    events = []
    for seq in range(first, first + count):
        event: dict[str, Any] = {"seq": seq, "at": _rfc3339(draw(times)), "kind": draw(st.sampled_from(EVENT_KINDS))}
        if event["kind"] != "rate_limited" and draw(st.booleans()):
            event["detail"] = {"detail": draw(st.text(max_size=20))}
        events.append(event)
    capped = draw(st.lists(st.sampled_from(EVENT_KINDS), unique=True, max_size=2))
    page = {"events": events, "at_cap": bool(capped), "capped_kinds": capped, "gaps": draw(st.booleans())}
    if draw(st.booleans()):
        page["next_cursor"] = draw(ids)
    return page


REQUEST_ERROR_CODES = _NAMES["http_error_codes"]["values"]
REALTIME_ERROR_CODES = _NAMES["realtime_error_codes"]["values"]

error_bodies = st.fixed_dictionaries(
    {
        "type": st.just("error"),
        "code": st.sampled_from(REQUEST_ERROR_CODES),
        "message": st.text(max_size=60),
        "request_id": ids,
    }
)

# --------------------------------------------------------------------------------------- server messages

_ENDING = {"config_invalid", "message_too_large"}
_SURVIVABLE = {"invalid_audio_frame", "invalid_image_frame", "rate_limited"}


@st.composite
def realtime_errors(draw: Any, channel: str) -> dict[str, Any]:
    """An error as one message: retryable false when it ends the session, true when it does not."""
    code = draw(st.sampled_from(REALTIME_ERROR_CODES))
    if code in _ENDING or (code == "internal_error" and channel == "audio"):
        retryable = False
    elif code in _SURVIVABLE:
        retryable = True
    else:
        retryable = draw(st.booleans())
    return {"type": "error", "code": code, "message": draw(st.text(max_size=60)), "retryable": retryable}


@st.composite
def audio_server_messages(draw: Any) -> dict[str, Any]:
    timer = draw(st.integers(3000, 10_000))
    choice = draw(st.sampled_from(["created", "updated", "start", "result", "end", "error", "closed"]))
    if choice in ("created", "updated"):
        message = {"type": f"session.{choice}", "audio": dict(AUDIO_CONFIG), "measurement_timer_ms": timer}
        return {**message, "session_id": draw(uuids)} if choice == "created" else message
    start = draw(st.integers(0, 100_000))
    if choice == "start":
        return {"type": "utterance.start", "utterance_id": draw(st.integers(0, 50)), "audio_start_ms": start}
    if choice == "end":
        end = start + draw(st.integers(0, 60_000))
        return {
            "type": "utterance.end",
            "utterance_id": draw(st.integers(0, 50)),
            "audio_start_ms": start,
            "audio_end_ms": end,
        }
    if choice == "result":
        measurement = _utterance_measurements(
            draw, draw(st.integers(0, 50)), start, start + draw(st.integers(1, 9000)), 0
        )[0]
        return {"type": "measurement.result", **measurement, "measurement_id": draw(st.integers(0, 500))}
    if choice == "error":
        return draw(realtime_errors("audio"))
    return {
        "type": "session.closed",
        "session_id": draw(uuids),
        "reason": draw(st.sampled_from(["client_request", "server_shutdown", "idle_timeout", "error"])),
        "received": {"audio_duration_ms": draw(st.integers(0, 10**7)), "frames": draw(st.integers(0, 10**5))},
        "produced": {"utterances": draw(st.integers(0, 500)), "measurements": draw(st.integers(0, 5000))},
    }


@st.composite
def video_server_messages(draw: Any) -> dict[str, Any]:
    choice = draw(st.sampled_from(["created", "updated", "result", "error", "closed"]))
    face_config = {"threshold": draw(st.integers(0, 10_000)) / 10_000, "min_size": draw(st.integers(1, 500))}
    if choice in ("created", "updated"):
        message = {"type": f"session.{choice}", "image": {"type": "image/jpeg"}, "face": face_config}
        return {**message, "session_id": draw(uuids)} if choice == "created" else message
    if choice == "result":
        return {"type": "measurement.result", "frame_id": draw(st.integers(0, 10_000)), "faces": draw(faces())}
    if choice == "error":
        return draw(realtime_errors("video"))
    return {
        "type": "session.closed",
        "session_id": draw(uuids),
        "reason": draw(st.sampled_from(["client_request", "server_shutdown", "idle_timeout", "error"])),
        "received": {"frames": draw(st.integers(0, 10**5))},
        "produced": {"measurements": draw(st.integers(0, 10**5))},
    }


BODIES: dict[str, st.SearchStrategy[Any]] = {
    "v1-audio-file-response": audio_file_responses(),
    "v1-video-file-response": video_file_responses(),
    "v1-run": runs(),
    "v1-runs-page": runs_pages(),
    "v1-run-events-page": run_events_pages(),
    "v1-error": error_bodies,
}
SERVER_MESSAGES: dict[str, st.SearchStrategy[Any]] = {
    "v1-audio-server-message": audio_server_messages(),
    "v1-video-server-message": video_server_messages(),
}
