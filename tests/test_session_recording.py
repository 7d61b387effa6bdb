"""Record and replay of stream sessions (the ``hume_sessions`` fixture): a project's tests of the official SDKs
run once against the mock, then again with the mock stopped, then changed to send a frame the transcript
does not hold."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import API_KEY, fast_config
from websockets.exceptions import ConnectionClosedError

from contracts import session_recording
from contracts.session_recording import Recorder, ReplayConnection, ReplayScript, SessionCassette
from mockserver import running_mock

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.xdist_group("session-recording")  # its module fixture records once
TESTS_DIR = Path(__file__).resolve().parent
README = TESTS_DIR.parent / "README.md"

PROJECT_CONFTEST = f"""
import sys
sys.path.insert(0, {str(TESTS_DIR)!r})
"""

# The project's tests: HUME_WS points at the mock while recording, at a closed port on replay; CHANGE=1 makes
# each test send one frame its recording did not.
V1_TESTS = """
import asyncio, os, time
import pytest
from hume_expression_measurement import AsyncExpressionMeasurementClient, ExpressionMeasurementClient
from hume_expression_measurement.environment import ExpressionMeasurementClientEnvironment
from hume_expression_measurement.types import (
    AudioMeasurementResult, AudioSessionClosed, AudioSessionCreated, AudioSessionUpdate, AudioSessionUpdated,
    SessionClose, UtteranceEnd, UtteranceStart, VideoMeasurementResult, VideoSessionClosed,
)
from mock_v1_media import face_jpeg, pcm, plain_jpeg

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SPEECH = pcm((200, False), (800, True), (300, False))
FRAMES = [SPEECH[i : i + 3200] for i in range(0, len(SPEECH), 3200)]
if os.environ.get("CHANGE"):
    FRAMES[2] = bytes(3200)
KEY = os.environ["HUME_KEY"]
ENV = ExpressionMeasurementClientEnvironment(base="http://127.0.0.1:9", production=os.environ["HUME_WS"])


@pytest.mark.hume_sessions
def test_sync_audio():
    client = ExpressionMeasurementClient(api_key=KEY, environment=ENV, max_retries=0)
    with client.audio.connect() as socket:
        assert isinstance(socket.recv(), AudioSessionCreated)
        socket.send_audio_session_update(AudioSessionUpdate(type="session.update", measurement_timer_ms=3000))
        assert isinstance(socket.recv(), AudioSessionUpdated)
        for frame in FRAMES:
            socket.send_audio_frame(frame)
            time.sleep(0.1)
        socket.send_audio_session_close(SessionClose(type="session.close"))
        messages = list(socket)
    assert [type(m) for m in messages] == [UtteranceStart, AudioMeasurementResult, UtteranceEnd, AudioSessionClosed]
    assert messages[-1].received.audio_duration_ms == 1300


@pytest.mark.hume_sessions
def test_sync_video():
    client = ExpressionMeasurementClient(api_key=KEY, environment=ENV, max_retries=0)
    with client.video.connect() as socket:
        for frame in (face_jpeg(), plain_jpeg() if os.environ.get("CHANGE") else face_jpeg()):
            socket.send_image_frame(frame)
            time.sleep(0.34)
        socket.send_video_session_close(SessionClose(type="session.close"))
        messages = list(socket)
    assert [type(m) for m in messages][-3:] == [VideoMeasurementResult, VideoMeasurementResult, VideoSessionClosed]


def test_async_audio(hume_sessions):
    async def session():
        client = AsyncExpressionMeasurementClient(api_key=KEY, environment=ENV)
        async with client.audio.connect() as socket:
            for frame in FRAMES:
                await socket.send_audio_frame(frame)
                await asyncio.sleep(0.1)
            await socket.send_audio_session_close(SessionClose(type="session.close"))
            return [message async for message in socket]

    messages = asyncio.run(session())
    assert [type(m) for m in messages] == [AudioSessionCreated, UtteranceStart, AudioMeasurementResult,
                                           UtteranceEnd, AudioSessionClosed]
"""

V0_TESTS = """
import asyncio, os
import pytest
from hume import AsyncHumeClient, HumeClient
from hume.environment import HumeClientEnvironment
from hume.expression_measurement.stream.stream.types import Config, StreamLanguage, StreamModelPredictions

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TEXT = "a changed sentence" if os.environ.get("CHANGE") else "I met Maria in Paris"
KEY = os.environ["HUME_KEY"]
ENV = HumeClientEnvironment(base="http://127.0.0.1:9", evi="ws://127.0.0.1:9", tts="ws://127.0.0.1:9",
                            stream=os.environ["HUME_STREAM"])


