"""Reader of vcrpy cassettes (as ``pytest-recording`` and ``pytest-vcr`` write them), YAML or JSON.

Format (vcrpy ``serialize.py``; version 1)::

    {"version": 1, "interactions": [
        {"request": {"method", "uri", "body": str | bytes | null, "headers": {name: [values]}},
         "response": {"status": {"code": int, "message": str}, "headers": {name: [values]},
                      "body": {"string": str | bytes}}}]}

Bodies are text, or bytes where they are not UTF-8 (YAML ``!!binary``). A response vcrpy kept as it came
off the wire (its httpx stub, no ``decode_compressed_response``) is still compressed and is decoded here
by its ``Content-Encoding`` (gzip, deflate, br), bounded; its requests/urllib3 stub stores the body
already decoded but keeps the header, so a body that does not decode as the header says is read as
stored. Cassettes of older vcrpy httpx stubs (``status_code``, ``content``) are read too. Headers the
user filtered out (the API key) are simply absent: the checks never need them.

YAML comes through the suite's safe loader (plain data only, bounded nesting). Aliases are shared
objects there, so an interaction, request, response or body reached a second time through an alias is
noted and not checked again: the work stays linear in the file, whatever the aliases multiply.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from contracts.encodings import DecodingProblem, TooLarge, codings, decode_body
from contracts.readers import (
    HttpInteraction,
    HttpMessage,
    JsonProblem,
    Note,
    ReadError,
    _mapping_header,
    _method_and_path,
    _query_of,
    _require_dict,
    _status_code,
)

if TYPE_CHECKING:
    from contracts.readers import Item, ReadOptions


def is_vcrpy_cassette(document: Any) -> bool:
    """A mapping with an ``interactions`` list (schemathesis cassettes say ``http_interactions``)."""
    return isinstance(document, dict) and isinstance(document.get("interactions"), list)


class DecodeBudget:
    """Bytes that the compressed bodies of one file may expand to, in total: ``--max-file-mib``.

    Each body is capped at the limit too; a file of small bombs (a 900-byte cassette of brotli bodies each
    expanding to 64 MiB) would otherwise be bounded per body only.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


def read_vcrpy(document: Any, source: str, options: ReadOptions) -> Iterator[Item]:
    """One interaction per ``interactions[i]``; a broken one is a ``ReadError`` and reading goes on."""
    seen: dict[int, str] = {}  # id of an object already read -> where it was first read
    budget = DecodeBudget(options.max_bytes)
    for index, interaction in enumerate(document["interactions"]):
        location = f"interactions[{index}]"
        repeated = _first_seen(seen, interaction, location)
        if repeated:
            yield Note(source, location, f"the same interaction as {repeated} (a YAML alias): checked once")
            continue
        try:
            yield _interaction(interaction, source, location, options, seen, budget)
        except (JsonProblem, DecodingProblem) as problem:
            yield ReadError(source, location, str(problem))
        except _Repeated as repeated_part:
            yield Note(source, location, str(repeated_part))


class _Repeated(Exception):
    """A part of an interaction that an alias makes the same object as one already read."""


def _first_seen(seen: dict[int, str], value: Any, location: str) -> str | None:
    """Where ``value`` was read before (None the first time). Only containers and long strings can be
    shared by an alias in a way that costs work; small scalars are cheap to read twice."""
    if not isinstance(value, dict | list | bytes | str) or (isinstance(value, str | bytes) and len(value) < 1024):
        return None
    if id(value) in seen:
        return seen[id(value)]
    seen[id(value)] = location
    return None


def _interaction(
    interaction: Any, source: str, location: str, options: ReadOptions, seen: dict[int, str], budget: DecodeBudget
) -> HttpInteraction:
    request = _require_dict(interaction, "request", "an interaction with request and response")
    method, path = _method_and_path(request.get("method"), request.get("uri"))
    for part, value in (("request", request), ("response", interaction.get("response"))):
        repeated = _first_seen(seen, value, f"{location}.{part}")
        if repeated:
            raise _Repeated(f"its {part} is the same object as {repeated} (a YAML alias): not checked twice")
    sent = _message(request.get("headers"), request.get("body"), None, budget, seen, f"{location}.request")
    response = interaction.get("response")
    received = None
    if isinstance(response, dict):
        received = _response(response, budget, seen, f"{location}.response")
    elif response is not None:
        raise JsonProblem("expected the response to be a mapping (status, headers, body)")
    return HttpInteraction(source, location, method, path, sent, received, query=_query_of(request.get("uri")))


def _response(response: dict[str, Any], budget: DecodeBudget, seen: dict[int, str], where: str) -> HttpMessage:
    if "status_code" in response:  # vcrpy's older httpx stubs: status_code and content
        code, body = response.get("status_code"), response.get("content")
    else:
        status = response.get("status")
        code = status.get("code") if isinstance(status, dict) else status
        body = response.get("body")
        body = body.get("string") if isinstance(body, dict) else body
    return _message(response.get("headers"), body, _status_code(code), budget, seen, where)


def _message(
    headers: Any, body: Any, status: int | None, budget: DecodeBudget, seen: dict[int, str], where: str
) -> HttpMessage:
    if headers is not None and not isinstance(headers, dict):
        raise JsonProblem(f"{where}: expected headers to be a mapping of names to lists of values")
    repeated = _first_seen(seen, body, where)
    if repeated:
        raise _Repeated(f"{where} has the same body object as {repeated} (a YAML alias): not checked twice")
    content_type = _mapping_header(headers, "content-type")
    data = _body_bytes(body, where)
    applied = codings(_mapping_header(headers, "content-encoding"))
    if data and applied:
        try:
            decoded = decode_body(data, applied, budget.remaining)
        except TooLarge as problem:
            if budget.remaining < budget.limit:
                raise DecodingProblem(
                    f"{where}: its compressed body would take the bodies of this file past {budget.limit} bytes "
                    "decoded, in total (see --max-file-mib)"
                ) from None
            raise DecodingProblem(f"{where}: {problem} (see --max-file-mib)") from None
        except DecodingProblem:
            decoded = data  # vcrpy's requests/urllib3 stubs store the body decoded and keep the header: as stored
        budget.used += len(decoded)
        data = decoded
    return HttpMessage(content_type=content_type, raw=data or None, status=status)


def _body_bytes(body: Any, where: str) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    raise JsonProblem(f"{where}: expected the body as text or bytes, found {type(body).__name__}")
