"""The validator explains itself: discriminator-aware unions, stable codes, pointers that resolve, short values."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.codes import ALL_CODES
from contracts.validation import validate_body

CORPUS = Path(__file__).parent / "data" / "corpus"
BODIES = {
    "job": json.loads((CORPUS / "doc-examples/get-job-details__0188ef68.json").read_text()),
    "jobs": json.loads((CORPUS / "doc-examples/list-jobs__c716a5c3.json").read_text()),
    "predictions": json.loads((CORPUS / "recorded/twilio-vintel_text-source_language_EXCERPT.json").read_text()),
}


def job(state: dict[str, Any]) -> dict[str, Any]:
    return {**BODIES["job"], "job_id": "3f0c8a52-7d1e-4c3b-9a2f-1b2c3d4e5f60", "state": state}


def test_a_completed_state_missing_fields_names_the_variant_and_each_field() -> None:
    violations = validate_body(
        job({"status": "COMPLETED", "created_timestamp_ms": 1, "started_timestamp_ms": 2}), "job"
    )
    assert [v.pointer for v in violations] == [
        "/state/ended_timestamp_ms",
        "/state/num_predictions",
        "/state/num_errors",
    ]
    assert all(v.schema_path.endswith("StateInference_Completed/required") for v in violations)


def test_an_unknown_discriminator_lists_the_allowed_values() -> None:
    (violation,) = validate_body(job({"status": "DONE", "created_timestamp_ms": 1}), "job")
    assert violation.code == "discriminator-unknown"
    assert violation.pointer == "/state/status"
    assert violation.expected == "one of QUEUED, IN_PROGRESS, COMPLETED, FAILED"
    assert violation.found == '"DONE"'


def test_a_source_is_checked_against_the_variant_its_type_names() -> None:
    body = copy.deepcopy(BODIES["predictions"])
    body[0]["source"] = {"type": "url"}
    assert [(v.code, v.pointer) for v in validate_body(body, "predictions")] == [("schema-required", "/0/source/url")]
    body[0]["source"] = {"type": "ftp"}
    (violation,) = validate_body(body, "predictions")
    assert (violation.code, violation.expected) == ("discriminator-unknown", "one of url, file, text, registry_file")


def test_a_nullable_reference_reports_the_branch_the_value_was_meant_for() -> None:
    body = copy.deepcopy(BODIES["predictions"])
    item = body[0]["results"]["predictions"][0]["models"]["language"]["grouped_predictions"][0]["predictions"][0]
    item["time"] = {"begin": 0.5}
    (violation,) = validate_body(body, "predictions")
    assert violation.code == "schema-required" and violation.pointer.endswith("/time/end")
    item["time"] = "soon"
    (violation,) = validate_body(body, "predictions")
    assert (violation.code, violation.expected) == ("schema-type", "TimeInterval or null")


def test_a_huge_value_is_shortened_in_the_report() -> None:
    body = job({"status": "QUEUED", "created_timestamp_ms": "9" * 10_000_000})
    (violation,) = validate_body(body, "job")
    assert violation.code == "schema-type" and len(violation.found) <= 130


def resolve(body: Any, pointer: str) -> bool:
    """True when the pointer (or, for a missing field, its parent) exists in the body."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = body
    for index, part in enumerate(parts):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return index == len(parts) - 1  # a missing field is reported at its would-be place
    return True


def paths(node: Any, at: tuple = ()) -> list[tuple]:
    found = [at]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            found += paths(value, (*at, index))
    return found


damage = st.sampled_from(["delete", "null", "string", "number", "list", "object"])


@st.composite
def damaged_bodies(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(sorted(BODIES)))
    body = copy.deepcopy(BODIES[kind])
    for _ in range(draw(st.integers(1, 3))):
        places = [p for p in paths(body) if p]
        if not places:  # damaged down to an empty container
            break
        where = draw(st.sampled_from(places))
        parent = body
        for step in where[:-1]:
            parent = parent[step]
        how = draw(damage)
        if how == "delete":
            del parent[where[-1]]
        else:
            parent[where[-1]] = {"null": None, "string": "x", "number": -1.5, "list": [], "object": {}}[how]
    return kind, body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # bodies are corpus-sized
@given(damaged_bodies())
def test_every_violation_of_a_damaged_body_is_explained(case: tuple[str, Any]) -> None:
    kind, body = case
    for violation in validate_body(body, kind):
        assert violation.code in ALL_CODES
        assert "is not valid under any of the given schemas" not in violation.describe()
        assert violation.message or (violation.expected and violation.found)
        assert len(violation.found) <= 130
        assert resolve(body, violation.pointer), violation