@pytest.mark.hume_sessions
def test_sync_stream():
    with HumeClient(api_key=KEY, environment=ENV).expression_measurement.stream.connect() as socket:
        text = socket.send_text(TEXT, config=Config(language=StreamLanguage(granularity="word")))
        assert [p.text for p in text.language.predictions] == TEXT.split()
        assert len(socket.get_job_details().job_details.job_id) == 32


@pytest.mark.hume_sessions
def test_async_stream():
    async def session():
        client = AsyncHumeClient(api_key=KEY, environment=ENV)
        async with client.expression_measurement.stream.connect() as socket:
            return await socket.send_text(TEXT, config=Config(language=StreamLanguage()))

    assert isinstance(asyncio.run(session()), StreamModelPredictions)
"""


INNER_OPTIONS = ("-p", "no:randomly", "-p", "no:xdist", "-p", "no:cacheprovider")


def readme_example() -> str:
    section = README.read_text(encoding="utf-8").split("#### Stream sessions: what vcrpy does not record", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def write_project(root: Path) -> None:
    (root / "conftest.py").write_text(PROJECT_CONFTEST, encoding="utf-8")
    (root / "test_realtime.py").write_text(readme_example(), encoding="utf-8")
    (root / "test_v1.py").write_text(V1_TESTS, encoding="utf-8")
    (root / "test_v0.py").write_text(V0_TESTS, encoding="utf-8")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's first run, against the mock, in its own process; after it the mock is stopped and its
    port closed, so a replayed test that reached the network would fail."""
    root = tmp_path_factory.mktemp("recorded")
    write_project(root)
    with running_mock(fast_config(data_dir=tmp_path_factory.mktemp("mock"))) as mock:
        env = {**os.environ, "HUME_KEY": API_KEY, "HUME_API_KEY": API_KEY, "HUME_WS": mock.ws_base,
               "HUME_STREAM": mock.stream_base}  # fmt: skip
        command = [sys.executable, "-m", "pytest", *INNER_OPTIONS, "-q"]
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "6 passed" in done.stdout, done.stdout[-3000:]
    return root


