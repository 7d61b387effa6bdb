"""Audio of the v1 mock: reading an upload, and the speech segmenter shared by uploads and realtime sessions.

The documented rule (CHOICE of the mock, see ``protocol``): audio is judged in 20 ms blocks; a block whose
sample RMS is >= 500 is speech. An utterance starts where its first speech block starts and ends where its
last speech block ends, once 500 ms pass without speech (or the audio ends, or the session closes). During an
utterance a measurement is due every ``measurement_timer_ms`` ms after its start (``interval``), emitted when a
speech block reaches that point; when it ends, a ``speech_ended`` measurement follows unless the previous one
ended less than 1 s earlier (every utterance gets at least one). A window covers at most the latest 10 s.
Scores are seeded by the RMS values of the window's blocks, so the same audio scores the same in a file and in
a session.
"""

from __future__ import annotations

import io
import operator
import sys
import wave
from array import array
from collections import deque
from dataclasses import dataclass, field

from mockserver.v1.errors import Refused
from mockserver.v1.protocol import (
    BLOCK_MS,
    HANGOVER_MS,
    SAMPLE_BYTES,
    SAMPLE_RATE,
    SPEECH_ENDED_GAP_MS,
    SPEECH_RMS,
    WINDOW_MS,
)
from mockserver.v1.scores import audio_scores

BLOCK_SAMPLES = SAMPLE_RATE * BLOCK_MS // 1000
BLOCK_BYTES = BLOCK_SAMPLES * SAMPLE_BYTES
OTHER_CONTAINERS = (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"fLaC", b"OggS")


def samples_of_upload(data: bytes) -> bytes:
    """The s16le 16 kHz mono samples of an upload (WAV or headerless), or Refused as documented."""
    if data[:4] == b"RIFF" and data[8:12] != b"WAVE":
        raise Refused("unsupported_media_type", "a RIFF file other than WAV; send WAV or headerless PCM")
    if data.startswith(OTHER_CONTAINERS) or data[4:8] == b"ftyp":
        raise Refused("unsupported_media_type", "MP3, FLAC, Ogg, MP4 and M4A are not read; convert to WAV")
    if data[:4] == b"RIFF":
        return _wav_samples(data)
    if not data or len(data) % SAMPLE_BYTES:
        raise Refused("audio_decode_failed", "headerless audio must be a non-empty, even number of bytes")
    return data


def _wav_samples(data: bytes) -> bytes:
    try:
        with wave.open(io.BytesIO(data)) as wav:
            shape = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
            declared = wav.getnframes()
            frames = wav.readframes(declared)
    except (wave.Error, EOFError, OSError, ValueError) as exc:
        raise Refused("audio_decode_failed", f"the WAV file is malformed: {exc}") from None
    if shape != (1, SAMPLE_BYTES, SAMPLE_RATE):
        channels, width, rate = shape
        raise Refused(
            "audio_decode_failed",
            f"WAV must be 16-bit PCM, 16 kHz, mono; this one is {8 * width}-bit, {rate} Hz, {channels} channel(s)",
        )
    if len(frames) != declared * SAMPLE_BYTES:
        raise Refused("audio_decode_failed", "the WAV file is truncated: fewer samples than its header says")
    if not frames:
        raise Refused("audio_decode_failed", "the WAV file holds no samples")
    return frames


def block_rms(block: bytes) -> int:
    """Integer RMS of s16le samples (C-speed: ``map`` over an ``array``)."""
    samples = array("h", block)
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return 0
    return int((sum(map(operator.mul, samples, samples)) / len(samples)) ** 0.5)


@dataclass
class _Utterance:
    utterance_id: int
    start_ms: int
    last_speech_ms: int  # where its latest speech block ended
    next_due_ms: int
    last_measured_ms: int | None = None
    blocks: deque = field(default_factory=deque)  # (block start ms, rms) of at most the latest window


