"""Valid batch requests: JSON job bodies, multipart uploads, list-jobs queries and job ids.

Values come from the official SDK (SDK_FACTS.md §1, §3, §4, §6), not from the upstream OpenAPI, whose
request enums are empty objects. Every field of a job body is optional, so each is drawn in or out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from strategies.media import MediaFile, file_stems, media_files

GRANULARITIES = ("word", "sentence", "utterance", "conversational_turn")
BCP47_TAGS = (
    "zh", "da", "nl", "en", "en-AU", "en-IN", "en-NZ", "en-GB", "fr", "fr-CA", "de", "hi", "hi-Latn", "id",
    "it", "ja", "ko", "no", "pl", "pt", "pt-BR", "pt-PT", "ru", "es", "es-419", "sv", "ta", "tr", "uk",
)  # fmt: skip
STATUSES = ("QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED")
WHEN = ("created_before", "created_after")
SORT_BY = ("created", "started", "ended")
DIRECTIONS = ("asc", "desc")
MODEL_NAMES = ("face", "burst", "prosody", "language", "ner", "facemesh")
MEDIA_EXTENSIONS = ("mp4", "mp3", "wav", "png", "jpg", "txt", "zip", "tar.gz")

# Tests never fetch these: bodies name example.com hosts only.
EXAMPLE_HOST = "https://example.com"
MAX_TIMESTAMP_MS = 4_102_444_800_000  # 2100-01-01


def unconfigurable() -> st.SearchStrategy[dict[str, Any]]:
    """The ``{}`` that switches on a model or option that takes no settings (SDK_FACTS §4)."""
    return st.just({})


def unit_floats() -> st.SearchStrategy[float]:
    return st.floats(0, 1, allow_nan=False)


def face_configs() -> st.SearchStrategy[dict[str, Any]]:
    """Batch ``Face``: every option, each optional."""
    return st.fixed_dictionaries(
        {},
        optional={
            "fps_pred": st.one_of(st.integers(0, 30), st.floats(0, 30, allow_nan=False)),
            "prob_threshold": unit_floats(),
            "identify_faces": st.booleans(),
            "min_face_size": st.integers(0, 500),
            "facs": unconfigurable(),
            "descriptions": unconfigurable(),
            "save_faces": st.booleans(),
        },
    )


def window_configs() -> st.SearchStrategy[dict[str, Any]]:
    """Prosody sliding ``Window``: length and step are at least 0.5 (seconds)."""
    seconds = st.floats(0.5, 60, allow_nan=False)
    return st.fixed_dictionaries({}, optional={"length": seconds, "step": seconds})


def prosody_configs() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "granularity": st.sampled_from(GRANULARITIES),
            "window": window_configs(),
            "identify_speakers": st.booleans(),
        },
    )


def language_configs() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "granularity": st.sampled_from(GRANULARITIES),
            "sentiment": unconfigurable(),
            "toxicity": unconfigurable(),
            "identify_speakers": st.booleans(),
        },
    )


def ner_configs() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={"identify_speakers": st.booleans()})


def model_configs() -> st.SearchStrategy[dict[str, Any]]:
    """``Models``: which models run, and how. Absent means all models run with defaults."""
    return st.fixed_dictionaries(
        {},
        optional={
            "face": face_configs(),
            "burst": unconfigurable(),
            "prosody": prosody_configs(),
            "language": language_configs(),
            "ner": ner_configs(),
            "facemesh": unconfigurable(),
        },
    )


def transcription_configs() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "language": st.sampled_from(BCP47_TAGS),
            "identify_speakers": st.booleans(),
            "confidence_threshold": unit_floats(),
        },
    )


def media_urls() -> st.SearchStrategy[str]:
    """``https://example.com/<name>.<ext>``: well-formed, never fetched."""
    return st.builds(
        lambda stem, extension: f"{EXAMPLE_HOST}/media/{stem}.{extension}",
        file_stems(),
        st.sampled_from(MEDIA_EXTENSIONS),
    )


def example_callback_urls() -> st.SearchStrategy[str]:
    return file_stems().map(lambda stem: f"{EXAMPLE_HOST}/hooks/{stem}")


def request_texts() -> st.SearchStrategy[str]:
    return st.text(st.characters(codec="utf-8"), min_size=1, max_size=120)


def _as_strategy(value: str | st.SearchStrategy[str] | None) -> st.SearchStrategy[str]:
    if value is None:
        return example_callback_urls()
    return st.just(value) if isinstance(value, str) else value


