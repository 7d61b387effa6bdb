"""Discriminator-aware JSON Schema validation of bodies against the repaired contract.

`jsonschema` ignores OpenAPI's ``discriminator``, so a union reports "is not valid under any of the given
schemas" and hides why. Here a discriminated ``oneOf`` picks its variant from the discriminator value and
reports only that variant's errors; an unknown or missing discriminator is reported as such, with the
allowed values. Undiscriminated unions (``anyOf`` for "T or null") report the branch the value was meant
for. Every error becomes a ``Violation`` with a stable code, a JSON pointer into the body, what was
expected, what was found (shortened), and the JSON pointer of the failing keyword in the contract.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import jsonschema
from jsonschema import ValidationError
from jsonschema import _keywords as keywords  # the stock keyword implementations we fall back to
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import openapi
from contracts.violations import Violation, pointer, shorten

URI_PREFIX = "urn:hume-contracts:"
OPENAPI_URI = f"{URI_PREFIX}openapi"
STREAM_URI = f"{URI_PREFIX}stream"

JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def json_type(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list, str)):
        return JSON_TYPES[type(value)]
    if isinstance(value, int):
        return "integer"
    return "number" if isinstance(value, float) else type(value).__name__


def _variant_for(validator: Any, discriminator: dict[str, Any], one_of: list[Any], value: Any) -> str | None:
    """The ``$ref`` of the variant a discriminator value selects (mapping first, then each variant's const)."""
    mapping = discriminator.get("mapping") or {}
    if isinstance(value, str) and value in mapping:
        return mapping[value]
    name = discriminator["propertyName"]
    for variant in one_of:
        ref = variant.get("$ref")
        if ref is None:
            continue
        resolved = validator._resolver.lookup(ref).contents
        if resolved.get("properties", {}).get(name, {}).get("const", object()) == value:
            return ref
    return None


def _allowed_values(validator: Any, discriminator: dict[str, Any], one_of: list[Any]) -> list[str]:
    values = list(discriminator.get("mapping") or {})
    name = discriminator["propertyName"]
    for variant in one_of:
        if "$ref" in variant:
            const = validator._resolver.lookup(variant["$ref"]).contents.get("properties", {}).get(name, {})
            if "const" in const and const["const"] not in values:
                values.append(const["const"])
    return values


def _required_by_every_variant(validator: Any, one_of: list[Any]) -> set[str]:
    sets = [set(validator._resolver.lookup(v["$ref"]).contents.get("required", [])) for v in one_of if "$ref" in v]
    return set.intersection(*sets) if sets else set()


def discriminated_one_of(validator: Any, one_of: list[Any], instance: Any, schema: dict[str, Any]) -> Iterator:
    """``oneOf`` keyword that honours an OpenAPI ``discriminator`` next to it."""
    discriminator = schema.get("discriminator")
    if isinstance(discriminator, str):  # AsyncAPI 2.x names the property; OpenAPI gives an object
        discriminator = {"propertyName": discriminator}
    if not discriminator or not validator.is_type(instance, "object"):
        yield from keywords.oneOf(validator, one_of, instance, schema)
        return
    name = discriminator["propertyName"]
    allowed = _allowed_values(validator, discriminator, one_of)
    if name not in instance:
        yield ValidationError(
            f"the discriminator {name!r} is missing (one of {', '.join(allowed)})",
            validator="discriminator-missing",
            validator_value=allowed,
            path=[name],
        )
        # Whatever the variant, these fields are required too: naming them makes an old shape obvious.
        required = _required_by_every_variant(validator, one_of) - {name}
        missing = [field for field in sorted(required) if field not in instance]
        if missing:
            yield ValidationError(f"{missing} are required", validator="required", validator_value=missing)
        return
    ref = _variant_for(validator, discriminator, one_of, instance[name])
    if ref is None:
        yield ValidationError(
            f"{name} {shorten(instance[name])} is not one of {', '.join(allowed)}",
            validator="discriminator-unknown",
            validator_value=allowed,
            instance=instance[name],
            path=[name],
        )
        return
    yield from validator.descend(instance, {"$ref": ref})


DiscriminatingValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"oneOf": discriminated_one_of})


