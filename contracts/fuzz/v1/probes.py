"""Every documented v1 session rule probed from both sides, and the upload and runs limits, each with its own
check code (``contracts.fuzz.v1.codes``); every session is also judged as a whole by the v1 session rules and
every HTTP response by the v1 contract.

Each probe charges its media to the budget before it sends any (skipped, with a note, when the budget is spent).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts.apis.v1.runs import RunsLedger
from contracts.fuzz.context import API_KEY_HEADER, BudgetExhausted, FuzzContext
from contracts.fuzz.ledger import CheckFailure
from contracts.fuzz.v1.budget import VIDEO_FRAME_SECONDS, MediaBudget, audio_seconds
from contracts.fuzz.v1.codes import PROBE_CODES
from contracts.fuzz.v1.http import judge_response
from contracts.fuzz.v1.session import Failures, LiveSession, SessionLost, handshake_status, record_session
from strategies.v1 import media

AUDIO_LIMIT = 1_048_576
TEN_SECONDS_AND_A_SAMPLE = 320_002
UPLOAD_LIMIT = 25_000_000
VIDEO_GAP = 0.34  # just over a third of a second: three frames a second at most
MAX_PAGES = 50
CURL = f'-H "{API_KEY_HEADER}: $HUME_API_KEY"'


@dataclass
class V1Run:
    """What the v1 parts of one fuzz run share."""

    ctx: FuzzContext
    budget: MediaBudget
    failures: Failures = field(default_factory=Failures)
    run_ids: list[str] = field(default_factory=list)  # runs the fuzzer's media made (read by the runs probes)
    completed: set[str] = field(default_factory=set)  # of those, the ones that completed (must read ended)
    runs_state: RunsLedger = field(default_factory=RunsLedger)


class Probe:
    """One probe's checks: each ``expect`` passes into the ledger or keeps a failure for the session's report."""

    def __init__(self, run: V1Run, where: str) -> None:
        self.run, self.where = run, where
        self.failed: list[CheckFailure] = []

    def expect(self, code: str, ok: bool, expected: str, found: Any, reproduce: str = "") -> bool:
        if ok:
            self.run.ctx.ledger.ok(self.where, code)
            return True
        shown = self.run.ctx.redactor.text(found if isinstance(found, str) else json.dumps(found)[:300])
        failure = CheckFailure(self.where, code, code, PROBE_CODES[code], expected, shown, reproduce)
        if reproduce:
            self.run.ctx.ledger.fail(failure)
        else:
            self.failed.append(failure)
        return False


def _code(message: dict[str, Any] | None) -> Any:
    return message.get("code") if message else None


def _is(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda message: message.get("type") == kind


def _reply(message: dict[str, Any]) -> bool:
    return message.get("type") in ("error", "session.updated", "session.closed")


def _session(run: V1Run, channel: str, name: str, seconds: float, body: Callable[[LiveSession, Probe], None]) -> None:
    """Open a session, run ``body``, judge the whole session; media charged first."""
    ctx = run.ctx
    where = f"v1 session: {name}"
    if ctx.remaining() <= 0:
        return
    if not run.budget.take(seconds):
        ctx.ledger.note(f"{where}: skipped, the media budget is spent")
        return
    probe = Probe(run, where)
    live = LiveSession(ctx, channel, name=where)
    try:
        with live:
            created = live.until(_is("session.created"))
            if created and isinstance(created.get("session_id"), str):
                run.run_ids.append(created["session_id"])
            body(live, probe)
        received = _received(live.transcript.records)
        if channel == "video":
            _scores_above_cutoff(probe, received)
        if created and any(m.get("type") == "session.closed" and m.get("reason") == "client_request" for m in received):
            run.completed.add(str(created.get("session_id")))
    except BudgetExhausted:
        ctx.ledger.note(f"{where}: cut short by the time budget, not judged")
        raise
    except SessionLost as lost:  # its transcript holds nothing: the session never opened
        probe.expect("v1-fuzz-session", False, "a session the fuzzer can hold", str(lost))
    passed = record_session(ctx, run.failures, live.transcript, where, probe.failed)
    live.timeline.add(f"judged by the v1 session rules: {'passed' if passed else 'findings recorded'}")


def _received(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for record in records:
        if record.get("type") == "receive" and record.get("opcode") == 1:
            try:
                message = json.loads(record["data"])
            except ValueError:
                continue
            if isinstance(message, dict):
                out.append(message)
    return out


def _scores_above_cutoff(probe: Probe, results: list[dict[str, Any]], reproduce: str = "") -> None:
    """Face expressions and descriptions are listed only above 0.1 (a strict reading: a listed 0.1 breaks it)."""
    for result in results:
        faces = result.get("faces") if isinstance(result.get("faces"), list) else []
        for face in faces:
            scores = [s for key in ("expressions", "descriptions") if isinstance(face, dict)
                      and isinstance(face.get(key), list) for s in face[key] if isinstance(s, dict)]  # fmt: skip
            low = [s for s in scores if isinstance(s.get("probability"), int | float) and s["probability"] <= 0.1]
            if scores:
                probe.expect("v1-fuzz-face-score-cutoff", not low, "face scores above 0.1", low[:3], reproduce)


def _ends_with_error(live: LiveSession, probe: Probe, code: str, wanted_error: str) -> None:
    """The session-ending error ``wanted_error`` (retryable false), then session.closed (reason error), then the
    close: ``code`` judges the error, v1-fuzz-closed-after-error what follows it."""
    error = live.until(_is("error"))
    probe.expect(code, _code(error) == wanted_error and error.get("retryable") is False,
                 f"error {wanted_error} with retryable false", error or "no error")  # fmt: skip
    rest = live.rest(quiet=live.reply_timeout)
    closed = [m for m in rest if m.get("type") == "session.closed"]
    probe.expect("v1-fuzz-closed-after-error", bool(closed) and closed[0].get("reason") == "error" and live.is_closed,
                 "session.closed (reason error), then the close", rest or "nothing, then the close")  # fmt: skip


def _closes_on_request(live: LiveSession, probe: Probe) -> None:
    rest = live.close_session()
    closed = [m for m in rest if m.get("type") == "session.closed"]
    probe.expect("v1-fuzz-session-close", bool(closed) and closed[-1].get("reason") == "client_request"
                 and live.is_closed, "session.closed (reason client_request), then the close", rest[-3:])  # fmt: skip


# ---- audio sessions
def config_before_media(live: LiveSession, probe: Probe) -> None:
    live.send({"type": "session.update", "measurement_timer_ms": 3000})
    reply = live.until(_reply)
    probe.expect("v1-fuzz-update-before-media", bool(reply) and reply.get("type") == "session.updated",
                 "session.updated", reply or "no reply")  # fmt: skip
    for _ in range(3):
        live.send(media.pcm((500, True)))
    live.send(media.pcm((600, False)))
    _closes_on_request(live, probe)


def config_after_media(live: LiveSession, probe: Probe) -> None:
    live.send(media.pcm((200, False)))
    live.rest(quiet=0.2, timeout=1)
    live.send({"type": "session.update"})
    _ends_with_error(live, probe, "v1-fuzz-update-after-media", "config_invalid")


def invalid_audio_frames(live: LiveSession, probe: Probe) -> None:
    for frame, what in ((b"\x01", "odd"), (b"", "empty"), (bytes(TEN_SECONDS_AND_A_SAMPLE), "10 s + 1 sample")):
        live.send(frame)
        error = live.until(_is("error"))
        probe.expect("v1-fuzz-invalid-audio-frame", _code(error) == "invalid_audio_frame"
                     and error.get("retryable") is True, f"a retryable invalid_audio_frame for the {what} frame",
                     error or "no error")  # fmt: skip
    live.send(media.pcm((100, False)))  # whole samples: accepted, and the session goes on
    quiet = live.rest(quiet=0.3, timeout=1)
    probe.expect("v1-fuzz-invalid-audio-frame", not live.is_closed and not [m for m in quiet if _is("error")(m)],
                 "the session goes on after invalid frames; a valid frame accepted", quiet or "closed")  # fmt: skip
    _closes_on_request(live, probe)


def message_too_large(live: LiveSession, probe: Probe) -> None:
    live.send(bytes(AUDIO_LIMIT + 1))
    _ends_with_error(live, probe, "v1-fuzz-message-too-large", "message_too_large")


def audio_too_fast(live: LiveSession, probe: Probe) -> None:
    for _ in range(12):  # 12 s of audio at once: faster than real time past any burst under 12 s
        if not live.send(media.pcm((1000, False))):
            break
    replies = live.rest(quiet=0.5, timeout=5)
    limited = [m for m in replies if _code(m) == "rate_limited"]
    probe.expect("v1-fuzz-rate-limit", bool(limited) and all(m.get("retryable") is True for m in limited),
                 "at least one retryable rate_limited for 12 s of audio sent at once", replies[-3:])  # fmt: skip
    _closes_on_request(live, probe)


# ---- video sessions
def video_faces(live: LiveSession, probe: Probe) -> None:
    live.send({"type": "session.update", "face": {"threshold": 0.5}})
    reply = live.until(_reply)
    probe.expect("v1-fuzz-update-before-media", bool(reply) and reply.get("type") == "session.updated",
                 "session.updated", reply or "no reply")  # fmt: skip
    for kind in ("faces", "face", "no-face"):
        live.send(media.video_frame_bytes(kind))
        live.until(lambda m: m.get("type") in ("measurement.result", "error"))
        time.sleep(VIDEO_GAP)
    _closes_on_request(live, probe)


def video_too_fast(live: LiveSession, probe: Probe) -> None:
    for _ in range(12):
        if not live.send(media.video_frame_bytes("no-face")):
            break
    replies = [live.until(lambda m: m.get("type") in ("measurement.result", "error"), 5) for _ in range(12)]
    limited = [m for m in replies if _code(m) == "rate_limited"]
    probe.expect("v1-fuzz-rate-limit", bool(limited), "rate_limited for some of 12 frames sent at once",
                 [m and (m.get("type"), _code(m)) for m in replies])  # fmt: skip
    _closes_on_request(live, probe)


def video_failures(live: LiveSession, probe: Probe) -> None:
    broken = media.broken_jpeg()
    for _ in range(4):
        live.send(broken)
        live.until(_is("error"))
        time.sleep(VIDEO_GAP)
    live.send(media.video_frame_bytes("face"))
    result = live.until(lambda m: m.get("type") in ("measurement.result", "session.closed"))
    probe.expect(
        "v1-fuzz-video-failures",
        bool(result) and result.get("type") == "measurement.result",
        "after 4 failed frames in a row the session goes on and measures the next",
        result or "nothing",
    )
    time.sleep(VIDEO_GAP)
    for count in range(5):
        live.send(broken)
        error = live.until(_is("error"))
        if count < 4:
            time.sleep(VIDEO_GAP)
    probe.expect(
        "v1-fuzz-video-failures",
        _code(error) == "internal_error" and error.get("retryable") is False,
        "the fifth failed frame in a row answered by internal_error, retryable false",
        error or "none",
    )
    rest = live.rest(quiet=live.reply_timeout)
    closed = [m for m in rest if m.get("type") == "session.closed"]
    probe.expect(
        "v1-fuzz-video-failures",
        bool(closed) and closed[0].get("reason") == "error" and live.is_closed,
        "five failed frames in a row end the session: session.closed (reason error)",
        rest or "nothing",
    )


# ---- handshakes
def handshakes(run: V1Run) -> None:
    for channel in ("audio", "video"):
        probe = Probe(run, f"v1 handshake: {channel}")
        for headers, what in (({}, "without a key"), ({API_KEY_HEADER: "not-the-key"}, "with a wrong key")):
            status = handshake_status(run.ctx, channel, headers)
            url = f"/v1/expression/{channel}/realtime"
            probe.expect("v1-fuzz-handshake-auth", status == 401, f"a handshake {what} refused with 401",
                         f"HTTP {status}", f"websocat {url}  # {what}")  # fmt: skip
        ok = handshake_status(run.ctx, channel, {API_KEY_HEADER: run.ctx.api_key})
        probe.expect("v1-fuzz-handshake-auth", ok == 101, "a handshake with the key accepted (101)", f"HTTP {ok}",
                     f"websocat /v1/expression/{channel}/realtime")  # fmt: skip


# name -> (channel, what the ledger calls it, media seconds it sends, the probe)
SESSIONS: dict[str, tuple[str, str, float, Callable[[LiveSession, Probe], None]]] = {
    "config-before-media": ("audio", "config before media", 2.1, config_before_media),
    "config-after-media": ("audio", "config after media", 0.2, config_after_media),
    "invalid-audio-frames": ("audio", "odd, empty and 10 s + 1 sample frames",
                             audio_seconds(TEN_SECONDS_AND_A_SAMPLE + 3200), invalid_audio_frames),
    "message-too-large": ("audio", "a 1 MiB + 1 message", audio_seconds(AUDIO_LIMIT + 1), message_too_large),
    "audio-too-fast": ("audio", "audio faster than real time", 12.0, audio_too_fast),
    "video-faces": ("video", "faces and no faces", 3 * VIDEO_FRAME_SECONDS, video_faces),
    "video-too-fast": ("video", "frames faster than 3 a second", 12 * VIDEO_FRAME_SECONDS, video_too_fast),
    "video-failures": ("video", "4 then 5 failed frames in a row", 10 * VIDEO_FRAME_SECONDS, video_failures),
}  # fmt: skip


def session_probe(run: V1Run, name: str) -> None:
    channel, label, seconds, body = SESSIONS[name]
    _session(run, channel, label, seconds, body)


# ---- uploads and runs
def _curl(method: str, url: str, extra: str = "") -> str:
    return f"curl -sS -X {method} '{url}' {CURL} {extra}".strip()


def _post(run: V1Run, client: httpx.Client, endpoint: str, files: list, seconds: float, name: str) -> Any:
    """One upload with media (charged first); its response judged; the body when it is a 200 JSON object."""
    ctx, path = run.ctx, f"/v1/expression/{endpoint}/file"
    if not run.budget.take(seconds):
        ctx.ledger.note(f"POST {path} ({name}): skipped, the media budget is spent")
        return None
    response = ctx.request(client, "POST", path, files=files)
    judge_response(ctx, f"POST {path}", response, _curl("POST", ctx.base_url + path, f"-F file=@{name}"),
                   run.runs_state)  # fmt: skip
    is_json = "json" in response.headers.get("content-type", "")
    body = response.json() if response.status_code == 200 and is_json else None
    if isinstance(body, dict) and isinstance(body.get("run_id"), str):
        run.run_ids.append(body["run_id"])
        run.completed.add(body["run_id"])
    return body if isinstance(body, dict) else None


def upload_probes(run: V1Run, client: httpx.Client) -> None:
    speech = media.pcm((14_000, True), (700, False), (3000, True), (700, False))
    _post(run, client, "audio", [("file", ("speech.wav", media.wav(speech), "audio/wav"))],
          audio_seconds(len(speech)), "speech.wav")  # fmt: skip
    three = media.faces_jpeg([(10, 10, 200, 200), (300, 50, 410, 160), (450, 200, 530, 300)])
    first = _post(run, client, "video", [("file", ("faces.jpg", three, "image/jpeg"))], VIDEO_FRAME_SECONDS,
                  "faces.jpg")  # fmt: skip
    probe = Probe(run, "POST /v1/expression/video/file")
    if first:
        _bboxes_inside(probe, first, (640, 360))
        _scores_above_cutoff(probe, first.get("measurements", []), _curl("POST", "/v1/expression/video/file"))
    _face_state(run, client)
    _limits(run, client)


def _face_state(run: V1Run, client: httpx.Client) -> None:
    """A face in an upload that continues a face_state gets an id no other face of that state had (ids
    continue; the docs say face_state "continues face IDs")."""
    probe = Probe(run, "POST /v1/expression/video/file")
    ask = ("config", (None, json.dumps({"face": {"return_face_state": True}}), "application/json"))
    here = media.faces_jpeg([(10, 10, 200, 200)])
    first = _post(run, client, "video", [ask, ("file", ("a.jpg", here, "image/jpeg"))], VIDEO_FRAME_SECONDS, "a.jpg")
    state = first.get("face_state") if first else None
    if not isinstance(state, str):
        return
    there = media.faces_jpeg([(400, 100, 600, 300)])  # another face, far from the first
    again = ("config", (None, json.dumps({"face_state": state}), "application/json"))
    later = _post(run, client, "video", [again, ("file", ("b.jpg", there, "image/jpeg"))], VIDEO_FRAME_SECONDS,
                  "b.jpg")  # fmt: skip
    if not later:
        return
    before = [i for i in _face_ids(first) if i is not None]
    after = [i for i in _face_ids(later) if i is not None]
    probe.expect(
        "v1-fuzz-face-state",
        not set(before) & set(after),
        "a new face in an upload continuing a face_state gets a new face_id",
        {"before": before, "after": after},
        _curl("POST", "/v1/expression/video/file", "-F config='{\"face_state\": ...}' -F file=@b.jpg"),
    )


def _face_ids(body: dict[str, Any]) -> list[Any]:
    return [face.get("face_id") for m in body.get("measurements", []) for face in m.get("faces", [])]


def _bboxes_inside(probe: Probe, body: dict[str, Any], size: tuple[int, int]) -> None:
    width, height = size
    for measurement in body.get("measurements", []):
        for face in measurement.get("faces", []):
            box = face.get("bbox")
            inside = (
                isinstance(box, list)
                and len(box) == 4
                and all(isinstance(v, int | float) for v in box)
                and (0 <= box[0] <= width and 0 <= box[2] <= width and 0 <= box[1] <= height and 0 <= box[3] <= height)
            )
            probe.expect(
                "v1-fuzz-bbox-inside",
                inside,
                f"a bbox inside the {width}x{height} image",
                box,
                _curl("POST", "/v1/expression/video/file", "-F file=@faces.jpg"),
            )


def _limits(run: V1Run, client: httpx.Client) -> None:
    ctx = run.ctx
    probe = Probe(run, "POST /v1/expression/audio/file")
    big = ctx.request(client, "POST", "/v1/expression/audio/file", content=bytes(UPLOAD_LIMIT + 1),
                      headers={"Content-Type": "multipart/form-data; boundary=x"})  # fmt: skip
    curl = _curl("POST", "/v1/expression/audio/file", "--data-binary @25MB+1")
    found = (big.status_code, _error_code(big))
    # The code is documented (reference/audio/measure); the status only as a 4xx (413 is likely, not stated).
    probe.expect("v1-fuzz-upload-limit", 400 <= found[0] < 500 and found[1] == "audio_too_long",
                 "a 4xx audio_too_long for an upload of 25 MB + 1 byte", f"HTTP {found[0]} {found[1]}",
                 curl)  # fmt: skip
    judge_response(ctx, "POST /v1/expression/audio/file", big, curl, run.runs_state)
    if not run.budget.take(VIDEO_FRAME_SECONDS):  # billed only if wrongly measured
        return
    pixels = ctx.request(client, "POST", "/v1/expression/video/file",
                         files=[("file", ("big.jpg", media.oversized_jpeg(), "image/jpeg"))])  # fmt: skip
    curl = _curl("POST", "/v1/expression/video/file", "-F file=@3841x2160.jpg")
    probe = Probe(run, "POST /v1/expression/video/file")
    found = (pixels.status_code, _error_code(pixels))
    probe.expect("v1-fuzz-pixel-limit", 400 <= found[0] < 500 and found[1] == "image_too_large",
                 "a 4xx image_too_large for 3841 x 2160 pixels", f"HTTP {found[0]} {found[1]}", curl)  # fmt: skip
    judge_response(ctx, "POST /v1/expression/video/file", pixels, curl, run.runs_state)


def _error_code(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def runs_probes(run: V1Run, client: httpx.Client) -> None:
    ctx = run.ctx
    _walk(run, client, {"page_size": 2})
    _walk(run, client, {"page_size": 50})
    for status in ("ended", "errored", "live"):
        response = ctx.request(client, "GET", "/v1/expression/run", params={"status": status, "page_size": 200})
        curl = _curl("GET", f"{ctx.base_url}/v1/expression/run?status={status}")
        judge_response(ctx, "GET /v1/expression/run", response, curl)
        runs = response.json().get("runs", []) if response.status_code == 200 else []
        wrong = [r.get("status") for r in runs if isinstance(r, dict) and r.get("status") != status]
        Probe(run, "GET /v1/expression/run").expect("v1-fuzz-runs-filter", not wrong,
                                                    f"only runs of status {status}", wrong[:5], curl)  # fmt: skip
    for size in (0, 201):
        response = ctx.request(client, "GET", "/v1/expression/run", params={"page_size": size})
        curl = _curl("GET", f"{ctx.base_url}/v1/expression/run?page_size={size}")
        Probe(run, "GET /v1/expression/run").expect(
            "v1-fuzz-page-size-bounds",
            response.status_code == 400,
            f"400 for page_size={size}",
            f"HTTP {response.status_code}",
            curl,
        )
    for run_id in run.run_ids[:20]:
        _read_run(run, client, run_id)


def _walk(run: V1Run, client: httpx.Client, params: dict[str, Any]) -> None:
    """One listing followed page by page (bounded): the runs ledger judges duplicates and a cursor that loops."""
    ctx, cursor = run.ctx, None
    for _ in range(MAX_PAGES):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = ctx.request(client, "GET", "/v1/expression/run", params=query)
        judge_response(ctx, "GET /v1/expression/run", response, _curl("GET", str(response.request.url)),
                       run.runs_state)  # fmt: skip
        cursor = response.json().get("next_cursor") if response.status_code == 200 else None
        if not isinstance(cursor, str) or not cursor:
            return
    ctx.ledger.note(f"GET /v1/expression/run: a listing was followed for {MAX_PAGES} pages and not to its end")


def _read_run(run: V1Run, client: httpx.Client, run_id: str) -> None:
    ctx = run.ctx
    path = f"/v1/expression/run/{run_id}"
    body: dict[str, Any] = {}
    for _ in range(20):  # a session's run ends a moment after its close
        response = ctx.request(client, "GET", path)
        judge_response(ctx, "GET /v1/expression/run/{run_id}", response, _curl("GET", ctx.base_url + path),
                       run.runs_state)  # fmt: skip
        body = response.json() if response.status_code == 200 else {}
        if body.get("status") != "live":
            break
        time.sleep(0.1)
    if run_id in run.completed and body:
        Probe(run, "GET /v1/expression/run/{run_id}").expect(
            "v1-fuzz-run-status", body.get("status") == "ended", "status ended for a run that completed",
            body.get("status"), _curl("GET", ctx.base_url + path))  # fmt: skip
    metered = body.get("metered_seconds")
    if body and body.get("status") != "live" and isinstance(metered, int | float):
        # Nothing metered (every frame refused) is billed nothing; anything metered is billed at least 10 s.
        Probe(run, "GET /v1/expression/run/{run_id}").expect(
            "v1-fuzz-metered-minimum", metered == 0 or metered >= 10, "metered_seconds 0 or at least 10",
            metered, _curl("GET", ctx.base_url + path))  # fmt: skip
    events = ctx.request(client, "GET", path + "/events")
    judge_response(ctx, "GET /v1/expression/run/{run_id}/events", events, _curl("GET", ctx.base_url + path + "/events"),
                   run.runs_state)  # fmt: skip
