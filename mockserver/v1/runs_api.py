"""``GET /v1/expression/run``, ``/run/{run_id}`` and ``/run/{run_id}/events``: filters, cursors, run status."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockserver.v1.drifts import runs_drifts
from mockserver.v1.errors import error_response
from mockserver.v1.protocol import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, PAGE_SIZE_MIN
from mockserver.v1.runs import RunFilter, decode_cursor, encode_cursor
from mockserver.v1.state import V1State

ENUMS = {"status": ("live", "ended", "errored"), "mode": ("realtime", "file"), "endpoint": ("audio", "video")}
LIST_PARAMS = {"page_size", "cursor", "user_id", "status", "mode", "endpoint", "started_before", "started_after"}


class BadQuery(Exception):
    pass


def _v1(request: Request) -> V1State:
    return request.app.state.v1


def _single(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise BadQuery(f"`{name}` takes one value, not {len(values)}")
    return values[0] if values else None


def _page_size(request: Request, state: V1State) -> int:
    raw = _single(request, "page_size")
    if raw is None:
        return PAGE_SIZE_DEFAULT
    if not raw.isdigit() or len(raw) > 6:
        raise BadQuery("page_size must be an integer")
    size = int(raw)
    if state.drifted("v1-page-size-unchecked"):
        return max(size, 1)
    if not PAGE_SIZE_MIN <= size <= PAGE_SIZE_MAX:
        raise BadQuery(f"page_size must be from {PAGE_SIZE_MIN} to {PAGE_SIZE_MAX}")
    return size


def _cursor(request: Request) -> int | None:
    raw = _single(request, "cursor")
    if raw is None:
        return None
    try:
        return decode_cursor(raw)
    except ValueError:
        raise BadQuery("cursor is not a next_cursor this server gave; pass next_cursor back unchanged") from None


def _instant(request: Request, name: str) -> int | None:
    raw = _single(request, name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadQuery(f"{name} must be an RFC 3339 date-time such as 2026-10-07T12:00:00Z") from None
    if moment.tzinfo is None or "T" not in raw.upper():
        raise BadQuery(f"{name} must be an RFC 3339 date-time with an offset, such as 2026-10-07T12:00:00Z")
    return int(moment.timestamp() * 1000)


def _filter(request: Request, state: V1State) -> RunFilter:
    unknown = sorted(set(request.query_params) - LIST_PARAMS)
    if unknown:
        raise BadQuery(f"unknown query parameter `{unknown[0]}`")
    enums = {}
    for name, allowed in ENUMS.items():
        value = _single(request, name)
        if value is not None and value not in allowed:
            raise BadQuery(f"{name} must be one of {', '.join(allowed)}")
        enums[name] = value
    if state.drifted("v1-runs-status-filter-ignored"):
        enums["status"] = None
    return RunFilter(
        **enums,
        user_id=_single(request, "user_id"),
        started_before_ms=_instant(request, "started_before"),
        started_after_ms=_instant(request, "started_after"),
        after_seq=_cursor(request),
        page_size=_page_size(request, state),
        oldest_first=state.drifted("v1-runs-oldest-first"),
    )


def _not_allowed(request: Request, state: V1State) -> Response:
    return error_response("method_not_allowed", f"{request.method} is not allowed here; use GET", state.config.drifts,
                          allow="GET")  # fmt: skip


async def list_runs(request: Request) -> Response:
    state = _v1(request)
    if request.method != "GET":
        return _not_allowed(request, state)
    try:
        query = _filter(request, state)
    except BadQuery as exc:
        return error_response("invalid_request", str(exc), state.config.drifts)
    runs, after = state.runs.list(query, state.settings.silent_run_errored_ms)
    body: dict = {"runs": runs}
    if after is not None:
        body["next_cursor"] = encode_cursor(after)
    return JSONResponse(runs_drifts("list", body, state.config.drifts))


async def get_run(request: Request) -> Response:
    state = _v1(request)
    if request.method != "GET":
        return _not_allowed(request, state)
    run = state.runs.get(request.path_params["run_id"], state.settings.silent_run_errored_ms)
    if run is None:
        return error_response("not_found", "no run has this run_id", state.config.drifts)
    return JSONResponse(runs_drifts("run", run, state.config.drifts))


async def run_events(request: Request) -> Response:
    state = _v1(request)
    if request.method != "GET":
        return _not_allowed(request, state)
    run_id = request.path_params["run_id"]
    if state.runs.get(run_id, state.settings.silent_run_errored_ms) is None:
        return error_response("not_found", "no run has this run_id", state.config.drifts)
    try:
        unknown = sorted(set(request.query_params) - {"page_size", "cursor"})
        if unknown:
            raise BadQuery(f"unknown query parameter `{unknown[0]}`")
        size, after = _page_size(request, state), _cursor(request) or 0
    except BadQuery as exc:
        return error_response("invalid_request", str(exc), state.config.drifts)
    events, more, capped = state.runs.events(run_id, after, size)
    body: dict = {"events": events, "at_cap": bool(capped), "capped_kinds": capped, "gaps": False}
    if more is not None:
        body["next_cursor"] = encode_cursor(more)
    return JSONResponse(runs_drifts("events", body, state.config.drifts))


async def no_such_path(request: Request) -> Response:
    state = _v1(request)
    return error_response("not_found", f"no v1 endpoint at {request.url.path}", state.config.drifts)
