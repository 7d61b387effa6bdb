"""JSON the mock can both store and serve: I-JSON (RFC 7493), read and written strictly.

Python's ``json`` reads ``NaN``, ``Infinity``, ``1e400`` (as inf) and lone surrogate escapes (``"\\ud800"``),
none of which can be sent back as JSON or encoded as UTF-8. A value that got in would break every answer
that includes it, so the mock reads requests with ``orjson`` (which refuses all of them) and writes what it
stores with ``dumps``, which refuses unencodable text: nothing enters the store that cannot leave it.
"""

from __future__ import annotations

from typing import Any

import orjson


class NotWireJSON(ValueError):
    """Input that is not I-JSON; ``reason`` says what (and where, as line and column)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def loads(raw: bytes | str) -> Any:
    """The value of a JSON text; NotWireJSON for invalid JSON, NaN/Infinity, overflowing numbers, lone surrogates,
    invalid UTF-8 and nesting deeper than 1024 levels."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise NotWireJSON(str(exc)[:160]) from None
    except TypeError:  # a str holding a lone surrogate code point (not an escape) cannot even be passed in
        raise NotWireJSON("text is not valid Unicode (lone surrogate)") from None


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of ``value``; NotWireJSON if it holds text UTF-8 cannot encode (a lone surrogate).

    ``orjson`` writes a non-finite float as ``null``: still JSON, and ``loads`` keeps them out of requests.
    """
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        raise NotWireJSON(f"not storable as JSON: {str(exc)[:160]}") from None
