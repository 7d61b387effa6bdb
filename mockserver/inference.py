"""Fake models: deterministic predictions that follow from the input (seeded by its md5).

The analysis helpers (faces, speech, text spans, entities, bursts, scores) are shared by the batch
renderer below and by the stream (``mockserver.stream``), which renders the same facts in its own shape.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mockserver import archives, names
from mockserver.media import (
    Box,
    Media,
    MediaError,
    digest,
    fake_media_for_url,
    read_media,
    sniff,
    url_file_name,
    url_kind,
)

VIDEO_FPS = 25.0  # frame numbers of fake videos
MAX_FACE_FRAMES = 300
UTTERANCE_SECONDS = 2.5
URL_ARCHIVE_MEMBERS = 3
MAX_ITEMS_PER_JOB = 20_000

# ---------------------------------------------------------------------------------------------- analysis


def rng_for(seed: str, *parts: object) -> random.Random:
    return random.Random("/".join([seed, *map(str, parts)]))


def scores(labels: tuple[str, ...], rng: random.Random) -> list[dict[str, Any]]:
    return [{"name": label, "score": rng.random()} for label in labels]


@dataclass(frozen=True)
class Detection:
    frame: int
    time: float
    face: int  # index of the face across frames
    box: Box
    prob: float


def face_detections(
    media: Media, *, fps_pred: float = 3.0, prob_threshold: float = 0.99, min_face_size: float = 0.0
) -> list[Detection]:
    """Faces per analysed frame: frame 0 for an image, ``fps_pred`` frames per second for a video."""
    if media.kind == "image":
        times = [0.0]
    else:
        step = 1.0 / fps_pred if fps_pred > 0 else media.duration_s
        count = min(MAX_FACE_FRAMES, int(media.duration_s / step) + 1) if step > 0 else 1
        times = [round(i * step, 6) for i in range(count) if i * step < media.duration_s]
    found = []
    for time in times:
        for index, box in enumerate(media.faces):
            rng = rng_for(media.seed, "face", index, time)
            prob = rng.uniform(0.99, 1.0)
            if prob < prob_threshold or min(box.w, box.h) < min_face_size:
                continue
            jitter = rng.uniform(-2.0, 2.0) if media.kind == "video" else 0.0
            moved = Box(x=max(0.0, box.x + jitter), y=max(0.0, box.y + jitter), w=box.w, h=box.h)
            found.append(Detection(frame=round(time * VIDEO_FPS), time=time, face=index, box=moved, prob=prob))
    return found


@dataclass(frozen=True)
class Span:
    """A piece of text: ``text[begin:end]`` of its source, optionally timed (transcripts)."""

    text: str
    begin: int
    end: int
    start_s: float | None = None
    end_s: float | None = None
    speaker: int = 0


def text_spans(text: str, granularity: str) -> list[Span]:
    """Words, sentences, or the whole text (utterance, conversational_turn, passage)."""
    if granularity == "word":
        pattern = r"\S+"
    elif granularity == "sentence":
        pattern = r"[^.!?\s][^.!?]*[.!?]*"
    else:
        pattern = r"\S(?:.*\S)?"
    return [Span(m.group(), m.start(), m.end()) for m in re.finditer(pattern, text, flags=re.DOTALL)]


@dataclass(frozen=True)
class Transcript:
    """What the mock pretends was said: the full text, and its utterances and words as timed spans of it."""

    text: str
    utterances: list[Span]
    words: list[Span]


def transcript(media: Media) -> Transcript:
    """A fake transcript of an audio or video input, a few words per 2.5 s, all from the seed."""
    rng = rng_for(media.seed, "transcript")
    utterances: list[Span] = []
    words: list[Span] = []
    text = ""
    start = 0.0
    while start < media.duration_s - 0.1:
        end = min(media.duration_s, start + UTTERANCE_SECONDS)
        chosen = [rng.choice(names.TRANSCRIPT_WORDS) for _ in range(rng.randint(3, 6))]
        chosen[0] = chosen[0].capitalize()
        chosen[-1] += "."
        offset = len(text) + (1 if text else 0)
        text = f"{text} {' '.join(chosen)}" if text else " ".join(chosen)
        speaker = len(utterances) % 2
        utterances.append(Span(text[offset:], offset, len(text), round(start, 3), round(end, 3), speaker))
        word_seconds = (end - start) / len(chosen)
        position = offset
        for i, word in enumerate(chosen):
            t0 = round(start + i * word_seconds, 3)
            words.append(Span(word, position, position + len(word), t0, round(t0 + word_seconds, 3), speaker))
            position += len(word) + 1
        start = end
    return Transcript(text, utterances, words)


def entities(text: str) -> list[Span]:
    """The mock's NER: capitalised words that do not start a sentence."""
    found = []
    for match in re.finditer(r"[A-Z][a-z]+", text):
        before = text[: match.start()].rstrip()
        if before and before[-1] not in ".!?" and (match.start() == 0 or not text[match.start() - 1].isalnum()):
            found.append(Span(match.group(), match.start(), match.end()))
    return found


