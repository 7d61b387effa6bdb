"""Mutations that break a valid RESPONSE in exactly one labelled way.

A ``Mutation`` names what it breaks (``label``), the violation code a validator must report (``code``, from
``contracts/codes.py``), the body kind it applies to, and where: ``at`` is a path pattern into the body
(``EACH`` matches every list index or object key), ``when`` filters the nodes found there (a state of the
right status, an interval that is not ``null``), ``change`` gives the node's new value (``DELETE`` removes
it), ``suffix`` extends the node's path to where the violation is reported (a state whose
``started_timestamp_ms`` was moved is reported at that field). ``also`` lists other codes the same single
fault legitimately raises at the same place (a stream job id is checked by a pattern AND by a rule).
``variant`` names the union member whose schema the report must point into (``StateInference_Failed``).
``needs`` are options of ``strategies.responses.valid_responses(kind, ...)`` under which bodies always
have a target.

``mutated(kind)`` draws a valid body, one applicable mutation and one of its targets, and returns
``Mutant(mutation, body, pointer)``: the broken body and the RFC 6901 pointer the violation must carry.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from hypothesis import assume
from hypothesis import strategies as st

from strategies.responses import OTHER_JOB_TYPES, RESPONSE_KINDS, valid_responses

Path = tuple[Any, ...]


class _Each:
    def __repr__(self) -> str:
        return "EACH"


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


EACH = _Each()  # in a path pattern: every index of a list, every key of an object
DELETE = _Delete()  # as a new value: remove the key


def json_pointer(path: Path) -> str:
    """RFC 6901 pointer, as ``contracts.violations.pointer`` (strategies sit upstream of contracts)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def find(node: Any, pattern: Path, prefix: Path = ()) -> Iterator[Path]:
    """Every concrete path in ``node`` that ``pattern`` matches (only paths that exist)."""
    if not pattern:
        yield prefix
        return
    head, rest = pattern[0], pattern[1:]
    if isinstance(node, dict):
        keys = list(node) if head is EACH else [head] if head in node else []
    elif isinstance(node, list):
        in_range = isinstance(head, int) and 0 <= head < len(node)
        keys = list(range(len(node))) if head is EACH else [head] if in_range else []
    else:
        keys = []
    for key in keys:
        yield from find(node[key], rest, (*prefix, key))


def _get(body: Any, path: Path) -> Any:
    for key in path:
        body = body[key]
    return body


@dataclass(frozen=True)
class Mutation:
    label: str
    code: str
    kind: str
    at: Path
    change: Callable[[Any], Any]
    when: Callable[[Any], bool] = lambda node: True
    suffix: Path = ()
    also: frozenset[str] = frozenset()
    needs: Mapping[str, Any] = field(default_factory=dict)
    variant: str = ""  # the union variant the report must name (in its schema path), when there is one

    def targets(self, body: Any) -> list[Path]:
        return [path for path in find(body, self.at) if self.when(_get(body, path))]

    def apply(self, body: Any, target: Path) -> tuple[Any, str]:
        """A broken deep copy of ``body`` (the original is untouched) and the pointer of the violation."""
        if not target:
            return self.change(copy.deepcopy(body)), json_pointer(self.suffix)
        broken = copy.deepcopy(body)
        parent, key = _get(broken, target[:-1]), target[-1]
        new = self.change(parent[key])
        if new is DELETE:
            del parent[key]
        else:
            parent[key] = new
        return broken, json_pointer(target + self.suffix)


class Mutant(NamedTuple):
    mutation: Mutation
    body: Any
    pointer: str


# ------------------------------------------------------------------------------------ small changes


def to(value: Any) -> Callable[[Any], Any]:
    return lambda old: copy.deepcopy(value)


def delete(old: Any) -> Any:
    return DELETE


def with_fields(**values: Callable[[dict[str, Any]], Any]) -> Callable[[Any], Any]:
    """Set fields of an object, each computed from the object (``started = created - 1``)."""
    return lambda old: {**old, **{name: compute(old) for name, compute in values.items()}}


def without(name: str) -> Callable[[Any], Any]:
    """Remove a field of an object, reported at ``suffix=(name,)`` (when the object itself is the target)."""
    return lambda old: {key: value for key, value in old.items() if key != name}


def has(name: str) -> Callable[[Any], bool]:
    return lambda node: isinstance(node, dict) and name in node


