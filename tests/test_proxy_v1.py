"""`hume-contracts proxy` on v1 (issue 19, item 2): the official SDK 0.1.0, unchanged, through the proxy with
nothing found; each documented client mistake reported as exactly its client finding, never as a violation;
`--strict` ending a drifted session (v1, and v0's stream) with the violation named in the close reason."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import signal
import time
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import API_KEY, fast_config
from hume_expression_measurement import AsyncExpressionMeasurementClient, ExpressionMeasurementClient
from hume_expression_measurement.environment import ExpressionMeasurementClientEnvironment
from hume_expression_measurement.types import (
    AudioFileConfig,
    AudioMeasurementResult,
    AudioSessionClosed,
    AudioSessionUpdate,
    FaceConfigUpdate,
    SessionClose,
    VideoFileConfig,
    VideoFileConfigFace,
    VideoSessionClosed,
    VideoSessionUpdate,
)
from hume_expression_measurement.video_helpers import VideoFrame, VideoResultReply, stream_video
from mock_v1_media import face_jpeg, pcm, plain_jpeg, wav
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from contracts import validate_command
from contracts.apis.v1.client import ClientWatch
from contracts.apis.v1.codes import CLIENT_CODES
from contracts.proxy import ProxyHandle, ProxyOptions, running_proxy
from contracts.proxy.addons import STRICT_CLOSE, close_reason
from contracts.readers import WsFrame
from contracts.violations import Violation
from mockserver import MockHandle, running_mock

SPEECH = pcm((100, False), (1100, True), (600, False))  # 1.8 s: one utterance, streamed in 18 frames
FRAME_BYTES = 3200  # 100 ms of audio
HEADERS = {"X-Hume-Api-Key": API_KEY}
AUDIO_PATH, VIDEO_PATH = "/v1/expression/audio/realtime", "/v1/expression/video/realtime"
# The SDK's async socket imports websockets' deprecated legacy client; that is the SDK's business.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockHandle]:
    with running_mock(fast_config(data_dir=tmp_path_factory.mktemp("proxyv1"))) as handle:
        yield handle


@contextlib.contextmanager
def proxied(target: MockHandle, **options: object) -> Iterator[tuple[ProxyHandle, io.StringIO]]:
    """A proxy to ``target``; the session's results are complete once the block is left."""
    log = io.StringIO()
    with running_proxy(ProxyOptions(target.base_url, log=log, **options)) as proxy:  # type: ignore[arg-type]
        yield proxy, log


def environment(proxy: ProxyHandle) -> ExpressionMeasurementClientEnvironment:
    return ExpressionMeasurementClientEnvironment(base=proxy.base_url, production=proxy.ws_base)


def found(proxy: ProxyHandle) -> tuple[Counter[str], Counter[str]]:
    """(violations and warnings by code, client findings by code) of the proxy's session."""
    results = proxy.session.results
    return Counter(results.results.by_code) + Counter(results.results.warnings_by_code), Counter(results.client.by_code)


def assert_clean(proxy: ProxyHandle, log: io.StringIO) -> None:
    violations, client = found(proxy)
    assert violations == Counter() and client == Counter(), log.getvalue()
    assert not [n for n in proxy.session.results.results.notes if "unknown" in n.message], log.getvalue()


# ------------------------------------------------------------------------------- the SDK, unchanged


