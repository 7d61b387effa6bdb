"""Semantic rules: what the schema cannot say. One function per rule, registered by its code.

A single walk over a body (``nodes``) yields typed nodes — a job, a state, a prediction item of a model,
transcription metadata — and each rule registered for that node type checks it. The walk
is linear in the size of the body. Rules never assume the body is schema-valid: a value of the wrong type
is the schema's business and is skipped here. Every rule can be switched off by its code.

Calibrated against the real corpus: emotion scores are embeddings, not probabilities (real face scores
reach 1.036), so only ``prob``, confidences, sentiment and toxicity scores must lie in [0, 1].
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any

from contracts.evidence import Grade, register_grades
from contracts.violations import Violation, pointer, shorten

Path = list[Any]
RuleFunction = Callable[[Any, Path, str], Iterator[Violation]]


@dataclass(frozen=True)
class Rule:
    code: str
    node: str  # job | state | item | metadata
    check: RuleFunction


RULES: list[Rule] = []


def rule(code: str, node: str) -> Callable[[RuleFunction], RuleFunction]:
    def register(function: RuleFunction) -> RuleFunction:
        RULES.append(Rule(code, node, function))
        return function

    return register


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _violation(code: str, at: Path, expected: str, found: Any, message: str = "", grade: str = "") -> Violation:
    return Violation(code, pointer(at), expected, shorten(found), f"rule {code}", message, grade)


# -- label sets (vendored from NAMES.md) --------------------------------------------------------------------

_LABELS = json.loads((FilePath(__file__).parent / "data" / "labels.json").read_text(encoding="utf-8"))
EXPRESSION = frozenset(_LABELS["expression"]["names"])
LANGUAGE = frozenset(_LABELS["language"]["names"])
SENTIMENT = frozenset(_LABELS["sentiment"]["names"])
TOXICITY = frozenset(_LABELS["toxicity"]["names"])
EMOTIONS_BY_MODEL = {
    "face": ("the 48 expression emotions (VERIFIED)", EXPRESSION),
    "prosody": ("the 48 expression emotions (VERIFIED)", EXPRESSION),
    "burst": ("the 48 expression emotions (OFFICIAL)", EXPRESSION),
    "facemesh": ("the 48 expression emotions (OFFICIAL)", EXPRESSION),
    "language": ("the 53 language emotions (VERIFIED)", LANGUAGE),
    "ner": ("the 53 language emotions (VERIFIED)", LANGUAGE),
}

# Completeness (rule label-set-complete), graded in labels.json: VERIFIED where every real prediction of the
# corpus carries the whole list, OFFICIAL (a judgement) where only Hume's docs say so.
_COMPLETE = {**_LABELS["expression"]["complete"], **_LABELS["language"]["complete"]}
_EACH_EXPRESSION, _EACH_LANGUAGE = "each of the 48 expression emotions once", "each of the 53 language emotions once"
COMPLETE_EMOTIONS_BY_MODEL = {
    **{model: (_EACH_EXPRESSION, EXPRESSION, _COMPLETE[model]) for model in ("face", "prosody", "burst", "facemesh")},
    **{model: (_EACH_LANGUAGE, LANGUAGE, _COMPLETE[model]) for model in ("language", "ner")},
}
COMPLETE_SCORES = (
    ("sentiment", 'each sentiment level "1".."9" once', SENTIMENT, _LABELS["sentiment"]["complete"]),
    ("toxicity", "each of the 6 toxicity categories once", TOXICITY, _LABELS["toxicity"]["complete"]),
)

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# -- job and state rules ------------------------------------------------------------------------------------

STATUS_ORDER = {"QUEUED": 0, "IN_PROGRESS": 1, "COMPLETED": 2, "FAILED": 2}
FIELD_FIRST_STATUS = {
    "started_timestamp_ms": 1,
    "ended_timestamp_ms": 2,
    "num_predictions": 2,
    "num_errors": 2,
}


@rule("job-id-uuid", "job")
def batch_job_id_is_uuid(job: Any, at: Path, model: str) -> Iterator[Violation]:
    job_id = job.get("job_id")
    if isinstance(job_id, str) and not UUID.match(job_id):
        yield _violation("job-id-uuid", [*at, "job_id"], "a UUID such as 6f1c…-…", job_id)


@rule("state-timestamps-order", "state")
def state_timestamps_in_order(state: Any, at: Path, model: str) -> Iterator[Violation]:
    previous_name, previous = None, None
    for name in ("created_timestamp_ms", "started_timestamp_ms", "ended_timestamp_ms"):
        value = _number(state.get(name))
        if value is None:
            continue
        if previous is not None and value < previous:
            yield _violation(
                "state-timestamps-order",
                [*at, name],
                f">= {previous_name} ({int(previous)})",
                value,
                f"{name} {int(value)} is before {previous_name} {int(previous)}",
            )
        previous_name, previous = name, value


@rule("state-fields", "state")
def state_fields_match_status(state: Any, at: Path, model: str) -> Iterator[Violation]:
    status = state.get("status")
    rank = STATUS_ORDER.get(status) if isinstance(status, str) else None
    if rank is None:
        return
    for name, first in FIELD_FIRST_STATUS.items():
        if first > rank and state.get(name) is not None:
            yield _violation("state-fields", [*at, name], f"no {name} while {status}", state[name])
    if status == "FAILED" and state.get("message") == "":
        yield _violation("state-fields", [*at, "message"], "a non-empty failure message", "")


@rule("counts-non-negative", "state")
def counts_not_negative(state: Any, at: Path, model: str) -> Iterator[Violation]:
    for name in ("num_predictions", "num_errors"):
        value = _number(state.get(name))
        if value is not None and value < 0:
            yield _violation("counts-non-negative", [*at, name], ">= 0", value)


# -- prediction item rules ----------------------------------------------------------------------------------


@rule("interval-order", "item")
def intervals_in_order(item: Any, at: Path, model: str) -> Iterator[Violation]:
    for name in ("time", "position"):
        interval = item.get(name)
        if not isinstance(interval, dict):
            continue
        begin, end = _number(interval.get("begin")), _number(interval.get("end"))
        if begin is not None and begin < 0:
            yield _violation("interval-order", [*at, name, "begin"], ">= 0", begin)
        if begin is not None and end is not None and begin > end:
            yield _violation("interval-order", [*at, name], "begin <= end", f"begin {begin} > end {end}")


PROBABILITY_FIELDS = ("prob", "confidence", "speaker_confidence", "entity_confidence")


@rule("probability-range", "item")
def probabilities_in_unit_range(item: Any, at: Path, model: str) -> Iterator[Violation]:
    for name in PROBABILITY_FIELDS:
        value = _number(item.get(name))
        if value is not None and not 0 <= value <= 1:
            yield _violation("probability-range", [*at, name], "a value in [0, 1]", value)
    for name in ("sentiment", "toxicity"):
        scores = item.get(name)
        if not isinstance(scores, list):
            continue
        for index, score in enumerate(scores):
            value = _number(score.get("score")) if isinstance(score, dict) else None
            if value is not None and not 0 <= value <= 1:
                yield _violation("probability-range", [*at, name, index, "score"], "a value in [0, 1]", value)


@rule("probability-range", "metadata")
def metadata_confidence_in_unit_range(metadata: Any, at: Path, model: str) -> Iterator[Violation]:
    value = _number(metadata.get("confidence"))
    if value is not None and not 0 <= value <= 1:
        yield _violation("probability-range", [*at, "confidence"], "a value in [0, 1]", value)


@rule("box-size", "item")
def box_has_non_negative_size(item: Any, at: Path, model: str) -> Iterator[Violation]:
    for name in ("box", "bbox"):
        box = item.get(name)
        if not isinstance(box, dict):
            continue
        for side in ("w", "h"):
            value = _number(box.get(side))
            if value is not None and value < 0:
                yield _violation("box-size", [*at, name, side], ">= 0", value)


@rule("frame-non-negative", "item")
def face_frame_not_negative(item: Any, at: Path, model: str) -> Iterator[Violation]:
    if model != "face":
        return
    for name in ("frame", "time"):
        value = _number(item.get(name))
        if value is not None and value < 0:
            yield _violation("frame-non-negative", [*at, name], ">= 0", value)


def _unknown_names(scores: Any, known: frozenset[str]) -> list[str]:
    if not isinstance(scores, list):
        return []
    return [
        s["name"] for s in scores if isinstance(s, dict) and isinstance(s.get("name"), str) and s["name"] not in known
    ]


@rule("label-set", "item")
def labels_in_model_set(item: Any, at: Path, model: str) -> Iterator[Violation]:
    described = EMOTIONS_BY_MODEL.get(model)
    checks = [("emotions", *described)] if described else []
    checks += [("sentiment", 'sentiment levels "1".."9" (VERIFIED)', SENTIMENT)]
    checks += [("toxicity", "the 6 toxicity categories (OFFICIAL)", TOXICITY)]
    for field, description, known in checks:
        unknown = _unknown_names(item.get(field), known)
        if unknown:
            yield _violation(
                "label-set",
                [*at, field],
                f"names from {description}",
                ", ".join(unknown),
                f"{model} {field}: {len(unknown)} label(s) outside {description}: {shorten(', '.join(unknown), 80)}",
            )


def _holds_each_once(scores: list[Any], known: frozenset[str]) -> bool:
    """The quick verdict of the common case: every known name, no name twice (extra names are label-set's)."""
    try:
        present = {score["name"] for score in scores}
    except (TypeError, KeyError):  # not all score objects with a hashable name: decided the slow way
        return False
    return len(present) == len(scores) and known <= present


def _names(scores: Any) -> list[str] | None:
    """The label names of a score list; None unless every entry is a score object with a string name."""
    if not isinstance(scores, list):
        return None
    names = [s.get("name") if isinstance(s, dict) else None for s in scores]
    return names if all(isinstance(name, str) for name in names) else None


@rule("label-set-complete", "item")
def labels_complete(item: Any, at: Path, model: str) -> Iterator[Violation]:
    # Names outside the set are label-set's business; this rule reports known names missing or repeated.
    complete = COMPLETE_EMOTIONS_BY_MODEL.get(model)
    checks = [("emotions", *complete)] if complete else []
    for field, expected, known, grade in checks + list(COMPLETE_SCORES):
        scores = item.get(field)
        if not isinstance(scores, list) or _holds_each_once(scores, known):
            continue
        names = _names(scores)
        if names is None:
            continue
        counts = Counter(names)
        missing = sorted(known.difference(counts))
        repeated = sorted(name for name, count in counts.items() if count > 1 and name in known)
        if not missing and not repeated:  # only unknown names repeated: label-set's business
            continue
        found = "; ".join(
            f"{label} {_listed(listed)}" for label, listed in (("missing", missing), ("repeated", repeated)) if listed
        )
        yield _violation(
            "label-set-complete",
            [*at, field],
            f"{expected} ({grade})",
            found,
            f"{model} {field}: {found}, expected {expected}",
            Grade.JUDGEMENT if grade == "OFFICIAL" else "",  # only Hume's docs say so: a judgement of ours
        )


def _listed(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return f"{len(names)} ({shown}{', …' if len(names) > limit else ''})"


register_grades({"error-message-empty": Grade.JUDGEMENT})  # the schema asks only for a string


@rule("error-message-empty", "results")
def error_messages_not_empty(results: Any, at: Path, model: str) -> Iterator[Violation]:
    """A judgement: an error that says nothing tells the client nothing (the schema only asks for a string)."""
    errors = results.get("errors")
    for index, error in enumerate(errors if isinstance(errors, list) else ()):
        message = error.get("message") if isinstance(error, dict) else None
        if isinstance(message, str) and not message.strip():
            yield _violation(
                "error-message-empty", [*at, "errors", index, "message"], "a message saying what failed", message
            )


# -- the walk -----------------------------------------------------------------------------------------------

Node = tuple[str, Any, Path, str]


def _job_nodes(job: Any, at: Path) -> Iterator[Node]:
    if isinstance(job, dict):
        yield "job", job, at, ""
        if isinstance(job.get("state"), dict):
            yield "state", job["state"], [*at, "state"], ""


def _model_nodes(models: Any, at: Path) -> Iterator[Node]:
    if not isinstance(models, dict):
        return
    for model, output in models.items():
        if not isinstance(output, dict):
            continue
        if isinstance(output.get("metadata"), dict):
            yield "metadata", output["metadata"], [*at, model, "metadata"], model
        groups = output.get("grouped_predictions")
        if isinstance(groups, list):  # batch: grouped by face / speaker id
            for g, group in enumerate(groups):
                items = group.get("predictions") if isinstance(group, dict) else None
                if isinstance(items, list):
                    for i, item in enumerate(items):
                        if isinstance(item, dict):
                            yield (
                                "item",
                                item,
                                [*at, model, "grouped_predictions", g, "predictions", i],
                                model,
                            )
        elif isinstance(output.get("predictions"), list):  # stream: a flat list
            for i, item in enumerate(output["predictions"]):
                if isinstance(item, dict):
                    yield "item", item, [*at, model, "predictions", i], model


def _predictions_nodes(body: Any) -> Iterator[Node]:
    if not isinstance(body, list):
        return
    for r, result in enumerate(body):
        results = result.get("results") if isinstance(result, dict) else None
        if isinstance(results, dict):
            yield "results", results, [r, "results"], ""
        predictions = results.get("predictions") if isinstance(results, dict) else None
        if not isinstance(predictions, list):
            continue
        for p, prediction in enumerate(predictions):
            if isinstance(prediction, dict):
                yield from _model_nodes(prediction.get("models"), [r, "results", "predictions", p, "models"])


def _stream_message_nodes(body: Any) -> Iterator[Node]:
    if not isinstance(body, dict):
        return
    models = {k: v for k, v in body.items() if k in EMOTIONS_BY_MODEL}
    yield from _model_nodes(models, [])


def nodes(body: Any, kind: str) -> Iterator[Node]:
    """Every node of ``body`` that some rule checks, in one linear pass."""
    if kind == "job" or kind == "job-id":
        yield from _job_nodes(body, [])
    elif kind == "jobs" and isinstance(body, list):
        # Only objects are jobs a rule can check; they are picked at C speed (a Python step per item made a
        # 64 MiB array of numbers take 100 s here).
        for index in itertools.compress(range(len(body)), map(isinstance, body, itertools.repeat(dict))):
            yield from _job_nodes(body[index], [index])
    elif kind == "predictions":
        yield from _predictions_nodes(body)
    elif kind == "stream-message":
        yield from _stream_message_nodes(body)


@functools.cache
def _rules_by_node(disabled: frozenset[str]) -> dict[str, tuple[Rule, ...]]:
    by_node: dict[str, list[Rule]] = {}
    for registered in RULES:
        if registered.code not in disabled:
            by_node.setdefault(registered.node, []).append(registered)
    return {node: tuple(rules) for node, rules in by_node.items()}


def check_rules(body: Any, kind: str, disabled: Collection[str] = ()) -> Iterator[Violation]:
    """Run every enabled rule over ``body``."""
    by_node = _rules_by_node(frozenset(disabled))
    for node_type, node, at, model in nodes(body, kind):
        for registered in by_node.get(node_type, ()):
            yield from registered.check(node, at, model)
