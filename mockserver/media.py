"""What the mock learns from one input: its kind, and the few facts its fake models need.

Images (PNG/JPEG, Pillow) and WAV audio (stdlib ``wave``) are really decoded; video and URLs are never
decoded or fetched: their facts are derived deterministically from the input's digest.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import wave
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

MAX_IMAGE_PIXELS = 25_000_000  # refuse before decoding: a 1 KB PNG can claim 100k x 100k pixels
MAX_AUDIO_SECONDS = 600.0
MAX_TEXT_CHARS = 10_000  # per text file, as for each entry of a request's `text`
ANALYSIS_SIDE = 256  # faces are found on a thumbnail of at most this side
BACKGROUND_DIFFERENCE = 24  # grey levels a pixel must differ from the corner to count as foreground
BURST_PEAK = 0.2  # fraction of full scale above which a sound counts as a vocal burst
FACEMESH_LANDMARKS = 478
MAX_FACEMESH_FACES = 100


class MediaError(Exception):
    """An input the mock cannot read. ``code`` is the stream error code that reports it."""

    def __init__(self, message: str, code: str = "E0200") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Media:
    """One input as the fake models see it. ``seed`` (hex md5 of the input) makes every score reproducible."""

    kind: str  # image | audio | video | text | facemesh
    seed: str
    width: int = 0
    height: int = 0
    faces: tuple[Box, ...] = ()
    duration_s: float = 0.0
    burst_at_s: float | None = None  # the loudest moment, when loud enough to be a vocal burst
    text: str = ""
    has_audio: bool = False
    landmark_faces: int = 0  # facemesh payloads: how many faces of landmarks were sent


def digest(data: bytes | str) -> str:
    return hashlib.md5(data.encode() if isinstance(data, str) else data).hexdigest()


def sniff(data: bytes) -> str:
    """The container a byte string looks like: png, jpeg, wav, zip, gzip, video, audio-other, text or unknown."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head[4:8] == b"ftyp" or head.startswith(b"\x1a\x45\xdf\xa3") or (head[:4] == b"RIFF" and head[8:12] == b"AVI "):
        return "video"
    if head.startswith((b"ID3", b"\xff\xfb", b"fLaC", b"OggS")):
        return "audio-other"
    return "text" if _looks_like_text(data) else "unknown"


def _looks_like_text(data: bytes) -> bool:
    if b"\x00" in data[:4096]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_media(data: bytes, *, max_image_side: int | None = None) -> Media:
    """Decode one non-archive input. Raises MediaError for anything unreadable or unsupported."""
    kind = sniff(data)
    seed = digest(data)
    if kind in ("png", "jpeg"):
        return read_image(data, seed, max_side=max_image_side)
    if kind == "wav":
        return read_wav(data, seed)
    if kind == "video":
        return fake_video(seed)
    if kind == "text":
        text = data.decode("utf-8")
        if len(text) > MAX_TEXT_CHARS:
            raise MediaError(f"text of {len(text)} characters exceeds the mock's {MAX_TEXT_CHARS} character limit")
        return Media(kind="text", seed=seed, text=text)
    if kind == "audio-other":
        raise MediaError("unsupported audio encoding: the mock decodes WAV (PCM) audio only")
    raise MediaError(f"unreadable media: not an image, WAV audio, video, text or archive ({kind})")


def read_image(data: bytes, seed: str, *, max_side: int | None = None) -> Media:
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if max_side is not None and max(width, height) > max_side:
                raise MediaError(
                    f"Image is too large ({width}x{height}); the limit is {max_side}x{max_side} pixels.", "E0205"
                )
            if width * height > MAX_IMAGE_PIXELS:
                raise MediaError(f"image of {width}x{height} pixels exceeds the mock's {MAX_IMAGE_PIXELS} pixel limit")
            image.draft("L", (ANALYSIS_SIDE, ANALYSIS_SIDE))  # JPEG: decode at reduced size
            gray = image.convert("L")
    except MediaError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise MediaError(f"unreadable image: {exc}") from None
    face = _foreground_box(gray, width, height)
    return Media(kind="image", seed=seed, width=width, height=height, faces=(face,) if face else ())


def _foreground_box(gray: Image.Image, width: int, height: int) -> Box | None:
    """The mock's face detector: the box around everything that differs from the top-left corner colour.

    A uniform image therefore has no face; a drawn ellipse on a plain background is one face.
    """
    gray.thumbnail((ANALYSIS_SIDE, ANALYSIS_SIDE))
    background = gray.getpixel((0, 0))
    mask = gray.point(lambda v: 255 if abs(v - background) > BACKGROUND_DIFFERENCE else 0)
    found = mask.getbbox()
    if not found:
        return None
    left, top, right, bottom = found
    sx, sy = width / gray.width, height / gray.height
    return Box(x=left * sx, y=top * sy, w=(right - left) * sx, h=(bottom - top) * sy)


