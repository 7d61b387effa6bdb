"""A small, complete applier for OpenAPI Overlay 1.0 documents.

Targets are RFC 9535 JSONPath expressions (via ``jsonpath-rfc9535``), so the same overlay
works with any conforming Overlay tool. Semantics follow the Overlay 1.0.0 specification:

- actions apply in order, each to the document as the previous ones left it;
- ``remove: true`` deletes every node the target selects from its parent;
- ``update`` merges into every selected node: objects merge recursively, arrays append the
  update's items, and any other value replaces the old one.

An action whose target selects nothing is an error here (the spec allows it to be silently
ignored; for a repair overlay a dead action means the upstream changed under us).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import jsonpath_rfc9535 as jsonpath


class OverlayError(ValueError):
    """The overlay is malformed or one of its actions selects nothing."""


@dataclass(frozen=True)
class Action:
    target: str
    description: str
    update: Any = None
    remove: bool = False
    extensions: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any], index: int) -> Action:
        if not isinstance(raw, dict) or "target" not in raw:
            raise OverlayError(f"actions[{index}]: expected an object with a 'target'")
        if raw.get("remove") and "update" in raw:
            raise OverlayError(f"actions[{index}]: 'remove' and 'update' are mutually exclusive")
        if not raw.get("remove") and "update" not in raw:
            raise OverlayError(f"actions[{index}]: needs 'update' or 'remove: true'")
        return cls(
            target=raw["target"],
            description=raw.get("description", ""),
            update=raw.get("update"),
            remove=bool(raw.get("remove", False)),
            extensions={k: v for k, v in raw.items() if k.startswith("x-")} or None,
        )


def parse_actions(overlay: dict[str, Any]) -> list[Action]:
    if not isinstance(overlay, dict) or not str(overlay.get("overlay", "")).startswith("1."):
        raise OverlayError("not an Overlay 1.x document: the 'overlay' version field is missing")
    actions = overlay.get("actions")
    if not isinstance(actions, list) or not actions:
        raise OverlayError("'actions' must be a non-empty list")
    return [Action.from_dict(raw, i) for i, raw in enumerate(actions)]


def merge(target: Any, update: Any) -> Any:
    """Overlay merge: objects recursively, arrays appended, anything else replaced."""
    if isinstance(target, dict) and isinstance(update, dict):
        for key, value in update.items():
            target[key] = merge(target[key], value) if key in target else copy.deepcopy(value)
        return target
    if isinstance(target, list) and isinstance(update, list):
        target.extend(copy.deepcopy(update))
        return target
    return copy.deepcopy(update)


def _locations(document: Any, target: str, index: int) -> list[tuple[Any, str | int | None]]:
    """(parent container, key) for every node the target selects; (None, None) for the root."""
    try:
        nodes = jsonpath.find(target, document)
    except jsonpath.JSONPathError as exc:
        raise OverlayError(f"actions[{index}]: bad JSONPath target {target!r}: {exc}") from exc
    if not nodes:
        raise OverlayError(f"actions[{index}]: target {target!r} selects nothing")
    found = []
    for node in nodes:
        if not node.location:
            found.append((None, None))
            continue
        parent = document
        for step in node.location[:-1]:
            parent = parent[step]
        found.append((parent, node.location[-1]))
    return found


def apply_action(document: Any, action: Action, index: int) -> Any:
    """Apply one action to ``document`` in place; return the document (a new object when the root is replaced)."""
    locations = _locations(document, action.target, index)
    if action.remove:
        # Delete list items from the highest index down so earlier deletions do not shift later ones.
        for parent, key in sorted(locations, key=lambda loc: -loc[1] if isinstance(loc[1], int) else 0):
            if parent is None:
                raise OverlayError(f"actions[{index}]: cannot remove the document root")
            del parent[key]
        return document
    for parent, key in locations:
        if parent is None:
            document = merge(document, action.update)
        else:
            parent[key] = merge(parent[key], action.update)
    return document


def apply_overlay(document: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Return a repaired deep copy of ``document``; the input is left untouched."""
    result = copy.deepcopy(document)
    for index, action in enumerate(parse_actions(overlay)):
        result = apply_action(result, action, index)
    return result


def evidence_items(evidence: Any) -> list[str]:
    """An action's ``x-evidence`` as the list of cited sources, whatever YAML made of it.

    A flow-list item holding ``: `` (``[file (op: type)]``) is read by YAML as a mapping, and a single
    source may be written without a list: both come back as the text that was written. An item that is
    neither text nor a mapping (a number, a nested list) is shown as YAML would write it inline.
    """
    if evidence is None:
        return []
    return [_evidence_text(item) for item in (evidence if isinstance(evidence, list) else [evidence])]


def _evidence_text(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        return ", ".join(f"{_evidence_text(key)}: {_evidence_text(value)}" for key, value in item.items())
    if isinstance(item, list):
        return ", ".join(map(_evidence_text, item))
    return "null" if item is None else str(item).lower() if isinstance(item, bool) else str(item)
