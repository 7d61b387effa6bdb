"""Contract coverage: which elements of the contract a body of traffic really exercised.

An element is one thing a team would want its recordings (or a fuzz run, or a proxy session) to have
shown at least once. Areas, and what one element is in each:

- ``operations``: a declared status of an operation (``GET /v0/batch/jobs/{id} 200``); statuses seen but not
  declared are listed apart and not counted;
- ``variants``: a branch of a union: a discriminator value (``StateInference FAILED``, ``Source url``,
  ``UnionJob INFERENCE``) or, for a union told apart by shape, the branch (``StreamReply StreamErrorMessage``);
- ``enums``: a value of an enum (``LanguageGranularity passage``), in bodies and in query parameters;
- ``fields``: each optional or nullable property of each object schema, seen three ways where it can be:
  ``present`` (with a value), ``null`` (only if nullable), ``absent`` (only if optional);
- ``models``: each model seen with predictions, in batch predictions and in stream replies (``batch face``);
- ``codes``: each of Hume's error and warning codes the contract knows (``StreamCode``'s ``x-known-codes``;
  ``I0100`` stands for any ``I`` code); codes seen that it does not know are listed apart.

The percentage is elements seen over elements in all areas. A body is walked against the schema it was
validated with, following ``$ref``s and choosing union branches as the validator does (discriminator
first, then shape); a subtree whose elements have all been seen is not walked again, so a 10 MB body costs
about as much as its first few distinct items.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from contracts.fast import contract_documents, node_at, split_ref
from contracts.schema import OPENAPI_URI, STREAM_URI, json_type

AREAS = ("operations", "variants", "enums", "fields", "models", "codes")
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
BATCH_MODELS_SCHEMA = "ModelsPredictions"
STREAM_MODELS_SCHEMA = "StreamModelPredictions"
CODES_KEY = "x-known-codes"
RULE_KEY = "x-discriminator-rule"  # the stream contract's "first key present" union (StreamReply)
SATURATION_CHECKS = frozenset(2**n for n in range(32))  # array items after which a subtree is re-checked


@dataclass(frozen=True)
class Element:
    area: str
    name: str

    def __str__(self) -> str:
        return f"{self.area}: {self.name}"


_ABSENT = object()


@dataclass(frozen=True)
class _Shape:
    props: tuple[str, ...] | None  # None: items of this schema are always walked
    kept: tuple[str, ...]  # properties whose values are elements (enums, codes): part of an item's signature
    nested: frozenset[Element]


class Catalogue:
    """Every element of the contract, and per schema the elements a walk below it can reach."""

    def __init__(self, documents: Mapping[str, Any], apis: Mapping[str, str] | None = None) -> None:
        """``apis`` names the API version of each document by URI (all "v0" when not given)."""
        self.documents = documents
        self.elements: dict[str, list[Element]] = {area: [] for area in AREAS}
        self.api_of: dict[Element, str] = {}  # which API version declares each element
        self._building = "v0"
        self._reach_cache: dict[tuple[str, int], frozenset[Element]] = {}
        self._shape_cache: dict[tuple[str, int], _Shape] = {}
        self._follow_cache: dict[tuple[str, str], tuple[dict[str, Any], str, str | None]] = {}
        apis = apis or {}
        parameter_schemas: set[tuple[str, str]] = set()
        for uri, document in documents.items():
            if "paths" in document:  # an OpenAPI document: its operations
                self._building = apis.get(uri, "v0")
                parameter_schemas |= self._operations(document, uri)
        for uri, document in documents.items():
            self._building = apis.get(uri, "v0")
            for name, schema in ((document.get("components") or {}).get("schemas") or {}).items():
                if (uri, name) not in parameter_schemas:  # counted as the parameter's values instead
                    self._collect(uri, schema, name)
        self._building = "v0"
        self._models()
        self.known = frozenset(element for elements in self.elements.values() for element in elements)

    # ---- building

    def _add(self, area: str, name: str) -> Element:
        element = Element(area, name)
        if element not in self.elements[area]:
            self.elements[area].append(element)
            self.api_of[element] = self._building
        return element

    def _operations(self, document: dict[str, Any], uri: str = OPENAPI_URI) -> set[tuple[str, str]]:
        """Operation x status and query-parameter enum elements; returns the components parameters use."""
        parameter_schemas: set[tuple[str, str]] = set()
        for path, item in (document.get("paths") or {}).items():
            for method, operation in item.items():
                if method not in HTTP_METHODS:
                    continue
                for status in operation.get("responses") or {}:
                    self._add("operations", f"{method.upper()} {path} {status}")
                for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
                    declared = parameter.get("schema") or {}
                    schema = self.resolve(uri, declared)
                    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):  # ?status=A&status=B
                        declared = schema["items"]
                        schema = self.resolve(uri, declared)
                    if name := _ref_name(declared):
                        parameter_schemas.add((uri, name))
                    for value in schema.get("enum") or []:
                        self._add("enums", f"{method.upper()} {path} ?{parameter.get('name')}={value}")
        return parameter_schemas

    def _collect(self, uri: str, schema: Any, name: str, seen: frozenset[int] = frozenset()) -> None:
        """The elements a schema declares itself (its enum, union branches, optional and nullable fields)."""
        if not isinstance(schema, dict) or id(schema) in seen or "$ref" in schema:
            return
        seen = seen | {id(schema)}
        for value in schema.get("enum") or []:
            if value is not None:
                self._add("enums", f"{name} {value}")
        for code in schema.get(CODES_KEY) or {}:
            self._add("codes", str(code))
        for label in _rule_branches(schema):
            self._add("variants", f"{name} {label}")
        union = schema.get("oneOf") or schema.get("anyOf")
        if isinstance(union, list):
            for label in self._branch_labels(uri, schema, union):
                self._add("variants", f"{name} {label}")
            for index, branch in enumerate(union):
                self._collect(uri, branch, f"{name}[{index}]" if "$ref" not in branch else name, seen)
        required = set(schema.get("required") or [])
        for prop, sub in (schema.get("properties") or {}).items():
            resolved = self.resolve(uri, sub)
            if prop not in required:
                self._add("fields", f"{name}.{prop} present")
                self._add("fields", f"{name}.{prop} absent")
            if _nullable(self, uri, resolved):
                self._add("fields", f"{name}.{prop} present")
                self._add("fields", f"{name}.{prop} null")
            if "$ref" not in sub:
                self._collect(uri, sub, f"{name}.{prop}", seen)
        items = schema.get("items")
        if isinstance(items, dict) and "$ref" not in items:
            self._collect(uri, items, f"{name}[]", seen)

    def _branch_labels(self, uri: str, schema: dict[str, Any], union: list[Any]) -> list[str]:
        """What a union's branches are called; a "T or null" union has no variants (nullability is a field's)."""
        discriminator = _discriminator(schema)
        if discriminator.get("mapping"):
            return list(discriminator["mapping"])
        branches = [self.resolve(uri, branch) for branch in union]
        meaningful = [b for b in branches if b.get("type") != "null"]
        if len(meaningful) < 2:
            return []
        labels = []
        for branch, resolved in zip(union, branches, strict=True):
            if resolved.get("type") == "null":
                continue
            const = _discriminator_const(resolved, discriminator.get("propertyName"))
            labels.append(str(const) if const is not None else _ref_name(branch) or resolved.get("title", "?"))
        return labels

    def _models(self) -> None:
        for prefix, schema_name, uri in (
            ("batch", BATCH_MODELS_SCHEMA, OPENAPI_URI),
            ("stream", STREAM_MODELS_SCHEMA, STREAM_URI),
        ):
            schema = ((self.documents.get(uri) or {}).get("components", {}).get("schemas") or {}).get(schema_name)
            for model in (schema or {}).get("properties") or {}:
                if model not in ("payload_id", "job_details"):
                    self._add("models", f"{prefix} {model}")

    # ---- lookups

    def resolve(self, uri: str, schema: Any) -> dict[str, Any]:
        """``schema`` with its ``$ref``s followed ({} for anything that is not a schema)."""
        return self.follow(uri, schema)[0] if isinstance(schema, dict) else {}

    def follow(self, uri: str, schema: dict[str, Any]) -> tuple[dict[str, Any], str, str | None]:
        """The schema a chain of ``$ref``s leads to, its document, and the name of the last one that names a
        schema (memoised: bodies repeat the same references)."""
        ref = schema.get("$ref")
        if ref is None:
            return schema, uri, None
        found = self._follow_cache.get((uri, ref))
        if found is None:
            target, target_uri, name = schema, uri, None
            for _ in range(32):
                if not isinstance(target, dict) or "$ref" not in target:
                    break
                name = _ref_name(target) or name
                target_uri, fragment = split_ref(target_uri, target["$ref"])
                target = node_at(self.documents, target_uri, fragment)
            found = self._follow_cache[(uri, ref)] = (target if isinstance(target, dict) else {}, target_uri, name)
        return found


def _ref_name(branch: Any) -> str | None:
    """The name a ``$ref`` gives what it points at (see ``pointer_name``), or None."""
    ref = branch.get("$ref") if isinstance(branch, dict) else None
    return pointer_name(unquote(ref.partition("#")[2])) if isinstance(ref, str) else None


def pointer_name(fragment: str) -> str | None:
    """The catalogue's name for the schema at a JSON pointer: ``/components/schemas/X`` is ``X``, and below it
    ``.prop`` for a property, ``[]`` for array items, ``[i]`` for a union branch; None for anything else."""
    parts = [part.replace("~1", "/").replace("~0", "~") for part in fragment.split("/")[1:]]
    if len(parts) < 3 or parts[:2] != ["components", "schemas"]:
        return None
    name, rest = parts[2], parts[3:]
    while rest:
        if rest[0] == "properties" and len(rest) > 1:
            name, rest = f"{name}.{rest[1]}", rest[2:]
        elif rest[0] == "items":
            name, rest = f"{name}[]", rest[1:]
        elif rest[0] in ("oneOf", "anyOf") and len(rest) > 1:
            name, rest = f"{name}[{rest[1]}]", rest[2:]
        else:
            return None
    return name


def _discriminator(schema: dict[str, Any]) -> dict[str, Any]:
    """A union's discriminator as OpenAPI writes it (AsyncAPI 2.x gives only the property's name)."""
    found = schema.get("discriminator")
    if isinstance(found, str):
        return {"propertyName": found}
    return found if isinstance(found, dict) else {}


def _discriminator_const(schema: dict[str, Any], name: str | None) -> Any:
    if not name:
        return None
    return ((schema.get("properties") or {}).get(name) or {}).get("const")


def _rule_branches(schema: dict[str, Any]) -> list[str]:
    """The schemas a ``x-discriminator-rule`` union chooses between, by name, once each."""
    rule = schema.get(RULE_KEY)
    if not isinstance(rule, dict):
        return []
    targets = [entry.get("schema") for entry in rule.get("keys") or []] + [rule.get("default")]
    names = [_ref_name({"$ref": target}) for target in targets if isinstance(target, str)]
    return list(dict.fromkeys(name for name in names if name))


def _rule_target(rule: dict[str, Any], value: dict[str, Any]) -> str:
    """The branch a first-present-key rule picks for ``value``."""
    for entry in rule.get("keys") or []:
        if entry.get("key") in value:
            return entry["schema"]
    return rule["default"]


def _types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    if isinstance(declared, list):
        return set(declared)
    return {declared} if isinstance(declared, str) else set()


def _nullable(catalogue: Catalogue, uri: str, schema: dict[str, Any]) -> bool:
    if "null" in _types(schema) or schema.get("nullable") is True or None in (schema.get("enum") or [object()]):
        return True
    union = schema.get("oneOf") or schema.get("anyOf") or []
    return any("null" in _types(catalogue.resolve(uri, branch)) for branch in union)


def _admits(schema: dict[str, Any], value: Any) -> bool:
    types = _types(schema)
    kind = json_type(value)
    if not types:
        return "const" not in schema or schema["const"] == value
    return kind in types or (kind == "integer" and "number" in types)


# ------------------------------------------------------------------------------------------------ coverage


class Coverage:
    """Elements seen, with counts; merged across runs; ``body`` and ``response`` are the two ways in."""

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self.catalogue = catalogue or default_catalogue()
        self._fixed_catalogue = catalogue is not None
        self.seen: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()  # undeclared statuses, codes the contract does not know
        self._saturated: set[tuple[str, int]] = set()
        self._shapes: dict[tuple[str, int], set[tuple[Any, ...]]] = {}
        self._item_walkers: dict[str, _ItemWalker] = {}
        self._lock = threading.Lock()

    # ---- recording

    def response(self, method: str, template: str, status: int, declared_key: str | None, query: str = "") -> None:
        """One HTTP answer: the status of the operation (its declared key: ``200``, ``4XX`` or ``default``)."""
        if (
            declared_key is not None
            and Element("operations", f"{method} {template} {declared_key}") not in self.catalogue.known
        ):
            self._widen()  # another API version's operation
        with self._lock:
            if declared_key is None:
                self.unknown[f"operations: {method} {template} {status} (undeclared)"] += 1
            else:
                self.seen[f"operations: {method} {template} {declared_key}"] += 1
            for name, value in parse_qsl(query, keep_blank_values=True):
                element = f"enums: {method} {template} ?{name}={value}"
                if Element("enums", element.split(": ", 1)[1]) in self.catalogue.known:
                    self.seen[element] += 1

    def addition(self, label: str) -> None:
        """A value the contract does not list and the compatibility rules allow (v1: a new name, field, enum
        value or message type), listed under unknown."""
        with self._lock:
            self.unknown[label] += 1

    def body(self, value: Any, schema_ref: str) -> None:
        """Walk one body against the schema it is validated with (an absolute ``urn:...#/pointer`` reference)."""
        uri, fragment = split_ref(OPENAPI_URI, schema_ref)
        if uri not in self.catalogue.documents:
            self._widen()  # another API version's body
        try:
            schema = node_at(self.catalogue.documents, uri, fragment)
        except (KeyError, IndexError, ValueError):
            return
        with self._lock:
            self._walk(uri, schema, value, pointer_name(fragment) or "body", 0)

    def _mark(self, area: str, name: str) -> None:
        self.seen[f"{area}: {name}"] += 1

    def _walk(self, uri: str, schema: Any, value: Any, name: str, depth: int) -> None:
        if not isinstance(schema, dict) or depth > 64:
            return
        if "$ref" in schema:
            schema, uri, target_name = self._follow_named(uri, schema)
            name = target_name or name
        key = (uri, id(schema))
        if key in self._saturated:
            return
        if value is not None and schema.get("enum") and value in schema["enum"]:
            self._mark("enums", f"{name} {value}")
        if isinstance(value, str) and CODES_KEY in schema:
            self._code(schema[CODES_KEY], value)
        union = schema.get("oneOf") or schema.get("anyOf")
        if isinstance(union, list) and value is not None:
            self._walk_union(uri, schema, union, value, name, depth)
        if RULE_KEY in schema and isinstance(value, dict):
            target = _rule_target(schema[RULE_KEY], value)
            self._mark("variants", f"{name} {_ref_name({'$ref': target})}")
            self._walk(uri, {"$ref": target}, value, name, depth + 1)
        if isinstance(value, dict) and "properties" in schema:
            self._walk_object(uri, schema, value, name, depth)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            self._walk_items(uri, schema["items"], value, f"{name}[]", depth)
        if isinstance(value, dict) and name in (BATCH_MODELS_SCHEMA, STREAM_MODELS_SCHEMA):
            prefix = "batch" if name == BATCH_MODELS_SCHEMA else "stream"
            for model, slot in value.items():
                answered = (
                    isinstance(slot, dict) and slot.get("predictions") is not None or (prefix == "batch" and slot)
                )
                if answered and Element("models", f"{prefix} {model}") in self.catalogue.known:
                    self._mark("models", f"{prefix} {model}")

    def _follow(self, uri: str, schema: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """The schema a ``$ref`` leads to, and its document."""
        target, target_uri, _ = self._follow_named(uri, schema)
        return target, target_uri

    def _follow_named(self, uri: str, schema: dict[str, Any]) -> tuple[dict[str, Any], str, str | None]:
        return self.catalogue.follow(uri, schema)

    def _code(self, known: Mapping[str, Any], code: str) -> None:
        label = "I0100" if code.startswith("I") and "I0100" in known else code
        if label in known:
            self._mark("codes", label)
        else:
            self.unknown[f"codes: {code} (not a code the contract knows)"] += 1

    def _walk_union(
        self, uri: str, schema: dict[str, Any], union: list[Any], value: Any, name: str, depth: int
    ) -> None:
        branch = self._branch(uri, schema, union, value)
        if branch is None:
            return
        labels = self.catalogue._branch_labels(uri, schema, union)
        resolved, _ = self._follow(uri, branch)
        if labels:
            discriminator = _discriminator(schema)
            prop = discriminator.get("propertyName")
            label = value.get(prop) if discriminator.get("mapping") and isinstance(value, dict) else None
            if label is None:
                const = _discriminator_const(resolved, prop)
                label = const if const is not None else _ref_name(branch) or resolved.get("title", "?")
            if f"{label}" in labels:
                self._mark("variants", f"{name} {label}")
        branch_name = _ref_name(branch) or f"{name}[{union.index(branch)}]"
        self._walk(uri, branch, value, branch_name, depth + 1)

    def _branch(self, uri: str, schema: dict[str, Any], union: list[Any], value: Any) -> Any:
        """The branch the validator would judge ``value`` by: the discriminator's, else the best-fitting shape."""
        discriminator = _discriminator(schema)
        prop = discriminator.get("propertyName")
        if prop and isinstance(value, dict):
            target = (discriminator.get("mapping") or {}).get(value.get(prop))
            for branch in union:
                resolved, _ = self._follow(uri, branch)
                if branch.get("$ref") == target or _discriminator_const(resolved, prop) == value.get(prop) is not None:
                    return branch
        fitting = []
        for branch in union:
            resolved, _ = self._follow(uri, branch)
            if not _admits(resolved, value):
                continue
            if isinstance(value, dict):
                required = set(resolved.get("required") or [])
                if not required <= value.keys():
                    continue
                shared = len(value.keys() & (resolved.get("properties") or {}).keys())
                fitting.append((-len(required), -shared, len(fitting), branch))
            else:
                fitting.append((0, 0, len(fitting), branch))
        return min(fitting)[3] if fitting else None

    def _walk_object(self, uri: str, schema: dict[str, Any], value: dict[str, Any], name: str, depth: int) -> None:
        required = set(schema.get("required") or [])
        for prop, sub in schema["properties"].items():
            field = f"{name}.{prop}"
            optional = prop not in required
            if prop not in value:
                if optional:
                    self._mark("fields", f"{field} absent")
                continue
            item = value[prop]
            element = Element("fields", f"{field} {'null' if item is None else 'present'}")
            if element in self.catalogue.known:  # only optional or nullable fields have elements
                self.seen[str(element)] += 1
            self._walk(uri, sub, item, field, depth + 1)

    def _walk_items(self, uri: str, items: dict[str, Any], value: list[Any], name: str, depth: int) -> None:
        walker = _ItemWalker(self, uri, items, name, depth)
        for item in value:
            if not walker.walk(item):
                return

    def item(self, item: Any, item_ref: str) -> None:
        """One item of a big array read item by item (``validate`` of a large body): walked as if all the
        items of ``item_ref`` were one array, so the shortcuts of arrays apply across the items."""
        with self._lock:
            walker = self._item_walkers.get(item_ref)
            if walker is None:
                uri, fragment = split_ref(OPENAPI_URI, item_ref)
                name = pointer_name(fragment) or "body"
                walker = self._item_walkers[item_ref] = _ItemWalker(self, uri, {"$ref": item_ref}, name, 0)
            walker.walk(item)

    def _shape(self, uri: str, schema: dict[str, Any], name: str) -> _Shape:
        """What tells two items of ``schema`` apart for coverage: each property's state, and the value itself
        where the value is an element (enums, codes); ``nested``: the elements below its objects and arrays."""
        key = (uri, id(schema))
        cached = self.catalogue._shape_cache.get(key)
        if cached is not None:
            return cached
        properties = schema.get("properties")
        if not isinstance(properties, dict) or schema.get("oneOf") or schema.get("anyOf") or RULE_KEY in schema:
            cached = _Shape(None, (), frozenset())
        else:
            props, kept, nested = [], [], set()
            for prop, sub in properties.items():
                resolved = self.catalogue.resolve(uri, sub)
                branches = [
                    self.catalogue.resolve(uri, b) for b in resolved.get("anyOf") or resolved.get("oneOf") or []
                ]
                scalar = all(
                    not (_types(b) & {"object", "array"}) and "properties" not in b for b in [resolved, *branches]
                )
                keep = any("enum" in b or CODES_KEY in b or "const" in b for b in [resolved, *branches])
                if not scalar:  # the field's own states are in the signature; the rest must be saturated
                    field = f"{name}.{prop}"
                    below = self._reachable(uri, sub, _ref_name(sub) or field)
                    nested |= {e for e in below if e.name.rsplit(" ", 1)[0] != field}
                props.append(prop)
                if keep:
                    kept.append(prop)
            cached = _Shape(tuple(props), tuple(kept), frozenset(nested))
        self.catalogue._shape_cache[key] = cached
        return cached

    def _reachable(self, uri: str, schema: dict[str, Any], name: str) -> frozenset[Element]:
        """Elements a walk of ``schema`` (walked as ``name``) could mark: those named under the names it walks by."""
        key = (uri, id(schema))
        cached = self.catalogue._reach_cache.get(key)
        if cached is None:
            cached = frozenset(_reach(self.catalogue, uri, schema, name))
            self.catalogue._reach_cache[key] = cached
        return cached

    # ---- merging and reading

    def merge(self, other: Coverage) -> None:
        with self._lock:
            self.seen.update(other.seen)
            self.unknown.update(other.unknown)

    def _widen(self) -> None:
        """Count every API version's elements from now on (a run that met more than the default one)."""
        if not self._fixed_catalogue and self.catalogue is default_catalogue():
            self.catalogue = every_api_catalogue()

    def _counted(self, area: str) -> list[Element]:
        """The elements of ``area`` of the API versions this coverage met (the default one if none)."""
        if any(name not in self.catalogue_names() for name in self.seen):
            self._widen()  # merged or read from another run that met another version
        catalogue = self.catalogue
        met = {catalogue.api_of.get(e, "v0") for e in catalogue.known if str(e) in self.seen} or {"v0"}
        return [e for e in catalogue.elements[area] if catalogue.api_of.get(e, "v0") in met]

    def catalogue_names(self) -> frozenset[str]:
        return _element_names(self.catalogue)

    def covered(self, area: str | None = None) -> tuple[int, int]:
        areas = [area] if area else AREAS
        elements = [e for a in areas for e in self._counted(a)]
        return sum(1 for e in elements if str(e) in self.seen), len(elements)

    @property
    def percent(self) -> float:
        seen, total = self.covered()
        return 100.0 * seen / total if total else 100.0

    def uncovered(self, area: str) -> list[str]:
        return [e.name for e in self._counted(area) if str(e) not in self.seen]

    def to_json(self) -> dict[str, Any]:
        seen, total = self.covered()
        return {
            "percent": round(self.percent, 2),
            "covered": seen,
            "total": total,
            "areas": {
                area: {
                    "covered": self.covered(area)[0],
                    "total": self.covered(area)[1],
                    "elements": {e.name: str(e) in self.seen for e in self._counted(area)},
                }
                for area in AREAS
            },
            "unknown": dict(self.unknown),
        }

    @classmethod
    def from_json(cls, data: Any, catalogue: Catalogue | None = None) -> Coverage:
        """A coverage map written by ``to_json`` (the ``coverage`` key of a JSON report, or the map itself)."""
        if isinstance(data, dict) and isinstance(data.get("coverage"), dict):
            data = data["coverage"]
        if not isinstance(data, dict) or not isinstance(data.get("areas"), dict):
            raise ValueError("expected a coverage map (a JSON report written with --coverage)")
        coverage = cls(catalogue)
        for area, entry in data["areas"].items():
            for name, seen in (entry.get("elements") or {}).items() if isinstance(entry, dict) else ():
                if seen is True or (isinstance(seen, int) and seen > 0):
                    coverage.seen[f"{area}: {name}"] += 1
        for name, count in (data.get("unknown") or {}).items():
            if isinstance(count, int):
                coverage.unknown[name] += count
        return coverage

    @classmethod
    def from_counts(cls, seen: Mapping[str, int], unknown: Mapping[str, int]) -> Coverage:
        """A coverage from the two counters of another (a worker process's, sent back over a pipe)."""
        coverage = cls()
        coverage.seen.update(seen)
        coverage.unknown.update(unknown)
        return coverage

    def render_text(self, markdown: bool = False, max_named: int = 12) -> str:
        seen, total = self.covered()
        lines = [f"{'## ' if markdown else ''}Contract coverage: {seen}/{total} elements ({self.percent:.1f}%)", ""]
        if markdown:
            lines += ["| area | covered | not covered |", "|---|---|---|"]
        for area in AREAS:
            covered, count = self.covered(area)
            missing = self.uncovered(area)
            named = ", ".join(missing[:max_named]) + (
                f", … ({len(missing) - max_named} more)" if len(missing) > max_named else ""
            )
            if markdown:
                lines.append(f"| {area} | {covered}/{count} | {named or '—'} |")
            else:
                lines.append(f"  {area:<10} {covered:>4}/{count:<4}" + (f"  not covered: {named}" if named else ""))
        if self.unknown:
            lines += ["", "Seen but not in the contract:" if not markdown else "Seen but not in the contract:"]
            lines += [
                f"  {name} ×{count}" if not markdown else f"- {name} ×{count}"
                for name, count in self.unknown.most_common()
            ]
        return "\n".join(lines)


class _ItemWalker:
    """The items of one array (or of one item schema read item by item), walked until the item schema is
    saturated; an object item shaped like one walked already, whose nested objects and arrays are
    saturated, adds nothing and is skipped: exact, and linear in the items."""

    def __init__(self, coverage: Coverage, uri: str, items: dict[str, Any], name: str, depth: int) -> None:
        self.coverage, self.uri, self.items, self.name, self.depth = coverage, uri, items, name, depth
        schema, item_uri, target_name = coverage._follow_named(uri, items)
        name = target_name or name
        self.key = (item_uri, id(schema))
        self.reachable = coverage._reachable(item_uri, schema, name)
        self.shape = coverage._shape(item_uri, schema, name)
        self.shapes = coverage._shapes.setdefault(self.key, set())
        self.settled = False
        self.count = 0

    def walk(self, item: Any) -> bool:
        """Walk one item (or skip it); False once the items' schema is saturated and nothing more can count."""
        coverage = self.coverage
        if self.key in coverage._saturated:
            return False
        if self.settled and isinstance(item, dict):
            # Which keys, which of them null (by type: map and tuple run at C speed), enum values as they are.
            signature = (tuple(item), tuple(map(type, item.values())), *[item.get(p) for p in self.shape.kept])
            if signature in self.shapes:
                return True
            self.shapes.add(signature)
        coverage._walk(self.uri, self.items, item, self.name, self.depth + 1)
        self.count += 1
        if self.count in SATURATION_CHECKS:
            if all(str(e) in coverage.seen for e in self.reachable):
                coverage._saturated.add(self.key)
            self.settled = self.shape.props is not None and all(str(e) in coverage.seen for e in self.shape.nested)
        return True


def _reach(catalogue: Catalogue, uri: str, schema: Any, name: str) -> Iterator[Element]:
    """Every catalogue element a walk of ``schema`` can mark: the elements named under the names it walks by."""
    names = _names_below(catalogue, uri, schema, set()) | {name}
    for elements in catalogue.elements.values():
        for element in elements:
            subject = element.name.rsplit(" ", 1)[0]
            if any(subject == n or subject.startswith(n + ".") or subject.startswith(n + "[") for n in names):
                yield element


def _names_below(catalogue: Catalogue, uri: str, schema: Any, visiting: set[tuple[str, int]]) -> set[str]:
    """Component names a walk below ``schema`` passes through (its own inline paths hang below them)."""
    names: set[str] = set()
    stack = [(uri, schema)]
    while stack:
        uri, node = stack.pop()
        if not isinstance(node, dict):
            continue
        if "$ref" in node:
            name = _ref_name(node)
            ref_uri, fragment = split_ref(uri, node["$ref"])
            if (ref_uri, fragment) in visiting:
                continue
            visiting.add((ref_uri, fragment))
            if name:
                names.add(name)
            stack.append((ref_uri, node_at(catalogue.documents, ref_uri, fragment)))
            continue
        for key, sub in node.items():
            if key in ("properties", "$defs"):
                stack.extend((uri, s) for s in sub.values() if isinstance(s, dict))
            elif key in ("items", "not", "if", "then", "else", "additionalProperties") and isinstance(sub, dict):
                stack.append((uri, sub))
            elif key in ("oneOf", "anyOf", "allOf") and isinstance(sub, list):
                stack.extend((uri, s) for s in sub)
    return names


@functools.cache
def default_catalogue() -> Catalogue:
    return Catalogue(contract_documents())


@functools.cache
def every_api_catalogue() -> Catalogue:
    """Every registered API version's documents (``contracts.apis``), each element tagged with its version."""
    from contracts.apis import APIS

    documents: dict[str, Any] = {}
    apis: dict[str, str] = {}
    for api in APIS:
        for uri, document in api.adapter().contract_documents().items():
            documents[uri] = document
            apis[uri] = api.name
    return Catalogue(documents, apis)


@functools.cache
def _element_names(catalogue: Catalogue) -> frozenset[str]:
    return frozenset(str(element) for element in catalogue.known)


# ------------------------------------------------------------------------------------ the active collector

_active: Coverage | None = None


def active() -> Coverage | None:
    """The coverage being collected in this process (None: coverage is off, the validators skip it)."""
    return _active


@contextlib.contextmanager
def collecting(coverage: Coverage) -> Iterator[Coverage]:
    """Every body validated and every interaction checked inside the block counts towards ``coverage``."""
    global _active
    previous, _active = _active, coverage
    try:
        yield coverage
    finally:
        _active = previous


def add_coverage(report_json: Path, measured: Coverage) -> None:
    """Put the coverage map into a JSON report already written (``report.json`` of fuzz and proxy)."""
    document = json.loads(report_json.read_text(encoding="utf-8"))
    document["coverage"] = measured.to_json()
    report_json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
