"""HTTP handlers of the batch API (``/v0/batch/jobs...``).

Every error answer has one shape: ``{"status_code": <int>, "message": "<what was wrong>"}`` (400, 404, 429;
401 uses the gateway's own body, see ``mockserver.app``).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockserver import wire
from mockserver.admission import RETRY_AFTER_SECONDS, Busy, WorkGate
from mockserver.artifacts import build_artifacts
from mockserver.config import MockConfig
from mockserver.drifts import CATALOGUE, apply_body_drifts, apply_request_drifts
from mockserver.job_request import MAX_SOURCES, BadRequest, parse_request
from mockserver.jobs import JobRunner, UploadedFile, details_view, list_item_view, now_ms
from mockserver.store import JobRecord, ListQuery, Store, UnservableJob

log = logging.getLogger("mockserver")

STATUSES = ("QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED")


@dataclass(frozen=True)
class MockState:
    """Everything a handler needs, hung on ``app.state.mock``."""

    config: MockConfig
    store: Store
    runner: JobRunner
    gate: WorkGate
    # The stream's bounds: sessions open at once (no waiting room), and frames answered at once.
    stream_sessions: WorkGate = field(init=False)
    stream_answers: WorkGate = field(init=False)

    def __post_init__(self) -> None:
        sessions = self.config.max_stream_sessions
        object.__setattr__(self, "stream_sessions", WorkGate(slots=sessions, waiting=0))
        object.__setattr__(self, "stream_answers", WorkGate(slots=self.config.stream_workers, waiting=sessions))


def mock_state(request: Request) -> MockState:
    return request.app.state.mock


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"status_code": status, "message": message}, status_code=status, headers=headers)


# -- POST /v0/batch/jobs --------------------------------------------------------------------------------


def busy_response() -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return error_response(429, "The mock is busy with other jobs; retry later.", headers=headers)


async def start_job(request: Request) -> Response:
    state = mock_state(request)
    try:
        async with state.gate.slot():  # before the body is read: waiting requests hold no memory
            parsed, files = await _read_job_request(request, state.config)
            job_id = await run_in_threadpool(state.runner.submit, parsed, files)
    except Busy:
        return busy_response()
    except BadRequest as exc:
        return error_response(400, exc.message)
    except wire.NotWireJSON as exc:  # derived from the input (a file name, a text): refused, never stored
        return error_response(400, f"body: the job cannot be stored: {exc.reason}")
    return JSONResponse(apply_body_drifts("start", {"job_id": job_id}, state.config.drifts))


async def _read_job_request(request: Request, config: MockConfig) -> tuple[dict[str, Any], list[UploadedFile]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await _read_capped(request.stream(), config.max_json_bytes, request.headers.get("content-length"))
        return parse_request(apply_request_drifts(_json(body, "body"), config.drifts)), []
    if content_type == "multipart/form-data":
        return await _read_multipart(request, config)
    raise BadRequest(
        f"unsupported content type {content_type or '(none)'!r}: send application/json or multipart/form-data"
    )


def _json(raw: bytes | str, where: str) -> Any:
    try:
        return wire.loads(raw)
    except wire.NotWireJSON as exc:
        refused = "NaN, Infinity and lone surrogates are refused"
        raise BadRequest(f"{where}: not valid JSON ({exc.reason}); {refused}") from None


async def _read_capped(stream: AsyncIterator[bytes], limit: int, declared: str | None = None) -> bytes:
    if declared and declared.isdigit() and int(declared) > limit:
        raise BadRequest(f"body of {declared} bytes exceeds the {limit} byte limit")
    chunks = [chunk async for chunk in _capped(stream, limit)]
    return b"".join(chunks)


async def _capped(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise BadRequest(f"body exceeds the {limit} byte limit")
        yield chunk


async def _read_multipart(request: Request, config: MockConfig) -> tuple[dict[str, Any], list[UploadedFile]]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > config.max_upload_bytes:
        raise BadRequest(f"upload of {declared} bytes exceeds the {config.max_upload_bytes} byte limit")
    parser = MultiPartParser(
        request.headers,
        _capped(request.stream(), config.max_upload_bytes),
        max_files=MAX_SOURCES + 1,
        max_fields=10,
        max_part_size=config.max_json_bytes,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise BadRequest(f"multipart body: {exc.message}") from None
    try:
        files, json_parts = [], []
        for name, value in form.multi_items():
            if name == "file" and isinstance(value, UploadFile):
                files.append(UploadedFile(value.filename or "upload", value.content_type, await value.read()))
            elif name == "file":  # a part without a filename is still the file's bytes
                files.append(UploadedFile("upload", None, value.encode("utf-8")))
            elif name == "json" and not json_parts:
                json_parts.append(_json(await value.read() if isinstance(value, UploadFile) else value, "json part"))
            elif name == "json":
                raise BadRequest("multipart body: more than one 'json' part")
            # Other parts are not part of the contract (it does not forbid them): ignored, as servers do.
    finally:
        await form.close()
    if json_parts and not isinstance(json_parts[0], dict):
        raise BadRequest("json part: expected a JSON object (an InferenceBaseRequest)")
    request = apply_request_drifts(json_parts[0] if json_parts else {}, config.drifts)
    return parse_request(request, file_count=len(files)), files


# -- GET /v0/batch/jobs ---------------------------------------------------------------------------------


async def list_jobs(request: Request) -> Response:
    state = mock_state(request)
    try:
        query = _list_query(request, state.config)
    except BadRequest as exc:
        return error_response(400, exc.message)
    if state.config.drifted("rate-limit-without-retry-after"):
        request.app.state.lists = getattr(request.app.state, "lists", 0) + 1
        if request.app.state.lists % 2:  # every other list: a client's retry gets its answer
            return error_response(429, "Rate limited.")
    await run_in_threadpool(state.runner.advance)
    jobs = await run_in_threadpool(state.store.list, query)
    for job in jobs:
        if job.unservable:
            log.warning("list: left out job %s: %s", job.job_id, job.unservable)
    body = [list_item_view(job) for job in jobs if not job.unservable]
    return JSONResponse(apply_body_drifts("list", body, state.config.drifts))


def _list_query(request: Request, config: MockConfig) -> ListQuery:
    params = request.query_params
    bounds = (0, 2**63 - 1) if config.drifted("limit-bounds-unchecked") else LIMIT_RANGE
    limit = _int_param(params.get("limit", "50"), "limit", bounds)
    statuses = tuple(params.getlist("status"))
    for status in statuses:
        _choice(status, "status", STATUSES)
    when = params.get("when")
    if when is not None:
        _choice(when, "when", ("created_before", "created_after"))
    timestamp = (
        _int_param(params["timestamp_ms"], "timestamp_ms", INT64_RANGE) if "timestamp_ms" in params else now_ms()
    )
    sort_by = _choice(params.get("sort_by", "created"), "sort_by", ("created", "started", "ended"))
    direction = _choice(params.get("direction", "desc"), "direction", ("asc", "desc"))
    if config.drifted("time-filter-ignored"):
        when = None
    return ListQuery(
        limit=None if config.drifted("limit-ignored") else limit,
        statuses=() if config.drifted("status-filter-ignored") else statuses,
        created_before_ms=timestamp if when == "created_before" else None,
        created_after_ms=timestamp if when == "created_after" else None,
        sort_by=sort_by,
        descending=True if config.drifted("sort-direction-ignored") else direction == "desc",
    )


# The contract's bounds: `limit` 1..65535 (uint16 in Hume's 2023 spec), `timestamp_ms` a non-negative int64.
LIMIT_RANGE = (1, 65535)
INT64_RANGE = (0, 2**63 - 1)


def _int_param(value: str, name: str, bounds: tuple[int, int]) -> int:
    if not re.fullmatch(r"-?[0-9]{1,19}", value):
        raise BadRequest(f"{name}: expected an integer, got {value!r:.40}")
    number = int(value)
    if not bounds[0] <= number <= bounds[1]:
        raise BadRequest(f"{name}: must be between {bounds[0]} and {bounds[1]}, got {number}")
    return number


def _choice(value: str, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise BadRequest(f"{name}: expected one of {', '.join(allowed)}; got {value!r:.40}")
    return value


# -- GET /v0/batch/jobs/{id}[/predictions|/artifacts] ---------------------------------------------------


async def _find_job(request: Request) -> JobRecord | Response:
    """The job named by the path, advanced to now; or the 400/404 answer."""
    state = mock_state(request)
    job_id = request.path_params["id"]
    if not _is_uuid(job_id):
        return error_response(400, f"id: expected a job id (UUID), got {job_id!r:.60}")
    await run_in_threadpool(state.runner.advance)
    job = await run_in_threadpool(state.store.get, job_id.lower())
    if job is None:
        return error_response(404, f"Job {job_id} not found.")
    return unservable_response(UnservableJob(job.job_id, job.unservable)) if job.unservable else job


def unservable_response(exc: UnservableJob) -> JSONResponse:
    """A stored job that cannot be sent: its own 500, naming it, while every other job is served."""
    message = f"Job {exc.job_id} cannot be served: it was stored with values JSON cannot carry ({exc.reason}). "
    return error_response(500, message + "Delete the job's data directory or start the mock on a fresh one.")


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


async def get_job(request: Request) -> Response:
    found = await _find_job(request)
    if isinstance(found, Response):
        return found
    config = mock_state(request).config
    if config.drifted("created-job-404"):
        return error_response(404, f"Job {found.job_id} not found.")
    body = apply_body_drifts("details", details_view(found), config.drifts)
    if config.drifted("details-status-418"):
        return JSONResponse(body, status_code=418)
    if config.drifted("details-text-plain"):
        return Response(json.dumps(body), media_type="text/plain")
    return JSONResponse(body)


def _not_ready(job: JobRecord) -> Response | None:
    if job.status == "COMPLETED":
        return None
    if job.status == "FAILED":
        return error_response(400, f"Job {job.job_id} failed: {job.message}")
    return error_response(400, f"Job {job.job_id} is {job.status}; results are available once it is COMPLETED.")


async def _finished_job(request: Request) -> JobRecord | Response:
    """The job named by the path if its results can be read; otherwise the 400/404 answer."""
    found = await _find_job(request)
    if isinstance(found, Response):
        return found
    return _not_ready(found) or found


async def get_predictions(request: Request) -> Response:
    found = await _finished_job(request)
    if isinstance(found, Response):
        return found
    state = mock_state(request)
    if state.config.drifted("completed-predictions-404"):
        return error_response(404, f"Job {found.job_id} not found.")
    try:
        stored = await run_in_threadpool(state.store.predictions_body, found.job_id)
    except UnservableJob as exc:
        return unservable_response(exc)
    if not any(CATALOGUE[name].surface == "predictions" for name in state.config.drifts):
        return Response(stored, media_type="application/json")  # as stored: no second copy as Python objects
    return JSONResponse(apply_body_drifts("predictions", wire.loads(stored), state.config.drifts))


async def get_artifacts(request: Request) -> Response:
    found = await _finished_job(request)
    if isinstance(found, Response):
        return found
    store = mock_state(request).store
    archive = await run_in_threadpool(store.artifacts, found.job_id)
    if archive is None:
        try:
            async with mock_state(request).gate.slot():
                predictions = await run_in_threadpool(store.predictions, found.job_id)
                traversal = mock_state(request).config.drifted("artifacts-path-traversal")
                ended = found.ended_ms or found.created_ms
                built = await run_in_threadpool(build_artifacts, predictions, ended, traversal)
                del predictions
        except Busy:
            return busy_response()
        except UnservableJob as exc:
            return unservable_response(exc)
        archive = await run_in_threadpool(store.keep_artifacts, found.job_id, built)
    return Response(
        archive,
        media_type="application/octet-stream",
        headers={"content-disposition": f'attachment; filename="{found.job_id}-artifacts.zip"'},
    )


async def jobs_collection(request: Request) -> Response:
    """`/v0/batch/jobs`: GET lists jobs, POST starts one."""
    return await (start_job(request) if request.method == "POST" else list_jobs(request))
