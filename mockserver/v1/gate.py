"""The door of ``/v1/``: the API key (the same one as v0), and the optional request rate limit.

A key is ``X-Hume-Api-Key`` or ``Authorization: Bearer <key>``, exactly one of them (documented: "Send exactly
one credential per request"); WebSocket handshakes carry it as a header too (no query-string key in v1).
A refused handshake gets an HTTP 401 with the documented body, not a WebSocket close.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from mockserver.app import GateMiddleware
from mockserver.v1.errors import error_response, unauthorized

PREFIX = "/v1/"


class V1GateMiddleware(GateMiddleware):
    """v0's gate (its rate window and refusal) with v1's prefix, credentials and bodies."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        verdict = self._credential(Headers(scope=scope))
        if verdict is not True:
            await self._refuse(scope, receive, send, unauthorized(key_sent=verdict == "wrong"))
            return
        if self._rate_limited():
            busy = error_response("server_busy", "Too many requests; retry after the Retry-After delay.")
            await self._refuse(scope, receive, send, busy)
            return
        await self.app(scope, receive, send)

    def _credential(self, headers: Headers) -> bool | str:
        """True for the right key; "missing" or "wrong" otherwise."""
        if self.config.drifted("auth-not-enforced"):
            return True
        key = headers.get("x-hume-api-key")
        bearer = headers.get("authorization")
        if key is not None and bearer is not None:
            return "wrong"  # two credentials
        if bearer is not None:
            scheme, _, key = bearer.partition(" ")
            if scheme.lower() != "bearer":
                return "wrong"
        if key is None:
            return "missing"
        return True if hmac.compare_digest(key.encode(), self.config.api_key.encode()) else "wrong"
