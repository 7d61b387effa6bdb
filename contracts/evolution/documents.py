"""Reading contract documents given by the user (OpenAPI, AsyncAPI, label sets), safely, and finding things in them.

A contract document is walked whole (diffed, overlaid, deep-copied), so what is harmless for a recording is not
here: YAML aliases are refused (a walk would expand an alias bomb), and size and nesting are bounded.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Literal

from contracts import safe_yaml
from contracts.readers import MAX_DEPTH, JsonProblem, decode_utf8, parse_json, read_regular_file

MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
Kind = Literal["openapi", "asyncapi", "labels"]
JSON_MEDIA = "application/json"


class DocumentError(ValueError):
    """A document that cannot be read or is not a contract; the message names the file and what was expected."""


def load_document(path: Path) -> Any:
    """A JSON or YAML document from ``path``; ``DocumentError`` naming the file and the problem otherwise."""
    try:
        data = read_regular_file(path, MAX_DOCUMENT_BYTES, "a contract")
    except JsonProblem as problem:
        raise DocumentError(f"{path}: {problem}") from None
    try:
        if path.suffix.lower() == ".json":
            return parse_json(data)
        return _parse_yaml(decode_utf8(data))
    except JsonProblem as problem:
        raise DocumentError(f"{path}: {problem}") from None


def _parse_yaml(text: str) -> Any:
    try:
        return safe_yaml.load(text, max_depth=MAX_DEPTH, aliases=False)  # the suite's one YAML loader
    except safe_yaml.YamlProblem as problem:
        raise JsonProblem(str(problem)) from None


def kind_of(document: Any) -> Kind | None:
    """What a contract document is: an OpenAPI 3 or AsyncAPI 2 document, the suite's label sets, or None."""
    if not isinstance(document, dict):
        return None
    if str(document.get("openapi", "")).startswith("3.") and isinstance(document.get("paths"), dict):
        return "openapi"
    if str(document.get("asyncapi", "")).startswith("2.") and isinstance(document.get("channels"), dict):
        return "asyncapi"
    if document and all(
        isinstance(v, dict) and isinstance(v.get("names"), list) for k, v in document.items() if not k.startswith("_")
    ):
        return "labels"
    return None


def load_openapi(path: Path) -> dict[str, Any]:
    document = load_document(path)
    if kind_of(document) != "openapi":
        raise DocumentError(f"{path}: not an OpenAPI 3 document (expected top-level `openapi: 3.x` and `paths`)")
    check_shape(document, "openapi", path)
    return document


_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _expect(value: Any, kind: type, where: str, path: Path) -> None:
    if value is not None and not isinstance(value, kind):
        expected = "an object" if kind is dict else "a list"
        raise DocumentError(f"{path}: {where}: expected {expected}, found {type(value).__name__}")


def check_shape(document: dict[str, Any], kind: Kind, path: Path) -> None:
    """The containers the rebase and the diff walk are what OpenAPI / AsyncAPI say they are (else DocumentError)."""
    if kind == "labels":
        return
    components = document.get("components")
    _expect(components, dict, "components", path)
    for name, section in (components or {}).items():
        _expect(section, dict, f"components.{name}", path)
    for name in (components or {}).get("schemas") or {}:
        if not isinstance(name, str):
            raise DocumentError(f"{path}: components.schemas: a schema name must be text, found {name!r}")
    if kind == "asyncapi":
        for name, channel in document["channels"].items():
            _expect(channel, dict, f"channels[{name!r}]", path)
            for direction in ("publish", "subscribe"):
                _expect((channel or {}).get(direction), dict, f"channels[{name!r}].{direction}", path)
        return
    _expect(document.get("security"), list, "security", path)
    for template, item in document["paths"].items():
        _expect(item, dict, f"paths[{template!r}]", path)
        _expect((item or {}).get("parameters"), list, f"paths[{template!r}].parameters", path)
        for method in _METHODS:
            operation = (item or {}).get(method)
            where = f"paths[{template!r}].{method}"
            _expect(operation, dict, where, path)
            for key, expected in (("parameters", list), ("responses", dict), ("requestBody", dict), ("security", list)):
                _expect((operation or {}).get(key), expected, f"{where}.{key}", path)
            for status, response in ((operation or {}).get("responses") or {}).items():
                _expect(response, dict, f"{where}.responses[{status!r}]", path)