def test_the_sdks_sync_flows_pass_with_nothing_found(mock: MockHandle, tmp_path: Path) -> None:
    with proxied(mock, record=tmp_path / "s.har") as (proxy, log):
        client = ExpressionMeasurementClient(api_key=API_KEY, environment=environment(proxy), max_retries=0)
        audio = client.audio.measure(file=("a.wav", wav(SPEECH), "audio/wav"),
                                     config=AudioFileConfig(measurement_timer_ms=3000))  # fmt: skip
        images = client.video.measure(
            file=[("f.jpg", face_jpeg(), "image/jpeg"), ("p.jpg", plain_jpeg(), "image/jpeg")],
            config=VideoFileConfig(face=VideoFileConfigFace(return_face_state=True)),
        )
        with client.audio.connect() as socket:
            socket.recv()
            socket.send_audio_session_update(AudioSessionUpdate(type="session.update", measurement_timer_ms=3000))
            socket.recv()
            for start in range(0, len(SPEECH), FRAME_BYTES):
                socket.send_audio_frame(SPEECH[start : start + FRAME_BYTES])
                time.sleep(0.1)  # real time, as the docs ask
            socket.send_audio_session_close(SessionClose(type="session.close"))
            streamed = list(socket)
        with client.video.connect() as socket:
            socket.send_video_session_update(
                VideoSessionUpdate(type="session.update", face=FaceConfigUpdate(threshold=0.8))
            )
            for frame in (face_jpeg(), plain_jpeg()):
                socket.send_image_frame(frame)
                time.sleep(0.34)
            socket.send_video_session_close(SessionClose(type="session.close"))
            watched = list(socket)
        page = client.runs.list(page_size=2)
        run = client.runs.get(audio.run_id)
        events = client.runs.list_events(images.run_id)
    assert audio.measurements and images.face_state and page.runs and run.run_id == audio.run_id
    assert events.events == [] and isinstance(streamed[-1], AudioSessionClosed)
    assert any(isinstance(m, AudioMeasurementResult) for m in streamed) and isinstance(watched[-1], VideoSessionClosed)
    assert_clean(proxy, log)
    results = proxy.session.results
    assert results.exchanges == 5 and results.frames > 20  # every exchange and frame went through the checks
    assert validate_command.main([str(tmp_path / "s.har")]) == 0  # the recording, binary frames too, reads back


def test_a_key_inside_a_binary_frame_never_reaches_the_har(mock: MockHandle, tmp_path: Path) -> None:
    """Binary frames are written base64, where the stop's re-redaction of the text cannot see a key: each frame's
    bytes are redacted before they are encoded (a client that sends its key in a media frame by mistake)."""
    frame = API_KEY.encode() + bytes(3200 - len(API_KEY))  # an even count: a valid audio frame
    with proxied(mock, record=tmp_path / "s.har") as (proxy, _log):
        socket = connect(proxy.ws_base + AUDIO_PATH, additional_headers=HEADERS)
        with socket, contextlib.suppress(ConnectionClosed, TimeoutError):
            socket.send(frame)
            socket.send(json.dumps({"type": "session.close"}))
            while True:
                socket.recv(timeout=5)
    har = json.loads((tmp_path / "s.har").read_text())
    sent = [m for e in har["log"]["entries"] for m in e.get("_webSocketMessages", []) if m["opcode"] == 2]
    assert len(sent) == 1 and API_KEY.encode() not in base64.b64decode(sent[0]["data"])
    assert len(base64.b64decode(sent[0]["data"])) > 3000  # the frame is kept, only the key replaced


def test_the_sdks_async_flows_and_its_own_video_sender_pass_with_nothing_found(mock: MockHandle) -> None:
    async def frames() -> AsyncIterator[VideoFrame]:
        for number, data in enumerate((face_jpeg(), plain_jpeg(), face_jpeg(), b"not a jpeg")):
            yield VideoFrame(data=data, timestamp_ms=number * 100.0)

    async def flows(proxy: ProxyHandle) -> list:
        client = AsyncExpressionMeasurementClient(api_key=API_KEY, environment=environment(proxy))
        audio = await client.audio.measure(file=("a.raw", SPEECH, "application/octet-stream"))
        await client.video.measure(file=[("f.jpg", face_jpeg(), "image/jpeg")])
        await client.runs.list(page_size=1, endpoint="audio")
        await client.runs.list_events(audio.run_id)
        async with client.audio.connect() as socket:
            for start in range(0, len(SPEECH), FRAME_BYTES):
                await socket.send_audio_frame(SPEECH[start : start + FRAME_BYTES])
                await asyncio.sleep(0.1)
            await socket.send_audio_session_close(SessionClose(type="session.close"))
            [message async for message in socket]
        async with client.video.connect() as socket:  # the SDK's own paced sender (3 frames/s)
            return [reply async for reply in stream_video(socket, frames())]

    with proxied(mock) as (proxy, log):
        replies = asyncio.run(flows(proxy))
    assert [isinstance(reply, VideoResultReply) for reply in replies] == [True, True, True, False]
    assert_clean(proxy, log)