class SchemaLocator:
    """Finds where a subschema sits in its contract document, by identity (the registry shares the dicts)."""

    def __init__(self, documents: dict[str, Any]) -> None:
        self._where: dict[int, str] = {}
        for uri, document in documents.items():
            self._index(document, [], uri)

    def document_of(self, subschema: Any) -> str:
        """The URI of the contract document holding ``subschema`` (empty if unknown)."""
        return self._where.get(id(subschema), "").split("#", 1)[0]

    def _index(self, node: Any, path: list[Any], uri: str) -> None:
        if isinstance(node, dict):
            self._where.setdefault(id(node), f"{uri}#{pointer(path)}")
            for key, value in node.items():
                self._index(value, [*path, key], uri)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                self._index(value, [*path, index], uri)

    def locate(self, subschema: Any, keyword: str) -> str:
        base = self._where.get(id(subschema), "")
        label = base.removeprefix(URI_PREFIX)  # openapi#..., stream#..., v1:openapi#...
        return f"{label}/{keyword}" if label else keyword


class Contract:
    """The repaired batch contract and the stream contract, compiled once, validating any schema in them."""

    def __init__(
        self, batch: dict[str, Any] | None, stream: dict[str, Any] | None, documents: dict[str, Any] | None = None
    ) -> None:
        """The v0 documents (``batch``, ``stream``), or any set of documents by URI (``documents``: another API's)."""
        if documents is None:
            assert batch is not None
            documents = {OPENAPI_URI: batch}
            if stream is not None:
                documents[STREAM_URI] = stream
        self.registry = Registry().with_resources(
            (uri, Resource.from_contents(doc, default_specification=DRAFT202012)) for uri, doc in documents.items()
        )
        self.locator = SchemaLocator(documents)
        self._validators: dict[str, Any] = {}

    def validator_for(self, schema_ref: str) -> Any:
        """A validator for ``schema_ref``: an absolute reference such as ``urn:hume-contracts:openapi#/...``."""
        if schema_ref not in self._validators:
            self._validators[schema_ref] = DiscriminatingValidator({"$ref": schema_ref}, registry=self.registry)
        return self._validators[schema_ref]

    def violations(self, body: Any, schema_ref: str) -> list[Violation]:
        return list(self.iter_violations(body, schema_ref))

    def iter_violations(self, body: Any, schema_ref: str) -> Iterator[Violation]:
        """The violations one by one, so that a caller who needs only the first few stops early."""
        errors = self.validator_for(schema_ref).iter_errors(body)
        # jsonschema reports one error per missing field of a `required` list; each names the whole list.
        seen: set[Violation] = set()
        for violation in (violation for error in errors for violation in self._translate(error)):
            if violation not in seen:
                seen.add(violation)
                yield violation

    # -- error translation: one small function per family of keywords ---------------------------------------

    def _translate(self, error: ValidationError) -> Iterator[Violation]:
        if error.validator in ("anyOf", "oneOf") and error.context:
            yield from self._translate_union(error)
            return
        if error.validator == "oneOf":  # no branch failed: the value is valid under several of them
            yield Violation(
                "union-no-match",
                pointer(error.absolute_path),
                "exactly one matching variant",
                "several variants match",
                self.locator.locate(error.schema, "oneOf"),
                "the value matches several variants of a union that allows exactly one",
            )
            return
        keyword = str(error.validator)
        at = list(error.absolute_path)
        schema_path = self.locator.locate(error.schema, keyword) if keyword in _KEYWORD_CODES else keyword
        if keyword == "required":
            yield from _required(error, at, schema_path)
        elif keyword in ("discriminator-missing", "discriminator-unknown"):
            found = "(missing)" if keyword == "discriminator-missing" else shorten(error.instance)
            yield Violation(
                keyword,
                pointer(at),
                "one of " + ", ".join(map(str, error.validator_value)),
                found,
                self.locator.locate(error.schema, "discriminator") if error.schema else "discriminator",
                error.message,
            )
        else:
            code, expected = _expectation(keyword, error.validator_value)
            yield Violation(code, pointer(at), expected, _found(error.instance), schema_path)

    def _translate_union(self, error: ValidationError) -> Iterator[Violation]:
        """Report the branch the value was meant for; if no branch takes its type, one type violation."""
        by_branch: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
        meant = [
            errors
            for errors in by_branch.values()
            if not any(not e.relative_path and e.validator in ("type", "const", "enum") for e in errors)
        ]
        if len(meant) > 1:  # several branches take the type: the one the value got furthest into is meant
            depth = {id(errors): max(len(e.relative_path) for e in errors) for errors in meant}
            deepest = max(depth.values())
            meant = [errors for errors in meant if depth[id(errors)] == deepest] if deepest else meant
        if len(meant) > 1 and isinstance(error.instance, dict):  # still tied: the branch sharing most keys
            shared = {id(errors): self._shared_keys(error, errors, error.instance) for errors in meant}
            most = max(shared.values())
            meant = [errors for errors in meant if shared[id(errors)] == most] if most else meant
        at = pointer(error.absolute_path)
        if len(meant) == 1:
            for sub in meant[0]:
                yield from self._translate(sub)
            return
        if error.validator == "oneOf" and len(by_branch) < len(error.validator_value):
            yield Violation(
                "union-no-match",
                at,
                "exactly one matching variant",
                "several variants match",
                self.locator.locate(error.schema, error.validator),
                error.message.split("\n")[0][:200],
            )
            return
        expected = " or ".join(_branch_summary(branch) for branch in error.validator_value)
        code = "schema-type" if not meant else "union-no-match"
        yield Violation(code, at, expected, _found(error.instance), self.locator.locate(error.schema, error.validator))

    def _shared_keys(self, error: ValidationError, branch_errors: list[ValidationError], instance: dict) -> int:
        branch = error.validator_value[branch_errors[0].relative_schema_path[0]]
        if "$ref" in branch:
            resolver = self.registry.resolver(base_uri=self.locator.document_of(error.schema))
            branch = resolver.lookup(branch["$ref"]).contents
        return len(instance.keys() & branch.get("properties", {}).keys())


