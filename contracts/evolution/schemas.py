"""A schema as the diff sees it: ``$ref``s followed, ``allOf`` merged, nullability and unions made explicit.

OpenAPI documents say the same thing many ways: "string or null" is ``type: [string, 'null']`` (3.1),
``nullable: true`` (3.0) or ``anyOf: [{$ref: X}, {type: 'null'}]``; a union is ``oneOf`` with a
``discriminator`` and a ``mapping``, or variants that each pin the discriminator with ``const``/``enum``;
a variant is often ``allOf: [{$ref: Base}]``. ``view`` folds these into one shape so that two versions
are compared by meaning, not by spelling.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from contracts.evolution.documents import resolve_pointer
from contracts.schema import json_type

BOUNDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
)
LOWER_BOUNDS = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems"})
MAX_MERGE_DEPTH = 32
NO_DEFAULT = object()  # "no default", as distinct from a default of null


@dataclass
class View:
    """One schema, normalized. ``types`` None: any type; ``variants``: a union, keyed by discriminator value."""

    node: Any  # the schema object the view was made from (after $refs): identity for "compared already"
    types: frozenset[str] | None = None
    nullable: bool = False
    enum: tuple[Any, ...] | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    items: Any = None
    additional: Any = True
    bounds: dict[str, Any] = field(default_factory=dict)
    pattern: str | None = None
    discriminator: str | None = None
    variants: dict[str, Any] | None = None  # key -> schema (discriminated) or "#i" -> schema (plain union)
    default: Any = NO_DEFAULT


class Resolver:
    """Follows local ``$ref``s in one document; a dangling one resolves to an empty schema (any value).

    Every schema object is dereferenced, merged and viewed once (memoised by identity): a hostile document
    that reaches the same schema through 2**40 paths (nested ``allOf``/``oneOf``, ``$ref``s with siblings)
    costs one visit per schema, and the same schema always yields the same object, so that ``SchemaDiff``
    compares each pair once.
    """

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        # id(schema) -> (schema, result): the schema is kept so that its id cannot be reused.
        self._derefs: dict[int, tuple[Any, Any]] = {}
        self._merged: dict[int, tuple[Any, dict[str, Any]]] = {}
        self._views: dict[int, tuple[Any, View]] = {}

    def deref(self, schema: Any) -> Any:
        cached = self._derefs.get(id(schema))
        if cached is None:
            cached = self._derefs[id(schema)] = (schema, self._deref(schema))
        return cached[1]

    def merged(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        """``schema`` with its ``allOf`` folded in, once per schema."""
        cached = self._merged.get(id(schema))
        if cached is None:
            cached = self._merged[id(schema)] = (schema, _merged_all_of(self, schema, depth))
        return cached[1]

    def _deref(self, schema: Any) -> Any:
        seen: set[str] = set()
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#"):
            ref = schema["$ref"]
            if ref in seen:
                return {}
            seen.add(ref)
            try:
                target = resolve_pointer(self.document, ref)
            except KeyError:
                return {}
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings} if siblings and isinstance(target, dict) else target
        return schema if isinstance(schema, dict) else {}

    def view(self, schema: Any) -> View:
        return self.view_of(self.deref(schema), 0)

    def view_of(self, schema: dict[str, Any], depth: int) -> View:
        """The view of a dereferenced schema, once per schema (a copy: callers adjust it)."""
        cached = self._views.get(id(schema))
        if cached is None:
            cached = self._views[id(schema)] = (schema, _view(self, schema, depth))
        return dataclasses.replace(cached[1])


def _is_null_schema(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or schema.get("type") == ["null"] or schema.get("enum") == [None]


def _merged_all_of(resolver: Resolver, schema: dict[str, Any], depth: int) -> dict[str, Any]:
    """``allOf`` members folded into the schema (properties and required united, the rest first-wins)."""
    if "allOf" not in schema or depth > MAX_MERGE_DEPTH:
        return schema
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for member in schema["allOf"] if isinstance(schema["allOf"], list) else []:
        part = resolver.merged(resolver.deref(member), depth + 1)
        for key, value in part.items():
            if key == "properties" and isinstance(value, dict):
                merged["properties"] = {**value, **merged.get("properties", {})}
            elif key == "required" and isinstance(value, list):
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
            else:
                merged.setdefault(key, value)
    return merged


JSON_MEDIA_TYPES = ("application/json",)


def _view(resolver: Resolver, schema: dict[str, Any], depth: int) -> View:
    node = schema
    schema = resolver.merged(schema, depth)
    content = schema.get("contentSchema")
    if str(schema.get("contentMediaType", "")).split(";")[0] in JSON_MEDIA_TYPES and content is not None:
        # A string holding JSON (a multipart part): on the wire the same as the object it encodes.
        inner = resolver.view_of(resolver.deref(content), depth + 1)
        inner.node = node
        return inner
    view = View(node=node)
    raw_type = schema.get("type")
    types = {raw_type} if isinstance(raw_type, str) else set(raw_type) if isinstance(raw_type, list) else None
    if types is not None:
        view.nullable = "null" in types
        types.discard("null")
        view.types = frozenset(types) if types else None
    if schema.get("nullable") is True:
        view.nullable = True
    if "const" in schema:
        view.enum = (schema["const"],)
    elif isinstance(schema.get("enum"), list):
        view.enum = tuple(value for value in schema["enum"] if value is not None)
        view.nullable = view.nullable or None in schema["enum"]
    if isinstance(schema.get("properties"), dict):
        view.properties = dict(schema["properties"])
    required = schema.get("required")
    view.required = frozenset(r for r in required if isinstance(r, str)) if isinstance(required, list) else frozenset()
    view.items = schema.get("items")
    view.additional = schema.get("additionalProperties", True)
    view.bounds = {key: schema[key] for key in BOUNDS if isinstance(schema.get(key), int | float)}
    view.pattern = schema.get("pattern") if isinstance(schema.get("pattern"), str) else None
    view.default = schema.get("default", NO_DEFAULT)
    if view.types is None and view.enum:
        view.types = frozenset(json_type(value) for value in view.enum)
    branches = schema.get("oneOf") or schema.get("anyOf")
    if isinstance(branches, list) and depth <= MAX_MERGE_DEPTH:
        real = [b for b in branches if not _is_null_schema(resolver.deref(b))]
        view.nullable = view.nullable or len(real) < len(branches)
        if len(real) == 1 and not isinstance(schema.get("discriminator"), dict):
            inner = resolver.view_of(resolver.deref(real[0]), depth + 1)
            inner.nullable = inner.nullable or view.nullable
            inner.node = node
            return inner
        _set_variants(resolver, view, schema, real)
        if view.types is None:
            kinds = [resolver.view_of(resolver.deref(branch), depth + 1).types for branch in real]
            if kinds and all(kind is not None for kind in kinds):
                view.types = frozenset().union(*kinds)  # type: ignore[arg-type]
    return view


def _set_variants(resolver: Resolver, view: View, schema: dict[str, Any], branches: list[Any]) -> None:
    discriminator = schema.get("discriminator") if isinstance(schema.get("discriminator"), dict) else {}
    name = discriminator.get("propertyName")
    variants: dict[str, Any] = {}
    if isinstance(name, str):
        view.discriminator = name
        mapping = discriminator.get("mapping")
        for key, ref in (mapping if isinstance(mapping, dict) else {}).items():
            variants[str(key)] = {"$ref": ref}
        for branch in branches:
            for key in _pinned_values(resolver, resolver.deref(branch), name):
                variants.setdefault(str(key), branch)
    if not variants:
        view.discriminator = None
        variants = {f"#{index}": branch for index, branch in enumerate(branches)}
    view.variants = variants


def _pinned_values(resolver: Resolver, branch: dict[str, Any], name: str) -> list[Any]:
    """The discriminator values a variant pins with ``const`` or ``enum`` (after ``allOf``)."""
    merged = resolver.merged(branch, 0)
    prop = resolver.deref((merged.get("properties") or {}).get(name, {}))
    if "const" in prop:
        return [prop["const"]]
    return list(prop.get("enum") or [])


def covers(types: frozenset[str] | None, other: frozenset[str] | None) -> bool:
    """Whether a value of any type in ``other`` is allowed by ``types`` (integer is a number)."""
    if types is None:
        return True
    if other is None:
        return False
    return all(t in types or (t == "integer" and "number" in types) for t in other)