def read_wav(data: bytes, seed: str) -> Media:
    try:
        with wave.open(io.BytesIO(data)) as wav:
            channels, sample_width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            if rate <= 0:
                raise MediaError("unreadable WAV audio: sample rate is 0")
            frames = wav.readframes(int(MAX_AUDIO_SECONDS * rate))  # the header's frame count is not trusted
    except MediaError:
        raise
    except (wave.Error, EOFError, OSError, ValueError) as exc:
        raise MediaError(f"unreadable WAV audio: {exc}") from None
    frame_bytes = channels * sample_width
    count = len(frames) // frame_bytes if frame_bytes else 0
    if count == 0:
        raise MediaError("No audio found in the payload.", "E0202")
    peak, peak_frame = _peak(frames, sample_width, frame_bytes, count)
    duration = count / rate
    burst_at = peak_frame / rate if peak >= BURST_PEAK else None
    return Media(kind="audio", seed=seed, duration_s=duration, burst_at_s=burst_at, has_audio=True)


def _peak(frames: bytes, sample_width: int, frame_bytes: int, count: int) -> tuple[float, int]:
    """Largest absolute amplitude (0..1) of the first channel, sampled at most 50,000 times, and its frame."""
    step = max(1, count // 50_000)
    full_scale = float(1 << (8 * sample_width - 1))
    best, best_frame = 0.0, 0
    for index in range(0, count, step):
        start = index * frame_bytes
        raw = frames[start : start + sample_width]
        value = raw[0] - 128 if sample_width == 1 else int.from_bytes(raw, "little", signed=True)
        amplitude = abs(value) / full_scale
        if amplitude > best:
            best, best_frame = amplitude, index
    return best, best_frame


def fake_video(seed: str) -> Media:
    """Videos are never decoded: a 2-6 s, 1280x720 clip with one face and speech, all from the seed."""
    rng = random.Random(seed)
    duration = round(rng.uniform(2.0, 6.0), 3)
    face = Box(x=rng.uniform(100, 700), y=rng.uniform(50, 300), w=rng.uniform(150, 300), h=rng.uniform(180, 360))
    burst = round(rng.uniform(0, duration - 1.0), 3) if rng.random() < 0.5 else None
    return Media(
        kind="video", seed=seed, width=1280, height=720, faces=(face,), duration_s=duration, burst_at_s=burst,
        has_audio=True,
    )  # fmt: skip


URL_KINDS = {
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".gif": "image", ".webp": "image",
    ".wav": "audio", ".mp3": "audio", ".m4a": "audio", ".flac": "audio", ".ogg": "audio",
    ".mp4": "video", ".mov": "video", ".webm": "video", ".avi": "video", ".mkv": "video",
    ".txt": "text",
}  # fmt: skip
URL_ARCHIVES = (".zip", ".tar.gz", ".tgz")


def url_file_name(url: str) -> str:
    path = urlsplit(url).path
    return path.rsplit("/", 1)[-1] or "index"


def url_kind(url: str) -> str:
    """image | audio | video | text | archive, from the URL path's extension. Raises MediaError otherwise."""
    name = url_file_name(url).lower()
    if name.endswith(URL_ARCHIVES):
        return "archive"
    for extension, kind in URL_KINDS.items():
        if name.endswith(extension):
            return kind
    raise MediaError(
        f"the mock never fetches URLs and derives results from the file extension; '{url_file_name(url)}' has none "
        "it knows (.png .jpg .wav .mp3 .mp4 .txt .zip ...)"
    )


def fake_media_for_url(url: str, kind: str) -> Media:
    """Deterministic facts for a URL of ``kind`` (never fetched)."""
    seed = digest(url)
    rng = random.Random(seed)
    if kind == "video":
        return fake_video(seed)
    if kind == "image":
        face = Box(x=rng.uniform(40, 200), y=rng.uniform(30, 120), w=rng.uniform(120, 240), h=rng.uniform(150, 300))
        return Media(kind="image", seed=seed, width=640, height=480, faces=(face,))
    if kind == "audio":
        duration = round(rng.uniform(1.5, 5.0), 3)
        return Media(kind="audio", seed=seed, duration_s=duration, burst_at_s=duration / 2, has_audio=True)
    return Media(kind="text", seed=seed, text=f"Text behind {url_file_name(url)} was never fetched by the mock.")


def read_facemesh(value: Any) -> int:
    """Number of faces in a facemesh payload: 1..100 faces of 478 landmarks of 3 numbers each."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_FACEMESH_FACES:
        raise MediaError(f"facemesh data must be a list of 1 to {MAX_FACEMESH_FACES} faces", "E0101")
    for index, face in enumerate(value):
        if not isinstance(face, list) or len(face) != FACEMESH_LANDMARKS:
            raise MediaError(f"facemesh face {index} must have {FACEMESH_LANDMARKS} landmarks", "E0101")
        if not all(isinstance(p, list) and len(p) == 3 for p in face):
            raise MediaError(f"facemesh face {index}: every landmark must be [x, y, z]", "E0101")
    return len(value)


def parse_facemesh_text(text: str) -> Any:
    """The JSON inside a facemesh payload, or MediaError. Bounded: the frame size is already capped."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise MediaError("facemesh data is not valid JSON", "E0200") from None
