"""The repaired contract: vendored faithfully, built reproducibly, valid OpenAPI 3.1, and every repair proven.

Each repair (an `x-defect` of the overlays) has a proof below. For repairs that make a real or documented
body valid, the proof is an ablation: build the contract with every action *except* that repair's, and the
evidence body fails there while it passes the full contract. Repairs that add shape (declared fields, bounds,
security, the JSON request variant) are proven by the body they now reject or the structure they add.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate as validate_openapi
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

import openapi
from contracts.cli import main
from contracts.schema import Contract
from contracts.validate_command import main as validate_command
from contracts.validation import KIND_SCHEMAS, detect_kind, validate_against, validate_body
from openapi.names import names_overlay
from openapi.overlay import apply_overlay, evidence_items

CORPUS = Path(__file__).parent / "data" / "corpus"
UPSTREAM_SHA256 = "72148738f395faefe815345e2a99118938aa5ff0e5c036562110ed8d6c2ba498"
SHARED_UPSTREAM = Path(__file__).parents[2] / "shared" / "hume" / "upstream" / "hume-ai-expression-openapi.yml"


def corpus(name: str) -> Any:
    return json.loads((CORPUS / name).read_text(encoding="utf-8"))


@functools.cache
def contract_without(defect: str) -> Contract:
    """The contract built with every repair action except those of ``defect``."""
    base = openapi.load_overlay()
    kept = {**base, "actions": [a for a in base["actions"] if a.get("x-defect") != defect]}
    document = apply_overlay(openapi.load_upstream(), kept)
    return Contract(apply_overlay(document, names_overlay(document)), None)


def schema_violations(contract: Contract, body: Any, kind: str) -> list:
    return contract.violations(body, KIND_SCHEMAS[kind])


def parameter_schema(document: dict, name: str) -> str:
    params = document["paths"]["/v0/batch/jobs"]["get"]["parameters"]
    index = next(i for i, p in enumerate(params) if p["name"] == name)
    return f"urn:hume-contracts:openapi#/paths/~1v0~1batch~1jobs/get/parameters/{index}/schema"


# -- vendoring and build ------------------------------------------------------------------------------------


def test_upstream_is_vendored_byte_for_byte() -> None:
    data = openapi.UPSTREAM_PATH.read_bytes()
    assert hashlib.sha256(data).hexdigest() == UPSTREAM_SHA256
    if SHARED_UPSTREAM.exists():
        assert data == SHARED_UPSTREAM.read_bytes()


def test_committed_outputs_equal_a_fresh_build() -> None:
    names, repaired = openapi.build_repaired()
    assert openapi.load_names_overlay() == names, "run `hume-contracts spec --write`"
    assert openapi.load_repaired() == repaired, "run `hume-contracts spec --write`"


def test_repaired_document_is_valid_openapi_3_1_and_upstream_is_not() -> None:
    validate_openapi(openapi.load_repaired())
    with pytest.raises(OpenAPIValidationError):
        validate_openapi(openapi.load_upstream())


def test_every_overlay_action_names_its_defect_and_evidence() -> None:
    for action in openapi.load_overlay()["actions"]:
        assert action.get("x-defect"), action["target"]
        assert action.get("description"), action["target"]
        assert action.get("x-evidence"), f"{action['x-defect']}: no evidence"
        # `[file (op: type)]` is a mapping to YAML: quote such an item, so each source stays the text written
        assert all(isinstance(item, str) for item in action["x-evidence"]), (action["x-defect"], action["x-evidence"])


def test_evidence_reads_as_text_whatever_yaml_made_of_it() -> None:
    items = yaml.safe_load("[plain, file.yml (op: json optional<X>), 12, null, {a: [b, c]}]")
    assert evidence_items(items) == ["plain", "file.yml (op: json optional<X>)", "12", "null", "a: b, c"]
    assert evidence_items("one source") == ["one source"] and evidence_items(None) == []


def test_spec_defects_lists_every_repair_even_with_evidence_yaml_read_as_a_mapping(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay = openapi.load_overlay()
    broken = {**overlay, "actions": [{**overlay["actions"][0], "x-evidence": [{"fern/x.yml (op": "json X)"}]}]}
    monkeypatch.setattr(openapi, "load_overlay", lambda: broken)
    assert main(["spec", "--defects"]) == 0
    assert "Evidence: fern/x.yml (op: json X)" in capsys.readouterr().out


# -- the corpus ---------------------------------------------------------------------------------------------

RECORDED = sorted(p.name for p in (CORPUS / "recorded").glob("*.json"))
DOC_EXAMPLES = sorted(p.name for p in (CORPUS / "doc-examples").glob("*.json") if "wiremock" not in p.name)
LEGACY = sorted(p.name for p in (CORPUS / "legacy").glob("*.json"))


@pytest.mark.parametrize("name", RECORDED)
def test_every_real_recorded_response_conforms_with_all_rules(name: str) -> None:
    body = corpus(f"recorded/{name}")
    assert detect_kind(body) == "predictions"
    assert validate_body(body, "predictions") == []


@pytest.mark.parametrize("name", DOC_EXAMPLES)
def test_every_doc_example_conforms_apart_from_placeholder_ids(name: str) -> None:
    body = corpus(f"doc-examples/{name}")
    kind = detect_kind(body)
    assert kind in ("job", "jobs", "predictions")
    assert validate_body(body, kind, disabled={"job-id-uuid"}) == []
    # The placeholders ("job_id", "string") are exactly what the job-id rule exists to catch.
    assert {v.code for v in validate_body(body, kind)} <= {"job-id-uuid"}


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_shapes_fail_with_messages_that_name_the_missing_fields(name: str) -> None:
    violations = validate_body(corpus(f"legacy/{name}"), "job")
    found = {(v.code, v.pointer) for v in violations}
    assert ("discriminator-missing", "/type") in found
    assert ("schema-required", "/job_id") in found
    assert all(v.describe() for v in violations)


def test_the_upstream_contract_rejects_every_real_and_documented_response() -> None:
    upstream = Contract(openapi.load_upstream(), None)
    refs = {k: v.replace("/schemas/", "/schemas/batch:") for k, v in KIND_SCHEMAS.items()}
    bodies = [corpus(f"recorded/{n}") for n in RECORDED] + [corpus(f"doc-examples/{n}") for n in DOC_EXAMPLES]
    rejected = [b for b in bodies if upstream.violations(b, refs[detect_kind(b)])]
    assert len(rejected) == len(bodies) == 21


SHARED_CORPUS = SHARED_UPSTREAM.parents[1] / "corpus"
needs_shared = pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="ground truth /work/shared/hume is not mounted")


@needs_shared
@pytest.mark.parametrize("folder", ["recorded", "recorded-stream", "doc-examples", "legacy"])
def test_the_vendored_corpus_is_the_shared_one_byte_for_byte(folder: str) -> None:
    shared = sorted(p.name for p in (SHARED_CORPUS / folder).glob("*.json"))
    assert sorted(p.name for p in (CORPUS / folder).glob("*.json")) == shared
    for name in shared:
        assert (CORPUS / folder / name).read_bytes() == (SHARED_CORPUS / folder / name).read_bytes(), name


@needs_shared
def test_the_whole_shared_corpus_passes_with_every_rule_on(capsys: pytest.CaptureFixture[str]) -> None:
    """What a new user runs: every real reply, batch and stream, with every rule; the documented examples with
    only the placeholder-id rule off."""
    real = [str(SHARED_CORPUS / "recorded"), str(SHARED_CORPUS / "recorded-stream")]
    assert validate_command(real) == 0
    assert capsys.readouterr().out.strip() == "validated 10 bodies in 10 files: 10 conform, none with violations"
    assert validate_command(["--disable", "job-id-uuid", str(SHARED_CORPUS / "doc-examples")]) == 0
    assert "18 conform, none with violations" in capsys.readouterr().out


# -- one proof per repair -----------------------------------------------------------------------------------

TWILIO = "recorded/twilio-vintel_text-source_language_EXCERPT.json"
MULTIMODAL_EQ = "recorded/multimodalEQ_registry-file_burst-prosody-language_predictions.json"
INTERREVIEWER = "recorded/InterReviewer_video1318490298_face-prosody-language_predictions.json"
LIST_WITH_NULLS = "doc-examples/list-jobs__c716a5c3.json"


def ablation(defect: str, evidence: str, kind: str) -> None:
    body = corpus(evidence)
    assert schema_violations(contract_without(defect), body, kind), f"{evidence} passes without {defect}"
    assert validate_body(body, kind, disabled={"job-id-uuid"}) == []


def parameter_value_ablation(defect: str, parameter: str, value: Any) -> None:
    repaired = Contract(openapi.load_repaired(), None)
    ablated = contract_without(defect)
    ref = parameter_schema(openapi.load_repaired(), parameter)
    assert repaired.violations(value, ref) == []
    assert ablated.violations(value, ref)


def prove_enum_objects_dropped() -> None:
    schemas = openapi.load_repaired()["components"]["schemas"]
    for name in (
        "ProsodyGranularity",
        "LanguageGranularity",
        "TranscriptionLanguage",
        "TranscriptionMetadataDetectedLanguage",
        "V0BatchJobsGetParametersWhen",
    ):
        assert "properties" not in schemas[name] and schemas[name]["type"] == "string"


def prove_declared_field_is_checked(pointer: str, body_path: str, bad_value: Any, kind: str) -> None:
    body = corpus(body_path)
    target = body
    *parents, last = pointer.strip("/").split("/")
    for step in parents:
        target = target[int(step)] if isinstance(target, list) else target[step]
    target[last] = bad_value
    codes = {(v.code, v.pointer) for v in validate_body(body, kind, disabled={"job-id-uuid"})}
    assert ("schema-type", pointer) in codes


def prove_nullable_prosody_text() -> None:
    body = corpus(INTERREVIEWER)
    body[0]["results"]["predictions"][0]["models"]["prosody"]["grouped_predictions"][0]["predictions"][0]["text"] = None
    assert validate_body(body, "predictions") == []
    assert schema_violations(contract_without("nullable-prosody-text"), body, "predictions")


def prove_nullable_transcription() -> None:
    body = {"models": {"prosody": {}}, "urls": ["https://example.com/a.mp3"], "transcription": None}
    assert validate_body(body, "job-request") == []
    assert schema_violations(contract_without("nullable-transcription"), body, "job-request")


JSON_JOB = "urn:hume-contracts:openapi#/paths/~1v0~1batch~1jobs/post/requestBody/content/application~1json/schema"


def prove_post_json_variant() -> None:
    post = openapi.load_repaired()["paths"]["/v0/batch/jobs"]["post"]["requestBody"]
    assert post["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/InferenceBaseRequest"
    sdk_example = {
        "models": {"face": {}, "burst": {}},
        "urls": ["https://x/y.mp4"],
        "notify": True,
    }  # SDK_FACTS §6
    assert validate_body(sdk_example, "job-request") == []


def prove_multipart_shape() -> None:
    multipart = openapi.load_repaired()["paths"]["/v0/batch/jobs"]["post"]["requestBody"]["content"][
        "multipart/form-data"
    ]
    json_part = multipart["schema"]["properties"]["json"]
    assert json_part["type"] == "string" and json_part["contentMediaType"] == "application/json"
    assert multipart["schema"]["properties"]["file"]["maxItems"] == 100
    assert "application/octet-stream" in multipart["encoding"]["json"]["contentType"]


def prove_api_key_security() -> None:
    document = openapi.load_repaired()
    assert document["security"] == [{"api_key": []}]
    for path in document["paths"].values():
        for operation in path.values():
            assert all(p["name"] != "X-Hume-Api-Key" for p in operation.get("parameters", []))


def prove_error_responses() -> None:
    fault = {"fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}}
    document = openapi.load_repaired()
    for template, path in document["paths"].items():
        for method, operation in path.items():
            assert {"400", "401", "429"} <= set(operation["responses"]), (method, template)
    assert (
        document["paths"]["/v0/batch/jobs"]["get"]["responses"]["401"]["$ref"] == "#/components/responses/Unauthorized"
    )
    assert validate_against(fault, "/components/responses/Unauthorized/content/application~1json/schema") == []
    assert validate_against({"fault": {}}, "/components/schemas/GatewayFault")


def prove_error_model() -> None:
    """No vendored body has an error entry: the field is proven on one added to a real body."""
    body = corpus(TWILIO)
    body[0]["results"]["errors"] = [{"file": "a.txt", "message": "could not read", "model": None}]
    assert validate_body(body, "predictions") == []
    body[0]["results"]["errors"][0]["model"] = 7
    codes = {(v.code, v.pointer) for v in validate_body(body, "predictions")}
    assert ("schema-type", "/0/results/errors/0/model") in codes
    assert not schema_violations(contract_without("error-model"), body, "predictions")


def prove_bounds() -> None:
    parameter_value_ablation_reversed("bounds", "limit", 0)
    assert validate_body({"models": {"face": {"prob_threshold": 1.5}}}, "job-request")[0].code == "schema-range"


def parameter_value_ablation_reversed(defect: str, parameter: str, value: Any) -> None:
    """A bound makes a value invalid that the unbounded contract accepted."""
    ref = parameter_schema(openapi.load_repaired(), parameter)
    assert Contract(openapi.load_repaired(), None).violations(value, ref)
    assert contract_without(defect).violations(value, ref) == []


def prove_format_uri() -> None:
    assert '"format": "url"' not in json.dumps(openapi.load_repaired())
    assert '"format": "url"' in json.dumps(openapi.load_upstream())


def prove_json_job_input() -> None:
    without = contract_without("json-job-input")
    for empty in ({}, {"models": {"face": {}}, "notify": True}, {"urls": [], "text": []}):
        assert validate_against(empty, JSON_JOB), empty
        assert without.violations(empty, JSON_JOB) == []
    assert validate_against({"models": {"face": {}, "burst": {}}, "urls": ["https://x/y.mp4"]}, JSON_JOB) == []
    assert validate_against({"text": ["I am so happy!"]}, JSON_JOB) == []
    assert validate_body({"models": {"face": {}}}, "job-request") == []  # a multipart json part may name no input


def prove_unused_multipart_json_schema() -> None:
    upstream = openapi.load_upstream()["components"]["schemas"]
    copy = upstream["batch:V0BatchJobsPostRequestBodyContentMultipartFormDataSchemaJson"]["properties"]
    assert copy == upstream["batch:InferenceBaseRequest"]["properties"]
    repaired = openapi.load_repaired()
    assert "V0BatchJobsPostRequestBodyContentMultipartFormDataSchemaJson" not in repaired["components"]["schemas"]
    assert "MultipartFormDataSchemaJson" not in json.dumps(repaired)


def prove_predict_result_alias() -> None:
    schemas = openapi.load_repaired()["components"]["schemas"]
    assert schemas["UnionPredictResult"]["$ref"] == "#/components/schemas/InferenceSourcePredictResult"
    assert "oneOf" not in schemas["UnionPredictResult"]
    body = corpus(TWILIO)
    assert validate_body(body, "predictions") == []
    del body[0]["source"]
    assert [v.code for v in validate_body(body, "predictions")] == ["schema-required"]  # named directly, no union


def prove_component_names() -> None:
    validate_openapi(openapi.load_repaired())
    assert all(":" not in name and "<" not in name for name in openapi.load_repaired()["components"]["schemas"])


PROOFS: dict[str, Callable[[], None]] = {
    "enum-empty-objects": prove_enum_objects_dropped,
    "enum-when": lambda: parameter_value_ablation("enum-when", "when", "created_before"),
    "enum-sort-by": lambda: parameter_value_ablation("enum-sort-by", "sort_by", "started"),
    "enum-direction": lambda: parameter_value_ablation("enum-direction", "direction", "asc"),
    "enum-granularity": lambda: ablation("enum-granularity", LIST_WITH_NULLS, "jobs"),
    "enum-bcp47": lambda: ablation("enum-bcp47", INTERREVIEWER, "predictions"),
    "unconfigurable-null": lambda: ablation("unconfigurable-null", LIST_WITH_NULLS, "jobs"),
    "null-metadata": lambda: ablation("null-metadata", INTERREVIEWER, "predictions"),
    "nullable-metadata-window": lambda: ablation("nullable-metadata-window", TWILIO, "predictions"),
    "nullable-callback-url": lambda: ablation("nullable-callback-url", LIST_WITH_NULLS, "jobs"),
    "nullable-face-extras": lambda: ablation("nullable-face-extras", INTERREVIEWER, "predictions"),
    "nullable-confidences": lambda: ablation("nullable-confidences", INTERREVIEWER, "predictions"),
    "nullable-prosody-text": prove_nullable_prosody_text,
    "nullable-sentiment-toxicity": lambda: ablation("nullable-sentiment-toxicity", TWILIO, "predictions"),
    "nullable-text-time": lambda: ablation("nullable-text-time", TWILIO, "predictions"),
    "nullable-transcription": prove_nullable_transcription,
    "union-state-status": lambda: ablation("union-state-status", "doc-examples/get-job-details__0188ef68.json", "job"),
    "union-source-type": lambda: ablation(
        "union-source-type", "doc-examples/get-job-predictions__043a2220.json", "predictions"
    ),
    "source-registry-file": lambda: ablation("source-registry-file", MULTIMODAL_EQ, "predictions"),
    "error-model": prove_error_model,
    "union-job-type": lambda: ablation("union-job-type", "doc-examples/get-job-details__ee5676ee.json", "job"),
    "registry-files": lambda: prove_declared_field_is_checked(
        "/request/registry_files", "doc-examples/get-job-details__0188ef68.json", "not-a-list", "job"
    ),
    "prediction-file-type": lambda: prove_declared_field_is_checked(
        "/0/results/predictions/0/file_type", TWILIO, 7, "predictions"
    ),
    "post-json-variant": prove_post_json_variant,
    "multipart-json-string": prove_multipart_shape,
    "multipart-file-parts": prove_multipart_shape,
    "api-key-security": prove_api_key_security,
    "error-responses": prove_error_responses,
    "bounds": prove_bounds,
    "format-uri": prove_format_uri,
    "component-names": prove_component_names,
    "json-job-input": prove_json_job_input,
    "unused-multipart-json-schema": prove_unused_multipart_json_schema,
    "predict-result-alias": prove_predict_result_alias,
}


def test_every_repair_has_a_proof() -> None:
    defects = {a["x-defect"] for o in (openapi.load_overlay(), openapi.load_names_overlay()) for a in o["actions"]}
    assert defects == set(PROOFS)


@pytest.mark.parametrize("defect", sorted(PROOFS))
def test_repair_is_proven(defect: str) -> None:
    PROOFS[defect]()
