"""``/v1/expression/audio/realtime`` and ``/v1/expression/video/realtime``: one session per connection.

The protocol (documented): ``session.created`` on open; ``session.update`` answered with ``session.updated``
until the first media frame, ``config_invalid`` (session ends) after it or when invalid; binary media frames;
``session.close`` answered with ``session.closed`` and the close. Errors that a frame survives are sent and
the session goes on; session-ending ones are followed by ``session.closed`` (reason ``error``) and close
code 1008. A session that receives nothing for ``idle_timeout_s`` ends with reason ``idle_timeout``. Every
session is a run; its counters reach the run store at most once a second while it lasts, and at its end.
Close codes and the idle timeout are choices of the mock (``protocol``); the README says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from mockserver import wire
from mockserver.admission import Busy
from mockserver.v1 import video
from mockserver.v1.audio import Segmenter
from mockserver.v1.drifts import segmenter_options, session_message_drifts
from mockserver.v1.errors import Refused, error_response
from mockserver.v1.protocol import (
    AUDIO_BURST_MS,
    AUDIO_CONFIG,
    BYTES_PER_MS,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    FACE_MIN_SIZE_DEFAULT,
    FACE_THRESHOLD_DEFAULT,
    IMAGE_CONFIG,
    LOST_CLOSE_CODE,
    MAX_AUDIO_FRAME_BYTES,
    MAX_AUDIO_MESSAGE_BYTES,
    MAX_IMAGE_BYTES,
    MAX_VIDEO_FAILURES,
    TIMER_DEFAULT_MS,
    VIDEO_BURST_FRAMES,
    VIDEO_FPS,
    VIDEO_FRAME_SECONDS,
)
from mockserver.v1.runs import metered
from mockserver.v1.state import V1State
from mockserver.v1.uploads import audio_run_config, check_timer, face_config, video_run_config

log = logging.getLogger("mockserver")
ABNORMAL_CLOSE = 1006  # what the server sees when the client vanished without a close frame
LOST = (1005, ABNORMAL_CLOSE)  # uvicorn's websockets-sansio reports a vanished client as 1005
# uvicorn closes open WebSockets with 1012 when the mock shuts down, before the app can send session.closed; the SDK
# reconnects on 1012, and the run records the documented reason server_shutdown.
SERVICE_RESTART = 1012


class SessionEnded(Exception):
    """The session is over; ``reason`` goes into ``session.closed``, ``code`` into the close frame."""

    def __init__(self, reason: str, code: int, *, announce: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.announce = announce  # False when the client is already gone


class Bucket:
    """A token bucket: ``rate`` tokens a second, holding at most ``capacity`` (full at the start)."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity, self.tokens = rate, capacity, capacity
        self._at = time.monotonic()

    def take(self, amount: float) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self._at) * self.rate)
        self._at = now
        if amount > self.tokens:
            return False
        self.tokens -= amount
        return True