def burst_interval(media: Media) -> tuple[float, float] | None:
    if media.burst_at_s is None:
        return None
    begin = max(0.0, media.burst_at_s - 0.25)
    return round(begin, 3), round(min(media.duration_s, begin + 1.0), 3)


# ---------------------------------------------------------------------------------------------- batch


@dataclass(frozen=True)
class SourceInput:
    """One source of a batch job: an uploaded file, a URL or one text."""

    type: str  # file | url | text
    name: str  # file name, URL, or the text's index
    data: bytes = b""
    content_type: str | None = None
    md5sum: str = ""
    url: str = ""


class ItemBudget:
    """How many predicted items (faces, words, intervals...) one job may still produce.

    Keeps a hostile job (many archives of long texts) from building gigabytes of JSON.
    """

    def __init__(self, limit: int = MAX_ITEMS_PER_JOB) -> None:
        self.limit = limit
        self.remaining = limit
        self.exhausted = False  # once an input did not fit, later inputs are not even rendered

    def take(self, rendered: dict[str, Any]) -> bool:
        count = sum(len(g["predictions"]) for output in rendered.values() for g in output["grouped_predictions"])
        if count > self.remaining:
            self.exhausted = True
            return False
        self.remaining -= count
        return True


def predict_source(source: SourceInput, models: dict[str, Any], budget: ItemBudget) -> dict[str, Any]:
    """``{"source": ..., "results": {"predictions": [...], "errors": [...]}}`` for one source."""
    predictions, errors = [], []
    for file, media in _inputs_of(source):
        if isinstance(media, MediaError):
            errors.append({"file": file, "message": media.message})
            continue
        rendered = None if budget.exhausted else render_models(media, models)
        if rendered is None or not budget.take(rendered):
            message = f"skipped: the job exceeds the mock's limit of {budget.limit} predicted items"
            errors.append({"file": file, "message": message})
            continue
        predictions.append({"file": file, "file_type": _file_type(media), "models": rendered})
    return {"source": _source_echo(source), "results": {"predictions": predictions, "errors": errors}}


def _source_echo(source: SourceInput) -> dict[str, Any]:
    if source.type == "file":
        return {"type": "file", "filename": source.name, "content_type": source.content_type, "md5sum": source.md5sum}
    if source.type == "url":
        return {"type": "url", "url": source.url}
    return {"type": "text"}


def _inputs_of(source: SourceInput) -> Iterator[tuple[str, Media | MediaError]]:
    """(file name, media or the reason it cannot be read) for every file inside a source."""
    if source.type == "text":
        yield source.name, Media(kind="text", seed=digest(source.data), text=source.data.decode("utf-8"))
    elif source.type == "url":
        yield from _url_inputs(source.url)
    else:
        yield from _file_inputs(source.name, source.data)


