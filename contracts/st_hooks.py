"""schemathesis hooks that the shipped ``schemathesis.toml`` loads (``hooks = "contracts.st_hooks"``), so that
schemathesis's own ``st run`` judges requests by their wire form, as ``hume-contracts fuzz`` does.

schemathesis calls a case negative by the types it generated, but a multipart body loses some of them on the
way out: the ``json`` part generated as an empty array is no part at all, a request the contract allows, which a
correct server accepts; st then reports ST201 ("schema-violating request accepted") against it. This hook drops
such a case before it is sent (``contracts.wire`` reads the bytes back as a server does).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import requests
import schemathesis
from referencing.exceptions import Unresolvable
from schemathesis import GenerationMode

from contracts.fuzz.context import API_KEY_HEADER
from contracts.wire import WireRequest, contract_breach

ANY_BASE = "http://127.0.0.1"  # the wire form of path, query, headers and body does not depend on the host


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """Keep every case but a negative one whose wire form the contract accepts."""
    meta = case.meta
    if meta is None or meta.generation.mode is not GenerationMode.NEGATIVE:
        return True
    try:
        request = WireRequest.of_case(case, ANY_BASE)
    except (requests.RequestException, ValueError):  # cannot be prepared: st says why when it sends it
        return True
    # st adds the key to every request it sends (--header, or its auth configuration): judge the case with one
    key = {API_KEY_HEADER.lower(): request.headers.get(API_KEY_HEADER.lower(), "the run's key")}
    request = replace(request, headers={**request.headers, **key})
    document, template = case.operation.schema.raw_schema, case.operation.path
    if request.method.lower() not in document.get("paths", {}).get(template, {}):
        return True  # a method the operation does not have (the coverage phase's): no wire form makes it valid
    try:
        return contract_breach(document, template, request, source=_source(template)) is not None
    except (LookupError, TypeError, ValueError, Unresolvable):
        return True  # a document whose schemas the suite cannot resolve: st's own verdict stands


def _source(template: str) -> tuple[str, Any] | None:
    """Where the schemas of the operation's document resolve: v1's registry for a v1 path, else v0's (None)."""
    if not template.startswith("/v1/"):
        return None
    from contracts.apis.v1.contract import OPENAPI_URI, detailed_contract

    return OPENAPI_URI, detailed_contract().registry
