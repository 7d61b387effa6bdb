"""Drift injection: named, documented ways the mock breaks the contract on purpose.

Every drift is applied in exactly one place. Body drifts are the functions in ``BODY_DRIFTS``, run by
``apply_body_drifts(surface, body, drifts)`` on the finished JSON body just before it is sent; request
drifts (surface ``request``) change a job request before it is validated, in ``apply_request_drifts``;
behaviour drifts (no body function) are a single ``config.drifted(name)`` check at the point named in
``where``.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from mockserver.job_request import MODEL_DEFAULTS


@dataclass(frozen=True)
class Drift:
    name: str
    description: str
    surface: str  # request | start | details | list | predictions | artifacts | stream | auth | lifecycle
    where: str  # the one place it is applied


_BODY = "apply_body_drifts (response post-processor)"
_REQUEST = "apply_request_drifts (job request pre-processor)"

CATALOGUE: dict[str, Drift] = {
    d.name: d
    for d in (
        Drift(
            "job-id-missing", "POST /v0/batch/jobs answers {} without job_id (JobId.job_id required)", "start", _BODY
        ),
        Drift("job-id-not-uuid", "job details carry a job_id that is not a UUID", "details", _BODY),
        Drift("state-missing", "job details lack the required `state`", "details", _BODY),
        Drift("status-unknown", "a COMPLETED job reports status DONE (unknown discriminator value)", "details", _BODY),
        Drift("num-predictions-string", "state.num_predictions is a string, not an integer", "details", _BODY),
        Drift("completed-without-ended", "a COMPLETED state lacks ended_timestamp_ms", "details", _BODY),
        Drift("timestamps-out-of-order", "ended_timestamp_ms is before started_timestamp_ms", "details", _BODY),
        Drift("details-status-418", "job details answered with undeclared HTTP 418", "details", "batch.get_job"),
        Drift("details-text-plain", "job details JSON sent as text/plain", "details", "batch.get_job"),
        Drift("auth-not-enforced", "a missing or wrong API key is accepted (HTTP and stream)", "auth", "app.auth"),
        Drift("details-job-id-other", "job details name another job's id", "details", _BODY),
        Drift(
            "echo-settings-defaulted",
            "the details' request shows each model's defaults, not the settings sent",
            "details",
            _BODY,
        ),
        Drift(
            "prob-threshold-clamped",
            "face.prob_threshold outside [0, 1] is clamped into it instead of refused",
            "request",
            _REQUEST,
        ),
        Drift("limit-ignored", "GET /v0/batch/jobs ignores `limit`", "list", "batch.list_jobs"),
        Drift(
            "limit-bounds-unchecked",
            "GET /v0/batch/jobs takes any `limit`, 0 and 65536 too",
            "list",
            "batch._list_query",
        ),
        Drift("status-filter-ignored", "GET /v0/batch/jobs ignores `status`", "list", "batch.list_jobs"),
        Drift("sort-direction-ignored", "GET /v0/batch/jobs always sorts descending", "list", "batch.list_jobs"),
        Drift("list-not-array", 'GET /v0/batch/jobs wraps the array in {"jobs": [...]}', "list", _BODY),
        Drift("never-leaves-queued", "jobs stay QUEUED forever", "lifecycle", "jobs.JobRunner.advance"),
        Drift("emotions-null", "the first face prediction has emotions: null", "predictions", _BODY),
        Drift("score-out-of-range", "the first face prediction's detection score `prob` is 1.5", "predictions", _BODY),
        Drift("unknown-emotion-label", "the first face emotion is named 'Bliss'", "predictions", _BODY),
        Drift(
            "emotion-missing", "the first face prediction lacks its last emotion (47 of the 48)", "predictions", _BODY
        ),
        Drift("negative-box-size", "the first face box has a negative width", "predictions", _BODY),
        Drift(
            "position-outside-text", "the first language prediction's position lies past the text", "predictions", _BODY
        ),
        Drift("wrong-md5sum", "a file source's md5sum does not match the uploaded bytes", "predictions", _BODY),
        Drift("file-name-lost", "file sources and their predictions name every upload 'upload'", "predictions", _BODY),
        Drift("source-type-unknown", "the first source has type 'blob' (unknown discriminator)", "predictions", _BODY),
        Drift("results-errors-missing", "results lack the required `errors` list", "predictions", _BODY),
        Drift("stream-drop-payload-id", "stream replies drop the payload_id they should echo", "stream", _BODY),
        Drift("stream-missing-model", "a stream reply omits the last requested model", "stream", _BODY),
        Drift("stream-error-without-code", "stream error frames lack `code`", "stream", _BODY),
        Drift("stream-job-id-dashed", "stream job_details.job_id is a dashed UUID, not 32 hex", "stream", _BODY),
        Drift(
            "stream-warning-code-swapped",
            "the face model's no-face warning carries W0101 (the vocal-burst code)",
            "stream",
            _BODY,
        ),
        Drift("stream-mismatch-code", "a model/media mismatch is answered E0101, not E0102", "stream", _BODY),
        Drift(
            "stream-audio-limit-ignored",
            "stream audio over 5000 ms is answered, not refused with E0203",
            "stream",
            "stream._answer_payload",
        ),
        Drift(
            "stream-bbox-as-box", "stream face predictions use the batch key `box` instead of `bbox`", "stream", _BODY
        ),
        # Issue 16: what runs saw and let pass.
        Drift(
            "created-job-404", "job details answer 404 for the job id POST just returned", "details", "batch.get_job"
        ),
        Drift(
            "completed-predictions-404",
            "a COMPLETED job's predictions answer 404",
            "predictions",
            "batch.get_predictions",
        ),
        Drift(
            "rate-limit-without-retry-after",
            "every other list-jobs request (the first included) is answered 429 without Retry-After",
            "list",
            "batch.list_jobs",
        ),
        Drift("timestamps-in-seconds", "job details give every *_timestamp_ms in seconds", "details", _BODY),
        Drift("list-status-stale", "list-jobs shows every job as QUEUED, whatever its details say", "list", _BODY),
        Drift("created-timestamp-shifts", "list-jobs gives each job a created_timestamp_ms 1 s later", "list", _BODY),
        Drift("list-duplicate-job", "list-jobs repeats its first job at the end", "list", _BODY),
        Drift("time-filter-ignored", "GET /v0/batch/jobs ignores `when`/`timestamp_ms`", "list", "batch._list_query"),
        Drift(
            "position-end-past-text",
            "each input's last language position ends 3 past its text (text[begin:end] still reads right)",
            "predictions",
            _BODY,
        ),
        Drift("face-box-outside-image", "the first face box lies right of the image", "predictions", _BODY),
        Drift(
            "error-message-empty",
            "the first source's results carry an error with an empty message",
            "predictions",
            _BODY,
        ),
        Drift(
            "artifacts-path-traversal",
            "the artifacts zip holds a member named ../predictions.json",
            "artifacts",
            "batch.get_artifacts",
        ),
        Drift(
            "stream-reply-binary",
            "stream replies are sent as binary frames (UTF-8 JSON)",
            "stream",
            "stream.stream_endpoint",
        ),
        Drift(
            "stream-position-outside-text",
            "the first language position of a stream reply lies past the text sent",
            "stream",
            _BODY,
        ),
        Drift("stream-double-reply", "every stream reply is sent twice", "stream", "stream.stream_endpoint"),
        Drift(
            "stream-reply-dropped",
            "a stream frame without data (job_details, reset) gets no reply",
            "stream",
            "stream.stream_endpoint",
        ),
    )
}


def unknown_drifts(names: Collection[str]) -> set[str]:
    return set(names) - set(all_drifts())


def describe_catalogue(version: str = "v0") -> str:
    """A catalogue as printed by ``--list-drifts [VERSION]``: one line per drift (``all``: every version's)."""
    catalogue = all_drifts() if version == "all" else VERSION_CATALOGUES[version]
    width = max(len(name) for name in catalogue)
    return "\n".join(f"{d.name:<{width}}  [{d.surface}] {d.description}" for d in catalogue.values())


def _matches(node: Any, path: tuple[str, ...]) -> Iterator[Any]:
    """Every value at ``path`` below ``node``; ``*`` walks every list item."""
    if not path:
        yield node
        return
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(node, list):
        for item in node:
            yield from _matches(item, rest)
    elif isinstance(node, dict) and head in node:
        yield from _matches(node[head], rest)


def _first(node: Any, *path: str) -> Any:
    return next(_matches(node, path), None)


_FACE_PREDICTIONS = ("*", "results", "predictions", "*", "models", "face", "grouped_predictions", "*", "predictions")
_LANGUAGE_PREDICTIONS = ("*", "results", "predictions", "*", "models", "language", "grouped_predictions", "*")
_STREAM_MODELS = ("burst", "face", "facemesh", "language", "prosody")


def _first_face(body: Any) -> dict | None:
    return _first(body, *_FACE_PREDICTIONS, "*")


def _set_state(body: dict, key: str, change: Callable[[dict], None]) -> dict:
    state = body.get("state")
    if isinstance(state, dict) and (key == "" or key in state):
        change(state)
    return body


def _emotions_null(body: Any) -> Any:
    if face := _first_face(body):
        face["emotions"] = None
    return body


def _prob_out_of_range(body: Any) -> Any:
    # Emotion scores are not probabilities (real ones exceed 1); `prob` is.
    if face := _first_face(body):
        face["prob"] = 1.5
    return body


def _unknown_label(body: Any) -> Any:
    if (face := _first_face(body)) and face.get("emotions"):
        face["emotions"][0]["name"] = "Bliss"
    return body


def _emotion_missing(body: Any) -> Any:
    if (face := _first_face(body)) and face.get("emotions"):
        face["emotions"].pop()
    return body


def _negative_box(body: Any) -> Any:
    if face := _first_face(body):
        face["box"]["w"] = -abs(face["box"]["w"]) - 1.0
    return body


def _position_outside(body: Any) -> Any:
    """The first language prediction of a text or a file (not of a url, whose words the client cannot know)."""
    known = [entry for entry in body if isinstance(entry, dict) and (entry.get("source") or {}).get("type") != "url"]
    if item := _first(known, *_LANGUAGE_PREDICTIONS, "predictions", "*"):
        item["position"] = {"begin": item["position"]["end"] + 1000, "end": item["position"]["end"] + 1010}
    return body


def _wrong_md5(body: Any) -> Any:
    for entry in _matches(body, ("*", "source")):
        if entry.get("type") == "file":
            entry["md5sum"] = "0" * 32
            break
    return body


def _file_name_lost(body: Any) -> Any:
    for entry in body if isinstance(body, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("source"), dict) and entry["source"].get("type") == "file":
            entry["source"]["filename"] = "upload"
            for prediction in _matches(entry, ("results", "predictions", "*")):
                prediction["file"] = "upload"
    return body


def _source_type_unknown(body: Any) -> Any:
    if source := _first(body, "*", "source"):
        source["type"] = "blob"
    return body


def _results_errors_missing(body: Any) -> Any:
    for results in _matches(body, ("*", "results")):
        results.pop("errors", None)
    return body


def _stream_missing_model(frame: dict) -> dict:
    present = [name for name in _STREAM_MODELS if name in frame]
    if present:
        frame.pop(present[-1])
    return frame


def _stream_dashed_job_id(frame: dict) -> dict:
    details = frame.get("job_details")
    if isinstance(details, dict) and "job_id" in details:
        details["job_id"] = str(uuid.UUID(hex=details["job_id"]))
    return frame


def _stream_bbox_as_box(frame: dict) -> dict:
    for item in _matches(frame, ("face", "predictions", "*")):
        item["box"] = item.pop("bbox")
    return frame


def _other_job_id(body: dict) -> dict:
    if isinstance(body.get("job_id"), str):
        body["job_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, body["job_id"]))
    return body


def _echo_defaults(body: dict) -> dict:
    models = _first(body, "request", "models")
    if isinstance(models, dict):
        for name in models:
            if isinstance(models[name], dict) and name in MODEL_DEFAULTS:
                models[name] = copy.deepcopy(MODEL_DEFAULTS[name])
    return body


def _stream_swap_warning_code(frame: dict) -> dict:
    face = frame.get("face")
    if isinstance(face, dict) and "warning" in face:
        face["code"] = "W0101"
    return frame


def _stream_mismatch_code(frame: dict) -> dict:
    if frame.get("code") == "E0102":
        frame["code"] = "E0101"
    return frame


def _clamp_prob_threshold(body: Any) -> Any:
    face = _first(body, "models", "face")
    threshold = face.get("prob_threshold") if isinstance(face, dict) else None
    if isinstance(threshold, int | float) and not isinstance(threshold, bool):
        face["prob_threshold"] = min(max(threshold, 0.0), 1.0)
    return body


def _pop(key: str) -> Callable[[dict], dict]:
    def drop(body: dict) -> dict:
        body.pop(key, None)
        return body

    return drop


def _pop_code_if_error(frame: dict) -> dict:
    if "error" in frame:
        frame.pop("code", None)
    return frame


def _in_seconds(state: dict) -> None:
    for key, value in list(state.items()):
        if key.endswith("_timestamp_ms") and isinstance(value, int):
            state[key] = value // 1000


def _list_stale(body: Any) -> Any:
    for item in body if isinstance(body, list) else ():
        state = item.get("state") if isinstance(item, dict) else None
        if isinstance(state, dict) and state.get("status") != "QUEUED":
            item["state"] = {"status": "QUEUED", "created_timestamp_ms": state.get("created_timestamp_ms")}
    return body


def _created_shifted(body: Any) -> Any:
    for state in _matches(body, ("*", "state")):
        if isinstance(state, dict) and isinstance(state.get("created_timestamp_ms"), int):
            state["created_timestamp_ms"] += 1000
    return body


def _duplicate_first(body: Any) -> Any:
    if isinstance(body, list) and body:
        body.append(copy.deepcopy(body[0]))
    return body


def _end_past_text(body: Any) -> Any:
    """The span ending last (at the end of its text, as the mock's spans do) ends 3 characters later."""
    for entry in body if isinstance(body, list) else ():
        if not isinstance(entry, dict) or (entry.get("source") or {}).get("type") == "url":
            continue
        items = list(_matches(entry, _LANGUAGE_PREDICTIONS[1:] + ("predictions", "*")))
        if items:
            last = max(items, key=lambda item: item["position"]["end"])
            last["position"] = {"begin": last["position"]["begin"], "end": last["position"]["end"] + 3}
    return body


def _box_outside(body: Any) -> Any:
    if face := _first_face(body):
        face["box"]["x"] = 10_000.0
    return body


def _error_message_empty(body: Any) -> Any:
    results = _first(body, "*", "results")
    if isinstance(results, dict) and isinstance(results.get("errors"), list):
        file = _first(results, "predictions", "*", "file") or "upload"
        results["errors"].append({"file": file, "message": ""})
    return body


def _stream_position_outside(frame: dict) -> dict:
    if item := _first(frame, "language", "predictions", "*"):
        end = item["position"]["end"]
        item["position"] = {"begin": end + 1000, "end": end + 1010}
    return frame


def _timestamps_out_of_order(state: dict) -> None:
    state["ended_timestamp_ms"] = state["started_timestamp_ms"] - 1000


BODY_DRIFTS: dict[str, Callable[[Any], Any]] = {
    "job-id-missing": _pop("job_id"),
    "job-id-not-uuid": lambda body: {**body, "job_id": "job_" + str(body.get("job_id", "")).replace("-", "")[:12]},
    "state-missing": _pop("state"),
    "status-unknown": lambda body: _set_state(
        body, "", lambda s: s.update(status="DONE") if s.get("status") == "COMPLETED" else None
    ),
    "num-predictions-string": lambda body: _set_state(
        body, "num_predictions", lambda s: s.update(num_predictions=str(s["num_predictions"]))
    ),
    "completed-without-ended": lambda body: _set_state(
        body, "ended_timestamp_ms", lambda s: s.pop("ended_timestamp_ms")
    ),
    "timestamps-out-of-order": lambda body: _set_state(body, "ended_timestamp_ms", _timestamps_out_of_order),
    "details-job-id-other": _other_job_id,
    "echo-settings-defaulted": _echo_defaults,
    "list-not-array": lambda body: {"jobs": body},
    "emotions-null": _emotions_null,
    "score-out-of-range": _prob_out_of_range,
    "unknown-emotion-label": _unknown_label,
    "emotion-missing": _emotion_missing,
    "negative-box-size": _negative_box,
    "position-outside-text": _position_outside,
    "wrong-md5sum": _wrong_md5,
    "file-name-lost": _file_name_lost,
    "source-type-unknown": _source_type_unknown,
    "results-errors-missing": _results_errors_missing,
    "stream-drop-payload-id": _pop("payload_id"),
    "stream-missing-model": _stream_missing_model,
    "stream-error-without-code": _pop_code_if_error,
    "stream-job-id-dashed": _stream_dashed_job_id,
    "stream-warning-code-swapped": _stream_swap_warning_code,
    "stream-mismatch-code": _stream_mismatch_code,
    "stream-bbox-as-box": _stream_bbox_as_box,
    "timestamps-in-seconds": lambda body: _set_state(body, "", _in_seconds),
    "list-status-stale": _list_stale,
    "created-timestamp-shifts": _created_shifted,
    "list-duplicate-job": _duplicate_first,
    "position-end-past-text": _end_past_text,
    "face-box-outside-image": _box_outside,
    "error-message-empty": _error_message_empty,
    "stream-position-outside-text": _stream_position_outside,
}


REQUEST_DRIFTS: dict[str, Callable[[Any], Any]] = {"prob-threshold-clamped": _clamp_prob_threshold}


def apply_request_drifts(body: Any, drifts: Collection[str]) -> Any:
    """A job request (the JSON body or json part, before validation) after every switched-on request drift."""
    for name in CATALOGUE:
        if name in drifts and name in REQUEST_DRIFTS:
            body = REQUEST_DRIFTS[name](body)
    return body


def apply_body_drifts(surface: str, body: Any, drifts: Collection[str]) -> Any:
    """The body after every switched-on drift of ``surface`` has changed it (``body`` may be mutated)."""
    for name, drift in CATALOGUE.items():  # catalogue order, so several drifts combine reproducibly
        if name in drifts and drift.surface == surface and name in BODY_DRIFTS:
            body = BODY_DRIFTS[name](body)
    return body


# Later API versions register their catalogues here (``mockserver.v1.drifts``); ``CATALOGUE`` stays v0's, so
# what pins it (the v0 symptom table, the fuzz expectations, ``--list-drifts`` without a version) is unchanged.
VERSION_CATALOGUES: dict[str, dict[str, Drift]] = {"v0": CATALOGUE}


def all_drifts() -> dict[str, Drift]:
    """Every version's drifts by name (what ``--drift`` and ``MockConfig`` accept)."""
    merged: dict[str, Drift] = {}
    for catalogue in VERSION_CATALOGUES.values():
        merged.update(catalogue)
    return merged


import mockserver.v1.drifts  # noqa: E402, F401 - registers the v1 catalogue
