"""`hume-contracts diff`: each change between two contract versions, with whom it breaks.

One test pins, item by item, the diff between Hume's 2023 batch OpenAPI and today's repaired contract; the
others check each rule on small documents that differ in one thing.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import openapi
from contracts.cli import main
from contracts.evolution.diff import diff_documents, diff_labels

HUME_2023 = Path(__file__).parents[2] / "shared" / "hume" / "reference" / "hume-openapi-2023"
ORIGINAL_2023 = HUME_2023 / "fern-hume_hume-api_batch-openapi_2023-05-03_original.yaml"
GOLDEN = Path(__file__).parent / "data" / "diff" / "hume-2023-to-repaired.txt"
needs_shared = pytest.mark.skipif(not HUME_2023.is_dir(), reason="the ground truth (../shared) is not checked out")


def api(response: dict[str, Any], request: dict[str, Any] | None = None, **components: Any) -> dict[str, Any]:
    """A one-operation OpenAPI document: POST /things with a JSON request body and a JSON 200 answer."""
    operation: dict[str, Any] = {"responses": {"200": {"content": {"application/json": {"schema": response}}}}}
    if request is not None:
        operation["requestBody"] = {"content": {"application/json": {"schema": request}}}
    return {"openapi": "3.1.0", "paths": {"/things": {"post": operation}}, "components": {"schemas": components}}


def changes(old: dict, new: dict) -> list[tuple[str, str, str]]:
    return [(c.audience(), c.where, c.what) for c in diff_documents("openapi", old, new)]


OBJ = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]}
RESPONSE = "POST /things 200 application/json"
REQUEST = "POST /things request application/json"


# -- response side: clients break when what they read may be missing, null, of another type, or unknown --------


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ({**OBJ, "properties": {"a": {"type": "string"}}}, ("clients", f"{RESPONSE} .b", "field removed")),
        ({**OBJ, "required": []}, ("clients", f"{RESPONSE} .a", "becomes optional")),
        (
            {**OBJ, "properties": {**OBJ["properties"], "a": {"type": ["string", "null"]}}},
            ("clients", f"{RESPONSE} .a", "becomes nullable"),
        ),
        (
            {**OBJ, "properties": {**OBJ["properties"], "b": {"type": "number"}}},
            ("clients", f"{RESPONSE} .b", "type changes from integer to number"),
        ),
        (
            {**OBJ, "properties": {**OBJ["properties"], "c": {"type": "string"}}},
            ("nobody", f"{RESPONSE} .c", "optional field added"),
        ),
        (
            {**OBJ, "properties": {**OBJ["properties"], "c": {"type": "string"}}, "required": ["a", "c"]},
            ("recordings", f"{RESPONSE} .c", "required field added"),
        ),
    ],
)
def test_response_rules(new: dict, expected: tuple[str, str, str]) -> None:
    assert changes(api(OBJ), api(new)) == [expected]


def test_response_enum_gaining_a_value_breaks_clients_and_losing_one_breaks_recordings() -> None:
    old = api({"type": "string", "enum": ["a", "b"]})
    assert changes(old, api({"type": "string", "enum": ["a", "b", "c"]})) == [("clients", RESPONSE, "enum gains `c`")]
    assert changes(old, api({"type": "string", "enum": ["a"]})) == [("recordings", RESPONSE, "enum loses `b`")]


def test_additions_break_no_client_where_both_documents_say_clients_take_them() -> None:
    """v1 (Hume's compatibility rules): an enum value, a union variant or a message type that appears in what
    the server sends is an addition clients must take, not a break; what narrows still breaks recordings."""
    import openapi.v1

    old = openapi.v1.load_openapi()
    new = copy.deepcopy(old)
    schemas = new["components"]["schemas"]
    enum_at = next(name for name, schema in schemas.items() if isinstance(schema.get("enum"), list))
    schemas[enum_at]["enum"].append("a-value-hume-added")
    found = {(c.audience(), c.code) for c in diff_documents("openapi", old, new)}
    assert found and all(audience == "nobody" for audience, _ in found), found
    schemas[enum_at]["enum"] = schemas[enum_at]["enum"][1:-1]  # losing the first value still breaks recordings
    assert ("recordings", "enum-value-removed") in {(c.audience(), c.code) for c in diff_documents("openapi", old, new)}
    closed = copy.deepcopy(old)
    del closed["info"]["x-additions-compatible"]  # one document that does not say so: the old rule holds
    schemas[enum_at]["enum"] = [*old["components"]["schemas"][enum_at]["enum"], "a-value-hume-added"]
    assert "clients" in {c.audience() for c in diff_documents("openapi", closed, new)}
    stream_old = openapi.v1.load_asyncapi()
    stream_new = copy.deepcopy(stream_old)
    channel = next(iter(stream_new["channels"].values()))
    receive = channel.get("subscribe") or channel.get("receive")
    receive["message"]["oneOf"].append({"name": "measurement.hume_added", "payload": {"type": "object"}})
    found = [(c.audience(), c.what) for c in diff_documents("asyncapi", stream_old, stream_new)]
    assert found == [("nobody", "message added")], found


def test_nullability_is_the_same_whatever_its_spelling() -> None:
    spellings = [
        {"type": ["string", "null"]},
        {"type": "string", "nullable": True},
        {"anyOf": [{"$ref": "#/components/schemas/S"}, {"type": "null"}]},
        {"oneOf": [{"type": "null"}, {"type": "string"}]},
    ]
    for old in spellings:
        for new in spellings:
            assert changes(api(old, S={"type": "string"}), api(new, S={"type": "string"})) == []
    assert changes(api({"type": "string"}), api(spellings[2], S={"type": "string"})) == [
        ("clients", RESPONSE, "becomes nullable")
    ]


def test_refs_are_followed_so_a_renamed_schema_is_no_change() -> None:
    old = api({"$ref": "#/components/schemas/Old"}, Old=OBJ)
    new = api({"allOf": [{"$ref": "#/components/schemas/New"}]}, New=copy.deepcopy(OBJ))
    assert changes(old, new) == []


def discriminated(variants: dict[str, dict], mapping: bool = True) -> dict:
    schemas = {
        f"V{key}": {"type": "object", "properties": {"kind": {"const": key}, **body}, "required": ["kind"]}
        for key, body in variants.items()
    }
    union: dict[str, Any] = {
        "oneOf": [{"$ref": f"#/components/schemas/V{key}"} for key in variants],
        "discriminator": {"propertyName": "kind"},
    }
    if mapping:
        union["discriminator"]["mapping"] = {key: f"#/components/schemas/V{key}" for key in variants}
    return api({"$ref": "#/components/schemas/U"}, U=union, **schemas)


def test_discriminated_unions_are_compared_variant_by_variant() -> None:
    old = discriminated({"a": {"x": {"type": "string"}}, "b": {"y": {"type": "string"}}})
    new = discriminated({"a": {"x": {"type": "integer"}}, "b": {"y": {"type": "string"}}, "c": {}}, mapping=False)
    assert changes(old, new) == [
        ("clients", RESPONSE, "union on `kind` gains `c`"),
        ("clients+recordings", f"{RESPONSE} <kind=a>.x", "type changes from string to integer"),
    ]


def test_a_response_that_becomes_a_union_breaks_clients_and_is_compared_with_its_closest_variant() -> None:
    old = api({"type": "object", "properties": {"x": {"type": "string"}}})
    new = discriminated({"a": {"x": {"type": "string"}, "z": {"type": "string"}}, "b": {"y": {"type": "string"}}})
    assert changes(old, new) == [
        ("clients", RESPONSE, "becomes a union on `kind` (`a`, `b`)"),
        ("recordings", f"{RESPONSE} <kind=a>.kind", "required field added"),
        ("nobody", f"{RESPONSE} <kind=a>.z", "optional field added"),
    ]


# -- request side: clients break when what they send may now be refused -------------------------------------


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ({**OBJ, "required": ["a", "b"]}, ("clients", f"{REQUEST} .b", "becomes required")),
        ({**OBJ, "required": []}, ("nobody", f"{REQUEST} .a", "becomes optional")),
        (
            {**OBJ, "properties": {**OBJ["properties"], "b": {"type": "integer", "maximum": 10}}},
            ("clients", f"{REQUEST} .b", "`maximum` added (10)"),
        ),
        (
            {**OBJ, "properties": {**OBJ["properties"], "a": {"type": ["string", "null"]}}},
            ("nobody", f"{REQUEST} .a", "becomes nullable"),
        ),
    ],
)
def test_request_rules(new: dict, expected: tuple[str, str, str]) -> None:
    assert changes(api({}, OBJ), api({}, new)) == [expected]


def test_request_enum_losing_a_value_breaks_clients_and_gaining_one_breaks_nobody() -> None:
    old = api({}, {"type": "string", "enum": ["a", "b"]})
    assert changes(old, api({}, {"type": "string", "enum": ["a"]})) == [("clients", REQUEST, "enum loses `b`")]
    assert changes(old, api({}, {"type": "string", "enum": ["a", "b", "c"]})) == [("nobody", REQUEST, "enum gains `c`")]


def test_operations_and_content_types_that_disappear_break_clients() -> None:
    old = api({}, {})
    new = copy.deepcopy(old)
    new["paths"]["/things"]["post"]["requestBody"]["content"] = {"text/plain": {"schema": {}}}
    new["paths"]["/other"] = new["paths"].pop("/things")
    assert changes(old, new) == [
        ("clients", "POST /things", "operation removed"),
        ("nobody", "POST /other", "operation added"),
    ]
    renamed = copy.deepcopy(old)
    renamed["paths"]["/things"]["post"]["requestBody"]["content"] = {"text/plain": {"schema": {}}}
    assert changes(old, renamed) == [
        ("clients", "POST /things request application/json", "content type no longer accepted"),
        ("nobody", "POST /things request text/plain", "content type added"),
    ]


def test_a_charset_parameter_is_not_a_content_type_change() -> None:
    old = api(OBJ)
    new = copy.deepcopy(old)
    responses = new["paths"]["/things"]["post"]["responses"]["200"]
    responses["content"] = {"application/json; charset=utf-8": responses["content"]["application/json"]}
    assert changes(old, new) == []


# -- the stream contract and the label sets -------------------------------------------------------------------


def test_stream_replies_are_the_response_side_and_client_frames_the_request_side() -> None:
    old = openapi.load_stream_contract()
    new = copy.deepcopy(old)
    schemas = new["components"]["schemas"]
    del schemas["StreamModelPredictions"]["properties"]["payload_id"]
    schemas["StreamModelsEndpointPayload"].setdefault("required", []).append("payload_id")
    new["channels"]["/v0/stream/models"]["subscribe"]["message"]["oneOf"].pop()  # the warning message
    found = [(c.audience(), c.where, c.what) for c in diff_documents("asyncapi", old, new)]
    assert found == [
        ("clients", "/v0/stream/models send StreamModelsEndpointPayload .payload_id", "becomes required"),
        ("recordings", "/v0/stream/models receive StreamWarningMessage", "message removed"),
        ("clients", "/v0/stream/models receive StreamModelPredictions .payload_id", "field removed"),
    ]


def test_label_sets_changing_break_clients_when_they_grow_and_recordings_when_they_shrink() -> None:
    old = json.loads((Path(__file__).parents[1] / "contracts" / "data" / "labels.json").read_text())
    new = copy.deepcopy(old)
    new["toxicity"]["names"] = [*new["toxicity"]["names"][1:], "spam"]
    removed = old["toxicity"]["names"][0]
    # Toxicity is checked for completeness (every prediction carries every category), so a recording made before
    # the new category existed fails the new contract too.
    assert [(c.audience(), c.where, c.what) for c in diff_labels(old, new)] == [
        ("clients+recordings", "label set `toxicity` (rule label-set)", "gains `spam`"),
        ("recordings", "label set `toxicity` (rule label-set)", f"loses `{removed}`"),
    ]


def test_completeness_of_a_label_set_turned_on_breaks_recordings() -> None:
    new = json.loads((Path(__file__).parents[1] / "contracts" / "data" / "labels.json").read_text())
    old = copy.deepcopy(new)
    del old["sentiment"]["complete"]
    old["expression"]["complete"].pop("burst")
    old["expression"]["complete"]["face"] = "OFFICIAL"
    assert [(c.audience(), c.where, c.what) for c in diff_labels(old, new)] == [
        (
            "nobody",
            "label set `expression` for `face` (rule label-set-complete)",
            f"completeness grade changes (OFFICIAL -> {new['expression']['complete']['face']})",
        ),
        (
            "recordings",
            "label set `expression` for `burst` (rule label-set-complete)",
            f"every prediction must now carry the whole list ({new['expression']['complete']['burst']})",
        ),
        (
            "recordings",
            "label set `sentiment` (rule label-set-complete)",
            f"every prediction must now carry the whole list ({new['sentiment']['complete']})",
        ),
    ]


# -- the 2023 document against today's repaired contract, pinned item by item ---------------------------------


@needs_shared
def test_the_diff_from_the_2023_document_to_the_repaired_contract_is_pinned() -> None:
    from contracts.evolution.documents import load_document

    found = diff_documents("openapi", load_document(ORIGINAL_2023), openapi.load_repaired())
    lines = [f"{c.audience()} | {c.where} | {c.what}" for c in found]
    assert lines == GOLDEN.read_text(encoding="utf-8").splitlines()
    # The findings that matter most, spelled out (each also in the pinned list):
    index = {(c.where, c.what): c.audience() for c in found}
    predictions = "GET /v0/batch/jobs/{id}/predictions 200 application/json []"
    face = f"{predictions}.results.predictions[].models.face.grouped_predictions[].predictions[]"
    assert index[(f"{face}.emotions[].score", "type changes from string to number")] == "clients+recordings"
    assert index[(f"{predictions}.source", "union on `type` gains `text`, `registry_file`")] == "clients"
    assert index[(f"{face}.facs", "becomes nullable")] == "clients"
    jobs = "GET /v0/batch/jobs 200 application/json []"
    union = "becomes a union on `type` (`INFERENCE`, `EMBEDDING_GENERATION`, `TL_INFERENCE`, `TRAINING`)"
    assert index[(jobs, union)] == "clients"
    assert index[(f"{jobs}<type=INFERENCE>.user_id", "becomes optional")] == "clients"
    assert index[(f"{jobs}<type=INFERENCE>.type", "required field added")] == "recordings"
    assert index[("GET /v0/batch/jobs query parameter `limit`", "`minimum` added (1)")] == "clients"
    direction = ("GET /v0/batch/jobs query parameter `direction`", 'default changes from "asc" to "desc"')
    assert index[direction] == "clients"
    assert index[("GET /v0/batch/jobs/{id} 404", "response documented")] == "nobody"
    # `application/json; charset=utf-8` (2023) and `application/json` (today) are the same content type.
    assert not any("content type" in c.what for c in found)


# -- the command ------------------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, document: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_command_exit_codes_and_breaking_only(tmp_path: Path, capsys) -> None:
    old = write(tmp_path, "old.json", api(OBJ))
    same = write(tmp_path, "same.json", api(OBJ))
    new = write(tmp_path, "new.json", api({**OBJ, "properties": {**OBJ["properties"], "c": {}}, "required": []}))
    assert main(["diff", str(old), str(same)]) == 0
    capsys.readouterr()
    assert main(["diff", str(old), str(new), "--breaking-only", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {
        "changes": 2,
        "breaking": 1,
        "breaks_clients": 1,
        "breaks_recordings": 0,
        "not_compared": 0,
    }
    assert [c["change"] for c in report["changes"]] == ["becomes optional"]
    assert main(["diff", str(old), str(new), "--format", "markdown"]) == 1
    table = capsys.readouterr().out
    assert "| clients | POST /things 200 application/json .a | becomes optional |" in table
    assert "| nobody | POST /things 200 application/json .c | optional field added |" in table


def test_command_pairs_the_documents_of_two_directories_by_kind(tmp_path: Path, capsys) -> None:
    for name in ("old", "new"):
        (tmp_path / name).mkdir()
    write(tmp_path / "old", "batch.json", api(OBJ))
    write(tmp_path / "new", "batch.json", api(OBJ))
    labels = json.loads((Path(__file__).parents[1] / "contracts" / "data" / "labels.json").read_text())
    write(tmp_path / "old", "labels.json", labels)
    labels["sentiment"]["names"].append("10")
    write(tmp_path / "new", "labels.json", labels)
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "new")]) == 1
    assert "breaks clients+recordings  label set `sentiment` (rule label-set): gains `10`" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [("{", "not valid JSON"), ('{"hello": 1}', "not an OpenAPI 3, AsyncAPI 2 or label-set document")],
)
def test_command_refuses_bad_input_with_exit_2(tmp_path: Path, capsys, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert main(["diff", str(bad), str(openapi.REPAIRED_PATH)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and message in err and "Traceback" not in err


def test_hostile_documents_do_not_crash_or_hang() -> None:
    chain = {
        f"S{i}": {"type": "object", "properties": {"next": {"$ref": f"#/components/schemas/S{i + 1}"}}}
        for i in range(5000)
    }
    looped = {"A": {"$ref": "#/components/schemas/B"}, "B": {"allOf": [{"$ref": "#/components/schemas/A"}]}}
    old = api({"$ref": "#/components/schemas/S0"}, **chain, **looped)
    new = copy.deepcopy(old)
    new["components"]["schemas"]["S4999"]["properties"]["next"] = {"$ref": "#/components/schemas/A"}
    found = diff_documents("openapi", old, new)
    assert [c.code for c in found] == ["too-deep"]
    assert (
        changes(api({"$ref": "#/components/schemas/A"}, **looped), api({"$ref": "#/components/schemas/B"}, **looped))
        == []
    )


@needs_shared
def test_the_third_party_stream_asyncapi_against_ours_names_what_ours_deliberately_changed() -> None:
    """Our AsyncAPI's description lists what it did not copy from the third-party one; the diff must find it."""
    from contracts.evolution.documents import load_document

    third_party = load_document(HUME_2023.parents[1] / "upstream" / "hume-ai-asyncapi.yml")
    found = {
        (c.where, c.what): c.audience() for c in diff_documents("asyncapi", third_party, openapi.load_stream_contract())
    }
    send = "/v0/stream/models send StreamModelsEndpointPayload"
    receive = "/v0/stream/models receive StreamModelPredictions"
    assert found[(f"{send} .models", "becomes optional")] == "nobody"
    assert found[(f"{send} .models.facemesh", "optional field added")] == "nobody"
    assert found[(f"{send} .models.language.granularity", "enum gains `passage`")] == "nobody"
    assert found[(f"{send} .models.face.save_faces", "field no longer declared")] == "nobody"
    assert found[(f"{receive} .time", "field removed")] == "clients"
    assert found[("/v0/stream/models receive StreamErrorMessage .code", "becomes required")] == "recordings"
    assert found[("channel /chat", "channel removed")] == "clients"  # EVI: not part of this contract