def job_requests(
    callback_url: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON ``InferenceBaseRequest`` (the body of ``POST /v0/batch/jobs``), every field optional.

    ``callback_url`` fixes the callback (e.g. a loopback URL a test listens on) or gives a strategy for it;
    by default callbacks point at example.com.
    """
    return st.fixed_dictionaries(
        {},
        optional={
            "models": model_configs(),
            "transcription": transcription_configs(),
            "urls": st.lists(media_urls(), min_size=1, max_size=3),
            "text": st.lists(request_texts(), min_size=1, max_size=3),
            "callback_url": _as_strategy(callback_url),
            "notify": st.booleans(),
        },
    )


# ---------------------------------------------------------------- multipart


@dataclass(frozen=True)
class MultipartUpload:
    """A multipart ``POST /v0/batch/jobs``: repeated ``file`` parts, then an optional ``json`` part.

    ``json_part`` is a STRING of JSON, as the SDK sends it. The SDK's file-upload helper sends it as a
    file part (``filename="upload"``, ``application/octet-stream``); the raw Fern client as a plain form
    field: ``json_as_file`` says which.
    """

    files: tuple[MediaFile, ...]
    json_part: str | None = None
    json_as_file: bool = True

    def httpx_files(self) -> list[tuple[str, tuple[str, bytes, str]]]:
        """The ``files=`` argument for httpx, in wire order (files first, then json if sent as a file)."""
        parts = [("file", media.as_upload()) for media in self.files]
        if self.json_part is not None and self.json_as_file:
            parts.append(("json", ("upload", self.json_part.encode("utf-8"), "application/octet-stream")))
        return parts

    def httpx_data(self) -> dict[str, str]:
        """The ``data=`` argument for httpx: the json part when it is sent as a plain field."""
        return {"json": self.json_part} if self.json_part is not None and not self.json_as_file else {}


def sdk_json_text(body: dict[str, Any]) -> str:
    """The json part exactly as the SDK writes it: ``json.dumps`` with default separators."""
    return json.dumps(body)


@st.composite
def multipart_uploads(
    draw: st.DrawFn,
    files: st.SearchStrategy[MediaFile] | None = None,
    min_files: int = 1,
    max_files: int = 3,
    with_json: bool | None = None,
    json_as_file: bool | None = None,
) -> MultipartUpload:
    """A multipart upload of ``min_files..max_files`` media files.

    ``with_json`` forces the json part in (True) or out (False), ``json_as_file`` how it is sent
    (file part as the SDK helper does, or plain field as the raw Fern client does); ``None`` lets either vary.
    """
    uploads = draw(
        st.lists(files or media_files(), min_size=min_files, max_size=max_files, unique_by=lambda f: f.filename)
    )
    include_json = draw(st.booleans()) if with_json is None else with_json
    json_part = sdk_json_text(draw(job_requests())) if include_json else None
    as_file = draw(st.booleans()) if json_as_file is None else json_as_file
    return MultipartUpload(tuple(uploads), json_part, json_as_file=as_file)


# ---------------------------------------------------------------- list jobs and ids

QueryPairs = list[tuple[str, str]]


@st.composite
def list_jobs_queries(draw: st.DrawFn, max_statuses: int = 4) -> QueryPairs:
    """``GET /v0/batch/jobs`` query parameters as ``(name, value)`` pairs.

    ``status`` is repeated once per value, never comma-joined (as the SDK sends it).
    """
    pairs: QueryPairs = []
    if draw(st.booleans()):
        pairs.append(("limit", str(draw(st.integers(1, 500)))))
    for status in draw(st.lists(st.sampled_from(STATUSES), max_size=max_statuses, unique=True)):
        pairs.append(("status", status))
    scalar_filters = {
        "when": st.sampled_from(WHEN),
        "timestamp_ms": st.integers(0, MAX_TIMESTAMP_MS).map(str),
        "sort_by": st.sampled_from(SORT_BY),
        "direction": st.sampled_from(DIRECTIONS),
    }
    for name, values in scalar_filters.items():
        if draw(st.booleans()):
            pairs.append((name, draw(values)))
    return pairs


def job_ids() -> st.SearchStrategy[str]:
    """A batch job id: a dashed, lower-case UUID string."""
    return st.uuids().map(str)


def query_values(pairs: Sequence[tuple[str, str]], name: str) -> list[str]:
    """Every value given for ``name``, in order (for repeated parameters such as ``status``)."""
    return [value for key, value in pairs if key == name]
