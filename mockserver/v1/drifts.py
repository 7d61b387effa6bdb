"""v1 drifts: named ways the v1 mock breaks one v1 promise each, registered beside v0's catalogue in
``mockserver.drifts.VERSION_CATALOGUES``
(so ``--drift`` takes them and ``--list-drifts v1`` lists them).

Message drifts are functions on a finished body or message, applied in exactly one of the four hooks below
(``upload_drifts``, ``runs_drifts``, ``session_message_drifts``, ``http_error_drifts``); behaviour drifts are a
single ``config.drifted(name)`` check at the place named in ``where``.
"""

from __future__ import annotations

from collections.abc import Collection

from mockserver.drifts import VERSION_CATALOGUES, Drift

_UPLOAD = "v1 upload_drifts (upload response post-processor)"
_RUNS = "v1 runs_drifts (runs response post-processor)"
_SESSION = "v1 session_message_drifts (each session message)"
_ERROR = "v1 http_error_drifts (HTTP error bodies)"

V1_DRIFTS = (
    # scores: ordering, thresholds, rounding
    Drift("v1-expressions-ascending", "audio `expressions` sorted by ascending probability", "v1-scores", _UPLOAD),
    Drift(
        "v1-voice-attribute-below-cutoff",
        "audio `voice_attributes` list one score of 0.5 (< 0.725)",
        "v1-scores",
        _UPLOAD,
    ),  # fmt: skip
    Drift(
        "v1-face-score-at-cutoff",
        "a measured face's `expressions` list one score of 0.1 (not > 0.1)",
        "v1-scores",
        _UPLOAD,
    ),  # fmt: skip
    Drift(
        "v1-probability-five-decimals", "the top audio expression's probability has five decimals", "v1-scores", _UPLOAD
    ),  # fmt: skip
    Drift("v1-descriptions-ascending", "face `descriptions` sorted by ascending probability", "v1-scores", _UPLOAD),
    # counters and spans
    Drift("v1-measurement-id-from-one", "audio `measurement_id` counts from 1", "v1-counters", _UPLOAD),
    Drift("v1-utterance-id-from-one", "audio `utterance_id` counts from 1", "v1-counters", _UPLOAD),
    Drift(
        "v1-window-over-10s",
        "measurements cover the whole utterance, beyond 10 s",
        "v1-counters",
        "audio.Segmenter (window)",
    ),  # fmt: skip
    Drift(
        "v1-speech-ended-too-close",
        "a speech_ended measurement follows one that ended < 1 s earlier",
        "v1-counters",
        "audio.Segmenter (gap)",
    ),  # fmt: skip
    Drift(
        "v1-frame-id-counts-frames",
        "realtime `frame_id` advances on frames answered with an error",
        "v1-counters",
        "realtime.VideoSession",
    ),  # fmt: skip
    # faces
    Drift("v1-bbox-outside-image", "the first face's bbox reaches 100,000 px past the image", "v1-faces", _UPLOAD),
    Drift("v1-measured-face-id-null", "the first measured face has `face_id` null", "v1-faces", _UPLOAD),
    Drift("v1-faces-smallest-first", "`faces` listed in reverse order (smallest measured first)", "v1-faces", _UPLOAD),
    Drift(
        "v1-face-state-ignored",
        "an upload's `face_state` is ignored: face ids restart at 0",
        "v1-faces",
        "uploads._measure_video",
    ),  # fmt: skip
    # session protocol
    Drift("v1-session-created-missing-id", "`session.created` lacks `session_id`", "v1-session", _SESSION),
    Drift(
        "v1-update-after-media-accepted",
        "`session.update` after media is answered `session.updated`",
        "v1-session",
        "realtime.Session._on_text",
    ),  # fmt: skip
    Drift("v1-closed-counts-wrong", "`session.closed` reports one measurement more than sent", "v1-session", _SESSION),
    Drift(
        "v1-no-session-closed-on-error",
        "a session-ending error is not followed by `session.closed`",
        "v1-session",
        "realtime.Session._close",
    ),  # fmt: skip
    Drift(
        "v1-invalid-frame-ends-session",
        "an invalid media frame ends the session",
        "v1-session",
        "realtime.Session.frame_refused",
    ),  # fmt: skip
    Drift("v1-retryable-inverted", "realtime `error.retryable` is inverted", "v1-session", _SESSION),
    Drift(
        "v1-utterance-end-mismatch",
        "`utterance.end.audio_start_ms` differs from its `utterance.start`",
        "v1-session",
        _SESSION,
    ),  # fmt: skip
    # limits not enforced
    Drift(
        "v1-rate-limit-ignored",
        "realtime media faster than the send rate is measured",
        "v1-limits",
        "realtime.*Session.on_media",
    ),  # fmt: skip
    Drift(
        "v1-message-size-unchecked",
        "realtime messages over the size limit are not refused",
        "v1-limits",
        "realtime.Session._one_message",
    ),  # fmt: skip
    Drift(
        "v1-upload-size-unchecked", "uploads over 25 MB are read and measured", "v1-limits", "uploads._read_form"
    ),  # fmt: skip
    Drift(
        "v1-pixel-limit-unchecked",
        "images over 2 MB or 8,294,400 px are measured",
        "v1-limits",
        "video.check_jpeg callers",
    ),  # fmt: skip
    # error bodies
    Drift("v1-error-without-request-id", "HTTP error bodies lack `request_id`", "v1-errors", _ERROR),
    Drift("v1-error-code-unknown", "HTTP error bodies carry the undocumented code `bad_request`", "v1-errors", _ERROR),
    # runs
    Drift("v1-next-cursor-on-last-page", "the last page of runs still has a `next_cursor`", "v1-runs", _RUNS),
    Drift("v1-runs-oldest-first", "runs are listed oldest first", "v1-runs", "runs_api._filter"),
    Drift("v1-page-size-unchecked", "`page_size` outside 1-200 is accepted", "v1-runs", "runs_api._page_size"),
    Drift("v1-runs-status-filter-ignored", "GET /v1/expression/run ignores `status`", "v1-runs", "runs_api._filter"),
    Drift("v1-run-status-unknown", "ended runs report status `finished`", "v1-runs", _RUNS),
    Drift("v1-event-seq-from-zero", "run event `seq` counts from 0", "v1-runs", _RUNS),
    Drift(
        "v1-metered-below-minimum",
        "a session's `metered_seconds` is not raised to the 10 s minimum",
        "v1-runs",
        "realtime.Session._counters",
    ),  # fmt: skip
)
V1_CATALOGUE: dict[str, Drift] = {drift.name: drift for drift in V1_DRIFTS}
VERSION_CATALOGUES["v1"] = V1_CATALOGUE


