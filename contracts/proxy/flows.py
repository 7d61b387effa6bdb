"""What the proxy saw of one exchange: the objects its hooks receive (mitmproxy calls them flows)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

Headers = list[tuple[str, str]]
TEXT_MEDIA = ("json", "text/")  # the bodies every check reads; others are kept only when an addon wants them


def header(headers: Headers, name: str) -> str | None:
    """The first value of header ``name`` (any case), or None."""
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), None)


def is_text_media(content_type: str | None) -> bool:
    """Whether a body of this content type is text the checks read (JSON, ``text/...``)."""
    return any(media in (content_type or "").lower() for media in TEXT_MEDIA)


@dataclass(frozen=True)
class Replacement:
    """A response a hook sends instead of the target's (``--strict``: a 502 naming the violation)."""

    status: int
    headers: Headers
    body: bytes


@dataclass
class HttpFlow:
    """One HTTP request and what came back for it.

    ``request_body``/``response_body`` are what the proxy kept for checking (None: not kept: a binary
    body no addon wanted, or one over the check limit); ``*_size`` counts every byte that passed through.
    """

    number: int
    method: str
    path: str  # with the query string, as the client sent it
    request_headers: Headers
    started: float = field(default_factory=time.time)
    request_body: bytes | None = b""
    request_size: int = 0
    status: int | None = None
    reason: str = ""
    response_headers: Headers = field(default_factory=list)
    response_body: bytes | None = b""
    response_size: int = 0
    response_complete: bool = False  # the target's body arrived to its end
    error: str | None = None  # the target could not be reached or broke off
    replacement: Replacement | None = None
    elapsed: float = 0.0
    findings: list[Any] = field(default_factory=list)  # set by the contract checker, read by later addons

    @property
    def label(self) -> str:
        return f"{self.method} {self.path.split('?', 1)[0]}"


@dataclass(frozen=True)
class StreamMessage:
    """One WebSocket frame: ``number`` counts the connection's frames from 1, both directions."""

    number: int
    from_client: bool
    text: str | None
    data: bytes | None
    at: float


@dataclass
class StreamFlow:
    """One WebSocket connection through the proxy."""

    number: int
    path: str  # with the query string (it may carry ?apikey=: redact before showing)
    request_headers: Headers
    started: float = field(default_factory=time.time)
    status: int | None = None  # 101 once the target accepted; its refusal status otherwise
    close_code: int | None = None
    close_reason: str = ""
    closed_by: str = ""  # "client", "target" or "proxy"
    frames: int = 0
    error: str | None = None  # what the proxy refused or cut off (a bad request-target, a frame over the limit)
    findings: list[Any] = field(default_factory=list)  # the latest frame's, set by the checkers, read by StrictGate
    closing: tuple[int, str] | None = None  # set by a hook (--strict): the proxy ends the session with this close

    @property
    def label(self) -> str:
        return f"stream #{self.number}"
