"""Media for the v1 mock tests: PCM with speech and silence where wanted, WAV of it, JPEGs with n faces."""

from __future__ import annotations

import io
import math
import sys
import wave
from array import array

from PIL import Image, ImageDraw

from strategies.media import make_jpeg

RATE = 16_000


def pcm(*segments: tuple[int, bool]) -> bytes:
    """s16le 16 kHz mono: each segment is (milliseconds, loud); loud is a 220 Hz tone at 30 % of full scale."""
    samples = array("h")
    for ms, loud in segments:
        count = RATE * ms // 1000
        if loud:
            step = 2 * math.pi * 220 / RATE
            samples.extend(int(0.3 * 32767 * math.sin(step * n)) for n in range(count))
        else:
            samples.extend([0] * count)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def wav(samples: bytes, *, rate: int = RATE, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples)
    return buffer.getvalue()


def face_jpeg(width: int = 256, height: int = 256) -> bytes:
    """The suite's face drawer (one face)."""
    return make_jpeg(width, height, face=True).data


def plain_jpeg(width: int = 128, height: int = 128) -> bytes:
    return make_jpeg(width, height, face=False).data


def faces_jpeg(boxes: list[tuple[int, int, int, int]], size: tuple[int, int] = (640, 360)) -> bytes:
    """A JPEG with a light ellipse (a face to the mock) in each (x0, y0, x1, y1) box on a dark background."""
    image = Image.new("RGB", size, (20, 30, 40))
    draw = ImageDraw.Draw(image)
    for box in boxes:
        draw.ellipse(box, fill=(230, 200, 170))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()
