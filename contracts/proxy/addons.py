"""The proxy's behaviour, as small addons over the pass-through core (``contracts.proxy.core``).

- ``ContractChecker``: checks every response and every frame, both directions, as ``validate`` does, plus
  what a stream reply must repeat of its frame (``contracts.stream_judging``); hands each finding on.
- ``StrictGate``: with ``--strict``, a violating response becomes a 502 problem+json naming the violation.
- ``LiveLog``: one line per violation as it happens, redacted.
- ``SessionResults``: everything found, for the summary and the report files at stop.
- ``HarRecorder``: the session as a HAR file (frames in ``_webSocketMessages``) that ``validate`` reads back.
"""

from __future__ import annotations

import base64
import json
import threading
import zlib
from collections import deque
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

from contracts import report
from contracts.fuzz.recorder import Recorder
from contracts.fuzz.redaction import Redactor
from contracts.proxy.flows import HttpFlow, Replacement, StreamFlow, StreamMessage, header
from contracts.readers import HttpInteraction, HttpMessage, JsonProblem, Note, parse_json
from contracts.stream_judging import REPLY_CHECKS, reply_kind
from contracts.traffic import check_interaction
from contracts.validation import validate_body
from contracts.violations import Finding, Violation

SOURCE = "proxy"
KEY_HEADERS = ("x-hume-api-key", "authorization")
KEY_PARAMS = ("apikey", "apiKey", "api_key")
Listener = Callable[[Finding | Note], None]


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


