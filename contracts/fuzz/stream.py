"""The stream part of ``hume-contracts fuzz``: handshakes, then Hypothesis-driven frames on the socket.

Handshakes: without a key and with a wrong key the server must refuse (401); with the key in the
``X-Hume-Api-Key`` header (how the SDK sends it) and in ``?apikey=`` (how Hume's own web example sends it)
it must accept. If the header key is refused the part stops early: nothing else can be checked.

Frames: four fixed ones first (text asking for ``job_details``, an invalid frame, audio for two models, an
image with a face: together they reach every check whatever the seed), then valid frames
(``strategies.stream.stream_payloads``) and invalid ones (``strategies.invalid.broken_stream_payloads``)
mixed, ``ctx.max_examples`` in all, within the time budget, seeded by ``ctx.seed``. No shrinking: every
example costs a frame. Each frame gets exactly one reply, validated as a ``stream-message``; then:

- a valid frame must not get an error. The strategies pair each media kind with the models that take it,
  so even E0102 (model/file-type mismatch) means the server misread the input. Out of credits (E0300) and
  Hume outages (``I...`` codes) are no contract faults: they end the part with a note;
- a valid frame's ``payload_id`` is echoed, every requested model answers with predictions or a per-model
  warning, and ``job_details: true`` brings ``job_details``;
- an invalid frame gets an error frame (whose ``code`` the schema requires). An error need not echo the
  ``payload_id`` but may not echo another one. The connection must survive: a ``job_details`` frame follows
  at once. Closing after ten identical errors is Hume's documented behaviour, not a drop.

Before the generated frames come the promise probes, a fixed set on top of ``ctx.max_examples``: each
documented stream limit from both sides (audio of 5000 ms and an image of 3000x3000 must be answered, one
step past them must get E0203 / E0205; ``stream_window_ms`` 500 and 10000 answered, 499 and 10001 refused
with E0101) and faults whose code is documented (E0102 a model that does not take the media, E0201 data
that is not base64). An error must carry the code of its fault, and a per-model
warning the code of its model (W0103 face, W0101 burst, W0102 facemesh), on every frame.

After a close or a reply that never came, the part reconnects, at most MAX_RECONNECTS times.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import shlex
import time
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache
from typing import Any
from urllib.parse import quote

from hypothesis import Phase, Verbosity, example, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from PIL import Image
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from contracts.evidence import Grade
from contracts.fuzz.bounded import SocketWatch
from contracts.fuzz.context import API_KEY_HEADER, BudgetExhausted, FuzzContext
from contracts.fuzz.lifecycle import (
    CONFORMANCE,
    WRONG_KEY,
    Expectation,
    clip,
    judge,
    parse_json,
    record_failure,
    record_violations,
)
from contracts.fuzz.timelines import Timeline
from contracts.stream_judging import (
    BINARY_REPLY,
    EXTRA_REPLY,
    PAYLOAD_ID_ECHOED,
    REPLY_CHECKS,
    ReplyCheck,
    frame_text,
    reply_kind,
)
from contracts.validation import validate_body
from contracts.violations import shorten
from strategies.invalid import Break, Broken, apply_break, broken_stream_payloads
from strategies.media import make_png, make_wav
from strategies.stream import stream_payloads

CLOSE_TIMEOUT = 2.0
CUT_SLACK = 0.5  # past its own timeout, a wait on the socket is cut by shutting the socket down
MAX_RECONNECTS = 5
MAX_EXTRA_REPLIES = 100  # unasked frames drained before a send; a flood beyond is left to the next send
MAX_REPLY_BYTES = 16 * 1024 * 1024
REPRODUCE_LIMIT = 4096  # longer frames are shown with their data abbreviated
IDENTICAL_ERRORS_BEFORE_CLOSE = 10  # "closed automatically after ten identical configuration errors"
POLICY_VIOLATION = 1008
OUT_OF_CREDITS = "E0300"
WHERE_HANDSHAKE = "stream: handshake"

KEY_ACCEPTED = Expectation(
    "stream", "stream-unreachable", "a handshake with the key was refused", "101 Switching Protocols"
)
KEYLESS_REFUSED = Expectation(
    "auth", "stream-handshake-open", "a handshake without a valid key was accepted", "a 401 refusal"
)
ONE_REPLY = Expectation("stream", "stream-no-reply", "a frame got no reply", "exactly one reply frame per frame")
NO_ERROR = Expectation(
    "stream",
    "stream-wrong-reply",
    "a valid frame was answered with an error",
    "predictions or per-model warnings",
)
AN_ERROR = Expectation(
    "stream", "stream-wrong-reply", "an invalid frame was not answered with an error", "an error frame"
)
WITHIN_LIMIT = Expectation(
    "stream",
    "stream-limit",
    "a frame within a documented limit was refused",
    "predictions or per-model warnings",
)
PAST_LIMIT = Expectation(
    "stream",
    "stream-limit",
    "a frame past a documented limit was not refused",
    "an error frame with the limit's documented code",
)
ERROR_CODE = Expectation(
    "stream",
    "stream-error-code",
    "an error does not carry the documented code of its fault",
    "E0101 invalid field, E0102 model/media mismatch, E0201 bad base64, E0203 audio, E0205 image",
)
TEXT_FRAME = Expectation("stream", *BINARY_REPLY)
NO_EXTRA_REPLY = Expectation("stream", *EXTRA_REPLY)
SURVIVES = Expectation(
    "stream",
    "stream-connection-dropped",
    "the connection did not survive one invalid frame",
    "the connection stays open after an error",
)


# Fern bounds `stream_window_ms` but no error code is documented for it: that it is refused, with E0101 (the
# "invalid field" code), is our reading.
REFUSAL_JUDGED = Grade.JUDGEMENT


@dataclass(frozen=True)
class Promise:
    """What a promise probe tests: ``code`` is the error it must get (None: it must be answered, not refused);
    ``limit`` says a documented limit is probed (else a documented fault)."""

    label: str
    code: str | None = None
    limit: bool = False
    grade: str = ""  # of its refusal and code, when narrower than the codes' (contracts/evidence.py)


@dataclass(frozen=True)
class Probe:
    """One frame to send; ``broken`` says how an invalid frame was broken (None: the frame is valid)."""

    frame: Any
    broken: Broken | None = None
    promise: Promise | None = None

    @property
    def valid(self) -> bool:
        return self.broken is None and (self.promise is None or self.promise.code is None)


@dataclass(frozen=True)
class Outcome:
    """What came back for one frame: a reply, or the close that came instead (neither: nothing in time)."""

    reply: str | None = None
    closed: str | None = None  # "1008 (policy violation) reason"
    close_code: int | None = None
    binary: bool = False  # the reply came as a binary frame (its text is its UTF-8 reading)
    extra: tuple[str, ...] = ()  # frames that were waiting before this frame was sent: replies to no frame

    def missing(self) -> str:
        return f"the connection closed instead ({self.closed})" if self.closed else "no reply in time"


def run_stream(ctx: FuzzContext) -> None:
    """Run the stream part within the example and time budgets; never raises for what the target does."""
    try:
        if not probe_handshakes(ctx):
            return
        connection = StreamConnection(ctx)
        checker = FrameChecker(ctx, connection)
        try:
            for probe in promise_probes():
                checker.run(probe)
            fuzz_frames(ctx, checker)
        finally:
            connection.close()
        ctx.progress(f"stream: {checker.sent} frames sent, {connection.reconnects} reconnect(s)")
    except BudgetExhausted:
        ctx.ledger.note("stream: the time budget ran out; the remaining stream checks were not run")
        ctx.ledger.skip("stream", "cut short: the time budget ran out during it")


# -- handshakes ----------------------------------------------------------------------------------------


def handshake(ctx: FuzzContext, url: str, headers: dict[str, str]) -> int | str:
    """101 when the server accepts, the HTTP status of its refusal, or why no handshake happened."""
    ctx.check_time()
    ctx.rate.wait()
    watch = SocketWatch()
    try:
        # The close that follows is bounded too: a server that never reads can otherwise hold it forever.
        with (
            watch.deadline(ctx.open_timeout() + closing_seconds(ctx)),
            connect(
                url, additional_headers=headers, open_timeout=ctx.open_timeout(), close_timeout=CLOSE_TIMEOUT
            ) as ws,
        ):
            watch.add(ws.socket)
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code
    except (WebSocketException, OSError) as exc:  # OSError covers refused connections and timeouts
        return ctx.redactor.text(f"{type(exc).__name__}: {clip(str(exc), 200)}")


KEY_VARIABLE = "$HUME_API_KEY"  # reproduce lines name the key by this shell variable, never by its value


def closing_seconds(ctx: FuzzContext) -> float:
    """How long a closing handshake may take before the socket is cut: its timeout, shortened by the budget."""
    return max(0.1, min(CLOSE_TIMEOUT, ctx.remaining())) + CUT_SLACK


def with_query_key(url: str, key: str) -> str:
    """``url`` with ``?apikey=``; the shell variable standing for the key is kept as it is, to expand."""
    shown = key if key == KEY_VARIABLE else quote(key, safe="")
    return f"{url}{'&' if '?' in url else '?'}apikey={shown}"


def shell_word(text: str) -> str:
    """``text`` as one shell word in which ``$HUME_API_KEY`` expands (double-quoted) and nothing else does."""
    pieces = text.split(KEY_VARIABLE)
    return f'"{KEY_VARIABLE}"'.join(shlex.quote(piece) if piece else "" for piece in pieces) or "''"


def websocat(url: str, key: str | None) -> str:
    """The command that repeats a handshake (``key`` None: without the header)."""
    header = ["-H", shell_word(f"{API_KEY_HEADER}: {key}")] if key else []
    return " ".join(["websocat", *header, shell_word(url)])


def probe_handshakes(ctx: FuzzContext) -> bool:
    """Check who may open the stream; False when the key itself is refused (nothing else can be checked)."""
    status = handshake(ctx, ctx.stream_url, ctx.auth_headers)
    reproduce = websocat(ctx.stream_url, KEY_VARIABLE)
    if not judge(ctx, WHERE_HANDSHAKE, KEY_ACCEPTED, None if status == 101 else f"{status}", reproduce):
        reason = ctx.redactor.text(f"stopped early: a handshake with the key answered {status}")
        ctx.ledger.note(f"stream: {reason}")
        ctx.ledger.skip("stream", reason)
        return False
    status = handshake(ctx, with_query_key(ctx.stream_url, ctx.api_key), {})
    reproduce = websocat(with_query_key(ctx.stream_url, KEY_VARIABLE), None)
    title = "a handshake with the key in ?apikey= was refused"
    judge(ctx, WHERE_HANDSHAKE, KEY_ACCEPTED, None if status == 101 else f"{status}", reproduce, title)
    for label, key in (("no key", None), ("a wrong key", WRONG_KEY)):
        status = handshake(ctx, ctx.stream_url, {API_KEY_HEADER: key} if key else {})
        problem = f"with {label}: 101 Switching Protocols" if status == 101 else None
        judge(ctx, WHERE_HANDSHAKE, KEYLESS_REFUSED, problem, websocat(ctx.stream_url, key))
        if status not in (101, 401):
            ctx.ledger.note(f"stream: a handshake with {label} was refused with {status}, not 401")
    return True


# -- the connection ------------------------------------------------------------------------------------


class StreamConnection:
    """One live connection at a time, reopened (bounded) after a close; every frame is recorded.

    Every wait on the socket has a deadline, kept by shutting the socket down (``SocketWatch``): a send can
    block for good when the server reads nothing (the library's own thread may hold the connection's lock,
    blocked writing the pongs of a ping flood), and no timeout of the library covers that.
    """

    def __init__(self, ctx: FuzzContext) -> None:
        self.ctx = ctx
        self.socket: ClientConnection | None = None
        self.watch = SocketWatch()
        self._opened = contextlib.ExitStack()  # entering the connection says we close it (websockets >= 17)
        self.frames: list[tuple[str, float, str]] = []
        self.reconnects = 0
        self.errors: Counter[tuple[str, str]] = Counter()  # identical errors seen on this connection
        self._previous: tuple[Any, str] | None = None  # the last frame's payload_id and the reply it got
        self.timeline: Timeline | None = None  # this connection's frames and replies, for the reports

    def exchange(self, text: str) -> Outcome:
        """Send one frame and wait for its one reply (BudgetExhausted when time is up)."""
        self.ctx.check_time()
        self.ctx.rate.wait()
        socket = self.socket or self._open()
        extra: list[str] = []
        seconds = max(0.1, min(self.ctx.request_timeout, self.ctx.remaining()))
        ends = time.monotonic() + seconds
        with self.watch.deadline(seconds + CUT_SLACK) as cut:  # the send and the reply within one deadline
            try:
                extra = self._waiting(socket)
                self.frames.append(("send", time.time(), text))
                socket.send(text)
                reply_text, binary = self._reply(socket, _payload_id(text), extra, ends)
            except ConnectionClosed as exc:
                self._previous = None
                if cut.is_set():  # our deadline, not the server, ended the connection
                    return Outcome(extra=tuple(extra))
                close = exc.rcvd
                closed = str(close) if close else "no close frame"
                return Outcome(closed=closed, close_code=close.code if close else None, extra=tuple(extra))
            except TimeoutError:
                self._previous = None
                return Outcome(extra=tuple(extra))
        return Outcome(reply=reply_text, binary=binary, extra=tuple(extra))

    def _reply(self, socket: ClientConnection, payload_id: Any, extra: list[str], ends: float) -> tuple[str, bool]:
        """The reply to the frame just sent, by ``ends`` (monotonic). A late second copy of the previous reply
        (it echoes the previous frame's payload_id, not this one's) is an extra reply, not this frame's: it goes
        to ``extra``."""
        while True:
            reply_text, binary = _received_text(socket.recv(timeout=max(0.0, ends - time.monotonic())))
            self.frames.append(("receive", time.time(), reply_text))
            previous = self._previous
            late_copy = (
                previous is not None
                and isinstance(previous[0], str)
                and previous[0] != payload_id
                and reply_text == previous[1]
                and _payload_id(reply_text) == previous[0]
                and len(extra) < MAX_EXTRA_REPLIES
            )
            if not late_copy:
                self._previous = (payload_id, reply_text)
                return reply_text, binary
            extra.append(reply_text)

    def _waiting(self, socket: ClientConnection) -> list[str]:
        """Frames received since the last reply, before anything was sent: each answers no frame."""
        waiting = []
        while len(waiting) < MAX_EXTRA_REPLIES:
            try:
                frame = socket.recv(timeout=0)
            except TimeoutError:
                break
            text, _binary = _received_text(frame)
            self.frames.append(("receive", time.time(), text))
            waiting.append(text)
        return waiting

    def closed_on_purpose(self, outcome: Outcome) -> bool:
        """The documented close: a policy violation after ten identical errors."""
        repeated = max(self.errors.values(), default=0)
        return outcome.close_code == POLICY_VIOLATION and repeated >= IDENTICAL_ERRORS_BEFORE_CLOSE

    def reopen(self) -> bool:
        """Let the next frame open a fresh connection; False when the reconnect budget is spent."""
        self.close()
        if self.reconnects >= MAX_RECONNECTS:
            return False
        self.reconnects += 1
        return True

    def close(self) -> None:
        """Close the connection and record its session (the URL carries no key: it went in a header)."""
        with self.watch.deadline(closing_seconds(self.ctx)):
            self._opened.close()
        self.socket = None
        if self.frames and self.ctx.recorder is not None:
            self.ctx.recorder.stream_session(self.ctx.stream_url, self.frames)
        self.frames = []
        self.errors.clear()
        self._previous = None
        if self.timeline is not None:  # a connection is closed once, whoever asks again
            self.timeline.add("closed")
            self.timeline = None

    def _open(self) -> ClientConnection:
        connection = connect(
            self.ctx.stream_url,
            additional_headers=self.ctx.auth_headers,
            open_timeout=self.ctx.open_timeout(),
            close_timeout=CLOSE_TIMEOUT,
            max_size=MAX_REPLY_BYTES,
        )
        self.socket = self._opened.enter_context(connection)
        self.watch.add(self.socket.socket)
        self.timeline = self.ctx.ledger.timelines.open("stream session")
        return self.socket


def _payload_id(text: str) -> Any:
    frame = parse_json(text)
    return frame.get("payload_id") if isinstance(frame, dict) else None


def _received_text(frame: str | bytes) -> tuple[str, bool]:
    """A received frame as text (read as the proxy reads it, ``frame_text``) and whether it came binary."""
    if isinstance(frame, str):
        return frame, False
    text, _binary = frame_text(None, frame)
    return (text if text is not None else frame.decode("utf-8", errors="replace")), True


# -- frames --------------------------------------------------------------------------------------------


def reproduce_frame(probe: Probe) -> str:
    """The frame to send (long media data abbreviated); for an invalid frame, what was broken."""
    text = json.dumps(probe.frame)
    frame = probe.frame
    if len(text) > REPRODUCE_LIMIT and isinstance(frame, dict) and isinstance(frame.get("data"), str):
        data = frame["data"]
        text = json.dumps({**frame, "data": f"<{len(data)} characters: {data[:40]}…>"}) + " (data abbreviated)"
    if probe.promise is not None:
        return f"{text}  (probes: {probe.promise.label})"
    return text if probe.broken is None else f"{text}  (broken: {probe.broken.label})"


def frame_label(probe: Probe) -> str:
    """What a frame was, for a session's timeline (its kind and models, never its data)."""
    if probe.promise is not None:
        return f"probe: {probe.promise.label}"
    if probe.broken is not None:
        return f"invalid frame ({probe.broken.label})"
    frame = probe.frame if isinstance(probe.frame, dict) else {}
    asked = [str(model) for model in frame.get("models") or {}] + (["job_details"] if frame.get("job_details") else [])
    return f"frame ({', '.join(asked) or 'no models'})"


