"""Generated v1 sessions: a Hypothesis ``RuleBasedStateMachine`` per realtime channel drives one session
through generated updates, media frames (speech, silence, noise; faces, several faces, no face) and closes,
paced at the documented send rates (audio no faster than real time, video at most 3 frames a second), so a
correct server never answers ``rate_limited`` by the fuzzer's fault.

Each session is judged as a whole by the v1 session rules when it ends. A failing one fails the example, so
Hypothesis shrinks it to a shorter sequence; the shortest failing session found is reported, with its
transcript (``.jsonl``, what ``validate`` reads) written to a file. Bounded: steps per session, examples per
channel, a time slice of the run's budget, and the media budget (each session is charged before it opens).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test, initialize, precondition, rule

from contracts.evidence import is_warning
from contracts.fuzz.context import BudgetExhausted
from contracts.fuzz.ledger import CheckFailure
from contracts.fuzz.v1.budget import MINIMUM_PER_RUN
from contracts.fuzz.v1.codes import PROBE_CODES
from contracts.fuzz.v1.probes import VIDEO_GAP, V1Run
from contracts.fuzz.v1.session import SESSION_RULES, LiveSession, SessionLost, Transcript, judge
from strategies.v1 import media

STEPS = 6  # messages per generated session (at most)
MAX_CHUNK_MS = 400  # audio per frame: a session is at most STEPS * 0.4 s of audio (under the 10 s minimum billed)
SLICE = 0.25  # of what is left of the run's budget, per channel (at most MAX_SLICE_S)
MAX_SLICE_S = 8.0
MAX_SESSION_S = 5.0  # a session begun within the slice may finish past it by this much
REPLY_TIMEOUT = 5.0


@dataclass
class Outcome:
    """What the sessions of one channel showed: how many were judged, and the shortest failing one."""

    sessions: int = 0
    failing: tuple[Transcript, list[tuple[str, str, str]]] | None = None
    deadline: float = 0.0
    stopped: str = ""
    messages: list[int] = field(default_factory=list)

    def failed(self, transcript: Transcript, found: list[tuple[str, str, str]]) -> None:
        if self.failing is None or len(transcript.records) <= len(self.failing[0].records):
            self.failing = (transcript, found)


def machine_for(run: V1Run, channel: str, outcome: Outcome) -> type[RuleBasedStateMachine]:
    class SessionMachine(RuleBasedStateMachine):
        """One realtime session: updates before media, paced media, a close; judged at teardown."""

        def __init__(self) -> None:
            super().__init__()
            self.live: LiveSession | None = None
            self.media_sent = False
            self.sent_ms = 0
            self.first_media = 0.0
            self.last_frame = 0.0
            self.closed = False
            self.own: list[tuple[str, str, str]] = []
            self.cut = False  # stopped by the time budget: not judged

        @initialize()
        def open_session(self) -> None:
            if time.monotonic() >= outcome.deadline or run.ctx.remaining() <= 0:
                outcome.stopped = outcome.stopped or "time"
                return
            if not run.budget.take(MINIMUM_PER_RUN):
                outcome.stopped = outcome.stopped or "media budget"
                return
            try:
                name = f"v1 generated session: {channel}"
                self.live = LiveSession(run.ctx, channel, reply_timeout=REPLY_TIMEOUT, name=name).__enter__()
            except SessionLost:
                self.live = None
                return
            self.live.until(lambda m: m.get("type") == "session.created")

        def _open(self) -> bool:
            return self.live is not None and not self.closed and not self.live.is_closed and not self.cut

        def _out_of_time(self) -> bool:
            """Past the slice or the run's budget: the session stops here and is not judged (cut short)."""
            if time.monotonic() >= outcome.deadline + MAX_SESSION_S or run.ctx.remaining() <= 0:
                self.cut = True
                outcome.stopped = outcome.stopped or "time"
            return self.cut

        @precondition(lambda self: self._open() and not self.media_sent)
        @rule(timer=st.integers(3000, 10_000), threshold=st.floats(0.0, 1.0).map(lambda x: round(x, 2)))
        def update(self, timer: int, threshold: float) -> None:
            assert self.live is not None
            if self._out_of_time():
                return
            message: dict[str, Any] = {"type": "session.update"}
            message.update(
                {"measurement_timer_ms": timer} if channel == "audio" else {"face": {"threshold": threshold}}
            )
            self.live.send(message)
            self.live.until(lambda m: m.get("type") in ("session.updated", "error", "session.closed"))

        @precondition(lambda self: self._open() and channel == "audio")
        @rule(chunk=media.audio_chunks(MAX_CHUNK_MS), seed=st.integers(0, 2**16))
        def audio(self, chunk: tuple[str, int], seed: int) -> None:
            assert self.live is not None
            kind, ms = chunk
            if self._out_of_time():
                return
            if not self.media_sent:
                self.first_media = time.monotonic()
            # Real time: a frame goes out only once the audio sent before it has had time to play.
            wait = self.first_media + self.sent_ms / 1000 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.media_sent = True
            self.sent_ms += ms
            self.live.send(media.audio_chunk_bytes(kind, ms, seed))
            self._refused_for_rate(self.live.rest(quiet=0.05, timeout=0.2))

        @precondition(lambda self: self._open() and channel == "video")
        @rule(kind=media.video_frames())
        def video(self, kind: str) -> None:
            assert self.live is not None
            if self._out_of_time():
                return
            wait = self.last_frame + VIDEO_GAP - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.last_frame = time.monotonic()
            self.media_sent = True
            self.live.send(media.video_frame_bytes(kind))
            reply = self.live.until(lambda m: m.get("type") in ("measurement.result", "error", "session.closed"))
            self._refused_for_rate([reply] if reply else [])

        @rule()
        def listen(self) -> None:
            """Read what the server sends meanwhile (always possible: after the close it reads nothing)."""
            if self._open():
                assert self.live is not None
                self._refused_for_rate(self.live.rest(quiet=0.05, timeout=0.2))

        @precondition(lambda self: self._open())
        @rule()
        def close(self) -> None:
            assert self.live is not None
            if self._out_of_time():
                return
            self.live.close_session()
            self.closed = True

        def _refused_for_rate(self, replies: list[dict[str, Any]]) -> None:
            for message in replies:
                if message.get("code") == "rate_limited":
                    self.own.append(("v1-fuzz-rate-limit", PROBE_CODES["v1-fuzz-rate-limit"],
                                     "rate_limited for media paced at the documented send rate"))  # fmt: skip

        def teardown(self) -> None:
            if self.live is None:
                return
            try:
                if not self.cut and not self.closed and not self.live.is_closed and not self._out_of_time():
                    self.live.close_session()
            except BudgetExhausted:
                self.cut = True
            self.live.__exit__(None, None, None)
            if self.cut:
                self.live.timeline.add("cut short by the time budget: not judged")
                return
            found = judge(run.ctx, self.live.transcript, f"v1 generated session: {channel}") + self.own
            self.live.timeline.add(*verdict_step(found, run.ctx.ledger.strict_judgements))
            outcome.sessions += 1
            outcome.messages.append(len(self.live.transcript.records))
            if found:
                outcome.failed(self.live.transcript, found)
                raise AssertionError(f"{found[0][0]}: {found[0][1]}")

    SessionMachine.__name__ = f"{channel.title()}SessionMachine"
    return SessionMachine


