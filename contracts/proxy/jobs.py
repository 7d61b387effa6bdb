"""The proxy's per-job memory: what a bystander can judge of the batch API across exchanges, and in one.

In one exchange: a 429 says when to retry (``Retry-After``); every ``*_timestamp_ms`` is in milliseconds (at
least 10^12, at most a day past the answer's ``Date``); a list-jobs answer keeps its own query (``limit``,
``status``, ``when``/``timestamp_ms``) and lists each job once. Across exchanges, per job id that POST
returned or an answer named: its details are found (not 404); its status never goes back and its timestamps
never change, on any later read (details or list); its details' ``request`` repeats the POST the proxy saw;
once COMPLETED, its predictions are found, and they follow from what that POST sent: each text position indexes
a text sent, each face box lies within the image uploaded. The artifacts zip, in one exchange, names no member
outside its directory (its central directory alone is read). The judgements are ``contracts.job_judging``'s and
``contracts.output_judging``'s, as ``fuzz``'s.

The memory is bounded (the oldest jobs are forgotten first, and the oldest requests once those kept pass
``REQUEST_BYTES_REMEMBERED``) and every body read is one the core kept.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from contracts.forms import FormPart, FormProblem, parse_multipart
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
from contracts.output_judging import (
    ArchiveProblem,
    face_box_problem,
    image_size,
    paired_inputs,
    position_problems,
    unsafe_member_names,
    unsafe_members_found,
)
from contracts.proxy.addons import decoded
from contracts.proxy.flows import HttpFlow, header
from contracts.readers import JsonProblem, Note, parse_json
from contracts.validation import cap_per_code
from contracts.violations import Finding, Violation, shorten

SOURCE = "proxy"
MAX_JOBS_REMEMBERED = 10_000
# What the POSTs carried (JSON request, texts, image sizes), all jobs together, counted as the bytes of each
# request's JSON: past it the oldest requests are forgotten (their echo and predictions then go unjudged).
REQUEST_BYTES_REMEMBERED = 64 * 1024 * 1024
PART_COST = 64  # what one remembered file md5sum, or image size, counts against that
MAX_IMAGES_REMEMBERED = 100  # per job: Hume takes at most 100 files
JOBS = "/v0/batch/jobs"
_JOB_PATH = re.compile(r"^/v0/batch/jobs/([^/]+)(/predictions|/artifacts)?/?$")
Listener = Callable[[Finding | Note], None]

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
    "prediction-mismatch": "text positions that index a text the POST sent, end within it",
    "face-box-outside-image": "0 <= x, 0 <= y, x + w <= width, y + h <= height of the uploaded image (a judgement)",
    "artifacts-unsafe-path": "relative member names without `..` parts (a judgement: every client extracting them "
    "is exposed)",
}
OUTPUT_CODES = ("prediction-mismatch", "face-box-outside-image")


class UploadedImage(NamedTuple):
    name: str  # the part's file name, or its md5sum
    size: tuple[int, int]


@dataclass
class Submitted:
    """What the POST that started a job carried, as far as later answers are judged by it."""

    request: dict[str, Any]  # the JSON body, or the multipart json part
    uploaded: Counter[str] = field(default_factory=Counter)  # md5sums of the file parts
    images: dict[str, UploadedImage] = field(default_factory=dict)  # by md5sum: the file parts that are images
    cost: int = 0  # counted against REQUEST_BYTES_REMEMBERED

    @property
    def has_inputs(self) -> bool:
        """Whether predictions can be judged against it: texts or images were sent."""
        return bool(self.texts or self.images)

    @property
    def texts(self) -> list[str]:
        """The ``text`` list sent; empty unless every item is a string (else the pairing by order is off)."""
        texts = self.request.get("text")
        return texts if isinstance(texts, list) and all(isinstance(text, str) for text in texts) else []


@dataclass
class JobSeen:
    """What the session learnt of one job: what started it, its last status, its timestamps."""

    submitted: Submitted | None = None  # None: the POST not seen, or forgotten
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
        self._requests: OrderedDict[str, int] = OrderedDict()  # jobs whose request is remembered, oldest first: cost
        self._request_bytes = 0
        self._lock = threading.Lock()

    # ---- the hooks

    def wants_body(self, flow: HttpFlow) -> bool:
        """The artifacts zip is kept (the core keeps text bodies only) so its member names can be read."""
        return self._judges_artifacts(flow)

    def _judges_artifacts(self, flow: HttpFlow) -> bool:
        return "artifacts-unsafe-path" not in self.disabled and _results_tail(flow) == "/artifacts"

    def response(self, flow: HttpFlow) -> None:
        if flow.status is None:
            return
        path = urlsplit(flow.path).path
        match = _JOB_PATH.match(path)
        # Only job and list answers carry timestamps and states; predictions, often large, are parsed again only
        # for a job whose POST the proxy saw, outside the lock.
        job_answer = path.rstrip("/") == JOBS or (match is not None and match.group(2) is None)
        body = _json_body(flow) if job_answer else _ABSENT
        predictions = _results_tail(flow) == "/predictions" and not set(OUTPUT_CODES) <= self.disabled
        with self._lock:
            violations = list(self._judge(flow, body))
            submitted = self._submitted(match.group(1)) if match and predictions else None
        if submitted is not None and submitted.has_inputs:
            violations += cap_per_code(_output_violations(flow, submitted))
        if self._judges_artifacts(flow) and flow.response_body is not None:
            violations += self._artifacts(flow)
        self._publish(flow, [v for v in violations if v.code not in self.disabled])

    def _publish(self, flow: HttpFlow, violations: list[Violation]) -> None:
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
        submitted = _submitted(flow)
        if submitted is not None:
            self._remember(job_id.lower(), seen, submitted)

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
        if seen.submitted is not None and not seen.echo_checked:
            seen.echo_checked = True
            sent = seen.submitted
            for title, found in echo_problems(sent.request, sent.uploaded, body.get("request")):
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

    def _artifacts(self, flow: HttpFlow) -> list[Violation]:
        """The zip's member names (one exchange: no memory), read from its central directory alone."""
        try:
            data = decoded(flow.response_body, header(flow.response_headers, "content-encoding")) or b""
            found = unsafe_members_found(unsafe_member_names(data))
        except (ArchiveProblem, ValueError, zlib.error) as problem:  # not judged, and said so
            note = Note(SOURCE, f"#{flow.number} {flow.label}", f"artifacts member names not read: {problem}")
            for listener in self.listeners:
                listener(note)
            return []
        return [] if found is None else [_violation("artifacts-unsafe-path", "", found)]

    # ---- the memory

    def _job(self, job_id: str) -> JobSeen:
        key = job_id.lower()
        seen = self._jobs.get(key)
        if seen is None:
            seen = self._jobs[key] = JobSeen()
            while len(self._jobs) > MAX_JOBS_REMEMBERED:
                self._forget_request(self._jobs.popitem(last=False)[0])
        else:
            self._jobs.move_to_end(key)
        return seen

    def _submitted(self, job_id: str) -> Submitted | None:
        seen = self._jobs.get(job_id.lower())
        return seen.submitted if seen is not None else None

    def _remember(self, key: str, seen: JobSeen, submitted: Submitted) -> None:
        """Keep what a POST carried, forgetting the oldest requests kept while they pass the byte budget."""
        self._forget_request(key)
        if submitted.cost > REQUEST_BYTES_REMEMBERED:
            return
        seen.submitted = submitted
        self._requests[key] = submitted.cost
        self._request_bytes += submitted.cost
        while self._request_bytes > REQUEST_BYTES_REMEMBERED:
            self._forget_request(next(iter(self._requests)))

    def _forget_request(self, key: str) -> None:
        cost = self._requests.pop(key, None)
        if cost is None:
            return
        self._request_bytes -= cost
        seen = self._jobs.get(key)
        if seen is not None:
            seen.submitted = None


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