def outcome_label(outcome: Outcome) -> str:
    """What came back for a frame, for a session's timeline: the reply's kind (an error's code), or the close."""
    unasked = f" after {len(outcome.extra)} unasked frame(s)" if outcome.extra else ""
    if outcome.reply is None:
        closed = f"closed {outcome.close_code or '(no close frame)'}"
        return (closed if outcome.closed else "no reply in time") + unasked
    reply = parse_json(outcome.reply)
    kind = reply_kind(reply)
    code = f" {reply.get('code')}" if kind == "error" and isinstance(reply, dict) else ""
    return f"{kind}{code}{' (binary)' if outcome.binary else ''}{unasked}"


class FrameChecker:
    """Sends probes one at a time and checks each reply; once stopped, sends nothing more."""

    def __init__(self, ctx: FuzzContext, connection: StreamConnection) -> None:
        self.ctx = ctx
        self.connection = connection
        self.sent = 0
        self.stopped = False
        self.last: Probe | None = None  # the frame the last reply answered: an extra reply repeats it

    def run(self, probe: Probe) -> None:
        """Send one probe and check its reply."""
        if self.stopped:
            return
        try:
            reply = self._exchange(probe)
            if reply is not None and probe.promise is not None:
                self._check_promise(probe, reply)
            elif reply is not None and probe.valid:
                self._check_valid(probe, reply)
            elif reply is not None:
                self._check_invalid(probe, reply)
        except BudgetExhausted:
            self.stop("stream: the time budget ran out; no more frames were sent")
        except (WebSocketException, OSError) as exc:
            self.stop(self.ctx.redactor.text(f"stream: stopped: could not reconnect ({type(exc).__name__}: {exc})"))

    def stop(self, note: str) -> None:
        """No more frames: the part did not check what it set out to (INCOMPLETE), and the note says why."""
        self.ctx.ledger.note(note)
        self.ctx.ledger.skip("stream", note.removeprefix("stream: "))
        self.stopped = True

    def _send(self, probe: Probe) -> Outcome:
        self.sent += 1
        outcome = self.connection.exchange(json.dumps(probe.frame))
        if self.connection.timeline is not None:  # the checks of the reply follow: they mark this step
            self.connection.timeline.add_before_checks(f"{frame_label(probe)} → {outcome_label(outcome)}")
        return outcome

    def _exchange(self, probe: Probe) -> dict[str, Any] | None:
        outcome = self._send(probe)
        self._judge_frames(probe, outcome)
        if outcome.reply is None:
            judge(self.ctx, "stream: no reply", ONE_REPLY, outcome.missing(), reproduce_frame(probe))
            self._reopen()
            return None
        return self._validated(outcome.reply, probe)

    def _judge_frames(self, probe: Probe, outcome: Outcome) -> None:
        """What the frames themselves show: a reply that answers no frame, a binary reply."""
        if outcome.extra and self.last is not None:
            found = f"{len(outcome.extra)} more frame(s) after the reply, e.g. {clip(outcome.extra[0], 120)}"
            self._judge("stream: unexpected", NO_EXTRA_REPLY, found, self.last)
        elif self.last is not None:
            self._judge("stream: unexpected", NO_EXTRA_REPLY, None, self.last)
        if outcome.reply is not None:
            self._judge("stream: frames", TEXT_FRAME, "a binary frame" if outcome.binary else None, probe)
        self.last = probe if outcome.reply is not None else None

    def _validated(self, text: str, probe: Probe) -> dict[str, Any] | None:
        """The reply, validated as a stream message; None (after recording why) if it is not a JSON object."""
        reply = parse_json(text)
        if reply is None:
            record_failure(
                self.ctx,
                "stream: unexpected",
                CONFORMANCE,
                "unparsable-body",
                "a reply is not JSON",
                "a JSON reply frame",
                clip(text),
                reproduce_frame(probe),
            )
            return None
        violations = validate_body(reply, "stream-message")
        record_violations(self.ctx, f"stream: {reply_kind(reply)}", violations, reproduce_frame(probe))
        return reply if isinstance(reply, dict) else None

    def _reopen(self) -> None:
        if not self.connection.reopen():
            self.stop(f"stream: stopped after {MAX_RECONNECTS} reconnects")

    def _judge(self, where: str, expectation: Expectation, problem: str | None, probe: Probe) -> None:
        judge(self.ctx, where, expectation, problem, reproduce_frame(probe))

    def _service_down(self, reply: dict[str, Any]) -> bool:
        """Out of credits or a Hume-side outage: no contract fault, but the part ends (with a note)."""
        code = str(reply.get("code"))
        if code == OUT_OF_CREDITS or code.startswith("I"):
            self.stop(f"stream: stopped: the service answered {code} ({clip(str(reply.get('error')), 160)})")
            return True
        return False

    def _check_promise(self, probe: Probe, reply: dict[str, Any]) -> None:
        """A limit probed from one side, or a documented fault: answered, or refused with its code.

        Each probe is its own finding (the title names it), so one report shows every promise broken."""
        promise, where = probe.promise, f"stream: {reply_kind(reply)}"
        assert promise is not None
        if "error" in reply and self._service_down(reply):
            return
        error = f"{reply.get('code')}: {clip(str(reply.get('error')), 160)}" if "error" in reply else None
        reproduce = reproduce_frame(probe)
        if promise.code is None:
            judge(self.ctx, where, WITHIN_LIMIT, error, reproduce, f"{WITHIN_LIMIT.title}: {promise.label}")
            if error is None:
                self._check_valid(probe, reply)
            return
        refusal = replace(PAST_LIMIT if promise.limit else AN_ERROR, grade=promise.grade)
        problem = None if error else f"a {reply_kind(reply)} reply with keys {sorted(reply)[:6]}"
        judge(self.ctx, where, refusal, problem, reproduce, f"{refusal.title}: {promise.label}")
        if error is None:
            return
        code = reply.get("code")
        problem = None if code == promise.code else f"{shorten(code)}, not {promise.code}"
        coded = replace(ERROR_CODE, grade=promise.grade)
        judge(self.ctx, where, coded, problem, reproduce, f"{ERROR_CODE.title}: {promise.label}")
        self._check_invalid(probe, reply, judged=True)

    def _check_valid(self, probe: Probe, reply: dict[str, Any]) -> None:
        where, frame = f"stream: {reply_kind(reply)}", probe.frame
        if "error" in reply:
            if not self._service_down(reply):
                self._judge(where, NO_ERROR, f"{reply.get('code')}: {clip(str(reply.get('error')), 160)}", probe)
            return
        self._judge(where, NO_ERROR, None, probe)
        for check in REPLY_CHECKS:  # what every reply must repeat of its frame, judged as the proxy judges it
            self._judge(where, _expectation(check), check.problem(frame, reply), probe)

    def _check_invalid(self, probe: Probe, reply: dict[str, Any], judged: bool = False) -> None:
        """An invalid frame's error (``judged``: that it is an error was already judged)."""
        where, kind = f"stream: {reply_kind(reply)}", reply_kind(reply)
        if "error" not in reply:
            self._judge(where, AN_ERROR, f"a {kind} reply with keys {sorted(reply)[:6]}", probe)
            return
        if not judged:
            self._judge(where, AN_ERROR, None, probe)
        self.connection.errors[(str(reply.get("code")), str(reply.get("error")))] += 1
        if isinstance(probe.frame, dict):  # an error need not echo payload_id, but may not echo another one
            problem = PAYLOAD_ID_ECHOED.problem(probe.frame, reply)
            self._judge(where, _expectation(PAYLOAD_ID_ECHOED), problem, probe)
        self._check_survived(probe)

    def _check_survived(self, after: Probe) -> None:
        """Right after an error, a job_details frame must still be answered on the same connection."""
        alive = Probe({"job_details": True, "payload_id": f"hume-contracts-alive-{self.sent}"})
        outcome = self._send(alive)
        self._judge_frames(alive, outcome)
        if outcome.reply is None and self.connection.closed_on_purpose(outcome):
            self.ctx.ledger.note(f"stream: the server closed the connection after repeated errors ({outcome.closed})")
        elif outcome.reply is None and outcome.closed is None:  # open, but silent: the frame got no reply
            judge(self.ctx, "stream: no reply", ONE_REPLY, outcome.missing(), reproduce_frame(alive))
        elif outcome.reply is None:
            self._judge("stream: error", SURVIVES, outcome.missing(), after)
        else:
            self._judge("stream: error", SURVIVES, None, after)
            if (reply := self._validated(outcome.reply, alive)) is not None:
                self._check_valid(alive, reply)
            return
        self._reopen()