class Session:
    """What both endpoints share: the run, the message loop, errors, closing."""

    endpoint = ""
    message_limit = 0

    def __init__(self, websocket: WebSocket, state: V1State) -> None:
        self.ws = websocket
        self.state = state
        self.drifts = state.config.drifts
        self.media_started = False
        self.frames = 0  # frames accepted for measurement
        self.bytes_received = 0
        self.events: Counter[str] = Counter()
        self.run_id = ""
        self._flushed = 0.0

    # ---- what each endpoint defines
    def config(self) -> dict:
        raise NotImplementedError

    def run_config(self) -> dict:
        raise NotImplementedError

    def apply_update(self, message: dict) -> None:
        raise NotImplementedError

    async def on_media(self, data: bytes) -> None:
        raise NotImplementedError

    async def on_close(self) -> None:
        """Whatever is due before ``session.closed`` (audio: the open utterance)."""

    def totals(self) -> tuple[dict, dict]:
        raise NotImplementedError

    def metered_seconds(self) -> float:
        raise NotImplementedError

    # ---- the loop
    async def run(self) -> None:
        await self.ws.accept()
        self.run_id = self.state.runs.create(self.endpoint, "realtime", self.run_config())
        status, code, reason = "errored", LOST_CLOSE_CODE, "error"
        try:
            await self.send({"type": "session.created", "session_id": self.run_id, **self.config()})
            while True:
                await self._one_message()
        except SessionEnded as ended:
            code, reason = ended.code, ended.reason
            status = "errored" if reason == "error" else "ended"
            if ended.announce:
                await self._close(ended)
        except WebSocketDisconnect as gone:
            status, code, reason = self._client_close(gone.code, gone.reason)
        except Exception:  # noqa: BLE001 - a send to a vanished client, or a bug: the run still ends, lost
            log.info("v1 %s session %s ended abruptly", self.endpoint, self.run_id, exc_info=True)
        finally:
            self.state.runs.finish(self.run_id, status, close_code=code, close_reason=reason,
                                   **self._counters(final=True))  # fmt: skip

    def _client_close(self, code: int, text: str | None) -> tuple[str, int, str]:
        if code in LOST:
            return "errored", LOST_CLOSE_CODE, "error"  # documented: lost without a close frame
        if code == SERVICE_RESTART:
            return "ended", code, "server_shutdown"
        return "ended", code, text or ""  # documented: otherwise the reason text of the client's close frame

    async def _one_message(self) -> None:
        try:
            message = await asyncio.wait_for(self.ws.receive(), timeout=self.state.settings.idle_timeout_s)
        except TimeoutError:
            raise SessionEnded("idle_timeout", CLOSE_NORMAL) from None
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", ABNORMAL_CLOSE), message.get("reason"))
        data = message.get("bytes")
        text = message.get("text")
        size = len(data) if data is not None else len((text or "").encode())
        self.bytes_received += size
        if size > self.message_limit and not self.state.drifted("v1-message-size-unchecked"):
            await self.log("message_too_large", {"limit_bytes": self.message_limit})
            await self.end_with("message_too_large", f"a message of {size} bytes; the limit is {self.message_limit}")
        if data is not None:
            self.media_started = True
            await self.on_media(data)
        elif text is not None:
            await self._on_text(text)
        await self._flush()

    async def _on_text(self, text: str) -> None:
        try:
            message = wire.loads(text)
        except wire.NotWireJSON as exc:
            await self.fail("message_invalid", f"a text message must be a JSON object: {exc.reason}")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "session.close":
            await self.on_close()
            raise SessionEnded("client_request", CLOSE_NORMAL)
        if kind != "session.update":
            await self.fail("message_invalid", "expected a JSON object whose type is session.update or session.close")
            return
        if self.media_started and not self.state.drifted("v1-update-after-media-accepted"):
            await self.end_with("config_invalid", "session.update after the first media frame: the config is locked")
        try:
            self.apply_update(message)
        except Refused as exc:
            await self.end_with("config_invalid", exc.message)
        self.state.runs.update(self.run_id, config=self.run_config())
        await self.send({"type": "session.updated", **self.config()})

    # ---- sending
    async def send(self, message: dict) -> None:
        message = session_message_drifts(self.endpoint, message, self.drifts)
        if message is not None:
            await self.ws.send_text(orjson.dumps(message).decode())

    async def fail(self, code: str, text: str, *, retryable: bool = True) -> None:
        await self.send({"type": "error", "code": code, "message": text, "retryable": retryable})

    async def end_with(self, code: str, text: str) -> None:
        await self.fail(code, text, retryable=False)
        raise SessionEnded("error", CLOSE_POLICY)

    async def frame_refused(self, code: str, text: str, kind: str, detail: dict | None) -> None:
        """A frame the session survives (unless a drift says otherwise)."""
        await self.fail(code, text)
        await self.log(kind, detail)
        if self.state.drifted("v1-invalid-frame-ends-session") and code.startswith("invalid_"):
            raise SessionEnded("error", CLOSE_POLICY)

    async def log(self, kind: str, detail: dict | None) -> None:
        self.state.runs.add_event(self.run_id, kind, detail, self.events[kind])
        self.events[kind] += 1

    async def _close(self, ended: SessionEnded) -> None:
        received, produced = self.totals()
        closed = {"type": "session.closed", "session_id": self.run_id, "reason": ended.reason,
                  "received": received, "produced": produced}  # fmt: skip
        skip = ended.reason == "error" and self.state.drifted("v1-no-session-closed-on-error")
        with contextlib.suppress(Exception):  # the client may be gone already
            if not skip:
                await self.send(closed)
            if self.ws.application_state != WebSocketState.DISCONNECTED:
                await self.ws.close(ended.code)

    def _counters(self, *, final: bool) -> dict[str, Any]:
        return {"bytes_received": self.bytes_received, "metered_seconds": metered(self.metered_seconds(),
                final=final and not self.state.drifted("v1-metered-below-minimum"))}  # fmt: skip

    async def _flush(self) -> None:
        now = time.monotonic()
        if now - self._flushed >= self.state.settings.run_flush_interval_s:
            self._flushed = now
            self.state.runs.update(self.run_id, **self._counters(final=False))


