"""Where an overlay action's target misses a document, and what is there instead.

A target such as ``$.components.schemas['batch:A','batch:B'].properties.x`` is split into one query per
name (``...['batch:A']...`` and ``...['batch:B']...``), so that a target which still selects *something* but
no longer *everything* it was written for is noticed. For a query that selects nothing, the deepest prefix that
still selects something says where the document stopped matching, and what it holds there now.
"""

from __future__ import annotations

import difflib
import functools
import itertools
from dataclasses import dataclass
from typing import Any

import jsonpath_rfc9535 as jsonpath
from jsonpath_rfc9535.segments import JSONPathChildSegment
from jsonpath_rfc9535.selectors import FilterSelector, NameSelector

from contracts.violations import shorten

MAX_QUERIES = 64  # a target naming more combinations than this is checked as written, not name by name
MAX_LISTED = 8


@dataclass(frozen=True)
class Gap:
    """One name-by-name query of a target that selects nothing."""

    query: str
    prefix: str  # the deepest prefix of the query that selects something
    there: str  # what the document holds at that prefix now
    leaf_only: bool  # only the last step is missing: the parent is there
    leaf_is_filter: bool  # the last step is a filter (`[?...]`): "nothing matches" means nothing to repair

    def describe(self) -> str:
        return f"`{self.query}` selects nothing: `{self.prefix}` {self.there}"


def _quoted(name: str) -> str:
    return "['" + name.replace("\\", "\\\\").replace("'", "\\'") + "']"


def _segment_options(segment: Any) -> list[str]:
    selectors = segment.selectors
    names_only = all(isinstance(selector, NameSelector) for selector in selectors)
    if isinstance(segment, JSONPathChildSegment) and len(selectors) > 1 and names_only:
        return [_quoted(selector.name) for selector in selectors]
    return [str(segment)]


def _selects(query: str, document: Any) -> list[Any]:
    return jsonpath.find(query, document)


def name_queries(target: str) -> list[tuple[str, list[str]]]:
    """Each single-name query of ``target``, with its segments as text."""
    segments = jsonpath.compile(target).segments
    options = [_segment_options(segment) for segment in segments]
    count = 1
    for option in options:
        count *= len(option)
    if count > MAX_QUERIES:
        return [(target, [str(segment) for segment in segments])]
    return [("$" + "".join(combo), list(combo)) for combo in itertools.product(*options)]


def _what_is_there(nodes: list[Any], next_step: str, hint_nodes: list[Any], fitting: list[str]) -> str:
    if len(nodes) != 1:
        return f"selects {len(nodes)} nodes, none with {next_step}"
    value = nodes[0].value
    if isinstance(value, dict):
        keys = [str(key) for key in value]
        missing = next_step[2:-2] if next_step.startswith("['") and next_step.endswith("']") else None
        if missing is None:
            return f"is an object ({_listed(keys)}), nothing matching {next_step}"
        hint = hint_nodes[0].value if len(hint_nodes) == 1 and isinstance(hint_nodes[0].value, dict) else value
        close = list(dict.fromkeys([*fitting, *closest_names(missing, [str(key) for key in hint])]))[:3]
        if close:
            return f"has no {missing!r} ({len(keys)} keys; closest: {', '.join(repr(k) for k in close)})"
        return f"has no {missing!r} ({_listed(keys)})"
    if isinstance(value, list):
        return f"is a list of {len(value)} items, none matching {next_step}"
    return f"is {shorten(value)}, not a container"


@functools.lru_cache(maxsize=65536)  # asked for every schema name at every gap: 460,000 times for 2,000 schemas
def _bare(name: str) -> str:
    """`batch:V0BatchJobsGetParametersWhen` -> `v0batchjobsgetparameterswhen`: namespace and punctuation dropped."""
    return "".join(ch for ch in name.split(":", 1)[-1] if ch.isalnum()).lower()


def closest_names(missing: str, keys: list[str]) -> list[str]:
    """Keys that may be what ``missing`` became: same bare name, one ending the other, or spelled alike."""
    bare = _bare(missing)
    same = [k for k in keys if _bare(k) == bare]
    ends = [
        k for k in keys if k not in same and len(_bare(k)) >= 4 and (bare.endswith(_bare(k)) or _bare(k).endswith(bare))
    ]
    alike = difflib.get_close_matches(missing, keys, n=3, cutoff=0.6)
    return list(dict.fromkeys([*same, *ends, *alike]))[:3]


def _listed(keys: list[str]) -> str:
    if not keys:
        return "no keys"
    shown = ", ".join(keys[:MAX_LISTED])
    return f"{len(keys)} keys: {shown}{', ...' if len(keys) > MAX_LISTED else ''}"


def target_gaps(document: Any, target: str, hint_document: Any = None) -> list[Gap]:
    """Every single-name query of ``target`` that selects nothing in ``document``, explained.

    Likely new names are looked for in ``hint_document`` (the upstream as it was before the repair being checked
    added anything) when given.
    """
    gaps = []
    for query, steps in name_queries(target):
        if _selects(query, document):
            continue
        depth = len(steps) - 1
        while depth > 0 and not _selects("$" + "".join(steps[:depth]), document):
            depth -= 1
        prefix = "$" + "".join(steps[:depth])
        last = jsonpath.compile(query).segments[-1] if steps else None
        gaps.append(
            Gap(
                query=query,
                prefix=prefix,
                there=_what_is_there(
                    _selects(prefix, document),
                    steps[depth],
                    _selects(prefix, hint_document) if hint_document is not None else [],
                    _fitting(hint_document if hint_document is not None else document, steps, depth),
                ),
                leaf_only=depth == len(steps) - 1,
                leaf_is_filter=last is not None and all(isinstance(s, FilterSelector) for s in last.selectors),
            )
        )
    return gaps


def _fitting(document: Any, steps: list[str], depth: int) -> list[str]:
    """Keys at the missing step under which the rest of the query still selects something: the schema that has
    the properties a repair targets is likelier to be the renamed one than any name that looks alike."""
    if depth + 1 >= len(steps):
        return []
    nodes = _selects("$" + "".join(steps[:depth]), document)
    if len(nodes) != 1 or not isinstance(nodes[0].value, dict):
        return []
    # The rest of the query compiled once and run under each key (compiled per key, 10,000 schemas took minutes).
    rest = jsonpath.compile("$" + "".join(steps[depth + 1 :]))
    found = [str(key) for key, value in nodes[0].value.items() if rest.find(value)]
    missing = steps[depth][2:-2]
    return sorted(found, key=lambda key: -difflib.SequenceMatcher(None, missing, key).ratio())[:3]


def locations(document: Any, target: str) -> list[tuple[Any, ...]]:
    """The location (keys and indexes from the root) of every node ``target`` selects."""
    return [tuple(node.location) for node in _selects(target, document)]