def escape(token: str) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def json_pointer(steps: list[Any] | tuple[Any, ...]) -> str:
    return "".join(f"/{escape(step)}" for step in steps)


def resolve_pointer(document: Any, fragment: str) -> Any:
    """The node at a JSON pointer (``/components/schemas/X``); KeyError when it is not there."""
    node = document
    for raw in fragment.lstrip("#").split("/")[1:] if fragment.strip("#") else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node):
                raise KeyError(fragment)
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise KeyError(fragment)
    return node


def json_media(content: Any) -> str | None:
    """The JSON media type of a ``content`` map (``application/json``, with or without parameters)."""
    if not isinstance(content, dict):
        return None
    return next((media for media in content if media.split(";", 1)[0].strip().lower() == JSON_MEDIA), None)


# Where each kind of body sits in a batch OpenAPI document: by operation, so that it is found whatever the
# upstream calls its schemas.
BODY_PLACES: dict[str, tuple[str, str, str]] = {
    "job": ("/v0/batch/jobs/{id}", "get", "response"),
    "jobs": ("/v0/batch/jobs", "get", "response"),
    "predictions": ("/v0/batch/jobs/{id}/predictions", "get", "response"),
    "job-request": ("/v0/batch/jobs", "post", "request"),
}


def body_schema_pointer(document: dict[str, Any], kind: str) -> str | None:
    """The JSON pointer of the schema a body of ``kind`` is judged by (200 response or JSON request body)."""
    if kind not in BODY_PLACES:
        return None
    template, method, side = BODY_PLACES[kind]
    operation = (document.get("paths") or {}).get(template, {}).get(method)
    if not isinstance(operation, dict):
        return None
    steps: list[Any] = ["paths", template, method]
    holder = operation.get("requestBody") if side == "request" else (operation.get("responses") or {}).get("200")
    steps += ["requestBody"] if side == "request" else ["responses", "200"]
    if not isinstance(holder, dict):
        return None
    media = json_media(holder.get("content"))
    if media is None or "schema" not in holder["content"][media]:
        return None
    return json_pointer([*steps, "content", media, "schema"])


def walk_size(document: Any, cap: int) -> int:
    """How many nodes a walker that follows every local ``$ref`` visits from the root (``cap`` at most).

    A validator that follows references without remembering what it has walked (openapi-spec-validator)
    does this much work: a 3 KB document whose schemas each refer to the next twice (through ``allOf``,
    ``oneOf`` or ``$ref`` siblings) makes it 2**40. Counted once per node (memoised, iterative); a reference
    back to a node being walked counts one.
    """
    sizes: dict[int, int] = {}
    walking: set[int] = set()
    stack: list[tuple[Any, bool]] = [(document, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            walking.discard(key)
            sizes[key] = min(cap, 1 + sum(_size_of(child, sizes, walking) for child in _walked(document, node)))
            continue
        if key in sizes or key in walking:
            continue
        walking.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _walked(document, node) if isinstance(child, dict | list))
    return sizes.get(id(document), 1)


def _size_of(child: Any, sizes: dict[int, int], walking: set[int]) -> int:
    if not isinstance(child, dict | list) or id(child) in walking:
        return 1
    return sizes.get(id(child), 1)


def _walked(document: Any, node: Any) -> list[Any]:
    """The children of ``node``, a local ``$ref`` standing for what it points at."""
    if isinstance(node, list):
        return node
    if not isinstance(node, dict):
        return []
    ref = node.get("$ref")
    children = [value for key, value in node.items() if key != "$ref"]
    if isinstance(ref, str) and ref.startswith("#"):
        with contextlib.suppress(KeyError):  # a dangling reference: nothing more to walk
            children.append(resolve_pointer(document, ref))
    return children
