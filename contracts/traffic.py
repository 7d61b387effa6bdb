"""Check recorded HTTP interactions (HAR, VCR cassette, WireMock) against the repaired contract.

For each interaction: find the operation by method and path (host and query ignored; concrete paths win
over templated ones), then for the request (when it has a body) and the response check that the status is
declared (``undeclared-status``), that the content type is declared for it (``wrong-content-type``), and
validate a JSON body against the declared schema (``unparsable-body`` when it is not JSON). Bodies that are
not JSON (artifacts zip, multipart uploads) are checked for status and content type only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from contracts import coverage
from contracts.readers import HttpInteraction, HttpMessage, JsonProblem, Note, parse_json
from contracts.violations import Finding, Violation, pointer

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Body kinds of the known operations' success responses, so reports name what was checked.
SUCCESS_KINDS = {
    ("GET", "/v0/batch/jobs"): "jobs",
    ("POST", "/v0/batch/jobs"): "job-id",
    ("GET", "/v0/batch/jobs/{id}"): "job",
    ("GET", "/v0/batch/jobs/{id}/predictions"): "predictions",
    ("GET", "/v0/batch/jobs/{id}/artifacts"): "artifacts",
}

Validate = Callable[..., list[Violation]]  # validate_against(body, schema_pointer, *, kind=, disabled=())

# Kinds whose semantic rules apply to a body found in traffic (errors and artifacts have none).
RULE_KINDS = frozenset({"jobs", "job-id", "job", "predictions", "job-request"})


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    template: str  # "/v0/batch/jobs/{id}"
    node: dict[str, Any]
    location: str  # JSON pointer of the operation in the document


@dataclass(frozen=True)
class Declared:
    """A node the contract declares (a response or a request body), with its JSON pointer."""

    node: dict[str, Any]
    location: str
    key: str = ""  # the status key that matched ("200", "4XX", "default")


class OperationIndex:
    """The operations of an OpenAPI document, matchable by method and concrete path."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._base_paths = _server_base_paths(document)
        self._operations = sorted(_operations(document), key=_specificity)

    def match(self, method: str, path: str) -> Operation | None:
        for candidate in self._candidate_paths(path):
            for operation, pattern in self._operations:
                if operation.method == method and pattern.fullmatch(candidate):
                    return operation
        return None

    def _candidate_paths(self, path: str) -> list[str]:
        """The path as recorded, and without a server's base path (``https://host/api`` -> ``/api``)."""
        return [path] + [path[len(base) :] for base in self._base_paths if path.startswith(base + "/")]

    def templates(self) -> list[str]:
        return sorted({f"{op.method} {op.template}" for op, _ in self._operations})

    def response(self, operation: Operation, status: int) -> Declared | None:
        """The declared response for a status: exact code, then its range (``4XX``), then ``default``."""
        responses = operation.node.get("responses") or {}
        for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
            if key in responses:
                base = f"{operation.location}/responses/{key}"
                node, location = self.resolve(responses[key], base)
                return Declared(node, location, key)
        return None

    def request_body(self, operation: Operation) -> Declared | None:
        if "requestBody" not in operation.node:
            return None
        node, location = self.resolve(operation.node["requestBody"], f"{operation.location}/requestBody")
        return Declared(node, location)

    def resolve(self, node: Any, location: str) -> tuple[dict[str, Any], str]:
        """Follow local ``$ref``s (bounded, so a reference cycle cannot hang)."""
        for _ in range(32):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                break
            ref = node["$ref"]
            if not ref.startswith("#/"):
                break
            location = ref[1:]
            node = _lookup(self.document, location)
        return (node if isinstance(node, dict) else {}), location


@functools.cache
def default_index() -> OperationIndex:
    from openapi import load_repaired

    return OperationIndex(load_repaired())


def _default_validate() -> Validate:
    from contracts.validation import validate_against

    return validate_against


def _operations(document: dict[str, Any]) -> list[tuple[Operation, re.Pattern[str]]]:
    found = []
    for template, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            if isinstance(item.get(method), dict):
                location = pointer(["paths", template, method])
                operation = Operation(method.upper(), template, item[method], location)
                found.append((operation, _template_pattern(template)))
    return found


def _template_pattern(template: str) -> re.Pattern[str]:
    """``/v0/batch/jobs/{id}`` -> a pattern where each ``{name}`` is one non-empty path segment."""
    parts = re.split(r"(\{[^{}/]+\})", template)
    return re.compile("".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts))


def _specificity(entry: tuple[Operation, re.Pattern[str]]) -> tuple[int, str]:
    operation = entry[0]
    return operation.template.count("{"), operation.template


def _server_base_paths(document: dict[str, Any]) -> list[str]:
    paths = []
    for server in document.get("servers") or []:
        if isinstance(server, dict) and isinstance(server.get("url"), str):
            base = urlsplit(server["url"]).path.rstrip("/")
            if base:
                paths.append(base)
    return paths


def _lookup(document: Any, location: str) -> Any:
    node = document
    for raw in location.lstrip("/").split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


# ------------------------------------------------------------------------------------------- checks


def check_interaction(
    interaction: HttpInteraction,
    *,
    disabled: Collection[str] = (),
    index: OperationIndex | None = None,
    validate: Validate | None = None,
) -> list[Finding | Note]:
    """Findings for one interaction: its request (when it has a body) and its response."""
    index = index or default_index()
    validate = validate or _default_validate()
    operation = index.match(interaction.method, interaction.path)
    if operation is None:
        return [_without_disabled(_unknown_operation(interaction, index), disabled)]
    results: list[Finding | Note] = []
    request = interaction.request
    if request is not None and request.has_body:  # a bodiless GET may still carry a content type
        results += _check_request(interaction, operation, index, validate, disabled)
    if interaction.response is not None:
        results += _check_response(interaction, operation, index, validate, disabled)
    else:
        where = f"{interaction.location} {operation.method} {operation.template}"
        results.append(Note(interaction.source, where, "no response was recorded"))
    return [_without_disabled(result, disabled) for result in results]


