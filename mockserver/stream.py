"""The streaming endpoint ``/v0/stream/models``: one reply frame per payload frame.

Replies: ``{payload_id?, job_details?, <model>: {"predictions": [...]}}``; a model that finds nothing
answers ``{"warning": ..., "code": "W01xx"}`` in its slot; a bad payload gets an error frame
``{"error", "code", "payload_id"?}`` with Hume's codes. After ten identical errors the server closes the
connection (1008, with a reason). A session remembers its last ``models`` and has one 32-hex job id.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from starlette.websockets import WebSocket, WebSocketDisconnect

from mockserver import names, wire
from mockserver.admission import RETRY_AFTER_SECONDS, Busy
from mockserver.batch import MockState, error_response
from mockserver.drifts import apply_body_drifts
from mockserver.inference import burst_interval, face_detections, rng_for, scores, text_spans
from mockserver.job_request import (
    BadRequest,
    check_bool,
    check_enum,
    check_number,
    check_object,
    check_unconfigurable,
)
from mockserver.media import Media, MediaError, digest, parse_facemesh_text, read_facemesh, read_media

log = logging.getLogger("mockserver")

MAX_IMAGE_SIDE = 3000
MAX_AUDIO_MS = 5000
MAX_VIDEO_MS = 5000
MAX_RAW_TEXT = 10_000
IDENTICAL_ERRORS_BEFORE_CLOSE = 10
POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013

MODEL_ORDER = ("burst", "face", "facemesh", "language", "prosody")  # the order of the SDK's reply model
STREAM_MODELS_BY_KIND = {
    "image": ("face",),
    "video": ("face", "burst", "prosody"),
    "audio": ("burst", "prosody"),
    "text": ("language",),
    "facemesh": ("facemesh",),
}
WARNINGS = {
    "face": {"warning": "No faces detected.", "code": "W0103"},
    "burst": {"warning": "No vocal bursts detected.", "code": "W0101"},
    "facemesh": {"warning": "No facemeshes detected.", "code": "W0102"},
}

MODELS = check_object(
    {
        "burst": check_unconfigurable,
        "face": check_object(
            {
                "facs": check_unconfigurable,
                "descriptions": check_unconfigurable,
                "identify_faces": check_bool,
                "fps_pred": check_number(0.0),
                "prob_threshold": check_number(0.0, 1.0),
                "min_face_size": check_number(0.0),
            }
        ),
        "facemesh": check_unconfigurable,
        "language": check_object(
            {
                "sentiment": check_unconfigurable,
                "toxicity": check_unconfigurable,
                "granularity": check_enum("word", "sentence", "utterance", "passage"),
            }
        ),
        "prosody": check_unconfigurable,
    }
)


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{where}: expected a string, got {type(value).__name__}")
    return value


PAYLOAD = check_object(
    {
        "data": _string,
        "models": MODELS,
        "stream_window_ms": check_number(500, 10_000),
        "reset_stream": check_bool,
        "raw_text": check_bool,
        "job_details": check_bool,
        "payload_id": _string,
    }
)


class StreamError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Session:
    """One connection's memory: its job id, its last configuration, and how often each error repeated."""

    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    models: dict[str, Any] | None = None
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    drifts: frozenset[str] = frozenset()  # the mock's behaviour drifts (body drifts apply to what is sent)


async def stream_endpoint(websocket: WebSocket) -> None:
    """One session, if a slot is free (else a 429 at the handshake): frames answered one at a time, in order."""
    state = websocket.app.state.mock
    try:
        async with state.stream_sessions.slot():
            await _serve(websocket, state)
    except Busy:
        await _refuse_busy(websocket, state.config.max_stream_sessions)


async def _serve(websocket: WebSocket, state: MockState) -> None:
    await websocket.accept()
    session = Session(drifts=state.config.drifts)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            async with state.stream_answers.slot():  # bounds the memory and CPU of answers across sessions
                # Abandoned if the session is cancelled (shutdown): the answer is dropped, SIGTERM does not wait for it.
                reply = await anyio.to_thread.run_sync(reply_to, session, message.get("text"), abandon_on_cancel=True)
            await _send_reply(websocket, reply, session)  # returns once sent: a client that does not read waits
            if reply.error is not None and _too_many(session, reply.error):
                reason = f"Closed after {IDENTICAL_ERRORS_BEFORE_CLOSE} identical errors ({reply.error[0]})."
                await websocket.close(code=POLICY_VIOLATION, reason=reason)
                return
    except WebSocketDisconnect:
        return
    except Exception as exc:  # noqa: BLE001 - a mock bug must end the session with a close frame, not a dropped socket
        log.error("stream session ended by an internal error: %s: %s", type(exc).__name__, str(exc)[:200])
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):  # the socket may be gone already
            await websocket.close(code=INTERNAL_ERROR, reason="internal error in the mock server")