@cache
def _expectation(check: ReplyCheck) -> Expectation:
    """A shared reply check as one check of this run's ledger."""
    return Expectation("stream", check.code, check.title, check.expected)


# -- hypothesis ----------------------------------------------------------------------------------------


@cache
def fixed_probes() -> tuple[Probe, ...]:
    """Frames that reach every check whatever the seed."""
    text = {
        "data": "Hume streams text. Positions index it.",
        "models": {"language": {}},
        "raw_text": True,
        "payload_id": "hume-contracts-text",
        "job_details": True,
    }
    broken = Break("data is a number", ("data",), 123, "schema-type")
    invalid = apply_break(text, broken)
    audio = base64.b64encode(make_wav(1000, filename="tone.wav").data).decode("ascii")
    face = base64.b64encode(make_png(96, 96, face=True).data).decode("ascii")
    return (
        Probe(text),
        Probe(invalid, Broken(broken.label, "stream-payload", broken.expected_code, broken.pointer, invalid)),
        Probe({"data": audio, "models": {"prosody": {}, "burst": {}}, "payload_id": "hume-contracts-audio"}),
        Probe({"data": face, "models": {"face": {}}, "raw_text": False, "payload_id": "hume-contracts-face"}),
    )


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@cache
def promise_probes() -> tuple[Probe, ...]:
    """Each documented stream limit from both sides, and the faults whose error code is documented."""
    short = _base64(make_wav(500, sample_rate=8000).data)
    face = _base64(make_png(96, 96, face=True).data)

    def audio(ms: int) -> str:
        return _base64(make_wav(ms, sample_rate=8000).data)

    def image(side: int) -> str:  # a plain grey PNG: cheap to make and decode at 3000 px, and no face in it
        buffer = io.BytesIO()
        Image.new("L", (side, side), 128).save(buffer, format="PNG")
        return _base64(buffer.getvalue())

    def frame(name: str, data: str, models: dict[str, Any], **more: Any) -> dict[str, Any]:
        return {"data": data, "models": models, "payload_id": f"hume-contracts-promise-{name}", **more}

    voice = {"prosody": {}, "burst": {}}
    return (
        Probe(frame("audio-5000", audio(5000), voice), promise=Promise("audio of 5000 ms (limit 5000 ms)")),
        Probe(
            frame("audio-5100", audio(5100), voice), promise=Promise("audio of 5100 ms (limit 5000 ms)", "E0203", True)
        ),
        Probe(frame("image-3000", image(3000), {"face": {}}), promise=Promise("a 3000x3000 image (limit 3000x3000)")),
        Probe(
            frame("image-3001", image(3001), {"face": {}}),
            promise=Promise("a 3001x3001 image (limit 3000x3000)", "E0205", True),
        ),
        Probe(
            frame("window-500", short, voice, stream_window_ms=500),
            promise=Promise("stream_window_ms 500 (min 500)"),
        ),
        Probe(
            frame("window-10000", short, voice, stream_window_ms=10000),
            promise=Promise("stream_window_ms 10000 (max 10000)"),
        ),
        Probe(
            frame("window-499", short, voice, stream_window_ms=499),
            promise=Promise("stream_window_ms 499 (min 500)", "E0101", True, REFUSAL_JUDGED),
        ),
        Probe(
            frame("window-10001", short, voice, stream_window_ms=10001),
            promise=Promise("stream_window_ms 10001 (max 10000)", "E0101", True, REFUSAL_JUDGED),
        ),
        Probe(
            frame("mismatch", face, {"prosody": {}}),
            promise=Promise("an image for the prosody model", "E0102"),
        ),
        Probe(
            frame("not-base64", "%%% hume-contracts: not base64 %%%", {"face": {}}),
            promise=Promise("data that is not base64", "E0201"),
        ),
    )


