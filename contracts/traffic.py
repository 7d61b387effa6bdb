"""Check recorded HTTP interactions (HAR, VCR cassettes, WireMock) against the repaired contract.

For each interaction: find the operation by method and path (host and query ignored; concrete paths win
over templated ones). The request is judged by what was sent: its body (JSON against its schema, an
upload by its parts), a missing required body, its query string against the declared parameters. A
request that breaks the contract is then judged by the answer (see ``check_interaction``): refused with a
4xx it is a correct rejection, accepted it is ``invalid-request-accepted``; with ``strict_requests`` its
own violations are reported. The response: its status is declared (``undeclared-status``), its content
type is declared for it (``wrong-content-type``), and a JSON body is validated against the declared
schema (``unparsable-body`` when it is not JSON). Other bodies (the artifacts zip) are checked for status
and content type only.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from contracts import coverage
from contracts.forms import FormPart, FormProblem, parse_multipart
from contracts.readers import HttpInteraction, HttpMessage, JsonProblem, Note, parse_json
from contracts.violations import Finding, RejectedRequest, Violation, pointer, shorten

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
class Kinds:
    """How an API names the bodies of its operations: success bodies by operation, its error body, and the
    kinds whose body rules apply to a body found in traffic."""

    success: dict[tuple[str, str], str]
    error: str
    rules: frozenset[str]


V0_KINDS = Kinds(SUCCESS_KINDS, "error", RULE_KINDS)


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


Result = Finding | Note | RejectedRequest


def check_interaction(
    interaction: HttpInteraction,
    *,
    disabled: Collection[str] = (),
    index: OperationIndex | None = None,
    validate: Validate | None = None,
    strict_requests: bool = False,
    kinds: Kinds | None = None,
) -> list[Result]:
    """Findings for one interaction: its request (judged by what was sent) and its response.

    A request that breaks the contract is the client's fault only with ``strict_requests``. Otherwise it
    is judged by the server's answer: refused with a 4xx, it is a ``RejectedRequest`` (what a fuzzer's
    negative cases should get); accepted with a 2xx or 3xx, it is ``invalid-request-accepted``.
    """
    index = index or default_index()
    validate = validate or _default_validate()
    kinds = kinds or V0_KINDS
    operation = index.match(interaction.method, interaction.path)
    if operation is None:
        unknown = _without_disabled(_unknown_operation(interaction, index), disabled)
        if unknown.violations and not strict_requests and _refused(interaction.response):
            return [_rejection(interaction, unknown.location, unknown.violations)]
        return [unknown]
    judged = _judge_request(interaction, operation, index, validate, disabled) if interaction.request else []
    results: list[Result] = list(_request_verdict(interaction, operation, judged, strict_requests))
    if interaction.response is not None:
        results += _check_response(interaction, operation, index, validate, disabled, kinds)
    else:
        where = f"{interaction.location} {operation.method} {operation.template}"
        results.append(Note(interaction.source, where, "no response was recorded"))
    return [_without_disabled(result, disabled) for result in results]


def _refused(response: HttpMessage | None) -> bool:
    return response is not None and response.status is not None and 400 <= response.status < 500


def _rejection(interaction: HttpInteraction, location: str, violations: list[Violation]) -> RejectedRequest:
    assert interaction.response is not None and interaction.response.status is not None
    origin = interaction.origin.describe() if interaction.origin else ""
    return RejectedRequest(interaction.source, location, str(interaction.response.status), violations, origin)


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


# ------------------------------------------------------------------------------------------ requests


def _request_verdict(
    interaction: HttpInteraction, operation: Operation, judged: list[Finding], strict_requests: bool
) -> list[Result]:
    """What the request's findings mean, given the server's answer (see ``check_interaction``)."""
    problems = [violation for finding in judged for violation in finding.violations]
    if strict_requests or not problems:
        origin = interaction.origin
        if not problems and origin is not None and origin.mode == "negative":
            where = f"{interaction.location} {operation.method} {operation.template} (request)"
            note = f"{origin.describe()}, but valid on the wire: judged as a valid request"
            return [*judged, Note(interaction.source, where, note)]
        return list(judged)
    where = judged[0].location
    response = interaction.response
    if response is None or response.status is None:
        return [Note(interaction.source, where, f"breaks the contract ({_summary(problems)}); no response recorded")]
    if _refused(response):
        return [_rejection(interaction, where, problems)]
    if response.status >= 500:  # a server error is judged as a response (no 5xx is declared)
        return [Note(interaction.source, where, f"breaks the contract ({_summary(problems)})")]
    accepted = Violation(
        code="invalid-request-accepted",
        pointer=problems[0].pointer,
        expected="a 4xx refusal",
        found=f"HTTP {response.status}",
        schema_path=problems[0].schema_path,
        message=f"the request breaks the contract ({_summary(problems)}) but was accepted with {response.status}",
    )
    if interaction.origin is not None:
        accepted = replace(accepted, message=f"{accepted.message}; {interaction.origin.describe()}")
    return [Finding(interaction.source, where, judged[0].kind, [accepted])]


def _summary(problems: list[Violation]) -> str:
    first = problems[0]
    text = f"{first.pointer or '(root)'}: {first.message or f'expected {first.expected}, found {first.found}'}"
    return text + (f"; {len(problems) - 1} more" if len(problems) > 1 else "")


def _judge_request(
    interaction: HttpInteraction,
    operation: Operation,
    index: OperationIndex,
    validate: Validate,
    disabled: Collection[str],
) -> list[Finding]:
    """The request's body finding (when it has or needs a body) and its query finding (when it breaks)."""
    base = f"{interaction.location} {operation.method} {operation.template}"
    found = []
    body = _judge_body(interaction, operation, index, validate, disabled, f"{base} (request)")
    if body is not None:
        found.append(body)
    query = [v for v in _query_violations(interaction.query, operation, index, validate) if v.code not in disabled]
    if query:
        found.append(Finding(interaction.source, f"{base} (request query)", "request-query", query))
    return found