async def _send_reply(websocket: WebSocket, reply: Reply, session: Session) -> None:
    """One JSON text frame, unless a behaviour drift sends it otherwise (binary, twice, or not at all)."""
    if "stream-reply-dropped" in session.drifts and reply.answers_nothing:
        return
    for _ in range(2 if "stream-double-reply" in session.drifts else 1):
        if "stream-reply-binary" in session.drifts:
            await websocket.send_bytes(reply.text.encode())
        else:
            await websocket.send_text(reply.text)


async def _refuse_busy(websocket: WebSocket, sessions: int) -> None:
    """Every session slot is taken: refuse the handshake as the API refuses a busy client (429, Retry-After)."""
    message = f"Too many stream connections (at most {sessions} at once); retry later."
    refusal = error_response(429, message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if "websocket.http.response" in (websocket.scope.get("extensions") or {}):
        await websocket.send_denial_response(refusal)
    else:  # servers without the denial extension can only refuse with a close before accept (403)
        await websocket.close(code=TRY_AGAIN_LATER)


def _too_many(session: Session, error: tuple[str, str]) -> bool:
    session.errors[error] += 1
    return session.errors[error] >= IDENTICAL_ERRORS_BEFORE_CLOSE


@dataclass(frozen=True)
class Reply:
    """A reply frame as sent, and the (code, message) of its error as the session counts it (None: no error)."""

    text: str
    error: tuple[str, str] | None
    answers_nothing: bool = False  # only payload_id / job_details: a reply the stream-reply-dropped drift drops


def reply_to(session: Session, text: str | None) -> Reply:
    """The reply to one received frame, serialised (in the worker thread, so the event loop only sends it)."""
    reply = answer(session, text)
    error = (reply["code"], reply["error"]) if "error" in reply else None
    # Drifts change what is sent, never what the session counts (``error`` is taken before they run).
    sent = apply_body_drifts("stream", reply, session.drifts)
    return Reply(wire.dumps(sent).decode(), error, set(sent) <= {"payload_id", "job_details"})


def answer(session: Session, text: str | None) -> dict[str, Any]:
    """The reply frame to one received frame (``text`` None for a binary frame)."""
    payload_id = None
    try:
        raw = _parse_json(text)
        if isinstance(raw, dict) and isinstance(raw.get("payload_id"), str):
            payload_id = raw["payload_id"]
        return _answer_payload(session, _validate(raw))
    except StreamError as exc:
        frame: dict[str, Any] = {"error": exc.message, "code": exc.code}
        if payload_id is not None:
            frame["payload_id"] = payload_id
        return frame


def _parse_json(text: str | None) -> Any:
    if text is None:
        raise StreamError("E0100", "Invalid JSON: send the payload as a JSON text frame.")
    try:
        return wire.loads(text)
    except wire.NotWireJSON as exc:
        raise StreamError("E0100", f"Invalid JSON: {exc.reason}") from None


def _validate(raw: Any) -> dict[str, Any]:
    try:
        return PAYLOAD(raw, "payload")
    except BadRequest as exc:
        raise StreamError("E0101", exc.message) from None


def _answer_payload(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    if "models" in payload:
        session.models = {name: config for name, config in payload["models"].items() if config is not None}
    reply: dict[str, Any] = {}
    if "payload_id" in payload:
        reply["payload_id"] = payload["payload_id"]
    if payload.get("job_details"):
        reply["job_details"] = {"job_id": session.job_id}
    if "data" not in payload:  # job-details, reset or configuration-only message
        return reply
    if not session.models:
        raise StreamError("E0101", "No models configured: send `models` with the payload (or before it).")
    media = _decode(payload)
    _check_models(session.models, media)
    if media.kind != "audio" or "stream-audio-limit-ignored" not in session.drifts:
        _check_limits(media)
    for model in MODEL_ORDER:
        if model in session.models:
            reply[model] = _predict(model, session.models[model], media)
    return reply


def _decode(payload: dict[str, Any]) -> Media:
    data = payload["data"]
    if payload.get("raw_text"):
        if len(data) > MAX_RAW_TEXT:
            raise StreamError("E0101", f"raw text exceeds {MAX_RAW_TEXT} characters")
        return Media(kind="text", seed=digest(data), text=data)
    try:
        if data.lstrip().startswith("["):  # SDK 0.13 sends facemesh landmarks as plain JSON
            return _facemesh(parse_facemesh_text(data))
        try:
            decoded = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise StreamError("E0201", "Invalid base64 data.") from None
        if decoded.lstrip().startswith(b"["):  # older clients base64-encode the landmarks JSON
            return _facemesh(parse_facemesh_text(decoded.decode("utf-8", "replace")))
        return read_media(decoded, max_image_side=MAX_IMAGE_SIDE)
    except MediaError as exc:
        raise StreamError(exc.code, exc.message) from None


def _facemesh(value: Any) -> Media:
    """Seeded by the landmarks themselves, so every client encoding of them gets the same scores."""
    faces = read_facemesh(value)
    return Media(kind="facemesh", seed=digest(json.dumps(value)), landmark_faces=faces)


def _check_models(models: dict[str, Any], media: Media) -> None:
    supported = STREAM_MODELS_BY_KIND[media.kind]
    for model in models:
        if model not in supported:
            raise StreamError(
                "E0102",
                f"Streaming payload configured with model type '{model}', which is not supported for the "
                f"detected file type '{media.kind}'.",
            )


def _check_limits(media: Media) -> None:
    duration_ms = round(media.duration_s * 1000)
    if media.kind == "audio" and duration_ms > MAX_AUDIO_MS:
        raise StreamError("E0203", f"Audio is too long ({duration_ms} ms); the limit is {MAX_AUDIO_MS} ms.")
    if media.kind == "video" and duration_ms > MAX_VIDEO_MS:
        raise StreamError("E0204", f"Video is too long ({duration_ms} ms); the limit is {MAX_VIDEO_MS} ms.")


def _predict(model: str, config: dict[str, Any], media: Media) -> dict[str, Any]:
    if model == "face":
        items = _face_items(config, media)
    elif model == "burst":
        items = _burst_items(media)
    elif model == "prosody":
        items = [{"time": {"begin": 0.0, "end": round(media.duration_s, 3)}, "emotions": _emotions(media, model)}]
    elif model == "language":
        items = _language_items(config, media)
    else:
        items = [{"emotions": _emotions(media, model, i)} for i in range(media.landmark_faces)]
    if not items and model in WARNINGS:
        return dict(WARNINGS[model])
    return {"predictions": items}


def _emotions(media: Media, *parts: object) -> list[dict[str, Any]]:
    return scores(names.EXPRESSION_EMOTIONS, rng_for(media.seed, "stream", *parts))


def _face_items(config: dict[str, Any], media: Media) -> list[dict[str, Any]]:
    detections = face_detections(
        media,
        fps_pred=config.get("fps_pred", 3.0),
        prob_threshold=config.get("prob_threshold", 0.99),
        min_face_size=config.get("min_face_size", 0.0),
    )
    items = []
    for found in detections:
        rng = rng_for(media.seed, "stream-face", found.face, found.frame)
        items.append(
            {
                "frame": float(found.frame),
                "time": found.time,
                "bbox": {"x": found.box.x, "y": found.box.y, "w": found.box.w, "h": found.box.h},
                "prob": found.prob,
                "face_id": f"face_{found.face}" if config.get("identify_faces") else "unknown",
                "emotions": scores(names.EXPRESSION_EMOTIONS, rng),
                "facs": scores(names.FACS_UNITS, rng) if config.get("facs") is not None else None,
                "descriptions": scores(names.FACE_DESCRIPTIONS, rng)
                if config.get("descriptions") is not None
                else None,
            }
        )
    return items


def _burst_items(media: Media) -> list[dict[str, Any]]:
    interval = burst_interval(media)
    if interval is None:
        return []
    return [{"time": {"begin": interval[0], "end": interval[1]}, "emotions": _emotions(media, "burst")}]


def _language_items(config: dict[str, Any], media: Media) -> list[dict[str, Any]]:
    items = []
    for index, span in enumerate(text_spans(media.text, config.get("granularity", "word"))):
        rng = rng_for(media.seed, "stream-language", index)
        items.append(
            {
                "text": span.text,
                "position": {"begin": span.begin, "end": span.end},
                "emotions": scores(names.LANGUAGE_EMOTIONS, rng),
                "sentiment": scores(names.SENTIMENT_LEVELS, rng) if config.get("sentiment") is not None else None,
                "toxicity": scores(names.TOXICITY_LABELS, rng) if config.get("toxicity") is not None else None,
            }
        )
    return items