def _url_inputs(url: str) -> Iterator[tuple[str, Media | MediaError]]:
    name = url_file_name(url)
    try:
        kind = url_kind(url)
    except MediaError as exc:
        yield url, exc
        return
    if kind != "archive":
        yield name, fake_media_for_url(url, kind)
        return
    stem = name.split(".")[0]
    for index in range(URL_ARCHIVE_MEMBERS):  # a fetched archive of a few images, like Hume's faces.zip example
        yield f"{stem}/{index}.jpg", fake_media_for_url(f"{url}#{index}", "image")


def _file_inputs(name: str, data: bytes) -> Iterator[tuple[str, Media | MediaError]]:
    kind = sniff(data)
    if kind not in ("zip", "gzip"):
        yield name, _read(data)
        return
    try:
        members = archives.expand(data, kind)
    except archives.ArchiveError as exc:
        yield name, MediaError(str(exc))
        return
    for member in members:
        if sniff(member.data) in ("zip", "gzip"):
            yield member.name, MediaError("nested archives are not expanded")
        else:
            yield member.name, _read(member.data)


def _read(data: bytes) -> Media | MediaError:
    try:
        return read_media(data)
    except MediaError as exc:
        return exc


def _file_type(media: Media) -> str:
    if media.kind == "video":
        return "video" if media.has_audio else "video_no_audio"
    return media.kind


MODELS_BY_KIND = {
    "image": ("face", "facemesh"),
    "video": ("face", "burst", "prosody", "language", "ner", "facemesh"),
    "audio": ("burst", "prosody", "language", "ner"),
    "text": ("language", "ner"),
}


def render_models(media: Media, models: dict[str, Any]) -> dict[str, Any]:
    """The ``models`` object of one batch prediction: every requested model that applies to the media."""
    spoken = transcript(media) if media.kind in ("audio", "video") else None
    return {
        model: BATCH_RENDERERS[model](media, models[model], spoken)
        for model in MODELS_BY_KIND[media.kind]
        if models.get(model) is not None
    }


def _grouped(groups: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"id": group, "predictions": items} for group, items in groups.items()]


def _batch_face(media: Media, config: dict[str, Any], spoken: Transcript | None) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    detections = face_detections(
        media,
        fps_pred=config.get("fps_pred", 3.0),
        prob_threshold=config.get("prob_threshold", 0.99),
        min_face_size=config.get("min_face_size", 0.0),
    )
    for found in detections:
        rng = rng_for(media.seed, "face-scores", found.face, found.frame)
        group = f"face_{found.face}" if config.get("identify_faces") else "unknown"
        groups.setdefault(group, []).append(
            {
                "frame": found.frame,
                "time": found.time,
                "prob": found.prob,
                "box": {"x": found.box.x, "y": found.box.y, "w": found.box.w, "h": found.box.h},
                "emotions": scores(names.EXPRESSION_EMOTIONS, rng),
                "facs": scores(names.FACS_UNITS, rng) if config.get("facs") is not None else None,
                "descriptions": scores(names.FACE_DESCRIPTIONS, rng)
                if config.get("descriptions") is not None
                else None,
            }
        )
    return {"metadata": None, "grouped_predictions": _grouped(groups)}


def _batch_facemesh(media: Media, config: dict[str, Any], spoken: Transcript | None) -> dict[str, Any]:
    items = [
        {"emotions": scores(names.EXPRESSION_EMOTIONS, rng_for(media.seed, "facemesh", d.face, d.frame))}
        for d in face_detections(media, prob_threshold=0.0)
    ]
    return {"metadata": None, "grouped_predictions": _grouped({"unknown": items} if items else {})}


def _batch_burst(media: Media, config: dict[str, Any], spoken: Transcript | None) -> dict[str, Any]:
    interval = burst_interval(media)
    if interval is None:
        return {"metadata": None, "grouped_predictions": []}
    rng = rng_for(media.seed, "burst")
    item = {
        "time": {"begin": interval[0], "end": interval[1]},
        "emotions": scores(names.EXPRESSION_EMOTIONS, rng),
        "descriptions": scores(names.BURST_DESCRIPTIONS, rng),
    }
    return {"metadata": None, "grouped_predictions": _grouped({"unknown": [item]})}