class AudioSession(Session):
    endpoint = "audio"
    message_limit = MAX_AUDIO_MESSAGE_BYTES

    def __init__(self, websocket: WebSocket, state: V1State) -> None:
        super().__init__(websocket, state)
        self.timer_ms = TIMER_DEFAULT_MS
        self.segmenter = Segmenter(self.timer_ms, **segmenter_options(self.drifts))
        self.accepted_bytes = 0
        self.bucket = Bucket(1000.0, AUDIO_BURST_MS)  # ms of audio per second

    def config(self) -> dict:
        return {"audio": dict(AUDIO_CONFIG), "measurement_timer_ms": self.timer_ms}

    def run_config(self) -> dict:
        return audio_run_config(self.timer_ms)

    def apply_update(self, message: dict) -> None:
        unknown = sorted(set(message) - {"type", "audio", "measurement_timer_ms"})
        if unknown:
            raise Refused("config_invalid", f"unknown field `{unknown[0]}`")
        audio = message.get("audio") or {}
        if not isinstance(audio, dict) or not set(audio) <= set(AUDIO_CONFIG):
            raise Refused("config_invalid", f"audio takes only {sorted(AUDIO_CONFIG)}")
        wrong = sorted(key for key, value in audio.items() if value != AUDIO_CONFIG[key] or isinstance(value, bool))
        if wrong:
            raise Refused("config_invalid", f"only {AUDIO_CONFIG} audio is accepted; `{wrong[0]}` differs")
        timer = check_timer(message.get("measurement_timer_ms", TIMER_DEFAULT_MS))
        self.timer_ms = timer  # omitted fields are reset to their defaults (documented)
        self.segmenter = Segmenter(timer, **segmenter_options(self.drifts))

    async def on_media(self, data: bytes) -> None:
        if not data or len(data) % 2 or len(data) > MAX_AUDIO_FRAME_BYTES:
            why = "empty" if not data else "an odd number of bytes" if len(data) % 2 else "over 10 seconds"
            await self.frame_refused("invalid_audio_frame", f"the audio frame is {why}", "invalid_audio_frame",
                                     {"detail": why})  # fmt: skip
            return
        if not self.bucket.take(len(data) / BYTES_PER_MS) and not self.state.drifted("v1-rate-limit-ignored"):
            await self.frame_refused("rate_limited", "audio arrived faster than real time", "rate_limited", None)
            return
        self.frames += 1
        self.accepted_bytes += len(data)
        for message in self.segmenter.feed(data):
            await self.send(message)

    async def on_close(self) -> None:
        for message in self.segmenter.finish():
            await self.send(message)

    def totals(self) -> tuple[dict, dict]:
        received = {"audio_duration_ms": self.accepted_bytes // BYTES_PER_MS, "frames": self.frames}
        produced = {"utterances": self.segmenter.utterances, "measurements": self.segmenter.measurements}
        return received, produced

    def metered_seconds(self) -> float:
        return self.accepted_bytes / BYTES_PER_MS / 1000


class VideoSession(Session):
    endpoint = "video"
    message_limit = MAX_IMAGE_BYTES

    def __init__(self, websocket: WebSocket, state: V1State) -> None:
        super().__init__(websocket, state)
        self.face = {"threshold": FACE_THRESHOLD_DEFAULT, "min_size": FACE_MIN_SIZE_DEFAULT}
        self.tracker = video.FaceTracker()
        self.bucket = Bucket(VIDEO_FPS, VIDEO_BURST_FRAMES)
        self.results = 0  # frame_id counts results
        self.measured_faces = 0
        self.metered_frames = 0
        self.failures_in_a_row = 0

    def config(self) -> dict:
        face = {"threshold": round(self.face["threshold"], 4), "min_size": self.face["min_size"]}
        return {"image": dict(IMAGE_CONFIG), "face": face}

    def run_config(self) -> dict:
        return video_run_config(self.face["threshold"], self.face["min_size"])

    def apply_update(self, message: dict) -> None:
        unknown = sorted(set(message) - {"type", "image", "face"})
        if unknown:
            raise Refused("config_invalid", f"unknown field `{unknown[0]}`")
        image = message.get("image") or {}
        if (
            not isinstance(image, dict)
            or any(image.get(k, v) != v for k, v in IMAGE_CONFIG.items())
            or (set(image) - set(IMAGE_CONFIG))
        ):
            raise Refused("config_invalid", "only image/jpeg images are accepted")
        face = face_config(message.get("face"), "face")
        self.face = {"threshold": face["threshold"], "min_size": face["min_size"]}

    async def on_media(self, data: bytes) -> None:
        if not self.bucket.take(1) and not self.state.drifted("v1-rate-limit-ignored"):
            await self._refused("rate_limited", "frames arrived faster than 3 per second", "rate_limited", None)
            return
        self.metered_frames += 1  # a frame past the send-rate check is metered, even if invalid (documented)
        try:
            video.check_jpeg(data, pixel_limit=not self.state.drifted("v1-pixel-limit-unchecked"))
        except Refused as exc:
            await self._refused("invalid_image_frame", exc.message, "invalid_image_frame", {"detail": exc.message})
            return
        self.frames += 1  # accepted for measurement
        try:
            found = await run_in_threadpool(video.find_faces, data)
        except Refused as exc:
            await self._measurement_failed(exc.message)
            return
        self.failures_in_a_row = 0
        faces, measured = video.measure_image(found, self.tracker, self.face["threshold"], self.face["min_size"])
        self.measured_faces += measured
        await self.send({"type": "measurement.result", "frame_id": self.results, "faces": faces})
        self.results += 1

    async def _refused(self, code: str, text: str, kind: str, detail: dict | None) -> None:
        if self.state.drifted("v1-frame-id-counts-frames"):
            self.results += 1
        await self.frame_refused(code, text, kind, detail)

    async def _measurement_failed(self, text: str) -> None:
        self.failures_in_a_row += 1
        count = self.failures_in_a_row
        await self.log("inference_failed", {"retryable": False, "consecutive": count})
        if count >= MAX_VIDEO_FAILURES:
            await self.end_with("internal_error", f"{count} frames in a row could not be measured: {text}")
        if self.state.drifted("v1-frame-id-counts-frames"):
            self.results += 1
        # Survivable; not retryable: the same bytes will fail again (retryable says whether it was temporary).
        await self.fail("internal_error", f"the frame could not be measured: {text}", retryable=False)

    def totals(self) -> tuple[dict, dict]:
        return {"frames": self.frames}, {"measurements": self.measured_faces}

    def metered_seconds(self) -> float:
        return self.metered_frames * VIDEO_FRAME_SECONDS


async def audio_realtime(websocket: WebSocket) -> None:
    await _in_a_slot(websocket, AudioSession)


async def video_realtime(websocket: WebSocket) -> None:
    await _in_a_slot(websocket, VideoSession)


async def _in_a_slot(websocket: WebSocket, kind: type[Session]) -> None:
    """The session, if a slot is free; else the handshake is refused as a busy upload is (429 server_busy)."""
    state: V1State = websocket.app.state.v1
    try:
        async with state.sessions.slot():
            await kind(websocket, state).run()
    except Busy:
        cap = state.config.max_realtime_sessions
        refusal = error_response("server_busy", f"Too many realtime sessions (at most {cap} at once); retry later.")
        await websocket.send_denial_response(refusal)
