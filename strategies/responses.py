"""Valid RESPONSES of Hume's Expression Measurement API, shaped like the real ones.

Every body drawn here satisfies the repaired contract and its semantic rules (timestamps in order, state
fields per status, probabilities in [0, 1], boxes and intervals well formed, label sets per model, UUID job
ids). Shapes copy the real recordings (``tests/data/corpus/recorded``): key order, ``null`` where the API
sends it (face ``metadata``/``facs``/``descriptions``, language ``time``/``sentiment``/``toxicity``, ...),
``file_type``, groups with ids ``unknown``, ``face_0``.., ``spk_0``.., emotions sorted by name.

Kinds, as ``contracts.validation`` names them, and their strategies:
- ``job``: ``jobs()`` (an INFERENCE job with its request echo; ``job_types`` adds EMBEDDING_GENERATION, ...)
- ``jobs``: ``job_lists()``; ``job-id``: ``job_id_bodies()``; ``predictions``: ``predictions_bodies()``
- ``stream-message``: ``stream_messages()`` (predictions with ``bbox``/``face_id``, per-model warnings,
  error and warning messages, ``job_details`` with 32-hex job ids, ``payload_id`` echoed)
``valid_responses(kind, **options)`` gives the strategy of any kind. ``full=True`` turns every optional part
on (all models, metadata objects, facs/descriptions, sentiment/toxicity, a per-source error, ...), so that a
mutation always finds what it breaks. ``max_items``/``max_groups`` bound sizes (small by default, to keep
tests fast); ``build_predictions_body(target_bytes, seed)`` makes big bodies without Hypothesis.

Emotion embeddings are drawn from a seeded ``random.Random`` plus one Hypothesis-chosen edge value: the
values themselves are not what validators care about, and this keeps a 48-score list to three choices.
"""

from __future__ import annotations

import json
import random
import string
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

Json = dict[str, Any]

# ---------------------------------------------------------------------------------------------- label sets
# Copied from NAMES.md (sections 1-7), not read from contracts/data/labels.json: the strategies are an
# independent check of the validator's label sets. Sorted by name, as the API returns them.

EXPRESSION_EMOTIONS: tuple[str, ...] = (
    "Admiration", "Adoration", "Aesthetic Appreciation", "Amusement", "Anger", "Anxiety", "Awe",
    "Awkwardness", "Boredom", "Calmness", "Concentration", "Confusion", "Contemplation", "Contempt",
    "Contentment", "Craving", "Desire", "Determination", "Disappointment", "Disgust", "Distress", "Doubt",
    "Ecstasy", "Embarrassment", "Empathic Pain", "Entrancement", "Envy", "Excitement", "Fear", "Guilt",
    "Horror", "Interest", "Joy", "Love", "Nostalgia", "Pain", "Pride", "Realization", "Relief", "Romance",
    "Sadness", "Satisfaction", "Shame", "Surprise (negative)", "Surprise (positive)", "Sympathy", "Tiredness",
    "Triumph",
)  # fmt: skip
LANGUAGE_ONLY_EMOTIONS = ("Annoyance", "Disapproval", "Enthusiasm", "Gratitude", "Sarcasm")
LANGUAGE_EMOTIONS: tuple[str, ...] = tuple(sorted(EXPRESSION_EMOTIONS + LANGUAGE_ONLY_EMOTIONS))
SENTIMENT_LEVELS = tuple(str(level) for level in range(1, 10))
TOXICITY_CATEGORIES = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
# THIRD-PARTY lists (NAMES.md 5-7): the validator does not check these names; a few are enough.
FACS_NAMES = (
    "AU1 Inner Brow Raise",
    "AU2 Outer Brow Raise",
    "AU4 Brow Lowerer",
    "AU6 Cheek Raise",
    "AU12 Lip Corner Puller",
    "AU25 Lips Part",
    "AU26 Jaw Drop",
)
FACE_DESCRIPTIONS = ("Beaming", "Frown", "Grimace", "Grin", "Laugh", "Smile", "Smirk", "Squint", "Wide-eyed")
BURST_DESCRIPTIONS = ("Ah", "Aha", "Chuckle", "Gasp", "Giggle", "Hmm", "Laugh", "Sigh", "Ugh", "Wow")

BATCH_MODELS = ("face", "burst", "prosody", "language", "ner", "facemesh")
STREAM_MODELS = ("burst", "face", "facemesh", "language", "prosody")  # Fern order; no ner in streaming
EMOTIONS_BY_MODEL: dict[str, tuple[str, ...]] = {
    "face": EXPRESSION_EMOTIONS,
    "burst": EXPRESSION_EMOTIONS,
    "prosody": EXPRESSION_EMOTIONS,
    "facemesh": EXPRESSION_EMOTIONS,
    "language": LANGUAGE_EMOTIONS,
    "ner": LANGUAGE_EMOTIONS,
}
# Which models run on which detected file type. Only video, video_no_audio and text were seen for real;
# facemesh input is landmarks, so where it sits is a guess (file_type is a free string in the contract).
MODELS_BY_FILE_TYPE: dict[str, tuple[str, ...]] = {
    "video": ("face", "burst", "prosody", "language", "ner", "facemesh"),
    "video_no_audio": ("face", "facemesh"),
    "audio": ("burst", "prosody", "language", "ner"),
    "image": ("face", "facemesh"),
    "text": ("language", "ner"),
}
EXTENSION_BY_FILE_TYPE = {
    "video": "mp4",
    "video_no_audio": "mp4",
    "audio": "wav",
    "image": "jpg",
    "text": "txt",
}
CONTENT_TYPE_BY_EXTENSION = {"mp4": "video/mp4", "wav": "audio/wav", "jpg": "image/jpeg", "txt": "text/plain"}
TRANSCRIBED_MODELS = ("prosody", "language", "ner")  # their metadata is TranscriptionMetadata, others null

