"""The stream contract (`openapi/stream.asyncapi.yaml`): the document itself, its schemas, and example frames.

The frames in `tests/data/stream/` are checked three ways: against the contract's schemas (with the same
`$ref`-into-the-document set-up the product validator uses), against the official SDK (client frames must be
exactly what it sends; server frames must parse into the class our union rule names), and against each other
(the session transcript).
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hume.core.pydantic_utilities import parse_obj_as
from hume.expression_measurement.stream.stream.socket_client import StreamSocketClient
from hume.expression_measurement.stream.stream.types import (
    Config,
    StreamModelsEndpointPayload,
    SubscribeEvent,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import openapi
from contracts.fast import fast_contract
from contracts.schema import Contract
from contracts.validation import KIND_SCHEMAS, detect_kind, validate_body
from contracts.violations import pointer
from openapi import load_stream_contract

DATA = Path(__file__).parent / "data"
STREAM = DATA / "stream"
META_SCHEMA = DATA / "asyncapi" / "asyncapi-2.6.0.schema.json"
FERN_STREAM = Path("/work/shared/hume/reference/fern/current")
DOC_URI = "urn:hume-contracts:test:stream-contract"

PAYLOAD = "StreamModelsEndpointPayload"
REPLY = "StreamReply"
PREDICTIONS, ERROR, WARNING = "StreamModelPredictions", "StreamErrorMessage", "StreamWarningMessage"
REPLY_MEMBERS = (PREDICTIONS, ERROR, WARNING)

# Which union member each example server frame is (and which class the SDK must parse it into).
EXPECTED_BRANCH = {
    "received__error_E0102.json": ERROR,
    "received__face_predictions.json": PREDICTIONS,
    "received__face_warning_W0103.json": PREDICTIONS,
    "received__facemesh_predictions.json": PREDICTIONS,
    "received__job_details.json": PREDICTIONS,
    "received__language_predictions.json": PREDICTIONS,
    "received__prosody_burst_predictions.json": PREDICTIONS,
    "received__prosody_window_predictions.json": PREDICTIONS,
    "received__reset_reply.json": PREDICTIONS,
    "received__warning_message.json": WARNING,
}

# Each wrong frame: (JSON Schema keyword that fails, JSON pointer of the failing value, text in the message).
EXPECTED_FAILURE = {
    "sent__window_too_small.json": ("minimum", "/stream_window_ms", "500"),
    "sent__prob_threshold_fern_default.json": ("maximum", "/models/face/prob_threshold", "1"),
    "sent__granularity_batch_only.json": ("enum", "/models/language/granularity", "passage"),
    "sent__raw_text_as_string.json": ("type", "/raw_text", "boolean"),
    "received__error_without_code.json": ("required", "", "'code'"),
    "received__code_without_error.json": ("required", "", "'error'"),
    "received__warning_bad_code.json": ("pattern", "/code", "W101"),
    "received__model_warning_without_code.json": ("required", "/face", "'code'"),
    "received__face_item_box_not_bbox.json": ("required", "/face/predictions/0", "'bbox'"),
    "received__job_id_dashed_uuid.json": ("pattern", "/job_details/job_id", "0f3a9c1e-"),
    "received__language_item_without_position.json": ("required", "/language/predictions/0", "'position'"),
    "received__prosody_predictions_not_a_list.json": ("type", "/prosody/predictions", "array"),
}


# ----- helpers


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    return load_stream_contract()


@pytest.fixture(scope="module")
def validators(contract: dict[str, Any]) -> dict[str, Draft202012Validator]:
    return {name: component_validator(contract, name) for name in contract["components"]["schemas"]}


def component_validator(contract: dict[str, Any], name: str) -> Draft202012Validator:
    """A validator for one component, the whole document registered as a resource (as the product does)."""
    resource = Resource.from_contents(contract, default_specification=DRAFT202012)
    registry = Registry().with_resource(DOC_URI, resource)
    return Draft202012Validator({"$ref": f"{DOC_URI}#/components/schemas/{name}"}, registry=registry)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def frame_files(folder: Path, prefix: str) -> list[str]:
    return sorted(path.name for path in folder.glob(f"{prefix}__*.json"))


def leaf_errors(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
    """Every error, including those inside `oneOf`/`anyOf` contexts."""
    for error in errors:
        yield error
        yield from leaf_errors(iter(error.context or ()))


def walk(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))


def apply_rule(rule: dict[str, Any], value: dict[str, Any]) -> str:
    """The component an `x-discriminator-rule` names for a value (the first listed key present wins)."""
    assert rule["by"] == "first-present-key"
    target = next((entry["schema"] for entry in rule["keys"] if entry["key"] in value), rule["default"])
    return target.rsplit("/", 1)[-1]


def branch_by_rule(contract: dict[str, Any], frame: dict[str, Any]) -> str:
    """The union member the document's own rule picks for a server frame."""
    return apply_rule(contract["components"]["schemas"][REPLY]["x-discriminator-rule"], frame)


