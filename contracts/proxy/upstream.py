"""The HTTP client the proxy forwards with: it adds nothing to a request and keeps nothing between clients.

httpx's defaults suit an application, not a reverse proxy:

- its cookie jar stored every ``Set-Cookie`` the target answered to one client and sent it with every
  other client's requests (issue 15): the jar here keeps nothing, so cookies pass through as headers;
- it adds ``Accept-Encoding: gzip, deflate, br`` (and ``Accept``, ``User-Agent``) when a client sent
  none: the target then answered brotli the checks could not read. The client's own headers go on, its
  ``Accept-Encoding`` narrowed to the codings the checks can undo, so every answer it gets is checked;
- its pool of 100 connections let 100 slow uploads starve every other client (502 after the pool
  timeout): the pool is unbounded here, as the server's connection cap bounds the clients already.
"""

from __future__ import annotations

from http.cookiejar import Cookie, CookieJar
from typing import Any

import httpx

from contracts.encodings import KNOWN_CODINGS, codings

ADDED_BY_HTTPX = ("accept", "accept-encoding", "user-agent")
KEEP_ALIVE_CONNECTIONS = 100


class NoCookies(CookieJar):
    """A cookie jar that never stores a cookie: a reverse proxy keeps no client state."""

    def set_cookie(self, cookie: Cookie) -> None:
        pass

    def extract_cookies(self, response: Any, request: Any) -> None:
        pass


def upstream_client(timeout: httpx.Timeout) -> httpx.AsyncClient:
    """An AsyncClient for forwarding: no cookie jar, no added headers, no redirects, no environment proxies."""
    client = httpx.AsyncClient(
        timeout=timeout,
        trust_env=False,  # never route the traffic under test through the environment's proxies
        follow_redirects=False,
        cookies=NoCookies(),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=KEEP_ALIVE_CONNECTIONS),
    )
    for name in ADDED_BY_HTTPX:
        del client.headers[name]
    return client


def forwarded_headers(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """The client's headers as the target gets them: bytes as they came (a non-ASCII value included).

    ``Accept-Encoding`` keeps only the codings the proxy can check (``zstd`` would pass unchecked).
    """
    forwarded = []
    for name, value in headers:
        if name.lower() == "accept-encoding":
            value = checkable_codings(value)
        forwarded.append((name.encode("latin-1"), value.encode("latin-1")))
    return forwarded


def checkable_codings(accept_encoding: str) -> str:
    """``"zstd, br;q=0.9, gzip"`` -> ``"br;q=0.9, gzip"``; ``"identity"`` when none is left."""
    kept = [part.strip() for part in accept_encoding.split(",") if part.strip()]
    kept = [part for part in kept if (codings(part.split(";", 1)[0]) or [""])[0] in KNOWN_CODINGS]
    return ", ".join(kept) or "identity"
