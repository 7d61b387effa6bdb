"""The one place the proxy decides where a request goes: ``--target``, plus the request's path and query.

Nothing a client writes can name another host: a request-target that is not origin-form (``/path?query``)
is refused, and the URL built is checked to still point at the target's scheme, host and port. Without
this, ``GET *@127.0.0.1:OTHER/`` read as ``http://api.hume.ai*@127.0.0.1:OTHER/`` reached OTHER with the
client's API key (issue 15).
"""

from __future__ import annotations

import httpx

REQUEST_TARGET = "hume_contracts.request_target"  # scope["extensions"] key the guarded server fills


class NotOriginForm(ValueError):
    """A request-target the proxy will not forward (absolute-form, authority-form, ``*``, or no path)."""


def upstream_url(target: httpx.URL, request_target: bytes, scheme: str | None = None) -> httpx.URL:
    """``target`` with the request's path and query appended; ``NotOriginForm`` for anything else."""
    if not request_target.startswith(b"/"):
        shown = request_target[:80].decode("latin-1")
        raise NotOriginForm(f"request-target {shown!r} is not origin-form (a path starting with '/')")
    base = target.copy_with(scheme=scheme) if scheme else target
    try:
        url = base.copy_with(raw_path=target.raw_path.rstrip(b"/") + request_target)
    except (httpx.InvalidURL, UnicodeDecodeError) as problem:
        raise NotOriginForm(f"request-target is not a valid path and query: {problem}") from None
    if (url.host, url.port, url.userinfo) != (target.host, target.port, target.userinfo):  # never, by construction
        raise NotOriginForm("request-target would leave the target")
    return url


def request_target(scope: dict) -> bytes:
    """The request-target as the client wrote it: kept by the guarded server, else rebuilt from the scope."""
    kept = (scope.get("extensions") or {}).get(REQUEST_TARGET)
    if kept is not None:
        return kept
    path = scope.get("raw_path") or scope["path"].encode("latin-1")
    query = scope.get("query_string", b"")
    return path + (b"?" + query if query else b"")
