"""A v1 realtime session judged as a whole: each message by its schema and body rules, and the session by its
protocol (order, counters, utterances, frames and replies).

The judge is fed frames one at a time and keeps only counters and the open utterances, so a transcript of any
length is judged in one pass and bounded memory. Sources: docs:docs/sessions (cut off after the messages table),
and the SDK docstrings of the two realtime operations (docs:reference/audio/stream-audio,
docs:reference/video/stream-images), which are the reference pages' own text.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from contracts.apis.v1 import message_channel, validate_body
from contracts.apis.v1.codes import ADDITION_CODES
from contracts.apis.v1.rules import SOURCE_AUDIO, SOURCE_VIDEO, speech_ended_violations, window_violations
from contracts.readers import Note, ReadError, WsFrame
from contracts.violations import Finding, Violation

SOURCE_SESSIONS = "docs:docs/sessions; docs:reference/audio/stream-audio, reference/video/stream-images"
CLIENT_TYPES = frozenset({"session.update", "session.close"})
# Errors that end the session (sdk:types/error.py, SDK README "Errors"); video internal_error ends it the fifth time
# in a row.
ENDING_CODES = frozenset({"config_invalid", "message_too_large"})
SURVIVABLE_CODES = frozenset({"invalid_audio_frame", "invalid_image_frame", "rate_limited"})
FRAME_ERRORS = frozenset({"invalid_image_frame", "rate_limited", "internal_error"})  # each answers one video frame
VIDEO_FAILURES_TO_END = 5
CONFIDENCE_SLACK = 5e-5  # the threshold is reported to 4 decimals
# A bare transcript says its channel only through its messages; this many frames may pass before one does.
MAX_UNTOLD = 1000


# Documented limits of a client's media frame (docs:docs/limits, docs:docs/audio/realtime, docs:docs/video/realtime).
AUDIO_FRAME_MAX = 320_000  # 10 s of s16le 16 kHz mono
AUDIO_MESSAGE_MAX = 1_048_576
IMAGE_MESSAGE_MAX = 2_000_000  # "2 MB", read as the smaller (as the SDK's own sender does): what a client keeps under
# "2 MB" does not say 2,000,000 or 2,097,152: a server must refuse only what is over both readings
IMAGE_MESSAGE_OVER_ANY_READING = 2 * 1024 * 1024
JPEG_MAGIC = b"\xff\xd8\xff"


MESSAGE_MAX = {"audio": AUDIO_MESSAGE_MAX, "video": IMAGE_MESSAGE_MAX}
REFUSED_OVER = {"audio": AUDIO_MESSAGE_MAX, "video": IMAGE_MESSAGE_OVER_ANY_READING}  # message_too_large is owed
SOURCE_LIMITS = "docs:docs/limits, docs:docs/audio/realtime, docs:docs/video/realtime"


def media_problem(channel: str, frame: WsFrame) -> str | None:
    """How a client's binary frame breaks its documented limits (what the server answers with an error)."""
    if channel == "audio":
        if frame.size == 0 or frame.size % 2:
            return f"holds {frame.size} bytes: whole 16-bit samples are an even, non-zero count (invalid_audio_frame)"
        if frame.size > AUDIO_MESSAGE_MAX:
            return f"is {frame.size} bytes, over 1 MiB (message_too_large ends the session)"
        if frame.size > AUDIO_FRAME_MAX:
            return f"is {frame.size} bytes, over 10 s of audio (invalid_audio_frame)"
        return None
    if frame.size > IMAGE_MESSAGE_MAX:
        return f"is {frame.size} bytes, over 2 MB (message_too_large ends the session)"
    if not frame.head.startswith(JPEG_MAGIC):
        return "is not a JPEG (invalid_image_frame)"
    return None


def message_direction(message: Any) -> str:
    """A bare v1 message's direction follows from its type: the client sends only these two."""
    kind = message.get("type") if isinstance(message, dict) else None
    return "sent" if isinstance(kind, str) and kind in CLIENT_TYPES else "received"


