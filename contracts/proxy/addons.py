"""The proxy's behaviour, as small addons over the pass-through core (``contracts.proxy.core``).

- ``ContractChecker``: checks every response (against its API version's contract, told by its path) and every
  v0 stream frame, both directions, as ``validate`` does, plus what a stream reply must repeat of its frame
  (``contracts.stream_judging``); hands each finding on.
- ``StrictGate``: with ``--strict``, a violating response becomes a 502 problem+json naming the violation, and
  a violating server frame ends its session (close 4502, the violation named in the reason).
- ``LiveLog``: one line per violation (and per client finding) as it happens, redacted.
- ``SessionResults``: everything found, for the summary and the report files at stop.

The sessions of v1 are judged by ``contracts.proxy.sessions``; the HAR of ``--record`` is written by
``contracts.proxy.har``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

from contracts import report
from contracts.apis import api_for_path
from contracts.encodings import codings, decode_body
from contracts.evidence import grade_of, is_warning
from contracts.fuzz.redaction import Redactor
from contracts.proxy.caps import KeptResults
from contracts.proxy.flows import HttpFlow, Replacement, StreamFlow, StreamMessage, header, is_text_media
from contracts.proxy.sessions import judged_as_session, publish
from contracts.proxy.streams import UnansweredFrames
from contracts.readers import HttpInteraction, HttpMessage, JsonProblem, Note, parse_json
from contracts.safe_text import encodable, printable
from contracts.stream_judging import BINARY_REPLY, EXTRA_REPLY, REPLY_CHECKS, frame_text, reply_kind
from contracts.traffic import check_interaction
from contracts.validation import validate_body
from contracts.violations import ClientFinding, Finding, RejectedRequest, Violation

SOURCE = "proxy"
REPLY_WAIT = 10.0  # seconds a frame may wait for its reply before a close by the client counts against the server
KEY_HEADERS = ("x-hume-api-key", "authorization")
KEY_PARAMS = ("apikey", "apiKey", "api_key")
Listener = Callable[[Finding | Note], None]
DECODED_LIMIT = 64 * 1024 * 1024  # a compressed body that expands past this is not checked (a bomb)


class SecretWatch:
    """The keys clients send through the proxy, learnt from the traffic, so no output ever shows one."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self._secrets = {secret for secret in known if secret}
        self._lock = threading.Lock()
        self._redactor = Redactor(self._secrets)

    def learn(self, headers: Iterable[tuple[str, str]], path: str) -> None:
        found = {value for name, value in headers if name.lower() in KEY_HEADERS and value}
        found |= {value for name, value in parse_qsl(urlsplit(path).query) if name in KEY_PARAMS and value}
        found |= {value.split(" ", 1)[1] for value in found if value.lower().startswith("bearer ")}
        with self._lock:
            if not found <= self._secrets:
                self._secrets |= found
                self._redactor = Redactor(self._secrets)

    @property
    def redactor(self) -> Redactor:
        return self._redactor


def decoded(body: bytes | None, content_encoding: str | None) -> bytes | None:
    """The body without its content codings (gzip, deflate, br, stacked), at most ``DECODED_LIMIT`` bytes.

    ``DecodingProblem`` (a ValueError) for a coding it does not know, a corrupt body, or a bomb.
    """
    if body is None:
        return None
    return decode_body(body, codings(content_encoding), DECODED_LIMIT)


def _message(content_type: str | None, body: bytes | None, *, status: int | None = None) -> HttpMessage:
    if body is None:  # passed through unkept (binary or too big): status and content type are still checked
        return HttpMessage(content_type, None, status=status, truncated=content_type is not None)
    try:
        return HttpMessage(content_type, body.decode("utf-8"), status=status)
    except UnicodeDecodeError:
        return HttpMessage(content_type, base64.b64encode(body).decode("ascii"), is_base64=True, status=status)


