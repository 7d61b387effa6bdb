"""Validate any body of the contract: schema (discriminator-aware) first, then the semantic rules.

Kinds name the bodies a user holds: ``job`` (job details), ``jobs`` (a job list), ``job-id`` (the answer to
starting a job), ``predictions``, ``job-request`` (a JSON job body, or the multipart ``json`` part),
``stream-payload`` (a frame the client sends) and ``stream-message`` (a frame the server sends).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from typing import Any

from contracts import coverage
from contracts.fast import schema_violations
from contracts.rules import check_rules
from contracts.schema import OPENAPI_URI, STREAM_URI
from contracts.violations import Violation

_JOBS = "/paths/~1v0~1batch~1jobs/get/responses/200/content/application~1json/schema"
_PREDICTIONS = "/paths/~1v0~1batch~1jobs~1{id}~1predictions/get/responses/200/content/application~1json/schema"

KIND_SCHEMAS: dict[str, str] = {
    "job": f"{OPENAPI_URI}#/components/schemas/UnionJob",
    "jobs": f"{OPENAPI_URI}#{_JOBS}",
    "job-id": f"{OPENAPI_URI}#/components/schemas/JobId",
    "predictions": f"{OPENAPI_URI}#{_PREDICTIONS}",
    "job-request": f"{OPENAPI_URI}#/components/schemas/InferenceBaseRequest",
    "stream-payload": f"{STREAM_URI}#/components/schemas/StreamModelsEndpointPayload",
    "stream-message": f"{STREAM_URI}#/components/schemas/StreamReply",
}
KINDS = tuple(KIND_SCHEMAS)

# A body with thousands of the same fault (a drifted 10 MB recording) keeps this many of each code.
MAX_PER_CODE = 200

_STREAM_PAYLOAD_KEYS = {"data", "raw_text", "reset_stream", "stream_window_ms"}
_JOB_REQUEST_KEYS = {"urls", "text", "callback_url", "notify", "transcription"}
_STREAM_MODELS = {"face", "prosody", "burst", "language", "facemesh"}


def detect_kind(body: Any) -> str | None:
    """Guess the kind of a body from its shape; None when it cannot be told (use an explicit kind)."""
    if isinstance(body, list):
        first = next((item for item in body if isinstance(item, dict)), None)
        if first is None:
            return None
        if "source" in first or "results" in first:
            return "predictions"
        if {"job_id", "state", "request", "type"} & first.keys():
            return "jobs"
        return None
    if not isinstance(body, dict):
        return None
    keys = body.keys()
    if "state" in keys or "request" in keys:
        return "job"
    if "job_id" in keys and len(keys) <= 2:
        return "job-id"
    if _STREAM_PAYLOAD_KEYS & keys or body.get("job_details") is True:
        return "stream-payload"
    if _JOB_REQUEST_KEYS & keys:
        return "job-request"
    if {"error", "warning", "code", "payload_id", "job_details"} & keys or _STREAM_MODELS & keys:
        return "stream-message"
    if "models" in keys:
        return "job-request"
    return None


def validate_against(
    body: Any, schema_ref: str, *, kind: str | None = None, disabled: Collection[str] = ()
) -> list[Violation]:
    """Schema violations of ``body`` against any schema of the contract, then the rules of ``kind``.

    ``schema_ref`` is a JSON pointer into the repaired OpenAPI document (``/components/schemas/JobId``)
    or an absolute reference (``urn:hume-contracts:stream#/components/schemas/StreamReply``). A compiled
    validator judges the body first; only a body it rejects goes through the detailed validator
    (``contracts.fast``): same violations, a fraction of the time.
    """
    ref = schema_ref if ":" in schema_ref.split("#", 1)[0] else f"{OPENAPI_URI}#{schema_ref}"
    found = schema_violations(body, ref)
    if (collector := coverage.active()) is not None:
        collector.body(body, ref)
    if kind is not None:
        found.extend(check_rules(body, kind, disabled))
    return _capped([v for v in found if v.code not in disabled])


def validate_body(body: Any, kind: str, *, disabled: Collection[str] = ()) -> list[Violation]:
    """Every violation of the contract by ``body`` read as ``kind``."""
    if kind not in KIND_SCHEMAS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    return validate_against(body, KIND_SCHEMAS[kind], kind=kind, disabled=disabled)


def _capped(violations: Iterable[Violation]) -> list[Violation]:
    return cap_per_code(violations, MAX_PER_CODE)


def cap_per_code(violations: Iterable[Violation], limit: int = MAX_PER_CODE) -> list[Violation]:
    """At most ``limit`` violations of each code, and one line saying how many more there were."""
    kept: list[Violation] = []
    counts: Counter[str] = Counter()
    for violation in violations:
        counts[violation.code] += 1
        if counts[violation.code] <= limit:
            kept.append(violation)
    for code, count in counts.items():
        if count > limit:
            kept.append(Violation(code, "", "", "", "", f"… and {count - limit} more {code} violations"))
    return kept