# ------------------------------------------------------------------------------- client mistakes


def session(proxy: ProxyHandle, path: str) -> ClientConnection:
    return connect(proxy.ws_base + path, additional_headers=HEADERS, open_timeout=5, max_size=None)


def drain(socket: ClientConnection, timeout: float = 5.0) -> list[dict]:
    """Every message until the server closes (the proxy's hooks have then seen each frame)."""
    messages = []
    with contextlib.suppress(ConnectionClosed, TimeoutError):
        while True:
            message = socket.recv(timeout=timeout)
            messages.append(json.loads(message))
    return messages


def config_after_media(socket: ClientConnection) -> None:
    socket.send(bytes(FRAME_BYTES))
    socket.send(json.dumps({"type": "session.update", "measurement_timer_ms": 5000}))


def odd_audio_frame(socket: ClientConnection) -> None:
    socket.send(bytes(FRAME_BYTES + 1))
    socket.send(json.dumps({"type": "session.close"}))


def audio_over_one_mib(socket: ClientConnection) -> None:
    socket.send(bytes(1_048_576 + 2))


def audio_faster_than_real_time(socket: ClientConnection) -> None:
    for _ in range(200):  # 20 s of audio at once: 9 s over the 10 s one frame may hold and its 1 s margin
        socket.send(bytes(FRAME_BYTES))
    socket.send(json.dumps({"type": "session.close"}))


def video_faster_than_three_a_second(socket: ClientConnection) -> None:
    image = plain_jpeg(32, 32)
    for _ in range(12):  # 6 over the burst of 6: 2 s over the rate
        socket.send(image)
    socket.send(json.dumps({"type": "session.close"}))


MISTAKES = {
    "client-config-after-media": (AUDIO_PATH, config_after_media, "config_invalid"),
    "client-odd-audio-frame": (AUDIO_PATH, odd_audio_frame, "invalid_audio_frame"),
    "client-message-too-large": (AUDIO_PATH, audio_over_one_mib, "message_too_large"),
    "client-faster-than-realtime": (AUDIO_PATH, audio_faster_than_real_time, "rate_limited"),
}


@pytest.mark.parametrize("code", sorted(MISTAKES))
def test_each_documented_client_mistake_is_exactly_its_client_finding(mock: MockHandle, code: str) -> None:
    path, mistake, answer = MISTAKES[code]
    with proxied(mock) as (proxy, log), session(proxy, path) as socket:
        socket.recv(timeout=5)  # session.created
        mistake(socket)
        messages = drain(socket)
    assert answer in [m.get("code") for m in messages]  # the server said so too: the mistake was real
    violations, client = found(proxy)
    assert client == Counter({code: 1}) and violations == Counter(), log.getvalue()
    assert f"[{code}]" in log.getvalue() and "not counted against the server" in proxy.session.results.summary()


def test_video_faster_than_its_send_rate_is_a_client_finding(mock: MockHandle) -> None:
    with proxied(mock) as (proxy, log), session(proxy, VIDEO_PATH) as socket:
        socket.recv(timeout=5)
        video_faster_than_three_a_second(socket)
        drain(socket)
    assert found(proxy) == (Counter(), Counter({"client-faster-than-realtime": 1})), log.getvalue()