def valid_members(validators: dict[str, Draft202012Validator], frame: Any) -> list[str]:
    return [name for name in REPLY_MEMBERS if validators[name].is_valid(frame)]


# ----- the document


def test_document_is_valid_asyncapi_2_6(contract: dict[str, Any]) -> None:
    meta = load_json(META_SCHEMA)
    Draft7Validator.check_schema(meta)
    errors = [f"{pointer(e.absolute_path)}: {e.message[:200]}" for e in Draft7Validator(meta).iter_errors(contract)]
    assert errors == []
    assert contract["asyncapi"] == "2.6.0"


def test_loader_and_plain_yaml_agree(contract: dict[str, Any]) -> None:
    path = Path(__file__).parent.parent / "openapi" / "stream.asyncapi.yaml"
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == contract


def test_every_component_schema_is_valid_draft_2020_12(contract: dict[str, Any]) -> None:
    for name, schema in contract["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        assert "description" in schema, f"{name} has no description"


def test_schemas_use_plain_json_schema_and_allow_extras(contract: dict[str, Any]) -> None:
    """No OpenAPI-only `nullable`, no closed objects (the SDK keeps unknown keys), no `$ref` with siblings
    that a draft-07 tool would silently ignore."""
    for path, node in walk(contract["components"]["schemas"]):
        if not isinstance(node, dict) or (path and path[-1] in ("properties", "x-known-codes")):
            continue
        where = pointer(path)
        assert "nullable" not in node, where
        assert node.get("additionalProperties", True) is not False, where
        if "$ref" in node:
            assert set(node) == {"$ref"}, f"{where}: $ref has siblings {sorted(set(node) - {'$ref'})}"


def test_every_ref_resolves(contract: dict[str, Any]) -> None:
    refs = {node["$ref"] for _, node in walk(contract) if isinstance(node, dict) and isinstance(node.get("$ref"), str)}
    assert refs, "the document has no $ref at all"
    resolver = Registry().with_resource(DOC_URI, Resource.from_contents(contract, DRAFT202012)).resolver(DOC_URI)
    for ref in refs:
        assert ref.startswith("#/components/"), ref
        assert resolver.lookup(ref).contents is not None


def test_required_components_exist(contract: dict[str, Any]) -> None:
    schemas = contract["components"]["schemas"]
    for name in (PAYLOAD, REPLY, PREDICTIONS, ERROR, WARNING, "StreamModelWarning", "Config", "StreamFace"):
        assert name in schemas
    assert set(contract["components"]["messages"]) == {PAYLOAD, PREDICTIONS, ERROR, WARNING}


def test_server_channel_and_authentication(contract: dict[str, Any]) -> None:
    (server,) = contract["servers"].values()
    assert (server["url"], server["protocol"]) == ("wss://api.hume.ai", "wss")
    (channel_name,) = contract["channels"]
    assert channel_name == "/v0/stream/models"
    channel = contract["channels"][channel_name]
    assert "401" in channel["description"]

    schemes = contract["components"]["securitySchemes"]
    declared = {(s["type"], s["in"], s["name"]) for s in schemes.values()}
    assert {("httpApiKey", "header", "X-Hume-Api-Key"), ("httpApiKey", "query", "apikey")} <= declared
    assert ("httpApiKey", "query", "apiKey") in declared
    # Each scheme alone is enough: one requirement object per scheme.
    assert sorted(name for requirement in server["security"] for name in requirement) == sorted(schemes)

    binding = channel["bindings"]["ws"]
    assert binding["method"] == "GET"
    assert binding["headers"]["type"] == binding["query"]["type"] == "object"
    assert "X-Hume-Api-Key" in binding["headers"]["properties"]
    assert {"apikey", "apiKey"} <= set(binding["query"]["properties"])


def test_error_codes_are_documented(contract: dict[str, Any]) -> None:
    code_schema = contract["components"]["schemas"]["StreamCode"]
    known = code_schema["x-known-codes"]
    for code in ("E0100", "E0101", "E0102", "E0200", "E0201", "E0202", "E0203", "E0204", "E0205", "E0300"):
        assert code in known and code in code_schema["description"]
    for code in ("I0100", "W0101", "W0102", "W0103"):
        assert code in known
    validator = component_validator(contract, "StreamCode")
    assert all(validator.is_valid(code) for code in known)
    assert not any(validator.is_valid(code) for code in ("E102", "e0102", "X0100", "E01020", "W0103 "))


def test_fern_fields_are_all_declared(contract: dict[str, Any]) -> None:
    """Every property of Hume's Fern stream types is declared in the schema of the same name."""
    if not FERN_STREAM.is_dir():
        pytest.skip("ground truth /work/shared/hume is not mounted (only needed to re-check against Fern)")
    renamed = {
        "StreamModelPredictionsJobDetails": "JobDetails",
        "StreamWarningMessageJobDetails": "JobDetails",
    }
    schemas = contract["components"]["schemas"]
    checked = 0
    for file_name in ("stream_stream.yml", "stream___package__.yml"):
        fern = yaml.safe_load((FERN_STREAM / file_name).read_text(encoding="utf-8"))
        for fern_name, fern_type in fern["types"].items():
            if "properties" not in fern_type:
                continue
            ours = schemas[renamed.get(fern_name, fern_name)]
            missing = set(fern_type["properties"]) - set(ours.get("properties", {}))
            assert not missing, f"{fern_name}: {sorted(missing)} not declared"
            checked += 1
    assert checked >= 20


# ----- example frames


@pytest.mark.parametrize("name", frame_files(STREAM, "sent"))
def test_client_frame_examples_validate(validators: dict[str, Draft202012Validator], name: str) -> None:
    frame = load_json(STREAM / name)
    errors = [e.message[:200] for e in validators[PAYLOAD].iter_errors(frame)]
    assert errors == []


def test_every_server_frame_example_has_an_expected_branch() -> None:
    assert frame_files(STREAM, "received") == sorted(EXPECTED_BRANCH)


@pytest.mark.parametrize("name", sorted(EXPECTED_BRANCH))
def test_server_frame_examples_validate_on_their_branch(
    contract: dict[str, Any], validators: dict[str, Draft202012Validator], name: str
) -> None:
    frame = load_json(STREAM / name)
    errors = [f"{pointer(e.absolute_path)}: {e.message[:200]}" for e in validators[REPLY].iter_errors(frame)]
    assert errors == []
    assert branch_by_rule(contract, frame) == EXPECTED_BRANCH[name]
    # The members exclude each other, so exactly the expected one accepts the frame.
    assert valid_members(validators, frame) == [EXPECTED_BRANCH[name]]


@pytest.mark.parametrize("name", sorted(EXPECTED_BRANCH))
def test_sdk_parses_server_examples_into_the_same_branch(name: str) -> None:
    parsed = parse_obj_as(SubscribeEvent, load_json(STREAM / name))
    assert type(parsed).__name__ == EXPECTED_BRANCH[name]


@pytest.mark.parametrize("name", sorted(EXPECTED_BRANCH))
def test_model_value_rules_pick_the_one_valid_variant(
    contract: dict[str, Any], validators: dict[str, Draft202012Validator], name: str
) -> None:
    model_schemas = contract["components"]["schemas"][PREDICTIONS]["properties"]
    frame = load_json(STREAM / name)
    for model in ("burst", "face", "facemesh", "language", "prosody"):
        if model not in frame:
            continue
        variants = [ref["$ref"].rsplit("/", 1)[-1] for ref in model_schemas[model]["oneOf"]]
        chosen = apply_rule(model_schemas[model]["x-discriminator-rule"], frame[model])
        assert chosen in variants
        assert [v for v in variants if validators[v].is_valid(frame[model])] == [chosen]


def test_per_model_warning_is_a_model_value(validators: dict[str, Draft202012Validator]) -> None:
    frame = load_json(STREAM / "received__face_warning_W0103.json")
    assert validators["StreamModelWarning"].is_valid(frame["face"])
    assert not validators["StreamModelPredictionsFace"].is_valid(frame["face"])
    for model in ("burst", "facemesh", "language", "prosody"):
        assert validators[PREDICTIONS].is_valid({model: {"warning": "No faces detected.", "code": "W0103"}})


def test_message_examples_validate(contract: dict[str, Any], validators: dict[str, Draft202012Validator]) -> None:
    checked = 0
    for message in contract["components"]["messages"].values():
        component = message["payload"]["$ref"].rsplit("/", 1)[-1]
        for example in message.get("examples", []):
            assert validators[component].is_valid(example["payload"]), example["name"]
            checked += 1
    assert checked >= 6


def test_every_wrong_frame_has_an_expected_failure() -> None:
    assert sorted(path.name for path in (STREAM / "invalid").glob("*.json")) == sorted(EXPECTED_FAILURE)


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILURE))
def test_wrong_frames_fail_where_expected(validators: dict[str, Draft202012Validator], name: str) -> None:
    keyword, where, text = EXPECTED_FAILURE[name]
    component = PAYLOAD if name.startswith("sent__") else REPLY
    frame = load_json(STREAM / "invalid" / name)
    found = [
        (e.validator, pointer(e.absolute_path), e.message)
        for e in leaf_errors(validators[component].iter_errors(frame))
    ]
    assert found, f"{name} validated, but it should fail"
    assert any(k == keyword and p == where and text in m for k, p, m in found), found


