"""Invalid requests for negative testing: each breaks the contract in exactly ONE known way.

A strategy draws a valid input (from ``strategies.requests`` / ``strategies.stream``), applies one
``Break`` to it, and returns a ``Broken``: what was broken (``label``), the violation code a validator
must report (a code of ``contracts/codes.py``), where (``pointer``, RFC 6901) and the broken input.

``Broken.kind`` says what the value is and how to check it:
- ``job-request`` / ``stream-payload``: a JSON body; validate with that body kind.
- ``multipart-json``: the STRING carried by the multipart ``json`` part; parse it, then validate as
  ``job-request`` (``unparsable-body`` when it does not parse).
- ``list-jobs-query``: ``(name, value)`` query pairs of ``GET /v0/batch/jobs``; the pointer names the
  parameter (``/limit``) or the item of a repeated one (``/status/1``).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from strategies.requests import QueryPairs, job_requests, list_jobs_queries, sdk_json_text
from strategies.stream import stream_payloads

Path = tuple[str | int, ...]


def json_pointer(path: Path) -> str:
    """RFC 6901 pointer, as ``contracts.violations.pointer`` (strategies sit upstream of contracts)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


@dataclass(frozen=True)
class Break:
    """One minimal change: set ``value`` at ``path``. ``at`` goes further into ``value`` when the fault
    is inside it (a bad item of a list set whole)."""

    label: str
    path: Path
    value: Any
    expected_code: str
    at: Path = ()

    @property
    def pointer(self) -> str:
        return json_pointer(self.path + self.at)


@dataclass(frozen=True)
class Broken:
    """An input that breaks the contract in one way, with the code and pointer a validator must report."""

    label: str
    kind: str
    expected_code: str
    pointer: str
    value: Any


GOOD_URL = "https://example.com/media/clip.mp4"

JOB_REQUEST_BREAKS: tuple[Break, ...] = (
    Break("body is an array, not an object", (), [], "schema-type"),
    Break("models is an array", ("models",), [], "schema-type"),
    Break("prosody granularity not in the enum", ("models", "prosody", "granularity"), "paragraph",
          "schema-enum"),
    Break("language granularity 'passage' is stream-only", ("models", "language", "granularity"), "passage",
          "schema-enum"),
    Break("transcription language 'en-US' is not a listed tag", ("transcription", "language"), "en-US",
          "schema-enum"),
    Break("identify_faces is a string", ("models", "face", "identify_faces"), "true", "schema-type"),
    Break("fps_pred is a string", ("models", "face", "fps_pred"), "3", "schema-type"),
    Break("min_face_size is a string", ("models", "face", "min_face_size"), "60", "schema-type"),
    Break("min_face_size is not an integer", ("models", "face", "min_face_size"), 60.5, "schema-type"),
    Break("min_face_size is negative", ("models", "face", "min_face_size"), -1, "schema-range"),
    Break("fps_pred is negative", ("models", "face", "fps_pred"), -1, "schema-range"),
    Break("notify is a string", ("notify",), "yes", "schema-type"),
    Break("ner identify_speakers is a string", ("models", "ner", "identify_speakers"), "false",
          "schema-type"),
    Break("transcription identify_speakers is a number", ("transcription", "identify_speakers"), 1,
          "schema-type"),
    Break("burst is a string, not {}", ("models", "burst"), "on", "schema-type"),
    Break("sentiment is a bool, not {}", ("models", "language", "sentiment"), True, "schema-type"),
    Break("prosody window is a string", ("models", "prosody", "window"), "4s", "schema-type"),
    Break("prob_threshold above 1", ("models", "face", "prob_threshold"), 1.5, "schema-range"),
    Break("prob_threshold below 0", ("models", "face", "prob_threshold"), -0.01, "schema-range"),
    Break("confidence_threshold below 0", ("transcription", "confidence_threshold"), -0.1, "schema-range"),
    Break("confidence_threshold above 1", ("transcription", "confidence_threshold"), 1.01, "schema-range"),
    Break("window length below 0.5", ("models", "prosody", "window", "length"), 0.25, "schema-range"),
    Break("window step below 0.5", ("models", "prosody", "window", "step"), 0, "schema-range"),
    Break("urls is a string, not a list", ("urls",), GOOD_URL, "schema-type"),
    Break("a urls item is not a string", ("urls",), [GOOD_URL, 42], "schema-type", at=(1,)),
    Break("a text item is not a string", ("text",), ["hello", 5], "schema-type", at=(1,)),
    Break("callback_url is a number", ("callback_url",), 123, "schema-type"),
)  # fmt: skip