def first_item(**values: Any) -> Callable[[Any], Any]:
    """Change fields of the first item of a list of scores: ``[{name, score}, ...]``."""
    return lambda old: [{**old[0], **values}, *old[1:]]


def first_item_without(name: str) -> Callable[[Any], Any]:
    return lambda old: [{k: v for k, v in old[0].items() if k != name}, *old[1:]]


def without_last(old: Any) -> Any:
    return old[:-1]


def begin_after_end(old: Any) -> Any:
    return {**old, "begin": old["end"] + 1}


def status_is(*statuses: str) -> Callable[[Any], bool]:
    return lambda state: isinstance(state, dict) and state.get("status") in statuses


def is_object(node: Any) -> bool:
    return isinstance(node, dict)


def non_empty_list(node: Any) -> bool:
    return isinstance(node, list) and bool(node)


FULL = {"full": True}


def _m(label: str, code: str, at: Path, change: Callable[[Any], Any], **extra: Any) -> Mutation:
    """A mutation template: its kind (and, for job lists, a path prefix) is filled in per kind below."""
    return Mutation(label, code, "", at, change, **extra)


def _renamed(label: str, at: Path, name: str, **extra: Any) -> Mutation:
    """The first label of a score list renamed: unknown (label-set), and its old name missing (label-set-complete)."""
    return _m(label, "label-set", at, first_item(name=name), also=frozenset({"label-set-complete"}), **extra)


def _for_kind(kind: str, templates: list[Mutation], defaults: Mapping[str, Any], prefix: Path = ()) -> list[Mutation]:
    return [replace(t, kind=kind, at=prefix + t.at, needs={**defaults, **t.needs}) for t in templates]


def _root_type(kind: str, change: Callable[[Any], Any], label: str) -> Mutation:
    """The whole body has the wrong JSON type: reported at the root."""
    return Mutation(label, "schema-type", kind, (), change)


# ---------------------------------------------------------------------------------------------- jobs
# Paths relative to one job: the ``job`` kind uses them as they are, the ``jobs`` kind under every item.

_STATE = ("state",)
_REQUEST = ("request",)
_MODELS = ("request", "models")
_QUEUED, _IN_PROGRESS = {"status": "QUEUED"}, {"status": "IN_PROGRESS"}
_COMPLETED, _FAILED = {"status": "COMPLETED"}, {"status": "FAILED"}
_STARTED = status_is("IN_PROGRESS", "COMPLETED", "FAILED")
_ENDED = status_is("COMPLETED", "FAILED")