class ContractChecker:
    """The checks of ``validate`` on live traffic; every finding and note goes to each listener."""

    def __init__(
        self, listeners: Collection[Listener], *, disabled: Collection[str] = (), reply_wait: float = REPLY_WAIT
    ) -> None:
        self.listeners = list(listeners)
        self.disabled = frozenset(disabled)
        self.reply_wait = reply_wait
        self._pending: dict[int, UnansweredFrames] = {}  # per connection: frames awaiting their reply
        self._sessions: set[int] = set()  # connections judged as sessions elsewhere, left alone here
        self._states: dict[str, Any] = {}  # per API version: what its earlier exchanges said
        self._lock = threading.Lock()

    def _publish(self, results: Iterable[Finding | Note]) -> list[Finding]:
        return publish(self.listeners, results)

    # ---- HTTP

    def response(self, flow: HttpFlow) -> None:
        flow_findings = self._publish(self._check_http(flow))
        flow.findings = flow_findings  # for StrictGate, which runs after this addon

    def _check_http(self, flow: HttpFlow) -> list[Finding | Note]:
        where = f"#{flow.number}"
        content_type = header(flow.response_headers, "content-type")
        if flow.response_body is not None and not is_text_media(content_type):
            # kept for another addon (the artifacts zip, for the job memory): the contract has no text here to read
            response = HttpMessage(content_type, None, status=flow.status)
        else:
            try:
                body = decoded(flow.response_body, header(flow.response_headers, "content-encoding"))
            except ValueError as problem:
                return [Note(SOURCE, f"{where} {flow.label}", f"response body not checked: {problem}")]
            response = _message(content_type, body, status=flow.status)
        request_type = header(flow.request_headers, "content-type")
        interaction = HttpInteraction(
            SOURCE,
            where,
            flow.method,
            urlsplit(flow.path).path,
            request=_message(request_type, flow.request_body) if flow.request_size else None,
            response=response,
            query=urlsplit(flow.path).query,
        )
        api = api_for_path(interaction.path)
        if api is None or api.name == "v0":  # v0 keeps its own traffic checks (and paths no version names)
            return check_interaction(interaction, disabled=self.disabled)
        return api.adapter().check_interaction(interaction, disabled=self.disabled, state=self._state(api))

    def _state(self, api: Any) -> Any:
        """What ``api``'s earlier exchanges said (runs, listings), one per version for the proxy's life."""
        with self._lock:
            if api.name not in self._states:
                make = getattr(api.adapter(), "new_traffic_state", None)
                self._states[api.name] = _Shared(make()) if make is not None else None
            return self._states[api.name]

    # ---- stream (v0's frame by frame; the sessions of a versioned API are ``contracts.proxy.sessions``')

    def websocket_start(self, flow: StreamFlow) -> None:
        if judged_as_session(flow.path):
            self._sessions.add(flow.number)
            return
        self._pending[flow.number] = UnansweredFrames()

    def websocket_end(self, flow: StreamFlow) -> None:
        """Frames still unanswered at the close: the server's fault when a frame waited ``reply_wait`` seconds;
        a note when the close came sooner (a client that did not wait, or a server closing on purpose, as after
        ten identical errors, while a frame was on its way)."""
        self._sessions.discard(flow.number)
        now = time.time()
        for number, _frame, sent_at in self._pending.pop(flow.number, ()):
            where = f"{flow.label} frame {number} (sent)"
            waited = now - sent_at
            if waited >= self.reply_wait:
                found = f"no reply before the {flow.closed_by or 'connection'} closed ({waited:.1f} s after it)"
                violation = Violation("stream-no-reply", "", "exactly one reply per frame", found)
                self._publish([Finding(SOURCE, where, "stream-message", [violation])])
            else:
                note = f"the {flow.closed_by or 'connection'} closed {waited:.1f} s after this frame, before its reply"
                self._publish([Note(SOURCE, where, note)])

    def websocket_message(self, flow: StreamFlow, message: StreamMessage) -> None:
        if flow.number in self._sessions:
            return
        flow.findings = self._check_frame(flow, message)

    def _check_frame(self, flow: StreamFlow, message: StreamMessage) -> list[Finding]:
        where = f"{flow.label} frame {message.number} ({'sent' if message.from_client else 'received'})"
        kind = "stream-payload" if message.from_client else "stream-message"
        finding = Finding(SOURCE, where, kind)
        value = self._parsed(message, finding)
        if value is not _UNPARSED:
            finding.violations.extend(validate_body(value, kind, disabled=self.disabled))
        pending = self._pending.setdefault(flow.number, UnansweredFrames())
        if message.from_client:
            if pending.add(message.number, value, message.at):
                self._publish([Note(SOURCE, where, "too many frames unanswered: later replies are not paired")])
            if finding.violations:  # the client's fault, not the server's: said, not counted against it
                first = finding.violations[0]
                note = Note(SOURCE, where, f"the client sent a frame that breaks the contract: {first.describe()}")
                self._publish([note])
                return []
        elif pending:  # a frame awaits this reply (one past the bound is counted, not kept: take() is None)
            if (waiting := pending.take()) is not None:
                number, frame, _sent_at = waiting
                if isinstance(frame, dict) and isinstance(value, dict):
                    finding.violations.extend(self._reply_violations(number, frame, value))
        elif EXTRA_REPLY[0] not in self.disabled:
            code, title, expected = EXTRA_REPLY
            found = "a reply while no frame was waiting for one"
            finding.violations.append(Violation(code, "", expected, found, message=f"{title}: {found}"))
        finding.kind = f"{kind} {reply_kind(value)}" if not message.from_client else kind
        return self._publish([finding])

    def _parsed(self, message: StreamMessage, finding: Finding) -> Any:
        """The frame's JSON value; a binary frame is read as UTF-8 (as the fuzz reads it) and said to be binary."""
        text, binary = frame_text(message.text, message.data)
        if binary and BINARY_REPLY[0] not in self.disabled:
            code, title, expected = BINARY_REPLY
            finding.violations.append(Violation(code, "", expected, "a binary frame", message=title))
        if text is None:
            finding.violations.append(Violation("unparsable-body", "", "a JSON text frame", "binary, not UTF-8"))
            return _UNPARSED
        try:
            return parse_json(text)
        except JsonProblem as problem:
            finding.violations.append(Violation("unparsable-body", "", "a JSON text frame", str(problem)))
            return _UNPARSED

    def _reply_violations(self, number: int, frame: dict[str, Any], reply: dict[str, Any]) -> list[Violation]:
        violations = []
        for check in REPLY_CHECKS:
            problem = check.problem(frame, reply)
            if problem is not None and check.code not in self.disabled:
                where = f"the reply to frame {number}"
                violations.append(
                    Violation(check.code, "", check.expected, problem, where, f"{check.title}: {problem}")
                )
        return violations


