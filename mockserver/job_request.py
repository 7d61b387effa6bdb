"""The batch job request: validation of ``InferenceBaseRequest`` and the ``request`` echo of job details.

Validation is strict (unknown keys and wrong types are 400s naming the field) so that contract tests
see the same request rules the SDK's types describe. The echo copies the real API's shape: keys in
alphabetical order, every default filled in, ``null`` for switched-off unconfigurable sub-models
(``facs``, ``sentiment``, ``window``...) and ``{}`` for switched-on ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlsplit

MAX_SOURCES = 100
MAX_TEXT_CHARS = 10_000
MAX_URL_CHARS = 2048
GRANULARITIES = ("word", "sentence", "utterance", "conversational_turn")
BCP47_TAGS = (
    "zh", "da", "nl", "en", "en-AU", "en-IN", "en-NZ", "en-GB", "fr", "fr-CA", "de", "hi", "hi-Latn", "id", "it",
    "ja", "ko", "no", "pl", "pt", "pt-BR", "pt-PT", "ru", "es", "es-419", "sv", "ta", "tr", "uk",
)  # fmt: skip


class BadRequest(Exception):
    """A request the API refuses with 400; ``message`` names the field and what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Check = Callable[[Any, str], Any]


def check_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{where}: expected a boolean, got {type(value).__name__}")
    return value