STATUSES = ("QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED")
OTHER_JOB_TYPES = ("EMBEDDING_GENERATION", "TL_INFERENCE", "TRAINING")
GRANULARITIES = ("word", "sentence", "utterance", "conversational_turn")
BCP47_TAGS = (
    "zh", "da", "nl", "en", "en-AU", "en-IN", "en-NZ", "en-GB", "fr", "fr-CA", "de", "hi", "hi-Latn", "id",
    "it", "ja", "ko", "no", "pl", "pt", "pt-BR", "pt-PT", "ru", "es", "es-419", "sv", "ta", "tr", "uk",
)  # fmt: skip

# Stream codes with their texts (SDK_FACTS.md section 6); W-codes name the model whose key carries them.
STREAM_ERRORS = {
    "E0100": "Payload is not valid JSON.",
    "E0101": "Payload is missing a required field or has an invalid field.",
    "E0102": "Streaming payload configured with model type 'prosody', which is not supported for the "
    "detected file type 'image'.",
    "E0200": "Media could not be parsed.",
    "E0201": "Data is not valid base64.",
    "E0202": "No audio signal detected.",
    "E0203": "Audio duration exceeds the 5000 ms limit.",
    "E0204": "Video is too long.",
    "E0205": "Image exceeds the maximum resolution of 3000x3000.",
    "E0300": "Out of credits.",
    "I0100": "Internal error, please try again.",
}
STREAM_MODEL_WARNINGS = {
    "burst": ("W0101", "No vocal bursts detected."),
    "facemesh": ("W0102", "No facemeshes detected."),
    "face": ("W0103", "No faces detected."),
}

EXAMPLE_HOST = "https://example.com"  # bodies name example.com only; nothing is ever fetched
WORDS = (
    "how", "would", "you", "describe", "the", "day", "let", "me", "remember", "for", "a", "second", "since",
    "I", "was", "so", "happy", "to", "see", "it", "again", "okay", "well", "yes",
)  # fmt: skip
ENTITIES = (
    ("Paris", "https://www.wikidata.org/wiki/Q90"),
    ("Hume", "https://www.wikidata.org/wiki/Q41568"),
    ("Python", "https://www.wikidata.org/wiki/Q28865"),
)
FAILURE_MESSAGES = ("Job failed.", "No valid media found in the request.", "Failed to download a URL.")
MIN_TIMESTAMP_MS = 1_600_000_000_000  # 2020-09
MAX_TIMESTAMP_MS = 1_900_000_000_000  # 2030-03
MAX_EMBEDDING = 1.2  # emotion scores are embeddings, not probabilities: real face scores reach 1.036
FPS_CHOICES = (25.0, 29.97, 30.0)

# ------------------------------------------------------------------------ shapes, in the real key order
# Plain constructors shared by the Hypothesis strategies and the deterministic builder.


def scores(names: Sequence[str], values: Sequence[float]) -> list[Json]:
    return [{"name": name, "score": value} for name, value in zip(names, values, strict=True)]


def bounding_box(x: float, y: float, w: float, h: float) -> Json:
    return {"x": x, "y": y, "w": w, "h": h}


def interval(begin: float, end: float) -> Json:
    return {"begin": begin, "end": end}


def face_prediction(
    frame: int,
    time: float,
    prob: float,
    box: Json,
    emotions: list[Json],
    facs: list[Json] | None = None,
    descriptions: list[Json] | None = None,
) -> Json:
    return {
        "frame": frame,
        "time": time,
        "prob": prob,
        "box": box,
        "emotions": emotions,
        "facs": facs,
        "descriptions": descriptions,
    }


def burst_prediction(time: Json, emotions: list[Json], descriptions: list[Json]) -> Json:
    return {"time": time, "emotions": emotions, "descriptions": descriptions}


def prosody_prediction(
    text: str | None,
    time: Json,
    confidence: float | None,
    speaker_confidence: float | None,
    emotions: list[Json],
) -> Json:
    return {
        "text": text,
        "time": time,
        "confidence": confidence,
        "speaker_confidence": speaker_confidence,
        "emotions": emotions,
    }


def language_prediction(
    text: str,
    position: Json,
    time: Json | None,
    confidence: float | None,
    speaker_confidence: float | None,
    emotions: list[Json],
    sentiment: list[Json] | None,
    toxicity: list[Json] | None,
) -> Json:
    return {
        "text": text,
        "position": position,
        "time": time,
        "confidence": confidence,
        "speaker_confidence": speaker_confidence,
        "emotions": emotions,
        "sentiment": sentiment,
        "toxicity": toxicity,
    }


