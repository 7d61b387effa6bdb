"""What a batch job's outputs must hold given its inputs: predictions that follow from the text and images sent,
and an artifacts zip whose members extract inside their directory.

Judged alike by ``fuzz`` (which knows what it sent) and by the proxy's per-job memory (which saw what a client
sent). Each function yields or returns short texts saying what was found; nothing when the promise holds.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from PIL import Image

from contracts.evidence import Grade, register_grades
from contracts.text_positions import indexes, is_number
from contracts.violations import shorten

# Judgements of ours: warnings unless strict judgements are asked for (README: "What each check observes").
register_grades({"face-box-outside-image": Grade.JUDGEMENT, "artifacts-unsafe-path": Grade.JUDGEMENT})

Given = TypeVar("Given")
FACE_BOX_TOLERANCE_PX = 1.0  # a detector may round a box edge a pixel past the image
TRANSPOSING_ORIENTATIONS = frozenset({5, 6, 7, 8})  # EXIF: the image is shown turned a quarter


# -- pairing each prediction entry with its input -------------------------------------------------------------


def paired_inputs(
    entries: Sequence[dict[str, Any]], texts: Sequence[str], files: Mapping[str, Given]
) -> Iterator[tuple[dict[str, Any], str | Given]]:
    """Each entry with the input it answers: the k-th text source is the k-th text; files match by md5sum."""
    remaining = iter(texts)
    for entry in entries:
        source = entry.get("source") if isinstance(entry.get("source"), dict) else {}
        if source.get("type") == "text" and (text := next(remaining, None)) is not None:
            yield entry, text
        elif source.get("type") == "file" and str(source.get("md5sum")) in files:
            yield entry, files[str(source.get("md5sum"))]


def prediction_items(entry: dict[str, Any], model: str) -> Iterator[dict[str, Any]]:
    """Every prediction item of ``model`` in one entry, whatever shape the answer has."""

    def listed(node: Any, key: str) -> list[Any]:
        value = node.get(key) if isinstance(node, dict) else None
        return value if isinstance(value, list) else []

    results = entry.get("results")
    for prediction in listed(results, "predictions"):
        models = prediction.get("models") if isinstance(prediction, dict) else None
        for group in listed(models.get(model) if isinstance(models, dict) else None, "grouped_predictions"):
            yield from (item for item in listed(group, "predictions") if isinstance(item, dict))


# -- text positions ---------------------------------------------------------------------------------------------


def position_problems(entry: dict[str, Any], texts: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(title, found) for each language or ner position that indexes none of ``texts`` (its own input first;
    a bystander that cannot be sure of the pairing passes the job's other texts after it)."""
    for model, key in (("language", "text"), ("ner", "entity")):
        for item in prediction_items(entry, model):
            position = item.get("position")
            if not isinstance(position, dict):
                continue
            begin, end = position.get("begin"), position.get("end")
            if not any(indexes(text, begin, end, item.get(key)) for text in texts):
                found = f"[{begin}:{end}] for {shorten(item.get(key))} in {shorten(texts[0], 80)}"
                yield f"a {model} position does not index the input text", found


# -- face boxes -------------------------------------------------------------------------------------------------


