"""The v1 strategies against two oracles: the suite's own v1 validator (every drawn body conforms, with no
addition) and the official SDK 0.1.0 with pydantic 2 (it parses every drawn body and server message into the
type it names); and every whole-body doc example of the v1 pack validates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pydantic
import pytest
from hume_expression_measurement.audio.socket_client import AudioSocketClientResponse
from hume_expression_measurement.core.pydantic_utilities import parse_obj_as
from hume_expression_measurement.types import (
    AudioFileConfig,
    AudioFileResponse,
    AudioMeasurementResult,
    AudioSessionClosed,
    AudioSessionCreated,
    AudioSessionUpdated,
    Error,
    ErrorBody,
    Run,
    RunEventsPage,
    RunsPage,
    UtteranceEnd,
    UtteranceStart,
    VideoFileConfig,
    VideoFileResponse,
    VideoMeasurementResult,
    VideoSessionClosed,
    VideoSessionCreated,
    VideoSessionUpdated,
)
from hume_expression_measurement.video.socket_client import VideoSocketClientResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.apis import v1
from contracts.apis.v1.contract import OPENAPI_URI, schema_violations
from strategies.v1 import BODIES, SERVER_MESSAGES

DOC_EXAMPLES = Path(__file__).parent / "data" / "v1" / "doc-examples"
# The pack sits next to the repository (a checkout at /work/main), or one level up (a worktree at /work/wt/x).
SHARED_DOC_EXAMPLES = next(
    (
        parent / "shared" / "hume-v1" / "corpus" / "doc-examples"
        for parent in Path(__file__).parents[2:4]
        if (parent / "shared" / "hume-v1").is_dir()
    ),
    Path(__file__).parents[2] / "shared" / "hume-v1" / "corpus" / "doc-examples",
)

SDK_TYPES = {
    "v1-audio-file-response": AudioFileResponse,
    "v1-video-file-response": VideoFileResponse,
    "v1-run": Run,
    "v1-runs-page": RunsPage,
    "v1-run-events-page": RunEventsPage,
    "v1-error": ErrorBody,
}
MESSAGE_TYPES = {
    "audio": {
        "session.created": AudioSessionCreated,
        "session.updated": AudioSessionUpdated,
        "utterance.start": UtteranceStart,
        "measurement.result": AudioMeasurementResult,
        "utterance.end": UtteranceEnd,
        "error": Error,
        "session.closed": AudioSessionClosed,
    },
    "video": {
        "session.created": VideoSessionCreated,
        "session.updated": VideoSessionUpdated,
        "measurement.result": VideoMeasurementResult,
        "error": Error,
        "session.closed": VideoSessionClosed,
    },
}
UNIONS = {"audio": AudioSocketClientResponse, "video": VideoSocketClientResponse}
EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_sdk_oracle_runs_on_pydantic_2() -> None:
    assert pydantic.VERSION.startswith("2.")  # pydantic 1 parses audio messages as the wrong type (SDK_FACTS 7.4)


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_every_drawn_body_conforms_and_the_sdk_parses_it(kind: str) -> None:
    @EXAMPLES
    @given(BODIES[kind])
    def check(body: Any) -> None:
        assert v1.validate_body(body, kind) == []
        assert isinstance(parse_obj_as(SDK_TYPES[kind], body), SDK_TYPES[kind])

    check()


@pytest.mark.parametrize("kind", sorted(SERVER_MESSAGES))
def test_every_drawn_server_message_conforms_and_the_sdk_parses_it_as_its_type(kind: str) -> None:
    channel = kind.split("-")[1]

    @EXAMPLES
    @given(SERVER_MESSAGES[kind])
    def check(message: Any) -> None:
        assert v1.validate_body(message, kind) == []
        parsed = parse_obj_as(UNIONS[channel], message)
        assert type(parsed) is MESSAGE_TYPES[channel][message["type"]]

    check()


@pytest.mark.parametrize("kind", sorted(SERVER_MESSAGES))
def test_the_strategies_draw_every_message_type(kind: str) -> None:
    channel = kind.split("-")[1]
    seen: set[str] = set()

    @settings(max_examples=150, deadline=None, database=None)
    @given(SERVER_MESSAGES[kind])
    def collect(message: Any) -> None:
        seen.add(message["type"])

    collect()
    assert seen == set(MESSAGE_TYPES[channel])


# ------------------------------------------------------------------------------------------ doc examples


def load(name: str) -> Any:
    return json.loads((DOC_EXAMPLES / name).read_text(encoding="utf-8"))


def test_the_documented_400_error_body_validates() -> None:
    body = load("errors_400_config_invalid.json")
    assert v1.detect_kind(body) == "v1-error"
    assert v1.validate_body(body, "v1-error") == []
    assert isinstance(parse_obj_as(ErrorBody, body), ErrorBody)


@pytest.mark.parametrize(
    ("name", "schema", "sdk_type"),
    [
        ("audio_upload_config_part.json", "AudioFileConfig", AudioFileConfig),
        ("video_upload_config_part.json", "VideoFileConfig", VideoFileConfig),
        ("score.json", "Score", None),
    ],
)
def test_the_documented_config_parts_and_score_validate(name: str, schema: str, sdk_type: Any) -> None:
    body = load(name)
    assert schema_violations(body, f"{OPENAPI_URI}#/components/schemas/{schema}") == []
    if sdk_type is not None:
        assert isinstance(parse_obj_as(sdk_type, body), sdk_type)


def test_the_documented_excerpts_keep_every_rule_once_completed() -> None:
    """The excerpts are score arrays of a larger object: placed in an otherwise valid body, they conform."""
    audio = load("audio_measurement_EXCERPT.json")
    measurement = {"type": "measurement.result", "measurement_id": 0, "utterance_id": 0, "audio_start_ms": 0}
    message = {**measurement, "audio_end_ms": 3000, "trigger": "interval", **audio}
    assert v1.validate_body(message, "v1-audio-server-message") == []
    face = {"face_id": 0, "bbox": [0.0, 0.0, 100.0, 100.0], "confidence": 0.99, **load("video_face_EXCERPT.json")}
    assert (
        v1.validate_body({"type": "measurement.result", "frame_id": 0, "faces": [face]}, "v1-video-server-message")
        == []
    )


@pytest.mark.skipif(not SHARED_DOC_EXAMPLES.is_dir(), reason="the v1 ground-truth pack is not mounted next to the repo")
def test_the_vendored_doc_examples_are_the_shared_ones() -> None:
    shared = sorted(p.name for p in SHARED_DOC_EXAMPLES.glob("*.json"))
    assert sorted(p.name for p in DOC_EXAMPLES.glob("*.json")) == shared
    for name in shared:
        assert (DOC_EXAMPLES / name).read_bytes() == (SHARED_DOC_EXAMPLES / name).read_bytes()


def test_the_strategies_module_exports_every_valid_kind() -> None:
    assert set(BODIES) | set(SERVER_MESSAGES) == set(v1.KINDS) - {"v1-audio-client-message", "v1-video-client-message"}
    assert all(isinstance(strategy, st.SearchStrategy) for strategy in BODIES.values())