@pytest.mark.parametrize(
    ("value", "ok"),
    [(500, True), (5000, True), (10000, True), (499.9, False), (10000.5, False), ("5000", False)],
)
def test_stream_window_bounds(validators: dict[str, Draft202012Validator], value: Any, ok: bool) -> None:
    assert validators[PAYLOAD].is_valid({"stream_window_ms": value}) is ok


@pytest.mark.parametrize(
    ("face", "ok"),
    [
        ({"prob_threshold": 0}, True),
        ({"prob_threshold": 1}, True),
        ({"prob_threshold": -0.1}, False),
        ({"facs": None, "descriptions": {}}, True),
        ({"facs": []}, False),
        (None, True),
        ({"save_faces": True}, True),  # unknown keys are kept, as the SDK does
    ],
)
def test_face_config(validators: dict[str, Draft202012Validator], face: Any, ok: bool) -> None:
    assert validators[PAYLOAD].is_valid({"models": {"face": face}}) is ok


def test_payload_fields_are_all_optional(validators: dict[str, Draft202012Validator]) -> None:
    assert validators[PAYLOAD].is_valid({})
    assert not validators[PAYLOAD].is_valid([])
    assert not validators[PAYLOAD].is_valid({"models": {"prosody": "on"}})


# ----- the official SDK


