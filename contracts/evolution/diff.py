"""What changed between two versions of the contract, and whom each change breaks.

Two audiences can break:

- **clients**: code that reads responses and stream replies breaks when a field it may read disappears, becomes
  optional or nullable, changes type, or an enum, union or discriminator gains a value it does not know (and, a
  judgement of this suite, when bounds or a pattern of a response value widen); code that sends requests breaks
  when a field or parameter becomes required, a type, enum, bound or pattern narrows, a union loses a variant,
  or an operation, message or content type disappears;
- **recordings**: responses saved under the old contract may fail the new one when it narrows what a response
  may hold (a field becomes required or non-nullable, an enum or union loses a value, bounds narrow, a label
  leaves a label set).

Every other change is listed as breaking nobody. Schemas are compared by meaning (``contracts.evolution.schemas``):
``$ref``s followed, ``allOf`` merged, nullability through ``type`` lists, ``nullable`` and ``anyOf`` with null,
discriminated unions variant by variant. A schema pair reached again through another path is not compared twice:
its changes are listed once, at the first path that reached it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

from contracts.evolution.schemas import LOWER_BOUNDS, NO_DEFAULT, Resolver, View, covers
from contracts.violations import shorten

Side = Literal["request", "response"]
CLIENTS, RECORDINGS = "clients", "recordings"
MAX_COMPARE_DEPTH = 64
# Schema pairs compared in one run: each pair is compared once (memoised), so real documents stay far below
# (the published batch document against the 2023 one: ~600); a document built to multiply the work stops here
# with a named "comparison too large" change instead of running for hours.
MAX_COMPARISONS = 50_000
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class Change:
    where: str  # operation and body, then the path inside it (`.state.status`, `[]`, `<type=url>`)
    what: str
    code: str
    breaks: tuple[str, ...]  # () for nobody

    @property
    def breaking(self) -> bool:
        return bool(self.breaks)

    def audience(self) -> str:
        return "+".join(self.breaks) or "nobody"

    def to_dict(self) -> dict[str, Any]:
        return {"where": self.where, "change": self.what, "code": self.code, "breaks": list(self.breaks)}


def _names(values: Any) -> str:
    return ", ".join(f"`{v}`" for v in values)


ADDITIONS_KEY = "x-additions-compatible"  # in a document's info: clients must accept enum values, fields and
# message types the document does not list (v1's compatibility rules); its diff breaks no client by adding them


def declares_additions(document: dict[str, Any]) -> bool:
    info = document.get("info")
    return isinstance(info, dict) and info.get(ADDITIONS_KEY) is True


def _both(*audiences: str | None) -> tuple[str, ...]:
    return tuple(a for a in (CLIENTS, RECORDINGS) if a in audiences)


class SchemaDiff:
    """Compares schemas of two documents, collecting ``Change``s."""

    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old, self.new = Resolver(old), Resolver(new)
        self.open_world = declares_additions(old) and declares_additions(new)
        self.changes: list[Change] = []
        self._compared: set[tuple[int, int, str]] = set()
        self._depth = 0
        self._too_large = False

    def add(self, where: str, path: str, what: str, code: str, breaks: tuple[str, ...]) -> None:
        self.changes.append(Change(f"{where} {path}".rstrip() if path else where, what, code, breaks))

    # Who breaks when the set of allowed values grows ("wider") or shrinks ("narrower"), by side.
    @staticmethod
    def wider(side: Side) -> tuple[str, ...]:
        return (CLIENTS,) if side == "response" else ()

    def added(self, side: Side) -> tuple[str, ...]:
        """Who breaks when a response enum or union gains a value: nobody where both documents say clients
        must take additions (v1: Hume's compatibility rules, which its SDK's open enums follow)."""
        return () if self.open_world else self.wider(side)

    @staticmethod
    def narrower(side: Side) -> tuple[str, ...]:
        return (RECORDINGS,) if side == "response" else (CLIENTS,)

    def compare(
        self, old_schema: Any, new_schema: Any, side: Side, where: str, path: str = "", pinned: str | None = None
    ) -> None:
        """Compare two schemas; ``pinned`` names a property a discriminator already fixed (not compared)."""
        if self._depth >= MAX_COMPARE_DEPTH:  # a hostile chain of $refs must not exhaust the stack
            self.add(where, path, f"not compared deeper than {MAX_COMPARE_DEPTH} nested schemas", "too-deep", ())
            return
        if self._too_large:
            return
        o, n = self.old.view(old_schema), self.new.view(new_schema)
        key = (id(o.node), id(n.node), side)
        if key in self._compared:
            return
        if len(self._compared) >= MAX_COMPARISONS:
            self._too_large = True
            what = f"comparison too large: stopped after {MAX_COMPARISONS} schema pairs; the rest is not compared"
            self.add(where, path, what, "comparison-too-large", ())
            return
        self._compared.add(key)
        self._depth += 1
        try:
            self._compare_views(o, n, side, where, path, pinned)
        finally:
            self._depth -= 1

    def _compare_views(self, o: View, n: View, side: Side, where: str, path: str, pinned: str | None) -> None:
        if (o.variants is None) != (n.variants is None):
            self._union_shape(o, n, side, where, path)
            return
        self._nullability(o, n, side, where, path)
        self._types(o, n, side, where, path)
        self._enum(o, n, side, where, path)
        self._bounds(o, n, side, where, path)
        if side == "request" and NO_DEFAULT not in (o.default, n.default) and o.default != n.default:
            # A request that leaves the value out now asks for something else. (A default no longer stated is
            # documentation lost, not a change on the wire: not listed.)
            what = f"default changes from {shorten(o.default)} to {shorten(n.default)}"
            self.add(where, path, what, "default-changed", (CLIENTS,))
        self._properties(o, n, side, where, path, pinned)
        if o.items is not None and n.items is not None:
            self.compare(o.items, n.items, side, where, f"{path}[]")
        if o.variants is not None and n.variants is not None:
            self._variants(o, n, side, where, path)

    def _nullability(self, o: View, n: View, side: Side, where: str, path: str) -> None:
        if n.nullable and not o.nullable:
            self.add(where, path, "becomes nullable", "became-nullable", self.wider(side))
        elif o.nullable and not n.nullable:
            self.add(where, path, "is no longer nullable", "no-longer-nullable", self.narrower(side))

    def _types(self, o: View, n: View, side: Side, where: str, path: str) -> None:
        if o.types == n.types:
            return
        wider, narrower = not covers(o.types, n.types), not covers(n.types, o.types)
        if not (wider or narrower):
            return
        old = "/".join(sorted(o.types)) if o.types else "any type"
        new = "/".join(sorted(n.types)) if n.types else "any type"
        breaks = _both(*(self.wider(side) if wider else ()), *(self.narrower(side) if narrower else ()))
        self.add(where, path, f"type changes from {old} to {new}", "type-changed", breaks)

    def _enum(self, o: View, n: View, side: Side, where: str, path: str) -> None:
        if o.enum is None and n.enum is None:
            return
        if o.enum is None:
            self.add(where, path, f"becomes an enum ({_names(n.enum)})", "enum-added", self.narrower(side))
            return
        if n.enum is None:
            self.add(where, path, "is no longer an enum", "enum-dropped", self.wider(side))
            return
        added = [v for v in n.enum if v not in o.enum]
        removed = [v for v in o.enum if v not in n.enum]
        if added:
            self.add(where, path, f"enum gains {_names(added)}", "enum-value-added", self.added(side))
        if removed:
            self.add(where, path, f"enum loses {_names(removed)}", "enum-value-removed", self.narrower(side))

    def _bounds(self, o: View, n: View, side: Side, where: str, path: str) -> None:
        for bound in sorted(set(o.bounds) | set(n.bounds)):
            before, after = o.bounds.get(bound), n.bounds.get(bound)
            if before == after:
                continue
            lower = bound in LOWER_BOUNDS
            # Added bound: narrower; removed: wider; changed: by direction.
            narrows = before is None if before is None or after is None else (after > before) == lower
            what = f"`{bound}` {'added' if before is None else 'removed' if after is None else 'changes'}"
            shown = after if after is not None else before
            what += f" ({before} -> {after})" if before is not None and after is not None else f" ({shown})"
            code = "bounds-narrowed" if narrows else "bounds-widened"
            # Wider bounds break no reader: no rule names them (a client that relied on them is told, as nobody).
            self.add(where, path, what, code, self.narrower(side) if narrows else ())
        if o.pattern != n.pattern:
            breaks = () if n.pattern is None else self.narrower(side)
            self.add(where, path, f"pattern changes ({o.pattern!r} -> {n.pattern!r})", "pattern-changed", breaks)

    def _properties(self, o: View, n: View, side: Side, where: str, path: str, pinned: str | None = None) -> None:
        for name in [*o.properties, *(k for k in n.properties if k not in o.properties)]:
            if name == pinned and name in o.properties and name in n.properties:
                continue  # its value is the variant's key: compared as the union's values
            at = f"{path}.{name}"
            was_required, is_required = name in o.required, name in n.required
            if name not in n.properties:
                if side == "response":
                    self.add(where, at, "field removed", "field-removed", (CLIENTS,))
                else:
                    breaks = (CLIENTS,) if n.additional is False else ()
                    self.add(where, at, "field no longer declared", "field-removed", breaks)
                continue
            if name not in o.properties:
                if is_required:
                    self.add(where, at, "required field added", "required-field-added", self.narrower(side))
                else:
                    self.add(where, at, "optional field added", "field-added", ())
                continue
            if was_required and not is_required:
                self.add(where, at, "becomes optional", "became-optional", self.wider(side))
            elif is_required and not was_required:
                self.add(where, at, "becomes required", "became-required", self.narrower(side))
            self.compare(o.properties[name], n.properties[name], side, where, at)
        if o.additional is not False and n.additional is False:
            self.add(where, path, "no longer allows other fields", "closed", self.narrower(side))
        elif o.additional is False and n.additional is not False:
            self.add(where, path, "now allows other fields", "opened", self.wider(side))

    def _variants(self, o: View, n: View, side: Side, where: str, path: str) -> None:
        assert o.variants is not None and n.variants is not None
        if o.discriminator and n.discriminator and o.discriminator != n.discriminator:
            what = f"discriminator changes from `{o.discriminator}` to `{n.discriminator}`"
            self.add(where, path, what, "discriminator-changed", _both(CLIENTS, RECORDINGS))
            return
        if o.discriminator is None or n.discriminator is None:
            self._plain_unions(o, n, side, where, path)
            return
        name = n.discriminator
        added = [k for k in n.variants if k not in o.variants]
        removed = [k for k in o.variants if k not in n.variants]
        if added:
            what = f"union on `{name}` gains {_names(added)}"
            self.add(where, path, what, "union-variant-added", self.added(side))
        if removed:
            what = f"union on `{name}` loses {_names(removed)}"
            self.add(where, path, what, "union-variant-removed", self.narrower(side))
        for key in o.variants:
            if key in n.variants:
                self.compare(o.variants[key], n.variants[key], side, where, f"{path}<{name}={key}>", pinned=name)

    def _plain_unions(self, o: View, n: View, side: Side, where: str, path: str) -> None:
        assert o.variants is not None and n.variants is not None
        if len(n.variants) > len(o.variants):
            what = f"union grows from {len(o.variants)} to {len(n.variants)} variants"
            self.add(where, path, what, "union-variant-added", self.added(side))
        elif len(n.variants) < len(o.variants):
            what = f"union shrinks from {len(o.variants)} to {len(n.variants)} variants"
            self.add(where, path, what, "union-variant-removed", self.narrower(side))
        for index, (old_variant, new_variant) in enumerate(zip(o.variants.values(), n.variants.values(), strict=False)):
            self.compare(old_variant, new_variant, side, where, f"{path}<#{index}>")

    def _union_shape(self, o: View, n: View, side: Side, where: str, path: str) -> None:
        """One side a union, the other not: say so, then compare the plain schema with its closest variant."""
        union, plain, became = (n, o, True) if n.variants is not None else (o, n, False)
        assert union.variants is not None
        keys = [k for k in union.variants if not k.startswith("#")]
        on = f" on `{union.discriminator}` ({_names(keys)})" if union.discriminator else ""
        if became:
            what = f"becomes a union{on}" if on else f"becomes a union of {len(union.variants)} variants"
            self.add(where, path, what, "became-union", self.wider(side))
        else:
            what = f"is no longer a union{on}"
            self.add(where, path, what, "no-longer-union", self.narrower(side))
        resolver = self.new if became else self.old
        key, variant = _closest_variant(resolver, union.variants, plain)
        label = f"{path}<{union.discriminator}={key}>" if union.discriminator else f"{path}<{key}>"
        pinned = union.discriminator
        if became:
            self.compare(plain.node, variant, side, where, label, pinned)
        else:
            self.compare(variant, plain.node, side, where, label, pinned)


def _closest_variant(resolver: Resolver, variants: dict[str, Any], plain: View) -> tuple[str, Any]:
    """The variant sharing most property names with ``plain`` (first on ties)."""

    def shared(item: tuple[str, Any]) -> int:
        return len(set(resolver.view(item[1]).properties) & set(plain.properties))

    return max(variants.items(), key=shared)


# -- OpenAPI ------------------------------------------------------------------------------------------------------


def _template_key(template: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", template)


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], tuple[str, dict[str, Any], list[Any]]]:
    found = {}
    for template, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters") or []
        for method in METHODS:
            if isinstance(item.get(method), dict):
                found[(method, _template_key(template))] = (template, item[method], shared)
    return found


def _media(content: Any) -> dict[str, Any]:
    """Media types without parameters (`application/json; charset=utf-8` is `application/json`)."""
    if not isinstance(content, dict):
        return {}
    return {media.split(";", 1)[0].strip().lower(): body for media, body in content.items() if isinstance(body, dict)}


def _security(document: dict[str, Any], operation: dict[str, Any]) -> set[frozenset[tuple[str, str, str]]]:
    """The ways to authenticate, each a set of (type, in, name), whatever the schemes are called."""
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    requirements = operation.get("security", document.get("security")) or []
    ways = set()
    for requirement in requirements:
        if isinstance(requirement, dict):
            ways.add(
                frozenset(
                    (
                        str(schemes.get(n, {}).get("type")),
                        str(schemes.get(n, {}).get("in")),
                        str(schemes.get(n, {}).get("name")),
                    )
                    for n in requirement
                )
            )
    return ways


def _header_keys(params: dict[tuple[str, str], dict[str, Any]], other: dict[str, Any]) -> set[frozenset]:
    """Required header parameters that the other version declares as an API-key scheme: the same way to log in."""
    schemes = (other.get("components") or {}).get("securitySchemes") or {}
    headers = {str(s.get("name")).lower() for s in schemes.values() if isinstance(s, dict) and s.get("in") == "header"}
    return {
        frozenset({("apiKey", "header", str(param.get("name")))})
        for (place, name), param in params.items()
        if place == "header" and name in headers and param.get("required")
    }


class OpenApiDiff(SchemaDiff):
    def run(self) -> list[Change]:
        old_ops, new_ops = _operations(self.old.document), _operations(self.new.document)
        for key, (template, _, _) in old_ops.items():
            if key not in new_ops:
                self.changes.append(
                    Change(f"{key[0].upper()} {template}", "operation removed", "operation-removed", (CLIENTS,))
                )
        for key, (template, _, _) in new_ops.items():
            if key not in old_ops:
                self.changes.append(Change(f"{key[0].upper()} {template}", "operation added", "operation-added", ()))
        for key in old_ops:
            if key in new_ops:
                self._operation(f"{key[0].upper()} {new_ops[key][0]}", old_ops[key], new_ops[key])
        return self.changes

    def _params(self, resolver: Resolver, shared: list[Any], own: list[Any]) -> dict[tuple[str, str], dict[str, Any]]:
        params: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*shared, *own]:
            param = resolver.deref(raw)
            if isinstance(param.get("name"), str):
                params[
                    (str(param.get("in")), param["name"].lower() if param.get("in") == "header" else param["name"])
                ] = param
        return params

    def _operation(self, where: str, old: tuple, new: tuple) -> None:
        _, old_op, old_shared = old
        _, new_op, new_shared = new
        old_params = self._params(self.old, old_shared, old_op.get("parameters") or [])
        new_params = self._params(self.new, new_shared, new_op.get("parameters") or [])
        for (place, name), param in old_params.items():
            at = f"{where} {place} parameter `{name}`"
            if (place, name) not in new_params:
                self.changes.append(Change(at, "parameter no longer declared", "parameter-removed", ()))
                continue
            new_param = new_params[(place, name)]
            if new_param.get("required") and not param.get("required"):
                self.changes.append(Change(at, "becomes required", "became-required", (CLIENTS,)))
            elif param.get("required") and not new_param.get("required"):
                self.changes.append(Change(at, "becomes optional", "became-optional", ()))
            self.compare(param.get("schema", {}), new_param.get("schema", {}), "request", at)
        for (place, name), param in new_params.items():
            if (place, name) not in old_params:
                required = bool(param.get("required"))
                what = "required parameter added" if required else "optional parameter added"
                code = "required-parameter-added" if required else "parameter-added"
                self.changes.append(
                    Change(f"{where} {place} parameter `{name}`", what, code, (CLIENTS,) if required else ())
                )
        self._request_body(where, self.old.deref(old_op.get("requestBody")), self.new.deref(new_op.get("requestBody")))
        self._responses(where, old_op.get("responses") or {}, new_op.get("responses") or {})
        old_auth = _security(self.old.document, old_op) | _header_keys(old_params, self.new.document)
        new_auth = _security(self.new.document, new_op) | _header_keys(new_params, self.old.document)
        if old_auth != new_auth and not (old_auth and new_auth and old_auth <= new_auth):
            what = "authentication changes: " + ("no longer accepts some ways" if old_auth else "now required")
            self.changes.append(Change(where, what, "security-changed", (CLIENTS,)))

    def _request_body(self, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        old_media, new_media = _media(old.get("content")), _media(new.get("content"))
        for media in old_media:
            if media not in new_media:
                self.changes.append(
                    Change(
                        f"{where} request {media}",
                        "content type no longer accepted",
                        "content-type-removed",
                        (CLIENTS,),
                    )
                )
        for media in new_media:
            if media not in old_media:
                self.changes.append(Change(f"{where} request {media}", "content type added", "content-type-added", ()))
        if new.get("required") and not old.get("required") and old_media:
            self.changes.append(Change(f"{where} request", "body becomes required", "became-required", (CLIENTS,)))
        for media, body in old_media.items():
            if media in new_media:
                self.compare(
                    body.get("schema", {}), new_media[media].get("schema", {}), "request", f"{where} request {media}"
                )

    def _responses(self, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        for status in old:
            if status not in new:
                self.changes.append(
                    Change(f"{where} {status}", "response no longer documented", "response-removed", (RECORDINGS,))
                )
        for status in new:
            if status not in old:
                self.changes.append(Change(f"{where} {status}", "response documented", "response-added", ()))
        for status in old:
            if status not in new:
                continue
            old_media = _media(self.old.deref(old[status]).get("content"))
            new_media = _media(self.new.deref(new[status]).get("content"))
            for media in old_media:
                if media not in new_media:
                    self.changes.append(
                        Change(
                            f"{where} {status} {media}",
                            "content type no longer sent",
                            "content-type-removed",
                            (RECORDINGS,),
                        )
                    )
            for media in new_media:
                if media not in old_media:
                    self.changes.append(
                        Change(
                            f"{where} {status} {media}",
                            "content type may now be sent",
                            "content-type-added",
                            (CLIENTS,),
                        )
                    )
            for media, body in old_media.items():
                if media in new_media:
                    self.compare(
                        body.get("schema", {}),
                        new_media[media].get("schema", {}),
                        "response",
                        f"{where} {status} {media}",
                    )
            self._headers(f"{where} {status}", self.old.deref(old[status]), self.new.deref(new[status]))

    def _headers(self, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        old_headers = {str(k).lower(): v for k, v in (old.get("headers") or {}).items()}
        new_headers = {str(k).lower(): v for k, v in (new.get("headers") or {}).items()}
        for name, header in old_headers.items():
            at = f"{where} header `{name}`"
            if name not in new_headers:
                self.changes.append(Change(at, "header no longer sent", "header-removed", (CLIENTS,)))
                continue
            old_header, new_header = self.old.deref(header), self.new.deref(new_headers[name])
            if old_header.get("required") and not new_header.get("required"):
                self.changes.append(Change(at, "becomes optional", "became-optional", (CLIENTS,)))
            self.compare(old_header.get("schema", {}), new_header.get("schema", {}), "response", at)
        for name in new_headers:
            if name not in old_headers:
                self.changes.append(Change(f"{where} header `{name}`", "header added", "header-added", ()))


# -- AsyncAPI -------------------------------------------------------------------------------------------------


def _messages(resolver: Resolver, operation: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(operation, dict):
        return {}
    message = resolver.deref(operation.get("message"))
    listed = message.get("oneOf") if isinstance(message.get("oneOf"), list) else [message]
    found = {}
    for index, raw in enumerate(listed):
        body = resolver.deref(raw)
        name = body.get("messageId") or body.get("name") or body.get("title") or f"#{index}"
        found[str(name)] = body
    return found


def _addressed(document: dict[str, Any]) -> dict[str, Any]:
    """Channels by full address: the path of the channel's server URL (`wss://api.hume.ai/v0/stream`) prefixes
    the channel name (`/models`), so two documents that split `/v0/stream/models` differently still pair up."""
    servers = document.get("servers") if isinstance(document.get("servers"), dict) else {}
    paths = {
        name: urlparse(str(server.get("url", ""))).path.rstrip("/")
        for name, server in servers.items()
        if isinstance(server, dict)
    }
    addressed = {}
    for name, channel in (document.get("channels") or {}).items():
        listed = channel.get("servers") if isinstance(channel, dict) else None
        chosen = {paths[s] for s in listed if s in paths} if isinstance(listed, list) else set(paths.values())
        addressed[(chosen.pop() if len(chosen) == 1 else "") + name] = channel
    return addressed


def _paired_by_suffix(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    """Unmatched channels whose names end one another (`/models`, `/v0/stream/models`), when that is unambiguous."""
    lonely_old = [name for name in old if name not in new]
    lonely_new = [name for name in new if name not in old]
    pairs = []
    for name in lonely_old:
        matches = [other for other in lonely_new if other.endswith(name) or name.endswith(other)]
        if len(matches) == 1:
            pairs.append((name, matches[0]))
            lonely_new.remove(matches[0])
    return pairs


class AsyncApiDiff(SchemaDiff):
    # publish: the client sends (request side); subscribe: the server sends (response side).
    DIRECTIONS: tuple[tuple[str, Side, str], ...] = (
        ("publish", "request", "send"),
        ("subscribe", "response", "receive"),
    )

    def run(self) -> list[Change]:
        old_channels, new_channels = _addressed(self.old.document), _addressed(self.new.document)
        for old_name, new_name in _paired_by_suffix(old_channels, new_channels):
            what = f"channel `{old_name}` taken as `{new_name}` (the same address, split differently)"
            self.changes.append(Change(f"channel {new_name}", what, "channel-renamed", ()))
            old_channels[new_name] = old_channels.pop(old_name)
        for name in old_channels:
            if name not in new_channels:
                self.changes.append(Change(f"channel {name}", "channel removed", "operation-removed", (CLIENTS,)))
        for name in new_channels:
            if name not in old_channels:
                self.changes.append(Change(f"channel {name}", "channel added", "operation-added", ()))
        for name, old_channel in old_channels.items():
            if name in new_channels and isinstance(old_channel, dict) and isinstance(new_channels[name], dict):
                for direction, side, verb in self.DIRECTIONS:
                    self._direction(name, verb, side, old_channel.get(direction), new_channels[name].get(direction))
        return self.changes

    def _direction(self, channel: str, verb: str, side: Side, old: Any, new: Any) -> None:
        old_messages, new_messages = _messages(self.old, old), _messages(self.new, new)
        for old_name, new_name in self._paired_messages(old_messages, new_messages):
            what = f"message `{old_name}` taken as `{new_name}` (renamed: most payload fields shared)"
            self.changes.append(Change(f"{channel} {verb} {new_name}", what, "message-renamed", ()))
            old_messages[new_name] = old_messages.pop(old_name)
        for name in old_messages:
            if name not in new_messages:
                breaks = (CLIENTS,) if side == "request" else (RECORDINGS,)
                self.changes.append(Change(f"{channel} {verb} {name}", "message removed", "message-removed", breaks))
        for name in new_messages:
            if name not in old_messages:
                breaks = self.added(side)  # a client skips a message type it does not know, where told to
                self.changes.append(Change(f"{channel} {verb} {name}", "message added", "message-added", breaks))
        for name, message in old_messages.items():
            if name in new_messages:
                where = f"{channel} {verb} {name}"
                self.compare(message.get("payload", {}), new_messages[name].get("payload", {}), side, where)

    def _paired_messages(self, old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
        """Unmatched messages paired one to one, greedily, by the payload fields they share (at least half)."""

        def fields(resolver: Resolver, message: dict[str, Any]) -> set[str]:
            return set(resolver.view(message.get("payload", {})).properties)

        lonely_new = {name: fields(self.new, new[name]) for name in new if name not in old}
        pairs = []
        for name in [n for n in old if n not in new]:
            mine = fields(self.old, old[name])
            scored = [(len(mine & theirs) / max(len(mine | theirs), 1), other) for other, theirs in lonely_new.items()]
            best = max(scored, default=(0.0, ""))
            if best[0] >= 0.5:
                pairs.append((name, best[1]))
                del lonely_new[best[1]]
        return pairs


# -- the suite's semantic-rule data -----------------------------------------------------------------------------


def _completeness(entry: dict[str, Any]) -> dict[str, str]:
    """Which models the `label-set-complete` rule checks for this set (model -> grade); "" for the whole set."""
    complete = entry.get("complete")
    if isinstance(complete, str):
        return {"": complete}
    return {str(k): str(v) for k, v in complete.items()} if isinstance(complete, dict) else {}


def _completeness_changes(model: str, before: dict[str, str], after: dict[str, str]) -> list[Change]:
    changes = []
    for key in [*before, *(k for k in after if k not in before)]:
        where = f"label set `{model}`{f' for `{key}`' if key else ''} (rule label-set-complete)"
        if key not in after:
            changes.append(Change(where, "completeness no longer checked", "completeness-removed", ()))
        elif key not in before:
            what = f"every prediction must now carry the whole list ({after[key]})"
            changes.append(Change(where, what, "completeness-added", (RECORDINGS,)))
        elif before[key] != after[key]:
            what = f"completeness grade changes ({before[key]} -> {after[key]})"
            changes.append(Change(where, what, "completeness-grade-changed", ()))
    return changes


def diff_labels(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Label sets (``contracts/data/labels.json``): what the `label-set` rule accepts per model."""
    changes = []
    for model in [*old, *(k for k in new if k not in old)]:
        if model.startswith("_"):
            continue
        where = f"label set `{model}` (rule label-set)"
        if model not in new:
            changes.append(Change(where, "no longer checked", "label-set-removed", ()))
            continue
        if model not in old:
            changes.append(Change(where, "now checked", "label-set-added", (RECORDINGS,)))
            continue
        before, after = old[model].get("names") or [], new[model].get("names") or []
        added = [name for name in after if name not in before]
        removed = [name for name in before if name not in after]
        complete_before, complete_after = _completeness(old[model]), _completeness(new[model])
        if added:
            # With completeness checked, every prediction must now carry the new label too: old recordings lack it.
            breaks = (CLIENTS, RECORDINGS) if complete_after else (CLIENTS,)
            changes.append(Change(where, f"gains {_names(added)}", "label-added", breaks))
        if removed:
            changes.append(Change(where, f"loses {_names(removed)}", "label-removed", (RECORDINGS,)))
        changes.extend(_completeness_changes(model, complete_before, complete_after))
        if old[model].get("confidence") != new[model].get("confidence"):
            what = f"confidence changes ({old[model].get('confidence')} -> {new[model].get('confidence')})"
            changes.append(Change(where, what, "label-confidence-changed", ()))
    return changes


def diff_documents(kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    if kind == "openapi":
        return OpenApiDiff(old, new).run()
    if kind == "asyncapi":
        return AsyncApiDiff(old, new).run()
    return diff_labels(old, new)
