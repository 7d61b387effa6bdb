"""The fast path of schema validation: a compiled validator (jsonschema-rs) that only says valid or not.

The detailed validator (``contracts.schema``) gives precise, discriminator-aware reports, but it is pure
Python: seconds for a 10 MB predictions body. Most bodies are valid, so ``validate_against`` asks this
validator first and runs the detailed one only when the answer is "invalid" or "cannot tell". The fast
validator must therefore never accept a body the detailed one rejects. It checks a rewritten copy of the
contract documents, in which the three places where jsonschema-rs and the detailed validator differ are
made to agree:

- a ``oneOf`` with an OpenAPI ``discriminator`` dispatches on the discriminator value, as the detailed
  validator does (plain ``oneOf`` would reject a body two variants accept, and accept one without the
  discriminator): the union becomes ``if``/``then`` on that value;
- ``pattern`` is Python's ``re.search`` there (``$`` also matches before a final newline; Rust's does not):
  patterns become a custom keyword run by Python's ``re``;
- ``format`` is not asserted by either (``validate_formats=False``); ``contentMediaType`` is annotation-only
  in both.

When a body fails, ``SkippingContract`` produces the detailed report faster: it is the detailed validator,
except that before descending into an array item it asks the fast validator about that item, and skips
the items it accepts (they hold no errors to report). A 10 MB body with a few faults is then reported in
about the time of one fast pass plus the faulty items.

Preparing all this happens once per process and is cheap: about 12 ms to read the two YAML documents,
1-2 ms to rewrite them, under 1 ms per kind compiled on first use. Nothing is cached on disk: a cache
could only save the YAML reading (compiled validators cannot be stored), and would bring stale-cache bugs.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, unquote

import jsonschema
import jsonschema_rs
from jsonschema import _keywords as keywords

import openapi
from contracts.local_refs import refuse
from contracts.schema import (
    OPENAPI_URI,
    STREAM_URI,
    UNDESCRIBED_ITEMS,
    Contract,
    DiscriminatingValidator,
    default_contract,
)
from contracts.violations import Violation, pointer

PATTERN_KEYWORD = "x-python-pattern"
# Keywords whose values are data, not schemas: never rewritten.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples", "example"})
# Keywords whose values map names to schemas: the names are not keywords.
_NAME_MAPS = frozenset({"properties", "$defs", "definitions", "dependentSchemas", "schemas"})
_NOT_SET = object()
_FRAGMENT_SAFE = "/:@!$&'()*+,;="


class UnsupportedSchema(Exception):
    """The contract uses something the fast validator cannot be made to judge exactly as the detailed one."""


# -- the rewrite ----------------------------------------------------------------------------------------------


def rewrite_documents(documents: Mapping[str, Any]) -> dict[str, Any]:
    """Copies of the contract documents (URI -> document) that jsonschema-rs judges as the detailed validator."""
    return {uri: _Rewriter(uri, documents).node(document, []) for uri, document in documents.items()}


class _Rewriter:
    def __init__(self, uri: str, documents: Mapping[str, Any]) -> None:
        self.uri = uri
        self.documents = documents

    def node(self, node: Any, at: list[Any]) -> Any:
        if isinstance(node, list):
            return [self.node(value, [*at, index]) for index, value in enumerate(node)]
        if not isinstance(node, dict):
            return node
        if "patternProperties" in node:  # its regexes would be Rust's, not Python's
            raise UnsupportedSchema(f"patternProperties at {self.uri}#{pointer(at)}")
        rewritten: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DATA_KEYWORDS:
                rewritten[key] = value
            elif key in _NAME_MAPS and isinstance(value, dict):
                rewritten[key] = {name: self.node(schema, [*at, key, name]) for name, schema in value.items()}
            else:
                rewritten[key] = self.node(value, [*at, key])
        if isinstance(rewritten.get("pattern"), str):
            rewritten[PATTERN_KEYWORD] = rewritten.pop("pattern")
        if "oneOf" in rewritten and isinstance(rewritten.get("discriminator"), str):  # AsyncAPI 2.x: the name
            rewritten["discriminator"] = {"propertyName": rewritten["discriminator"]}
        if "oneOf" in rewritten and isinstance(rewritten.get("discriminator"), dict):
            self._dispatch_on_discriminator(rewritten)
        return rewritten

    def _dispatch_on_discriminator(self, schema: dict[str, Any]) -> None:
        """Replace a discriminated ``oneOf`` by what ``contracts.schema.discriminated_one_of`` does with it."""
        name = schema["discriminator"].get("propertyName")
        if not isinstance(name, str):
            raise UnsupportedSchema(f"a discriminator without propertyName in {self.uri}")
        variants = schema.pop("oneOf")
        branches = self._branches(schema["discriminator"], variants, name)
        when_value = [{"if": {"properties": {name: {"const": v}}}, "then": {"$ref": ref}} for v, ref in branches]
        by_value = {
            "required": [name],
            "properties": {name: {"enum": [value for value, _ in branches]}},
            "allOf": when_value,
        }
        dispatch = {"if": {"type": "object"}, "then": by_value, "else": {"oneOf": variants}}
        schema["allOf"] = [*schema.get("allOf", []), dispatch]

    def _branches(self, discriminator: dict[str, Any], variants: list[Any], name: str) -> list[tuple[Any, str]]:
        """(value, variant ref) for every value the detailed validator resolves to a variant.

        As ``contracts.schema._variant_for``: a string in the mapping first, else the first ``$ref`` variant
        whose ``properties.<name>.const`` is the value.
        """
        mapping = discriminator.get("mapping") or {}
        branches = [(value, ref) for value, ref in mapping.items() if isinstance(value, str)]
        for variant in variants:
            ref = variant.get("$ref") if isinstance(variant, dict) else None
            if ref is None:
                continue
            target = _resolve(self.documents, self.uri, ref)
            const = target.get("properties", {}).get(name, {}).get("const", _NOT_SET)
            if const is _NOT_SET or (isinstance(const, str) and const in mapping):
                continue
            if not any(_same_json(const, value) for value, _ in branches):
                branches.append((const, ref))
        return branches


def _same_json(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def split_ref(base_uri: str, ref: str) -> tuple[str, str]:
    """(document URI, percent-decoded fragment) of a reference made in the document ``base_uri``."""
    uri, _, fragment = ref.partition("#")
    return uri or base_uri, unquote(fragment)


def _resolve(documents: Mapping[str, Any], base_uri: str, ref: str) -> Any:
    return node_at(documents, *split_ref(base_uri, ref))


def node_at(documents: Mapping[str, Any], uri: str, fragment: str) -> Any:
    """The node at a JSON-pointer ``fragment`` of a document; KeyError/IndexError if there is none."""
    node = documents[uri]
    for part in fragment.split("/")[1:] if fragment else []:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def absolute_ref(uri: str, fragment: str) -> str:
    """An absolute reference jsonschema-rs accepts (``{id}`` in a path must be percent-encoded)."""
    return f"{uri}#{quote(fragment, safe=_FRAGMENT_SAFE)}"


def _refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key not in _DATA_KEYWORDS:
                yield from _refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs_in(value)


def reaches_cycle(documents: Mapping[str, Any], uri: str, fragment: str) -> bool:
    """Whether the schema at ``uri#fragment`` refers, directly or not, back to a schema on its own path.

    A recursive schema makes jsonschema-rs recurse as deep as the body nests, and deep enough input
    overflows its stack (a crash, not an exception); the fast path is not used for such schemas.
    """
    done: set[tuple[str, str]] = set()

    def visit(place: tuple[str, str], path: set[tuple[str, str]]) -> bool:
        if place in path:
            return True
        if place in done:
            return False
        node = node_at(documents, *place)
        found = any(visit(split_ref(place[0], ref), path | {place}) for ref in _refs_in(node))
        done.add(place)
        return found

    return visit((uri, fragment), set())


# -- the fast validator ---------------------------------------------------------------------------------------


class PythonPattern:
    """The ``pattern`` keyword as the detailed validator applies it: Python's ``re.search`` on strings."""

    def __init__(self, parent_schema: dict[str, Any], value: str, schema_path: list[Any]) -> None:
        self._pattern = value
        self._search = re.compile(value).search

    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and self._search(instance) is None:
            raise ValueError(f"does not match {self._pattern!r}")


