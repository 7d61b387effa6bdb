"""The v1 contract documents: valid OpenAPI 3.1 and AsyncAPI 2.6, every schema and field naming its evidence,
and `hume-contracts spec --api v1 [--stream]` printing them (``--api`` defaulting to v0)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

import openapi
import openapi.v1
from contracts.cli import main
from contracts.violations import pointer

DATA = Path(__file__).parent / "data"
ASYNCAPI_META = DATA / "asyncapi" / "asyncapi-2.6.0.schema.json"
EVIDENCE_PREFIXES = ("sdk:", "docs:")


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_openapi_document_is_valid_openapi_3_1() -> None:
    document = openapi.v1.load_openapi()
    validate_openapi(document)
    assert document["openapi"] == "3.1.0"
    operations = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    assert operations == {
        ("POST", "/v1/expression/audio/file"),
        ("POST", "/v1/expression/video/file"),
        ("GET", "/v1/expression/run"),
        ("GET", "/v1/expression/run/{run_id}"),
        ("GET", "/v1/expression/run/{run_id}/events"),
    }


def test_asyncapi_document_is_valid_asyncapi_2_6() -> None:
    document = openapi.v1.load_asyncapi()
    meta = json.loads(ASYNCAPI_META.read_text(encoding="utf-8"))
    errors = [f"{pointer(e.absolute_path)}: {e.message[:200]}" for e in Draft7Validator(meta).iter_errors(document)]
    assert errors == []
    assert document["asyncapi"] == "2.6.0"
    assert set(document["channels"]) == {"/v1/expression/audio/realtime", "/v1/expression/video/realtime"}


@pytest.mark.parametrize("load", [openapi.v1.load_openapi, openapi.v1.load_asyncapi])
def test_every_component_schema_is_valid_draft_2020_12(load: Any) -> None:
    for schema in load()["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def _schemas_and_fields(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every component schema and every property of one, with its place."""
    for name, schema in document["components"]["schemas"].items():
        yield f"schemas/{name}", schema
        for field, sub in (schema.get("properties") or {}).items():
            yield f"schemas/{name}/{field}", sub


@pytest.mark.parametrize("load", [openapi.v1.load_openapi, openapi.v1.load_asyncapi])
def test_every_schema_and_field_names_its_evidence_or_says_it_is_a_judgement(load: Any) -> None:
    missing, malformed = [], []
    for place, schema in _schemas_and_fields(load()):
        if set(schema) == {"$ref"}:  # the referenced schema carries the evidence
            continue
        evidence = schema.get("x-evidence", [])
        if not evidence and not schema.get("x-judgement"):
            missing.append(place)
        malformed += [f"{place}: {e}" for e in evidence if not str(e).startswith(EVIDENCE_PREFIXES)]
    assert missing == []
    assert malformed == []


def _evidence(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        yield from node.get("x-evidence", [])
        for value in node.values():
            yield from _evidence(value)
    elif isinstance(node, list):
        for value in node:
            yield from _evidence(value)


@pytest.mark.parametrize("load", [openapi.v1.load_openapi, openapi.v1.load_asyncapi])
def test_every_sdk_file_cited_as_evidence_is_in_the_sdk(load: Any) -> None:
    import hume_expression_measurement

    root = Path(hume_expression_measurement.__file__).parent
    cited = {entry.removeprefix("sdk:").split()[0] for entry in _evidence(load()) if entry.startswith("sdk:")}
    assert cited and sorted(path for path in cited if not (root / path).is_file()) == []


def test_every_server_union_is_discriminated_by_type() -> None:
    schemas = openapi.v1.load_asyncapi()["components"]["schemas"]
    for name in ("AudioServerMessage", "VideoServerMessage", "AudioClientMessage", "VideoClientMessage"):
        assert schemas[name]["discriminator"] == "type"
        for variant in schemas[name]["oneOf"]:
            target = schemas[variant["$ref"].rsplit("/", 1)[-1]]
            assert "const" in target["properties"]["type"], variant


def test_binary_frames_state_their_documented_limits() -> None:
    schemas = openapi.v1.load_asyncapi()["components"]["schemas"]
    assert schemas["AudioFrame"]["maxLength"] == 320_000
    assert schemas["AudioFrame"]["x-frame-limits"]["message_max_bytes"] == 1_048_576
    assert schemas["ImageFrame"]["x-frame-limits"]["max_pixels"] == 8_294_400


def test_spec_api_v1_prints_the_openapi_document() -> None:
    code, out, _ = run_cli("spec", "--api", "v1")
    assert code == 0
    assert yaml.safe_load(out) == openapi.v1.load_openapi()


def test_spec_api_v1_stream_prints_the_asyncapi_document_as_json() -> None:
    code, out, _ = run_cli("spec", "--api", "v1", "--stream", "--format", "json")
    assert code == 0
    assert json.loads(out) == openapi.v1.load_asyncapi()


def test_spec_defaults_to_v0() -> None:
    code, out, _ = run_cli("spec", "--stream", "--format", "json")
    assert code == 0
    assert json.loads(out) == openapi.load_stream_contract()


def test_spec_refuses_an_unknown_api_and_v0_only_options() -> None:
    assert run_cli("spec", "--api", "v9")[0] == 2
    code, _, err = run_cli("spec", "--api", "v1", "--defects")
    assert code == 2
    assert "v0 contract only" in err


def test_diff_compares_two_v1_documents(tmp_path: Path) -> None:
    import copy

    for load, name, change in (
        (openapi.v1.load_openapi, "openapi", ("VideoFileMeasurement", "faces", "maxItems", 16)),
        (openapi.v1.load_asyncapi, "asyncapi", ("Face", "bbox", "maxItems", 5)),
    ):
        old, new = load(), copy.deepcopy(load())
        schema, field, keyword, value = change
        new["components"]["schemas"][schema]["properties"][field][keyword] = value
        (tmp_path / f"old-{name}.json").write_text(json.dumps(old))
        (tmp_path / f"new-{name}.json").write_text(json.dumps(new))
        code, out, _ = run_cli("diff", str(tmp_path / f"old-{name}.json"), str(tmp_path / f"new-{name}.json"))
        assert code in (0, 1)
        assert "`maxItems` changes" in out, out
        assert run_cli("diff", str(tmp_path / f"old-{name}.json"), str(tmp_path / f"old-{name}.json"))[0] == 0