def _unknown_operation(interaction: HttpInteraction, index: OperationIndex) -> Finding:
    found = f"{interaction.method} {interaction.path}"
    violation = Violation(
        code="unknown-operation",
        pointer="",
        expected="one of " + ", ".join(index.templates()),
        found=found,
        schema_path="/paths",
    )
    return Finding(interaction.source, f"{interaction.location} {found}", "http", [violation])


def _check_request(
    interaction: HttpInteraction,
    operation: Operation,
    index: OperationIndex,
    validate: Validate,
    disabled: Collection[str],
) -> list[Finding | Note]:
    request = interaction.request
    assert request is not None
    location = f"{interaction.location} {operation.method} {operation.template} (request)"
    declared = index.request_body(operation)
    kind = "job-request" if operation.method == "POST" else "request"
    finding = Finding(interaction.source, location, kind)
    if declared is None:
        finding.violations.append(_undeclared_body(request, f"{operation.location}/requestBody"))
        return [finding]
    return _check_message(finding, request, declared, validate, disabled)


def _check_response(
    interaction: HttpInteraction,
    operation: Operation,
    index: OperationIndex,
    validate: Validate,
    disabled: Collection[str],
) -> list[Finding | Note]:
    response = interaction.response
    assert response is not None and response.status is not None
    location = f"{interaction.location} {operation.method} {operation.template} -> {response.status}"
    declared = index.response(operation, response.status)
    if (collector := coverage.active()) is not None:
        key = declared.key if declared is not None else None
        collector.response(operation.method, operation.template, response.status, key, interaction.query)
    kind = _response_kind(operation, response.status)
    finding = Finding(interaction.source, location, kind)
    if declared is None:
        statuses = ", ".join(str(key) for key in operation.node.get("responses") or {})
        violation = Violation(
            code="undeclared-status",
            pointer="",
            expected=f"a declared status ({statuses})",
            found=str(response.status),
            schema_path=f"{operation.location}/responses",
        )
        finding.violations.append(violation)
        return [finding]
    return _check_message(finding, response, declared, validate, disabled)


def _response_kind(operation: Operation, status: int) -> str:
    if 200 <= status < 300:
        return SUCCESS_KINDS.get((operation.method, operation.template), "response")
    return "error"


def _check_message(
    finding: Finding,
    message: HttpMessage,
    declared: Declared,
    validate: Validate,
    disabled: Collection[str],
) -> list[Finding | Note]:
    """Content type, then (for JSON with a schema) the body itself."""
    content = declared.node.get("content") or {}
    if not content:
        if message.has_body:
            finding.violations.append(_undeclared_body(message, declared.location))
        return [finding]
    media = match_media_type(message.content_type, list(content))
    if media is None:
        finding.violations.append(_wrong_content_type(message, list(content), f"{declared.location}/content"))
        return [finding]
    if not is_json_media(media) or "schema" not in (content[media] or {}):
        return [finding]
    if message.truncated:
        note = Note(finding.source, finding.location, "body not validated: the recorder kept only a prefix")
        return [finding, note]
    schema_location = pointer_join(declared.location, "content", media, "schema")
    body, problem = _parse_body(message)
    if problem is not None:
        finding.violations.append(replace(problem, schema_path=schema_location))
    else:
        rule_kind = finding.kind if finding.kind in RULE_KINDS else None
        finding.violations.extend(validate(body, schema_location, kind=rule_kind, disabled=disabled))
    return [finding]


def _parse_body(message: HttpMessage) -> tuple[Any, Violation | None]:
    try:
        return parse_json(message.body_bytes()), None
    except (JsonProblem, ValueError) as error:
        found = str(error)
        violation = Violation(
            code="unparsable-body",
            pointer="",
            expected=f"a JSON body (content type {message.content_type})",
            found=found,
        )
        return None, violation


def _undeclared_body(message: HttpMessage, location: str) -> Violation:
    return Violation(
        code="wrong-content-type",
        pointer="",
        expected="no body (the contract declares no content here)",
        found=message.content_type or "a body without a content type",
        schema_path=location,
    )


def _wrong_content_type(message: HttpMessage, declared: list[str], location: str) -> Violation:
    return Violation(
        code="wrong-content-type",
        pointer="",
        expected="one of " + ", ".join(declared),
        found=message.content_type or "no content type",
        schema_path=location,
    )


def _without_disabled(result: Finding | Note, disabled: Collection[str]) -> Finding | Note:
    if isinstance(result, Finding) and disabled:
        result.violations[:] = [v for v in result.violations if v.code not in disabled]
    return result


# ------------------------------------------------------------------------------------- media types


def media_essence(content_type: str) -> str:
    """``Application/JSON; charset=utf-8`` -> ``application/json``."""
    return content_type.split(";", 1)[0].strip().lower()


def match_media_type(content_type: str | None, declared: list[str]) -> str | None:
    """The declared media-type key the content type falls under: exact, then ``type/*``, then ``*/*``."""
    if not content_type:
        return None
    actual = media_essence(content_type)
    by_essence = {media_essence(key): key for key in declared}
    for candidate in (actual, actual.split("/", 1)[0] + "/*", "*/*"):
        if candidate in by_essence:
            return by_essence[candidate]
    return None


def is_json_media(media: str) -> bool:
    essence = media_essence(media)
    return essence == "application/json" or essence.endswith("+json")


def pointer_join(base: str, *keys: str) -> str:
    return base + pointer(keys)
