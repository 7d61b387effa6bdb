"""The v0 adapter: what the registry needs from the v0 contract, which stays where it always was.

v0 (``/v0/batch/jobs``, ``/v0/stream/models``) was switched off by Hume on 14 June 2026; its contract is kept
whole for old recordings and Hume-compatible services that still speak it. Nothing here changes how v0 is judged.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import openapi
from contracts.validation import KINDS, detect_kind, validate_against
from contracts.violations import Violation

__all__ = [
    "KINDS",
    "contract_documents",
    "detect_kind",
    "load_asyncapi",
    "load_openapi",
    "operation_index",
    "validate_against",
]


def load_openapi() -> dict[str, Any]:
    return openapi.load_repaired()


def load_asyncapi() -> dict[str, Any]:
    return openapi.load_stream_contract()


def contract_documents() -> dict[str, Any]:
    from contracts.fast import contract_documents as documents

    return documents()


def operation_index() -> Any:
    from contracts.traffic import default_index

    return default_index()


def validate_body(
    body: Any, kind: str, *, disabled: Collection[str] = (), closed_world: bool = False
) -> tuple[list[Violation], list[Violation]]:
    """v0 has no compatibility rule: nothing is an addition (``closed_world`` changes nothing)."""
    from contracts.validation import validate_body as validate_v0

    return validate_v0(body, kind, disabled=disabled), []