JOB_TEMPLATES = [
    _m("job_id missing", "schema-required", ("job_id",), delete),
    _m("request missing", "schema-required", _REQUEST, delete),
    _m("state missing", "schema-required", _STATE, delete),
    _m("type missing", "discriminator-missing", ("type",), delete),
    _m("type is not a job type", "discriminator-unknown", ("type",), to("INFERENCE_V2")),
    _m("type in lower case", "discriminator-unknown", ("type",), to("inference")),
    _m("job_id is a number", "schema-type", ("job_id",), to(12345)),
    _m("user_id is a number", "schema-type", ("user_id",), to(42)),
    _m("state is a string", "schema-type", _STATE, to("COMPLETED")),
    _m("status missing", "discriminator-missing", (*_STATE, "status"), delete),
    _m("status is not a status", "discriminator-unknown", (*_STATE, "status"), to("DONE")),
    _m("status in lower case", "discriminator-unknown", (*_STATE, "status"), to("completed")),
    _m("created_timestamp_ms missing", "schema-required", (*_STATE, "created_timestamp_ms"), delete),
    _m("created_timestamp_ms is a string", "schema-type", (*_STATE, "created_timestamp_ms"), str),
    _m("created_timestamp_ms is not whole", "schema-type", (*_STATE, "created_timestamp_ms"),
       lambda t: t - 0.5),  # earlier, so that it stays <= started
    _m("IN_PROGRESS without started_timestamp_ms", "schema-required", _STATE, without("started_timestamp_ms"),
       when=status_is("IN_PROGRESS"), suffix=("started_timestamp_ms",), needs=_IN_PROGRESS,
       variant="StateInference_InProgress"),
    _m("ended_timestamp_ms missing", "schema-required", (*_STATE, "ended_timestamp_ms"), delete,
       needs=_COMPLETED),
    _m("COMPLETED without num_predictions", "schema-required", (*_STATE, "num_predictions"), delete,
       needs=_COMPLETED, variant="StateInference_Completed"),
    _m("FAILED without message", "schema-required", (*_STATE, "message"), delete, needs=_FAILED,
       variant="StateInference_Failed"),
    _m("num_errors is a string", "schema-type", (*_STATE, "num_errors"), str, needs=_COMPLETED),
    _m("request without files", "schema-required", (*_REQUEST, "files"), delete, variant="InferenceRequest"),
    _m("a request file without md5sum", "schema-required", (*_REQUEST, "files", EACH, "md5sum"), delete),
    _m("files is an object", "schema-type", (*_REQUEST, "files"), to({})),
    _m("urls is a string", "schema-type", (*_REQUEST, "urls"), to("https://example.com/media/a.mp4")),
    _m("notify is a string", "schema-type", (*_REQUEST, "notify"), to("yes")),
    _m("callback_url is a number", "schema-type", (*_REQUEST, "callback_url"), to(123)),
    _m("transcription language is not a listed tag", "schema-enum", (*_REQUEST, "transcription", "language"),
       to("en-US")),
    _m("prosody granularity is not a granularity", "schema-enum", (*_MODELS, "prosody", "granularity"),
       to("paragraph")),
    _m("face prob_threshold above 1", "schema-range", (*_MODELS, "face", "prob_threshold"), to(1.5)),
    _m("face min_face_size negative", "schema-range", (*_MODELS, "face", "min_face_size"), to(-1)),
    _m("face min_face_size not whole", "schema-type", (*_MODELS, "face", "min_face_size"), to(60.5)),
    _m("prosody window length below 0.5", "schema-range", (*_MODELS, "prosody", "window", "length"),
       to(0.25)),
    _m("burst config is a string", "schema-type", (*_MODELS, "burst"), to("on")),
    # semantic rules
    _m("started before created", "state-timestamps-order", _STATE,
       with_fields(started_timestamp_ms=lambda s: s["created_timestamp_ms"] - 1),
       when=_STARTED, suffix=("started_timestamp_ms",), needs=_IN_PROGRESS),
    _m("ended before started", "state-timestamps-order", _STATE,
       with_fields(ended_timestamp_ms=lambda s: s["started_timestamp_ms"] - 1),
       when=_ENDED, suffix=("ended_timestamp_ms",), needs=_FAILED),
    _m("QUEUED with started_timestamp_ms", "state-fields", _STATE,
       with_fields(started_timestamp_ms=lambda s: s["created_timestamp_ms"]),
       when=status_is("QUEUED"), suffix=("started_timestamp_ms",), needs=_QUEUED),
    _m("QUEUED with num_predictions", "state-fields", _STATE, with_fields(num_predictions=lambda s: 0),
       when=status_is("QUEUED"), suffix=("num_predictions",), needs=_QUEUED),
    _m("IN_PROGRESS with ended_timestamp_ms", "state-fields", _STATE,
       with_fields(ended_timestamp_ms=lambda s: s["started_timestamp_ms"]),
       when=status_is("IN_PROGRESS"), suffix=("ended_timestamp_ms",), needs=_IN_PROGRESS),
    _m("IN_PROGRESS with num_errors", "state-fields", _STATE, with_fields(num_errors=lambda s: 0),
       when=status_is("IN_PROGRESS"), suffix=("num_errors",), needs=_IN_PROGRESS),
    _m("FAILED with an empty message", "state-fields", (*_STATE, "message"), to(""), needs=_FAILED),
    _m("negative num_predictions", "counts-non-negative", (*_STATE, "num_predictions"), to(-1),
       needs=_COMPLETED),
    _m("negative num_errors", "counts-non-negative", (*_STATE, "num_errors"), to(-3), needs=_COMPLETED),
    _m("job_id is a placeholder", "job-id-uuid", ("job_id",), to("job_id")),
    _m("job_id in the stream form (32 hex)", "job-id-uuid", ("job_id",),
       lambda job_id: job_id.replace("-", "")),
]  # fmt: skip