def test_client_findings_are_in_the_report_and_never_in_the_exit_status(mock: MockHandle, tmp_path: Path) -> None:
    with proxied(mock, report=tmp_path) as (proxy, _log), session(proxy, AUDIO_PATH) as socket:
        socket.recv(timeout=5)
        odd_audio_frame(socket)
        drain(socket)
    assert proxy.session.problems == [] and (tmp_path / "report.html").is_file()
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["client_findings"]["by_code"] == {"client-odd-audio-frame": 1}
    assert document["client_findings"]["findings"][0]["grade"] == "documented"
    assert document["summary"]["violations"] == 0 and document["summary"]["exit_code"] != 1
    assert "client-odd-audio-frame" in (tmp_path / "report.md").read_text()
    page = (tmp_path / "report.html").read_text()
    assert "Client findings" in page and "client-odd-audio-frame" in page and "PASS" in page
    assert set(CLIENT_CODES) == {*MISTAKES}  # every client code has its test client above


# ------------------------------------------------------------------------------- the server's promises


def test_a_drifted_session_is_reported_as_the_servers_violation(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    config = fast_config(data_dir=tmp_path, drifts=frozenset({"v1-closed-counts-wrong"}))
    har = tmp_path / "s.har"
    with (
        running_mock(config) as drifted,
        proxied(drifted, record=har) as (proxy, log),
        session(proxy, VIDEO_PATH) as socket,
    ):
        socket.recv(timeout=5)
        socket.send(face_jpeg())
        socket.send(json.dumps({"type": "session.close"}))
        drain(socket)
    violations, client = found(proxy)
    assert violations == Counter({"v1-session-totals": 1}) and client == Counter(), log.getvalue()
    capsys.readouterr()
    assert validate_command.main([str(har)]) == 1  # the recording says the same offline
    assert "1 v1-session-totals" in capsys.readouterr().out


def test_a_drifted_upload_is_reported_over_http(tmp_path: Path) -> None:
    config = fast_config(data_dir=tmp_path, drifts=frozenset({"v1-expressions-ascending"}))
    with running_mock(config) as drifted, proxied(drifted) as (proxy, log):
        client = ExpressionMeasurementClient(api_key=API_KEY, environment=environment(proxy), max_retries=0)
        client.audio.measure(file=("a.wav", wav(pcm((100, False), (4000, True))), "audio/wav"))
    assert set(found(proxy)[0]) == {"v1-scores-order"}, log.getvalue()


# ------------------------------------------------------------------------------- --strict on sessions


def test_strict_ends_a_drifted_v1_session_naming_the_violation(tmp_path: Path) -> None:
    config = fast_config(data_dir=tmp_path, drifts=frozenset({"v1-session-created-missing-id"}))
    with running_mock(config) as drifted:
        with (
            proxied(drifted, strict=True) as (proxy, log),
            session(proxy, AUDIO_PATH) as socket,
            pytest.raises(ConnectionClosed) as closed,
        ):
            socket.recv(timeout=5)  # the drifted session.created is held back: the close comes instead
        runs = httpx.get(f"{drifted.base_url}/v1/expression/run", params={"mode": "realtime"}, headers=HEADERS)
        [listed] = runs.json()["runs"]
        run = httpx.get(f"{drifted.base_url}/v1/expression/run/{listed['run_id']}", headers=HEADERS).json()
    assert (run["status"], run["close_code"]) == ("ended", 1000), run  # the target's side was closed too
    violations, _client = found(proxy)
    code = next(iter(violations))
    assert closed.value.rcvd.code == STRICT_CLOSE and f"[{code}]" in closed.value.rcvd.reason, log.getvalue()
    assert f"STRICT stream #1: ended with close code {STRICT_CLOSE}" in log.getvalue()


def test_strict_ends_a_drifted_v0_stream_naming_the_violation() -> None:
    frame = {"data": "Hume reads this.", "models": {"language": {}}, "raw_text": True, "payload_id": "p1"}
    with (
        running_mock(fast_config(drifts=frozenset({"stream-drop-payload-id"}))) as drifted,
        proxied(drifted, strict=True) as (proxy, log),
        connect(proxy.stream_url, additional_headers=HEADERS, open_timeout=5) as socket,
    ):
        socket.send(json.dumps(frame))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=5)  # the reply without its payload_id is held back
    [code] = proxy.session.results.results.by_code
    assert closed.value.rcvd.code == STRICT_CLOSE and f"[{code}]" in closed.value.rcvd.reason, log.getvalue()


