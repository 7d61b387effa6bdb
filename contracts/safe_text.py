"""Text from the inputs made safe to write: names and messages carry whatever a file or its name holds.

- ``printable``: for a terminal. Control characters (an escape sequence would reach the terminal),
  invisible and direction-changing characters (which make a name look like another) and line separators
  are written as Python-style escapes (``\\n``, ``\\x1b``, ``\\u202e``).
- ``encodable``: for any UTF-8 output. A name that is not UTF-8 reaches Python with each bad byte as a
  lone surrogate (``os.fsdecode``), which no UTF-8 writer accepts; such a byte is written ``\\xNN``.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, zero-width and bidirectional formatting characters, line and paragraph
# separators, the byte order mark, and every surrogate.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str, backslash: str = "\\") -> str:
    code = ord(char)
    if char in _SHORT:
        return _SHORT[char]
    if code <= 0xFF:
        return f"{backslash}x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as os.fsdecode keeps it
        return f"{backslash}x{code - 0xDC00:02x}"
    return f"{backslash}u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on, or hide, escaped."""
    return _UNPRINTABLE.sub(lambda match: _escape(match.group()), text)


def encodable(text: str, *, in_json: bool = False) -> str:
    """``text`` with undecodable bytes (lone surrogates) escaped, so it can be written as UTF-8.

    ``in_json``: ``text`` is JSON, whose string literals are the only place a surrogate can be; the
    backslash of the escape is then itself escaped, so the JSON reads back as ``\\xNN``.
    """
    backslash = "\\\\" if in_json else "\\"
    return _SURROGATE.sub(lambda match: _escape(match.group(), backslash), text)
