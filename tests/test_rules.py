"""Each semantic rule trips on a body built to break it, names the place, and can be switched off."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from contracts.codes import RULE_CODES
from contracts.validation import validate_body

CORPUS = Path(__file__).parent / "data" / "corpus"
JOB_ID = "3f0c8a52-7d1e-4c3b-9a2f-1b2c3d4e5f60"


def job(state: dict[str, Any], job_id: str = JOB_ID) -> dict[str, Any]:
    return {"job_id": job_id, "type": "INFERENCE", "request": {"files": []}, "state": state}


def completed(**overrides: Any) -> dict[str, Any]:
    state = {
        "status": "COMPLETED",
        "created_timestamp_ms": 1000,
        "started_timestamp_ms": 2000,
        "ended_timestamp_ms": 3000,
        "num_predictions": 1,
        "num_errors": 0,
    }
    return {**state, **overrides}


def language_body() -> list[dict[str, Any]]:
    return json.loads((CORPUS / "recorded/twilio-vintel_text-source_language_EXCERPT.json").read_text())


def face_body() -> list[dict[str, Any]]:
    return json.loads((CORPUS / "doc-examples/get-job-predictions__043a2220.json").read_text())


def first_item(body: list[dict[str, Any]], model: str) -> dict[str, Any]:
    return body[0]["results"]["predictions"][0]["models"][model]["grouped_predictions"][0]["predictions"][0]


LANG_ITEM = "/0/results/predictions/0/models/language/grouped_predictions/0/predictions/0"
FACE_ITEM = "/0/results/predictions/0/models/face/grouped_predictions/0/predictions/0"


def broken_language(change: Any) -> list[dict[str, Any]]:
    body = language_body()
    change(first_item(body, "language"))
    return body


def broken_face(change: Any) -> list[dict[str, Any]]:
    body = face_body()
    change(first_item(body, "face"))
    return body


CASES: list[tuple[str, str, Any, str]] = [
    ("state-timestamps-order", "job", job(completed(ended_timestamp_ms=1500)), "/state/ended_timestamp_ms"),
    (
        "state-fields",
        "job",
        job({"status": "QUEUED", "created_timestamp_ms": 1, "started_timestamp_ms": 2}),
        "/state/started_timestamp_ms",
    ),
    ("counts-non-negative", "job", job(completed(num_errors=-1)), "/state/num_errors"),
    ("job-id-uuid", "job", job(completed(), job_id="not-a-uuid"), "/job_id"),
    ("job-id-uuid", "jobs", [job(completed()), job(completed(), job_id="x")], "/1/job_id"),
    (
        "interval-order",
        "predictions",
        broken_language(lambda i: i.update(position={"begin": 5, "end": 2})),
        f"{LANG_ITEM}/position",
    ),
    (
        "interval-order",
        "predictions",
        broken_language(lambda i: i.update(time={"begin": -1.0, "end": 2.0})),
        f"{LANG_ITEM}/time/begin",
    ),
    ("probability-range", "predictions", broken_face(lambda i: i.update(prob=1.2)), f"{FACE_ITEM}/prob"),
    (
        "probability-range",
        "predictions",
        broken_language(lambda i: i.update(sentiment=[{"name": "1", "score": -0.1}])),
        f"{LANG_ITEM}/sentiment/0/score",
    ),
    ("box-size", "predictions", broken_face(lambda i: i["box"].update(w=-3.0)), f"{FACE_ITEM}/box/w"),
    ("frame-non-negative", "predictions", broken_face(lambda i: i.update(frame=-1)), f"{FACE_ITEM}/frame"),
    (
        "label-set",
        "predictions",
        broken_face(lambda i: i["emotions"][0].update(name="Glee")),
        f"{FACE_ITEM}/emotions",
    ),
    (
        "label-set",
        "predictions",
        broken_language(lambda i: i.update(toxicity=[{"name": "rude", "score": 0.5}])),
        f"{LANG_ITEM}/toxicity",
    ),
    (
        "label-set",
        "stream-message",
        {
            "face": {
                "predictions": [
                    {
                        "frame": 0,
                        "time": 0,
                        "prob": 0.9,
                        "bbox": {"x": 0, "y": 0, "w": 1, "h": 1},
                        "emotions": [{"name": "Glee", "score": 0.1}],
                    }
                ]
            }
        },
        "/face/predictions/0/emotions",
    ),
]


@pytest.mark.parametrize(("code", "kind", "body", "at"), CASES, ids=[f"{c[0]}:{c[3]}" for c in CASES])
def test_rule_trips_at_the_offending_value(code: str, kind: str, body: Any, at: str) -> None:
    violations = validate_body(body, kind)
    assert [(v.code, v.pointer) for v in violations] == [(code, at)]
    assert violations[0].expected and violations[0].found
    assert validate_body(body, kind, disabled={code}) == []


def test_every_rule_code_has_a_tripping_case() -> None:
    assert {case[0] for case in CASES} == set(RULE_CODES)


def test_emotion_scores_above_one_are_allowed_because_real_ones_are() -> None:
    body = broken_face(lambda i: i["emotions"][0].update(score=1.0357331037521362))
    assert validate_body(body, "predictions") == []


def test_rules_skip_values_of_the_wrong_type_and_leave_them_to_the_schema() -> None:
    body = broken_face(lambda i: i.update(frame="seven", prob=None, box="wide"))
    codes = {v.code for v in validate_body(body, "predictions")}
    assert codes == {"schema-type"}


def test_many_identical_faults_are_capped_with_a_count() -> None:
    body = face_body()
    for item in body[0]["results"]["predictions"][0]["models"]["face"]["grouped_predictions"][0]["predictions"]:
        item["prob"] = 7.0
    many = [copy.deepcopy(body[0]) for _ in range(300)]
    violations = validate_body(many, "predictions")
    assert len([v for v in violations if v.code == "probability-range"]) == 201
    assert "more probability-range violations" in violations[-1].message