def check_number(low: float, high: float = math.inf) -> Check:
    def check(value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise BadRequest(f"{where}: expected a number, got {type(value).__name__}")
        if not low <= value <= high:
            raise BadRequest(f"{where}: expected a number in [{low}, {high}], got {value}")
        return value

    return check


def check_whole(low: int) -> Check:
    """An integer (JSON Schema `integer`: 3.0 counts, 2.5 does not) of at least ``low``."""
    number = check_number(low)

    def check(value: Any, where: str) -> int:
        if not float(number(value, where)).is_integer():
            raise BadRequest(f"{where}: expected an integer, got {value}")
        return int(value)

    return check


def check_enum(*allowed: str) -> Check:
    def check(value: Any, where: str) -> str:
        if value not in allowed:
            raise BadRequest(f"{where}: expected one of {', '.join(allowed)}; got {value!r:.60}")
        return value

    return check


def check_unconfigurable(value: Any, where: str) -> dict[str, Any] | None:
    """``{}`` switches a sub-model on, null leaves it off."""
    if value is not None and not isinstance(value, dict):
        raise BadRequest(f"{where}: expected an object ({{}}) or null, got {type(value).__name__}")
    return value


def check_object(fields: dict[str, Check], *, nullable: Collection[str] | None = None) -> Check:
    """A checker for an object whose keys are all optional and listed in ``fields``.

    ``nullable``: the keys that may be null (taken as absent); any other null is a 400, as the contract types
    them. None: every key may be null.
    """

    def check(value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise BadRequest(f"{where}: expected an object, got {type(value).__name__}")
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise BadRequest(f"{where}: unknown field '{unknown[0]:.60}'; allowed: {', '.join(fields)}")
        checked = {}
        for key, item in value.items():
            if (
                item is None
                and nullable is not None
                and key not in nullable
                and fields[key] is not check_unconfigurable
            ):
                raise BadRequest(f"{where}.{key}: expected a value, got null")
            if item is not None or fields[key] is check_unconfigurable:
                checked[key] = fields[key](item, f"{where}.{key}")
        return checked

    return check


NOT_NULL: Collection[str] = ()  # the batch request's objects: a null is allowed only where the contract says so
WINDOW = check_object({"length": check_number(0.5), "step": check_number(0.5)}, nullable=NOT_NULL)
MODEL_CHECKS: dict[str, Check] = {
    "face": check_object(
        {
            "fps_pred": check_number(0.0),
            "prob_threshold": check_number(0.0, 1.0),
            "identify_faces": check_bool,
            "min_face_size": check_whole(0),
            "facs": check_unconfigurable,
            "descriptions": check_unconfigurable,
            "save_faces": check_bool,
        },
        nullable=NOT_NULL,
    ),
    "burst": check_unconfigurable,
    "prosody": check_object(
        {"granularity": check_enum(*GRANULARITIES), "window": WINDOW, "identify_speakers": check_bool},
        nullable={"window"},
    ),
    "language": check_object(
        {
            "granularity": check_enum(*GRANULARITIES),
            "sentiment": check_unconfigurable,
            "toxicity": check_unconfigurable,
            "identify_speakers": check_bool,
        },
        nullable=NOT_NULL,
    ),
    "ner": check_object({"identify_speakers": check_bool}, nullable=NOT_NULL),
    "facemesh": check_unconfigurable,
}
TRANSCRIPTION = check_object(
    {
        "language": check_enum(*BCP47_TAGS),
        "identify_speakers": check_bool,
        "confidence_threshold": check_number(0.0, 1.0),
    },
    nullable=NOT_NULL,
)

# Echoed defaults of each requested model, keys sorted as the API sends them.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "burst": {},
    "face": {
        "descriptions": None, "facs": None, "fps_pred": 3, "identify_faces": False, "min_face_size": 60,
        "prob_threshold": 0.99, "save_faces": False,
    },
    "facemesh": {},
    "language": {"granularity": "word", "identify_speakers": False, "sentiment": None, "toxicity": None},
    "ner": {"identify_speakers": False},
    "prosody": {"granularity": "utterance", "identify_speakers": False, "window": None},
}  # fmt: skip
TRANSCRIPTION_DEFAULTS = {"confidence_threshold": 0.5, "identify_speakers": False}


def _models(value: Any, where: str) -> dict[str, Any]:
    """Requested models with defaults filled in; a model set to null is not requested."""
    if not isinstance(value, dict):
        raise BadRequest(f"{where}: expected an object, got {type(value).__name__}")
    unknown = sorted(set(value) - set(MODEL_CHECKS))
    if unknown:
        raise BadRequest(f"{where}: unknown model '{unknown[0]:.60}'; models are {', '.join(MODEL_CHECKS)}")
    requested = {}
    for name in sorted(value):
        config = MODEL_CHECKS[name](value[name], f"{where}.{name}")
        if config is not None:
            requested[name] = {**MODEL_DEFAULTS[name], **config} if MODEL_DEFAULTS[name] else config
    if not requested:
        raise BadRequest(f"{where}: no model requested; omit `models` to run them all")
    return requested


def _http_url(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS:
        raise BadRequest(f"{where}: expected a URL string of at most {MAX_URL_CHARS} characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequest(f"{where}: expected an http(s) URL, got {value!r:.80}")
    return value


def _list_of(item: Check, limit: int) -> Check:
    def check(value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise BadRequest(f"{where}: expected an array, got {type(value).__name__}")
        if len(value) > limit:
            raise BadRequest(f"{where}: at most {limit} items are allowed, got {len(value)}")
        return [item(entry, f"{where}[{index}]") for index, entry in enumerate(value)]

    return check


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT_CHARS:
        raise BadRequest(f"{where}: expected a string of at most {MAX_TEXT_CHARS} characters")
    return value


REQUEST_FIELDS: dict[str, Check] = {
    "models": _models,
    "transcription": TRANSCRIPTION,
    "urls": _list_of(_http_url, MAX_SOURCES),
    "text": _list_of(_text, MAX_SOURCES),
    "callback_url": _http_url,
    "notify": check_bool,
}
ALL_MODELS = {name: dict(defaults) for name, defaults in MODEL_DEFAULTS.items()}


def parse_request(body: Any, *, file_count: int = 0) -> dict[str, Any]:
    """A validated request: models (all of them when absent), urls, text, callback_url, notify, transcription."""
    checked = check_object(REQUEST_FIELDS, nullable={"transcription"})(body, "body")
    checked.setdefault("models", {name: dict(defaults) for name, defaults in ALL_MODELS.items()})
    checked.setdefault("urls", [])
    checked.setdefault("text", [])
    if file_count + len(checked["urls"]) + len(checked["text"]) == 0:
        raise BadRequest("body: nothing to analyse; give at least one of `urls`, `text` or a `file` part")
    if file_count > MAX_SOURCES:
        raise BadRequest(f"file: at most {MAX_SOURCES} files are allowed, got {file_count}")
    return checked


def echo_request(request: dict[str, Any], files: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``request`` object of job details for a validated request and its uploaded files."""
    echo: dict[str, Any] = {
        "callback_url": request.get("callback_url"),
        "files": files,
        "models": request["models"],
        "notify": request.get("notify", False),
        "text": request["text"],
    }
    if "transcription" in request:
        echo["transcription"] = {**TRANSCRIPTION_DEFAULTS, **request["transcription"]}
    echo["urls"] = request["urls"]
    return echo
