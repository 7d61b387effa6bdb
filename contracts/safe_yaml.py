"""The one YAML loader of the suite's readers (schemathesis and vcrpy cassettes): safe, bounded, linear.

PyYAML's safe loader builds plain data only, but a small hostile document still hurts whoever walks what it
returns, so ``load`` measures the parser's event stream (libyaml's parser is iterative, not recursive)
before anything is composed, and refuses:

- alias bombs: aliases share one object per anchor, so the document is small in memory, but every walk
  of it (a header value turned into text, a report) expands each alias again. The expanded size (one per
  node plus the length of each scalar, aliases counted at the size of what they name) must stay within
  ``EXPANSION_RATIO`` times the text plus ``EXPANSION_ALLOWANCE``, wherever the aliases are;
- cycles: an alias inside the node its anchor names, which no walker can finish;
- nesting deeper than ``max_depth``, aliases included (the composer recurses in C, the checks per level).

Errors are ``YamlProblem`` with the line and column when the parser knows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

MAX_DEPTH = 64
# An alias-free document's expanded size is about its length; real cassettes (vcrpy dumps shared header
# lists as aliases) stay near it. A bomb is millions of times its length.
EXPANSION_RATIO = 4
EXPANSION_ALLOWANCE = 64 * 1024
# PyYAML composes a node object per scalar and collection before it builds any data: ~500 bytes and ~50 us
# each. A 78.6 MB cassette of 400,000 tiny interactions (~10 million nodes) needed over 6 GiB; this many nodes
# stay near 500 MB. Beyond, the document is refused by name before anything is composed.
MAX_NODES = 1_000_000

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlProblem(ValueError):
    """Text that is not a YAML document ``load`` accepts; the message says where and why."""


@dataclass
class _Open:
    """A collection being parsed: its anchor, the expanded size before it, the height of its subtree."""

    anchor: str | None
    size_before: int
    height: int = 1


def load(text: str, *, max_depth: int = MAX_DEPTH, aliases: bool = True, max_nodes: int | None = None) -> Any:
    """The single document in ``text``, loaded safely; raises ``YamlProblem`` for invalid or hostile YAML.

    ``aliases=False`` refuses every alias: for documents walked whole and rewritten (contracts), where a
    shared node would be a surprise even when small.
    """
    try:
        _check_events(text, max_depth, aliases, MAX_NODES if max_nodes is None else max_nodes)
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as error:
        raise YamlProblem(f"not valid YAML{_where(error.problem_mark)}: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise YamlProblem(f"not valid YAML: {error}") from None
    except RecursionError:
        raise YamlProblem("YAML nested too deeply") from None


def _check_events(text: str, max_depth: int, aliases: bool, max_nodes: int) -> None:
    budget = EXPANSION_ALLOWANCE + EXPANSION_RATIO * len(text)
    size = 0  # expanded size so far
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (expanded size, height) of the node it names
    stack: list[_Open] = []
    nodes = 0
    for event in yaml.parse(text, Loader=_LOADER):
        nodes += isinstance(event, yaml.NodeEvent)  # a scalar, an alias or a collection's start
        if nodes > max_nodes:
            raise YamlProblem(
                f"YAML document of more than {max_nodes} nodes{_where(event.start_mark)}: too big to load as YAML "
                "in bounded memory (write the cassette as JSON, e.g. vcrpy's serializer='json', or split it)"
            )
        if isinstance(event, yaml.AliasEvent):
            if not aliases:
                raise YamlProblem(f"YAML aliases (*name) are not accepted here; expand them{_where(event.start_mark)}")
            size += _alias(event, anchors, stack, max_depth)
        elif isinstance(event, yaml.ScalarEvent):
            size += 1 + len(event.value)
            if event.anchor is not None:
                anchors[event.anchor] = (1 + len(event.value), 0)
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= max_depth:
                raise YamlProblem(f"YAML nested more than {max_depth} levels deep{_where(event.start_mark)}")
            stack.append(_Open(event.anchor, size))
            size += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            closed = stack.pop()
            if closed.anchor is not None:
                anchors[closed.anchor] = (size - closed.size_before, closed.height)
            if stack:
                stack[-1].height = max(stack[-1].height, closed.height + 1)
        if size > budget:
            raise YamlProblem(
                f"YAML aliases expand the document past {EXPANSION_RATIO} times its size{_where(event.start_mark)}"
                " (an alias bomb?)"
            )


def _alias(event: Any, anchors: dict[str, tuple[int, int]], stack: list[_Open], max_depth: int) -> int:
    """The expanded size an alias adds; refuses cycles, unknown anchors and nesting through aliases."""
    if any(frame.anchor == event.anchor for frame in stack):
        raise YamlProblem(f"YAML alias *{event.anchor} inside the node it names (a cycle){_where(event.start_mark)}")
    if event.anchor not in anchors:
        raise YamlProblem(f"YAML alias *{event.anchor} names no anchor defined before it{_where(event.start_mark)}")
    size, height = anchors[event.anchor]
    if len(stack) + height > max_depth:
        raise YamlProblem(f"YAML nested more than {max_depth} levels deep through aliases{_where(event.start_mark)}")
    if stack:
        stack[-1].height = max(stack[-1].height, height + 1)
    return size


def _where(mark: Any) -> str:
    return f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
