"""The v1 contract: the OpenAPI 3.1 document of the HTTP operations, the AsyncAPI 2.6 document of the two
realtime channels, and the vendored names and enums (``names.json``).

Everything is read from files inside this package, never from outside the installed product; each document
is loaded once per process (treat the returned objects as read-only: they are shared).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
OPENAPI_PATH = HERE / "openapi.yaml"
ASYNCAPI_PATH = HERE / "asyncapi.yaml"
NAMES_PATH = HERE / "names.json"


@functools.cache
def load_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the five HTTP operations."""
    with OPENAPI_PATH.open("rb") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.cache
def load_asyncapi() -> dict[str, Any]:
    """The AsyncAPI 2.6 document of ``/v1/expression/audio/realtime`` and ``/v1/expression/video/realtime``."""
    with ASYNCAPI_PATH.open("rb") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.cache
def load_names() -> dict[str, Any]:
    """Label names (incomplete lists) and the SDK's enums, each with its source notes."""
    return json.loads(NAMES_PATH.read_text(encoding="utf-8"))