JOB_MUTATIONS = [
    _root_type("job", lambda job: [job], "job details is a list"),
    *_for_kind("job", JOB_TEMPLATES, FULL),
]
JOBS_MUTATIONS = [
    _root_type("jobs", lambda jobs: {"jobs": jobs}, "job list is an object"),
    *_for_kind("jobs", JOB_TEMPLATES, FULL, prefix=(EACH,)),
    Mutation("an other-type job without state", "schema-required", "jobs", (EACH, "state"), delete,
             needs={"job_types": OTHER_JOB_TYPES, "full": True}),
]  # fmt: skip
JOB_ID_MUTATIONS = [
    _root_type("job-id", lambda body: body["job_id"], "job id body is a bare string"),
    Mutation("job_id missing", "schema-required", "job-id", ("job_id",), delete),
    Mutation("job_id is a number", "schema-type", "job-id", ("job_id",), to(7)),
    Mutation("job_id is a placeholder", "job-id-uuid", "job-id", ("job_id",), to("job_id")),
]

# -------------------------------------------------------------------------------------- predictions

_SOURCE = (EACH, "source")
_RESULTS = (EACH, "results")
_PREDICTION = (EACH, "results", "predictions", EACH)
_MODEL_OUTPUT = (*_PREDICTION, "models")


def _group(model: str) -> Path:
    return (*_MODEL_OUTPUT, model, "grouped_predictions", EACH)


def _items(model: str) -> Path:
    return (*_group(model), "predictions", EACH)


_FACE, _PROSODY, _BURST = _items("face"), _items("prosody"), _items("burst")
_LANGUAGE, _NER, _FACEMESH = _items("language"), _items("ner"), _items("facemesh")
_METADATA = (*_MODEL_OUTPUT, EACH, "metadata")  # transcription metadata where it is an object
# Predictions bodies with every part present but few of each: every target exists, drawing stays cheap.
_SMALL_FULL = {"full": True, "max_sources": 1, "max_files": 1, "max_groups": 2, "max_items": 2}
_URL, _FILE = {"source_types": ("url",)}, {"source_types": ("file",)}
_SCORE, _LISTED = (0, "score"), non_empty_list