def _branch_summary(branch: dict[str, Any]) -> str:
    if "$ref" in branch:
        return branch["$ref"].rsplit("/", 1)[-1]
    if "type" in branch:
        return "/".join(branch["type"]) if isinstance(branch["type"], list) else branch["type"]
    if "const" in branch:
        return shorten(branch["const"])
    return "a variant"


def _required(error: ValidationError, at: list[Any], schema_path: str) -> Iterator[Violation]:
    present = error.instance if isinstance(error.instance, dict) else {}
    for name in error.validator_value:
        if name not in present:
            yield Violation(
                "schema-required",
                pointer([*at, name]),
                f"required field {name!r}",
                "(missing)",
                schema_path,
                f"required field {name!r} is missing",
            )


_KEYWORD_CODES = {
    "type": "schema-type",
    "enum": "schema-enum",
    "const": "schema-const",
    "minimum": "schema-range",
    "maximum": "schema-range",
    "exclusiveMinimum": "schema-range",
    "exclusiveMaximum": "schema-range",
    "minItems": "schema-length",
    "maxItems": "schema-length",
    "minLength": "schema-length",
    "maxLength": "schema-length",
    "pattern": "schema-pattern",
    "format": "schema-format",
    "additionalProperties": "schema-additional",
    "unevaluatedProperties": "schema-additional",
    "required": "schema-required",
}

_BOUND_WORDS = {
    "minimum": ">= {}",
    "maximum": "<= {}",
    "exclusiveMinimum": "> {}",
    "exclusiveMaximum": "< {}",
    "minItems": "at least {} items",
    "maxItems": "at most {} items",
    "minLength": "at least {} characters",
    "maxLength": "at most {} characters",
}


def _expectation(keyword: str, value: Any) -> tuple[str, str]:
    code = _KEYWORD_CODES.get(keyword, "schema-other")
    if keyword == "type":
        return code, " or ".join(value) if isinstance(value, list) else str(value)
    if keyword == "enum":
        shown = ", ".join(shorten(v, 30) for v in value[:12]) + (", …" if len(value) > 12 else "")
        return code, f"one of {shown}"
    if keyword == "const":
        return code, shorten(value)
    if keyword in _BOUND_WORDS:
        return code, _BOUND_WORDS[keyword].format(value)
    if keyword == "pattern":
        return code, f"a string matching {value!r}"
    if keyword == "format":
        return code, f"a {value} string"
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        return code, "no other properties"
    return code, f"{keyword}: {shorten(value, 60)}"


def _found(instance: Any) -> str:
    kind = json_type(instance)
    return kind if kind in ("object", "array", "null") else f"{kind} {shorten(instance)}"


@functools.cache
def default_contract() -> Contract:
    """The contract shipped with the product (compiled once per process)."""
    try:
        stream = openapi.load_stream_contract()
    except FileNotFoundError:  # the stream contract is optional while it is being written
        stream = None
    return Contract(openapi.load_repaired(), stream)
