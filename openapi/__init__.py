"""The contract: the upstream OpenAPI document, its repairs (an Overlay), and the stream contract.

Everything here is read from files inside this package, never from outside the installed product.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
UPSTREAM_PATH = HERE / "upstream" / "hume-ai-expression-openapi.yml"
OVERLAY_PATH = HERE / "overlay.yaml"
NAMES_OVERLAY_PATH = HERE / "overlay.names.yaml"
REPAIRED_PATH = HERE / "repaired.yaml"
STREAM_CONTRACT_PATH = HERE / "stream.asyncapi.yaml"
SCHEMATHESIS_CONFIG_PATH = HERE / "schemathesis.toml"  # for `st run` with the repaired contract
# Copies of the corpus the repairs cite (see evidence/ORIGIN.md): real recordings gzipped, documented examples as is.
EVIDENCE_DIR = HERE / "evidence"


def _load_yaml(path: Path) -> Any:
    with path.open("rb") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.cache
def _cached(path: Path) -> Any:
    return _load_yaml(path)


def load_upstream() -> dict[str, Any]:
    """The published document, as vendored (known to be wrong)."""
    return _cached(UPSTREAM_PATH)


def load_overlay() -> dict[str, Any]:
    return _cached(OVERLAY_PATH)


def load_names_overlay() -> dict[str, Any]:
    return _cached(NAMES_OVERLAY_PATH)


def load_repaired() -> dict[str, Any]:
    """The committed repaired document (treat as read-only: it is shared)."""
    return _cached(REPAIRED_PATH)


def load_stream_contract() -> dict[str, Any]:
    """The AsyncAPI document of ``/v0/stream/models`` (treat as read-only: it is shared)."""
    return _cached(STREAM_CONTRACT_PATH)


def evidence_path(name: str) -> Path | None:
    """The vendored copy of a corpus file cited as evidence (``corpus/recorded/X.json``); None if not vendored."""
    relative = name.removeprefix("corpus/")
    if "/" not in relative or ".." in relative.split("/"):
        return None
    for candidate in (EVIDENCE_DIR / relative, EVIDENCE_DIR / f"{relative}.gz"):
        if candidate.is_file():
            return candidate
    return None


def load_evidence(path: Path) -> Any:
    """A vendored evidence body (JSON, gzipped or not)."""
    import gzip
    import json

    data = path.read_bytes()
    return json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)


def recorded_evidence() -> list[Path]:
    """Every vendored real recording of the corpus (``corpus/recorded/``)."""
    return sorted((EVIDENCE_DIR / "recorded").glob("*.json.gz"))


def build_repaired() -> tuple[dict[str, Any], dict[str, Any]]:
    """Build from scratch: (the generated names overlay, the repaired document).

    The hand-written repairs (``overlay.yaml``) apply first; the names overlay is then generated from
    that result and applied. The committed ``overlay.names.yaml`` and ``repaired.yaml`` must equal these.
    """
    from openapi.names import names_overlay
    from openapi.overlay import apply_overlay

    repaired = apply_overlay(_load_yaml(UPSTREAM_PATH), _load_yaml(OVERLAY_PATH))
    names = names_overlay(repaired)
    return names, apply_overlay(repaired, names)


def write_repaired() -> list[Path]:
    """Regenerate the committed outputs; return the files written."""
    names, repaired = build_repaired()
    written = [
        path for path, document in ((NAMES_OVERLAY_PATH, names), (REPAIRED_PATH, repaired)) if _replace(path, document)
    ]
    _cached.cache_clear()
    return written


def _replace(path: Path, document: Any) -> bool:
    """Write ``document`` to ``path`` unless it already holds it; a reader never sees a half-written file."""
    text = dump_yaml(document)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return True


def dump_yaml(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)