@dataclass
class _Audio:
    next_utterance: int = 0
    open: dict[int, dict[str, Any]] = field(default_factory=dict)  # utterance id -> its start message
    last: dict[int, dict[str, Any] | None] = field(default_factory=dict)  # utterance id -> its latest measurement
    window_end: dict[int, int] = field(default_factory=dict)  # utterance id -> where its windows end, at the latest
    measurements: int = 0
    utterances: int = 0


@dataclass
class _Video:
    next_frame: int = 0
    threshold: float | None = None
    consecutive_failures: int = 0
    measured_faces: int = 0
    frames_sent: int = 0
    frames_sent_before_close: int | None = None
    replies: int = 0


def judge_frames(item: Any, disabled: Collection[str] = (), strict_requests: bool = False) -> Iterator[Any]:
    """The results of one recorded session: its frames' findings in order, then the session's own.

    The channel is told by the recorded path, else by the first message that says it (a bare transcript);
    frames before that wait, at most ``MAX_UNTOLD`` of them."""
    from contracts.apis.v1 import channel_for_path

    channel = channel_for_path(item.path) if item.path else None
    waiting: list[WsFrame] = []
    judge: SessionJudge | None = None
    for frame in item.frames:
        if isinstance(frame, ReadError):
            yield frame
            continue
        if judge is None:
            channel = channel or _told_channel(frame)
            if channel is None and len(waiting) < MAX_UNTOLD:
                waiting.append(frame)
                continue
            if channel is None:
                yield ReadError(item.source, item.location, f"no message in the first {MAX_UNTOLD} says audio or video")
                return
            judge = SessionJudge(channel, item.source, disabled, strict_requests)
            for held in waiting:
                yield from judge.feed(held)
            waiting.clear()
        yield from judge.feed(frame)
    if judge is None and waiting:
        yield ReadError(item.source, item.location, "cannot tell the channel (audio or video) of this session")
        return
    if judge is not None:
        yield from judge.finish()


def _told_channel(frame: WsFrame) -> str | None:
    if frame.opcode == 1 and isinstance(frame.message, dict):
        return message_channel(frame.message)
    return None