def ner_prediction(
    entity: str,
    position: Json,
    entity_confidence: float,
    support: float,
    uri: str,
    link_word: str,
    time: Json | None,
    confidence: float | None,
    speaker_confidence: float | None,
    emotions: list[Json],
) -> Json:
    return {
        "entity": entity,
        "position": position,
        "entity_confidence": entity_confidence,
        "support": support,
        "uri": uri,
        "link_word": link_word,
        "time": time,
        "confidence": confidence,
        "speaker_confidence": speaker_confidence,
        "emotions": emotions,
    }


def facemesh_prediction(emotions: list[Json]) -> Json:
    return {"emotions": emotions}


def group(group_id: str, predictions: list[Json]) -> Json:
    return {"id": group_id, "predictions": predictions}


def model_output(metadata: Json | None, groups: list[Json]) -> Json:
    return {"metadata": metadata, "grouped_predictions": groups}


def transcription_metadata(confidence: float, detected_language: str) -> Json:
    return {"confidence": confidence, "detected_language": detected_language}


def inference_prediction(file: str, file_type: str, models: Json) -> Json:
    return {"file": file, "file_type": file_type, "models": models}


def source_result(
    source: Json, predictions: list[Json] | None, errors: list[Json] | None = None, error: str | None = None
) -> Json:
    """One item of a predictions body: ``results`` unless the whole source failed, ``error`` if any."""
    result: Json = {"source": source}
    if predictions is not None:
        result["results"] = {"predictions": predictions, "errors": errors or []}
    if error is not None:
        result["error"] = error
    return result


# ------------------------------------------------------------------------------------- small values


def unit_floats() -> st.SearchStrategy[float]:
    """A probability or confidence: [0, 1] with both ends included."""
    return st.floats(0, 1, allow_nan=False)


def coordinates(high: float = 4000) -> st.SearchStrategy[float]:
    return st.floats(0, high, allow_nan=False)


def _seeded_embedding(names: Sequence[str], seed: int, edge_index: int, edge_value: float) -> list[Json]:
    rng = random.Random(seed)
    values = [rng.random() ** 2 * 0.8 for _ in names]  # like real scores: mostly small, a few large
    values[edge_index % len(values)] = edge_value
    return scores(names, values)


def emotion_scores(names: Sequence[str]) -> st.SearchStrategy[list[Json]]:
    """Every name of the model, in order, with an embedding score in [0, 1.2] (one drawn at the edges)."""
    return st.builds(
        _seeded_embedding,
        st.just(tuple(names)),
        st.integers(0, 2**32 - 1),
        st.integers(0, len(names) - 1),
        st.floats(0, MAX_EMBEDDING, allow_nan=False),
    )


def _distribution(weights: Sequence[float]) -> list[float]:
    total = sum(weights)
    if total <= 0:
        return [1 / len(weights)] * len(weights)
    return [weight / total for weight in weights]  # each <= 1: w <= total and IEEE division is monotone


def sentiment_scores() -> st.SearchStrategy[list[Json]]:
    """A distribution over the nine sentiment levels (it sums to about 1, as real ones do)."""
    weights = st.lists(unit_floats(), min_size=len(SENTIMENT_LEVELS), max_size=len(SENTIMENT_LEVELS))
    return weights.map(lambda w: scores(SENTIMENT_LEVELS, _distribution(w)))


def toxicity_scores() -> st.SearchStrategy[list[Json]]:
    """Independent probabilities for the six toxicity categories."""
    values = st.lists(unit_floats(), min_size=len(TOXICITY_CATEGORIES), max_size=len(TOXICITY_CATEGORIES))
    return values.map(lambda v: scores(TOXICITY_CATEGORIES, v))


def named_scores(names: Sequence[str]) -> st.SearchStrategy[list[Json]]:
    """FACS or description scores: a few names, each an embedding value."""
    picked = st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True).map(sorted)
    return picked.flatmap(
        lambda chosen: st.lists(st.floats(0, 1, allow_nan=False), min_size=len(chosen), max_size=len(chosen)).map(
            lambda values: scores(chosen, values)
        )
    )


def maybe(strategy: st.SearchStrategy[Any], full: bool) -> st.SearchStrategy[Any]:
    """``null`` or a value, as the API sends unrequested options; always a value when ``full``."""
    return strategy if full else st.none() | strategy


@st.composite
def time_intervals(draw: st.DrawFn, start: float = 0, max_seconds: float = 600) -> Json:
    """begin <= end, both >= 0 (begin == end included)."""
    begin = draw(st.floats(start, start + max_seconds, allow_nan=False))
    return interval(begin, begin + draw(st.floats(0, 30, allow_nan=False)))


@st.composite
def position_intervals(draw: st.DrawFn, as_float: bool = False) -> Json:
    """Character offsets, begin inclusive, end exclusive; doubles in streaming."""
    begin = draw(st.integers(0, 5000))
    end = begin + draw(st.integers(0, 40))
    return interval(float(begin), float(end)) if as_float else interval(begin, end)


def words_text(max_words: int = 8) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(WORDS), min_size=1, max_size=max_words).map(" ".join)


def hex_strings(length: int) -> st.SearchStrategy[str]:
    return st.text("0123456789abcdef", min_size=length, max_size=length)


def stream_job_ids() -> st.SearchStrategy[str]:
    """A stream job id: 32 lowercase hex characters, no dashes."""
    return st.uuids().map(lambda value: value.hex)


def batch_job_ids() -> st.SearchStrategy[str]:
    """A batch job id: the dashed UUID form."""
    return st.uuids().map(str)


