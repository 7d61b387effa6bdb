"""``POST /v1/expression/audio/file`` and ``POST /v1/expression/video/file``.

The body is read up to 25 MB + 1 byte and no further (a bigger one is refused before parsing). Reading and
measuring (in a worker thread) happen inside v0's work gate: at most a few at once, a few more waiting before
their bodies are read, then 429 ``server_busy`` with ``Retry-After``. A request whose parts and config are
readable becomes a run: ``ended`` when measured, ``errored`` (0 metered seconds) when its media is refused.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockserver import wire
from mockserver.admission import Busy
from mockserver.v1 import audio, video
from mockserver.v1.drifts import segmenter_options, upload_drifts
from mockserver.v1.errors import Refused, error_response, request_id
from mockserver.v1.protocol import (
    AUDIO_CONFIG,
    FACE_MIN_SIZE_DEFAULT,
    FACE_THRESHOLD_DEFAULT,
    IMAGE_CONFIG,
    MAX_REQUEST_BYTES,
    RUN_CONFIG_SCHEMA,
    SAMPLE_RATE,
    TIMER_DEFAULT_MS,
    TIMER_MAX_MS,
    TIMER_MIN_MS,
    VIDEO_FRAME_SECONDS,
)
from mockserver.v1.runs import metered
from mockserver.v1.state import V1State

MAX_PARTS = 1000


def _v1(request: Request) -> V1State:
    return request.app.state.v1


async def audio_file(request: Request) -> Response:
    return await _upload(request, "audio")


async def video_file(request: Request) -> Response:
    return await _upload(request, "video")


async def _upload(request: Request, endpoint: str) -> Response:
    state = _v1(request)
    drifts = state.config.drifts
    if request.method != "POST":
        return error_response("method_not_allowed", f"{request.method} is not allowed here; use POST", drifts,
                              allow="POST")  # fmt: skip
    too_long = "audio_too_long" if endpoint == "audio" else "image_too_large"
    try:
        # The slot is taken before the body is read: memory grows with the uploads admitted, not those sent.
        async with request.app.state.mock.gate.slot():
            config, files = await _read_form(request, too_long, state)
            parsed = audio_config(config) if endpoint == "audio" else video_config(config)
            measure = _measure_audio if endpoint == "audio" else _measure_video
            body = await run_in_threadpool(measure, state, parsed, files)
    except Busy:
        return error_response("server_busy", "The server is busy; retry after the Retry-After delay.", drifts)
    except Refused as exc:
        return error_response(exc.code, exc.message, drifts)
    return JSONResponse(upload_drifts(endpoint, body, drifts))


async def _read_form(request: Request, too_long: str, state: V1State) -> tuple[Any, list[bytes]]:
    """The parsed ``config`` part (None if absent) and the ``file`` parts' bytes; Refused otherwise."""
    limit = None if state.drifted("v1-upload-size-unchecked") else MAX_REQUEST_BYTES
    declared = request.headers.get("content-length", "")
    if limit is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(too_long, f"the request is {declared} bytes; the limit is 25 MB ({limit} bytes)")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if limit is not None and len(body) > limit:
            raise Refused(too_long, f"the request is over the 25 MB limit ({limit} bytes)")
    request._body = bytes(body)  # Starlette parses the form from the cached body
    del body
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Refused("message_invalid", "the body must be multipart/form-data with a `file` part")
    try:
        form = await request.form(max_files=MAX_PARTS, max_fields=MAX_PARTS)
    except Exception as exc:  # noqa: BLE001 - python-multipart and Starlette raise several kinds
        raise Refused("message_invalid", f"the multipart body could not be read: {exc}") from None
    try:
        config = None
        for name, value in form.multi_items():
            if name == "config":
                raw = await value.read() if isinstance(value, UploadFile) else value
                try:
                    config = wire.loads(raw)
                except wire.NotWireJSON as exc:
                    raise Refused("config_invalid", f"the config part is not valid JSON: {exc.reason}") from None
            elif name != "file":
                raise Refused("message_invalid", f"unknown part `{name}`; expected `file` and `config`")
        files = [await value.read() if isinstance(value, UploadFile) else value.encode() for value in
                 form.getlist("file")]  # fmt: skip
    finally:
        await form.close()
    if not files:
        raise Refused("message_invalid", "the body has no `file` part")
    return config, files


def _object(config: Any, known: set[str], where: str) -> dict:
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise Refused("config_invalid", f"{where} must be a JSON object")
    unknown = sorted(set(config) - known)
    if unknown:
        raise Refused("config_invalid", f"unknown field `{unknown[0]}` in {where}; expected one of {sorted(known)}")
    return config


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_timer(timer: Any) -> int:
    """A valid ``measurement_timer_ms``; Refused config_invalid otherwise."""
    if not _integer(timer) or not TIMER_MIN_MS <= timer <= TIMER_MAX_MS:
        raise Refused("config_invalid", f"measurement_timer_ms must be an integer, {TIMER_MIN_MS} to {TIMER_MAX_MS}")
    return timer