class FastContract:
    """The rewritten contract documents, compiled by jsonschema-rs one schema at a time, on first use."""

    def __init__(self, documents: Mapping[str, Any]) -> None:
        self.documents = rewrite_documents(documents)
        # No reference outside the contract documents is opened or fetched, whatever a document names.
        self._registry = jsonschema_rs.Registry(
            list(self.documents.items()), draft=jsonschema_rs.Draft202012, retriever=refuse
        )
        self._validators: dict[str, Any] = {}

    def validator_for(self, schema_ref: str) -> Any | None:
        """The compiled validator of an absolute reference; None when the fast path must not judge it."""
        if schema_ref not in self._validators:
            self._validators[schema_ref] = self._compile(schema_ref)
        return self._validators[schema_ref]

    def array_validator_for(self, schema_ref: str) -> Any | None:
        """The compiled validator of an array whose every item is the schema at ``schema_ref``."""
        key = f"[]{schema_ref}"
        if key not in self._validators:
            self._validators[key] = self._compile(schema_ref, array=True)
        return self._validators[key]

    def _compile(self, schema_ref: str, array: bool = False) -> Any | None:
        uri, fragment = split_ref("", schema_ref)
        try:
            if uri not in self.documents or reaches_cycle(self.documents, uri, fragment):
                return None
            schema = {"$ref": absolute_ref(uri, fragment)}
            return jsonschema_rs.Draft202012Validator(
                {"type": "array", "items": schema} if array else schema,
                registry=self._registry,
                validate_formats=False,
                keywords={PATTERN_KEYWORD: PythonPattern},
            )
        except (KeyError, IndexError, ValueError, TypeError, jsonschema_rs.ReferencingError):
            return None  # not a schema the fast path can find: the detailed validator will say why

    def is_valid(self, body: Any, schema_ref: str) -> bool | None:
        """True or False as the detailed validator would judge ``body``; None when it cannot tell."""
        validator = self.validator_for(schema_ref)
        if validator is None:
            return None
        try:
            return validator.is_valid(body)
        except (ValueError, TypeError, OverflowError):
            # A value jsonschema-rs cannot take (a lone surrogate, a non-JSON Python type): let the
            # detailed validator decide.
            return None


