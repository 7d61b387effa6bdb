"""The compatibility rules of v1, stated once and applied to every v1 body and message.

Hume's SDK treats every enum as open, keeps unknown fields and skips unknown message types; the docs say
messages "follow the compatibility rules" (docs:docs/sessions). So what Hume may add is not a violation:
a field the contract does not list, an enum value it does not list, a message type it does not list, a score
name outside the known lists. Each is an *addition*: a note (listed as unknown) by default, a violation under
``--closed-world``. Missing or mistyped fields and broken ranges are violations in both modes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import openapi.v1
from contracts.apis.v1.contract import at_pointer, node_at
from contracts.apis.v1.scores import names as names_in
from contracts.apis.v1.scores import score_lists
from contracts.violations import Violation, shorten

# Schema codes that mean "something the contract does not list", and the addition each becomes.
_ADDITIONS = {
    "schema-additional": "v1-unknown-field",
    "schema-enum": "v1-unknown-value",
    "discriminator-unknown": "v1-unknown-message-type",
}

# Which known-name list judges each score array (``names_array_unknown``: names whose array is not documented).
_NAME_LISTS = {
    "audio-expressions": "audio_expression_names",
    "voice-attributes": "voice_attribute_names",
    "face-expressions": "video_expression_names",
    "face-descriptions": "video_description_names",
}


def split_additions(violations: list[Violation], body: Any) -> tuple[list[Violation], list[Violation]]:
    """(violations, additions): schema violations that only say "not listed" become additions."""
    kept, additions = [], []
    for violation in violations:
        code = _ADDITIONS.get(violation.code)
        if code is None:
            kept.append(violation)
        elif code == "v1-unknown-field":
            additions += _unknown_fields(violation, body)
        else:
            what = "message type" if code == "v1-unknown-message-type" else "value"
            message = f"{what} {violation.found.removeprefix('string ')} is not listed by the contract (an addition)"
            additions.append(replace(violation, code=code, message=message))
    return kept, additions


def _unknown_fields(violation: Violation, body: Any) -> Iterator[Violation]:
    """One addition per field the object has and its schema does not list."""
    target = at_pointer(body, violation.pointer)
    schema = node_at(violation.schema_path.rsplit("/", 1)[0]) if violation.schema_path else None
    listed = (schema or {}).get("properties") or {} if isinstance(schema, dict) else {}
    extra = [key for key in target if key not in listed] if isinstance(target, dict) else []
    if not extra:
        yield replace(violation, code="v1-unknown-field")
        return
    for key in extra:
        where = f"{violation.pointer}/{key.replace('~', '~0').replace('/', '~1')}"
        message = f"field {key!r} is not listed by the contract (an addition)"
        yield Violation(
            "v1-unknown-field", where, "a listed field", "an unlisted field", violation.schema_path, message
        )


@functools.cache
def _known(array: str) -> frozenset[str]:
    """The names known for one array, and those whose array the docs do not say."""
    names = openapi.v1.load_names()
    return frozenset(names[_NAME_LISTS[array]]["names"]) | frozenset(names["names_array_unknown"]["names"])


def unknown_names(body: Any, kind: str) -> list[Violation]:
    """A score name outside its array's known list, once per name and array."""
    names = openapi.v1.load_names()
    found: list[Violation] = []
    seen: set[tuple[str, str]] = set()
    for where, array, scores in score_lists(body, kind):
        known = _known(array)
        listed_names = names_in(scores)
        if listed_names is not None and listed_names <= known:
            continue
        for index, score in enumerate(scores):
            name = score.get("name") if isinstance(score, dict) else None
            if not isinstance(name, str) or name in known or (array, name) in seen:
                continue
            seen.add((array, name))
            listed = names[_NAME_LISTS[array]]
            message = (
                f"name {shorten(name)} is not in the known {array} list "
                f"({len(listed['names'])} of {listed['documented_count']} names known: the list is incomplete)"
            )
            found.append(
                Violation("v1-unknown-name", f"{where}/{index}/name", "a known name", shorten(name), "", message)
            )
    return found
