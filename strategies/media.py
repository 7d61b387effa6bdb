"""Real media made on the fly: images (with or without a face-like region), WAV tones, text, archives.

Every builder returns a ``MediaFile``: bytes plus the filename and content type a client would send.
The plain builders (``make_png``, ``make_wav``, ...) are for code outside Hypothesis (mock server tests,
the fuzzer); the strategies below wrap them with small, bounded parameters so tests stay fast.
"""

from __future__ import annotations

import io
import math
import re
import sys
import tarfile
import wave
import zipfile
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st
from PIL import Image, ImageDraw

# A face detector configured with ``min_face_size: 60`` must be able to find the drawn face.
MIN_FACE_PX = 64
MAX_IMAGE_PX = 256
MAX_AUDIO_MS = 6000
SAMPLE_RATES = (8000, 11025, 12000, 16000)
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

Box = tuple[int, int, int, int]  # x, y, width, height in pixels


@dataclass(frozen=True)
class MediaFile:
    """One file as a client uploads it.

    ``face_box`` is where the drawn face is (``None`` for images without one and for non-images);
    ``duration_ms`` is set for audio; ``members`` lists the files inside an archive.
    """

    filename: str
    content_type: str
    data: bytes
    face_box: Box | None = None
    duration_ms: int | None = None
    members: tuple[MediaFile, ...] = ()

    @property
    def has_face(self) -> bool:
        return self.face_box is not None

    def as_upload(self) -> tuple[str, bytes, str]:
        """The ``(filename, bytes, content type)`` tuple httpx and the SDK take for a file part."""
        return (self.filename, self.data, self.content_type)


# ---------------------------------------------------------------- images


def _check_image_size(width: int, height: int, face: bool) -> None:
    if not (1 <= width <= 4096 and 1 <= height <= 4096):
        raise ValueError(f"image size must be within 1..4096 px per side, got {width}x{height}")
    if face and min(width, height) < MIN_FACE_PX:
        raise ValueError(f"an image with a face needs both sides >= {MIN_FACE_PX} px, got {width}x{height}")