def _judge_body(
    interaction: HttpInteraction,
    operation: Operation,
    index: OperationIndex,
    validate: Validate,
    disabled: Collection[str],
    location: str,
) -> Finding | None:
    request = interaction.request
    assert request is not None
    declared = index.request_body(operation)
    kind = "job-request" if operation.method == "POST" else "request"
    finding = Finding(interaction.source, location, kind)
    if not request.has_body:
        if declared is None or not declared.node.get("required"):
            return None
        missing = Violation("schema-required", "", "a request body (the operation requires one)", "no body")
        finding.violations.append(replace(missing, schema_path=f"{declared.location}/required"))
    elif declared is None:
        finding.violations.append(_undeclared_body(request, f"{operation.location}/requestBody"))
    else:
        violations, _ = _message_violations(request, declared, index, validate, disabled, kind)
        finding.violations += violations
    finding.violations[:] = [v for v in finding.violations if v.code not in disabled]
    return finding


def _query_violations(query: str, operation: Operation, index: OperationIndex, validate: Validate) -> list[Violation]:
    """The query's breaches of the declared query parameters, each value read as its schema says
    (``form`` style, exploded: ``status=A&status=B`` is an array). Undeclared parameters are allowed."""
    given: dict[str, list[str]] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
    except ValueError:  # more fields than any client of this API sends: refuse, do not spend time on it
        return [Violation("schema-other", "", f"at most {MAX_QUERY_FIELDS} query fields", "more")]
    for name, value in pairs:
        given.setdefault(name, []).append(value)
    violations: list[Violation] = []
    for position, raw in enumerate(operation.node.get("parameters") or []):
        parameter, location = index.resolve(raw, f"{operation.location}/parameters/{position}")
        if parameter.get("in") != "query" or not isinstance(parameter.get("name"), str):
            continue
        name = parameter["name"]
        values = given.get(name)
        if not values:
            if parameter.get("required"):
                violations.append(Violation("schema-required", pointer([name]), "the parameter", "none", location))
            continue
        schema_location = f"{location}/schema"
        schema, _ = index.resolve(parameter.get("schema") or {}, schema_location)
        value, problem = _query_value(values, schema, index, schema_location)
        if problem is not None:
            violations.append(replace(problem, pointer=pointer([name]), schema_path=schema_location))
            continue
        prefix = pointer([name])
        violations += [replace(v, pointer=prefix + v.pointer) for v in validate(value, schema_location, kind=None)]
    return violations


def _query_value(
    values: list[str], schema: dict[str, Any], index: OperationIndex, location: str
) -> tuple[Any, Violation | None]:
    """The JSON value a parameter's wire text stands for, or the reason it cannot stand for one."""
    if schema.get("type") == "array":
        items, _ = index.resolve(schema.get("items") or {}, f"{location}/items")
        converted = [_scalar(value, items) for value in values]
        problem = next((p for _, p in converted if p is not None), None)
        return [value for value, _ in converted], problem
    if len(values) > 1:
        return None, Violation("schema-type", "", "one value", f"{len(values)} values ({', '.join(values[:3])})")
    return _scalar(values[0], schema)


MAX_QUERY_FIELDS = 10_000
_INTEGER = re.compile(r"-?[0-9]{1,4000}")


def _scalar(text: str, schema: dict[str, Any]) -> tuple[Any, Violation | None]:
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    shown = shorten(text)
    if "integer" in types and _INTEGER.fullmatch(text):
        return int(text), None
    if "number" in types:
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is not None and math.isfinite(number):
            return number, None
    if "boolean" in types and text in ("true", "false"):
        return text == "true", None
    if "string" in types or types == [None]:
        return text, None
    expected = " or ".join(str(t) for t in types if t)
    return None, Violation(
        "schema-type",
        "",
        expected,
        f"{shown} (not {'an' if expected[0] in 'aeiou' else 'a'} {expected} in a query string)",
    )


