"""The client's own mistakes in a v1 realtime session, the ones Hume's docs warn about, seen frame by frame.

Each is reported as a ``ClientFinding`` with its own code (``contracts.apis.v1.codes.CLIENT_CODES``), never as a
violation: what the server does about it (an ``error``, the session ending) is the server's business and judged
by ``contracts.apis.v1.session``. Bounded memory: a few counters per session.

Not checked, because nothing on the wire shows it: whether a client pairs video results with its frames by
``frame_id`` (the docs say to pair them by position, since a frame answered with an ``error`` gets no
``frame_id``): the client keeps its frames to itself and sends no ``frame_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.apis.v1.session import REFUSED_OVER
from contracts.readers import WsFrame
from contracts.violations import ClientFinding

SOURCE_AUDIO = "docs:docs/limits, docs:docs/audio/realtime, docs:reference/audio/stream-audio"
SOURCE_VIDEO = "docs:docs/limits, docs:docs/video/realtime, docs:reference/video/stream-images"
SOURCES = {"audio": SOURCE_AUDIO, "video": SOURCE_VIDEO}

BYTES_PER_SECOND = 32_000  # s16le, 16 kHz, mono
# only what is over the limit on any reading of "2 MB" is reported (the session judge's own bound)
MESSAGE_MAX = REFUSED_OVER


@dataclass(frozen=True)
class SendRate:
    """A documented send rate as a token bucket: ``per_second`` units refill, up to ``burst`` held.

    The burst is ours, on the client's side: a documented maximal frame (10 s of audio) may always go at once,
    plus a margin for frames the network bunched up on their way to the proxy. A client this reports has sent
    more than the documented rate over some stretch of time, however the rate is read.
    """

    per_second: float
    burst: float


AUDIO_RATE = SendRate(per_second=1.0, burst=10.0 + 1.0)  # seconds of audio: 1 s per second
VIDEO_RATE = SendRate(per_second=3.0, burst=6.0)  # frames: up to 3 per second


class _Bucket:
    def __init__(self, rate: SendRate) -> None:
        self.rate = rate
        self.tokens = rate.burst
        self.last: float | None = None

    def take(self, amount: float, at: float) -> bool:
        """Spend ``amount`` sent at ``at`` (seconds); False when that is over the rate."""
        if self.last is not None:
            self.tokens = min(self.rate.burst, self.tokens + max(0.0, at - self.last) * self.rate.per_second)
        self.last = at if self.last is None else max(self.last, at)
        self.tokens -= amount
        return self.tokens >= 0


class ClientWatch:
    """Feed every frame the client sends (with when it was sent); each returns the client's mistakes in it."""

    def __init__(self, channel: str, source: str) -> None:
        self.channel = channel
        self.source = source
        self.media_seen = False
        self.rate = _Bucket(AUDIO_RATE if channel == "audio" else VIDEO_RATE)
        self.too_fast_said = False  # the send rate is said once per session: one line, not one per frame

    def sent(self, frame: WsFrame, at: float) -> list[ClientFinding]:
        if frame.opcode not in (1, 2):
            return []
        mistake = self._too_large(frame)
        if mistake is None and frame.opcode == 2:
            mistake = self._media(frame, at)
        elif mistake is None and self._is_late_update(frame):
            mistake = self._finding(
                frame,
                "client-config-after-media",
                "session.update after the first media frame: the server ends the session with config_invalid",
            )
        self.media_seen = self.media_seen or frame.opcode == 2
        return [mistake] if mistake is not None else []

    def _too_large(self, frame: WsFrame) -> ClientFinding | None:
        limit = MESSAGE_MAX[self.channel]
        if frame.size <= limit:
            return None
        what = "media frame" if frame.opcode == 2 else "text message"
        found = f"a {what} of {frame.size:,} bytes, over the {self.channel} limit of {limit:,}"
        return self._finding(frame, "client-message-too-large", f"{found}: the server ends the session")

    def _media(self, frame: WsFrame, at: float) -> ClientFinding | None:
        if self.channel == "audio" and frame.size % 2:
            found = f"an audio frame of {frame.size:,} bytes, not whole 16-bit samples (an even count)"
            return self._finding(frame, "client-odd-audio-frame", f"{found}: invalid_audio_frame")
        if frame.size == 0:
            return None  # nothing to measure, so nothing spent (the server answers it as invalid)
        amount = frame.size / BYTES_PER_SECOND if self.channel == "audio" else 1.0
        if self.rate.take(amount, at) or self.too_fast_said:
            return None
        self.too_fast_said = True
        burst = self.rate.rate.burst
        rate, allowed = (
            ("1 second of audio per second", f"{burst:g} s of audio")
            if self.channel == "audio"
            else ("3 frames per second", f"{burst:g} frames")
        )
        found = f"media faster than the documented {rate} (beyond a burst of {allowed})"
        return self._finding(frame, "client-faster-than-realtime", f"{found}: frames may be rejected as rate_limited")

    def _is_late_update(self, frame: WsFrame) -> bool:
        message = frame.message
        return self.media_seen and isinstance(message, dict) and message.get("type") == "session.update"

    def _finding(self, frame: WsFrame, code: str, message: str) -> ClientFinding:
        return ClientFinding(self.source, frame.location, code, message, SOURCES[self.channel])
