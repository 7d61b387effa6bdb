"""Record every interaction of a fuzz run as a HAR 1.2 file that ``hume-contracts validate`` reads back.

HTTP exchanges are HAR entries; a stream session is one entry (the WebSocket handshake) whose frames sit
in ``_webSocketMessages``, the convention browsers' developer tools use. Everything is redacted before it
is kept: the API key value never reaches the file, in headers, URLs (``?apikey=``) or bodies; and
redaction keeps each body what it was (a JSON body stays the same JSON, whatever its content type says; a
form stays a form; bytes keep every byte but a long key's, see contracts/fuzz/redaction.py), so the file reads
back.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from contracts.forms import FormPart, FormProblem, parse_multipart
from contracts.fuzz.redaction import Redactor

TEXT_TYPES = ("json", "text", "xml", "yaml", "x-www-form-urlencoded")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _headers(headers: dict[str, str], redactor: Redactor) -> list[dict[str, str]]:
    return [{"name": k, "value": redactor.text(v)} for k, v in headers.items()]


def _header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")


def _content(data: bytes, content_type: str, redactor: Redactor) -> dict[str, Any]:
    content: dict[str, Any] = {"size": len(data), "mimeType": content_type}
    if any(t in content_type for t in TEXT_TYPES):
        content["text"] = _redacted_text(data.decode("utf-8", errors="replace"), content_type, redactor)
    else:
        content["text"] = base64.b64encode(redactor.binary(data)).decode("ascii")
        content["encoding"] = "base64"
    return content


class Recorder:
    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def http(self, response: httpx.Response) -> None:
        """Record an exchange made with httpx (lifecycle, probes)."""
        request = response.request
        body = _request_bytes(request)
        self.add_http(
            request.method,
            str(request.url),
            dict(request.headers),
            body,
            response.status_code,
            response.reason_phrase,
            dict(response.headers),
            response.content,
        )

    def requests_response(self, response: Any) -> None:
        """Record an exchange made by schemathesis (its ``Response`` wraps a ``requests`` request)."""
        request = response.request
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode("utf-8")
        headers = {name: values[0] for name, values in response.headers.items() if values}
        self.add_http(
            request.method,
            request.url,
            dict(request.headers),
            body,
            response.status_code,
            response.message,
            headers,
            response.content,
        )

    def add_http(
        self,
        method: str,
        url: str,
        request_headers: dict[str, str],
        request_body: bytes,
        status: int,
        reason: str,
        response_headers: dict[str, str],
        response_body: bytes,
    ) -> None:
        r = self._redactor
        query = [{"name": r.structure(k), "value": r.text(v)} for k, v in httpx.URL(url).params.multi_items()]
        entry: dict[str, Any] = {
            "startedDateTime": _iso(time.time()),
            "time": 0,
            "request": {
                "method": method,
                "url": r.url(url),
                "httpVersion": "HTTP/1.1",
                "headers": _headers(request_headers, r),
                "queryString": query,
                "cookies": [],
                "headersSize": -1,
                "bodySize": len(request_body),
            },
            "response": {
                "status": status,
                "statusText": reason,
                "httpVersion": "HTTP/1.1",
                "headers": _headers(response_headers, r),
                "cookies": [],
                "content": _content(response_body, _header(response_headers, "content-type"), r),
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": len(response_body),
            },
            "cache": {},
            "timings": {"send": 0, "wait": 0, "receive": 0},
        }
        if request_body:
            content_type = _header(request_headers, "content-type")
            entry["request"]["postData"] = {"mimeType": content_type, **_post_text(request_body, content_type, r)}
        with self._lock:
            self._entries.append(entry)

    def stream_session(self, url: str, frames: list[tuple[str, float, str]], status: int = 101) -> None:
        """One WebSocket session: ``frames`` are (``send``|``receive``, unix time, text)."""
        r = self._redactor
        entry = {
            "startedDateTime": _iso(frames[0][1] if frames else time.time()),
            "time": 0,
            "request": {
                "method": "GET",
                "url": r.url(url),
                "httpVersion": "HTTP/1.1",
                "headers": [],
                "queryString": [],
                "cookies": [],
                "headersSize": -1,
                "bodySize": 0,
            },
            "response": {
                "status": status,
                "statusText": "Switching Protocols" if status == 101 else "",
                "httpVersion": "HTTP/1.1",
                "headers": [],
                "cookies": [],
                "content": {"size": 0, "mimeType": ""},
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": 0,
            },
            "cache": {},
            "timings": {"send": 0, "wait": 0, "receive": 0},
            "_resourceType": "websocket",
            "_webSocketMessages": [
                {"type": direction, "time": at, "opcode": 1, "data": r.json_text(text)}
                for direction, at, text in frames
            ],
        }
        with self._lock:
            self._entries.append(entry)

    def drain(self) -> list[dict[str, Any]]:
        """The entries recorded so far, no longer kept here (the proxy spools each to disk as it comes)."""
        with self._lock:
            entries, self._entries = self._entries, []
        return entries

    def write(self, path: Path) -> int:
        har = {
            "log": {
                "version": "1.2",
                "creator": {"name": "hume-contracts", "version": "0.1.0"},
                "entries": self._entries,
            }
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(har, indent=1, ensure_ascii=False), encoding="utf-8")
        return len(self._entries)


def _request_bytes(request: httpx.Request) -> bytes:
    """The bytes httpx sent; a multipart upload's stream is rendered again (httpx re-reads its parts)."""
    if isinstance(request.stream, httpx.ByteStream):
        return request.content
    if isinstance(request.stream, Iterable):
        return b"".join(request.stream)
    return b""


def _post_text(body: bytes, content_type: str, redactor: Redactor) -> dict[str, Any]:
    """``postData`` for a body: its text, or for an upload its parts as HAR ``params`` (text parts whole,
    the ``json`` part included; media files by name and type only: their bytes would bloat the file)."""
    if "multipart" in content_type:
        try:
            parts = parse_multipart(body, content_type)
        except FormProblem:
            return {"text": base64.b64encode(redactor.binary(body)).decode("ascii"), "encoding": "base64"}
        return {"params": [_param(part, redactor) for part in parts]}
    return {"text": _redacted_text(body.decode("utf-8", errors="replace"), content_type, redactor)}


def _redacted_text(text: str, content_type: str, redactor: Redactor) -> str:
    """By what the body is, not by its label: a body sent with no content type or as text/plain may be JSON,
    and redacting JSON as free text with a key like ``null`` would write ``"callback_url": [REDACTED]``.
    ``json_text`` redacts JSON by its values and anything else as free text; a form by its values."""
    if "x-www-form-urlencoded" in content_type.lower():
        return redactor.form_text(text)
    return redactor.json_text(text)


MAX_TEXT_PART = 64 * 1024


def _param(part: FormPart, redactor: Redactor) -> dict[str, str]:
    param = {"name": redactor.structure(part.name)}
    if part.filename is not None:
        param["fileName"] = redactor.text(part.filename)
        param["contentType"] = part.content_type or "application/octet-stream"
    text = _text_part(part.data)
    if text is not None:
        param["value"] = redactor.json_text(text)  # the ``json`` part stays the same JSON
    return param


def _text_part(data: bytes | None) -> str | None:
    if data is None or len(data) > MAX_TEXT_PART:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