# ---- measurement transforms (uploads and sessions share them)
def _audio_measurement(measurement: dict, drifts: Collection[str]) -> None:
    if "v1-expressions-ascending" in drifts:
        measurement["expressions"].sort(key=lambda score: score["probability"])
    if "v1-voice-attribute-below-cutoff" in drifts:
        measurement["voice_attributes"].append({"name": "monotone-drift", "probability": 0.5})
    if "v1-probability-five-decimals" in drifts and measurement["expressions"]:
        top = max(measurement["expressions"], key=lambda score: score["probability"])
        top["probability"] = round(min(top["probability"], 0.9998) + 0.00001, 5)
    if "v1-measurement-id-from-one" in drifts:
        measurement["measurement_id"] += 1
    if "v1-utterance-id-from-one" in drifts:
        measurement["utterance_id"] += 1


def _faces(faces: list[dict], drifts: Collection[str]) -> list[dict]:
    measured = [face for face in faces if face.get("expressions") is not None]
    if measured and "v1-face-score-at-cutoff" in drifts:
        measured[0]["expressions"].append({"name": "contemplation-drift", "probability": 0.1})
    if "v1-descriptions-ascending" in drifts:
        for face in measured:
            face["descriptions"].sort(key=lambda score: score["probability"])
    if faces and "v1-bbox-outside-image" in drifts:
        faces[0]["bbox"][2] += 100_000
    if measured and "v1-measured-face-id-null" in drifts:
        measured[0]["face_id"] = None
    if "v1-faces-smallest-first" in drifts:
        faces = faces[::-1]
    return faces


def upload_drifts(endpoint: str, body: dict, drifts: Collection[str]) -> dict:
    """An upload response after every switched-on drift."""
    if not drifts:
        return body
    if endpoint == "audio":
        for measurement in body["measurements"]:
            _audio_measurement(measurement, drifts)
        if "v1-utterance-id-from-one" in drifts:
            for utterance in body["utterances"]:
                utterance["utterance_id"] += 1
    else:
        for measurement in body["measurements"]:
            measurement["faces"] = _faces(measurement["faces"], drifts)
    return body


def session_message_drifts(endpoint: str, message: dict, drifts: Collection[str]) -> dict | None:
    """One outgoing session message after every switched-on drift."""
    if not drifts:
        return message
    kind = message.get("type")
    if kind == "measurement.result" and endpoint == "audio":
        _audio_measurement(message, drifts)
    elif kind == "measurement.result":
        message["faces"] = _faces(message["faces"], drifts)
    elif kind in ("utterance.start", "utterance.end") and "v1-utterance-id-from-one" in drifts:
        message["utterance_id"] += 1
    if kind == "utterance.end" and "v1-utterance-end-mismatch" in drifts:
        message["audio_start_ms"] += 20
    if kind == "session.created" and "v1-session-created-missing-id" in drifts:
        message.pop("session_id", None)
    if kind == "session.closed" and "v1-closed-counts-wrong" in drifts:
        message["produced"]["measurements"] += 1
    if kind == "error" and "v1-retryable-inverted" in drifts:
        message["retryable"] = not message["retryable"]
    return message


def _runs_body(kind: str, body: dict, drifts: Collection[str]) -> dict:
    runs = body["runs"] if kind == "list" else [body] if kind == "run" else []
    if "v1-run-status-unknown" in drifts:
        for run in runs:
            if run["status"] == "ended":
                run["status"] = "finished"
    if kind == "list" and "v1-next-cursor-on-last-page" in drifts and "next_cursor" not in body:
        from mockserver.v1.runs import encode_cursor

        body["next_cursor"] = encode_cursor(0)
    if kind == "events" and "v1-event-seq-from-zero" in drifts:
        for event in body["events"]:
            event["seq"] -= 1
    return body


def runs_drifts(kind: str, body: dict, drifts: Collection[str]) -> dict:
    """A runs response (``kind`` list, run or events) after every switched-on drift."""
    return _runs_body(kind, body, drifts) if drifts else body


def http_error_drifts(body: dict, status: int, drifts: Collection[str]) -> tuple[dict, int]:
    if "v1-error-without-request-id" in drifts:
        body.pop("request_id", None)
    if "v1-error-code-unknown" in drifts:
        body["code"] = "bad_request"
    return body, status


def v1_drift_names() -> list[str]:
    return [drift.name for drift in V1_DRIFTS]


def segmenter_options(drifts: Collection[str]) -> dict[str, int]:
    """The Segmenter's window and speech_ended gap, as the two segmenter drifts change them."""
    options = {}
    if "v1-window-over-10s" in drifts:
        options["window_ms"] = 10**9
    if "v1-speech-ended-too-close" in drifts:
        options["ended_gap_ms"] = 0
    return options
