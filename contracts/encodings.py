"""Content codings of recorded bodies (``Content-Encoding``), undone with a bound on the output.

A recorder that keeps bodies as they came off the wire (vcrpy without ``decode_compressed_response``)
stores them compressed. A compressed body can expand a thousandfold, so every decoder stops at
``limit`` bytes and refuses the body instead of exhausting memory.
"""

from __future__ import annotations

import zlib

KNOWN_CODINGS = ("gzip", "x-gzip", "deflate", "br", "identity")


class DecodingProblem(ValueError):
    """A body that cannot be decoded as its ``Content-Encoding`` says."""


class TooLarge(DecodingProblem):
    """A body that expands past the limit when decoded."""


def codings(header: str | None) -> list[str]:
    """``"gzip, br"`` -> ``["gzip", "br"]`` (in the order they were applied)."""
    return [part.strip().lower() for part in (header or "").split(",") if part.strip()]


def decode_body(data: bytes, applied: list[str], limit: int) -> bytes:
    """The body with the codings undone, last applied first; raises ``DecodingProblem``."""
    for coding in reversed(applied):
        if coding in ("gzip", "x-gzip"):
            data = _inflate(data, zlib.MAX_WBITS | 16, limit, coding)
        elif coding == "deflate":  # RFC 9110 means zlib-wrapped; some servers send raw deflate
            try:
                data = _inflate(data, zlib.MAX_WBITS, limit, coding)
            except TooLarge:
                raise
            except DecodingProblem:
                data = _inflate(data, -zlib.MAX_WBITS, limit, coding)
        elif coding == "br":
            data = _unbrotli(data, limit)
        elif coding != "identity":
            raise DecodingProblem(f"unknown content coding {coding!r} (known: {', '.join(KNOWN_CODINGS)})")
    return data


def _inflate(data: bytes, wbits: int, limit: int, coding: str) -> bytes:
    decoder = zlib.decompressobj(wbits)
    try:
        out = decoder.decompress(data, limit + 1)
    except zlib.error as error:
        raise DecodingProblem(f"body is not valid {coding} data ({error})") from None
    if len(out) > limit:
        raise TooLarge(f"{coding} body expands past the {limit}-byte limit")
    if not decoder.eof:
        raise DecodingProblem(f"{coding} body is truncated")
    return out


def _unbrotli(data: bytes, limit: int) -> bytes:
    try:
        import brotli
    except ImportError:  # pragma: no cover - a declared dependency
        raise DecodingProblem("body is brotli-compressed and the brotli package is not installed") from None
    decoder = brotli.Decompressor()
    try:
        out = decoder.process(data, output_buffer_limit=limit + 1)
    except brotli.error as error:
        raise DecodingProblem(f"body is not valid br data ({error})") from None
    if len(out) > limit:
        raise TooLarge(f"br body expands past the {limit}-byte limit")
    if not decoder.is_finished():
        raise DecodingProblem("br body is truncated")
    return out