PREDICTIONS_TEMPLATES = [
    _m("source missing", "schema-required", (EACH, "source"), delete),
    _m("source type missing", "discriminator-missing", (*_SOURCE, "type"), delete),
    _m("source type unknown", "discriminator-unknown", (*_SOURCE, "type"), to("s3")),
    _m("url source without url", "schema-required", (*_SOURCE, "url"), delete, needs=_URL,
       variant="Source_Url"),
    _m("file source without md5sum", "schema-required", (*_SOURCE, "md5sum"), delete, needs=_FILE,
       variant="Source_File"),
    _m("file source filename is a number", "schema-type", (*_SOURCE, "filename"), to(7), needs=_FILE),
    _m("per-source error is an object", "schema-type", (EACH, "error"), to({"message": "x"})),
    _m("results without predictions", "schema-required", (*_RESULTS, "predictions"), delete),
    _m("results without errors", "schema-required", (*_RESULTS, "errors"), delete),
    _m("an error without message", "schema-required", (*_RESULTS, "errors", EACH, "message"), delete),
    _m("an error with an empty message", "error-message-empty", (*_RESULTS, "errors", EACH, "message"), to(" ")),
    _m("an error without file", "schema-required", (*_RESULTS, "errors", EACH, "file"), delete),
    _m("prediction without file", "schema-required", (*_PREDICTION, "file"), delete),
    _m("prediction without models", "schema-required", _MODEL_OUTPUT, delete),
    _m("models is a list", "schema-type", _MODEL_OUTPUT, to([])),
    _m("file_type is a number", "schema-type", (*_PREDICTION, "file_type"), to(1)),
    *[_m(f"{model} without grouped_predictions", "schema-required",
         (*_MODEL_OUTPUT, model, "grouped_predictions"), delete)
      for model in ("face", "burst", "prosody", "language", "ner", "facemesh")],
    _m("face group without id", "schema-required", (*_group("face"), "id"), delete),
    _m("prosody group id is a number", "schema-type", (*_group("prosody"), "id"), to(0)),
    _m("face without box", "schema-required", (*_FACE, "box"), delete, variant="FacePrediction"),
    _m("face box without h", "schema-required", (*_FACE, "box", "h"), delete, variant="BoundingBox"),
    _m("face prob is a string", "schema-type", (*_FACE, "prob"), to("0.99")),
    _m("face frame is not whole", "schema-type", (*_FACE, "frame"), lambda frame: frame + 0.5),
    _m("face emotions is an object", "schema-type", (*_FACE, "emotions"), to({"Joy": 0.5})),
    _m("face emotion score is a string", "schema-type", (*_FACE, "emotions"), first_item(score="high"),
       suffix=_SCORE),
    _m("face emotion without name", "schema-required", (*_FACE, "emotions"), first_item_without("name"),
       suffix=(0, "name")),
    _m("face facs is a string", "schema-type", (*_FACE, "facs"), to("none")),
    _m("face metadata is a string", "schema-type", (*_MODEL_OUTPUT, "face", "metadata"), to("none")),
    _m("burst without descriptions", "schema-required", (*_BURST, "descriptions"), delete,
       variant="BurstPrediction"),
    _m("prosody time is null", "schema-type", (*_PROSODY, "time"), to(None)),
    _m("prosody time without end", "schema-required", (*_PROSODY, "time", "end"), delete),
    _m("prosody text is a number", "schema-type", (*_PROSODY, "text"), to(3)),
    _m("language without text", "schema-required", (*_LANGUAGE, "text"), delete,
       variant="LanguagePrediction"),
    _m("language position begin is not whole", "schema-type", (*_LANGUAGE, "position"),
       lambda p: {"begin": p["begin"] + 0.5, "end": p["end"] + 1}, suffix=("begin",)),
    _m("language sentiment is a string", "schema-type", (*_LANGUAGE, "sentiment"), to("positive")),
    _m("toxicity item without score", "schema-required", (*_LANGUAGE, "toxicity"),
       first_item_without("score"), suffix=_SCORE, when=_LISTED),
    _m("ner without entity_confidence", "schema-required", (*_NER, "entity_confidence"), delete,
       variant="NerPrediction"),
    _m("ner uri is a number", "schema-type", (*_NER, "uri"), to(5)),
    _m("facemesh without emotions", "schema-required", (*_FACEMESH, "emotions"), delete),
    _m("transcription metadata without confidence", "schema-required", (*_METADATA, "confidence"), delete,
       variant="TranscriptionMetadata"),
    _m("detected_language is not a tag", "schema-enum", (*_METADATA, "detected_language"), to("english")),
    # semantic rules
    _m("prosody time begins after it ends", "interval-order", (*_PROSODY, "time"), begin_after_end),
    _m("burst time begins before 0", "interval-order", (*_BURST, "time", "begin"), to(-0.5)),
    _m("language position begins after it ends", "interval-order", (*_LANGUAGE, "position"), begin_after_end),
    _m("language time begins after it ends", "interval-order", (*_LANGUAGE, "time"), begin_after_end,
       when=is_object),
    _m("ner position begins after it ends", "interval-order", (*_NER, "position"), begin_after_end),
    _m("face prob above 1", "probability-range", (*_FACE, "prob"), to(1.5)),
    _m("face prob below 0", "probability-range", (*_FACE, "prob"), to(-0.1)),
    _m("prosody confidence above 1", "probability-range", (*_PROSODY, "confidence"), to(1.2)),
    _m("prosody speaker_confidence below 0", "probability-range", (*_PROSODY, "speaker_confidence"),
       to(-0.01)),
    _m("language confidence above 1", "probability-range", (*_LANGUAGE, "confidence"), to(1.0001)),
    _m("ner entity_confidence above 1", "probability-range", (*_NER, "entity_confidence"), to(2.0)),
    _m("sentiment score above 1", "probability-range", (*_LANGUAGE, "sentiment"), first_item(score=1.01),
       suffix=_SCORE, when=_LISTED),
    _m("toxicity score below 0", "probability-range", (*_LANGUAGE, "toxicity"), first_item(score=-0.5),
       suffix=_SCORE, when=_LISTED),
    _m("transcription confidence above 1", "probability-range", (*_METADATA, "confidence"), to(1.5)),
    _m("face box width negative", "box-size", (*_FACE, "box", "w"), to(-1.0)),
    _m("face box height negative", "box-size", (*_FACE, "box", "h"), to(-0.5)),
    _m("face frame negative", "frame-non-negative", (*_FACE, "frame"), to(-1)),
    _m("face time negative", "frame-non-negative", (*_FACE, "time"), to(-0.04)),
    _renamed("face emotion outside the 48", (*_FACE, "emotions"), "Happiness"),
    _renamed("face emotion from the language set", (*_FACE, "emotions"), "Annoyance"),
    _renamed("prosody emotion from the language set", (*_PROSODY, "emotions"), "Gratitude"),
    _renamed("burst emotion outside the 48", (*_BURST, "emotions"), "Laughter"),
    _renamed("facemesh emotion outside the 48", (*_FACEMESH, "emotions"), "Sarcasm"),
    _renamed("language emotion outside the 53", (*_LANGUAGE, "emotions"), "Happiness"),
    _renamed("ner emotion in lower case", (*_NER, "emotions"), "admiration"),
    _renamed("sentiment level outside 1..9", (*_LANGUAGE, "sentiment"), "10",
       when=_LISTED),
    _renamed("toxicity category unknown", (*_LANGUAGE, "toxicity"), "spam",
       when=_LISTED),
    _m("face emotion missing", "label-set-complete", (*_FACE, "emotions"), without_last),
    _m("ner emotion missing", "label-set-complete", (*_NER, "emotions"), without_last),
    _m("prosody emotion repeated", "label-set-complete", (*_PROSODY, "emotions"),
       lambda old: [*old[:-1], old[0]]),
    _m("sentiment level missing", "label-set-complete", (*_LANGUAGE, "sentiment"), without_last, when=_LISTED),
    _m("toxicity category missing", "label-set-complete", (*_LANGUAGE, "toxicity"), without_last, when=_LISTED),
]  # fmt: skip