def _form_violations(
    message: HttpMessage,
    media: dict[str, Any],
    schema_location: str,
    index: OperationIndex,
    validate: Validate,
    kind: str | None,
) -> list[Violation]:
    """A form body judged by the parts it carried: their names, how many of each, and the content of a
    part the contract types by ``contentSchema`` (the ``json`` part of a job request).

    Every part is bytes on the wire, so a part counts as a string; unnamed parts are ignored."""
    try:
        parts = (
            list(message.form) if message.form is not None else parse_multipart(message.body_bytes(), _type(message))
        )
    except (FormProblem, ValueError) as error:
        return [Violation("unparsable-body", "", "a multipart/form-data body", str(error))]
    schema, schema_location = index.resolve(media["schema"], schema_location)  # a $ref: its target
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    fields: dict[str, list[FormPart]] = {}
    for part in parts:
        if part.name:
            fields.setdefault(part.name, []).append(part)
    form: dict[str, Any] = {}
    for name, found in fields.items():
        declared, _ = index.resolve(properties.get(name) or {}, pointer_join(schema_location, "properties", name))
        texts = [_part_text(part) for part in found]
        form[name] = texts if declared.get("type") == "array" or len(texts) > 1 else texts[0]
    violations = list(validate(form, schema_location, kind=None))
    for name, found in fields.items():
        declared, where = index.resolve(properties.get(name) or {}, pointer_join(schema_location, "properties", name))
        if "contentSchema" in declared and len(found) == 1 and found[0].data is not None:
            violations += _part_content_violations(found[0], name, f"{where}/contentSchema", validate, kind)
    return violations


def _part_content_violations(
    part: FormPart, name: str, schema_location: str, validate: Validate, kind: str | None
) -> list[Violation]:
    prefix = pointer([name])
    try:
        content = parse_json(part.data or b"")
    except JsonProblem as problem:
        return [Violation("schema-type", prefix, "a JSON document in this part", str(problem), schema_location)]
    return [replace(v, pointer=prefix + v.pointer) for v in validate(content, schema_location, kind=kind)]


def _part_text(part: FormPart) -> str:
    if part.data is None:
        return ""  # the recorder kept no content (a file's bytes); the part was there
    return part.data.decode("utf-8", "replace")


def _type(message: HttpMessage) -> str:
    return message.content_type or ""


# ----------------------------------------------------------------------------------------- responses


def _check_response(
    interaction: HttpInteraction,
    operation: Operation,
    index: OperationIndex,
    validate: Validate,
    disabled: Collection[str],
    kinds: Kinds | None = None,
) -> list[Result]:
    kinds = kinds or V0_KINDS
    response = interaction.response
    assert response is not None and response.status is not None
    location = f"{interaction.location} {operation.method} {operation.template} -> {response.status}"
    declared = index.response(operation, response.status)
    if (collector := coverage.active()) is not None:
        key = declared.key if declared is not None else None
        collector.response(operation.method, operation.template, response.status, key, interaction.query)
    kind = _response_kind(operation, response.status, kinds)
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
    violations, notes = _message_violations(response, declared, index, validate, disabled, kind, kinds.rules)
    finding.violations += violations
    return [finding, *(replace(note, source=finding.source, location=location) for note in notes)]


def _response_kind(operation: Operation, status: int, kinds: Kinds) -> str:
    if 200 <= status < 300:
        return kinds.success.get((operation.method, operation.template), "response")
    return kinds.error


def _message_violations(
    message: HttpMessage,
    declared: Declared,
    index: OperationIndex,
    validate: Validate,
    disabled: Collection[str],
    kind: str,
    rule_kinds: Collection[str] = RULE_KINDS,
) -> tuple[list[Violation], list[Note]]:
    """Content type, then the body itself: a JSON body against its schema, a form by its parts."""
    content = declared.node.get("content") or {}
    if not content:
        return ([_undeclared_body(message, declared.location)] if message.has_body else []), []
    media = match_media_type(message.content_type, list(content))
    if media is None:
        return [_wrong_content_type(message, list(content), f"{declared.location}/content")], []
    node = content[media] or {}
    if "schema" not in node:
        return [], []
    if message.truncated:
        return [], [Note("", "", "body not validated: the recorder kept only a prefix")]
    schema_location = pointer_join(declared.location, "content", media, "schema")
    rule_kind = kind if kind in rule_kinds else None
    if media_essence(media) == "multipart/form-data":
        return _form_violations(message, node, schema_location, index, validate, rule_kind), []
    if not is_json_media(media):
        return [], []
    body, problem = _parse_body(message)
    if problem is not None:
        return [replace(problem, schema_path=schema_location)], []
    return list(validate(body, schema_location, kind=rule_kind, disabled=disabled)), []


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


def _without_disabled(result: Result, disabled: Collection[str]) -> Result:
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
