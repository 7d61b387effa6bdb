"""Whether a text position indexes the text it names: one reading for batch predictions and stream replies.

The contract does not say what a position counts, so both readings of ``text[begin:end]`` are taken: code points
and UTF-8 bytes. Within the reading that matches, ``end`` may not pass the end of the text: a slice clips an end
past the text, so ``text[b:e] == expected`` alone would pass an ``end`` that points nowhere.
"""

from __future__ import annotations

from typing import Any


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def indexes(text: str, begin: Any, end: Any, expected: Any) -> bool:
    """True when ``text[begin:end]`` is ``expected`` and ``end <= len(text)``, counting code points or UTF-8
    bytes (the contract does not say which). Whole-number floats count (stream positions are floats)."""
    if not (is_number(begin) and is_number(end) and float(begin).is_integer() and float(end).is_integer()):
        return False
    b, e = int(begin), int(end)
    if not 0 <= b <= e or not isinstance(expected, str):
        return False
    encoded = text.encode()
    in_code_points = e <= len(text) and text[b:e] == expected
    in_bytes = e <= len(encoded) and encoded[b:e].decode("utf-8", errors="replace") == expected
    return in_code_points or in_bytes
