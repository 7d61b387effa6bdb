"""The v1 documents compiled for validation: the same discriminator-aware engine as v0 (``contracts.schema``),
with the same fast path (``contracts.fast``), on the v1 OpenAPI and AsyncAPI documents."""

from __future__ import annotations

import functools
from typing import Any

import openapi.v1
from contracts.fast import FastContract, SkippingContract, fast_or_none
from contracts.schema import URI_PREFIX, Contract
from contracts.violations import Violation

OPENAPI_URI = f"{URI_PREFIX}v1:openapi"
ASYNCAPI_URI = f"{URI_PREFIX}v1:asyncapi"

_OPENAPI_SCHEMAS = f"{OPENAPI_URI}#/components/schemas"
_ASYNCAPI_SCHEMAS = f"{ASYNCAPI_URI}#/components/schemas"

# The kinds of body a user holds, each with the schema that judges it (names are stable: scripts rely on them).
KIND_SCHEMAS: dict[str, str] = {
    "v1-audio-file-response": f"{_OPENAPI_SCHEMAS}/AudioFileResponse",
    "v1-video-file-response": f"{_OPENAPI_SCHEMAS}/VideoFileResponse",
    "v1-run": f"{_OPENAPI_SCHEMAS}/Run",
    "v1-runs-page": f"{_OPENAPI_SCHEMAS}/RunsPage",
    "v1-run-events-page": f"{_OPENAPI_SCHEMAS}/RunEventsPage",
    "v1-error": f"{_OPENAPI_SCHEMAS}/RequestError",
    "v1-audio-server-message": f"{_ASYNCAPI_SCHEMAS}/AudioServerMessage",
    "v1-video-server-message": f"{_ASYNCAPI_SCHEMAS}/VideoServerMessage",
    "v1-audio-client-message": f"{_ASYNCAPI_SCHEMAS}/AudioClientMessage",
    "v1-video-client-message": f"{_ASYNCAPI_SCHEMAS}/VideoClientMessage",
}


def documents() -> dict[str, Any]:
    return {OPENAPI_URI: openapi.v1.load_openapi(), ASYNCAPI_URI: openapi.v1.load_asyncapi()}


@functools.cache
def fast_contract() -> FastContract | None:
    return fast_or_none(documents())


@functools.cache
def detailed_contract() -> Contract:
    fast = fast_contract()
    if fast is None:
        return Contract(None, None, documents())
    return SkippingContract(None, None, fast, documents())


def schema_violations(body: Any, schema_ref: str) -> list[Violation]:
    """The schema violations of ``body``; the compiled validator answers first (most bodies are valid)."""
    fast = fast_contract()
    if fast is not None and fast.is_valid(body, schema_ref):
        return []
    return detailed_contract().violations(body, schema_ref)


def node_at(ref: str) -> Any:
    """The node of a v1 document at ``v1:openapi#/...`` or an absolute reference (None if absent)."""
    uri, _, fragment = ref.partition("#")
    uri = uri if uri.startswith(URI_PREFIX) else URI_PREFIX + uri
    return at_pointer(documents().get(uri), fragment)


def at_pointer(node: Any, pointer: str) -> Any:
    """The value at an RFC 6901 pointer in ``node`` (None if absent)."""
    for part in (p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node
