"""v1 HTTP error bodies: ``{"type": "error", "code", "message", "request_id"}``, and the 401 body
``{"message", "request_id"?}`` (documented: answered before the service, without type or code)."""

from __future__ import annotations

import uuid

from starlette.responses import JSONResponse

# CHOICE where the docs' table is cut off: the status of each code (the SDK's typed statuses suggest these).
STATUS_OF = {
    "message_invalid": 400,
    "config_invalid": 400,
    "audio_decode_failed": 400,
    "image_decode_failed": 400,
    "invalid_request": 400,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "audio_too_long": 413,
    "image_too_large": 413,
    "unsupported_media_type": 415,
    "internal_error": 500,
    "server_busy": 429,
}
RETRY_AFTER_SECONDS = "1"


class Refused(Exception):
    """A request or frame the documented rules refuse; ``code`` is the ErrorBody code (uploads) that says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def request_id() -> str:
    return uuid.uuid4().hex  # 32 hex characters, as in the docs' example


def error_body(code: str, message: str) -> dict:
    return {"type": "error", "code": code, "message": message, "request_id": request_id()}


def error_response(
    code: str, message: str, drifts: frozenset[str] = frozenset(), *, allow: str | None = None
) -> JSONResponse:
    from mockserver.v1.drifts import http_error_drifts  # drifts import this module

    status = STATUS_OF[code]
    body, status = http_error_drifts(error_body(code, message), status, drifts)
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if code == "server_busy" else None
    if allow is not None:
        headers = {"Allow": allow}
    return JSONResponse(body, status_code=status, headers=headers)


def unauthorized(*, key_sent: bool) -> JSONResponse:
    body: dict = {"message": "Invalid API key" if key_sent else "Missing API key"}
    if key_sent:
        body["request_id"] = request_id()  # documented: only when a key was rejected
    return JSONResponse(body, status_code=401)