class RecordingWebSocket:
    """Stands in for a websockets connection: records sent text, answers every recv() with `{}`."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, text: str) -> None:
        self.sent.append(text)

    def recv(self) -> str:
        return "{}"


def sdk_send(call: str, *args: Any) -> dict[str, Any]:
    socket = RecordingWebSocket()
    getattr(StreamSocketClient(websocket=socket), call)(*args)
    (text,) = socket.sent
    return json.loads(text)


def replay_with_sdk(name: str, frame: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Call the SDK with the arguments the example frame implies; return what it sends."""
    config = Config(**frame["models"]) if "models" in frame else None
    if name.startswith("sent__send_file"):
        media = tmp_path / "media"
        media.write_bytes(base64.b64decode(frame["data"], validate=True))
        return sdk_send("send_file", str(media), config, frame.get("payload_id"))
    if name == "sent__send_text.json":
        return sdk_send("send_text", frame["data"], config, frame.get("payload_id"))
    if name == "sent__send_facemesh.json":
        return sdk_send("send_facemesh", json.loads(frame["data"]), config, frame.get("payload_id"))
    if name == "sent__get_job_details.json":
        return sdk_send("get_job_details")
    if name == "sent__reset.json":
        return sdk_send("reset")
    return sdk_send("send_publish", StreamModelsEndpointPayload(**frame))


@pytest.mark.parametrize("name", frame_files(STREAM, "sent"))
def test_client_frame_examples_are_what_the_sdk_sends(name: str, tmp_path: Path) -> None:
    frame = load_json(STREAM / name)
    assert replay_with_sdk(name, frame, tmp_path) == frame


def test_sdk_call_shapes_are_covered() -> None:
    names = set(frame_files(STREAM, "sent"))
    for call in (
        "send_text",
        "send_file_image",
        "send_file_audio",
        "send_facemesh",
        "get_job_details",
        "reset",
    ):
        assert f"sent__{call}.json" in names


# ----- the session