def image_size(data: bytes) -> tuple[int, int] | None:
    """The pixel size of an image, read from its header alone; None for other media, and for an image its EXIF
    turns a quarter (which way a detector read it is not known)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.getexif().get(0x0112) in TRANSPOSING_ORIENTATIONS:
                return None
            return image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def face_box_problem(entry: dict[str, Any], size: tuple[int, int], name: str) -> tuple[str, str] | None:
    """(title, found) for the first face box of ``entry`` that reaches outside its ``size`` image, or None."""
    width, height = size
    for item in prediction_items(entry, "face"):
        box = item.get("box") if isinstance(item.get("box"), dict) else {}
        x, y, w, h = (box.get(key) for key in ("x", "y", "w", "h"))
        if not all(is_number(value) for value in (x, y, w, h)):
            continue  # the schema's business
        tolerance = FACE_BOX_TOLERANCE_PX
        if x < -tolerance or y < -tolerance or x + w > width + tolerance or y + h > height + tolerance:
            found = f"box x={x} y={y} w={w} h={h} in the {width}x{height} image {name}"
            return "a face box lies outside the image", found
    return None


# -- the artifacts zip's member names ---------------------------------------------------------------------------

MAX_MEMBERS_READ = 10_000
_END = struct.Struct("<4s4H2LH")  # end of central directory: signature, disks, entries, directory size, offset, comment
_ENTRY = struct.Struct("<4s6H3L5H2L")  # a central directory entry's fixed part (46 bytes), its name follows
_END_SIGNATURE, _ENTRY_SIGNATURE, _ZIP64_LOCATOR = b"PK\x05\x06", b"PK\x01\x02", b"PK\x06\x07"
_UTF8_NAME = 0x800  # general purpose flag: the name is UTF-8 (else code page 437)


class ArchiveProblem(ValueError):
    """A zip whose member names cannot be read from its central directory within the bounds."""


def zip_member_names(data: bytes, max_members: int = MAX_MEMBERS_READ) -> Iterator[str]:
    """The member names a zip lists, read from its central directory alone: nothing is decompressed and no member
    read, so a compressed bomb costs nothing; at most ``max_members`` names, each yielded and not kept.

    The directory is found as ``zipfile`` finds it (the last end record, the directory just before it) and walked
    to its declared size, as ``zipfile`` walks it. ``ArchiveProblem`` for what is no zip, a directory cut short,
    more members than ``max_members``, or zip64 (never needed below 65,535 members and 4 GiB).
    """
    end = data.rfind(_END_SIGNATURE, max(0, len(data) - 0xFFFF - _END.size))
    if end < 0 or end + _END.size > len(data):
        raise ArchiveProblem("no end of central directory: not a zip")
    if end >= 20 and data[end - 20 : end - 16] == _ZIP64_LOCATOR:
        raise ArchiveProblem("a zip64 archive: its member names are not read")
    size = _END.unpack_from(data, end)[5]
    at, count = end - size, 0
    if at < 0:
        raise ArchiveProblem(f"a central directory of {size} bytes in {len(data)} bytes")
    while at < end:
        if count == max_members:
            raise ArchiveProblem(f"more than {max_members} members: beyond what is read")
        if at + _ENTRY.size > end or data[at : at + 4] != _ENTRY_SIGNATURE:
            raise ArchiveProblem(f"the central directory breaks off at member {count + 1}")
        fields = _ENTRY.unpack_from(data, at)
        flags, name_length, extra_length, comment_length = fields[3], fields[10], fields[11], fields[12]
        name_end = at + _ENTRY.size + name_length
        if name_end > end:
            raise ArchiveProblem(f"the central directory breaks off at member {count + 1}")
        count += 1
        yield data[at + _ENTRY.size : name_end].decode("utf-8" if flags & _UTF8_NAME else "cp437", errors="replace")
        at = name_end + extra_length + comment_length


def is_unsafe_member_name(name: str) -> bool:
    """A member name that extracts outside its directory: absolute, a drive, or a ``..`` part."""
    return name.startswith(("/", "\\")) or bool(re.match(r"[A-Za-z]:", name)) or ".." in re.split(r"[/\\]", name)


def unsafe_member_names(data: bytes) -> list[str]:
    """The zip's unsafe member names, each shortened (``ArchiveProblem`` as ``zip_member_names``)."""
    return [shorten(name) for name in zip_member_names(data) if is_unsafe_member_name(name)]


def unsafe_members_found(unsafe: Sequence[str]) -> str | None:
    """What a finding says of ``unsafe`` member names, or None when there are none."""
    return f"{len(unsafe)} member(s), e.g. {unsafe[0]}" if unsafe else None
