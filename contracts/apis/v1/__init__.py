"""The v1 adapter: Hume's live Expression Measurement API (uploads, realtime sessions, runs; since 6 Oct 2026).

What the registry (``contracts.apis``) asks of a version: its kinds, how to tell them, how to validate a body
(schema first, then the compatibility rules, then the body rules), and what the traffic checks need.
Sessions are judged as a whole by ``contracts.apis.v1.session``.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterator
from typing import Any

import openapi.v1
from contracts import coverage
from contracts.apis.v1 import codes as codes  # registers the v1 grades on import
from contracts.apis.v1.codes import ADDITION_CODES
from contracts.apis.v1.compat import split_additions, unknown_names
from contracts.apis.v1.contract import KIND_SCHEMAS, OPENAPI_URI, schema_violations
from contracts.apis.v1.contract import documents as contract_documents
from contracts.apis.v1.rules import check_body_rules
from contracts.apis.v1.scores import forget
from contracts.readers import Note
from contracts.violations import Finding, Violation

KINDS: tuple[str, ...] = tuple(KIND_SCHEMAS)
__all__ = ["KINDS", "contract_documents", "detect_kind", "settle", "validate_against", "validate_body"]
load_openapi = openapi.v1.load_openapi
load_asyncapi = openapi.v1.load_asyncapi

# A body with thousands of one addition or fault keeps this many of each code.
MAX_PER_CODE = 200


def validate_body(body: Any, kind: str, *, disabled: Collection[str] = ()) -> list[Violation]:
    """Every violation and addition of ``body`` read as ``kind`` (``settle`` tells them apart)."""
    if kind not in KIND_SCHEMAS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    violations, additions = split_additions(schema_violations(body, KIND_SCHEMAS[kind]), body)
    if (collector := coverage.active()) is not None:
        collector.body(body, KIND_SCHEMAS[kind])
    try:
        found = violations + check_body_rules(body, kind, disabled) + additions + unknown_names(body, kind)
    finally:
        forget()  # the score lists the rules shared
    return _capped([v for v in found if v.code not in disabled])


def settle(finding: Finding, closed_world: bool = False) -> list[Finding | Note]:
    """The compatibility rules applied to one finding: its additions become notes, listed as unknown (and
    counted by coverage), unless ``closed_world``, where they stay violations."""
    if closed_world:
        return [finding]
    additions = [v for v in finding.violations if v.code in ADDITION_CODES]
    if not additions:
        return [finding]
    kept = [v for v in finding.violations if v.code not in ADDITION_CODES]
    notes: list[Finding | Note] = [
        Note(finding.source, finding.location, f"unknown: {v.describe()} [{v.code}]") for v in additions
    ]
    if (collector := coverage.active()) is not None:
        for v in additions:
            collector.addition(f"{v.code}: {finding.kind} {_generic(v.pointer)} {v.found}")
    return [Finding(finding.source, finding.location, finding.kind, kept), *notes]


def _generic(pointer: str) -> str:
    """A pointer with its array indices as ``*``: one coverage line per place, not per item."""
    return "/".join("*" if part.isdigit() else part for part in pointer.split("/"))


def validate_against(
    body: Any, schema_ref: str, *, kind: str | None = None, disabled: Collection[str] = ()
) -> list[Violation]:
    """For ``contracts.traffic``: the violations and additions of ``body`` against a schema of the v1 OpenAPI
    document (a JSON pointer), with the body rules of ``kind`` when it is a v1 kind."""
    ref = schema_ref if ":" in schema_ref.split("#", 1)[0] else f"{OPENAPI_URI}#{schema_ref}"
    violations, additions = split_additions(schema_violations(body, ref), body)
    if (collector := coverage.active()) is not None:
        collector.body(body, ref)
    if kind in KIND_SCHEMAS:
        try:
            violations += check_body_rules(body, kind, disabled) + unknown_names(body, kind)
        finally:
            forget()
    return _capped([v for v in violations + additions if v.code not in disabled])


def _capped(violations: list[Violation]) -> list[Violation]:
    from contracts.validation import cap_per_code

    return cap_per_code(violations, MAX_PER_CODE)


@functools.cache
def operation_index() -> Any:
    from contracts.traffic import OperationIndex

    return OperationIndex(load_openapi())


# Body kinds of the operations' success responses (reports name what was checked).
SUCCESS_KINDS = {
    ("POST", "/v1/expression/audio/file"): "v1-audio-file-response",
    ("POST", "/v1/expression/video/file"): "v1-video-file-response",
    ("GET", "/v1/expression/run"): "v1-runs-page",
    ("GET", "/v1/expression/run/{run_id}"): "v1-run",
    ("GET", "/v1/expression/run/{run_id}/events"): "v1-run-events-page",
}
ERROR_KIND = "v1-error"

# Realtime channels by path; the session judge reads their messages.
CHANNELS = {"/v1/expression/audio/realtime": "audio", "/v1/expression/video/realtime": "video"}


def channel_for_path(path: str) -> str | None:
    return next((channel for suffix, channel in CHANNELS.items() if path.endswith(suffix)), None)


# ------------------------------------------------------------------------------------------- detection

_AUDIO_KEYS = frozenset({"audio", "measurement_timer_ms", "utterance_id", "measurement_id", "voice_attributes"})
_VIDEO_KEYS = frozenset({"image", "face", "faces", "frame_id"})
_SERVER_TYPES = frozenset(
    {"session.created", "session.updated", "utterance.start", "utterance.end", "measurement.result", "session.closed"}
)
_CLIENT_TYPES = frozenset({"session.update", "session.close"})


def detect_kind(body: Any) -> str | None:
    """The v1 kind of an unambiguous body; None when it is not one or could be several (pass --kind)."""
    if not isinstance(body, dict):
        return None
    message_type = body.get("type")
    if isinstance(message_type, str) and (message_type in _SERVER_TYPES | _CLIENT_TYPES or "retryable" in body):
        return _message_kind(body, message_type)
    if message_type == "error" and "request_id" in body:
        return "v1-error"
    return _http_kind(body)


def _message_kind(body: dict[str, Any], message_type: str) -> str | None:
    direction = "client" if message_type in _CLIENT_TYPES else "server"
    channel = message_channel(body)
    return f"v1-{channel}-{direction}-message" if channel else None


def message_channel(body: dict[str, Any]) -> str | None:
    """ "audio" or "video" when a message's content tells (its fields, or an error code of one medium)."""
    keys = body.keys() | (body["received"].keys() if isinstance(body.get("received"), dict) else set())
    if str(body.get("type", "")).startswith("utterance.") or "audio_duration_ms" in keys:
        return "audio"
    audio, video = bool(_AUDIO_KEYS & keys), bool(_VIDEO_KEYS & keys)
    if audio != video:
        return "audio" if audio else "video"
    code = body.get("code")
    if code in ("invalid_audio_frame", "invalid_image_frame"):
        return "audio" if code == "invalid_audio_frame" else "video"
    if body.get("type") == "session.closed" and isinstance(body.get("produced"), dict):
        return "audio" if "utterances" in body["produced"] else "video"
    return None


