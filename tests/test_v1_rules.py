"""Each v1 rule: a valid body (or session) it passes, and a mutation only it catches; the compatibility rules
(additions are notes unless --closed-world); every v1 code registered with its grade."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import v1_samples as samples
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.apis import v1
from contracts.apis.v1.codes import ADDITION_CODES, BODY_RULE_CODES, SESSION_RULE_CODES, V1_CODES
from contracts.apis.v1.session import judge_frames
from contracts.evidence import Grade, grade_of
from contracts.readers import Note, SessionItem, WsFrame
from contracts.violations import Finding

Mutation = Callable[[Any], None]


def codes_of(body: Any, kind: str) -> set[str]:
    return {violation.code for violation in v1.validate_body(body, kind) if violation.code not in ADDITION_CODES}


CLOSE_FRAME = "close frame"  # a session entry standing for a WebSocket close frame (messages are dicts or bytes)


def frames(session: list[tuple[str, Any]]) -> list[WsFrame]:
    made = []
    for index, (direction, message) in enumerate(session):
        where = f"line {index + 1}"
        if message == CLOSE_FRAME:
            made.append(WsFrame(direction, where, 8, close_code=1000))
        elif isinstance(message, bytes):
            made.append(WsFrame(direction, where, 2, size=len(message), head=message[:16]))
        else:
            made.append(WsFrame(direction, where, 1, message))
    return made


def session_codes(session: list[tuple[str, Any]], path: str) -> set[str]:
    item = SessionItem("t.jsonl", "", "v1", path, iter(frames(session)))
    found = [r for r in judge_frames(item) if isinstance(r, Finding)]
    return {v.code for finding in found for v in finding.violations}


AUDIO_PATH, VIDEO_PATH = "/v1/expression/audio/realtime", "/v1/expression/video/realtime"

# ------------------------------------------------------------------------------------------- valid bodies

VALID = {
    "v1-audio-file-response": samples.audio_file_response,
    "v1-video-file-response": samples.video_file_response,
    "v1-run": samples.run,
    "v1-runs-page": samples.runs_page,
    "v1-run-events-page": samples.run_events_page,
    "v1-error": samples.error_body,
}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_body_passes_every_rule(kind: str) -> None:
    assert v1.validate_body(VALID[kind](), kind) == []
    assert v1.detect_kind(VALID[kind]()) == kind


def test_valid_sessions_pass() -> None:
    assert session_codes(samples.audio_session(), AUDIO_PATH) == set()
    assert session_codes(samples.video_session(), VIDEO_PATH) == set()


# -------------------------------------------------------------------------------------- body mutations


def _set(path: list[Any], value: Any) -> Mutation:
    def mutate(body: Any) -> None:
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _swap(path: list[Any], a: int, b: int) -> Mutation:
    def mutate(body: Any) -> None:
        node = body
        for key in path:
            node = node[key]
        node[a], node[b] = node[b], node[a]

    return mutate


A, V = "v1-audio-file-response", "v1-video-file-response"


def _second_utterance(body: Any, utterance_id: int) -> None:
    """A second utterance (numbered ``utterance_id``) with one measurement of its own."""
    body["utterances"].append({"utterance_id": utterance_id, "audio_start_ms": 9000, "audio_end_ms": 12000})
    measurement = samples.audio_measurement(3, 9000, 12000, "speech_ended")
    body["measurements"].append({**measurement, "utterance_id": utterance_id})


def _window_over_10_s(body: Any) -> None:
    """The utterance and its speech_ended window run to 12 s: a window of 11,902 ms, inside its utterance."""
    body["received"]["audio_duration_ms"] = 12000
    body["utterances"][0]["audio_end_ms"] = 12000
    body["measurements"][2]["audio_end_ms"] = 12000


M0 = ["measurements", 0]
FACES = ["measurements", 0, "faces"]

BODY_MUTATIONS: list[tuple[str, str, Mutation]] = [
    ("v1-scores-order", A, _swap([*M0, "expressions"], 0, 1)),
    (
        "v1-scores-tie-order",
        V,
        _set([*FACES, 0, "descriptions"], [samples.score("smile", 0.5), samples.score("grin", 0.5)]),
    ),
    ("v1-scores-order", V, _swap([*FACES, 0, "descriptions"], 0, 1)),
    ("v1-probability-decimals", A, _set([*M0, "expressions", 1, "probability"], 0.41871)),
    ("schema-range", A, _set([*M0, "expressions", 0, "probability"], 1.5)),
    ("v1-voice-attribute-threshold", A, _set([*M0, "voice_attributes", 1, "probability"], 0.7249)),
    ("v1-face-score-threshold", V, _set([*FACES, 0, "descriptions", 1, "probability"], 0.0999)),
    ("v1-measurement-id-sequence", A, _set(["measurements", 1, "measurement_id"], 5)),
    ("v1-utterance-sequence", A, lambda body: _second_utterance(body, 2)),
    ("v1-utterance-sequence", A, _set(["utterances", 0, "audio_start_ms"], 9000)),  # ends before it starts
    ("v1-utterance-open", A, _set([*M0, "utterance_id"], 3)),
    ("v1-window-bounds", A, _set([*M0, "audio_start_ms"], 50)),
    ("v1-window-bounds", A, _set([*M0, "audio_end_ms"], 50)),
    ("v1-window-bounds", A, _set(["utterances", 0, "audio_end_ms"], 7000)),
    ("v1-window-bounds", A, _window_over_10_s),
    ("v1-speech-ended", A, _set(["measurements", 2, "audio_end_ms"], 6500)),
    ("v1-speech-ended", A, _set([*M0, "trigger"], "speech_ended")),
    (
        "v1-utterance-measured",
        A,
        _set(
            ["utterances"],
            [
                *samples.audio_file_response()["utterances"],
                {"utterance_id": 1, "audio_start_ms": 8500, "audio_end_ms": 8900},
            ],
        ),
    ),
    ("v1-frame-id-sequence", V, _set(["measurements", 1, "frame_id"], 2)),
    ("v1-face-order", V, _swap(FACES, 1, 2)),
    ("v1-face-order", V, _swap(FACES, 2, 3)),
    ("v1-face-size-order", V, _swap(FACES, 0, 1)),
    ("v1-unmeasured-face-nulls", V, _set([*FACES, 2, "expressions"], [])),
    ("v1-bbox-order", V, _set([*FACES, 3, "bbox"], [30.0, 0.0, 0.0, 30.0])),
    ("schema-length", V, _set(FACES, [samples.unmeasured_face(0.95)] * 33)),
    ("schema-length", V, _set([*FACES, 0, "bbox"], [1.0, 2.0, 3.0])),
    ("v1-run-ended-at", "v1-run", _set(["ended_at"], None)),
    ("v1-run-ended-at", "v1-runs-page", _set(["runs", 0, "ended_at"], "2026-10-08T12:01:00Z")),
    ("v1-metered-minimum", "v1-run", _set(["metered_seconds"], 3.0)),
    ("v1-metered-minimum", "v1-runs-page", _set(["runs", 1, "metered_seconds"], 3.0)),
    ("v1-runs-order", "v1-runs-page", _swap(["runs"], 0, 1)),
    ("v1-page-duplicate", "v1-runs-page", _set(["runs", 1, "run_id"], "1f3a9c1e-2b4d-4e6f-8a0b-1c2d3e4f5a6b")),
    ("v1-events-order", "v1-run-events-page", _swap(["events"], 0, 1)),
    ("schema-required", "v1-error", lambda body: body.pop("request_id")),
    ("schema-type", "v1-run-events-page", _set(["gaps"], "no")),
]


@pytest.mark.parametrize(
    ("code", "kind", "mutate"), BODY_MUTATIONS, ids=[f"{c}-{k}-{i}" for i, (c, k, _) in enumerate(BODY_MUTATIONS)]
)
def test_each_body_rule_alone_catches_its_mutation(code: str, kind: str, mutate: Mutation) -> None:
    body = copy.deepcopy(VALID[kind]())
    mutate(body)
    assert codes_of(body, kind) == {code}


def test_a_window_of_exactly_10_s_passes() -> None:
    """The cap is "at most the latest 10 s": a window of 10,000 ms keeps it (the mutation above is over it)."""
    body = samples.audio_file_response()
    body["utterances"][0]["audio_end_ms"] = body["measurements"][2]["audio_end_ms"] = 98 + 10_000
    assert codes_of(body, A) == set()


def test_an_audio_tie_is_not_judged_its_order_is_by_underlying_scores_the_body_does_not_show() -> None:
    """Audio ties go by the underlying (unrounded) score, then name: a tie of the rounded scores may be listed
    either way round. Face ties go by name alone and are judged (v1-scores-tie-order)."""
    for tied in (("amusement", "interest"), ("interest", "amusement")):
        body = samples.audio_file_response()
        body["measurements"][0]["expressions"] = [samples.score(name, 0.5) for name in tied]
        assert codes_of(body, A) == set()


def test_a_disabled_rule_says_nothing() -> None:
    body = samples.audio_file_response()
    _swap([*M0, "expressions"], 0, 1)(body)
    assert v1.validate_body(body, A, disabled={"v1-scores-order"}) == []


# ----------------------------------------------------------------------------------- session mutations


def _message(index: int, **changes: Any) -> Callable[[list[tuple[str, Any]]], None]:
    def mutate(session: list[tuple[str, Any]]) -> None:
        session[index][1].update(changes)

    return mutate


def _insert(index: int, entry: tuple[str, Any]) -> Callable[[list[tuple[str, Any]]], None]:
    return lambda session: session.insert(index, entry)


def _remove(index: int) -> Callable[[list[tuple[str, Any]]], None]:
    return lambda session: session.pop(index)


def _move_update_after_media(session: list[tuple[str, Any]]) -> None:
    """created, audio, update, updated: the update comes after the first media frame and is answered."""
    session[1:4] = [session[3], session[1], session[2]]


def _unmeasured_utterance(session: list[tuple[str, Any]]) -> None:
    """A second utterance that starts and ends without a measurement (the totals count it)."""
    session[8:8] = [
        ("received", {"type": "utterance.start", "utterance_id": 1, "audio_start_ms": 6500}),
        ("received", {"type": "utterance.end", "utterance_id": 1, "audio_start_ms": 6500, "audio_end_ms": 6600}),
    ]
    session[-1][1]["produced"]["utterances"] = 2


def _utterances_from_one(session: list[tuple[str, Any]]) -> None:
    """The one utterance is numbered 1 throughout (start, its measurements, end): only the count from 0 breaks."""
    for index in (4, 6, 7, 9, 10):
        session[index][1]["utterance_id"] = 1


def _measured_after_end(session: list[tuple[str, Any]]) -> None:
    """The speech_ended measurement comes after its utterance.end."""
    session[9], session[10] = session[10], session[9]


def _window_over_10_s_live(session: list[tuple[str, Any]]) -> None:
    """The utterance and its speech_ended window run to 10.2 s: a window of 10,102 ms, inside its utterance."""
    session[9][1]["audio_end_ms"] = session[10][1]["audio_end_ms"] = 10200
    session[11][1]["received"]["audio_duration_ms"] = 10200


AUDIO_ERROR = {"type": "error", "code": "config_invalid", "message": "x", "retryable": False}
CLOSED_BY_ERROR = {
    "type": "session.closed",
    "session_id": "s-1",
    "reason": "error",
    "received": {"audio_duration_ms": 0, "frames": 0},
    "produced": {"utterances": 0, "measurements": 0},
}

SESSION_MUTATIONS: list[tuple[str, str, Callable[[list[tuple[str, Any]]], None]]] = [
    ("v1-measurement-id-sequence", AUDIO_PATH, _message(7, measurement_id=2)),
    ("v1-utterance-open", AUDIO_PATH, _message(6, utterance_id=1)),
    ("v1-utterance-open", AUDIO_PATH, _measured_after_end),
    ("v1-utterance-open", AUDIO_PATH, lambda s: s.insert(11, copy.deepcopy(s[10]))),  # utterance.end twice
    ("v1-utterance-sequence", AUDIO_PATH, _message(10, audio_start_ms=99)),
    ("v1-utterance-sequence", AUDIO_PATH, _utterances_from_one),
    ("v1-window-bounds", AUDIO_PATH, _message(6, audio_start_ms=90)),
    ("v1-window-bounds", AUDIO_PATH, _message(6, audio_end_ms=50)),
    ("v1-window-bounds", AUDIO_PATH, _window_over_10_s_live),
    ("v1-window-bounds", AUDIO_PATH, _message(9, audio_end_ms=8500)),  # past the end utterance.end then gives
    ("v1-speech-ended", AUDIO_PATH, _message(9, audio_end_ms=6500)),
    ("v1-utterance-measured", AUDIO_PATH, _unmeasured_utterance),
    ("v1-session-created-first", AUDIO_PATH, _insert(1, ("received", copy.deepcopy(samples.audio_session()[0][1])))),
    ("v1-session-updated-unasked", AUDIO_PATH, _remove(1)),
    ("v1-session-update-after-media", AUDIO_PATH, _move_update_after_media),
    (
        "v1-session-closed-last",
        AUDIO_PATH,
        _insert(12, ("received", {"type": "utterance.start", "utterance_id": 1, "audio_start_ms": 9000})),
    ),
    ("v1-session-totals", AUDIO_PATH, lambda s: s[11][1]["produced"].update(measurements=4)),
    ("v1-session-totals", VIDEO_PATH, lambda s: s[10][1]["produced"].update(measurements=3)),
    ("v1-frame-id-sequence", VIDEO_PATH, _message(8, frame_id=2)),
    ("v1-confidence-threshold", VIDEO_PATH, lambda s: s[4][1]["faces"][3].update(confidence=0.85)),
    ("v1-error-retryable", VIDEO_PATH, _message(6, retryable=False)),
    ("v1-video-replies", VIDEO_PATH, _remove(8)),
    (
        "v1-video-replies",
        VIDEO_PATH,
        _insert(9, ("received", {"type": "error", "code": "rate_limited", "message": "x", "retryable": True})),
    ),
]


@pytest.mark.parametrize(
    ("code", "path", "mutate"), SESSION_MUTATIONS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(SESSION_MUTATIONS)]
)
def test_each_session_rule_alone_catches_its_mutation(code: str, path: str, mutate: Any) -> None:
    session = copy.deepcopy(samples.audio_session() if path == AUDIO_PATH else samples.video_session())
    mutate(session)
    assert session_codes(session, path) == {code}


def test_a_session_ending_error_must_be_last_and_not_retryable() -> None:
    created = samples.audio_session()[0]
    ending = [created, ("received", dict(AUDIO_ERROR)), ("received", dict(CLOSED_BY_ERROR))]
    assert session_codes(copy.deepcopy(ending), AUDIO_PATH) == set()
    retryable = copy.deepcopy(ending)
    retryable[1][1]["retryable"] = True
    assert session_codes(retryable, AUDIO_PATH) == {"v1-session-ending-error"}
    followed = copy.deepcopy(ending)
    followed.insert(2, ("received", {"type": "error", "code": "rate_limited", "message": "x", "retryable": True}))
    assert session_codes(followed, AUDIO_PATH) == {"v1-session-ending-error"}


def test_video_internal_error_ends_the_session_the_fifth_time_in_a_row() -> None:
    session = samples.video_session()[:1]
    failure = {"type": "error", "code": "internal_error", "message": "x", "retryable": True}
    session += [("received", dict(failure)) for _ in range(4)]
    assert session_codes(copy.deepcopy(session), VIDEO_PATH) == set()
    session.append(("received", dict(failure)))
    assert session_codes(session, VIDEO_PATH) == {"v1-session-ending-error"}  # the fifth says retryable: true


# --------------------------------------------------------------------------------------- compatibility

ADDITIONS = [
    ("v1-unknown-name", A, _set([*M0, "expressions", 0, "name"], "a brand new expression")),
    ("v1-unknown-value", "v1-error", _set(["code"], "a_new_code")),
    ("v1-unknown-field", "v1-run", _set(["new_field"], 1)),
    ("v1-unknown-value", "v1-run", _set(["status"], "paused")),
]


@pytest.mark.parametrize(("code", "kind", "mutate"), ADDITIONS)
def test_an_addition_is_a_note_unless_closed_world(code: str, kind: str, mutate: Mutation) -> None:
    body = VALID[kind]()
    mutate(body)
    finding = Finding("f.json", "", kind, v1.validate_body(body, kind))
    open_world = v1.settle(finding)
    assert [type(r) for r in open_world] == [Finding, Note]
    assert open_world[0].violations == []
    assert f"[{code}]" in open_world[1].message
    closed = v1.settle(finding, closed_world=True)
    assert [v.code for v in closed[0].violations] == [code]


def test_a_new_message_type_is_an_addition() -> None:
    found = v1.validate_body({"type": "speech.detected", "at": 1}, "v1-audio-server-message")
    assert [v.code for v in found] == ["v1-unknown-message-type"]


def test_a_missing_field_is_a_violation_in_both_worlds() -> None:
    body = samples.run()
    del body["status"]
    finding = Finding("f.json", "", "v1-run", v1.validate_body(body, "v1-run"))
    assert [v.code for v in v1.settle(finding)[0].violations] == ["schema-required"]


def test_every_v1_code_has_a_grade_and_judgements_say_why() -> None:
    grades = {code: grade_of(code) for code in V1_CODES}
    assert grades["v1-unknown-name"] is Grade.JUDGEMENT
    assert grades["v1-face-size-order"] is Grade.JUDGEMENT
    assert grades["v1-scores-tie-order"] is Grade.JUDGEMENT
    assert grades["v1-scores-order"] is Grade.DOCUMENTED
    assert set(grades.values()) <= set(Grade)


# ---------------------------------------------------------------------------------- across interactions


def _ledger_codes(*responses: tuple[str, str, Any]) -> list[set[str]]:
    from contracts.apis.v1.runs import RunsLedger

    ledger = RunsLedger()
    return [{v.code for v in ledger.observe(kind, query, body)} for kind, query, body in responses]


def test_a_run_that_ended_stays_ended_and_live_errored_may_alternate() -> None:
    assert (
        _ledger_codes(
            ("v1-run", "", samples.run("live")),
            ("v1-run", "", samples.run("errored")),
            ("v1-run", "", samples.run("live")),
            ("v1-run", "", samples.run("ended")),
        )
        == [set()] * 4
    )
    assert _ledger_codes(("v1-run", "", samples.run("ended")), ("v1-run", "", samples.run("live"))) == [
        set(),
        {"v1-run-status-transition"},
    ]


def test_a_listing_followed_page_by_page_lists_no_item_twice_and_ends() -> None:
    first = samples.runs_page()
    second = {"runs": [samples.run_summary("3f3a9c1e-2b4d-4e6f-8a0b-1c2d3e4f5a6b", "2026-10-06T12:00:00Z")]}
    assert _ledger_codes(("v1-runs-page", "", first), ("v1-runs-page", "cursor=opaque", second)) == [set(), set()]
    repeated = copy.deepcopy(second)
    repeated["runs"][0]["run_id"] = first["runs"][1]["run_id"]
    assert _ledger_codes(("v1-runs-page", "", first), ("v1-runs-page", "cursor=opaque", repeated))[1] == {
        "v1-page-duplicate"
    }
    looping = {**second, "next_cursor": "opaque"}
    assert _ledger_codes(("v1-runs-page", "", first), ("v1-runs-page", "cursor=opaque", looping))[1] == {
        "v1-cursor-loop"
    }
    # a listing started afresh may list the same runs again
    assert _ledger_codes(("v1-runs-page", "", first), ("v1-runs-page", "", first)) == [set(), set()]


# ------------------------------------------------------------------------------------------- no traceback


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)
_TYPES = st.sampled_from(
    [
        "session.created",
        "session.updated",
        "utterance.start",
        "measurement.result",
        "utterance.end",
        "error",
        "session.closed",
        "session.update",
        "session.close",
        "x",
    ]
)
_KEYS = st.sampled_from(
    [
        "utterance_id",
        "measurement_id",
        "audio_start_ms",
        "audio_end_ms",
        "trigger",
        "expressions",
        "faces",
        "frame_id",
        "code",
        "retryable",
        "face",
        "produced",
        "received",
        "reason",
        "voice_attributes",
    ]
)
_MESSAGES = st.builds(lambda kind, rest: {**rest, "type": kind}, _TYPES, st.dictionaries(_KEYS, _JSON, max_size=6))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["sent", "received"]), _MESSAGES), max_size=12),
    st.sampled_from([AUDIO_PATH, VIDEO_PATH]),
)
def test_any_session_of_odd_messages_is_judged_without_a_traceback(session: list[tuple[str, Any]], path: str) -> None:
    session_codes(session, path)
    for direction, message in session:
        kind = "v1-audio-server-message" if direction == "received" else "v1-audio-client-message"
        v1.validate_body(message, kind)
        v1.detect_kind(message)


def test_a_recording_that_begins_after_the_session_did_judges_no_counters() -> None:
    late = samples.audio_session()[6:]  # from a measurement.result of an utterance started before
    assert session_codes(late, AUDIO_PATH) == {"v1-session-created-first"}


def test_a_run_over_and_metered_for_media_is_metered_at_least_10_s() -> None:
    run = samples.run()
    run["metered_seconds"] = 3.0
    assert codes_of(run, "v1-run") == {"v1-metered-minimum"}
    run["metered_seconds"] = 0.0  # a failed file request
    assert codes_of(run, "v1-run") == set()
    live = samples.run("live")
    live["metered_seconds"] = 3.0  # the minimum is applied at the end
    assert codes_of(live, "v1-run") == set()


def test_a_listed_run_matches_every_filter_of_the_request() -> None:
    page = samples.runs_page()  # one live run, one ended
    assert _ledger_codes(("v1-runs-page", "status=ended", page))[0] == {"v1-list-filter-ignored"}
    assert _ledger_codes(("v1-runs-page", "mode=realtime&endpoint=audio", page))[0] == set()
    assert _ledger_codes(("v1-runs-page", "started_after=2026-10-08T00:00:00Z", page))[0] == {"v1-list-filter-ignored"}
    assert _ledger_codes(("v1-runs-page", "started_before=2026-10-09T00:00:00Z", page))[0] == set()


def test_a_client_message_over_the_size_limit_must_end_the_session() -> None:
    session = samples.audio_session()
    session[5] = ("sent", bytes(1_048_578))  # the server goes on, to its session.closed
    assert session_codes(session, AUDIO_PATH) == {"v1-message-too-large-unanswered"}
    cut = samples.audio_session()[:6]
    cut[5] = ("sent", bytes(1_048_578))
    assert session_codes(cut, AUDIO_PATH) == set()  # the recording stops before the session's end: cannot tell
    assert session_codes([*cut, ("received", CLOSE_FRAME)], AUDIO_PATH) == {"v1-message-too-large-unanswered"}
    ended = [*cut, ("received", {"type": "error", "code": "message_too_large", "message": "x", "retryable": False})]
    assert session_codes(ended, AUDIO_PATH) == set()


def test_a_video_frame_over_2_mb_must_end_the_session_only_when_over_either_reading_of_2_mb() -> None:
    """The docs' 2 MB is 2,000,000 or 2,097,152 bytes: a server measuring a frame between the two keeps its promise."""
    between = samples.video_session()
    between[7] = ("sent", samples.JPEG + bytes(2_050_000 - len(samples.JPEG)))
    assert session_codes(between, VIDEO_PATH) == set()
    over = samples.video_session()
    over[7] = ("sent", samples.JPEG + bytes(2 * 1024 * 1024 + 1 - len(samples.JPEG)))
    assert session_codes(over, VIDEO_PATH) == {"v1-message-too-large-unanswered"}