def file_stems() -> st.SearchStrategy[str]:
    return st.text(string.ascii_lowercase + string.digits + "_-", min_size=1, max_size=16)


# ------------------------------------------------------------------------- batch prediction items


@st.composite
def face_predictions(draw: st.DrawFn, full: bool = False) -> Json:
    fps = draw(st.sampled_from(FPS_CHOICES))
    frame = draw(st.integers(0, 100_000))
    box = bounding_box(draw(coordinates()), draw(coordinates()), draw(coordinates(2000)), draw(coordinates(2000)))
    return face_prediction(
        frame=frame,
        time=frame / fps,
        prob=draw(unit_floats()),
        box=box,
        emotions=draw(emotion_scores(EXPRESSION_EMOTIONS)),
        facs=draw(maybe(named_scores(FACS_NAMES), full)),
        descriptions=draw(maybe(named_scores(FACE_DESCRIPTIONS), full)),
    )


def burst_predictions(full: bool = False) -> st.SearchStrategy[Json]:
    return st.builds(
        burst_prediction,
        time=time_intervals(),
        emotions=emotion_scores(EXPRESSION_EMOTIONS),
        descriptions=named_scores(BURST_DESCRIPTIONS),  # required for burst, unlike face
    )


def prosody_predictions(full: bool = False) -> st.SearchStrategy[Json]:
    return st.builds(
        prosody_prediction,
        text=maybe(words_text(), full),
        time=time_intervals(),
        confidence=maybe(unit_floats(), full),
        speaker_confidence=maybe(unit_floats(), full),
        emotions=emotion_scores(EXPRESSION_EMOTIONS),
    )


def language_predictions(full: bool = False) -> st.SearchStrategy[Json]:
    return st.builds(
        language_prediction,
        text=words_text(3),
        position=position_intervals(),
        time=maybe(time_intervals(), full),  # null for text input
        confidence=maybe(unit_floats(), full),
        speaker_confidence=maybe(unit_floats(), full),
        emotions=emotion_scores(LANGUAGE_EMOTIONS),
        sentiment=maybe(sentiment_scores(), full),
        toxicity=maybe(toxicity_scores(), full),
    )


@st.composite
def ner_predictions(draw: st.DrawFn, full: bool = False) -> Json:
    entity, uri = draw(st.sampled_from(ENTITIES))
    return ner_prediction(
        entity=entity,
        position=draw(position_intervals()),
        entity_confidence=draw(unit_floats()),
        support=draw(st.floats(0, 100, allow_nan=False)),
        uri=uri,
        link_word=entity.lower(),
        time=draw(maybe(time_intervals(), full)),
        confidence=draw(maybe(unit_floats(), full)),
        speaker_confidence=draw(maybe(unit_floats(), full)),
        emotions=draw(emotion_scores(LANGUAGE_EMOTIONS)),
    )


def facemesh_predictions(full: bool = False) -> st.SearchStrategy[Json]:
    return st.builds(facemesh_prediction, emotion_scores(EXPRESSION_EMOTIONS))


PREDICTION_ITEMS: dict[str, Callable[[bool], st.SearchStrategy[Json]]] = {
    "face": face_predictions,
    "burst": burst_predictions,
    "prosody": prosody_predictions,
    "language": language_predictions,
    "ner": ner_predictions,
    "facemesh": facemesh_predictions,
}
GROUP_ID_PREFIX = {"face": "face", "facemesh": "face"}  # voices are grouped by speaker: spk_0, spk_1, ...


@st.composite
def group_ids(draw: st.DrawFn, model: str, count: int) -> list[str]:
    """``unknown`` when identification is off, else ``face_N``/``spk_N`` in any order (maybe ``unknown``)."""
    if count == 1 and draw(st.booleans()):
        return ["unknown"]
    prefix = GROUP_ID_PREFIX.get(model, "spk")
    ids = draw(st.permutations([f"{prefix}_{n}" for n in range(count)]))
    if model not in GROUP_ID_PREFIX and draw(st.booleans()):
        ids[-1] = "unknown"  # real prosody with speakers: spk_1, spk_0, unknown
    return ids


@st.composite
def model_outputs(
    draw: st.DrawFn,
    model: str,
    transcribed: bool = True,
    full: bool = False,
    max_groups: int = 2,
    max_items: int = 3,
) -> Json:
    """``{"metadata": ..., "grouped_predictions": [...]}`` of one model; at least one item when ``full``."""
    min_items = 1 if full else 0
    count = draw(st.integers(1, max_groups))
    items = PREDICTION_ITEMS[model](full)
    groups = [
        group(group_id, draw(st.lists(items, min_size=min_items, max_size=max_items)))
        for group_id in draw(group_ids(model, count))
    ]
    metadata = None
    if model in TRANSCRIBED_MODELS and transcribed:  # text input has no transcription: metadata null
        confidence = draw(unit_floats())
        metadata = transcription_metadata(confidence, draw(st.sampled_from(BCP47_TAGS)))
    return model_output(metadata, groups)


# ------------------------------------------------------------------------------- predictions bodies


def url_sources(file_type: str) -> st.SearchStrategy[Json]:
    extension = EXTENSION_BY_FILE_TYPE[file_type]
    return file_stems().map(lambda stem: {"type": "url", "url": f"{EXAMPLE_HOST}/media/{stem}.{extension}"})


