"""Each semantic rule trips on a body built to break it, names the place, and can be switched off."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.codes import RULE_CODES
from contracts.rules import SENTIMENT, TOXICITY
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


def stream_reply(name: str) -> dict[str, Any]:
    return json.loads((CORPUS / "recorded-stream" / name).read_text())


def broken_stream_face(change: Any) -> dict[str, Any]:
    reply = stream_reply("TheraAI_stream_face.json")
    change(reply["face"]["predictions"][0])
    return reply


def broken_stream_language(change: Any) -> dict[str, Any]:
    reply = stream_reply("FaceAI_stream_language.json")
    change(reply["language"]["predictions"][0])
    return reply


def full_scores(names: Collection[str]) -> list[dict[str, Any]]:
    return [{"name": name, "score": 0.1} for name in sorted(names)]


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
        "error-message-empty",
        "predictions",
        [{**face_body()[0], "results": {**face_body()[0]["results"], "errors": [{"file": "a.png", "message": " "}]}}],
        "/0/results/errors/0/message",
    ),
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
        broken_language(lambda i: i.update(sentiment=[{"name": "1", "score": -0.1}, *full_scores(SENTIMENT)[1:]])),
        f"{LANG_ITEM}/sentiment/0/score",
    ),
    ("box-size", "predictions", broken_face(lambda i: i["box"].update(w=-3.0)), f"{FACE_ITEM}/box/w"),
    ("frame-non-negative", "predictions", broken_face(lambda i: i.update(frame=-1)), f"{FACE_ITEM}/frame"),
    (
        "label-set",
        "predictions",
        broken_face(lambda i: i["emotions"].append({"name": "Glee", "score": 0.1})),
        f"{FACE_ITEM}/emotions",
    ),
    (
        "label-set",
        "predictions",
        broken_language(lambda i: i.update(toxicity=[*full_scores(TOXICITY), {"name": "rude", "score": 0.5}])),
        f"{LANG_ITEM}/toxicity",
    ),
    (
        "label-set",
        "stream-message",
        broken_stream_face(lambda i: i["emotions"].append({"name": "Glee", "score": 0.1})),
        "/face/predictions/0/emotions",
    ),
    ("label-set-complete", "predictions", broken_face(lambda i: i["emotions"].pop(7)), f"{FACE_ITEM}/emotions"),
    (
        "label-set-complete",
        "predictions",
        broken_face(lambda i: i["emotions"].append(dict(i["emotions"][0]))),
        f"{FACE_ITEM}/emotions",
    ),
    (
        "label-set-complete",
        "predictions",
        broken_language(lambda i: i.update(sentiment=full_scores(SENTIMENT)[1:])),
        f"{LANG_ITEM}/sentiment",
    ),
    (
        "label-set-complete",
        "predictions",
        broken_language(lambda i: i.update(toxicity=full_scores(TOXICITY)[:-1])),
        f"{LANG_ITEM}/toxicity",
    ),
    ("label-set-complete", "predictions", broken_language(lambda i: i.update(emotions=[])), f"{LANG_ITEM}/emotions"),
    (
        "label-set-complete",
        "stream-message",
        broken_stream_face(lambda i: i["emotions"].pop()),
        "/face/predictions/0/emotions",
    ),
    (
        "label-set-complete",
        "stream-message",
        broken_stream_language(lambda i: i["emotions"].pop(0)),
        "/language/predictions/0/emotions",
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


# -- the evidence of label-set-complete -----------------------------------------------------------------------

LABELS = json.loads((Path(__file__).parent.parent / "contracts/data/labels.json").read_text())
REAL = sorted((CORPUS / "recorded").glob("*.json")) + sorted((CORPUS / "recorded-stream").glob("*.json"))


def real_label_lists() -> Iterator[tuple[str, str, list[str]]]:
    """(model, field, names) of every label list of every real prediction, batch and stream."""
    for path in REAL:
        body = json.loads(path.read_text())
        results = body if isinstance(body, list) else [{"results": {"predictions": [{"models": body}]}}]
        for result in results:
            for prediction in result["results"]["predictions"]:
                for model, output in prediction["models"].items():
                    groups = output.get("grouped_predictions") or [output]
                    for item in (i for g in groups for i in g.get("predictions") or []):
                        for field in ("emotions", "sentiment", "toxicity"):
                            if item.get(field) is not None:
                                yield model, field, [score["name"] for score in item[field]]


def test_every_real_prediction_carries_the_full_label_set_of_its_model() -> None:
    expected = {"emotions": None, "sentiment": set(LABELS["sentiment"]["names"])}
    by_model = {"face": "expression", "prosody": "expression", "language": "language"}
    counts: Counter[tuple[str, str]] = Counter()
    for model, field, names in real_label_lists():
        full = expected[field] or set(LABELS[by_model[model]]["names"])
        assert len(names) == len(set(names)) and set(names) == full, (model, field)
        counts[model, field] += 1
    # The figures the README's rules table states: 1,804 real predictions, 1,825 label lists.
    assert counts == {
        ("face", "emotions"): 1613,
        ("prosody", "emotions"): 39,
        ("language", "emotions"): 152,
        ("language", "sentiment"): 21,
    }
    assert sum(count for (_, field), count in counts.items() if field == "emotions") == 1804


def test_completeness_is_graded_verified_exactly_where_real_predictions_show_it() -> None:
    seen = {(model, field) for model, field, _ in real_label_lists()}
    grades = {
        **{(model, "emotions"): grade for model, grade in LABELS["expression"]["complete"].items()},
        **{(model, "emotions"): grade for model, grade in LABELS["language"]["complete"].items()},
        ("language", "sentiment"): LABELS["sentiment"]["complete"],
        ("language", "toxicity"): LABELS["toxicity"]["complete"],
    }
    assert {key for key, grade in grades.items() if grade == "VERIFIED"} == seen
    assert set(grades.values()) == {"VERIFIED", "OFFICIAL"}


def test_label_set_complete_leaves_unnamed_scores_to_the_schema() -> None:
    body = broken_face(lambda i: i["emotions"][0].pop("name"))
    assert {v.code for v in validate_body(body, "predictions")} == {"schema-required"}


def test_a_renamed_label_is_both_unknown_and_missing() -> None:
    body = broken_face(lambda i: i["emotions"][0].update(name="Glee"))
    found = {(v.code, v.found) for v in validate_body(body, "predictions")}
    assert found == {("label-set", '"Glee"'), ("label-set-complete", '"missing 1 (Admiration)"')}
