"""Valid client frames for the stream endpoint ``/v0/stream/models`` (``StreamModelsEndpointPayload``).

Shapes follow what the official SDK sends (SDK_FACTS.md §5-6): ``send_file`` -> base64 media with
``raw_text: false``; ``send_text`` -> raw text with ``raw_text: true``; ``send_facemesh`` -> JSON landmarks;
``get_job_details`` -> ``{"job_details": true}``; ``reset`` -> ``{"reset_stream": true}``.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

from hypothesis import strategies as st

from strategies.media import MediaFile, images, texts, wav_audio
from strategies.requests import unconfigurable, unit_floats

STREAM_GRANULARITIES = ("word", "sentence", "utterance", "passage")  # passage exists only in streaming
MAX_STREAM_AUDIO_MS = 5000  # longer audio is error E0203
STREAM_WINDOW_MS = (500, 10_000)
LANDMARKS_PER_FACE = 478
COORDS_PER_LANDMARK = 3
FacemeshLandmarks = list[list[list[float]]]


def stream_face_configs() -> st.SearchStrategy[dict[str, Any]]:
    """``StreamFace``: like batch ``Face`` but ``min_face_size`` is a float and there is no ``save_faces``."""
    return st.fixed_dictionaries(
        {},
        optional={
            "facs": unconfigurable(),
            "descriptions": unconfigurable(),
            "identify_faces": st.booleans(),
            "fps_pred": st.floats(0, 30, allow_nan=False),
            "prob_threshold": unit_floats(),
            "min_face_size": st.floats(0, 500, allow_nan=False),
        },
    )


def stream_language_configs() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "sentiment": unconfigurable(),
            "toxicity": unconfigurable(),
            "granularity": st.sampled_from(STREAM_GRANULARITIES),
        },
    )


def stream_window_ms() -> st.SearchStrategy[int | float]:
    low, high = STREAM_WINDOW_MS
    return st.one_of(st.integers(low, high), st.floats(low, high, allow_nan=False))


def payload_ids() -> st.SearchStrategy[str]:
    """Any short string: the server echoes it back at the top level of its reply."""
    return st.one_of(st.uuids().map(str), st.text(st.characters(codec="utf-8"), min_size=1, max_size=36))


def encode_media(media: MediaFile) -> str:
    """``data`` for a media frame: the file's bytes in standard base64, as ``send_file`` sends them."""
    return base64.b64encode(media.data).decode("ascii")


@st.composite
def _frame(
    draw: st.DrawFn,
    data: str,
    models: dict[str, Any],
    raw_text: bool,
    with_window: bool = False,
) -> dict[str, Any]:
    """A data frame with the optional extras every data frame may carry."""
    frame: dict[str, Any] = {"data": data, "models": models, "raw_text": raw_text}
    optional: dict[str, st.SearchStrategy[Any]] = {"payload_id": payload_ids(), "job_details": st.booleans()}
    if with_window:
        optional |= {"stream_window_ms": stream_window_ms(), "reset_stream": st.booleans()}
    frame.update(draw(st.fixed_dictionaries({}, optional=optional)))
    return frame


@st.composite
def image_payloads(draw: st.DrawFn, face: bool | None = True) -> dict[str, Any]:
    """A base64 PNG or JPEG frame (<= 128 px a side) for the face model."""
    image = draw(images(face=face, max_side=128))
    return draw(_frame(encode_media(image), {"face": draw(stream_face_configs())}, raw_text=False))


def audio_payloads(max_ms: int = MAX_STREAM_AUDIO_MS) -> st.SearchStrategy[dict[str, Any]]:
    """A base64 WAV frame within the 5000 ms limit for prosody and/or burst (both take ``{}`` only)."""
    if not 1 <= max_ms <= MAX_STREAM_AUDIO_MS:
        raise ValueError(f"max_ms must be within 1..{MAX_STREAM_AUDIO_MS}, got {max_ms}")
    return _audio_frames(max_ms)


@st.composite
def _audio_frames(draw: st.DrawFn, max_ms: int) -> dict[str, Any]:
    audio = draw(wav_audio(min_ms=min(100, max_ms), max_ms=max_ms))
    chosen = draw(st.lists(st.sampled_from(("prosody", "burst")), min_size=1, max_size=2, unique=True))
    models = {name: {} for name in chosen}
    return draw(_frame(encode_media(audio), models, raw_text=False, with_window=True))


@st.composite
def text_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """Raw text (``raw_text: true``) for the language model."""
    return draw(_frame(draw(texts()), {"language": draw(stream_language_configs())}, raw_text=True))


def make_facemesh_landmarks(faces: int = 1, seed: int = 0) -> FacemeshLandmarks:
    """``faces`` x 478 landmarks x 3 coordinates in [0, 1], reproducible from ``seed``.

    Drawn from a seeded ``random.Random`` rather than by Hypothesis: 1,434 floats per face would
    overflow Hypothesis's per-example budget and shrink badly, and their values do not matter.
    """
    if not 1 <= faces <= 100:
        raise ValueError(f"faces must be within 1..100, got {faces}")
    rng = random.Random(seed)
    return [
        [[round(rng.random(), 4) for _ in range(COORDS_PER_LANDMARK)] for _ in range(LANDMARKS_PER_FACE)]
        for _ in range(faces)
    ]


@st.composite
def facemesh_payloads(draw: st.DrawFn, max_faces: int = 2, base64_encoded: bool = False) -> dict[str, Any]:
    """Facemesh landmarks (1..``max_faces`` faces) as the 0.13 SDK sends them: ``json.dumps(landmarks)``.

    ``base64_encoded=True`` gives the legacy SDK (<= 0.7) form instead: ``base64(json.dumps(landmarks))``.
    """
    landmarks = make_facemesh_landmarks(draw(st.integers(1, max_faces)), draw(st.integers(0, 2**32 - 1)))
    text = json.dumps(landmarks)
    data = base64.b64encode(text.encode("utf-8")).decode("ascii") if base64_encoded else text
    return draw(_frame(data, {"facemesh": {}}, raw_text=False))


@st.composite
def job_details_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """``{"job_details": true}`` alone (optionally with a payload id), as ``get_job_details`` sends it."""
    return {"job_details": True} | draw(st.fixed_dictionaries({}, optional={"payload_id": payload_ids()}))


@st.composite
def reset_stream_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """``{"reset_stream": true}`` alone (optionally with a payload id), as ``reset`` sends it."""
    return {"reset_stream": True} | draw(st.fixed_dictionaries({}, optional={"payload_id": payload_ids()}))


def stream_payloads() -> st.SearchStrategy[dict[str, Any]]:
    """Any valid client frame."""
    return st.one_of(
        image_payloads(face=None),
        audio_payloads(),
        text_payloads(),
        facemesh_payloads(),
        job_details_payloads(),
        reset_stream_payloads(),
    )