_UNPARSED = object()


class _Shared:
    """A version's traffic state (``observe``) read and changed by one worker thread at a time; only the
    observing is locked, never the checks of a body."""

    def __init__(self, state: Any) -> None:
        self._state = state
        self._lock = threading.Lock()

    def observe(self, *args: Any) -> Any:
        with self._lock:
            return self._state.observe(*args)


STRICT_CLOSE = 4502  # private use (RFC 6455 7.4.2); no SDK reconnects on it (see StrictGate)
CLOSE_REASON_BYTES = 123  # the most a close frame's reason holds (RFC 6455 5.5: 125 bytes less the code)


def close_reason(violation: Violation) -> str:
    """``[code] what``, cut to what a close frame holds without splitting a character; the code comes first,
    so it is always whole."""
    text = f"hume-contracts: [{violation.code}] {violation.describe()}"
    return text.encode("utf-8")[:CLOSE_REASON_BYTES].decode("utf-8", errors="ignore")


class StrictGate:
    """``--strict``: a response with a violation is replaced by a 502 problem+json that names it; a session
    whose server message has a violation is ended, instead of passing that message on, with close code 4502
    and a reason naming the violation, and the target's side is closed too.

    4502 rather than a standard code: 1011 and 1001/1012/1013 make the SDKs reconnect (a loop against a
    drifted server), 1008 is what Hume itself sends after a session-ending error; a private-use code that
    echoes HTTP's 502 says, unmistakably, that the proxy ended the session. Judgements of this suite
    (warnings) end nothing unless strict judgements are asked for (``results``).
    """

    def __init__(self, results: report.Results | None = None) -> None:
        self.results = results

    def websocket_message(self, flow: StreamFlow, message: StreamMessage) -> None:
        if message.from_client or flow.closing is not None:
            return
        failing = [v for finding in flow.findings for v in finding.violations if not self._is_warning(v)]
        if failing:
            flow.closing = (STRICT_CLOSE, close_reason(failing[0]))

    def _is_warning(self, violation: Violation) -> bool:
        if self.results is not None:
            return self.results.is_warning(violation)
        return is_warning(violation.code, violation.grade)

    def response(self, flow: HttpFlow) -> None:
        findings = getattr(flow, "findings", ())
        violations = [v for finding in findings for v in finding.violations if not self._is_warning(v)]
        if not violations:
            return
        first = violations[0]
        body = {
            "type": "https://hume-contracts.invalid/problems/contract-violation",
            "title": "The target's response breaks the Hume contract",
            "status": 502,
            "detail": f"{flow.label} -> {flow.status}: [{first.code}] {first.describe()}",
            "violations": [
                {"code": v.code, "pointer": v.pointer, "expected": v.expected, "found": v.found}
                for v in violations[:20]
            ],
        }
        flow.replacement = Replacement(502, [("content-type", "application/problem+json")], json.dumps(body).encode())