def _http_kind(body: dict[str, Any]) -> str | None:
    keys = body.keys()
    if "utterances" in keys and "measurements" in keys:
        return "v1-audio-file-response"
    if "measurements" in keys and ("request_id" in keys or "face_state" in keys) and "run_id" in keys:
        return "v1-video-file-response"
    if "runs" in keys and isinstance(body.get("runs"), list):
        return "v1-runs-page"
    if "events" in keys and ({"at_cap", "gaps", "capped_kinds"} & keys):
        return "v1-run-events-page"
    if "run_id" in keys and ({"config", "metered_seconds", "mode"} & keys):
        return "v1-run"
    return None


# ------------------------------------------------------------------------------------------------ traffic


def new_traffic_state() -> Any:
    """What one recording's interactions remember of each other (runs and listings)."""
    from contracts.apis.v1.runs import RunsLedger

    return RunsLedger()


def check_interaction(
    interaction: Any,
    *,
    disabled: Collection[str] = (),
    strict_requests: bool = False,
    closed_world: bool = False,
    state: Any = None,
) -> list[Any]:
    """One recorded ``/v1/...`` HTTP interaction, judged against the v1 OpenAPI document (and, with the
    recording's ``state``, against what its earlier interactions said)."""
    from contracts import traffic

    kinds = traffic.Kinds(SUCCESS_KINDS, ERROR_KIND, frozenset(KINDS))
    results = traffic.check_interaction(
        interaction,
        disabled=disabled,
        index=operation_index(),
        validate=validate_against,
        strict_requests=strict_requests,
        kinds=kinds,
    )
    if state is not None:
        results += _across_interactions(interaction, state, disabled)
    return [settled for result in results for settled in _settled(result, closed_world)]


def _across_interactions(interaction: Any, state: Any, disabled: Collection[str]) -> list[Finding]:
    """The promises a successful runs response keeps with the recording's earlier ones."""
    from contracts.readers import JsonProblem, parse_json

    response = interaction.response
    operation = operation_index().match(interaction.method, interaction.path)
    if operation is None or response is None or response.status is None or not 200 <= response.status < 300:
        return []
    kind = SUCCESS_KINDS.get((operation.method, operation.template))
    if kind not in ("v1-run", "v1-runs-page", "v1-run-events-page") or response.truncated:
        return []
    try:
        body = parse_json(response.body_bytes())
    except (JsonProblem, ValueError):
        return []  # the response check has said so
    violations = [v for v in state.observe(kind, interaction.query, body) if v.code not in disabled]
    where = f"{interaction.location} {operation.method} {operation.template} (across the recording)"
    return [Finding(interaction.source, where, kind, violations)] if violations else []


def _settled(result: Any, closed_world: bool) -> list[Any]:
    return settle(result, closed_world) if isinstance(result, Finding) else [result]


# ------------------------------------------------------------------------------------------------ sessions

_V1_MESSAGE_TYPES = _SERVER_TYPES | _CLIENT_TYPES | {"error"}


def owns_message(message: Any) -> bool:
    """Whether a bare transcript line is a v1 message (its ``type`` is one of v1's)."""
    kind = message.get("type") if isinstance(message, dict) else None
    return isinstance(kind, str) and kind in _V1_MESSAGE_TYPES


def message_direction(message: Any) -> str:
    from contracts.apis.v1.session import message_direction as direction

    return direction(message)


def judge_session(
    item: Any, *, disabled: Collection[str] = (), closed_world: bool = False, strict_requests: bool = False
) -> Iterator[Any]:
    """Every result of one recorded session (a ``contracts.readers.SessionItem``), judged as a whole."""
    from contracts.apis.v1.session import judge_frames

    for result in judge_frames(item, disabled, strict_requests):
        yield from _settled(result, closed_world)


def live_session(path: str, source: str, *, disabled: Collection[str] = (), closed_world: bool = False) -> Any:
    """A realtime session at ``path`` to judge live, frame by frame (``contracts.apis.v1.live.LiveSession``);
    None when the path is no realtime channel (no session protocol to judge it by)."""
    from contracts.apis.v1.live import LiveSession

    channel = channel_for_path(path)
    return LiveSession(channel, source, disabled=disabled, closed_world=closed_world) if channel else None