def decoded(body: bytes, content_encoding: str | None) -> bytes:
    """The body without its content coding (gzip, deflate; identity); ValueError for anything else."""
    coding = (content_encoding or "identity").strip().lower()
    if coding in ("identity", ""):
        return body
    if coding in ("gzip", "x-gzip"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if coding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    raise ValueError(f"content-encoding {coding} is not one the proxy decodes")


def _message(content_type: str | None, body: bytes | None, *, status: int | None = None) -> HttpMessage:
    if body is None:  # passed through unkept (binary or too big): status and content type are still checked
        return HttpMessage(content_type, None, status=status, truncated=content_type is not None)
    try:
        return HttpMessage(content_type, body.decode("utf-8"), status=status)
    except UnicodeDecodeError:
        return HttpMessage(content_type, base64.b64encode(body).decode("ascii"), is_base64=True, status=status)


class ContractChecker:
    """The checks of ``validate`` on live traffic; every finding and note goes to each listener."""

    def __init__(self, listeners: Collection[Listener], *, disabled: Collection[str] = ()) -> None:
        self.listeners = list(listeners)
        self.disabled = frozenset(disabled)
        self._pending: dict[int, deque[tuple[int, Any]]] = {}  # per connection: frames awaiting their reply

    def _publish(self, results: Iterable[Finding | Note]) -> list[Finding]:
        findings = []
        for result in results:
            for listener in self.listeners:
                listener(result)
            if isinstance(result, Finding):
                findings.append(result)
        return findings

    # ---- HTTP

    def response(self, flow: HttpFlow) -> None:
        flow_findings = self._publish(self._check_http(flow))
        flow.findings = flow_findings  # for StrictGate, which runs after this addon

    def _check_http(self, flow: HttpFlow) -> list[Finding | Note]:
        where = f"#{flow.number}"
        try:
            body = decoded(flow.response_body, header(flow.response_headers, "content-encoding"))
        except (ValueError, zlib.error) as problem:
            return [Note(SOURCE, f"{where} {flow.label}", f"response body not checked: {problem}")]
        request_type = header(flow.request_headers, "content-type")
        interaction = HttpInteraction(
            SOURCE,
            where,
            flow.method,
            urlsplit(flow.path).path,
            request=_message(request_type, flow.request_body) if flow.request_size else None,
            response=_message(header(flow.response_headers, "content-type"), body, status=flow.status),
            query=urlsplit(flow.path).query,
        )
        return check_interaction(interaction, disabled=self.disabled)

    # ---- stream

    def websocket_start(self, flow: StreamFlow) -> None:
        self._pending[flow.number] = deque()

    def websocket_end(self, flow: StreamFlow) -> None:
        self._pending.pop(flow.number, None)

    def websocket_message(self, flow: StreamFlow, message: StreamMessage) -> None:
        where = f"{flow.label} frame {message.number} ({'sent' if message.from_client else 'received'})"
        kind = "stream-payload" if message.from_client else "stream-message"
        finding = Finding(SOURCE, where, kind)
        value = self._parsed(message, finding)
        if value is not _UNPARSED:
            finding.violations.extend(validate_body(value, kind, disabled=self.disabled))
        pending = self._pending.setdefault(flow.number, deque())
        if message.from_client:
            pending.append((message.number, value))
            if finding.violations:  # the client's fault, not the server's: said, not counted against it
                first = finding.violations[0]
                note = Note(SOURCE, where, f"the client sent a frame that breaks the contract: {first.describe()}")
                self._publish([note])
                return
        elif pending:
            number, frame = pending.popleft()
            if isinstance(frame, dict) and isinstance(value, dict):
                finding.violations.extend(self._reply_violations(number, frame, value))
        finding.kind = f"{kind} {reply_kind(value)}" if not message.from_client else kind
        self._publish([finding])

    def _parsed(self, message: StreamMessage, finding: Finding) -> Any:
        if message.text is None:
            finding.violations.append(Violation("unparsable-body", "", "a JSON text frame", "a binary frame"))
            return _UNPARSED
        try:
            return parse_json(message.text)
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


class StrictGate:
    """``--strict``: a response with a violation is replaced by a 502 problem+json that names it."""

    def response(self, flow: HttpFlow) -> None:
        violations = [v for finding in getattr(flow, "findings", ()) for v in finding.violations]
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
        self.exchanges = 0
        self.frames = 0
        self._lock = threading.Lock()

    def __call__(self, result: Finding | Note) -> None:
        with self._lock:
            self.results.add(result)

    def response(self, flow: HttpFlow) -> None:
        with self._lock:
            self.exchanges += 1

    def websocket_message(self, flow: StreamFlow, message: StreamMessage) -> None:
        self.frames += 1

    @property
    def violations(self) -> int:
        return sum(self.results.by_code.values())

    def summary(self) -> str:
        counts = ", ".join(f"{code} {n}" for code, n in self.results.by_code.most_common())
        verdict = f"{report.plural(self.violations, 'violation')} ({counts})" if counts else "no violations"
        return (
            f"proxy: {report.plural(self.exchanges, 'HTTP exchange')}, {report.plural(self.frames, 'stream frame')}"
            f" checked; {verdict}"
        )

    def write(self, directory: Path, redactor: Redactor) -> list[Path]:
        """``report.json``, ``junit.xml`` and ``report.md`` in ``directory``, redacted."""
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            text = report.render_text(self.results, verbose=True)
            files = {
                "report.json": report.render_json(self.results),
                "junit.xml": report.render_junit(self.results),
                "report.md": f"# hume-contracts proxy session\n\n{self.summary()}\n\n```\n{text}\n```\n",
            }
        paths = []
        for name, content in files.items():
            path = directory / name
            # values only: JSON's and XML's markup stays what it was, whatever the key
            redact = {".json": redactor.json_text, ".xml": redactor.xml_text}.get(path.suffix, redactor.text)
            path.write_text(redact(content), encoding="utf-8")
            paths.append(path)
        return paths


class LiveLog:
    """One line per violation as it happens (and per note), never the key."""

    def __init__(self, secrets: SecretWatch, out: TextIO) -> None:
        self.secrets = secrets
        self.out = out
        self._lock = threading.Lock()

    def __call__(self, result: Finding | Note) -> None:
        if isinstance(result, Note):
            lines = [f"note  {result.location}: {result.message}"]
        else:
            lines = [f"FAIL  {result.location}  [{v.code}] {v.describe()}" for v in result.violations]
        redact = self.secrets.redactor.text
        with self._lock:
            for line in lines:
                print(redact(line), file=self.out, flush=True)

    def error(self, flow: HttpFlow) -> None:
        with self._lock:
            print(self.secrets.redactor.text(f"error {flow.label}: {flow.error}"), file=self.out, flush=True)


class HarRecorder:
    """The whole session as HAR 1.2, written at stop; bodies the proxy did not keep are recorded empty.

    Entries are redacted when written, with every key the session has seen by then.
    """

    def __init__(self, path: Path, secrets: SecretWatch) -> None:
        self.path = path
        self.secrets = secrets
        self._entries: list[Callable[[Recorder], None]] = []
        self._frames: dict[int, list[tuple[str, float, str]]] = {}
        self._lock = threading.Lock()

    def response(self, flow: HttpFlow) -> None:
        try:
            body = decoded(flow.response_body or b"", header(flow.response_headers, "content-encoding"))
        except (ValueError, zlib.error):
            body = b""
        recoded = ("content-encoding", "content-length")  # the HAR holds the decoded body
        headers = {k: v for k, v in flow.response_headers if k.lower() not in recoded}
        request = (flow.method, f"http://proxy{flow.path}", dict(flow.request_headers), flow.request_body or b"")
        response = (flow.status or 0, flow.reason, headers, body)
        with self._lock:
            self._entries.append(lambda har: har.add_http(*request, *response))

    def websocket_start(self, flow: StreamFlow) -> None:
        self._frames[flow.number] = []

    def websocket_message(self, flow: StreamFlow, message: StreamMessage) -> None:
        text = message.text if message.text is not None else base64.b64encode(message.data or b"").decode("ascii")
        direction = "send" if message.from_client else "receive"
        self._frames.setdefault(flow.number, []).append((direction, message.at, text))

    def websocket_end(self, flow: StreamFlow) -> None:
        frames, url, status = self._frames.pop(flow.number, []), f"ws://proxy{flow.path}", flow.status or 0
        with self._lock:
            self._entries.append(lambda har: har.stream_session(url, frames, status=status))

    def done(self) -> None:
        har = Recorder(self.secrets.redactor)
        with self._lock:
            for entry in self._entries:
                entry(har)
        har.write(self.path)
