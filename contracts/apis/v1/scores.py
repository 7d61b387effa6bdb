"""Where the score lists and faces of each v1 kind are: one walk shared by the rules and the name check."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat
from operator import itemgetter
from typing import Any

AUDIO_ARRAYS = (("expressions", "audio-expressions"), ("voice_attributes", "voice-attributes"))
FACE_ARRAYS = (("expressions", "face-expressions"), ("descriptions", "face-descriptions"))


def audio_measurements(body: Any, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(pointer, measurement) of every audio measurement in a body of ``kind``."""
    if kind == "v1-audio-file-response" and isinstance(body, dict):
        for index, measurement in enumerate(_list(body.get("measurements"))):
            if isinstance(measurement, dict):
                yield f"/measurements/{index}", measurement
    elif kind == "v1-audio-server-message" and isinstance(body, dict) and body.get("type") == "measurement.result":
        yield "", body


def face_lists(body: Any, kind: str) -> Iterator[tuple[str, list[Any]]]:
    """(pointer, faces) of every image's face list in a body of ``kind``."""
    if kind == "v1-video-file-response" and isinstance(body, dict):
        for index, measurement in enumerate(_list(body.get("measurements"))):
            if isinstance(measurement, dict) and isinstance(measurement.get("faces"), list):
                yield f"/measurements/{index}/faces", measurement["faces"]
    elif kind == "v1-video-server-message" and isinstance(body, dict) and body.get("type") == "measurement.result":
        yield from [("/faces", body["faces"])] if isinstance(body.get("faces"), list) else []


_LAST: list[Any] = [None, None, None]  # (body, kind, its score lists): the rules of one body share one walk


def score_lists(body: Any, kind: str) -> list[tuple[str, str, list[Any]]]:
    """(pointer, array name, scores) of every score list in a body of ``kind`` (walked once per body: the
    last body's lists are kept, by identity, while its rules run)."""
    if _LAST[0] is not body or _LAST[1] != kind:
        _LAST[:] = [body, kind, list(_walk_score_lists(body, kind))]
    return _LAST[2]


def forget() -> None:
    """Drop the kept lists (a 10 MB body's, once its rules have run)."""
    _LAST[:] = [None, None, None]


def probabilities(scores: list[Any]) -> list[float] | None:
    """A list's probabilities when every score is an object with a number: what the fast paths judge in C."""
    try:
        values = list(map(itemgetter("probability"), scores))
    except (TypeError, KeyError):
        return None
    return values if set(map(type, values)) <= {float, int} else None


def names(scores: list[Any]) -> set[Any] | None:
    try:
        return set(map(itemgetter("name"), scores))
    except (TypeError, KeyError):
        return None


def four_decimals(values: list[float]) -> bool:
    """Every value rounded to four decimals already (``round`` is exact: the nearest double)."""
    return list(map(round, values, repeat(4))) == values


def _walk_score_lists(body: Any, kind: str) -> Iterator[tuple[str, str, list[Any]]]:
    for where, measurement in audio_measurements(body, kind):
        for key, array in AUDIO_ARRAYS:
            if isinstance(measurement.get(key), list):
                yield f"{where}/{key}", array, measurement[key]
    for where, faces in face_lists(body, kind):
        for index, face in enumerate(faces):
            for key, array in FACE_ARRAYS:
                if isinstance(face, dict) and isinstance(face.get(key), list):
                    yield f"{where}/{index}/{key}", array, face[key]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