class SessionJudge:
    """Judges one session; ``feed`` each frame in order, then ``finish``. Both return results to report."""

    def __init__(
        self, channel: str, source: str, disabled: Collection[str] = (), strict_requests: bool = False
    ) -> None:
        self.channel = channel
        self.source = source
        self.disabled = disabled
        self.strict_requests = strict_requests
        self.server_messages = 0
        self.created_first = False  # the session began with session.created (so its totals can be checked)
        self.closed_at: str | None = None
        self.ending_error: dict[str, Any] | None = None
        self.media_seen = False
        self.updates_before_media = 0
        self.updates_after_media = 0
        self.sent_anything = False
        self.unasked_updates: list[str] = []  # judged at the end: only a transcript holding sent frames can tell
        self.oversized_at: str | None = None  # the first client message over the channel's size limit
        self.too_large_answered = False
        self.previous_survivable = False  # the last server message was a survivable error
        self.close_seen = False
        self.audio = _Audio()
        self.video = _Video()

    # -- frames ---------------------------------------------------------------------------------------------

    def feed(self, frame: WsFrame) -> list[Any]:
        self.close_seen = self.close_seen or frame.opcode == 8
        if frame.direction == "sent":
            self.sent_anything = True
            return self._sent(frame)
        if frame.opcode != 1:
            return []  # a server close or binary frame: nothing v1 promises about it here
        return [self._received(frame)]

    def finish(self) -> list[Finding]:
        found = []
        if self.sent_anything and self.unasked_updates:
            found += [
                self._finding(where, [_v("v1-session-updated-unasked", "", "a session.update before it", "none")])
                for where in self.unasked_updates
            ]
        ended = self.closed_at is not None or self.close_seen  # the recording holds the session's end
        if self.oversized_at is not None and not self.too_large_answered and ended:
            expected = "an error message_too_large ending the session"
            violation = _v("v1-message-too-large-unanswered", "", expected, "none", SOURCE_LIMITS)
            found.append(self._finding(self.oversized_at, [violation]))
        return found

    def _sent(self, frame: WsFrame) -> list[Any]:
        if frame.opcode == 2:
            self.media_seen = True
            self.video.frames_sent += 1
            if frame.size > REFUSED_OVER[self.channel] and self.oversized_at is None:
                self.oversized_at = frame.location
            problem = media_problem(self.channel, frame)
            return [Note(self.source, frame.location, f"the client's frame {problem}")] if problem else []
        if frame.opcode != 1 or not isinstance(frame.message, dict):
            return []
        kind = f"v1-{self.channel}-client-message"
        finding = Finding(self.source, frame.location, kind, validate_body(frame.message, kind, disabled=self.disabled))
        self._count_sent(frame.message)
        return [self._judged_request(finding)]

    def _judged_request(self, finding: Finding) -> Finding | Note:
        """A client message that breaks the contract is the client's fault, not the server's: a note, unless
        ``strict_requests`` (checking your own client) makes it a violation."""
        broken = [v for v in finding.violations if v.code not in ADDITION_CODES]
        if not broken or self.strict_requests:
            return finding
        first = broken[0].describe() + (f"; {len(broken) - 1} more" if len(broken) > 1 else "")
        return Note(finding.source, finding.location, f"the client's message breaks the contract ({first})")

    def _count_sent(self, message: dict[str, Any]) -> None:
        message_type = message.get("type")
        if message_type == "session.update":
            if self.media_seen:
                self.updates_after_media += 1
            else:
                self.updates_before_media += 1
        elif message_type == "session.close" and self.video.frames_sent_before_close is None:
            self.video.frames_sent_before_close = self.video.frames_sent

    def _received(self, frame: WsFrame) -> Finding:
        kind = f"v1-{self.channel}-server-message"
        message = frame.message
        violations = validate_body(message, kind, disabled=self.disabled)
        if isinstance(message, dict):
            violations += [v for v in self._protocol(message, frame.location) if v.code not in self.disabled]
        return Finding(self.source, frame.location, kind, violations)

    def _finding(self, location: str, violations: list[Violation]) -> Finding:
        kept = [v for v in violations if v.code not in self.disabled]
        return Finding(self.source, f"{location} (session)", f"v1-{self.channel}-session", kept)

    # -- protocol -------------------------------------------------------------------------------------------

    def _protocol(self, message: dict[str, Any], location: str) -> Iterator[Violation]:
        message_type = message.get("type")
        first = self.server_messages == 0
        self.server_messages += 1
        if self.closed_at is not None:
            yield _v(
                "v1-session-closed-last", "/type", f"nothing after session.closed ({self.closed_at})", str(message_type)
            )
        if self.ending_error is not None and message_type != "session.closed":
            code = self.ending_error.get("code")
            yield _v(
                "v1-session-ending-error", "/type", f"session.closed after the session-ending {code}", str(message_type)
            )
        if first and message_type != "session.created":
            yield _v("v1-session-created-first", "/type", "session.created first", str(message_type))
        if message_type == "session.created":
            yield from self._on_session_created(message, first)
        elif self._judged(message_type):
            yield from getattr(self, _HANDLERS[message_type])(message, location)
        code = message.get("code")
        self.previous_survivable = message_type == "error" and isinstance(code, str) and code in SURVIVABLE_CODES

    def _judged(self, message_type: Any) -> bool:
        """Whether a message's own protocol rules apply: a known type, and, for counters and utterances, a
        recording that holds the session's start (one that began later cannot tell them)."""
        known = isinstance(message_type, str) and message_type in _HANDLERS
        return known and (self.created_first or message_type in _WITHOUT_START)

    def _on_session_created(self, message: dict[str, Any], first: bool) -> Iterator[Violation]:
        if not first:
            yield _v("v1-session-created-first", "/type", "session.created once, first", "a second session.created")
            return
        self.created_first = True
        self._take_face_config(message)

    def _on_session_updated(self, message: dict[str, Any], location: str) -> Iterator[Violation]:
        if self.updates_before_media:
            self.updates_before_media -= 1
        elif self.updates_after_media:
            self.updates_after_media -= 1
            yield _v(
                "v1-session-update-after-media",
                "/type",
                "config_invalid for a session.update after the first media frame",
                "session.updated",
            )
        else:
            self.unasked_updates.append(location)
        self._take_face_config(message)

    def _take_face_config(self, message: dict[str, Any]) -> None:
        face = message.get("face")
        if isinstance(face, dict) and _number(face.get("threshold")):
            self.video.threshold = face["threshold"]

    def _on_session_closed(self, message: dict[str, Any], location: str) -> Iterator[Violation]:
        if self.closed_at is None:
            self.closed_at = location
        if self.ending_error is None and message.get("reason") == "error" and self.previous_survivable:
            expected = "the session to continue after a survivable error"
            yield _v("v1-survivable-error-ended", "/reason", expected, "session.closed with reason error")
        if self.ending_error is not None and message.get("reason") != "error":
            yield _v(
                "v1-session-ending-error", "/reason", '"error" after a session-ending error', str(message.get("reason"))
            )
        if self.created_first:
            yield from self._totals(message)
        if self.channel == "video":
            yield from self._unanswered_frames(message)

    def _on_error(self, message: dict[str, Any], location: str) -> Iterator[Violation]:
        code = message.get("code") if isinstance(message.get("code"), str) else None
        retryable = message.get("retryable")
        self.too_large_answered = self.too_large_answered or code == "message_too_large"
        if self.channel == "video" and code in FRAME_ERRORS:
            yield from self._video_reply()
        ends = code in ENDING_CODES or (code == "internal_error" and self._internal_error_ends())
        if ends:
            self.ending_error = message
            if retryable is not False:
                yield _v("v1-session-ending-error", "/retryable", "false for a session-ending error", str(retryable))
        elif code in SURVIVABLE_CODES and retryable is False:
            yield _v("v1-error-retryable", "/retryable", f"true for the survivable {code}", "false")

    def _internal_error_ends(self) -> bool:
        if self.channel == "audio":
            return True  # "if measurement fails, you receive internal_error and the session ends"
        self.video.consecutive_failures += 1
        return self.video.consecutive_failures >= VIDEO_FAILURES_TO_END

    # -- audio ----------------------------------------------------------------------------------------------

    def _on_utterance_start(self, message: dict[str, Any], location: str) -> Iterator[Violation]:
        utterance_id = message.get("utterance_id")
        if not _int(utterance_id):
            return
        if utterance_id != self.audio.next_utterance:
            yield _v(
                "v1-utterance-sequence",
                "/utterance_id",
                str(self.audio.next_utterance),
                str(utterance_id),
                SOURCE_AUDIO,
            )
        self.audio.next_utterance = utterance_id + 1
        self.audio.utterances += 1
        self.audio.open[utterance_id] = message
        self.audio.last[utterance_id] = None

    def _on_measurement_result(self, message: dict[str, Any], location: str) -> Iterator[Violation]:
        if self.channel == "video":
            yield from self._video_result(message)
            return
        measurement_id = message.get("measurement_id")
        if _int(measurement_id) and measurement_id != self.audio.measurements:
            expected = str(self.audio.measurements)
            yield _v("v1-measurement-id-sequence", "/measurement_id", expected, str(measurement_id), SOURCE_AUDIO)
        self.audio.measurements += 1
        utterance_id = message.get("utterance_id")
        start = self.audio.open.get(utterance_id) if _int(utterance_id) else None
        if _int(utterance_id) and start is None:
            yield _not_open(utterance_id)
            return
        if start is None:
            return
        yield from window_violations(message, start.get("audio_start_ms"), "")
        yield from speech_ended_violations(self.audio.last.get(utterance_id), message, "")
        self.audio.last[utterance_id] = message
        if _int(end := message.get("audio_end_ms")):
            self.audio.window_end[utterance_id] = max(end, self.audio.window_end.get(utterance_id, end))

    def _on_utterance_end(self, message: dict[str, Any], location: str) -> Iterator[Violation]:
        utterance_id = message.get("utterance_id")
        start = self.audio.open.pop(utterance_id, None) if _int(utterance_id) else None
        if start is None:
            if _int(utterance_id):
                yield _not_open(utterance_id)
            return
        if self.audio.last.pop(utterance_id, None) is None:
            yield _v("v1-utterance-measured", "", "at least one measurement of the utterance", "none", SOURCE_AUDIO)
        yield from self._windows_within(message, self.audio.window_end.pop(utterance_id, None))
        begun = start.get("audio_start_ms")
        if _int(begun) and message.get("audio_start_ms") != begun:
            yield _v(
                "v1-utterance-sequence",
                "/audio_start_ms",
                f"{begun}, as utterance.start",
                str(message.get("audio_start_ms")),
                SOURCE_AUDIO,
            )

    def _windows_within(self, end_message: dict[str, Any], latest_window_end: int | None) -> Iterator[Violation]:
        """The utterance's measurement windows lie within it: none ends after the end utterance.end gives (as an
        upload's windows are held to their utterance; unjudged when the utterance ends before it starts, which is
        v1-utterance-sequence's fault)."""
        begun, ended = end_message.get("audio_start_ms"), end_message.get("audio_end_ms")
        if latest_window_end is None or not _int(ended) or (_int(begun) and ended < begun):
            return
        if latest_window_end > ended:
            expected = f">= {latest_window_end}, where its measurement windows end"
            yield _v("v1-window-bounds", "/audio_end_ms", expected, str(ended), SOURCE_AUDIO)

    # -- video ----------------------------------------------------------------------------------------------

    def _video_result(self, message: dict[str, Any]) -> Iterator[Violation]:
        self.video.consecutive_failures = 0
        yield from self._video_reply()
        frame_id = message.get("frame_id")
        if _int(frame_id) and frame_id != self.video.next_frame:
            yield _v("v1-frame-id-sequence", "/frame_id", str(self.video.next_frame), str(frame_id), SOURCE_VIDEO)
        self.video.next_frame += 1
        faces = message.get("faces") if isinstance(message.get("faces"), list) else []
        for index, face in enumerate(faces):
            if not isinstance(face, dict):
                continue
            self.video.measured_faces += face.get("face_id") is not None
            confidence, threshold = face.get("confidence"), self.video.threshold
            if _number(confidence) and threshold is not None and confidence < threshold - CONFIDENCE_SLACK:
                yield _v(
                    "v1-confidence-threshold",
                    f"/faces/{index}/confidence",
                    f">= the threshold {threshold}",
                    str(confidence),
                    SOURCE_VIDEO,
                )

    def _video_reply(self) -> Iterator[Violation]:
        """Every frame gets exactly one reply, in order: never more replies than frames sent."""
        self.video.replies += 1
        if self.video.frames_sent and self.video.replies > self.video.frames_sent:
            expected = f"at most one reply per frame ({self.video.frames_sent} sent)"
            yield _v("v1-video-replies", "", expected, f"reply {self.video.replies}", SOURCE_VIDEO)

    def _unanswered_frames(self, message: dict[str, Any]) -> Iterator[Violation]:
        before_close = self.video.frames_sent_before_close
        if message.get("reason") == "client_request" and before_close and self.video.replies < before_close:
            expected = f"a reply to each of the {before_close} frames sent before session.close"
            yield _v("v1-video-replies", "", expected, f"{self.video.replies} replies", SOURCE_VIDEO)

    def _totals(self, message: dict[str, Any]) -> Iterator[Violation]:
        produced = message.get("produced") if isinstance(message.get("produced"), dict) else {}
        counted = (
            {"measurements": self.audio.measurements, "utterances": self.audio.utterances}
            if self.channel == "audio"
            else {"measurements": self.video.measured_faces}
        )
        for key, count in counted.items():
            if _int(produced.get(key)) and produced[key] != count:
                yield _v(
                    "v1-session-totals", f"/produced/{key}", f"{count}, as the session's messages", str(produced[key])
                )


# The server messages the protocol follows, by type (session.created is handled apart: it is first or wrong).
_HANDLERS = {
    "session.updated": "_on_session_updated",
    "session.closed": "_on_session_closed",
    "error": "_on_error",
    "utterance.start": "_on_utterance_start",
    "measurement.result": "_on_measurement_result",
    "utterance.end": "_on_utterance_end",
}


# What can be judged of a session whose start is not in the recording.
_WITHOUT_START = frozenset({"error", "session.closed"})


def _not_open(utterance_id: int) -> Violation:
    return _v(
        "v1-utterance-open", "/utterance_id", "an utterance started and not ended", str(utterance_id), SOURCE_AUDIO
    )


def _v(code: str, at: str, expected: str, found: str, source: str = SOURCE_SESSIONS) -> Violation:
    return Violation(code, at, expected, found, source)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