def probes() -> st.SearchStrategy[Probe]:
    """Valid and invalid frames, mixed."""
    return st.one_of(
        stream_payloads().map(Probe),
        broken_stream_payloads().map(lambda broken: Probe(broken.value, broken)),
    )


class _Stopped(Exception):
    """Raised in the Hypothesis test once the checker has stopped, so that Hypothesis stops at once."""


def fuzz_frames(ctx: FuzzContext, checker: FrameChecker) -> None:
    """The fixed probes, then generated ones: ``ctx.max_examples`` frames in all (plus survival checks)."""
    fixed = fixed_probes()[: max(1, ctx.max_examples)]
    generated = ctx.max_examples - len(fixed)

    def exchange(probe: Probe) -> None:
        if checker.stopped:  # budget spent or target gone: generating more frames would only cost time
            raise _Stopped
        checker.run(probe)

    if checker.stopped:
        return
    for probe in reversed(fixed):
        exchange = example(probe=probe)(exchange)
    run = settings(
        max_examples=max(1, generated),
        database=None,  # nothing of a run is written to disk
        deadline=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate] if generated > 0 else [Phase.explicit],  # no shrinking
        verbosity=Verbosity.quiet,
    )(given(probe=probes())(exchange))
    try:
        seed(ctx.seed)(run)()
    except _Stopped:
        pass
    except HypothesisException as exc:  # e.g. a failed health check: the frames already sent still count
        checker.stop(f"stream: Hypothesis stopped generating frames ({type(exc).__name__}: {clip(str(exc), 200)})")