def session_lines() -> list[dict[str, Any]]:
    lines = (STREAM / "session.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_session_transcript_is_well_formed(
    contract: dict[str, Any], validators: dict[str, Draft202012Validator]
) -> None:
    lines = session_lines()
    assert len(lines) >= 10 and len(lines) % 2 == 0
    times = [line["time"] for line in lines]
    assert times == sorted(times)
    branches = set()
    for request, reply in zip(lines[::2], lines[1::2], strict=True):
        assert (request["direction"], reply["direction"]) == ("sent", "received")
        assert validators[PAYLOAD].is_valid(request["frame"]), request["frame"]
        assert validators[REPLY].is_valid(reply["frame"]), reply["frame"]
        if "payload_id" in request["frame"]:
            assert reply["frame"].get("payload_id") == request["frame"]["payload_id"]
        if request["frame"].get("job_details"):
            assert reply["frame"]["job_details"]["job_id"]
        branches.add(branch_by_rule(contract, reply["frame"]))
    assert branches == set(REPLY_MEMBERS)
    job_ids = {
        line["frame"]["job_details"]["job_id"]
        for line in lines
        if line["direction"] == "received" and line["frame"].get("job_details") is not None
    }
    assert len(job_ids) == 1, "one connection is one streaming job"


# ----- the union rule

FACE_PREDICTIONS = {"predictions": []}
FACE_WARNING = {"warning": "No faces detected.", "code": "W0103"}

reply_like_frames = st.fixed_dictionaries(
    {},
    optional={
        "error": st.one_of(st.text(max_size=12), st.none(), st.integers()),
        "warning": st.one_of(st.text(max_size=12), st.none()),
        "code": st.sampled_from(["E0102", "W0103", "I0100", "E12", 102]),
        "payload_id": st.one_of(st.text(max_size=8), st.none()),
        "job_details": st.sampled_from([{"job_id": "0f3a9c1e5b7d4a2f8e6c1b0a9d8e7f6a"}, {"job_id": "x"}, None]),
        "face": st.sampled_from([FACE_PREDICTIONS, FACE_WARNING, {}, {"warning": "x"}]),
    },
)


@settings(max_examples=200, deadline=None)
@given(frame=reply_like_frames)
def test_union_rule_matches_exclusive_members(
    contract: dict[str, Any], validators: dict[str, Draft202012Validator], frame: dict[str, Any]
) -> None:
    """StreamReply accepts a frame iff exactly one member does, that member is the one the documented rule
    names, and a rejected frame is reported with the chosen member's errors only."""
    chosen = branch_by_rule(contract, frame)
    members = valid_members(validators, frame)
    assert validators[REPLY].is_valid(frame) == (members == [chosen])
    assert len(members) <= 1
    reply_errors = {(tuple(e.absolute_path), e.message) for e in validators[REPLY].iter_errors(frame)}
    chosen_errors = {(tuple(e.absolute_path), e.message) for e in validators[chosen].iter_errors(frame)}
    assert reply_errors == chosen_errors


# ----- real replies: the contract accepts each, and each repair names the reply that needs it

REAL = Path(__file__).parent / "data" / "corpus" / "recorded-stream"
REAL_REPLIES = sorted(path.name for path in REAL.glob("*.json"))
SHARED_REAL = Path(__file__).parents[2] / "shared" / "hume" / "corpus" / "recorded-stream"
STREAM_KIND = "stream-message"

# Each repair of the stream contract (an `x-repair` in the document): the real reply that needs it, the pointer
# where that reply fails without it, and the schema node as it was before (merged back in to ablate the repair).
STREAM_REPAIRS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "stream-face-time-null": ("TheraAI_stream_face.json", "/face/predictions/0/time", {"type": "number"}),
}


def marked(contract: dict[str, Any], key: str) -> dict[str, tuple[Any, ...]]:
    """Every value of ``key`` in the document's schemas, with the path of the node carrying it."""
    return {
        node[key]: path
        for path, node in walk(contract["components"]["schemas"], ("components", "schemas"))
        if isinstance(node, dict) and isinstance(node.get(key), str)
    }


def server_side_schemas(contract: dict[str, Any]) -> set[str]:
    """The component schemas a reply frame can reach from StreamReply."""
    schemas, seen, todo = contract["components"]["schemas"], set(), [REPLY]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for _, node in walk(schemas[name]):
            if isinstance(node, dict) and isinstance(node.get("$ref"), str):
                todo.append(node["$ref"].rsplit("/", 1)[-1])
    return seen