def _results_tail(flow: HttpFlow) -> str | None:
    """``/predictions`` or ``/artifacts`` for a 200 answer to GET a job's results, else None."""
    if flow.method != "GET" or flow.status != 200:
        return None
    match = _JOB_PATH.match(urlsplit(flow.path).path)
    return match.group(2) if match else None


def _submitted(flow: HttpFlow) -> Submitted | None:
    """What a POST carried: its JSON body or multipart json part, its files' md5sums and its images' sizes."""
    body, content_type = flow.request_body, (header(flow.request_headers, "content-type") or "").lower()
    if body is None:
        return None
    try:
        if content_type.startswith("application/json"):
            sent = parse_json(body)
            return Submitted(sent, cost=len(body)) if isinstance(sent, dict) else None
        if content_type.startswith("multipart/form-data"):
            parts = parse_multipart(body, content_type)
            files = [part for part in parts if part.name == "file" and part.data is not None]
            json_part = next((part.data for part in parts if part.name == "json" and part.data is not None), b"{}")
            sent = parse_json(json_part)
            if not isinstance(sent, dict):
                return None
            digests = [md5_hex(part.data or b"") for part in files]  # each file hashed once, for both uses
            images = _uploaded_images(files, digests)
            uploaded = Counter(digests)
            return Submitted(sent, uploaded, images, len(json_part) + PART_COST * (len(files) + len(images)))
    except (JsonProblem, FormProblem, ValueError):
        pass
    return None


def _uploaded_images(files: list[FormPart], digests: list[str]) -> dict[str, UploadedImage]:
    """The file parts that are images, by md5sum (``digests``, one per part), with their pixel size (read from
    each header alone)."""
    images: dict[str, UploadedImage] = {}
    for part, digest in list(zip(files, digests, strict=True))[:MAX_IMAGES_REMEMBERED]:
        if (size := image_size(part.data or b"")) is not None:
            images[digest] = UploadedImage(part.filename or digest, size)
    return images


def _output_violations(flow: HttpFlow, submitted: Submitted) -> Iterable[Violation]:
    """How a job's predictions fail to follow from what its POST sent: text positions, face boxes."""
    body = _json_body(flow)
    entries = [entry for entry in body if isinstance(entry, dict)] if isinstance(body, list) else []
    texts = submitted.texts
    for entry, given in paired_inputs(entries, texts, submitted.images):
        if isinstance(given, str):
            # its own text first; then the job's others, since no document says the sources keep the texts' order
            for title, found in position_problems(entry, [given, *texts]):
                yield _violation("prediction-mismatch", "", f"{title}: {found}")
        elif (problem := face_box_problem(entry, given.size, given.name)) is not None:
            yield _violation("face-box-outside-image", "", f"{problem[0]}: {problem[1]}")
