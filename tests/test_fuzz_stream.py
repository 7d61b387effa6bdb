"""The stream part of `hume-contracts fuzz`: the reference mock (clean and drifted) and hostile fake servers.

Each run sends about ten frames to a fresh mock, so it takes well under a second; the fake servers (written
with websockets' sync server) answer badly on purpose: never, not in JSON, or by hanging up after an error.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, fast_config
from websockets.sync.server import Request, ServerConnection, serve

from contracts.fuzz import stream as stream_part
from contracts.fuzz.context import FuzzContext
from contracts.fuzz.ledger import Ledger
from contracts.fuzz.recorder import Recorder
from contracts.fuzz.stream import FrameChecker, Probe, StreamConnection, promise_probes, run_stream
from contracts.stream_judging import own_warning
from mockserver import running_mock
from strategies.invalid import Broken

# drift -> the code the stream part must report for it
DRIFT_CODES = {
    "auth-not-enforced": "stream-handshake-open",
    "stream-drop-payload-id": "stream-payload-id",
    "stream-missing-model": "stream-model-missing",
    "stream-error-without-code": "schema-required",
    "stream-job-id-dashed": "schema-pattern",
    "stream-bbox-as-box": "schema-required",
    "stream-warning-code-swapped": "stream-warning-code",
    "stream-mismatch-code": "stream-error-code",
    "stream-audio-limit-ignored": "stream-limit",
}


def context(stream_url: str, key: str = API_KEY, **overrides: object) -> FuzzContext:
    settings: dict[str, object] = {"max_examples": 10, "time_budget": 20.0, "request_timeout": 5.0, "seed": 3}
    settings.update(overrides)
    return FuzzContext(base_url="", stream_url=stream_url, api_key=key, ledger=Ledger(), **settings)  # type: ignore[arg-type]


def run(drifts: frozenset[str] = frozenset(), key: str = API_KEY, **overrides: object) -> FuzzContext:
    with running_mock(fast_config(drifts=drifts)) as mock:
        ctx = context(mock.stream_url, key=key, **overrides)
        run_stream(ctx)
    return ctx


def codes(ctx: FuzzContext) -> set[str]:
    return {failure.code for failure in ctx.ledger.failures.values()}


def sent_frames(recorder: Recorder, tmp_path: Path) -> list[str]:
    har = tmp_path / "stream.har"
    recorder.write(har)
    entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    return [m["data"] for e in entries for m in e["_webSocketMessages"] if m["type"] == "send"]


def test_the_clean_mock_passes_every_stream_check() -> None:
    ctx = run()
    assert codes(ctx) == set(), [f.found for f in ctx.ledger.failures.values()]
    assert ctx.ledger.passed[("stream: handshake", "stream")] == 2  # the key in the header and in ?apikey=
    assert ctx.ledger.passed[("stream: handshake", "auth")] == 2  # no key and a wrong key, both refused
    assert ctx.ledger.passed[("stream: predictions", "stream")] >= 3
    assert ctx.ledger.passed[("stream: error", "stream")] >= 2  # an error, and the connection survived it
    assert ctx.ledger.passed[("stream: predictions", "hume_response_conformance")] >= 3
    assert ctx.ledger.notes == []


@pytest.mark.parametrize("drift", sorted(DRIFT_CODES))
def test_each_stream_drift_is_reported(drift: str) -> None:
    ctx = run(frozenset({drift}))
    assert DRIFT_CODES[drift] in codes(ctx), sorted(codes(ctx))


def test_frames_are_bounded_by_max_examples_and_reproducible_from_the_seed(tmp_path: Path) -> None:
    recorded = []
    for attempt in range(2):
        with running_mock(fast_config()) as mock:
            ctx = context(mock.stream_url, max_examples=8)
            ctx.recorder = recorder = Recorder(ctx.redactor)
            run_stream(ctx)
        recorded.append(sent_frames(recorder, tmp_path / str(attempt)))
    fixed = ("hume-contracts-alive", "hume-contracts-promise")  # survival checks and promise probes come on top
    probes = [frame for frame in recorded[0] if not any(marker in frame for marker in fixed)]
    assert len(probes) == 8
    assert recorded[0] == recorded[1]


def test_a_refused_key_stops_the_part_early() -> None:
    ctx = run(key="not-the-mock-key")
    assert codes(ctx) == {"stream-unreachable"}
    assert any("stopped early" in note for note in ctx.ledger.notes)
    assert not any(where.startswith("stream: predictions") for where, _check in ctx.ledger.passed)


def test_ten_identical_errors_close_the_connection_on_purpose_and_the_part_reconnects() -> None:
    broken = Broken("frame is an array, not an object", "stream-payload", "schema-type", "", [])
    with running_mock(fast_config()) as mock:
        ctx = context(mock.stream_url)
        connection = StreamConnection(ctx)
        checker = FrameChecker(ctx, connection)
        for _ in range(10):
            checker.run(Probe([], broken))
        checker.run(Probe({"data": "still here", "models": {"language": {}}, "raw_text": True}))
        connection.close()
    assert codes(ctx) == set(), [f.found for f in ctx.ledger.failures.values()]
    assert connection.reconnects == 1
    assert any("closed the connection after repeated errors" in note for note in ctx.ledger.notes)
    assert ctx.ledger.passed[("stream: predictions", "stream")] >= 2  # answered after reconnecting


def test_the_key_value_never_reaches_the_ledger_or_the_recording(tmp_path: Path) -> None:
    marker = "SECRET-MARKER-123"
    lines: list[str] = []
    with running_mock(fast_config(api_key=marker, drifts=frozenset({"stream-drop-payload-id"}))) as mock:
        ctx = context(mock.stream_url, key=marker, progress=lines.append)
        ctx.recorder = Recorder(ctx.redactor)
        run_stream(ctx)
    har = tmp_path / "run.har"
    assert ctx.recorder.write(har) >= 1 and ctx.ledger.failures
    texts = [har.read_text(encoding="utf-8"), json.dumps(ctx.ledger.notes), "\n".join(lines)]
    texts += [json.dumps(failure.__dict__) for failure in ctx.ledger.failures.values()]
    assert not [text for text in texts if marker in text]


# -- hostile servers ---------------------------------------------------------------------------------------

Behaviour = Callable[[ServerConnection, Any], None]


@contextlib.contextmanager
def fake_stream(behaviour: Behaviour) -> Iterator[str]:
    """A stream server that checks the key like Hume's and answers each frame by ``behaviour``."""

    def check_key(connection: ServerConnection, request: Request) -> Any:
        if request.headers.get("X-Hume-Api-Key") != API_KEY and f"apikey={API_KEY}" not in request.path:
            return connection.respond(401, "Invalid ApiKey\n")
        return None

    def handler(connection: ServerConnection) -> None:
        for message in connection:
            behaviour(connection, json.loads(message))

    with serve(handler, "127.0.0.1", 0, process_request=check_key) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}/v0/stream/models"
        finally:
            server.shutdown()
            thread.join(timeout=5)


