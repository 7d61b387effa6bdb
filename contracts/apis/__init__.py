"""The registry of API versions: what version-agnostic code (readers, reports, coverage, diff, drivers) asks.

Each version is one ``ApiVersion`` record naming the module that adapts it (``contracts.apis.v0``,
``contracts.apis.v1``), imported only when first used. An adapter module exposes:

- ``KINDS``: the body kinds ``validate --kind`` accepts for it;
- ``detect_kind(body)``: the kind of an unambiguous body, else None;
- ``validate_body(body, kind, *, disabled, closed_world)``: ``(violations, additions)``;
- ``operation_index()`` and ``validate_against``: what ``contracts.traffic`` needs to check an interaction;
- ``load_openapi()`` / ``load_asyncapi()``: its contract documents.

Adding a v2 is one more record here and a ``contracts/apis/v2/`` package.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class ApiVersion:
    """One API version: its name, how its paths and kinds are told, and the module that adapts it."""

    name: str  # "v0", "v1"
    path_segment: str  # the path segment that names it: "/v0/", "/v1/"
    kind_prefix: str  # "" for v0 (its kinds predate the registry), "v1-" for v1
    module: str  # the adapter module, imported on first use
    status: str  # one line for --help and reports

    def adapter(self) -> ModuleType:
        return importlib.import_module(self.module)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.adapter().KINDS)

    def load_openapi(self) -> dict:
        return self.adapter().load_openapi()

    def load_asyncapi(self) -> dict:
        return self.adapter().load_asyncapi()


APIS: tuple[ApiVersion, ...] = (
    ApiVersion(
        "v0", "/v0/", "", "contracts.apis.v0", "batch jobs + stream models; switched off by Hume on 14 June 2026"
    ),
    ApiVersion("v1", "/v1/", "v1-", "contracts.apis.v1", "uploads, realtime sessions, runs; live since 6 October 2026"),
)
API_NAMES: tuple[str, ...] = tuple(api.name for api in APIS)
DEFAULT_API = "v0"  # what a command that needs one API uses unless told (nothing a v0 user runs changes)


def get_api(name: str) -> ApiVersion:
    """The version called ``name``; raises ``KeyError`` naming the known ones."""
    for api in APIS:
        if api.name == name:
            return api
    raise KeyError(f"unknown API {name!r} (one of {', '.join(API_NAMES)})")


def api_for_path(path: str) -> ApiVersion | None:
    """The version a request path belongs to, by its version segment (a base path may precede it:
    ``/v1/expression/run``, ``/proxy/v1/expression/run``); None when no segment names one."""
    found = [(match.start(), api) for api in APIS if (match := _segment(api).search(path + "/")) is not None]
    return min(found, key=lambda pair: pair[0])[1] if found else None


def _segment(api: ApiVersion) -> re.Pattern[str]:
    return re.compile(re.escape(api.path_segment))


def api_for_kind(kind: str) -> ApiVersion:
    """The version whose kinds include ``kind`` (the longest matching prefix: ``v1-run`` is v1's)."""
    for api in sorted(APIS, key=lambda api: len(api.kind_prefix), reverse=True):
        if kind.startswith(api.kind_prefix) and kind in api.kinds:
            return api
    raise KeyError(f"unknown kind {kind!r}")


def all_kinds() -> tuple[str, ...]:
    """Every kind of every version, v0's first (their order in ``--help``)."""
    return tuple(kind for api in APIS for kind in api.kinds)


def judges_sessions(api: ApiVersion) -> bool:
    """Whether a version's WebSocket traffic is judged session by session (v1), not frame by frame (v0)."""
    return hasattr(api.adapter(), "judge_session")


def api_for_message(message: object) -> ApiVersion | None:
    """The version whose sessions a bare transcript message belongs to (None: none claims it; v0 frames)."""
    for api in APIS:
        owns = getattr(api.adapter(), "owns_message", None)
        if owns is not None and owns(message):
            return api
    return None


def session_api_for_path(path: str | None) -> ApiVersion | None:
    """The version judging a recorded WebSocket session at ``path`` session by session, if any."""
    api = api_for_path(path) if path else None
    return api if api is not None and judges_sessions(api) else None


def default_session_api() -> ApiVersion:
    """The newest version with sessions: a transcript in the WebSocket-frame format (binary frames, close
    frames) that names no path is one of its sessions (v0 never had binary frames)."""
    return next(api for api in reversed(APIS) if judges_sessions(api))


def detect_kind(body: object) -> str | None:
    """The kind of an unambiguous body, asking the newest version first (v1's shapes are told by ``type``
    values v0 never had; v0's detection is looser)."""
    for api in reversed(APIS):
        kind = api.adapter().detect_kind(body)
        if kind is not None:
            return kind
    return None
