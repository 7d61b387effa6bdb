"""The proxy's per-job memory: what a bystander can judge of the batch API across exchanges, and in one.

In one exchange: a 429 says when to retry (``Retry-After``); every ``*_timestamp_ms`` is in milliseconds (at
least 10^12, at most a day past the answer's ``Date``); a list-jobs answer keeps its own query (``limit``,
``status``, ``when``/``timestamp_ms``) and lists each job once. Across exchanges, per job id that POST
returned or an answer named: its details are found (not 404); its status never goes back and its timestamps
never change, on any later read (details or list); its details' ``request`` repeats the POST the proxy saw;
once COMPLETED, its predictions are found. The judgements are ``contracts.job_judging``'s, as ``fuzz``'s.

The memory is bounded (the oldest jobs are forgotten first) and every body read is one the core kept.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from contracts.forms import FormProblem, parse_multipart
from contracts.job_judging import (
    STATUS_RANK,
    echo_problems,
    list_problems,
    md5_hex,
    retry_after_problem,
    timestamp_changes,
    timestamp_unit_problems,
    transition_problem,
)
from contracts.proxy.addons import decoded
from contracts.proxy.flows import HttpFlow, header
from contracts.readers import JsonProblem, parse_json
from contracts.violations import Finding, Violation, shorten

SOURCE = "proxy"
MAX_JOBS_REMEMBERED = 10_000
JOBS = "/v0/batch/jobs"
_JOB_PATH = re.compile(r"^/v0/batch/jobs/([^/]+)(/predictions|/artifacts)?/?$")
Listener = Callable[[Finding], None]

# code -> what must hold
EXPECTED = {
    "retry-after-missing": "Retry-After: <whole seconds> on every 429",
    "timestamp-unit": "Unix milliseconds: at least 10^12 (2001), at most a day past the answer's Date header",
    "list-limit-ignored": "at most `limit` jobs",
    "list-filter-ignored": "only jobs the status and when/timestamp_ms filters keep",
    "list-duplicate-job": "each job at most once per answer",
    "job-not-found": "the details of a job id POST /v0/batch/jobs returned",
    "predictions-not-found": "200 with the predictions of a job whose details said COMPLETED",
    "state-regressed": "a job's status never behind an earlier read: QUEUED -> IN_PROGRESS -> COMPLETED | FAILED",
    "timestamps-changed": "each timestamp set once, then kept, on every read",
    "request-echo-mismatch": "the details' request repeats the POST that started the job",
}


@dataclass
class JobSeen:
    """What the session learnt of one job: what started it, its last status, its timestamps."""

    sent: dict[str, Any] | None = None  # the POST's JSON body (or multipart json part); None: not seen
    uploaded: Counter[str] = field(default_factory=Counter)  # md5sums of the POST's file parts
    created_here: bool = False  # POST returned this id through the proxy
    status: str | None = None
    timestamps: dict[str, int] = field(default_factory=dict)
    echo_checked: bool = False


class JobMemory:
    """An addon (``response`` hook) judging the batch API across exchanges; findings go to each listener and
    onto ``flow.findings`` (so ``--strict`` turns them into a 502 too)."""

    def __init__(self, listeners: Iterable[Listener], *, disabled: Collection[str] = ()) -> None:
        self.listeners = list(listeners)
        self.disabled = frozenset(disabled)
        self._jobs: OrderedDict[str, JobSeen] = OrderedDict()
        self._lock = threading.Lock()

    # ---- the hook

    def response(self, flow: HttpFlow) -> None:
        if flow.status is None:
            return
        path = urlsplit(flow.path).path
        match = _JOB_PATH.match(path)
        # Only job and list answers carry timestamps and states: predictions, often large, are not parsed again.
        job_answer = path.rstrip("/") == JOBS or (match is not None and match.group(2) is None)
        body = _json_body(flow) if job_answer else _ABSENT
        with self._lock:
            violations = list(self._judge(flow, body))
        violations = [v for v in violations if v.code not in self.disabled]
        if not violations:
            return
        finding = Finding(SOURCE, f"#{flow.number} {flow.label}", "across exchanges", violations)
        for listener in self.listeners:
            listener(finding)
        flow.findings = [*getattr(flow, "findings", []), finding]

    def _judge(self, flow: HttpFlow, body: Any) -> Iterable[Violation]:
        problem = retry_after_problem(flow.status, header(flow.response_headers, "retry-after"))
        if problem is not None:
            yield _violation("retry-after-missing", "", problem)
        if body is not _ABSENT:
            for pointer, found in timestamp_unit_problems(body, header(flow.response_headers, "date")):
                yield _violation("timestamp-unit", pointer, found)
        path = urlsplit(flow.path).path
        if path.rstrip("/") == JOBS:
            if flow.method == "POST":
                self._started(flow, body)
            elif flow.method == "GET" and flow.status == 200 and isinstance(body, list):
                yield from self._listed(flow, body)
            return
        match = _JOB_PATH.match(path)
        if match and flow.method == "GET":
            job_id, tail = match.group(1).lower(), match.group(2)
            yield from (self._results(job_id, flow) if tail else self._details(job_id, flow, body))

    # ---- what each exchange teaches or shows

    def _started(self, flow: HttpFlow, body: Any) -> None:
        job_id = body.get("job_id") if isinstance(body, dict) else None
        if flow.status != 200 or not isinstance(job_id, str):
            return
        seen = self._job(job_id)
        seen.created_here = True
        seen.sent, seen.uploaded = _sent_request(flow)

    def _details(self, job_id: str, flow: HttpFlow, body: Any) -> Iterable[Violation]:
        seen = self._jobs.get(job_id)
        if flow.status == 404 and seen is not None and seen.created_here:
            yield _violation("job-not-found", "", f"job {job_id}: 404, though POST returned this id")
            return
        state = body.get("state") if isinstance(body, dict) else None
        if flow.status != 200 or not isinstance(state, dict):
            return
        seen = seen or self._job(job_id)
        yield from self._read_state(seen, state, "/state")
        if seen.sent is not None and not seen.echo_checked:
            seen.echo_checked = True
            for title, found in echo_problems(seen.sent, seen.uploaded, body.get("request")):
                yield _violation("request-echo-mismatch", "/request", f"{title}: {found}")

    def _results(self, job_id: str, flow: HttpFlow) -> Iterable[Violation]:
        seen = self._jobs.get(job_id)
        if flow.status == 404 and seen is not None and seen.status == "COMPLETED":
            yield _violation("predictions-not-found", "", f"job {job_id}: 404, though its details said COMPLETED")

    def _listed(self, flow: HttpFlow, items: list[Any]) -> Iterable[Violation]:
        params = parse_qsl(urlsplit(flow.path).query, keep_blank_values=True)
        for code, title, found in list_problems(params, items):
            yield _violation(code, "", f"{title}: {found}")
        for index, item in enumerate(items):
            job_id = item.get("job_id") if isinstance(item, dict) else None
            state = item.get("state") if isinstance(item, dict) else None
            if isinstance(job_id, str) and isinstance(state, dict):
                yield from self._read_state(self._job(job_id), state, f"/{index}/state")

    def _read_state(self, seen: JobSeen, state: dict[str, Any], at: str) -> Iterable[Violation]:
        status = state.get("status")
        if status not in STATUS_RANK:
            return  # the schema's business
        problem = transition_problem(seen.status, status)
        if problem is not None:
            yield _violation("state-regressed", f"{at}/status", problem)
        else:
            seen.status = status
        changed = timestamp_changes(seen.timestamps, state)
        if changed is not None:
            yield _violation("timestamps-changed", at, changed)

    def _job(self, job_id: str) -> JobSeen:
        key = job_id.lower()
        seen = self._jobs.get(key)
        if seen is None:
            seen = self._jobs[key] = JobSeen()
            while len(self._jobs) > MAX_JOBS_REMEMBERED:
                self._jobs.popitem(last=False)
        else:
            self._jobs.move_to_end(key)
        return seen


_ABSENT = object()


def _violation(code: str, pointer: str, found: str) -> Violation:
    expected = EXPECTED[code]
    return Violation(code, pointer, expected, shorten(found, 300), f"proxy {code}", f"{found} (expected {expected})")


def _json_body(flow: HttpFlow) -> Any:
    """The response body as JSON, or ``_ABSENT`` (not kept, not JSON, or a coding the proxy does not read)."""
    content_type = (header(flow.response_headers, "content-type") or "").lower()
    if flow.response_body is None or "json" not in content_type:
        return _ABSENT
    try:
        return parse_json(decoded(flow.response_body, header(flow.response_headers, "content-encoding")))
    except (JsonProblem, ValueError, zlib.error):
        return _ABSENT


def _sent_request(flow: HttpFlow) -> tuple[dict[str, Any] | None, Counter[str]]:
    """The job request a POST carried (its JSON body or multipart json part) and its files' md5sums."""
    body, content_type = flow.request_body, (header(flow.request_headers, "content-type") or "").lower()
    if body is None:
        return None, Counter()
    try:
        if content_type.startswith("application/json"):
            sent = parse_json(body)
            return (sent, Counter()) if isinstance(sent, dict) else (None, Counter())
        if content_type.startswith("multipart/form-data"):
            parts = parse_multipart(body, content_type)
            files = Counter(md5_hex(part.data) for part in parts if part.name == "file" and part.data is not None)
            json_part = next((part.data for part in parts if part.name == "json" and part.data is not None), b"{}")
            sent = parse_json(json_part)
            return (sent, files) if isinstance(sent, dict) else (None, Counter())
    except (JsonProblem, FormProblem, ValueError):
        pass
    return None, Counter()