@st.composite
def file_sources(draw: st.DrawFn, file_type: str) -> Json:
    extension = EXTENSION_BY_FILE_TYPE[file_type]
    content_type = draw(st.none() | st.just(CONTENT_TYPE_BY_EXTENSION[extension]))  # real uploads: null
    return {
        "type": "file",
        "filename": f"{draw(file_stems())}.{extension}",
        "content_type": content_type,
        "md5sum": draw(hex_strings(32)),
    }


def text_sources() -> st.SearchStrategy[Json]:
    return st.just({"type": "text"})


def file_name_of(source: Json, index: int) -> str:
    """The ``file`` of a prediction: the media's own name, or the index of a text item (``"2"``)."""
    if source["type"] == "url":
        return source["url"].rsplit("/", 1)[-1]
    if source["type"] == "file":
        return source["filename"]
    return str(index)


@st.composite
def source_results(
    draw: st.DrawFn,
    source_type: str | None = None,
    full: bool = False,
    max_files: int = 2,
    max_groups: int = 2,
    max_items: int = 3,
) -> Json:
    """One source and its results: one prediction per file (text sources: per text item)."""
    source_type = source_type or draw(st.sampled_from(("url", "file", "text")))
    if source_type == "text":
        file_type, source = "text", draw(text_sources())
    else:
        file_type = "video" if full else draw(st.sampled_from(("video", "video_no_audio", "audio", "image")))
        source = draw(url_sources(file_type) if source_type == "url" else file_sources(file_type))
    available = MODELS_BY_FILE_TYPE[file_type]
    predictions = []
    for index in range(draw(st.integers(1, max_files))):
        chosen = available if full else draw(st.lists(st.sampled_from(available), min_size=1, unique=True))
        models = {
            model: draw(model_outputs(model, file_type != "text", full, max_groups, max_items))
            for model in BATCH_MODELS
            if model in chosen
        }
        predictions.append(inference_prediction(file_name_of(source, index), file_type, models))
    errors = draw(st.lists(file_errors(), min_size=1 if full else 0, max_size=2))
    return source_result(source, predictions, errors)


@st.composite
def file_errors(draw: st.DrawFn) -> Json:
    return {
        "message": draw(st.sampled_from(("Unsupported file type.", "File could not be decoded."))),
        "file": f"{draw(file_stems())}.bin",
    }


@st.composite
def failed_source_results(draw: st.DrawFn) -> Json:
    """A source that failed as a whole: ``error`` and no ``results``."""
    source = draw(url_sources("video"))
    return source_result(source, None, error=f"Failed to download {source['url']}.")


@st.composite
def predictions_bodies(
    draw: st.DrawFn,
    source_types: Sequence[str] = ("url", "file", "text"),
    full: bool = False,
    max_sources: int = 2,
    max_files: int = 2,
    max_groups: int = 2,
    max_items: int = 3,
) -> list[Json]:
    """A ``GET /v0/batch/jobs/{id}/predictions`` body: one entry per source of the job.

    ``full``: every media source runs every model with every option, and a failed source follows.
    """
    count = draw(st.integers(1, max_sources))
    types = draw(st.lists(st.sampled_from(tuple(source_types)), min_size=count, max_size=count))
    body = [draw(source_results(t, full, max_files, max_groups, max_items)) for t in types]
    if full or draw(st.integers(0, 4)) == 0:
        body.append(draw(failed_source_results()))
    return body


# ------------------------------------------------------------------------------------------- jobs


@st.composite
def job_states(draw: st.DrawFn, status: str | None = None) -> Json:
    """A ``StateInference``: the fields of its status only, timestamps created <= started <= ended."""
    status = status or draw(st.sampled_from(STATUSES))
    created = draw(st.integers(MIN_TIMESTAMP_MS, MAX_TIMESTAMP_MS))
    state: Json = {"status": status, "created_timestamp_ms": created}
    if status == "QUEUED":
        return state
    state["started_timestamp_ms"] = started = created + draw(st.integers(0, 600_000))
    if status == "IN_PROGRESS":
        return state
    state["ended_timestamp_ms"] = started + draw(st.integers(0, 3_600_000))
    if status == "COMPLETED":
        state["num_predictions"] = draw(st.integers(0, 10_000))
        state["num_errors"] = draw(st.integers(0, 100))
    else:
        state["message"] = draw(st.sampled_from(FAILURE_MESSAGES))
    return state


@st.composite
def face_echoes(draw: st.DrawFn, full: bool = False) -> Json:
    """The face config as a job echoes it: all options filled in, ``null`` for facs/descriptions not asked."""
    switch = st.just({}) if full else st.sampled_from((None, {}))
    return {
        "descriptions": draw(switch),
        "facs": draw(switch),
        "fps_pred": draw(st.sampled_from((0, 1, 3, 3.0, 30))),
        "identify_faces": draw(st.booleans()),
        "min_face_size": draw(st.sampled_from((0, 60, 120))),
        "prob_threshold": draw(unit_floats()),
        "save_faces": draw(st.booleans()),
    }


@st.composite
def prosody_echoes(draw: st.DrawFn, full: bool = False) -> Json:
    window = st.builds(
        lambda length, step: {"length": length, "step": step},
        st.floats(0.5, 30, allow_nan=False),
        st.floats(0.5, 30, allow_nan=False),
    )
    return {
        "granularity": draw(st.sampled_from(GRANULARITIES)),
        "identify_speakers": draw(st.booleans()),
        "window": draw(maybe(window, full)),
    }


