"""Media for v1 requests and sessions: 16 kHz s16le PCM (speech, silence, noise), WAV of it, JPEGs with and
without faces, and a JPEG that reads but cannot be decoded. Deterministic builders and Hypothesis strategies.

"Speech" is a 220 Hz tone at 30 % of full scale: any server that finds speech by energy (the mock's documented
rule) hears it; silence is zeros; noise is low-level random samples (under the mock's speech energy).
"""

from __future__ import annotations

import io
import math
import random
import sys
import wave
from array import array

from hypothesis import strategies as st
from PIL import Image, ImageDraw

from strategies.media import make_jpeg

RATE = 16_000
BYTES_PER_MS = RATE * 2 // 1000


def _bytes(samples: array) -> bytes:
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def pcm(*segments: tuple[int, bool]) -> bytes:
    """s16le 16 kHz mono: each segment is (milliseconds, loud); loud is the tone, quiet is silence."""
    samples = array("h")
    step = 2 * math.pi * 220 / RATE
    for ms, loud in segments:
        count = RATE * ms // 1000
        if loud:
            samples.extend(int(0.3 * 32767 * math.sin(step * n)) for n in range(count))
        else:
            samples.extend([0] * count)
    return _bytes(samples)


def noise(ms: int, seed: int = 0, amplitude: int = 200) -> bytes:
    """Low-level noise (RMS well under speech level): neither silence nor speech."""
    generator = random.Random(seed)
    return _bytes(array("h", (generator.randint(-amplitude, amplitude) for _ in range(RATE * ms // 1000))))


def wav(samples: bytes, *, rate: int = RATE, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples)
    return buffer.getvalue()


def face_jpeg(width: int = 256, height: int = 256) -> bytes:
    """The suite's face drawer: one face."""
    return make_jpeg(width, height, face=True).data


def plain_jpeg(width: int = 128, height: int = 128) -> bytes:
    """One colour: no face."""
    return make_jpeg(width, height, face=False).data


def faces_jpeg(boxes: list[tuple[int, int, int, int]], size: tuple[int, int] = (640, 360)) -> bytes:
    """A light ellipse (a face to an energy-and-shape finder like the mock's) in each (x0, y0, x1, y1) box."""
    image = Image.new("RGB", size, (20, 30, 40))
    draw = ImageDraw.Draw(image)
    for box in boxes:
        draw.ellipse(box, fill=(230, 200, 170))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def broken_jpeg() -> bytes:
    """A JPEG whose header reads but whose pixels cannot be decoded (a frame that fails measurement)."""
    whole = face_jpeg()
    return whole[: len(whole) // 2]


def oversized_jpeg() -> bytes:
    """3841 x 2160: one pixel row over the 8,294,400-pixel limit, small in bytes."""
    out = io.BytesIO()
    Image.new("RGB", (3841, 2160), (10, 20, 30)).save(out, "JPEG")
    return out.getvalue()


# ---- strategies: what a generated session sends
AUDIO_KINDS = ("speech", "silence", "noise")
VIDEO_KINDS = ("face", "faces", "no-face")


@st.composite
def audio_chunks(draw: st.DrawFn, max_ms: int = 1000) -> tuple[str, int]:
    """(kind, milliseconds): a chunk of speech, silence or noise, 20 ms to ``max_ms``, whole 20 ms blocks."""
    return draw(st.sampled_from(AUDIO_KINDS)), 20 * draw(st.integers(1, max_ms // 20))


def audio_chunk_bytes(kind: str, ms: int, seed: int = 0) -> bytes:
    if kind == "speech":
        return pcm((ms, True))
    if kind == "noise":
        return noise(ms, seed)
    return pcm((ms, False))


def video_frames() -> st.SearchStrategy[str]:
    return st.sampled_from(VIDEO_KINDS)


_FRAMES: dict[str, bytes] = {}


def video_frame_bytes(kind: str) -> bytes:
    """The JPEG of a frame kind (built once)."""
    if kind not in _FRAMES:
        _FRAMES[kind] = {
            "face": face_jpeg,
            "faces": lambda: faces_jpeg([(10, 10, 200, 200), (300, 50, 410, 160)]),
            "no-face": plain_jpeg,
        }[kind]()
    return _FRAMES[kind]