def verdict_step(found: list[tuple[str, str, str]], strict: bool) -> tuple[str, bool]:
    """A generated session's verdict as its timeline's last step: the codes found, failed unless each is a
    judgement of ours (a warning; only the shortest failing session reaches the ledger)."""
    codes = sorted({code for code, _title, _found in found})
    failed = any(not is_warning(code, "", strict) for code in codes)
    return f"judged by the v1 session rules: {', '.join(codes) or 'passed'}", failed


def run_machines(run: V1Run) -> None:
    for channel in ("audio", "video"):
        run_machine(run, channel)


def run_machine(run: V1Run, channel: str) -> None:
    ctx = run.ctx
    where = f"v1 generated sessions: {channel}"
    outcome = Outcome(deadline=time.monotonic() + min(MAX_SLICE_S, SLICE * max(0.0, ctx.remaining())))
    examples = max(2, min(ctx.max_examples // 10, 10))
    test = get_state_machine_test(
        machine_for(run, channel, outcome),
        settings=settings(
            max_examples=examples,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        ),
    )
    # The failing session is what we report: shrinking may end as "flaky" on a server that drifts by chance.
    # The failing session is what we report (shrinking may end as "flaky" on a server that drifts by chance);
    # anything else that stopped the machine is said in the notes.
    try:
        hypothesis.seed(ctx.seed)(test)()
    except Exception as error:  # noqa: BLE001
        if outcome.failing is None:
            ctx.ledger.note(f"{where}: stopped by {type(error).__name__}: {str(error).splitlines()[0][:200]}")
    stopped = f"; stopped early ({outcome.stopped})" if outcome.stopped else ""
    ctx.progress(f"v1     {where:<40} {outcome.sessions:>3} sessions judged{stopped}")
    if outcome.failing is None:
        for _ in range(outcome.sessions):  # each session judged whole counts once
            ctx.ledger.ok(where, SESSION_RULES)
        return
    transcript, found = outcome.failing
    path = run.failures.save(transcript, where, run.ctx.redactor)
    reproduce = f"hume-contracts validate {path}  (the shortest failing session found; replay its sent frames)"
    for code, title, text in found:
        ctx.ledger.fail(CheckFailure(where, SESSION_RULES, code, title, "the v1 session rules", text, reproduce))
