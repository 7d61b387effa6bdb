"""Keeping the API key out of everything a run prints or writes, without corrupting what it writes.

A long key (``UNAMBIGUOUS_LENGTH`` characters or more) cannot occur by chance: every occurrence of it, in
any of its forms (plain, URL-encoded, JSON-escaped), is replaced. A short key (``--api-key a``) occurs by
chance everywhere ("started"), so it is replaced only as a whole token (not inside a longer run of word
characters), and only where text is free or is a value: in a URL, its userinfo and query values; in a JSON
body, its string values, never its property names. Structure is never rewritten, so a recorded HAR reads
back and a curl command still runs; what no secret touched is returned unchanged, byte for byte.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

REDACTED = "[REDACTED]"
UNAMBIGUOUS_LENGTH = 12  # below this a key is redacted as a whole token only, and the user is warned
TOKEN = r"[\w-]"  # a key next to one of these is part of a longer token, not the key
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _forms(secret: str) -> set[str]:
    """How ``secret`` can appear in output: as is, URL-encoded, JSON-escaped."""
    escaped = {json.dumps(secret, ensure_ascii=ascii)[1:-1] for ascii in (False, True)}
    return {secret, quote(secret, safe=""), quote(secret), *escaped}


def _pattern(forms: Iterable[str], whole_token: bool) -> re.Pattern[str] | None:
    alternatives = []
    for form in sorted(forms, key=len, reverse=True):  # the longest form first, so it wins an overlap
        before = rf"(?<!{TOKEN})" if whole_token and re.match(TOKEN, form[0]) else ""
        after = rf"(?!{TOKEN})" if whole_token and re.match(TOKEN, form[-1]) else ""
        alternatives.append(before + re.escape(form) + after)
    return re.compile("|".join(alternatives)) if alternatives else None


def is_ambiguous(secret: str) -> bool:
    """Too short to tell from ordinary text: redacted as a whole token only."""
    return 0 < len(secret) < UNAMBIGUOUS_LENGTH


class Redactor:
    """Replaces secret values wherever text leaves the process (see the module docstring for where)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        secrets = [s for s in secrets if s]
        self._anywhere = _pattern({f for s in secrets if not is_ambiguous(s) for f in _forms(s)}, whole_token=False)
        self._tokens = _pattern({f for s in secrets if is_ambiguous(s) for f in _forms(s)}, whole_token=True)

    def text(self, value: str) -> str:
        """Free text (a progress line, a message, a curl command, a header value)."""
        for pattern in (self._anywhere, self._tokens):
            if pattern is not None:
                value = pattern.sub(REDACTED, value)
        return value

    def structure(self, value: str) -> str:
        """Structure (a property name, a URL's host and path): only a key that cannot be there by chance."""
        return self._anywhere.sub(REDACTED, value) if self._anywhere is not None else value

    def json(self, value: Any) -> Any:
        """A parsed JSON value: every string value redacted as text, property names as structure."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.structure(k): self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return value

    def json_text(self, text: str) -> str:
        """A JSON document as text: unchanged unless a secret is in it; still the same JSON structure after.

        Text that is not JSON (RFC 8259: ``NaN`` and ``Infinity`` are not) is free text. So this is the
        redaction for any recorded text body, whatever its label says: a body sent without a content type,
        or as text/plain, that is JSON keeps its literals (``null``, ``true``, ``1``) whatever the key.
        """
        if not self._found(text):
            return text
        try:
            parsed = json.loads(text, parse_constant=_not_json)
        except ValueError:  # not JSON after all: free text
            return self.text(text)
        redacted = self.json(parsed)
        return text if redacted == parsed else json.dumps(redacted, ensure_ascii=False)

    def form_text(self, text: str) -> str:
        """An ``application/x-www-form-urlencoded`` body: values as text, names as structure (like a query)."""
        if not self._found(text):
            return text
        return "&".join(self._query_item(item) for item in text.split("&"))

    def xml_text(self, text: str) -> str:
        """An XML document (a JUnit report): text and attribute values redacted, markup never.

        A number in an attribute (``tests="1"``) is a count the report wrote, not data: left as it is.
        Text that is not XML is free text.
        """
        if not self._found(text):
            return text
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            return self.text(text)
        for element in root.iter():
            element.text = self.text(element.text) if element.text else element.text
            element.tail = self.text(element.tail) if element.tail else element.tail
            for name, value in element.attrib.items():
                element.set(name, value if _NUMBER.fullmatch(value) else self.text(value))
        declaration = text.lstrip().startswith("<?xml")
        return ET.tostring(root, encoding="unicode", xml_declaration=declaration)

    def binary(self, data: bytes) -> bytes:
        """Bytes that are not text (media, archives, a body that is not what it claims): only a key that
        cannot occur by chance is replaced, every other byte kept; a short key cannot be told from data."""
        if self._anywhere is None:
            return data
        text = data.decode("utf-8", errors="surrogateescape")
        redacted = self._anywhere.sub(REDACTED, text)
        return data if redacted == text else redacted.encode("utf-8", errors="surrogateescape")

    def url(self, value: str) -> str:
        """A URL: userinfo, query values and fragment as text; scheme, host, path and query names as structure."""
        if not self._found(value):
            return value
        try:
            parts = urlsplit(value)
        except ValueError:
            return self.text(value)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            netloc = ":".join(self.text(piece) for piece in userinfo.split(":")) + "@" + self.structure(host)
        else:
            netloc = self.structure(netloc)
        query = "&".join(self._query_item(item) for item in parts.query.split("&")) if parts.query else ""
        return urlunsplit((parts.scheme, netloc, self.structure(parts.path), query, self.text(parts.fragment)))

    def _query_item(self, item: str) -> str:
        name, equals, value = item.partition("=")
        return self.structure(name) + equals + self.text(value)

    def _found(self, text: str) -> bool:
        return any(pattern is not None and pattern.search(text) for pattern in (self._anywhere, self._tokens))