@st.composite
def language_echoes(draw: st.DrawFn, full: bool = False) -> Json:
    switch = st.just({}) if full else st.sampled_from((None, {}))
    return {
        "granularity": draw(st.sampled_from(GRANULARITIES)),
        "identify_speakers": draw(st.booleans()),
        "sentiment": draw(switch),
        "toxicity": draw(switch),
    }


MODEL_ECHOES: dict[str, Callable[[bool], st.SearchStrategy[Json]]] = {
    "burst": lambda full: st.just({}),
    "face": face_echoes,
    "facemesh": lambda full: st.just({}),
    "language": language_echoes,
    "ner": lambda full: st.builds(lambda speakers: {"identify_speakers": speakers}, st.booleans()),
    "prosody": prosody_echoes,
}


@st.composite
def request_files(draw: st.DrawFn) -> Json:
    extension = draw(st.sampled_from(tuple(CONTENT_TYPE_BY_EXTENSION)))
    return {
        "filename": f"{draw(file_stems())}.{extension}",
        "md5sum": draw(hex_strings(32)),
        "content_type": CONTENT_TYPE_BY_EXTENSION[extension],
    }


@st.composite
def inference_requests(draw: st.DrawFn, full: bool = False) -> Json:
    """The ``request`` a job echoes: each requested model with its defaults filled in; files always there."""
    chosen = BATCH_MODELS if full else draw(st.lists(st.sampled_from(BATCH_MODELS), min_size=1, unique=True))
    request: Json = {"models": {model: draw(MODEL_ECHOES[model](full)) for model in sorted(chosen)}}
    if full or draw(st.booleans()):
        request["transcription"] = {
            "language": draw(st.sampled_from(BCP47_TAGS)),
            "identify_speakers": draw(st.booleans()),
            "confidence_threshold": draw(unit_floats()),
        }
    media_url = file_stems().map(lambda stem: f"{EXAMPLE_HOST}/media/{stem}.mp4")
    request["urls"] = draw(st.lists(media_url, min_size=1 if full else 0, max_size=2))
    request["files"] = draw(st.lists(request_files(), min_size=1 if full else 0, max_size=2))
    request["text"] = draw(st.lists(words_text(), min_size=1 if full else 0, max_size=2))
    callback = file_stems().map(lambda stem: f"{EXAMPLE_HOST}/hooks/{stem}")
    request["callback_url"] = draw(callback if full else st.none() | callback)
    request["notify"] = draw(st.booleans())
    if full or draw(st.booleans()):
        request["registry_files"] = []
    return request


@st.composite
def inference_jobs(draw: st.DrawFn, status: str | None = None, full: bool = False) -> Json:
    """An INFERENCE job (job details) with a realistic request echo; ``user_id`` sometimes, as in examples."""
    job: Json = {
        "type": "INFERENCE",
        "job_id": draw(batch_job_ids()),
        "request": draw(inference_requests(full)),
        "state": draw(job_states(status)),
    }
    if full or draw(st.booleans()):
        job["user_id"] = draw(st.uuids().map(str))
    return job


@st.composite
def other_jobs(draw: st.DrawFn, status: str | None = None, job_type: str | None = None) -> Json:
    """A job of another type (EMBEDDING_GENERATION, ...): its request is opaque to this contract."""
    job_type = job_type or draw(st.sampled_from(OTHER_JOB_TYPES))
    details = [{"file_id": draw(st.uuids().map(str)), "file_url": f"{EXAMPLE_HOST}/registry/{draw(file_stems())}"}]
    return {
        "type": job_type,
        "job_id": draw(batch_job_ids()),
        "request": {"registry_file_details": details},
        "state": draw(job_states(status)),
        "user_id": draw(st.uuids().map(str)),
    }


def jobs(
    job_types: Sequence[str] = ("INFERENCE",), status: str | None = None, full: bool = False
) -> st.SearchStrategy[Json]:
    """Job details (``GET /v0/batch/jobs/{id}``) of any of ``job_types``."""
    choices = [
        inference_jobs(status, full) if job_type == "INFERENCE" else other_jobs(status, job_type)
        for job_type in job_types
    ]
    return st.one_of(choices)


@st.composite
def job_lists(
    draw: st.DrawFn,
    job_types: Sequence[str] = ("INFERENCE",),
    status: str | None = None,
    full: bool = False,
    max_jobs: int = 4,
) -> list[Json]:
    """A ``GET /v0/batch/jobs`` body, newest first (the default direction); at least one job when ``full``."""
    listed = draw(st.lists(jobs(job_types, status, full), min_size=1 if full else 0, max_size=max_jobs))
    return sorted(listed, key=lambda job: job["state"]["created_timestamp_ms"], reverse=True)


def job_id_bodies(full: bool = False) -> st.SearchStrategy[Json]:
    """The answer to starting a job: ``{"job_id": "<uuid>"}`` (nothing optional: ``full`` changes nothing)."""
    return batch_job_ids().map(lambda job_id: {"job_id": job_id})


# ----------------------------------------------------------------------------------------- stream


