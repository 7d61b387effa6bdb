"""A document's references stay inside it: no command opens a file or fetches a URL that a document names.

A contract document comes from outside (a new upstream, a colleague's branch) and a tool like this one runs in
CI next to secrets. A ``$ref`` to ``file:///etc/...`` or ``http://169.254.169.254/...`` must not be followed:
the file's content would reach the report, the URL would be fetched (an endless answer fills memory). Such a
reference is found and named (``external_refs``), and every library that resolves references is given a
resolver that refuses anything outside the document (``refuse``, ``REFUSING_HANDLERS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from contracts.safe_text import printable

REF_KEYWORDS = ("$ref", "$dynamicRef")
MAX_LISTED = 20  # external references named in a report; the rest are counted


class ExternalRefRefused(ValueError):
    """A library asked to open or fetch a reference outside the document; refused."""


@dataclass(frozen=True)
class ExternalRef:
    pointer: str  # JSON pointer of the object holding the reference
    ref: str

    def describe(self) -> str:
        return f"{self.pointer or '/'}: `{printable(self.ref[:200])}` refers outside the document (not followed)"


def is_local(ref: str) -> bool:
    """A reference into the same document (``#/components/schemas/X``)."""
    return ref.startswith("#")


def _escape(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def external_refs(document: Any) -> list[ExternalRef]:
    """Every ``$ref`` (or ``$dynamicRef``) of ``document`` that points outside it, in document order."""
    found: list[ExternalRef] = []
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        node, at = stack.pop()
        if isinstance(node, dict):
            for keyword in REF_KEYWORDS:
                ref = node.get(keyword)
                if isinstance(ref, str) and not is_local(ref):
                    found.append(ExternalRef(at, ref))
            stack.extend((value, f"{at}/{_escape(key)}") for key, value in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend((value, f"{at}/{index}") for index, value in reversed(list(enumerate(node))))
    return found


def describe_all(refs: list[ExternalRef]) -> list[str]:
    """One line per reference, the first ``MAX_LISTED``, then how many more."""
    lines = [ref.describe() for ref in refs[:MAX_LISTED]]
    if len(refs) > MAX_LISTED:
        lines.append(f"... and {len(refs) - MAX_LISTED} more")
    return lines


def refuse(uri: str) -> NoReturn:
    """A retriever (jsonschema-rs, referencing) and a handler (jsonschema-path) that opens nothing."""
    raise ExternalRefRefused(f"`{printable(str(uri)[:200])}` refers outside the document (not followed)")


class _RefusingHandlers(dict):
    """jsonschema-path's handlers by URI scheme: every scheme, known or not, refused.

    A plain dict would not do: jsonschema-path's retriever falls back to ``urllib.urlopen`` (and ``requests``)
    for a scheme it has no handler for.
    """

    def __contains__(self, scheme: object) -> bool:
        return True

    def __getitem__(self, scheme: str) -> Any:
        return refuse

    def get(self, scheme: str, default: Any = None) -> Any:
        return refuse


REFUSING_HANDLERS: dict[str, Any] = _RefusingHandlers()