def _face_box(width: int, height: int) -> Box:
    """A centred box covering about 70% of the shorter side (never below the detector's 60 px)."""
    side = max(MIN_FACE_PX - 4, int(min(width, height) * 0.7))
    return ((width - side) // 2, (height - side) // 2, side, side)


def _draw_face(draw: ImageDraw.ImageDraw, box: Box) -> None:
    """A light ellipse with two dark eyes and a mouth: the simplest thing that reads as a face."""
    x, y, w, h = box
    draw.ellipse((x, y, x + w - 1, y + h - 1), fill=(236, 200, 170), outline=(90, 60, 40))
    eye = max(3, w // 10)
    for centre_x in (x + w * 0.33, x + w * 0.67):
        centre_y = y + h * 0.4
        draw.ellipse((centre_x - eye, centre_y - eye, centre_x + eye, centre_y + eye), fill=(20, 20, 20))
    draw.arc((x + w * 0.3, y + h * 0.5, x + w * 0.7, y + h * 0.8), start=20, end=160, fill=(120, 30, 30), width=3)


def _render_image(width: int, height: int, face: bool, background: tuple[int, int, int], fmt: str) -> bytes:
    image = Image.new("RGB", (width, height), background)
    if face:
        _draw_face(ImageDraw.Draw(image), _face_box(width, height))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def make_png(
    width: int = 128,
    height: int = 128,
    face: bool = True,
    background: tuple[int, int, int] = (40, 90, 140),
    filename: str = "image.png",
) -> MediaFile:
    """A decodable PNG; with ``face=True`` it holds a face-like region at least 60 px wide."""
    _check_image_size(width, height, face)
    data = _render_image(width, height, face, background, "PNG")
    return MediaFile(filename, "image/png", data, face_box=_face_box(width, height) if face else None)


def make_jpeg(
    width: int = 128,
    height: int = 128,
    face: bool = True,
    background: tuple[int, int, int] = (40, 90, 140),
    filename: str = "image.jpg",
) -> MediaFile:
    """A decodable JPEG; with ``face=True`` it holds a face-like region at least 60 px wide."""
    _check_image_size(width, height, face)
    data = _render_image(width, height, face, background, "JPEG")
    return MediaFile(filename, "image/jpeg", data, face_box=_face_box(width, height) if face else None)


# ---------------------------------------------------------------- audio


def _tone_samples(frame_count: int, sample_rate: int, frequency_hz: float) -> bytes:
    amplitude = 0.3 * 32767
    step = 2 * math.pi * frequency_hz / sample_rate
    samples = array("h", (int(amplitude * math.sin(step * n)) for n in range(frame_count)))
    if sys.byteorder == "big":
        samples.byteswap()  # WAV is little-endian whatever the host is
    return samples.tobytes()


def make_wav(
    duration_ms: int,
    sample_rate: int = 16000,
    frequency_hz: float = 220.0,
    filename: str = "audio.wav",
) -> MediaFile:
    """A 16-bit PCM mono WAV tone lasting ``duration_ms`` (rounded to the nearest sample)."""
    if not 1 <= duration_ms <= 60_000:
        raise ValueError(f"duration_ms must be within 1..60000, got {duration_ms}")
    if not 8000 <= sample_rate <= 48000:
        raise ValueError(f"sample_rate must be within 8000..48000 Hz, got {sample_rate}")
    frame_count = round(sample_rate * duration_ms / 1000)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(_tone_samples(frame_count, sample_rate, frequency_hz))
    return MediaFile(filename, "audio/wav", buffer.getvalue(), duration_ms=duration_ms)


# ---------------------------------------------------------------- text and archives


def make_text(text: str, filename: str = "text.txt") -> MediaFile:
    """A UTF-8 text file."""
    return MediaFile(filename, "text/plain", text.encode("utf-8"))


def _check_member_names(files: Sequence[MediaFile]) -> None:
    """Archives we build hold plain, unique file names only: no directories, no ``..``."""
    names = [member.filename for member in files]
    for name in names:
        if not SAFE_NAME.fullmatch(name) or name in {".", ".."}:
            raise ValueError(f"archive member name {name!r} must match {SAFE_NAME.pattern}")
    if len(set(names)) != len(names):
        raise ValueError(f"archive member names must be unique, got {names}")


def make_zip(files: Sequence[MediaFile], filename: str = "media.zip") -> MediaFile:
    """A ``.zip`` holding ``files`` at its top level."""
    _check_member_names(files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member in files:
            # A fixed timestamp keeps the bytes reproducible.
            archive.writestr(zipfile.ZipInfo(member.filename, date_time=(2024, 1, 1, 0, 0, 0)), member.data)
    return MediaFile(filename, "application/zip", buffer.getvalue(), members=tuple(files))


def make_tar_gz(files: Sequence[MediaFile], filename: str = "media.tar.gz") -> MediaFile:
    """A ``.tar.gz`` holding ``files`` at its top level."""
    _check_member_names(files)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member in files:
            info = tarfile.TarInfo(member.filename)
            info.size = len(member.data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(member.data))
    return MediaFile(filename, "application/gzip", buffer.getvalue(), members=tuple(files))


# ---------------------------------------------------------------- strategies


def file_stems() -> st.SearchStrategy[str]:
    """Short, safe base names (no extension)."""
    return st.from_regex(r"[a-z][a-z0-9_-]{0,11}", fullmatch=True)


def _colours() -> st.SearchStrategy[tuple[int, int, int]]:
    channel = st.integers(0, 255)
    return st.tuples(channel, channel, channel)


@st.composite
def images(
    draw: st.DrawFn,
    face: bool | None = None,
    formats: Sequence[str] = ("png", "jpeg"),
    max_side: int = MAX_IMAGE_PX,
) -> MediaFile:
    """A PNG or JPEG; ``face`` forces a face region in (True) or out (False), ``None`` lets it vary."""
    with_face = draw(st.booleans()) if face is None else face
    min_side = MIN_FACE_PX if with_face else 8
    width = draw(st.integers(min_side, max_side))
    height = draw(st.integers(min_side, max_side))
    fmt = draw(st.sampled_from(tuple(formats)))
    stem = draw(file_stems())
    build, extension = (make_png, "png") if fmt == "png" else (make_jpeg, "jpg")
    return build(width, height, face=with_face, background=draw(_colours()), filename=f"{stem}.{extension}")


def png_images(face: bool | None = None) -> st.SearchStrategy[MediaFile]:
    return images(face=face, formats=("png",))


def jpeg_images(face: bool | None = None) -> st.SearchStrategy[MediaFile]:
    return images(face=face, formats=("jpeg",))


@st.composite
def wav_audio(draw: st.DrawFn, min_ms: int = 100, max_ms: int = MAX_AUDIO_MS) -> MediaFile:
    """A WAV tone of ``min_ms..max_ms`` milliseconds at 8-16 kHz."""
    duration_ms = draw(st.integers(min_ms, max_ms))
    sample_rate = draw(st.sampled_from(SAMPLE_RATES))
    frequency = draw(st.sampled_from((110.0, 220.0, 440.0, 880.0)))
    return make_wav(duration_ms, sample_rate, frequency, filename=f"{draw(file_stems())}.wav")


def texts(max_size: int = 200) -> st.SearchStrategy[str]:
    """Non-blank Unicode text that UTF-8 can encode (no lone surrogates)."""
    return st.text(st.characters(codec="utf-8"), min_size=1, max_size=max_size).filter(lambda text: text.strip())


@st.composite
def text_files(draw: st.DrawFn) -> MediaFile:
    return make_text(draw(texts()), filename=f"{draw(file_stems())}.txt")


def single_media() -> st.SearchStrategy[MediaFile]:
    """Any one non-archive file; audio kept short so archives of several stay small."""
    return st.one_of(images(max_side=128), wav_audio(max_ms=1500), text_files())


def _archive_members(max_files: int) -> st.SearchStrategy[list[MediaFile]]:
    return st.lists(single_media(), min_size=1, max_size=max_files, unique_by=lambda member: member.filename)


@st.composite
def zip_archives(draw: st.DrawFn, max_files: int = 3) -> MediaFile:
    return make_zip(draw(_archive_members(max_files)), filename=f"{draw(file_stems())}.zip")


@st.composite
def tar_gz_archives(draw: st.DrawFn, max_files: int = 3) -> MediaFile:
    return make_tar_gz(draw(_archive_members(max_files)), filename=f"{draw(file_stems())}.tar.gz")


def archives(max_files: int = 3) -> st.SearchStrategy[MediaFile]:
    return st.one_of(zip_archives(max_files), tar_gz_archives(max_files))


def media_files() -> st.SearchStrategy[MediaFile]:
    """Anything a batch upload may carry: an image, a WAV, a text file or an archive of those."""
    return st.one_of(single_media(), archives())