@st.composite
def stream_face_predictions(draw: st.DrawFn, full: bool = False) -> Json:
    """A stream face: ``bbox`` and ``face_id`` (batch: ``box`` and groups); frame is a double here."""
    frame = float(draw(st.integers(0, 1000)))
    bbox = bounding_box(draw(coordinates()), draw(coordinates()), draw(coordinates(2000)), draw(coordinates(2000)))
    return {
        "frame": frame,
        "time": frame / draw(st.sampled_from(FPS_CHOICES)),
        "bbox": bbox,
        "prob": draw(unit_floats()),
        "face_id": draw(st.sampled_from(("unknown", "face_0", "face_1"))),
        "emotions": draw(emotion_scores(EXPRESSION_EMOTIONS)),
        "facs": draw(maybe(named_scores(FACS_NAMES), full)),
        "descriptions": draw(maybe(named_scores(FACE_DESCRIPTIONS), full)),
    }


def stream_timed_predictions(full: bool = False) -> st.SearchStrategy[Json]:
    """A prosody or burst item: a time range within the 5 s window, and the 48 emotions."""
    return st.builds(
        lambda time, emotions: {"time": time, "emotions": emotions},
        time_intervals(max_seconds=5),
        emotion_scores(EXPRESSION_EMOTIONS),
    )


@st.composite
def stream_language_predictions(draw: st.DrawFn, full: bool = False) -> Json:
    return {
        "text": draw(words_text(3)),
        "position": draw(position_intervals(as_float=True)),
        "emotions": draw(emotion_scores(LANGUAGE_EMOTIONS)),
        "sentiment": draw(maybe(sentiment_scores(), full)),
        "toxicity": draw(maybe(toxicity_scores(), full)),
    }


STREAM_ITEMS: dict[str, Callable[[bool], st.SearchStrategy[Json]]] = {
    "face": stream_face_predictions,
    "burst": stream_timed_predictions,
    "prosody": stream_timed_predictions,
    "language": stream_language_predictions,
    "facemesh": lambda full: st.builds(facemesh_prediction, emotion_scores(EXPRESSION_EMOTIONS)),
}


def stream_model_warnings(model: str) -> st.SearchStrategy[Json]:
    """A model key holding a warning instead of predictions: ``{"warning": ..., "code": "W0103"}``."""
    code, text = STREAM_MODEL_WARNINGS[model]
    return st.just({"warning": text, "code": code})


def _echo(message: Json, payload_id: str | None, job_id: str | None) -> Json:
    """``payload_id`` then ``job_details`` first, as the Fern definition orders them."""
    head: Json = {}
    if payload_id is not None:
        head["payload_id"] = payload_id
    if job_id is not None:
        head["job_details"] = {"job_id": job_id}
    return {**head, **message}


def payload_ids() -> st.SearchStrategy[str]:
    return st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=24)


@st.composite
def stream_predictions_messages(
    draw: st.DrawFn,
    models: Sequence[str] | None = None,
    full: bool = False,
    warnings: bool | None = None,
    max_items: int = 3,
) -> Json:
    """Predictions for the configured models; a model that found nothing may carry its warning instead.

    ``warnings``: True puts a warning in every model that has one, False never, None sometimes.
    """
    chosen = list(STREAM_MODELS if full else models or draw(st.lists(st.sampled_from(STREAM_MODELS), unique=True)))
    message: Json = {}
    for model in sorted(chosen):
        warn = model in STREAM_MODEL_WARNINGS and (draw(st.booleans()) if warnings is None else warnings)
        if warn:
            message[model] = draw(stream_model_warnings(model))
        else:
            items = st.lists(STREAM_ITEMS[model](full), min_size=1 if full else 0, max_size=max_items)
            message[model] = {"predictions": draw(items)}
    payload_id = draw(payload_ids() if full else st.none() | payload_ids())
    job_id = draw(stream_job_ids() if full else st.none() | stream_job_ids())
    return _echo(message, payload_id, job_id)


@st.composite
def stream_error_messages(draw: st.DrawFn, full: bool = False) -> Json:
    code = draw(st.sampled_from(tuple(STREAM_ERRORS)))
    payload_id = draw(payload_ids() if full else st.none() | payload_ids())
    job_id = draw(stream_job_ids()) if full else None
    return _echo({"error": STREAM_ERRORS[code], "code": code}, payload_id, job_id)


@st.composite
def stream_warning_messages(draw: st.DrawFn, full: bool = False) -> Json:
    code, text = draw(st.sampled_from(tuple(STREAM_MODEL_WARNINGS.values())))
    payload_id = draw(payload_ids() if full else st.none() | payload_ids())
    job_id = draw(stream_job_ids()) if full else None
    return _echo({"warning": text, "code": code}, payload_id, job_id)


def stream_job_details_messages() -> st.SearchStrategy[Json]:
    """The reply to ``{"job_details": true}``."""
    return stream_job_ids().map(lambda job_id: {"job_details": {"job_id": job_id}})


STREAM_MESSAGE_TYPES = ("predictions", "error", "warning", "job_details")


def stream_messages(
    message_types: Sequence[str] = STREAM_MESSAGE_TYPES,
    models: Sequence[str] | None = None,
    full: bool = False,
    warnings: bool | None = None,
    max_items: int = 3,
) -> st.SearchStrategy[Json]:
    """Any frame the server sends on ``/v0/stream/models``, of the given ``message_types``."""
    makers = {
        "predictions": lambda: stream_predictions_messages(models, full, warnings, max_items),
        "error": lambda: stream_error_messages(full),
        "warning": lambda: stream_warning_messages(full),
        "job_details": stream_job_details_messages,
    }
    return st.one_of([makers[message_type]() for message_type in message_types])