@pytest.fixture
def no_promise_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the generated frames (the promise probes have tests of their own below)."""
    monkeypatch.setattr(stream_part, "promise_probes", lambda: ())


def fuzz_fake(behaviour: Behaviour, **overrides: object) -> FuzzContext:
    with fake_stream(behaviour) as url:
        ctx = context(url, **{"max_examples": 4, "request_timeout": 0.3, **overrides})
        run_stream(ctx)
    return ctx


def fair_reply(frame: Any) -> dict[str, Any]:
    """What a correct server answers to a valid frame (empty predictions for every model asked for)."""
    reply: dict[str, Any] = {name: {"predictions": []} for name in frame.get("models", {})}
    if "payload_id" in frame:
        reply["payload_id"] = frame["payload_id"]
    if frame.get("job_details"):
        reply["job_details"] = {"job_id": "0" * 32}
    return reply


def test_a_server_that_never_answers_is_reported_and_the_part_stops(no_promise_probes: None) -> None:
    ctx = fuzz_fake(lambda _connection, _frame: None, max_examples=10)
    assert codes(ctx) == {"stream-no-reply"}
    assert ctx.ledger.occurrences[next(iter(ctx.ledger.failures))] == 6  # the first try and five reconnects
    assert any("stopped after 5 reconnects" in note for note in ctx.ledger.notes)


def test_a_reply_that_is_not_json_is_reported(no_promise_probes: None) -> None:
    ctx = fuzz_fake(lambda connection, _frame: connection.send("<html>oops</html>"))
    assert "unparsable-body" in codes(ctx)


def test_hanging_up_after_one_invalid_frame_is_a_dropped_connection(no_promise_probes: None) -> None:
    def hang_up_on_errors(connection: ServerConnection, frame: Any) -> None:
        if isinstance(frame, dict) and isinstance(frame.get("data", ""), str):
            connection.send(json.dumps(fair_reply(frame)))
            return
        connection.send(json.dumps({"error": "bad payload", "code": "E0101"}))
        connection.close(code=1011, reason="bye")

    ctx = fuzz_fake(hang_up_on_errors, max_examples=2)  # the text frame, then the invalid one
    assert codes(ctx) == {"stream-connection-dropped"}


def test_predictions_for_an_invalid_frame_and_an_error_for_a_valid_one_are_wrong_replies(
    no_promise_probes: None,
) -> None:
    def answer_backwards(connection: ServerConnection, frame: Any) -> None:
        if isinstance(frame, dict) and isinstance(frame.get("data"), str):
            connection.send(json.dumps({"error": "model failed", "code": "E0200"}))
        else:
            connection.send(json.dumps({"language": {"predictions": []}}))

    ctx = fuzz_fake(answer_backwards, max_examples=2)
    titles = {failure.title for failure in ctx.ledger.failures.values() if failure.code == "stream-wrong-reply"}
    assert titles == {
        "a valid frame was answered with an error",
        "an invalid frame was not answered with an error",
    }


# -- promise probes ---------------------------------------------------------------------------------------


def test_the_promise_probes_pass_on_the_clean_mock_and_cover_each_documented_code() -> None:
    ctx = run(max_examples=1)
    assert codes(ctx) == set(), [f.found for f in ctx.ledger.failures.values()]
    probes = promise_probes()
    assert {probe.promise.code for probe in probes if probe.promise} == {
        None,
        "E0101",
        "E0102",
        "E0201",
        "E0203",
        "E0205",
    }
    assert all(
        probe.frame is None or probe.frame["payload_id"].startswith("hume-contracts-promise-") for probe in probes
    )


def test_a_server_that_refuses_nothing_breaks_the_limits_and_the_faults() -> None:
    def answer_everything(connection: ServerConnection, frame: Any) -> None:
        connection.send(json.dumps(fair_reply(frame)))

    ctx = fuzz_fake(answer_everything, max_examples=1)
    found = {(failure.code, failure.title.split(":")[0]) for failure in ctx.ledger.failures.values()}
    assert found == {
        ("stream-limit", "a frame past a documented limit was not refused"),
        ("stream-wrong-reply", "an invalid frame was not answered with an error"),
    }
    past = [probe for probe in promise_probes() if probe.promise and probe.promise.code]
    judged = [probe for probe in past if probe.promise.grade == "judgement"]  # stream_window_ms: no code documented
    assert len(ctx.ledger.failures) == len(past) - len(judged) and len(judged) == 2  # one finding per probe, named
    assert {w.code for w in ctx.ledger.warnings.values()} == {"stream-limit"} and len(ctx.ledger.warnings) == 2


def test_a_server_that_refuses_everything_with_one_code_breaks_the_limits_and_the_codes() -> None:
    def refuse_everything(connection: ServerConnection, frame: Any) -> None:
        connection.send(json.dumps({"error": "Invalid payload.", "code": "E0101"}))

    ctx = fuzz_fake(refuse_everything, max_examples=1)
    found = {(failure.code, failure.title.split(":")[0]) for failure in ctx.ledger.failures.values()}
    assert ("stream-limit", "a frame within a documented limit was refused") in found
    wrong_codes = {f.found for f in ctx.ledger.failures.values() if f.code == "stream-error-code"}
    assert wrong_codes == {
        '"E0101", not E0102',
        '"E0101", not E0201',
        '"E0101", not E0203',
        '"E0101", not E0205',
    }
    # the stream_window_ms probes do expect E0101: no finding for them


@pytest.mark.parametrize(
    ("model", "code", "own"),
    [
        ("face", "W0103", True),
        ("face", "W0101", False),
        ("burst", "W0101", True),
        ("burst", "W0103", False),
        ("facemesh", "W0102", True),
        ("prosody", "W0103", False),  # a model without a documented warning may not borrow one
        ("language", "W0104", True),  # codes past W0103 were never confirmed: not judged
    ],
)
def test_a_warning_carries_the_code_of_its_own_model(model: str, code: str, own: bool) -> None:
    assert own_warning(model, code) is own