PREDICTIONS_MUTATIONS = [
    _root_type("predictions", lambda body: body[0], "predictions body is an object, not a list"),
    *_for_kind("predictions", PREDICTIONS_TEMPLATES, _SMALL_FULL),
]

# ------------------------------------------------------------------------------------------- stream


def _stream_items(model: str) -> Path:
    return (model, "predictions", EACH)


_S_FACE, _S_PROSODY, _S_BURST = _stream_items("face"), _stream_items("prosody"), _stream_items("burst")
_S_LANGUAGE, _S_FACEMESH = _stream_items("language"), _stream_items("facemesh")
_STREAM_JOB_ID = ("job_details", "job_id")
_ERROR_MESSAGE = {"message_types": ("error",)}
_WARNING_MESSAGE = {"message_types": ("warning",)}
_WARNED_MODELS = {"warnings": True}
_PATTERN_AND_RULE = frozenset({"job-id-uuid"})  # a rule may check the stream job id's form as well


def _dashed(job_id: str) -> str:
    return f"{job_id[:8]}-{job_id[8:12]}-{job_id[12:16]}-{job_id[16:20]}-{job_id[20:]}"


STREAM_TEMPLATES = [
    _m("face predictions is an object", "schema-type", ("face", "predictions"), to({})),
    _m("face without bbox", "schema-required", (*_S_FACE, "bbox"), delete,
       variant="StreamModelPredictionsFacePredictionsItem"),
    _m("face bbox without w", "schema-required", (*_S_FACE, "bbox", "w"), delete,
       variant="StreamBoundingBox"),
    _m("face prob is a string", "schema-type", (*_S_FACE, "prob"), to("high")),
    _m("face_id is a number", "schema-type", (*_S_FACE, "face_id"), to(0)),
    _m("prosody time without begin", "schema-required", (*_S_PROSODY, "time", "begin"), delete),
    _m("language position is a string", "schema-type", (*_S_LANGUAGE, "position"), to("0-4")),
    _m("facemesh emotion without score", "schema-required", (*_S_FACEMESH, "emotions"),
       first_item_without("score"), suffix=_SCORE),
    _m("per-model warning without code", "schema-required", ("face", "code"), delete, needs=_WARNED_MODELS,
       variant="StreamModelWarning"),
    _m("per-model warning code malformed", "schema-pattern", ("burst", "code"), to("W101"),
       needs=_WARNED_MODELS),
    _m("payload_id is a number", "schema-type", ("payload_id",), to(7)),
    _m("job_details is a string", "schema-type", ("job_details",), to("0f3a")),
    _m("error message without code", "schema-required", (), without("code"), when=has("error"),
       suffix=("code",), needs=_ERROR_MESSAGE, variant="StreamErrorMessage"),
    _m("error message code malformed", "schema-pattern", ("code",), to("E12"), needs=_ERROR_MESSAGE),
    _m("error text is a number", "schema-type", ("error",), to(102), needs=_ERROR_MESSAGE),
    _m("warning message without code", "schema-required", (), without("code"), when=has("warning"),
       suffix=("code",), needs=_WARNING_MESSAGE, variant="StreamWarningMessage"),
    _m("warning message code in lower case", "schema-pattern", ("code",), str.lower, needs=_WARNING_MESSAGE),
    _m("stream job id in the dashed UUID form", "schema-pattern", _STREAM_JOB_ID, _dashed,
       also=_PATTERN_AND_RULE),
    _m("stream job id in upper case", "schema-pattern", _STREAM_JOB_ID,
       lambda job_id: ("F" + job_id[1:]).upper(), also=_PATTERN_AND_RULE),
    # semantic rules
    _m("face bbox width negative", "box-size", (*_S_FACE, "bbox", "w"), to(-2.0)),
    _m("face bbox height negative", "box-size", (*_S_FACE, "bbox", "h"), to(-0.1)),
    _m("face frame negative", "frame-non-negative", (*_S_FACE, "frame"), to(-1.0)),
    _m("face time negative", "frame-non-negative", (*_S_FACE, "time"), to(-0.5)),
    _m("face prob above 1", "probability-range", (*_S_FACE, "prob"), to(1.01)),
    _m("prosody time begins after it ends", "interval-order", (*_S_PROSODY, "time"), begin_after_end),
    _m("burst time begins before 0", "interval-order", (*_S_BURST, "time", "begin"), to(-1.0)),
    _m("language position begins after it ends", "interval-order", (*_S_LANGUAGE, "position"),
       begin_after_end),
    _m("sentiment score above 1", "probability-range", (*_S_LANGUAGE, "sentiment"), first_item(score=1.5),
       suffix=_SCORE, when=_LISTED),
    _m("toxicity score below 0", "probability-range", (*_S_LANGUAGE, "toxicity"), first_item(score=-0.1),
       suffix=_SCORE, when=_LISTED),
    _renamed("face emotion outside the 48", (*_S_FACE, "emotions"), "Happiness"),
    _renamed("language emotion outside the 53", (*_S_LANGUAGE, "emotions"), "Bliss"),
    _renamed("sentiment level outside 1..9", (*_S_LANGUAGE, "sentiment"), "0",
       when=_LISTED),
    _m("face emotion missing", "label-set-complete", (*_S_FACE, "emotions"), without_last),
    _m("language emotion missing", "label-set-complete", (*_S_LANGUAGE, "emotions"), without_last),
]  # fmt: skip