class Segmenter:
    """Feed s16le samples in any cut; get the session messages (``utterance.start``, ``measurement.result``,
    ``utterance.end``) in order. ``finish`` ends the audio (file end or ``session.close``)."""

    def __init__(
        self, measurement_timer_ms: int, *, window_ms: int = WINDOW_MS, ended_gap_ms: int = SPEECH_ENDED_GAP_MS
    ) -> None:
        self.timer_ms = measurement_timer_ms
        self.window_ms = window_ms
        self.ended_gap_ms = ended_gap_ms
        self.samples = 0  # samples judged so far: the audio position
        self._pending = bytearray()
        self._current: _Utterance | None = None
        self.utterances = 0
        self.measurements = 0

    @property
    def position_ms(self) -> int:
        return self.samples * 1000 // SAMPLE_RATE

    def feed(self, pcm: bytes) -> list[dict]:
        self._pending += pcm
        out: list[dict] = []
        whole = len(self._pending) - len(self._pending) % BLOCK_BYTES
        for offset in range(0, whole, BLOCK_BYTES):
            self._judge(bytes(self._pending[offset : offset + BLOCK_BYTES]), out)
        del self._pending[:whole]
        return out

    def finish(self) -> list[dict]:
        out: list[dict] = []
        if self._pending:
            self._judge(bytes(self._pending), out)
            self._pending.clear()
        self._end_utterance(out)
        return out

    def _judge(self, block: bytes, out: list[dict]) -> None:
        start_ms = self.position_ms
        self.samples += len(block) // SAMPLE_BYTES
        end_ms = self.position_ms
        rms = block_rms(block)
        current = self._current
        if rms < SPEECH_RMS:
            if current is not None and end_ms - current.last_speech_ms >= HANGOVER_MS:
                self._end_utterance(out)
            return
        if current is None:
            current = self._start_utterance(start_ms, out)
        current.last_speech_ms = end_ms
        current.blocks.append((start_ms, rms))
        while current.blocks and current.blocks[0][0] < end_ms - self.window_ms - BLOCK_MS:
            current.blocks.popleft()
        if end_ms >= current.next_due_ms:
            out.append(self._measure(current, current.next_due_ms, "interval"))
            current.next_due_ms += self.timer_ms

    def _start_utterance(self, start_ms: int, out: list[dict]) -> _Utterance:
        current = _Utterance(self.utterances, start_ms, start_ms, start_ms + self.timer_ms)
        self._current = current
        self.utterances += 1
        out.append({"type": "utterance.start", "utterance_id": current.utterance_id, "audio_start_ms": start_ms})
        return current

    def _end_utterance(self, out: list[dict]) -> None:
        current = self._current
        if current is None:
            return
        end_ms = current.last_speech_ms
        if current.last_measured_ms is None or end_ms - current.last_measured_ms >= self.ended_gap_ms:
            out.append(self._measure(current, end_ms, "speech_ended"))
        out.append(
            {
                "type": "utterance.end",
                "utterance_id": current.utterance_id,
                "audio_start_ms": current.start_ms,
                "audio_end_ms": end_ms,
            }
        )
        self._current = None

    def _measure(self, current: _Utterance, end_ms: int, trigger: str) -> dict:
        start_ms = max(current.start_ms, end_ms - self.window_ms)
        seed = tuple(rms for block_start, rms in current.blocks if start_ms <= block_start < end_ms)
        expressions, voice = audio_scores((start_ms - current.start_ms, end_ms - start_ms, seed))
        current.last_measured_ms = end_ms
        measurement = {
            "type": "measurement.result",
            "measurement_id": self.measurements,
            "utterance_id": current.utterance_id,
            "audio_start_ms": start_ms,
            "audio_end_ms": end_ms,
            "trigger": trigger,
            "expressions": expressions,
            "voice_attributes": voice,
        }
        self.measurements += 1
        return measurement


def measure_file(samples: bytes, measurement_timer_ms: int, **options: int) -> tuple[list[dict], list[dict], int]:
    """Utterances, measurements and duration (ms) of a whole upload, as ``AudioFileResponse`` lists them."""
    segmenter = Segmenter(measurement_timer_ms, **options)
    messages = segmenter.feed(samples) + segmenter.finish()
    utterances = [
        {key: message[key] for key in ("utterance_id", "audio_start_ms", "audio_end_ms")}
        for message in messages
        if message["type"] == "utterance.end"
    ]
    measurements = [
        {key: value for key, value in message.items() if key != "type"}
        for message in messages
        if message["type"] == "measurement.result"
    ]
    return utterances, measurements, segmenter.position_ms