@pytest.fixture
def recorded(recording: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A copy of the recorded project (each test may change its transcripts); the mock is gone."""
    shutil.copytree(recording, pytester.path, dirs_exist_ok=True)
    monkeypatch.setenv("HUME_KEY", API_KEY)
    monkeypatch.delenv("HUME_API_KEY", raising=False)  # the README's test replays without a key
    monkeypatch.setenv("HUME_WS", "ws://127.0.0.1:9")  # nothing listens: replays are offline
    monkeypatch.setenv("HUME_STREAM", "ws://127.0.0.1:9/v0/stream")
    return pytester


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    """In a process of its own: the SDKs and websockets are imported fresh, and this process keeps its own."""
    return project.runpytest_subprocess(*INNER_OPTIONS, *args)


def transcripts(project: pytest.Pytester) -> list[str]:
    return sorted(path.relative_to(project.path).as_posix() for path in project.path.rglob("*.jsonl"))


RECORDED = [
    "cassettes/test_v0/test_async_stream.session1.jsonl",
    "cassettes/test_v0/test_sync_stream.session1.jsonl",
    "cassettes/test_v1/test_async_audio.session1.jsonl",
    "cassettes/test_v1/test_sync_audio.session1.jsonl",
    "cassettes/test_v1/test_sync_video.session1.jsonl",
    "cassettes/test_realtime/test_silence.session1.jsonl",  # the README's example
]


@pytest.mark.slow  # a project's pytest runs in processes of their own
def test_recorded_once_replays_with_the_mock_stopped_and_fails_loudly_on_a_new_frame(recorded, monkeypatch):
    assert transcripts(recorded) == sorted(RECORDED)
    before = {name: (recorded.path / name).read_bytes() for name in RECORDED}
    assert all(API_KEY.encode() not in text and b"[REDACTED]" in text for text in before.values())

    run(recorded).assert_outcomes(passed=6)  # offline: the mock is stopped
    assert {name: (recorded.path / name).read_bytes() for name in RECORDED} == before  # once: nothing rewritten

    monkeypatch.setenv("CHANGE", "1")
    changed = run(recorded)
    changed.assert_outcomes(failed=5, passed=1)
    output = changed.stdout.str()
    assert (
        "test_sync_audio.session1.jsonl): the test sent frame 4 (binary frame of 3200 bytes (starting "
        "0000000000000000)), but the transcript holds at line 7: binary frame of 3200 bytes" in output
    )
    assert "test_async_audio.session1.jsonl): the test sent frame 3 (binary frame" in output
    assert "test_sync_video.session1.jsonl): the test sent frame 2 (binary frame of" in output
    assert 'the test sent frame 1 (text frame {"data": "a changed sentence"' in output
    assert 'but the transcript holds at line 2: text frame {"data": "I met Maria in Paris"' in output


@pytest.mark.slow  # a project's pytest runs in processes of their own
def test_a_v1_transcript_holds_binary_frames_and_close_codes_in_order(recorded):
    lines = [json.loads(line) for line in (recorded.path / RECORDED[3]).open(encoding="utf-8")]
    header, frames = lines[0]["_session"], lines[1:]
    assert header["url"].endswith("/v1/expression/audio/realtime")
    assert header["headers"]["X-Hume-Api-Key"] == "[REDACTED]"
    kinds = [(frame["type"], frame["opcode"]) for frame in frames]
    assert kinds[:3] == [("receive", 1), ("send", 1), ("receive", 1)]
    assert kinds.count(("send", 2)) == 13 and kinds[-1] == ("receive", 8) and frames[-1]["code"] == 1000


@pytest.mark.slow  # a project's pytest runs in processes of their own
def test_a_server_close_code_replays_as_the_same_close(recorded):
    """The sync test iterates until the server closes: replayed, the iteration ends on the recorded 1000."""
    path = recorded.path / RECORDED[3]
    lines = path.read_text(encoding="utf-8").splitlines()
    close = json.loads(lines[-1])
    lines[-1] = json.dumps(close | {"code": 1011, "reason": "internal"})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(recorded, "test_v1.py::test_sync_audio")
    result.assert_outcomes(failed=1)
    assert "ConnectionClosedError: received 1011 (internal error) internal" in result.stdout.str()


@pytest.mark.slow  # a project's pytest runs in processes of their own
def test_record_mode_none_fails_a_session_without_a_transcript(pytester, monkeypatch):
    write_project(pytester.path)
    monkeypatch.setenv("HUME_KEY", API_KEY)
    monkeypatch.setenv("HUME_STREAM", "ws://127.0.0.1:9/v0/stream")
    result = run(pytester, "test_v0.py::test_sync_stream", "--hume-record-mode=none")
    result.assert_outcomes(failed=1)
    assert "session 1 (/v0/stream/models) has no transcript" in result.stdout.str()
    assert transcripts(pytester) == []


@pytest.mark.slow  # a project's pytest runs in processes of their own
def test_transcripts_are_read_by_validate_and_by_hume_recordings(recorded, capsys):
    from contracts.cli import main

    cassettes = recorded.path / "cassettes"
    assert main(["validate", "--format", "json", str(cassettes)]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["files"] == 6 and summary["bodies"] == 23 + 5, summary
    result = recorded.runpytest("--hume-recordings", "cassettes", "-v", "cassettes")  # no SDK: in this process
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*hume-recordings::cassettes/test_v1/test_sync_audio*PASSED*"])


@pytest.mark.slow  # a project's pytest runs in processes of their own
def test_a_drifted_transcript_fails_validate_as_a_session(recorded, capsys):
    from contracts.cli import main

    path = recorded.path / RECORDED[3]
    text = path.read_text(encoding="utf-8").replace('\\"utterances\\":1', '\\"utterances\\":7')
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    assert "v1-session-totals" in capsys.readouterr().out
    result = recorded.runpytest("--hume-recordings", "cassettes", "-q", "cassettes")
    result.assert_outcomes(passed=5, failed=1)


# ------------------------------------------------------------------ the machinery, in this process (no network)

AUDIO = "/v1/expression/audio/realtime"


def transcript_of(tmp_path: Path, *records: dict, name: str = "test_x", path: str = AUDIO) -> Path:
    lines = [{"_session": {"url": f"ws://h{path}", "headers": {}}}, *records]
    transcript = tmp_path / f"{name}.session1.jsonl"
    transcript.parent.mkdir(parents=True, exist_ok=True)
    transcript.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return transcript


def text(kind: str, message: dict) -> dict:
    return {"type": kind, "opcode": 1, "data": json.dumps(message)}


def cassette(tmp_path: Path, mode: str = "once") -> SessionCassette:
    return SessionCassette(tmp_path, "test_x", mode)


def test_a_reply_is_handed_out_only_after_the_frame_it_followed(tmp_path, monkeypatch):
    monkeypatch.setattr(session_recording, "REPLAY_WAIT", 0.05)
    transcript_of(
        tmp_path,
        text("receive", {"type": "session.created"}),
        {"type": "send", "opcode": 2, "data": base64.b64encode(b"\x01\x02").decode()},
        text("receive", {"type": "utterance.start"}),
        {"type": "receive", "opcode": 8, "code": 1008, "reason": "policy"},
    )
    connection = ReplayConnection(cassette(tmp_path).open("ws://other:1/v1/expression/audio/realtime", {}))
    assert json.loads(connection.recv()) == {"type": "session.created"}
    with pytest.raises(pytest.fail.Exception, match=r"next one \(line 4: text frame .*came after the client sent "
                                                    r"line 3: binary frame of 2 bytes \(starting 0102\)"):  # fmt: skip
        connection.recv()
    connection.send(bytearray(b"\x01\x02"))
    assert json.loads(connection.recv()) == {"type": "utterance.start"}
    with pytest.raises(ConnectionClosedError) as closed:
        connection.recv()
    assert (closed.value.rcvd.code, closed.value.rcvd.reason, connection.close_code) == (1008, "policy", 1008)
    connection.close()  # closing a closed connection sends nothing: no failure


def test_text_is_compared_as_json_and_a_close_by_its_code(tmp_path):
    transcript_of(tmp_path, text("send", {"a": 1, "b": [2]}), {"type": "send", "opcode": 8, "code": 1000})
    script = cassette(tmp_path).open("ws://h/v1/expression/audio/realtime", {})
    ReplayConnection(script).send('{"b": [2],  "a": 1}')
    with pytest.raises(pytest.fail.Exception, match=r"closed the session with code 4000, but the transcript holds "
                                                    r"at line 3: close 1000"):  # fmt: skip
        ReplayConnection(script).close(4000)


def test_a_frame_past_the_transcript_names_how_it_ends(tmp_path):
    transcript_of(tmp_path, {"type": "receive", "opcode": 8, "code": 1000, "reason": ""})
    script = cassette(tmp_path).open("ws://h/v1/expression/audio/realtime", {})
    with pytest.raises(pytest.fail.Exception, match=r"sent frame 1 \(text frame x\), but the transcript holds no "
                                                    r"more sent frames \(it ends with close 1000\)"):  # fmt: skip
        ReplayConnection(script).send("x")


def test_a_session_at_another_path_fails(tmp_path):
    transcript_of(tmp_path)
    with pytest.raises(pytest.fail.Exception, match=r"opened /v0/stream/models, but the transcript's session is "
                                                    r"/v1/expression/audio/realtime"):  # fmt: skip
        cassette(tmp_path).open("ws://h/v0/stream/models", {})


@pytest.mark.parametrize(
    ("mode", "existing", "expected"),
    [
        ("once", 0, ["record", "record"]),
        ("once", 1, ["replay", "fail"]),
        ("new_episodes", 1, ["replay", "record"]),
        ("none", 1, ["replay", "fail"]),
        ("all", 2, ["record", "record"]),
    ],
)
def test_record_modes_as_vcrpy(tmp_path, mode, existing, expected):
    for number in range(1, existing + 1):
        (tmp_path / f"test_x.session{number}.jsonl").write_text(json.dumps(text("receive", {})) + "\n")
    test_cassette = cassette(tmp_path, mode)
    seen = []
    for _ in expected:
        try:
            session = test_cassette.open("ws://h/v1/expression/video/realtime", {})
        except pytest.fail.Exception:
            seen.append("fail")
            continue
        seen.append("replay" if isinstance(session, ReplayScript) else "record")
        if isinstance(session, Recorder):
            session.finish()
    assert seen == expected


@pytest.mark.parametrize("key", ["null", "1", '"', "a-long-key-0123456789"])
def test_the_key_never_reaches_a_transcript(tmp_path, key):
    url = f"ws://h/v1/expression/audio/realtime?api_key={key}"
    recorder = cassette(tmp_path).open(url, {"X-Hume-Api-Key": key, "User-Agent": "sdk/x"})
    recorder.frame("receive", json.dumps({"echo": key, "null": None, "n": 1}))
    recorder.frame("send", b"\x00" * 4)
    recorder.finish()
    lines = [json.loads(line) for line in (tmp_path / "test_x.session1.jsonl").open(encoding="utf-8")]
    header = lines[0]["_session"]
    assert header["headers"] == {"X-Hume-Api-Key": "[REDACTED]", "User-Agent": "sdk/x"}
    assert header["url"] == "ws://h/v1/expression/audio/realtime?api_key=[REDACTED]"
    assert json.loads(lines[1]["data"]) == {"echo": "[REDACTED]", "null": None, "n": 1}  # structure intact
    assert base64.b64decode(lines[2]["data"]) == b"\x00" * 4


def test_a_long_key_inside_a_binary_frame_is_redacted_and_the_frame_still_replays(tmp_path):
    """Base64 hides a key from text redaction: the frame's bytes are redacted before encoding, and on replay the
    frame the test sends is redacted alike before it is compared, so it still matches."""
    key = "a-long-key-0123456789"
    frame = b"\x00\x01" + key.encode() + b"\x00\x01"
    recorder = cassette(tmp_path).open(f"ws://h{AUDIO}", {"X-Hume-Api-Key": key})
    recorder.frame("send", frame)
    recorder.finish()
    lines = [json.loads(line) for line in (tmp_path / "test_x.session1.jsonl").open(encoding="utf-8")]
    assert key.encode() not in base64.b64decode(lines[1]["data"])
    script = cassette(tmp_path).open(f"ws://h{AUDIO}", {"X-Hume-Api-Key": key})
    ReplayConnection(script).send(frame)  # the same frame: no mismatch


def read_items(path: Path) -> list:
    from contracts.readers import ReadOptions, read_path

    return list(read_path(path, path.name, ReadOptions()))


def test_a_v0_transcript_is_read_frame_by_frame_and_odd_lines_are_named(tmp_path):
    from contracts.readers import BodyItem, ReadError

    path = tmp_path / "s.jsonl"
    lines = [
        {"_session": {"url": "ws://h/v0/stream/models", "headers": {}}},
        text("send", {"data": "hi", "models": {"language": {}}, "raw_text": True}),
        {"type": "receive", "opcode": 2, "data": "AAAA"},
        {"type": "receive", "opcode": 8, "code": 1000},
        ["not", "a", "record"],
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + "{truncated\n", encoding="utf-8")
    items = read_items(path)
    assert [(type(i).__name__, i.location) for i in items] == [
        ("BodyItem", "line 2 (sent)"), ("ReadError", "line 3"), ("ReadError", "line 5"), ("ReadError", "line 6"),
    ]  # fmt: skip
    assert isinstance(items[0], BodyItem) and items[0].kind == "stream-payload"
    assert all(isinstance(i, ReadError) for i in items[1:]) and "binary frame" in items[1].message


def test_a_header_whose_url_is_not_a_url_is_no_traceback(tmp_path):
    path = tmp_path / "s.jsonl"
    header = {"_session": {"url": "ws://[::1/v1/expression/audio/realtime", "headers": {}}}
    path.write_text(json.dumps(header) + "\n" + json.dumps(text("receive", {"job_details": {}})) + "\n")
    assert [type(i).__name__ for i in read_items(path)] == ["BodyItem"]


SWALLOWING_TEST = """
import threading
from websockets.sync.client import connect


def test_a_thread_swallows_the_mismatch(hume_sessions):
    def talk():
        try:
            with connect("ws://127.0.0.1:9/v0/stream/models") as socket:
                socket.send('{"data": "changed", "raw_text": true, "models": {"language": {}}}')
        except BaseException:
            pass  # a background thread that hides every error: teardown still fails the test

    worker = threading.Thread(target=talk)
    worker.start()
    worker.join()
"""


@pytest.mark.slow  # a project's pytest runs in a process of its own
def test_a_mismatch_swallowed_by_the_test_still_fails_it(pytester):
    pytester.makepyfile(test_swallow=SWALLOWING_TEST)
    record = text("send", {"data": "recorded", "raw_text": True, "models": {"language": {}}})
    directory = pytester.path / "cassettes" / "test_swallow"
    transcript_of(directory, record, name="test_a_thread_swallows_the_mismatch", path="/v0/stream/models")
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_a_thread_swallows_the_mismatch*"])
    assert 'the test sent frame 1 (text frame {"data": "changed"' in result.stdout.str()
