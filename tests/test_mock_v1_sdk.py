"""The official v1 SDK (hume-expression-measurement 0.1.0), unchanged, against the v1 mock: sync and async."""

from __future__ import annotations

import asyncio
import json
import re
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import API_KEY, fast_config
from hume_expression_measurement import AsyncExpressionMeasurementClient, ExpressionMeasurementClient
from hume_expression_measurement.environment import ExpressionMeasurementClientEnvironment
from hume_expression_measurement.errors import (
    BadRequestError,
    ContentTooLargeError,
    NotFoundError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from hume_expression_measurement.types import (
    AudioFileConfig,
    AudioFileResponse,
    AudioMeasurementResult,
    AudioSessionClosed,
    AudioSessionCreated,
    AudioSessionUpdate,
    AudioSessionUpdated,
    Error,
    FaceConfigUpdate,
    SessionClose,
    UtteranceEnd,
    UtteranceStart,
    VideoFileConfig,
    VideoFileConfigFace,
    VideoFileResponse,
    VideoMeasurementResult,
    VideoSessionClosed,
    VideoSessionCreated,
    VideoSessionUpdate,
    VideoSessionUpdated,
)
from mock_v1_media import face_jpeg, pcm, plain_jpeg, wav

from mockserver import MockHandle, running_mock
from strategies.media import make_png

README = Path(__file__).resolve().parent.parent / "README.md"
SPEECH = pcm((200, False), (1800, True), (600, False))  # 2.6 s: short enough to stream at real time in a test
FRAME_BYTES = 3200  # 100 ms
# The SDK's async socket imports websockets' deprecated legacy client; that is the SDK's business.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockHandle]:
    with running_mock(fast_config(data_dir=tmp_path_factory.mktemp("v1sdk"))) as handle:
        yield handle


def environment(mock: MockHandle) -> ExpressionMeasurementClientEnvironment:
    return ExpressionMeasurementClientEnvironment(base=mock.base_url, production=mock.ws_base)


@pytest.fixture(scope="module")
def client(mock: MockHandle) -> ExpressionMeasurementClient:
    return ExpressionMeasurementClient(api_key=API_KEY, environment=environment(mock), max_retries=0)


def test_the_readme_snippet_runs_unchanged(mock: MockHandle, tmp_path: Path, monkeypatch, capsys) -> None:
    section = README.read_text(encoding="utf-8").split("### The v1 mock", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "speech.wav").write_bytes(wav(SPEECH))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUME_MOCK", f"{mock.host}:{mock.port}")
    monkeypatch.setenv("HUME_API_KEY", API_KEY)
    exec(compile(snippet, "README.md", "exec"), {"__name__": "readme"})  # noqa: S102 - our own README
    out = capsys.readouterr().out.split()
    assert "speech_ended" in out and "session.closed" in out and "realtime" in out and "file" in out


# ---------------------------------------------------------------- uploads


def test_sync_uploads_parse(client: ExpressionMeasurementClient) -> None:
    audio = client.audio.measure(file=("a.wav", wav(SPEECH), "audio/wav"),
                                 config=AudioFileConfig(measurement_timer_ms=3000))  # fmt: skip
    assert isinstance(audio, AudioFileResponse) and audio.utterances[0].audio_start_ms == 200
    assert [m.trigger for m in audio.measurements] == ["speech_ended"]
    images = client.video.measure(
        file=[("f.jpg", face_jpeg(), "image/jpeg"), ("p.jpg", plain_jpeg(), "image/jpeg")],
        config=VideoFileConfig(face=VideoFileConfigFace(return_face_state=True)),
    )
    assert isinstance(images, VideoFileResponse) and images.face_state
    assert len(images.measurements[0].faces) == 1 and images.measurements[1].faces == []


def test_sync_errors_map_to_the_sdks_typed_errors(client: ExpressionMeasurementClient, mock: MockHandle) -> None:
    with pytest.raises(BadRequestError) as bad:
        client.audio.measure(file=("a", b"\x01"))
    assert bad.value.body.code == "audio_decode_failed" and bad.value.body.request_id
    with pytest.raises(UnsupportedMediaTypeError):
        client.video.measure(file=[("p.png", make_png(64, 64).data, "image/png")])
    with pytest.raises(ContentTooLargeError):
        client.video.measure(file=[("big.jpg", face_jpeg() + bytes(2_000_000), "image/jpeg")])
    with pytest.raises(NotFoundError):
        client.runs.get("00000000-0000-4000-8000-000000000000")
    stranger = ExpressionMeasurementClient(api_key="wrong", environment=environment(mock), max_retries=0)
    with pytest.raises(UnauthorizedError) as refused:
        stranger.runs.list()
    assert refused.value.body.request_id


def test_async_uploads_and_runs_parse(mock: MockHandle) -> None:
    async def flows() -> None:
        client = AsyncExpressionMeasurementClient(api_key=API_KEY, environment=environment(mock))
        audio = await client.audio.measure(file=("a.raw", SPEECH, "application/octet-stream"))
        images = await client.video.measure(file=[("f.jpg", face_jpeg(), "image/jpeg")])
        run = await client.runs.get(images.run_id)
        assert run.mode == "file" and run.endpoint == "video" and run.config.face.threshold == 0.9
        page = await client.runs.list(page_size=1, endpoint="audio")
        assert len(page.runs) == 1 and page.runs[0].endpoint == "audio"
        assert audio.measurements and (await client.runs.list_events(audio.run_id)).events == []

    asyncio.run(flows())


# ---------------------------------------------------------------- realtime


def test_sync_realtime_audio_from_a_wav_at_real_time_pace(client: ExpressionMeasurementClient, tmp_path: Path) -> None:
    path = tmp_path / "speech.wav"
    path.write_bytes(wav(SPEECH))
    with wave.open(str(path)) as source, client.audio.connect() as socket:
        created = socket.recv()
        assert isinstance(created, AudioSessionCreated)
        socket.send_audio_session_update(AudioSessionUpdate(type="session.update", measurement_timer_ms=3000))
        assert isinstance(socket.recv(), AudioSessionUpdated)
        while frame := source.readframes(FRAME_BYTES // 2):
            socket.send_audio_frame(frame)
            time.sleep(0.1)
        socket.send_audio_session_close(SessionClose(type="session.close"))
        messages = list(socket)
    kinds = [type(m) for m in messages]
    assert kinds == [UtteranceStart, AudioMeasurementResult, UtteranceEnd, AudioSessionClosed]
    assert messages[-1].received.audio_duration_ms == 2600 and messages[-1].reason == "client_request"
    run = client.runs.get(created.session_id)
    assert (run.status, run.mode, run.close_code) == ("ended", "realtime", 1000)


def test_async_realtime_audio_and_video(mock: MockHandle) -> None:
    async def flows() -> tuple[list, list, list]:
        client = AsyncExpressionMeasurementClient(api_key=API_KEY, environment=environment(mock))
        async with client.audio.connect() as socket:
            for start in range(0, len(SPEECH), FRAME_BYTES):
                await socket.send_audio_frame(SPEECH[start : start + FRAME_BYTES])
                await asyncio.sleep(0.1)
            await socket.send_audio_session_close(SessionClose(type="session.close"))
            audio = [message async for message in socket]
        async with client.video.connect() as socket:
            await socket.send_video_session_update(
                VideoSessionUpdate(type="session.update", face=FaceConfigUpdate(threshold=0.8))
            )
            for frame in (face_jpeg(), b"not a jpeg", plain_jpeg()):
                await socket.send_image_frame(frame)
                await asyncio.sleep(0.34)
            await socket.send_video_session_close(SessionClose(type="session.close"))
            video = [message async for message in socket]
        events = await client.runs.list_events(video[0].session_id)
        return audio, video, events.events

    audio, video, events = asyncio.run(flows())
    assert [type(m) for m in audio] == [AudioSessionCreated, UtteranceStart, AudioMeasurementResult, UtteranceEnd,
                                        AudioSessionClosed]  # fmt: skip
    assert [type(m) for m in video] == [VideoSessionCreated, VideoSessionUpdated, VideoMeasurementResult, Error,
                                        VideoMeasurementResult, VideoSessionClosed]  # fmt: skip
    assert [m.frame_id for m in video if isinstance(m, VideoMeasurementResult)] == [0, 1]
    assert video[-1].produced.measurements == 1 and [e.kind for e in events] == ["invalid_image_frame"]


def test_sync_realtime_video(client: ExpressionMeasurementClient) -> None:
    with client.video.connect() as socket:
        for frame in (face_jpeg(), face_jpeg()):
            socket.send_image_frame(frame)
            time.sleep(0.34)
        socket.send_video_session_close(SessionClose(type="session.close"))
        messages = list(socket)
    results = [m for m in messages if isinstance(m, VideoMeasurementResult)]
    assert [r.faces[0].face_id for r in results] == [0, 0] and isinstance(messages[-1], VideoSessionClosed)


def test_the_flow_recording_covers_every_v1_operation_and_keeps_no_key(mock: MockHandle) -> None:
    from mock_v1_har import record_v1_flows

    har = record_v1_flows(mock, API_KEY)
    entries = har["log"]["entries"]
    paths = {re.sub(r"run/[0-9a-f-]{36}", "run/{id}", httpx.URL(e["request"]["url"]).path) for e in entries}
    expected = ["audio/file", "video/file", "run", "run/{id}", "run/{id}/events", "audio/realtime", "video/realtime"]
    assert {f"/v1/expression/{path}" for path in expected} <= paths
    sessions = [e["_webSocketMessages"] for e in entries if "_webSocketMessages" in e]
    assert len(sessions) == 6 and all(frames[-1]["opcode"] == 8 for frames in sessions)
    assert API_KEY not in json.dumps(har)
