"""Judge a request by its wire form: the bytes a server receives, not the types it was generated with.

schemathesis calls a case negative when a generated value has the wrong type, but several encodings lose the
type on the way out: a multipart part is bytes (``file`` generated as ``true`` is the one-byte-file ``true``;
``json`` generated as ``{}`` is the JSON text ``{}``), a query string and a header are text (an integer
generated as the string ``"5"`` is ``5`` on the wire). Such a case is a valid request, and a server is right
to accept it. Only a request whose wire form breaks the contract can prove that a server accepts bad data.

``WireRequest.of_case`` serializes a case exactly as schemathesis sends it; ``contract_breach`` reads the
request back the way a server does (path segments, query and header values as text, multipart parts as
bytes, parsed by the parser Starlette uses) and validates it with the contract. A text value is valid when
it is valid as a string or as the JSON scalar it spells (``5``, ``true``, ``null``); a multipart part
declared as structured (an object, an array, or a ``contentSchema`` of JSON) is read as JSON; a
``format: binary`` part is any bytes. Formats are asserted here (a path ``id`` that is no UUID is a bad
request), unlike for responses: a stricter judgement only keeps the verdict schemathesis gave. What cannot
be judged here (cookies, media types other than JSON and multipart) counts as a breach for the same reason.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jsonschema
import requests
from python_multipart.multipart import MultipartParser, parse_options_header

from contracts.schema import OPENAPI_URI, DiscriminatingValidator, default_contract
from contracts.traffic import is_json_media, match_media_type, media_essence
from contracts.violations import pointer

MAX_WIRE_BODY = 16 * 1024 * 1024  # a generated body is small; a larger one is not judged (it stays negative)


@dataclass(frozen=True)
class WireRequest:
    """One HTTP request as it goes on the wire."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    @classmethod
    def of_case(cls, case: Any, base_url: str) -> WireRequest:
        """The request schemathesis sends for ``case`` (its own serializer, then ``requests``' encoder)."""
        prepared = requests.Request(**case.as_transport_kwargs(base_url=base_url)).prepare()
        return cls.of_prepared(prepared, base_url)

    @classmethod
    def of_prepared(cls, prepared: requests.PreparedRequest, base_url: str = "") -> WireRequest:
        url = urlsplit(prepared.url or "")
        base_path = urlsplit(base_url).path.rstrip("/")
        path = url.path[len(base_path) :] if base_path and url.path.startswith(base_path) else url.path
        body = prepared.body or b""
        return cls(
            method=(prepared.method or "GET").upper(),
            path=path or "/",
            query=tuple(parse_qsl(url.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in prepared.headers.items()},
            body=body.encode("utf-8") if isinstance(body, str) else bytes(body),
        )


def contract_breach(
    document: Mapping[str, Any],
    template: str,
    request: WireRequest,
    *,
    api_key: str | None = None,
    source: tuple[str, Any] | None = None,
) -> str | None:
    """Why ``request`` to the operation at ``template`` breaks the contract; None when its wire form is valid.

    ``api_key``: the key a valid request carries (a request with another key must be refused); when None,
    any key is taken as valid. ``source``: (base URI, registry) the document's schemas resolve in, for a
    document other than v0's repaired contract (v1's: ``contracts.apis.v1.contract``).
    """
    operation = _Operation(document, template, request.method.lower())
    token = _SOURCE.set(source)
    try:
        return (
            operation.security_breach(request, api_key)
            or operation.parameters_breach(request)
            or operation.body_breach(request)
        )
    finally:
        _SOURCE.reset(token)


class _Operation:
    def __init__(self, document: Mapping[str, Any], template: str, method: str) -> None:
        self.document = document
        self.template = template
        self.location = pointer(["paths", template, method])
        self.node = document["paths"][template][method]

    # -- security --------------------------------------------------------------------------------------------

    def security_breach(self, request: WireRequest, api_key: str | None) -> str | None:
        requirements = self.node.get("security", self.document.get("security"))
        if not requirements:
            return None
        schemes = self.document.get("components", {}).get("securitySchemes", {})
        reasons = [self._unmet(requirement, schemes, request, api_key) for requirement in requirements]
        return None if None in reasons else reasons[0]

    @staticmethod
    def _unmet(
        requirement: Mapping[str, Any], schemes: Mapping[str, Any], request: WireRequest, key: str | None
    ) -> str | None:
        for name in requirement:
            scheme = schemes.get(name, {})
            if scheme.get("type") != "apiKey" or scheme.get("in") not in ("header", "query"):
                continue  # not judged here: taken as met, so the case keeps its own verdict on the rest
            sent = (
                request.headers.get(scheme["name"].lower())
                if scheme["in"] == "header"
                else dict(request.query).get(scheme["name"])
            )
            if sent is None:
                return f"security: no {scheme['name']}"
            if key is not None and sent != key:
                return f"security: {scheme['name']} is not the API key"
        return None

    # -- parameters ------------------------------------------------------------------------------------------

    def _parameters(self) -> Iterator[tuple[dict[str, Any], str]]:
        """(parameter, pointer of its schema), path-level ones overridden by the operation's."""
        found: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        path_item = pointer(["paths", self.template])
        for base, node in ((path_item, self.document["paths"][self.template]), (self.location, self.node)):
            for index, entry in enumerate(node.get("parameters", [])):
                parameter, at = self._resolve(entry, f"{base}/parameters/{index}")
                found[(parameter["name"], parameter["in"])] = (parameter, f"{at}/schema")
        yield from found.values()

    def parameters_breach(self, request: WireRequest) -> str | None:
        path_values = self._path_values(request.path)
        if path_values is None:
            return f"path {request.path!r} does not match {self.template}"
        for parameter, at in self._parameters():
            name, place = parameter["name"], parameter["in"]
            if place == "cookie":
                return f"cookie parameter {name}: not judged"
            if place == "path":
                values = [path_values[name]] if name in path_values else []
            elif place == "query":
                values = [value for key, value in request.query if key == name]
            else:
                values = [request.headers[name.lower()]] if name.lower() in request.headers else []
            reason = self._values_breach(parameter, at, values)
            if reason:
                return f"{place} parameter {name}: {reason}"
        return None

    def _path_values(self, path: str) -> dict[str, str] | None:
        match = _template_pattern(self.template).fullmatch(path)
        return None if match is None else {key: unquote(value) for key, value in match.groupdict().items()}

    def _values_breach(self, parameter: Mapping[str, Any], at: str, values: list[str]) -> str | None:
        if not values:
            return "required, absent" if parameter.get("required") else None
        if "schema" not in parameter:
            return "declared by content: not judged"
        schema, schema_at = self._resolve(parameter["schema"], at)
        if "array" in _types(schema):
            items_at = f"{schema_at}/items"
            return _invalid([_best_reading(v, items_at, structured=False) for v in values], at)
        if len(values) > 1:
            return f"{len(values)} values for a single value"
        return _invalid(_best_reading(values[0], at, structured=False), at)

    # -- body ------------------------------------------------------------------------------------------------

    def body_breach(self, request: WireRequest) -> str | None:
        declared = self.node.get("requestBody")
        if declared is None:
            return None  # a body the contract does not declare is not read by the server
        body_node, body_at = self._resolve(declared, f"{self.location}/requestBody")
        if not request.body:
            return "body: required, absent" if body_node.get("required") else None
        if len(request.body) > MAX_WIRE_BODY:
            return "body: too large to judge"
        content = body_node.get("content", {})
        content_type = request.headers.get("content-type")
        media = match_media_type(content_type, list(content))
        if media is None:
            return f"body: content type {content_type!r} is not declared"
        schema_at = f"{body_at}/content/{pointer([media])[1:]}/schema"
        if is_json_media(media):
            try:
                body = json.loads(request.body)
            except (ValueError, RecursionError):
                return "body: not JSON"
            return _invalid(body, schema_at)
        if media_essence(media) == "multipart/form-data":
            return self._multipart_breach(request, content_type or "", schema_at)
        return f"body: media type {media} not judged"

    def _multipart_breach(self, request: WireRequest, content_type: str, schema_at: str) -> str | None:
        parts = read_multipart(request.body, content_type)
        if parts is None:
            return "body: not a readable multipart body"
        schema, schema_at = self._resolve(self._node_at(schema_at), schema_at)  # a $ref'd form (v1) too
        properties = schema.get("properties", {})
        by_name: dict[str, list[bytes]] = {}
        for name, data in parts:
            by_name.setdefault(name, []).append(data)
        instance: dict[str, Any] = {}
        for name, values in by_name.items():
            if name not in properties:
                instance[name] = _text(values[-1])
                continue
            at = f"{schema_at}/properties/{pointer([name])[1:]}"
            prop, prop_at = self._resolve(properties[name], at)
            if "array" in _types(prop):
                items, items_at = self._resolve(prop.get("items", {}), f"{prop_at}/items")
                instance[name] = [self._part_reading(data, items, items_at) for data in values]
            elif len(values) > 1:
                return f"body: {len(values)} parts named {name!r} for a single value"
            else:
                instance[name] = self._part_reading(values[0], prop, prop_at)
                reason = self._content_breach(instance[name], prop, prop_at)
                if reason:
                    return f"body: part {name!r}: {reason}"
        return _invalid(instance, schema_at)

    def _part_reading(self, data: bytes, schema: Mapping[str, Any], at: str) -> Any:
        if schema.get("format") == "binary" or schema.get("contentEncoding") == "binary":
            return data.decode("latin-1")  # any bytes: the string the contract's type names
        structured = bool(_types(schema) & {"object", "array"})
        return _best_reading(_text(data), at, structured=structured)

    def _content_breach(self, value: Any, schema: Mapping[str, Any], at: str) -> str | None:
        """A JSON part declared by ``contentMediaType``/``contentSchema`` must hold what its schema says."""
        media = schema.get("contentMediaType")
        if not isinstance(value, str) or not media or not is_json_media(media) or "contentSchema" not in schema:
            return None
        try:
            content = json.loads(value)
        except (ValueError, RecursionError):
            return "not JSON"
        return _invalid(content, f"{at}/contentSchema")

    # -- references ------------------------------------------------------------------------------------------

    def _resolve(self, node: Any, at: str) -> tuple[dict[str, Any], str]:
        """Follow local ``$ref``s: (the node, its pointer)."""
        for _ in range(32):
            if not isinstance(node, dict) or "$ref" not in node or not str(node["$ref"]).startswith("#"):
                break
            at = node["$ref"][1:]
            node = self._node_at(at)
        return (node if isinstance(node, dict) else {}), at

    def _node_at(self, at: str) -> Any:
        node: Any = self.document
        for part in at.lstrip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node


def read_multipart(body: bytes, content_type: str) -> list[tuple[str, bytes]] | None:
    """(name, bytes) of every part, as Starlette's parser reads them; None when the body cannot be read."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        return None
    parts: list[tuple[str, bytes]] = []
    current: dict[str, Any] = {}

    def begin() -> None:
        current.update(headers=[], field=b"", value=b"", data=[])

    def header_end() -> None:
        current["headers"].append((current["field"].lower(), current["value"]))
        current["field"] = current["value"] = b""

    def part_end() -> None:
        disposition = dict(current["headers"]).get(b"content-disposition", b"")
        _, params = parse_options_header(disposition)
        name = params.get(b"name")
        if name is not None:  # an unnamed part is skipped by the server
            parts.append((name.decode("latin-1"), b"".join(current["data"])))

    callbacks = {
        "on_part_begin": begin,
        "on_header_field": lambda data, start, end: current.update(field=current["field"] + data[start:end]),
        "on_header_value": lambda data, start, end: current.update(value=current["value"] + data[start:end]),
        "on_header_end": header_end,
        "on_part_data": lambda data, start, end: current["data"].append(data[start:end]),
        "on_part_end": part_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except Exception:  # noqa: BLE001  (the parser raises several kinds for a malformed body)
        return None
    return parts


@functools.cache
def _template_pattern(template: str) -> re.Pattern[str]:
    pieces = re.split(r"\{([^}/]+)\}", template)
    regex = "".join(re.escape(piece) if i % 2 == 0 else f"(?P<{piece}>[^/]+)" for i, piece in enumerate(pieces))
    return re.compile(regex)


def _types(schema: Mapping[str, Any]) -> set[str]:
    declared = schema.get("type")
    return {declared} if isinstance(declared, str) else set(declared or ())


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _readings(text: str, *, structured: bool) -> Iterator[Any]:
    """The values a text on the wire can stand for: the text itself, then the JSON it spells."""
    yield text
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return
    if not isinstance(value, str) and (structured or not isinstance(value, (dict, list))):
        yield value


def _best_reading(text: str, at: str | None, *, structured: bool) -> Any:
    """The first reading the schema at ``at`` accepts; the text itself when none does (or no schema)."""
    if at is None:
        return text
    for value in _readings(text, structured=structured):
        if _invalid(value, at) is None:
            return value
    return text


def _invalid(value: Any, at: str) -> str | None:
    """The first error of ``value`` against the schema at ``at`` in the document judged (the repaired contract
    unless ``contract_breach`` was given another), formats asserted."""
    source = _SOURCE.get()
    validator = _wire_validator(at) if source is None else _source_validator(at, source[0], source[1])
    error = next(validator.iter_errors(value), None)
    return None if error is None else f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message:.200}"


# On the wire an integer is spelled as one: `5.0` is a number, not an integer (jsonschema would take 5.0).
_WIRE_TYPES = DiscriminatingValidator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
)
_WIRE_FORMATS = copy.deepcopy(DiscriminatingValidator.FORMAT_CHECKER)
_WIRE_FORMATS.checks("int32")(lambda value: not isinstance(value, int) or -(2**31) <= value < 2**31)
_WIRE_FORMATS.checks("int64")(lambda value: not isinstance(value, int) or -(2**63) <= value < 2**63)
_WireValidator = jsonschema.validators.extend(DiscriminatingValidator, type_checker=_WIRE_TYPES)


_SOURCE: contextvars.ContextVar[tuple[str, Any] | None] = contextvars.ContextVar("wire_source", default=None)


_SOURCE_VALIDATORS: dict[tuple[str, str], Any] = {}  # (pointer, base URI): one registry per base URI


def _source_validator(at: str, uri: str, registry: Any) -> Any:
    key = (at, uri)
    if key not in _SOURCE_VALIDATORS:
        if len(_SOURCE_VALIDATORS) >= 1024:  # bounded: a document has a few hundred schema places
            _SOURCE_VALIDATORS.clear()
        _SOURCE_VALIDATORS[key] = _WireValidator({"$ref": f"{uri}#{at}"}, registry=registry,
                                                 format_checker=_WIRE_FORMATS)  # fmt: skip
    return _SOURCE_VALIDATORS[key]


@functools.cache
def _wire_validator(at: str) -> Any:
    schema = {"$ref": f"{OPENAPI_URI}#{at}"}
    return _WireValidator(schema, registry=default_contract().registry, format_checker=_WIRE_FORMATS)