def _speech_metadata(media: Media) -> dict[str, Any]:
    return {"confidence": round(rng_for(media.seed, "asr").uniform(0.9, 1.0), 6), "detected_language": "en"}


def _speaker_group(span: Span, identify: bool) -> str:
    return f"spk_{span.speaker}" if identify else "unknown"


def _batch_prosody(media: Media, config: dict[str, Any], spoken: Transcript | None) -> dict[str, Any]:
    assert spoken is not None, "prosody only runs on media with speech"
    spans = spoken.words if config.get("granularity") == "word" else spoken.utterances
    groups: dict[str, list[dict[str, Any]]] = {}
    for index, span in enumerate(spans):
        groups.setdefault(_speaker_group(span, bool(config.get("identify_speakers"))), []).append(
            {
                "text": span.text,
                "time": {"begin": span.start_s, "end": span.end_s},
                "confidence": None,
                "speaker_confidence": None,
                "emotions": scores(names.EXPRESSION_EMOTIONS, rng_for(media.seed, "prosody", index)),
            }
        )
    return {"metadata": _speech_metadata(media), "grouped_predictions": _grouped(groups)}


def _language_item(media: Media, span: Span, index: int, config: dict[str, Any]) -> dict[str, Any]:
    rng = rng_for(media.seed, "language", index)
    timed = span.start_s is not None
    return {
        "text": span.text,
        "position": {"begin": span.begin, "end": span.end},
        "time": {"begin": span.start_s, "end": span.end_s} if timed else None,
        "confidence": None,
        "speaker_confidence": None,
        "emotions": scores(names.LANGUAGE_EMOTIONS, rng),
        "sentiment": scores(names.SENTIMENT_LEVELS, rng) if config.get("sentiment") is not None else None,
        "toxicity": scores(names.TOXICITY_LABELS, rng) if config.get("toxicity") is not None else None,
    }


def _language_spans(media: Media, granularity: str, spoken: Transcript | None) -> list[Span]:
    if spoken is None:
        return text_spans(media.text, granularity)
    return spoken.words if granularity == "word" else spoken.utterances


def _batch_language(media: Media, config: dict[str, Any], spoken: Transcript | None) -> dict[str, Any]:
    spans = _language_spans(media, config.get("granularity", "word"), spoken)
    groups: dict[str, list[dict[str, Any]]] = {}
    for index, span in enumerate(spans):
        group = _speaker_group(span, bool(config.get("identify_speakers")))
        groups.setdefault(group, []).append(_language_item(media, span, index, config))
    metadata = _speech_metadata(media) if spoken else None
    return {"metadata": metadata, "grouped_predictions": _grouped(groups)}


def _batch_ner(media: Media, config: dict[str, Any], spoken: Transcript | None) -> dict[str, Any]:
    text = spoken.text if spoken else media.text
    items = []
    for index, span in enumerate(entities(text)):
        rng = rng_for(media.seed, "ner", index)
        items.append(
            {
                "entity": span.text,
                "position": {"begin": span.begin, "end": span.end},
                "entity_confidence": rng.uniform(0.5, 1.0),
                "support": rng.uniform(0.0, 20.0),
                "uri": f"https://www.wikidata.org/wiki/Q{rng.randint(1, 10**7)}",
                "link_word": span.text,
                "time": None,
                "confidence": None,
                "speaker_confidence": None,
                "emotions": scores(names.LANGUAGE_EMOTIONS, rng),
            }
        )
    metadata = _speech_metadata(media) if spoken else None
    return {"metadata": metadata, "grouped_predictions": _grouped({"unknown": items} if items else {})}


Renderer = Callable[[Media, dict[str, Any], Transcript | None], dict[str, Any]]
BATCH_RENDERERS: dict[str, Renderer] = {
    "face": _batch_face,
    "facemesh": _batch_facemesh,
    "burst": _batch_burst,
    "prosody": _batch_prosody,
    "language": _batch_language,
    "ner": _batch_ner,
}