class SessionResults:
    """Every finding of the session, in the ``validate`` report model, safe to feed from several threads."""

    def __init__(self) -> None:
        self.results = report.Results()
        self.kept = KeptResults(self.results)  # every count, the first findings of each code
        self.client = ClientFindings()  # the clients' own mistakes: apart, never violations
        self.exchanges = 0
        self.frames = 0
        self.faults = 0  # exchanges and streams the proxy answered or ended itself (400, 408, 502, a cut stream)
        self._lock = threading.Lock()

    def __call__(self, result: Finding | Note | ClientFinding) -> None:
        with self._lock:
            if isinstance(result, ClientFinding):
                self.client.add(result)
            else:
                self.kept.add(result)

    def response(self, flow: HttpFlow) -> None:
        with self._lock:
            self.exchanges += 1

    def error(self, flow: HttpFlow | StreamFlow) -> None:
        with self._lock:
            self.faults += 1
            self.kept.add(Note(SOURCE, f"{flow.label} (#{flow.number})", f"not passed on whole: {flow.error}"))

    def websocket_message(self, flow: StreamFlow, message: StreamMessage) -> None:
        self.frames += 1

    @property
    def violations(self) -> int:
        return sum(self.results.by_code.values())

    def summary(self) -> str:
        counts = ", ".join(f"{code} {n}" for code, n in self.results.by_code.most_common())
        verdict = f"{report.plural(self.violations, 'violation')} ({counts})" if counts else "no violations"
        faults = f"; {report.plural(self.faults, 'exchange')} answered by the proxy itself" if self.faults else ""
        if self.kept.left_out:
            faults += f"; {self.kept.left_out} more findings and notes counted, not kept"
        return (
            f"proxy: {report.plural(self.exchanges, 'HTTP exchange')}, {report.plural(self.frames, 'stream frame')}"
            f" checked; {verdict}{faults}{self.client.clause()}"
        )

    def write(self, directory: Path, redactor: Redactor) -> list[Path]:
        """``report.json``, ``junit.xml`` and ``report.md`` in ``directory``, redacted."""
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            text = report.render_text(self.results, verbose=True)
            files = {
                "report.json": self.client.add_to_json(report.render_json(self.results)),
                "junit.xml": report.render_junit(self.results),
                "report.md": f"# hume-contracts proxy session\n\n{self.summary()}\n\n```\n{text}\n```\n"
                + self.client.markdown(),
            }
        paths = []
        for name, content in files.items():
            path = directory / name
            # values only: JSON's and XML's markup stays what it was, whatever the key
            redact = {".json": redactor.json_text, ".xml": redactor.xml_text}.get(path.suffix, redactor.text)
            path.write_text(redact(content), encoding="utf-8")
            paths.append(path)
        return paths