def test_the_session_continues_after_a_survivable_error() -> None:
    session = samples.video_session()[:7]  # up to the invalid_image_frame error
    closed = {"type": "session.closed", "session_id": "s-2", "received": {"frames": 1}, "produced": {"measurements": 2}}
    assert session_codes([*session, ("received", {**closed, "reason": "error"})], VIDEO_PATH) == {
        "v1-survivable-error-ended"
    }
    assert session_codes([*session, ("received", {**closed, "reason": "idle_timeout"})], VIDEO_PATH) == set()


# ------------------------------------------------------------------------------------------ every rule code

# Rule codes whose mutation (asserted as the only code found) has a test of its own: sessions cut short or ended by
# an error, and responses judged together (the runs ledger).
MUTATED_ELSEWHERE = {
    "v1-session-ending-error": test_a_session_ending_error_must_be_last_and_not_retryable,
    "v1-survivable-error-ended": test_the_session_continues_after_a_survivable_error,
    "v1-message-too-large-unanswered": test_a_client_message_over_the_size_limit_must_end_the_session,
    "v1-run-status-transition": test_a_run_that_ended_stays_ended_and_live_errored_may_alternate,
    "v1-list-filter-ignored": test_a_listed_run_matches_every_filter_of_the_request,
    "v1-cursor-loop": test_a_listing_followed_page_by_page_lists_no_item_twice_and_ends,
}


def test_every_rule_code_has_a_mutation_that_only_it_catches() -> None:
    """Issue 17: each body and session rule has a mutation giving exactly its code, in the tables above or in
    a test of its own; a code added to ``codes.py`` without one fails here."""
    tabled = {code for code, _, _ in [*BODY_MUTATIONS, *SESSION_MUTATIONS] if code.startswith("v1-")}
    assert tabled | set(MUTATED_ELSEWHERE) == set(BODY_RULE_CODES) | set(SESSION_RULE_CODES)
