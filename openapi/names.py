"""Generate the second overlay: legal component names.

The upstream names its schemas `batch:Status`, `batch:State<Inference>`, ...; OpenAPI 3.1 allows only
``^[a-zA-Z0-9._-]+$`` as component keys, so no validator accepts the document. Overlay 1.0 cannot rename
a key, so this overlay restates ``components.schemas`` under legal names and rewrites every ``$ref``
(and discriminator mapping) that points at an old name. It is mechanical, hence generated, not written:
``hume-contracts spec --write`` regenerates it from the repaired-but-misnamed document.
"""

from __future__ import annotations

import copy
import re
from typing import Any

SCHEMA_PREFIX = "#/components/schemas/"
LEGAL_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")


def legal_name(name: str) -> str:
    """`batch:State<Inference>` -> `StateInference`: drop the namespace, keep the letters."""
    base = name.split(":", 1)[-1]
    return re.sub(r"[^a-zA-Z0-9._-]", "", base)


def renamed_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_PREFIX):
                value = SCHEMA_PREFIX + renames.get(value[len(SCHEMA_PREFIX) :], value[len(SCHEMA_PREFIX) :])
            elif key == "mapping" and isinstance(value, dict):
                value = {k: renamed_refs({"$ref": v}, renames)["$ref"] for k, v in value.items()}
            else:
                value = renamed_refs(value, renames)
            out[key] = value
        return out
    if isinstance(node, list):
        return [renamed_refs(item, renames) for item in node]
    return node


def _refs_outside_schemas(document: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(SCHEMA_PREFIX):
                found.add(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for key, value in document.items():
        if key != "components":
            walk(value)
    for key, value in document.get("components", {}).items():
        if key != "schemas":
            walk(value)
    return found


def names_overlay(document: dict[str, Any]) -> dict[str, Any]:
    """An Overlay 1.0 document that gives every component schema of ``document`` a legal name."""
    schemas = document["components"]["schemas"]
    renames = {name: legal_name(name) for name in schemas if not LEGAL_NAME.match(name)}
    new_names = [renames.get(name, name) for name in schemas]
    if len(set(new_names)) != len(new_names):
        raise ValueError("renaming component schemas would make two of them collide")
    restated = {renames.get(name, name): renamed_refs(copy.deepcopy(body), renames) for name, body in schemas.items()}
    reason = (
        "OpenAPI 3.1 component names must match ^[a-zA-Z0-9._-]+$; the upstream uses names such as "
        "`batch:State<Inference>`, so no OpenAPI validator accepts it."
    )
    actions: list[dict[str, Any]] = [
        {
            "target": "$.components.schemas",
            "remove": True,
            "description": f"{reason} Drop the misnamed schemas; the next action restates them.",
            "x-defect": "component-names",
            "x-evidence": ["OpenAPI 3.1.0 §4.8.7.1 (Components Object field pattern)"],
        },
        {
            "target": "$.components",
            "update": {"schemas": restated},
            "description": f"{reason} Restate every schema under its legal name (namespace and <> dropped).",
            "x-defect": "component-names",
            "x-evidence": ["OpenAPI 3.1.0 §4.8.7.1 (Components Object field pattern)"],
        },
    ]
    for ref in sorted(_refs_outside_schemas(document)):
        old = ref[len(SCHEMA_PREFIX) :]
        if old in renames:
            actions.append(
                {
                    "target": f"$..[?(@['$ref'] == '{ref}')]",
                    "update": {"$ref": SCHEMA_PREFIX + renames[old]},
                    "description": f"Point references to `{old}` at its legal name `{renames[old]}`.",
                    "x-defect": "component-names",
                }
            )
    return {
        "overlay": "1.0.0",
        "info": {
            "title": "hume-contracts: legal component names (generated, do not edit)",
            "version": "1.0.0",
        },
        "actions": actions,
    }