# ------------------------------------------------------------------------------------ by body kind

RESPONSE_KINDS = ("job", "jobs", "job-id", "predictions", "stream-message")


def valid_responses(kind: str, **options: Any) -> st.SearchStrategy[Any]:
    """The valid-body strategy of a ``contracts.validation`` kind, with that strategy's options."""
    makers: dict[str, Callable[..., st.SearchStrategy[Any]]] = {
        "job": jobs,
        "jobs": job_lists,
        "job-id": job_id_bodies,
        "predictions": predictions_bodies,
        "stream-message": stream_messages,
    }
    if kind not in makers:
        raise ValueError(f"no response strategy for kind {kind!r}; expected one of {', '.join(RESPONSE_KINDS)}")
    return makers[kind](**options)


# ------------------------------------------------------------------- big bodies without Hypothesis


class _BodyWriter:
    """Builds a face + prosody + language prediction for one video until it reaches a byte budget.

    Sizes are counted as ``json.dumps`` with default separators writes them (the layout of the real files).
    """

    SPEAKERS = ("spk_0", "spk_1")
    FACES = ("face_0", "face_1")
    FPS = 25

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.frame = 0
        self.clock = 0.0  # seconds of speech transcribed so far
        self.offset = 0  # characters of transcript so far

    def embedding(self, names: Sequence[str]) -> list[Json]:
        return scores(names, [self.rng.random() ** 2 * 0.8 for _ in names])

    def face(self) -> Json:
        self.frame += self.rng.randint(1, 12)
        r = self.rng.uniform
        box = bounding_box(r(0, 1500), r(0, 800), r(80, 400), r(100, 500))
        return face_prediction(
            frame=self.frame,
            time=self.frame / self.FPS,
            prob=r(0.99, 1.0),
            box=box,
            emotions=self.embedding(EXPRESSION_EMOTIONS),
        )

    def words(self, count: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(count))

    def utterance(self) -> Json:
        begin = self.clock + self.rng.uniform(0, 1.5)
        self.clock = end = begin + self.rng.uniform(0.5, 4.0)
        return prosody_prediction(
            text=self.words(self.rng.randint(2, 9)),
            time=interval(begin, end),
            confidence=self.rng.uniform(0.8, 1.0),
            speaker_confidence=None,
            emotions=self.embedding(EXPRESSION_EMOTIONS),
        )

    def word(self) -> Json:
        text = self.rng.choice(WORDS)
        position = interval(self.offset, self.offset + len(text))
        self.offset += len(text) + 1
        begin = self.clock + self.rng.uniform(0, 0.4)
        self.clock = end = begin + self.rng.uniform(0.1, 0.6)
        sentiment = scores(SENTIMENT_LEVELS, _distribution([self.rng.random() for _ in SENTIMENT_LEVELS]))
        return language_prediction(
            text=text,
            position=position,
            time=interval(begin, end),
            confidence=self.rng.uniform(0.8, 1.0),
            speaker_confidence=None,
            emotions=self.embedding(LANGUAGE_EMOTIONS),
            sentiment=sentiment,
            toxicity=None,
        )


def build_predictions_body(target_bytes: int, seed: int = 0) -> list[Json]:
    """A realistic face + prosody + language predictions body of about ``target_bytes`` (as ``json.dumps``
    writes it), deterministic for a seed, built quickly without Hypothesis (1 MB in well under a second).

    Faces fill about 70% of the budget, prosody utterances 10%, language words 20%, as in the real files.
    """
    if target_bytes < 1:
        raise ValueError(f"target_bytes must be positive, got {target_bytes}")
    rng = random.Random(seed)
    writer = _BodyWriter(rng)
    stem = f"video{rng.randrange(10**9, 10**10)}"
    source = {
        "type": "file",
        "filename": f"{stem}.mp4",
        "content_type": None,
        "md5sum": uuid.UUID(int=rng.getrandbits(128)).hex,
    }
    faces: dict[str, list[Json]] = {face_id: [] for face_id in writer.FACES}
    utterances: dict[str, list[Json]] = {speaker: [] for speaker in writer.SPEAKERS}
    words: list[Json] = []
    skeleton = 1200  # bytes of everything but the items (source, keys, metadata)
    shares = ((0.7, "face"), (0.1, "prosody"), (0.2, "language"))
    for share, model in shares:
        budget, used = (target_bytes - skeleton) * share, 0
        writer.clock = 0.0  # each model covers the same video from its start
        while used < budget:
            if model == "face":
                item = writer.face()
                faces[rng.choice(writer.FACES)].append(item)
            elif model == "prosody":
                item = writer.utterance()
                utterances[rng.choice(writer.SPEAKERS)].append(item)
            else:
                item = writer.word()
                words.append(item)
            used += len(json.dumps(item)) + 2  # ", " between items
    metadata = transcription_metadata(round(rng.uniform(0.9, 1.0), 8), "en")
    models = {
        "face": model_output(None, [group(face_id, items) for face_id, items in faces.items() if items]),
        "prosody": model_output(metadata, [group(spk, items) for spk, items in utterances.items() if items]),
        "language": model_output(metadata, [group("unknown", words)]),
    }
    return [source_result(source, [inference_prediction(f"{stem}.mp4", "video", models)], [])]