def test_strict_leaves_a_session_open_for_a_judgement_of_ours() -> None:
    """A binary reply is graded a judgement (a warning): --strict ends nothing for it."""
    frame = {"data": "Hume reads this.", "models": {"language": {}}, "raw_text": True}
    with (
        running_mock(fast_config(drifts=frozenset({"stream-reply-binary"}))) as drifted,
        proxied(drifted, strict=True) as (proxy, log),
        connect(proxy.stream_url, additional_headers=HEADERS, open_timeout=5) as socket,
    ):
        socket.send(json.dumps(frame))
        assert isinstance(socket.recv(timeout=5), bytes)
    assert proxy.session.results.results.warnings_by_code == Counter({"stream-binary-frame": 1}), log.getvalue()


def test_strict_passes_a_clean_session_unchanged(mock: MockHandle) -> None:
    with proxied(mock, strict=True) as (proxy, log), session(proxy, VIDEO_PATH) as socket:
        created = json.loads(socket.recv(timeout=5))
        socket.send(face_jpeg())
        socket.send(json.dumps({"type": "session.close"}))
        messages = drain(socket)
        assert socket.close_code == 1000
    assert created["type"] == "session.created" and messages[-1]["type"] == "session.closed"
    assert_clean(proxy, log)


def test_a_close_reason_is_at_most_123_bytes_and_keeps_the_code_whole() -> None:
    violation = Violation("v1-session-totals", "/produced", "é" * 200, "ü" * 200)
    reason = close_reason(violation)
    assert len(reason.encode("utf-8")) <= 123 and reason.startswith("hume-contracts: [v1-session-totals] ")


# ------------------------------------------------------------------------------- the send rate, by the clock


def sent(size: int, number: int) -> WsFrame:
    return WsFrame("sent", f"frame {number}", 2, size=size, head=b"\xff\xd8\xff")


def too_fast(channel: str, sends: list[tuple[float, int]]) -> list[str]:
    """The client findings of frames (when sent, bytes) in one session."""
    watch = ClientWatch(channel, "test")
    return [finding.code for number, (at, size) in enumerate(sends) for finding in watch.sent(sent(size, number), at)]


def test_documented_pacing_never_trips_the_send_rate() -> None:
    every_100_ms = [(n * 0.1, 3200) for n in range(600)]  # the docs' "one 100 ms frame every 100 ms", 60 s
    maximal_frames = [(n * 10.0, 320_000) for n in range(6)]  # one 10 s frame every 10 s
    after_an_idle_stretch = [(0.0, 3200), (30.0, 320_000), (30.05, 3200)]  # a maximal frame after a pause, then on
    three_a_second = [(n / 3, 5000) for n in range(30)]
    sdk_video_sender = [(0.0, 5000), *[(1 / 3 + n / 3, 5000) for n in range(29)]]  # 1 frame at start, then paced
    for channel, sends in (
        ("audio", every_100_ms),
        ("audio", maximal_frames),
        ("audio", after_an_idle_stretch),
        ("video", three_a_second),
        ("video", sdk_video_sender),
    ):
        assert too_fast(channel, sends) == [], (channel, sends[:3])


def test_sending_over_the_rate_is_said_once_per_session() -> None:
    twice_real_time = [(n * 0.05, 3200) for n in range(600)]  # 60 s of audio in 30 s
    assert too_fast("audio", twice_real_time) == ["client-faster-than-realtime"]
    six_a_second = [(n / 6, 5000) for n in range(60)]
    assert too_fast("video", six_a_second) == ["client-faster-than-realtime"]


# ------------------------------------------------------------------------------- hostile input, binary frames


def test_a_sessions_memory_holds_no_media(mock: MockHandle) -> None:
    """300 frames of a second of audio (9.6 MB), each its own buffer, through one live session: only counters and
    a frame's first bytes are kept, never its media."""
    from contracts.apis.v1 import live_session
    from contracts.proxy.flows import StreamFlow, StreamMessage
    from contracts.proxy.sessions import as_frame

    flow = StreamFlow(1, AUDIO_PATH, [])
    live = live_session(AUDIO_PATH, "test")
    tracemalloc.start()
    try:
        for number in range(300):
            media = bytes(32_000)  # a new buffer each time: one kept would show
            live.feed(as_frame(flow, StreamMessage(number, True, None, media, number * 1.0)), number * 1.0)
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 256 * 1024, held