# -- the detailed validator, skipping array items the fast validator accepts ---------------------------------


# Invalid items of one array described in detail; the rest is summed up (a 2 MB array of 0s as `jobs` took
# 90 s when each of its 200,000 items was described, and the report keeps 200 per code anyway). Items are
# judged by the fast validator a chunk at a time: one call into it per item costs more than the check.
MAX_DESCRIBED_ITEMS = 200
ITEMS_PER_CHUNK = 1024


def _undescribed(index: int, instance: list[Any], schema: dict[str, Any]) -> jsonschema.ValidationError:
    return jsonschema.ValidationError(
        f"more items from index {index} on break their schema (only the first {MAX_DESCRIBED_ITEMS} invalid "
        "items of an array are described)",
        validator=UNDESCRIBED_ITEMS,
        validator_value=index,
        instance=instance,
        schema=schema,
    )


class SkippingContract(Contract):
    """``Contract`` whose ``items`` keyword skips the items the fast validator accepts: identical reports."""

    def __init__(
        self,
        batch: dict[str, Any] | None,
        stream: dict[str, Any] | None,
        fast: FastContract,
        documents: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(batch, stream, documents)
        if documents is None:
            assert batch is not None
            documents = {OPENAPI_URI: batch} if stream is None else {OPENAPI_URI: batch, STREAM_URI: stream}
        self._fast = fast
        self._schema_refs = _index_subschemas(documents)
        self._item_checks: dict[int, Callable[[Any], bool] | None] = {}
        self._validator_class = jsonschema.validators.extend(DiscriminatingValidator, {"items": self._items})
        self._skipping_validators: dict[str, Any] = {}

    def validator_for(self, schema_ref: str) -> Any:
        if schema_ref not in self._skipping_validators:
            self._skipping_validators[schema_ref] = self._validator_class({"$ref": schema_ref}, registry=self.registry)
        return self._skipping_validators[schema_ref]

    def _items(self, validator: Any, items: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
        check = self._item_check(items)
        if check is None or not validator.is_type(instance, "array"):
            yield from keywords.items(validator, items, instance, schema)
            return
        described, index, end = 0, len(schema.get("prefixItems", [])), len(instance)
        all_accepted = self._array_check(items)
        while index < end:
            if described >= MAX_DESCRIBED_ITEMS:  # the detailed validator costs ~1 ms an item: the rest is judged
                if not all_accepted(instance[index:]):  # in one call and summed up
                    yield _undescribed(index, instance, schema)
                return
            stop = min(index + ITEMS_PER_CHUNK, end)
            if all_accepted(instance[index:stop]):  # one call per chunk, not one per item
                index = stop
                continue
            for at in range(index, stop):
                if described < MAX_DESCRIBED_ITEMS and not check(instance[at]):
                    described += 1
                    yield from validator.descend(instance=instance[at], schema=items, path=at)
                index = at + 1
                if described >= MAX_DESCRIBED_ITEMS:
                    break

    def _array_check(self, items: dict[str, Any]) -> Callable[[list[Any]], bool]:
        """True for a run of items the fast validator accepts as a whole (``items`` has a fast item check)."""
        ref = self._schema_refs[id(items)]
        fast = self._fast.array_validator_for(ref)
        return (lambda run: False) if fast is None else functools.partial(_accepted, fast)

    def _item_check(self, items: Any) -> Callable[[Any], bool] | None:
        """True for an item the fast validator accepts; None when ``items`` is not a schema it knows."""
        if not isinstance(items, dict):
            return None
        key = id(items)
        if key not in self._item_checks:
            ref = self._schema_refs.get(key)
            fast = self._fast.validator_for(ref) if ref is not None else None
            self._item_checks[key] = None if fast is None else functools.partial(_accepted, fast)
        return self._item_checks[key]


def _accepted(fast: Any, item: Any) -> bool:
    try:
        return fast.is_valid(item)
    except (ValueError, TypeError, OverflowError):
        return False  # cannot tell: descend


def _index_subschemas(documents: Mapping[str, Any]) -> dict[int, str]:
    """id() of every dict in the documents -> its absolute reference (the registry shares these dicts)."""
    refs: dict[int, str] = {}
    stack: list[tuple[str, Any, list[Any]]] = [(uri, document, []) for uri, document in documents.items()]
    while stack:
        uri, node, at = stack.pop()
        if isinstance(node, dict):
            refs.setdefault(id(node), f"{uri}#{pointer(at)}")
            stack.extend((uri, value, [*at, key]) for key, value in node.items() if key not in _DATA_KEYWORDS)
        elif isinstance(node, list):
            stack.extend((uri, value, [*at, index]) for index, value in enumerate(node))
    return refs


# -- the shipped contract -------------------------------------------------------------------------------------


def contract_documents() -> dict[str, Any]:
    """URI -> document of the shipped contract (as ``contracts.schema.default_contract`` reads it)."""
    documents = {OPENAPI_URI: openapi.load_repaired()}
    with contextlib.suppress(FileNotFoundError):  # the stream contract is optional, as in default_contract
        documents[STREAM_URI] = openapi.load_stream_contract()
    return documents


def fast_or_none(documents: dict[str, Any]) -> FastContract | None:
    """The fast validator of ``documents``; None if it cannot be exact (the detailed one then does all)."""
    try:
        return FastContract(documents)
    except UnsupportedSchema:
        return None


@functools.cache
def fast_contract() -> FastContract | None:
    """The fast validator of the shipped contract (built once per process); None if it cannot be exact."""
    return fast_or_none(contract_documents())


@functools.cache
def detailed_contract() -> Contract:
    """The detailed validator of the shipped contract, skipping what the fast one accepts when it exists."""
    fast = fast_contract()
    if fast is None:
        return default_contract()
    documents = contract_documents()
    return SkippingContract(documents[OPENAPI_URI], documents.get(STREAM_URI), fast)


def schema_violations(body: Any, schema_ref: str) -> list[Violation]:
    """The detailed validator's schema violations of ``body``, computed the fast way when possible."""
    fast = fast_contract()
    if fast is not None and fast.is_valid(body, schema_ref):
        return []
    return detailed_contract().violations(body, schema_ref)