STREAM_PAYLOAD_BREAKS: tuple[Break, ...] = (
    Break("frame is an array, not an object", (), [], "schema-type"),
    Break("stream_window_ms below 500", ("stream_window_ms",), 100, "schema-range"),
    Break("stream_window_ms above 10000", ("stream_window_ms",), 10_001, "schema-range"),
    Break("stream_window_ms is a string", ("stream_window_ms",), "5000", "schema-type"),
    Break("raw_text is a string", ("raw_text",), "true", "schema-type"),
    Break("reset_stream is a number", ("reset_stream",), 1, "schema-type"),
    Break("job_details is a string", ("job_details",), "yes", "schema-type"),
    Break("payload_id is a number", ("payload_id",), 7, "schema-type"),
    Break("data is a number", ("data",), 123, "schema-type"),
    Break("models is a string", ("models",), "face", "schema-type"),
    Break("face config is an array", ("models", "face"), [], "schema-type"),
    Break("identify_faces is a string", ("models", "face", "identify_faces"), "no", "schema-type"),
    Break("fps_pred is a string", ("models", "face", "fps_pred"), "3", "schema-type"),
    Break("language granularity is a number", ("models", "language", "granularity"), 5, "schema-type"),
    Break("language granularity 'conversational_turn' is batch-only", ("models", "language", "granularity"),
          "conversational_turn", "schema-enum"),
    Break("prob_threshold above 1", ("models", "face", "prob_threshold"), 1.5, "schema-range"),
    Break("min_face_size is negative", ("models", "face", "min_face_size"), -0.5, "schema-range"),
    Break("burst is a string, not {}", ("models", "burst"), "on", "schema-type"),
)  # fmt: skip

# Strings that are not JSON at all (the multipart json part is text, so anything can arrive).
UNPARSABLE_JSON_PARTS: tuple[tuple[str, str], ...] = (
    ("empty json part", ""),
    ("form-style text, not JSON", "models=face&notify=true"),
    ("JSON with single quotes", "{'models': {'face': {}}}"),
    ("JSON with a trailing comma", '{"notify": true,}'),
)

QUERY_BREAKS: tuple[tuple[str, str, str, str], ...] = (
    # (label, parameter, bad value, expected code)
    ("limit is 0", "limit", "0", "schema-range"),
    ("limit is negative", "limit", "-5", "schema-range"),
    ("limit is not a number", "limit", "ten", "schema-type"),
    ("limit is not an integer", "limit", "2.5", "schema-type"),
    ("timestamp_ms is not a number", "timestamp_ms", "yesterday", "schema-type"),
    ("status not in the enum", "status", "DONE", "schema-enum"),
    ("status in lower case", "status", "queued", "schema-enum"),
    ("when not in the enum", "when", "during", "schema-enum"),
    ("sort_by not in the enum", "sort_by", "name", "schema-enum"),
    ("direction not in the enum", "direction", "up", "schema-enum"),
    ("direction in upper case", "direction", "DESC", "schema-enum"),
)


def apply_break(body: Any, change: Break) -> Any:
    """A deep copy of ``body`` with ``change`` applied, creating missing parent objects (all optional)."""
    if not change.path:
        return copy.deepcopy(change.value)
    broken = copy.deepcopy(body)
    parent = broken
    for key in change.path[:-1]:
        child = parent.get(key)
        if not isinstance(child, dict):
            child = parent[key] = {}
        parent = child
    parent[change.path[-1]] = copy.deepcopy(change.value)
    return broken


@st.composite
def _broken_bodies(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]], breaks: tuple[Break, ...],
                   kind: str) -> Broken:  # fmt: skip
    change = draw(st.sampled_from(breaks))
    body = apply_break(draw(valid), change)
    return Broken(change.label, kind, change.expected_code, change.pointer, body)


def broken_job_requests() -> st.SearchStrategy[Broken]:
    """JSON job bodies (``job-request``) with one field broken."""
    return _broken_bodies(job_requests(), JOB_REQUEST_BREAKS, "job-request")


def broken_stream_payloads() -> st.SearchStrategy[Broken]:
    """Stream client frames (``stream-payload``) with one field broken."""
    return _broken_bodies(stream_payloads(), STREAM_PAYLOAD_BREAKS, "stream-payload")


@st.composite
def _unparsable_json_parts(draw: st.DrawFn) -> Broken:
    if draw(st.booleans()):
        label, text = draw(st.sampled_from(UNPARSABLE_JSON_PARTS))
    else:
        # Cutting the closing brace off any object leaves text no JSON parser accepts.
        label, text = "truncated JSON", sdk_json_text(draw(job_requests()))[:-1]
    return Broken(label, "multipart-json", "unparsable-body", "", text)


def _stringified(broken: Broken) -> Broken:
    return Broken(broken.label, "multipart-json", broken.expected_code, broken.pointer, json.dumps(broken.value))


def broken_multipart_json_parts() -> st.SearchStrategy[Broken]:
    """The multipart ``json`` part (a string): either not JSON at all, or JSON of a broken job body."""
    return st.one_of(_unparsable_json_parts(), broken_job_requests().map(_stringified))


@st.composite
def broken_list_jobs_queries(draw: st.DrawFn) -> Broken:
    """List-jobs query pairs with one parameter given a bad value (a bad ``status`` joins valid ones)."""
    label, name, bad_value, code = draw(st.sampled_from(QUERY_BREAKS))
    pairs: QueryPairs = draw(list_jobs_queries())
    if name == "status":
        position = sum(1 for key, _ in pairs if key == "status")
        return Broken(label, "list-jobs-query", code, f"/status/{position}", [*pairs, ("status", bad_value)])
    kept = [(key, value) for key, value in pairs if key != name]
    return Broken(label, "list-jobs-query", code, f"/{name}", [*kept, (name, bad_value)])


def broken_inputs() -> st.SearchStrategy[Broken]:
    """Any broken input of any kind."""
    return st.one_of(
        broken_job_requests(),
        broken_stream_payloads(),
        broken_multipart_json_parts(),
        broken_list_jobs_queries(),
    )