STREAM_MESSAGE_MUTATIONS = [
    _root_type("stream-message", lambda message: [message], "reply frame is a list"),
    *_for_kind("stream-message", STREAM_TEMPLATES, {"message_types": ("predictions",), "full": True}),
]

MUTATIONS: dict[str, list[Mutation]] = {
    "job": JOB_MUTATIONS,
    "jobs": JOBS_MUTATIONS,
    "job-id": JOB_ID_MUTATIONS,
    "predictions": PREDICTIONS_MUTATIONS,
    "stream-message": STREAM_MESSAGE_MUTATIONS,
}
ALL_MUTATIONS: list[Mutation] = [mutation for catalogue in MUTATIONS.values() for mutation in catalogue]


def mutated(kind: str, mutation: Mutation | None = None) -> st.SearchStrategy[Mutant]:
    """A valid body of ``kind`` broken by one mutation at one of its targets.

    With ``mutation``, that one (drawn from a body made to contain its target); otherwise any mutation of the
    kind that applies to the drawn body.
    """
    if kind not in MUTATIONS:
        raise ValueError(f"no mutations for kind {kind!r}; expected one of {', '.join(RESPONSE_KINDS)}")
    if mutation is not None and mutation.kind != kind:
        raise ValueError(f"mutation {mutation.label!r} is for kind {mutation.kind!r}, not {kind!r}")
    return _mutants(kind, mutation)


@st.composite
def _mutants(draw: st.DrawFn, kind: str, mutation: Mutation | None) -> Mutant:
    options = dict(mutation.needs) if mutation else {"full": draw(st.booleans())}
    body = draw(valid_responses(kind, **options))
    candidates = [mutation] if mutation else MUTATIONS[kind]
    applicable = [m for m in candidates if m.targets(body)]
    assume(applicable)
    chosen = draw(st.sampled_from(applicable))
    broken, where = chosen.apply(body, draw(st.sampled_from(chosen.targets(body))))
    return Mutant(chosen, broken, where)