MAX_CLIENT_FINDINGS = 1000  # kept in full; the counts stay exact


class ClientFindings:
    """The clients' own protocol mistakes of the session (``ClientFinding``): counted by code, the first ones
    kept, reported apart from the violations and never in the exit status. Not thread-safe: its owner locks."""

    def __init__(self) -> None:
        self.by_code: Counter[str] = Counter()
        self.kept: list[ClientFinding] = []

    def add(self, finding: ClientFinding) -> None:
        self.by_code[finding.code] += 1
        if len(self.kept) < MAX_CLIENT_FINDINGS:
            self.kept.append(finding)

    @property
    def count(self) -> int:
        return sum(self.by_code.values())

    def clause(self) -> str:
        """For the summary line: ``; 2 client findings (...), not counted against the server``."""
        if not self.count:
            return ""
        codes = ", ".join(f"{code} {n}" for code, n in self.by_code.most_common())
        return f"; {report.plural(self.count, 'client finding')} ({codes}), not counted against the server"

    def add_to_json(self, text: str) -> str:
        """``report.json`` with a ``client_findings`` section: ``{"count", "by_code", "findings": [...]}``."""
        document = json.loads(text)
        document["client_findings"] = {
            "count": self.count,
            "by_code": dict(self.by_code.most_common()),
            "findings": [finding.to_dict() for finding in self.kept],
        }
        return encodable(json.dumps(document, indent=2, ensure_ascii=False), in_json=True) + "\n"

    def markdown(self) -> str:
        if not self.count:
            return ""
        lines = [f"- {printable(f.location)}: {printable(f.describe())} ({grade_of(f.code).value})" for f in self.kept]
        more = [f"- ... and {self.count - len(self.kept)} more"] if self.count > len(self.kept) else []
        head = "\n## Client findings (the client's own mistakes, not counted against the server)\n\n"
        return head + "\n".join(lines + more) + "\n"


class LiveLog:
    """One line per violation as it happens (and per note, and per client finding), never the key."""

    def __init__(self, secrets: SecretWatch, out: TextIO) -> None:
        self.secrets = secrets
        self.out = out
        self._lock = threading.Lock()

    def __call__(self, result: Finding | Note | ClientFinding | RejectedRequest) -> None:
        if isinstance(result, Note):
            lines = [f"note  {result.location}: {result.message}"]
        elif isinstance(result, ClientFinding):
            lines = [f"CLIENT {result.location}  {result.describe()}"]
        elif isinstance(result, RejectedRequest):  # a correct refusal, not the server's fault
            first = result.violations[0].describe() if result.violations else ""
            lines = [f"note  {result.location}: a request that breaks the contract, refused ({result.answer}): {first}"]
        else:
            lines = [f"FAIL  {result.location}  [{v.code}] {v.describe()}" for v in result.violations]
        redact = self.secrets.redactor.text
        with self._lock:
            for line in lines:
                print(redact(line), file=self.out, flush=True)

    def error(self, flow: HttpFlow) -> None:
        self._print(f"error {flow.label}: {flow.error}")

    def websocket_end(self, flow: StreamFlow) -> None:
        if flow.closed_by == "proxy" and flow.closing is not None:
            self._print(f"STRICT {flow.label}: ended with close code {flow.close_code}: {flow.close_reason}")

    def _print(self, line: str) -> None:
        with self._lock:
            print(self.secrets.redactor.text(line), file=self.out, flush=True)