def real_reply(name: str) -> Any:
    return load_json(REAL / name)


def test_the_real_replies_are_vendored_from_the_shared_corpus() -> None:
    assert len(REAL_REPLIES) == 3
    if SHARED_REAL.is_dir():
        assert sorted(path.name for path in SHARED_REAL.glob("*.json")) == REAL_REPLIES
        for name in REAL_REPLIES:
            assert (REAL / name).read_bytes() == (SHARED_REAL / name).read_bytes(), name


@pytest.mark.parametrize("name", REAL_REPLIES)
def test_every_real_reply_conforms_with_all_rules(
    contract: dict[str, Any], validators: dict[str, Draft202012Validator], name: str
) -> None:
    reply = real_reply(name)
    assert detect_kind(reply) == STREAM_KIND
    assert validate_body(reply, STREAM_KIND) == []
    assert [e.message[:200] for e in validators[REPLY].iter_errors(reply)] == []
    assert branch_by_rule(contract, reply) == valid_members(validators, reply)[0] == PREDICTIONS
    assert type(parse_obj_as(SubscribeEvent, reply)).__name__ == PREDICTIONS
    assert fast_contract().is_valid(reply, KIND_SCHEMAS[STREAM_KIND]) is True


def test_every_stream_repair_has_a_proof(contract: dict[str, Any]) -> None:
    assert set(marked(contract, "x-repair")) == set(STREAM_REPAIRS)


@pytest.mark.parametrize("defect", sorted(STREAM_REPAIRS))
def test_stream_repair_is_proven(contract: dict[str, Any], defect: str) -> None:
    name, at, before = STREAM_REPAIRS[defect]
    reply = real_reply(name)
    ablated = copy.deepcopy(contract)
    node = ablated
    for key in marked(contract, "x-repair")[defect]:
        node = node[key]
    assert f"recorded-stream/{name}" in node["x-evidence"]
    node.update(before)
    without = Contract(openapi.load_repaired(), ablated).violations(reply, KIND_SCHEMAS[STREAM_KIND])
    assert [v.pointer for v in without] == [at], f"{name} passes without {defect}"
    assert validate_body(reply, STREAM_KIND) == []


def test_the_fast_validator_judges_the_repaired_field_alike() -> None:
    reply = real_reply("TheraAI_stream_face.json")
    for time, valid in ((None, True), (0.5, True), ("0.5", False), ([], False)):
        reply["face"]["predictions"][0]["time"] = time
        assert fast_contract().is_valid(reply, KIND_SCHEMAS[STREAM_KIND]) is valid
        assert (validate_body(reply, STREAM_KIND) == []) is valid


def test_every_real_reply_is_cited_and_every_citation_is_a_real_reply(contract: dict[str, Any]) -> None:
    cited = set()
    for _, node in walk(contract["components"]["schemas"]):
        if isinstance(node, dict) and isinstance(node.get("x-evidence"), str):
            names = re.findall(r"recorded-stream/([\w.-]+\.json)", node["x-evidence"])
            assert names or "recorded-stream/ (all" in node["x-evidence"], node["x-evidence"]
            cited.update(names)
    assert cited == set(REAL_REPLIES)


def test_every_reply_schema_that_requires_fields_says_why(contract: dict[str, Any]) -> None:
    """What a reply must carry is either seen in a real reply (`x-evidence`) or stated as a judgement."""
    schemas = contract["components"]["schemas"]
    unexplained = [
        name
        for name in sorted(server_side_schemas(contract))
        if schemas[name].get("required") and not {"x-evidence", "x-judgement"} & set(schemas[name])
    ]
    assert unexplained == []


def test_the_real_replies_fix_no_emotion_order(contract: dict[str, Any]) -> None:
    """Real stream replies do not sort emotions by name (batch ones do), so the contract says nothing of order."""
    face = [s["name"] for s in real_reply("TheraAI_stream_face.json")["face"]["predictions"][0]["emotions"]]
    words = real_reply("FaceAI_stream_language.json")["language"]["predictions"]
    orders = [[s["name"] for s in word["emotions"]] for word in words]
    assert face != sorted(face) and all(order != sorted(order) for order in orders)
    embedding = contract["components"]["schemas"]["EmotionEmbedding"]
    assert not {"prefixItems", "contains", "uniqueItems"} & set(embedding)
    assert "order is not part of the contract" in embedding["description"]
