"""Score lists of the v1 mock: names from ``openapi/v1/names.json``, probabilities from a seed, each list cut,
sorted and rounded as documented.

Documented (Scores page, SDK 0.1.0 docstrings): four decimals; audio ``voice_attributes`` >= 0.725; face
``expressions`` and ``descriptions`` > 0.1; audio ``expressions`` only names "judged present" against a
per-name threshold (the thresholds are the mock's CHOICE: 0.40 to 0.69 from the name, see ``audio_threshold``);
every list sorted by probability descending. Audio ties go by the underlying (unrounded) score, then name; face
ties by name. Cutoffs compare the rounded probability, which is what a reader of the wire can check.
"""

from __future__ import annotations

import hashlib
import json
import random
import zlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from mockserver.v1.protocol import DECIMALS, FACE_SCORE_MIN, VOICE_ATTRIBUTE_MIN


@dataclass(frozen=True)
class Labels:
    audio_expressions: tuple[str, ...]
    voice_attributes: tuple[str, ...]
    face_expressions: tuple[str, ...]
    face_descriptions: tuple[str, ...]


@cache
def labels() -> Labels:
    """The documented (incomplete) name lists vendored in ``openapi/v1/names.json``."""
    names = json.loads(resources.files("openapi.v1").joinpath("names.json").read_text(encoding="utf-8"))
    return Labels(
        audio_expressions=tuple(names["audio_expression_names"]["names"]),
        voice_attributes=tuple(names["voice_attribute_names"]["names"]),
        face_expressions=tuple(names["video_expression_names"]["names"]),
        face_descriptions=tuple(names["video_description_names"]["names"]),
    )


def audio_threshold(name: str) -> float:
    """The mock's per-name presence threshold of an audio expression: 0.40 to 0.69, fixed by the name."""
    return 0.40 + (zlib.crc32(name.encode()) % 30) / 100


def rng_for(*parts: object) -> random.Random:
    """A generator fixed by ``parts`` (not Python's salted hash: the same input gives the same scores anywhere)."""
    return random.Random(hashlib.md5(repr(parts).encode()).hexdigest())


def _raw(rng: random.Random, names: tuple[str, ...]) -> list[tuple[str, float]]:
    return [(name, rng.random()) for name in names]


def _listed(scored: list[tuple[str, float]], keep, tie_by_raw: bool) -> list[dict]:  # noqa: ANN001
    kept = [(name, raw, round(raw, DECIMALS)) for name, raw in scored if keep(name, round(raw, DECIMALS))]
    if tie_by_raw:
        kept.sort(key=lambda item: (-item[2], -item[1], item[0]))
    else:
        kept.sort(key=lambda item: (-item[2], item[0]))
    return [{"name": name, "probability": probability} for name, _raw_score, probability in kept]


def audio_scores(seed: object) -> tuple[list[dict], list[dict]]:
    """``expressions`` and ``voice_attributes`` of one audio measurement window."""
    rng = rng_for("audio", seed)
    known = labels()
    expressions = _listed(
        _raw(rng, known.audio_expressions), lambda name, p: p >= audio_threshold(name), tie_by_raw=True
    )
    # Voice attributes are skewed upwards so a typical window has a few (a uniform draw past 0.725 is rare-ish).
    attributes = [(name, 1 - rng.random() ** 1.5 * 0.6) for name in known.voice_attributes]
    voice = _listed(attributes, lambda _name, p: p >= VOICE_ATTRIBUTE_MIN, tie_by_raw=True)
    return expressions, voice


def face_scores(seed: object) -> tuple[list[dict], list[dict]]:
    """``expressions`` and ``descriptions`` of one measured face."""
    rng = rng_for("face", seed)
    known = labels()
    expressions = _listed(_raw(rng, known.face_expressions), lambda _n, p: p > FACE_SCORE_MIN, tie_by_raw=False)
    descriptions = _listed(_raw(rng, known.face_descriptions), lambda _n, p: p > FACE_SCORE_MIN, tie_by_raw=False)
    return expressions, descriptions