def test_a_slow_session_check_holds_up_no_other_client(mock: MockHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    """A binary frame's check runs in the connection's worker thread, as a text frame's does: never on the loop."""
    from contracts.apis.v1 import live

    feed = live.LiveSession.feed

    def slow_feed(self: live.LiveSession, frame: WsFrame, at: float) -> list:
        if frame.opcode == 2:
            time.sleep(2.0)
        return feed(self, frame, at)

    monkeypatch.setattr(live.LiveSession, "feed", slow_feed)
    with proxied(mock) as (proxy, log), session(proxy, AUDIO_PATH) as socket:
        socket.recv(timeout=5)
        socket.send(bytes(FRAME_BYTES))
        time.sleep(0.1)  # its check has started
        started = time.monotonic()
        answer = httpx.get(f"{proxy.base_url}/v1/expression/run", headers=HEADERS, timeout=60)
        took = time.monotonic() - started
        socket.send(json.dumps({"type": "session.close"}))
        drain(socket)
    assert answer.status_code == 200 and took < 1.2, took  # on the loop, it would wait out the 2 s check
    assert_clean(proxy, log)  # and the slow check ran to its end


def test_strict_replaces_no_http_answer_for_a_judgement_of_ours() -> None:
    """As on streams: a warning (a judgement of this suite) fails nothing, so it turns no answer into a 502."""
    from contracts.proxy.addons import StrictGate
    from contracts.proxy.flows import HttpFlow
    from contracts.violations import Finding

    judged = Violation("v1-page-duplicate", "/runs/1/run_id", "each item once in a listing", "r1 again")
    promised = Violation("v1-scores-order", "/measurements/0", "by descending probability", "ascending")
    warned, failed = HttpFlow(1, "GET", "/v1/expression/run", []), HttpFlow(2, "GET", "/v1/expression/run", [])
    warned.findings = [Finding("proxy", "#1", "v1-runs-page", [judged])]
    failed.findings = [Finding("proxy", "#2", "v1-runs-page", [judged, promised])]
    for flow in (warned, failed):
        StrictGate().response(flow)
    assert warned.replacement is None and failed.replacement is not None
    assert [v["code"] for v in json.loads(failed.replacement.body)["violations"]] == ["v1-scores-order"]


def test_the_live_log_says_a_rightly_refused_request_is_no_failure() -> None:
    from contracts.proxy.addons import LiveLog, SecretWatch
    from contracts.violations import RejectedRequest

    out = io.StringIO()
    LiveLog(SecretWatch(), out)(RejectedRequest("proxy", "#1", "400", [Violation("schema-type", "/x", "int", "str")]))
    assert out.getvalue().startswith("note  #1: a request that breaks the contract, refused (400)")
    assert "FAIL" not in out.getvalue()


# ------------------------------------------------------------------------------- the command


def test_the_command_exits_0_with_a_client_finding_and_says_it(mock: MockHandle, tmp_path: Path) -> None:
    """`hume-contracts proxy` itself: the client's mistake is shown and summed up, and fails nothing."""
    from test_proxy_hostile import command, start

    process, base = start(command(mock.base_url, tmp_path, "--report", str(tmp_path / "out")))
    try:
        ws_base = base.replace("http://", "ws://")
        with connect(ws_base + AUDIO_PATH, additional_headers=HEADERS, open_timeout=5) as socket:
            socket.recv(timeout=5)
            odd_audio_frame(socket)
            drain(socket)
        time.sleep(0.2)  # the close reaches the proxy's hooks
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "CLIENT stream #1 frame 2 (sent)  [client-odd-audio-frame]" in out, out
    assert "no violations; 1 client finding (client-odd-audio-frame 1), not counted against the server" in out, out