def audio_config(config: Any) -> int:
    """The ``measurement_timer_ms`` of an audio config part; Refused config_invalid as documented."""
    fields = _object(config, {"measurement_timer_ms"}, "the config part")
    return check_timer(fields.get("measurement_timer_ms", TIMER_DEFAULT_MS))


def face_config(face: Any, where: str, extra: set[str] = frozenset()) -> dict:
    """``threshold`` and ``min_size`` (defaults filled) plus any ``extra`` keys given; Refused otherwise."""
    fields = _object(face, {"threshold", "min_size", *extra}, where)
    threshold = fields.get("threshold", FACE_THRESHOLD_DEFAULT)
    min_size = fields.get("min_size", FACE_MIN_SIZE_DEFAULT)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise Refused("config_invalid", f"{where}.threshold must be a number from 0 to 1")
    if not _integer(min_size) or min_size < 1:
        raise Refused("config_invalid", f"{where}.min_size must be an integer of at least 1")
    return {**fields, "threshold": float(threshold), "min_size": min_size}


def video_config(config: Any) -> dict:
    fields = _object(config, {"face", "face_state"}, "the config part")
    face = face_config(fields.get("face"), "face", {"return_face_state"})
    if not isinstance(face.get("return_face_state", False), bool):
        raise Refused("config_invalid", "face.return_face_state must be true or false")
    state = fields.get("face_state")
    if state is not None and not isinstance(state, str):
        raise Refused("config_invalid", "face_state must be a string from an earlier response")
    return {"face": face, "face_state": state}


def audio_run_config(timer_ms: int) -> dict:
    return {"schema": RUN_CONFIG_SCHEMA, "audio": dict(AUDIO_CONFIG), "measurement_timer_ms": timer_ms}


def video_run_config(threshold: float, min_size: int) -> dict:
    return {"schema": RUN_CONFIG_SCHEMA, "image": dict(IMAGE_CONFIG), "face": {"threshold": round(threshold, 4),
            "min_size": min_size}}  # fmt: skip


def _as_run(state: V1State, endpoint: str, run_config: dict, files: list[bytes], measure) -> dict:  # noqa: ANN001
    """Measure an upload as one run: ``ended`` with its metered seconds, or ``errored`` if ``measure`` refuses."""
    run_id = state.runs.create(endpoint, "file", run_config)
    received = sum(map(len, files))
    try:
        body, seconds = measure()
    except Refused:
        state.runs.finish(run_id, "errored", close_code=None, close_reason=None, bytes_received=received)
        raise
    state.runs.finish(run_id, "ended", close_code=None, close_reason=None, bytes_received=received,
                      metered_seconds=metered(seconds, final=True))  # fmt: skip
    return {"request_id": request_id(), "run_id": run_id, **body}


def _measure_audio(state: V1State, timer_ms: int, files: list[bytes]) -> dict:
    def measure() -> tuple[dict, float]:
        if len(files) != 1:
            raise Refused("message_invalid", f"send exactly one `file` part, not {len(files)}")
        samples = audio.samples_of_upload(files[0])
        options = segmenter_options(state.config.drifts)
        utterances, measurements, duration_ms = audio.measure_file(samples, timer_ms, **options)
        body = {"received": {"audio_duration_ms": duration_ms}, "utterances": utterances,
                "measurements": measurements}  # fmt: skip
        return body, len(samples) / 2 / SAMPLE_RATE

    return _as_run(state, "audio", audio_run_config(timer_ms), files, measure)


def _measure_video(state: V1State, config: dict, files: list[bytes]) -> dict:
    face = config["face"]
    pixel_limit = not state.drifted("v1-pixel-limit-unchecked")

    def measure() -> tuple[dict, float]:
        for data in files:  # every image is checked before any is measured (documented)
            video.check_jpeg(data, pixel_limit=pixel_limit)
        given = None if state.drifted("v1-face-state-ignored") else config["face_state"]
        tracker = video.load_face_state(given, state.face_state_secret)
        measurements = []
        for frame_id, data in enumerate(files):
            found = video.find_faces(data)
            faces, _measured = video.measure_image(found, tracker, face["threshold"], face["min_size"])
            measurements.append({"frame_id": frame_id, "faces": faces})
        body = {"received": {"frames": len(files)}, "measurements": measurements}
        if face.get("return_face_state"):
            body["face_state"] = video.dump_face_state(tracker, state.face_state_secret)
        return body, len(files) * VIDEO_FRAME_SECONDS

    return _as_run(state, "video", video_run_config(face["threshold"], face["min_size"]), files, measure)
