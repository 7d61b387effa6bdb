"""Validate a large JSON body from a file without holding it whole.

A predictions body of tens of megabytes becomes, once parsed, Python objects of about ten times its size
(a dict, a string and a float per 45-byte emotion score). Here the file is parsed as a stream of events
(``ijson``), and the prediction items (a face at one frame, an utterance, a word) are validated one at a
time as each is complete, then dropped: only the rest of the body (the skeleton: sources, metadata,
group ids, with the item lists left empty) is kept and validated at the end. Memory stays at one item
plus the skeleton, whatever the size of the file.

The violations are the ones ``validate_body`` reports for the whole body (in another order): each item
is checked against the schema the whole-body validation applies at its place, found by walking the
contract along the item's path. That walk refuses any path where emptying the item lists could change how
the rest of the body is judged (a union it cannot settle by the value's type, ``allOf``, conditionals,
``const``/``enum``/``uniqueItems`` on a container, bounds on the item list's length); such lists are then
kept whole, which is always exact.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Callable, Collection, Iterator
from typing import IO, Any

import ijson

from contracts import coverage, validation
from contracts.fast import contract_documents, node_at, schema_violations, split_ref
from contracts.rules import RULES, check_rules
from contracts.violations import Violation, pointer

MAX_DEPTH = 256  # far above any body of the API (predictions nest 13 levels)


class Index:
    """In a path pattern: any list index."""


class Key:
    """In a path pattern: any object key."""


# Where the items streamed out sit, per kind, and the rule node type they are (see contracts.rules.nodes).
ITEM_PATTERNS: dict[str, tuple[tuple[Any, ...], str]] = {
    "predictions": (
        (Index, "results", "predictions", Index, "models", Key, "grouped_predictions", Index, "predictions", Index),
        "item",
    ),
}
_MODEL_AT = 5  # the model's name in a predictions item's path


class UnreadableJson(ValueError):
    """The file is not one complete JSON document (or nests deeper than ``MAX_DEPTH``)."""


def validate_file(
    handle: IO[bytes], kind: str, *, disabled: Collection[str] = (), max_depth: int = MAX_DEPTH
) -> list[Violation]:
    """Every violation of the body in ``handle`` (a binary file) read as ``kind``, item by item.

    Raises ``UnreadableJson`` for truncated, invalid or too deeply nested JSON.
    """
    if kind not in validation.KIND_SCHEMAS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(validation.KINDS)}")
    start = _skip_bom(handle)
    try:
        return _validate_events(stream_events(handle), kind, disabled, max_depth)
    except ijson.JSONError as error:
        if "integer overflow" not in str(error) or start is None:
            raise UnreadableJson(f"not valid JSON: {_first_line(error)}") from None
    # The C parser stops at integers beyond 64 bits; ijson's Python parser reads them, slower but
    # still item by item (read whole, a 50 MB body took 517 MB).
    handle.seek(start)
    try:
        return _validate_events(_as_orjson_reads(stream_events(handle, PYTHON_BACKEND)), kind, disabled, max_depth)
    except ijson.JSONError as error:
        raise UnreadableJson(f"not valid JSON: {_first_line(error)}") from None


def _validate_events(
    events: Iterator[tuple[str, Any]], kind: str, disabled: Collection[str], max_depth: int
) -> list[Violation]:
    found: list[Violation] = []
    splitter = _Splitter(kind, disabled, found)
    skeleton = build(events, splitter.splits, splitter.check_item, max_depth)
    ref = validation.KIND_SCHEMAS[kind]
    found[:0] = schema_violations(skeleton, ref)
    if (collector := coverage.active()) is not None:
        collector.body(skeleton, ref)
    found.extend(check_rules(skeleton, kind, disabled))
    return validation._capped(v for v in found if v.code not in disabled)  # the cap of validate_body


def _as_orjson_reads(events: Iterator[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
    """Integers beyond 64 bits as floats, as orjson (the whole-file reader) reads them."""
    for event, value in events:
        if event == "number" and type(value) is int and not -(2**63) <= value < 2**64:
            value = float(value)
        yield event, value


# -- reading events in linear time --------------------------------------------------------------------------

PYTHON_BACKEND = ijson.get_backend("python")
CHUNK_BYTES = 64 * 1024
MAX_CHUNK_BYTES = 64 * 2**20
PROBE_BYTES = 64 * 1024


def stream_events(handle: IO[bytes], backend: Any = ijson) -> Iterator[tuple[str, Any]]:
    """``backend.basic_parse(handle, use_float=True)``, in time linear in the file whatever its tokens.

    The parsers scan a token that spans chunks again for each chunk they are fed, so one 200 MB string
    read in fixed chunks took 188 s. Here a chunk that completes no event doubles the next one (up to
    ``MAX_CHUNK_BYTES``), so a long token is rescanned about twice in all; the next event resets it.
    """
    return itertools.chain.from_iterable(_event_batches(handle, backend))  # chained in C: no cost per event


def _event_batches(handle: IO[bytes], backend: Any) -> Iterator[list[tuple[str, Any]]]:
    events = ijson.sendable_list()
    parser = backend.basic_parse_coro(events, use_float=True)
    size = CHUNK_BYTES
    while chunk := handle.read(size):
        parser.send(chunk)
        if events:
            yield events  # consumed whole before the generator resumes
            del events[:]
            size = CHUNK_BYTES
        else:
            size = min(size * 2, MAX_CHUNK_BYTES)
    parser.close()
    yield events


def streamable_kind(handle: IO[bytes]) -> str | None:
    """The kind of the body in a seekable file when it is one read item by item, told from its opening.

    A predictions body opens with ``[{"source"`` (or ``"results"``), which ``detect_kind`` also calls
    predictions; for anything else, None (read it whole). Only the first ``PROBE_BYTES`` are looked at,
    so the probe costs the same for any file. The file is left where it was.
    """
    if not handle.seekable():
        return None
    where = handle.tell()
    _skip_bom(handle)
    opening = ijson.sendable_list()
    with contextlib.suppress(ijson.JSONError):  # what was read before the error is enough
        ijson.basic_parse_coro(opening).send(handle.read(PROBE_BYTES))
    handle.seek(where)
    if [event for event, _ in opening[:3]] == ["start_array", "start_map", "map_key"]:
        return "predictions" if opening[2][1] in ("source", "results") else None
    return None


def opens_with_a_scalar(handle: IO[bytes]) -> bool:
    """Whether the JSON in a seekable file opens with a string, number, true, false or null rather than an
    object or array (no kind of body is one), told from its first ``PROBE_BYTES``; the file is left where
    it was. A big file of one long string is thus refused without reading it."""
    if not handle.seekable():
        return False
    where = handle.tell()
    _skip_bom(handle)
    opening = handle.read(PROBE_BYTES).lstrip(b" \t\r\n")
    handle.seek(where)
    return opening[:1] in _SCALAR_OPENINGS


_SCALAR_OPENINGS = {bytes([byte]) for byte in b'"-0123456789tfn'}


def _skip_bom(handle: IO[bytes]) -> int | None:
    """Step over a UTF-8 byte order mark (the readers drop it too); the position of the JSON, if seekable."""
    if not handle.seekable():
        return None
    start = handle.tell()
    if handle.read(3) == b"\xef\xbb\xbf":
        return start + 3
    handle.seek(start)
    return start


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or ["(no detail)"])[0]


# -- building the skeleton from parser events ----------------------------------------------------------------

_SCALARS = frozenset({"string", "double", "integer", "number", "boolean", "null"})
_NOTHING = object()  # no document read yet


def build(
    events: Iterator[tuple[str, Any]],
    splits: Callable[[list[Any]], bool],
    on_item: Callable[[list[Any], Any], None],
    max_depth: int = MAX_DEPTH,
) -> Any:
    """The JSON value of ``events`` (``ijson.basic_parse``), except the elements of the lists for which
    ``splits(path)`` is true: each goes to ``on_item(path, element)`` once complete, and is not kept.

    The loop runs once per token of a file of tens of megabytes, so it keeps its state in locals:
    ``top`` is the innermost open container, ``path[i]`` the key (object) or index (list) being filled
    in the i-th open container, and ``streams`` whether ``top``'s elements go to ``on_item``.
    """
    open_containers: list[tuple[Any, bool, bool]] = []  # (container, is a list, streams), outermost first
    path: list[Any] = []
    top: Any = None
    is_list = streams = False
    root: Any = _NOTHING
    for event, value in events:
        if event == "map_key":
            path[-1] = value
            continue
        if event == "end_map" or event == "end_array":
            value = top
            open_containers.pop()
            path.pop()
            if not open_containers:
                top, is_list, streams, root = None, False, False, value
                continue
            top, is_list, streams = open_containers[-1]
            if streams:  # a complete element of a streamed list (other containers are attached already)
                on_item(path, value)
            if is_list:
                path[-1] += 1
            continue
        if event in _SCALARS:
            if top is None:  # a scalar document
                if root is not _NOTHING:
                    raise UnreadableJson("more than one JSON document")
                root = value
            elif streams:
                on_item(path, value)
                path[-1] += 1
            elif is_list:
                top.append(value)
                path[-1] += 1
            else:
                top[path[-1]] = value
            continue
        # start_map / start_array: attached to its parent when it starts, then filled in place.
        node: Any = {} if event == "start_map" else []
        if top is not None and not streams:
            if is_list:
                top.append(node)
            else:
                top[path[-1]] = node
        elif top is None and root is not _NOTHING:
            raise UnreadableJson("more than one JSON document")
        is_list = event == "start_array"
        streams = is_list and splits(path)
        top = node
        open_containers.append((top, is_list, streams))
        path.append(0 if is_list else None)
        if len(open_containers) > max_depth:
            raise UnreadableJson(f"nested more than {max_depth} levels deep")
    if root is _NOTHING:
        raise UnreadableJson("empty, expected a JSON document")
    return root


# -- which lists are streamed, and the checks of each item ---------------------------------------------------


class _Splitter:
    def __init__(self, kind: str, disabled: Collection[str], found: list[Violation]) -> None:
        self.pattern, self.node_type = ITEM_PATTERNS.get(kind, ((), ""))
        self.root_ref = validation.KIND_SCHEMAS[kind]
        self.rules = [r for r in RULES if r.node == self.node_type and r.code not in disabled]
        self.found = found
        self._item_refs: dict[tuple[Any, ...], str | None] = {}

    def splits(self, path: list[Any]) -> bool:
        """Whether the list starting at ``path`` is one whose elements are streamed out."""
        list_pattern = self.pattern[:-1]
        if not list_pattern or len(path) != len(list_pattern) or not _matches(path, list_pattern):
            return False
        return self.item_ref(_abstract(path)) is not None

    def item_ref(self, abstract_path: tuple[Any, ...]) -> str | None:
        if abstract_path not in self._item_refs:
            self._item_refs[abstract_path] = item_schema_ref(contract_documents(), self.root_ref, list(abstract_path))
        return self._item_refs[abstract_path]

    def check_item(self, path: list[Any], item: Any) -> None:
        at = pointer(path)
        ref = self.item_ref(_abstract(path[:-1]))
        self.found.extend(dataclasses.replace(v, pointer=at + v.pointer) for v in schema_violations(item, ref))
        if ref is not None and (collector := coverage.active()) is not None:
            collector.item(item, ref)
        if isinstance(item, dict):  # as contracts.rules.nodes yields items
            model = path[_MODEL_AT] if self.node_type == "item" else ""
            for registered in self.rules:
                self.found.extend(registered.check(item, list(path), model))


def _matches(path: list[Any], pattern: tuple[Any, ...]) -> bool:
    for step, expected in zip(path, pattern, strict=True):
        if expected is Index:
            if type(step) is not int:
                return False
        elif expected is Key:
            if type(step) is not str:
                return False
        elif step != expected:
            return False
    return True


def _abstract(path: list[Any]) -> tuple[Any, ...]:
    """The path with list indices dropped to ``Index``: every list at the same place has the same schema."""
    return tuple(Index if type(step) is int else step for step in path)


# -- the schema at a place of the body -----------------------------------------------------------------------

_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "example", "deprecated", "readOnly", "writeOnly", "format",
     "$comment", "nullable", "externalDocs", "xml", "contentMediaType", "contentEncoding"}
)  # fmt: skip
# Keywords on the way to the item lists that would judge a container differently once its lists are emptied.
_UNSAFE_ON_PATH = frozenset(
    {"allOf", "not", "if", "then", "else", "dependentSchemas", "unevaluatedProperties", "unevaluatedItems",
     "contains", "minContains", "maxContains", "uniqueItems", "const", "enum", "prefixItems", "patternProperties",
     "$dynamicRef", "$recursiveRef", "discriminator", "contentSchema"}
)  # fmt: skip
_UNSAFE_ON_LIST = _UNSAFE_ON_PATH | {"minItems", "maxItems"}  # the streamed list itself is left empty


def item_schema_ref(documents: dict[str, Any], root_ref: str, list_path: list[Any]) -> str | None:
    """Absolute reference of the schema the whole-body validation applies to an element of the list at
    ``list_path`` (keys, and ``Index`` for list positions); None where emptying that list is not exact."""
    uri, fragment = split_ref("", root_ref)
    steps = [*list_path, Index]
    for number, step in enumerate(steps):
        is_list = step is Index
        unsafe = _UNSAFE_ON_LIST if number == len(steps) - 1 else _UNSAFE_ON_PATH
        settled = _settle(documents, uri, fragment, "array" if is_list else "object", unsafe)
        if settled is None:
            return None
        uri, fragment, node = settled
        child = "items" if is_list else "properties"
        if is_list and not isinstance(node.get("items"), dict):
            return None
        if not is_list and step not in node.get("properties", {}):
            return None
        escaped = "" if is_list else "/" + str(step).replace("~", "~0").replace("/", "~1")
        fragment = f"{fragment}/{child}{escaped}"
    return f"{uri}#{fragment}"


def _settle(
    documents: dict[str, Any], uri: str, fragment: str, json_type: str, unsafe: frozenset[str]
) -> tuple[str, str, dict[str, Any]] | None:
    """Follow ``$ref`` and unions settled by ``json_type`` to the one schema that applies, or None."""
    for _ in range(64):  # a bound on chains of references
        node = node_at(documents, uri, fragment)
        if not isinstance(node, dict) or unsafe & node.keys() or not _admits(node, json_type):
            return None
        applicators = [key for key in ("$ref", "oneOf", "anyOf") if key in node]
        if not applicators:
            return uri, fragment, node
        if len(applicators) > 1 or node.keys() - _ANNOTATIONS - {applicators[0]}:
            return None  # an applicator beside other keywords: both would apply
        keyword = applicators[0]
        if keyword == "$ref":
            uri, fragment = split_ref(uri, node["$ref"])
            continue
        branches = [i for i, branch in enumerate(node[keyword]) if _branch_admits(documents, uri, branch, json_type)]
        if len(branches) != 1:
            return None
        fragment = f"{fragment}/{keyword}/{branches[0]}"
    return None


def _admits(node: dict[str, Any], json_type: str) -> bool:
    declared = node.get("type")
    if declared is None:
        return True
    return json_type in declared if isinstance(declared, list) else declared == json_type


def _branch_admits(documents: dict[str, Any], uri: str, branch: Any, json_type: str) -> bool:
    """Whether a union branch could accept a value of ``json_type`` (its ``type``, through ``$ref``)."""
    for _ in range(64):
        if not isinstance(branch, dict):
            return branch is not False
        if not _admits(branch, json_type):
            return False
        if "$ref" not in branch:
            return True
        uri, fragment = split_ref(uri, branch["$ref"])
        branch = node_at(documents, uri, fragment)
    return True
