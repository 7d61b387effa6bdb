"""The job-lifecycle part of ``hume-contracts fuzz``: auth, create, poll, predictions, artifacts, list-jobs.

Jobs cost money on the real service, so this part starts at most ``ctx.max_jobs`` of them (each takes
``ctx.take_job()``), drawn deterministically from ``ctx.seed`` with the plain media builders. Every response
is validated as ``hume-contracts validate`` does (``contracts.checks.response_violations``); on top come the
checks only a run can make: legal state transitions, stable timestamps, job details that repeat the job id
and the request sent, sources and text positions that follow from the request, readable artifacts,
list-jobs filters, sort and limit that hold, and the documented bounds probed on both sides (the jobs'
own settings sit just inside them; requests just outside must be refused, and create no job).

Failures go to the ledger with a curl command that reproduces them (the key is ``$HUME_API_KEY`` there);
every text passes through the redactor first. The stream part shares the helpers of the first section.
"""

from __future__ import annotations

import io
import json
import operator
import random
import shlex
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts.checks import response_violations
from contracts.codes import RULE_CODES
from contracts.evidence import Grade
from contracts.fuzz.context import API_KEY_HEADER, BodyTooLarge, BudgetExhausted, FuzzContext
from contracts.fuzz.echoes import ANY_VALUE, leaves, pointer_path
from contracts.fuzz.ledger import CheckFailure
from contracts.fuzz.timelines import Timeline
from contracts.job_judging import (
    STATUS_RANK,
    TERMINAL,
    list_problems,
    md5_hex,
    timestamp_changes,
    timestamp_unit_problems,
    transition_problem,
)
from contracts.job_judging import echo_problems as sent_echo_problems
from contracts.output_judging import (
    ArchiveProblem,
    face_box_problem,
    image_size,
    paired_inputs,
    position_problems,
    prediction_items,
    unsafe_member_names,
    unsafe_members_found,
)
from contracts.text_positions import is_number
from contracts.violations import Violation, shorten
from strategies.media import MediaFile, make_png, make_text, make_wav
from strategies.requests import MultipartUpload, sdk_json_text

# ---------------------------------------------------------------------------------------------- recording

CONFORMANCE = "hume_response_conformance"
RULES = "hume_semantic_rules"


@dataclass(frozen=True)
class Expectation:
    """One check of a run: its family (``check``), the code it fails with, a stable title, what must hold."""

    check: str
    code: str
    title: str
    expected: str
    grade: str = ""  # narrower than the code's evidence grade (contracts/evidence.py); "" for the code's


def clip(text: str, limit: int = 160) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record_failure(
    ctx: FuzzContext,
    where: str,
    check: str,
    code: str,
    title: str,
    expected: str,
    found: str,
    reproduce: str,
    grade: str = "",
) -> None:
    """One failure in the ledger, every text redacted (the key value never reaches a report)."""
    r = ctx.redactor.text
    ctx.ledger.fail(CheckFailure(where, check, code, r(title), r(expected), r(found), r(reproduce), grade))


def judge(
    ctx: FuzzContext,
    where: str,
    expectation: Expectation,
    problem: str | None,
    reproduce: str,
    title: str = "",
) -> bool:
    """Record one check: passed when ``problem`` is None, else a failure whose ``found`` is the problem."""
    if problem is None:
        ctx.ledger.ok(where, expectation.check)
        return True
    e = expectation
    record_failure(ctx, where, e.check, e.code, title or e.title, e.expected, problem, reproduce, e.grade)
    return False


def judge_all(
    ctx: FuzzContext,
    where: str,
    expectation: Expectation,
    problems: Sequence[tuple[str, str]],
    reproduce: str,
) -> None:
    """Record a check that can fail in several ways at once: ``problems`` are (title, found) pairs."""
    if not problems:
        ctx.ledger.ok(where, expectation.check)
    for title, found in problems:
        judge(ctx, where, expectation, found, reproduce, title)


def record_violations(ctx: FuzzContext, where: str, violations: Sequence[Violation], reproduce: str) -> None:
    """A body's contract violations as the two families of the schemathesis checks, one failure per code."""
    for check, rule_family in ((CONFORMANCE, False), (RULES, True)):
        family = [v for v in violations if (v.code in RULE_CODES) == rule_family]
        if not family:
            ctx.ledger.ok(where, check)
        counts = Counter((v.code, v.grade) for v in family)  # a finding's own grade keeps it apart
        for code, grade in counts:
            first = next(v for v in family if (v.code, v.grade) == (code, grade))
            more = counts[code, grade] - 1
            found = clip(first.found) + (f" (and {more} more)" if more else "")
            title = f"{code} at {first.pointer or '(root)'}"
            record_failure(ctx, where, check, code, title, first.expected, found, reproduce, grade)


def parse_json(text: str) -> Any:
    """The JSON value of ``text``, or None when it is not JSON (deep nesting included)."""
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def curl_command(
    ctx: FuzzContext,
    method: str,
    path: str,
    *,
    params: Sequence[tuple[str, str]] = (),
    json_body: Any = None,
    upload: MultipartUpload | None = None,
    key: str | None = "$HUME_API_KEY",
) -> str:
    """A curl command repeating one request; the key is a shell variable, never its value."""
    url = httpx.URL(ctx.base_url.rstrip("/") + path, params=list(params) or None)
    parts = ["curl", "-sS", "-X", method, shlex.quote(str(url))]
    if key is not None:
        parts += ["-H", f'"{API_KEY_HEADER}: {key}"']
    if json_body is not None:
        parts += ["-H", "'Content-Type: application/json'", "--data", shlex.quote(json.dumps(json_body))]
    if upload is not None:
        for media in upload.files:  # generated media: save the files under these names to repeat it
            parts += ["-F", shlex.quote(f"file=@{media.filename};type={media.content_type}")]
        if upload.json_part is not None:
            parts += ["-F", shlex.quote(f"json={upload.json_part};type=application/octet-stream")]
    return ctx.redactor.text(" ".join(parts))


def checked_response(ctx: FuzzContext, where: str, response: httpx.Response, reproduce: str) -> Any:
    """Validate one response as ``validate`` does; return its JSON body, or None when it is not JSON."""
    content_type = response.headers.get("content-type")
    is_text = content_type is None or "json" in content_type or "text" in content_type
    text = response.text if is_text else ""  # binary bodies (artifacts): status and content type only
    url, status = str(response.url), response.status_code
    violations = response_violations(response.request.method, url, status, content_type, text)
    body = parse_json(text)
    violations = unexplained(ctx, body, violations)  # an out-of-bounds value the run sent, echoed back
    record_violations(ctx, where, violations, reproduce)
    if body is not None:
        units = timestamp_unit_problems(body, response.headers.get("date"))
        judge_all(ctx, where, TIMESTAMPS_IN_MS, [(f"{TIMESTAMPS_IN_MS.title} at {p}", f) for p, f in units], reproduce)
    return body


def unexplained(ctx: FuzzContext, body: Any, violations: Sequence[Violation]) -> list[Violation]:
    """The violations that are not an echo of a value this run sent out of bounds; each echo is counted as
    another occurrence of the finding that caused it (``contracts.fuzz.echoes``)."""
    kept = []
    for violation in violations:
        cause = ctx.echoes.cause_of(body, pointer_path(violation.pointer)) if ctx.echoes else None
        if cause is None:
            kept.append(violation)
        else:
            ctx.ledger.echoed(cause)
    return kept


# ---------------------------------------------------------------------------------------------- checks

JOBS_PATH = "/v0/batch/jobs"
WRONG_KEY = "hume-contracts-wrong-key-0000000000000000"

AUTH_REFUSED = Expectation(
    "auth",
    "auth-not-enforced",
    "a request without a valid key was not refused",
    "401 (the gateway's fault body)",
)
JOB_CREATED = Expectation(
    "lifecycle", "job-not-created", "starting a valid job gave no job id", '200 with {"job_id": "<uuid>"}'
)
JOB_ENDS = Expectation(
    "lifecycle",
    "job-stuck",
    "a job did not end in its share of the time budget",
    "COMPLETED or FAILED within the job's share of the run: min(20 s, half the time left)",
)
LEGAL_TRANSITION = Expectation(
    "lifecycle",
    "state-regressed",
    "a job's status went backwards or is not a status",
    "QUEUED -> IN_PROGRESS -> COMPLETED | FAILED, never backwards",
)
STABLE_TIMESTAMPS = Expectation(
    "lifecycle",
    "timestamps-changed",
    "a job's timestamps changed between polls",
    "each timestamp set once, then kept",
)
SOURCES_MATCH = Expectation(
    "lifecycle",
    "source-mismatch",
    "the predictions' sources differ from the request",
    "one source per url (same url), per uploaded file (same md5sum) and per text",
)
PREDICTIONS_FOLLOW = Expectation(
    "lifecycle",
    "prediction-mismatch",
    "predictions do not follow from the input",
    "text positions that index the input, time intervals within the audio",
)
FILE_NAMES = Expectation(
    "lifecycle",
    "source-file-name",
    "an uploaded file's name is not repeated",
    "a file source's filename (when given) and its predictions' file are the name it was uploaded under",
)
ARTIFACTS_READABLE = Expectation(
    "lifecycle", "artifacts-unreadable", "the artifacts are not a readable zip", "200 with a readable zip"
)
LISTED = Expectation("list-jobs", "list-missing-job", "a created job is not listed", "every created job listed")
STATUS_FILTERED = Expectation(
    "list-jobs",
    "list-filter-ignored",
    "list-jobs ignored the status filter",
    "only jobs with a status asked for",
)
TIME_FILTERED = Expectation(
    "list-jobs",
    "list-filter-ignored",
    "list-jobs ignored the when/timestamp_ms filter",
    "only jobs created on the asked side of timestamp_ms",
)
SORTED = Expectation(
    "list-jobs",
    "list-sort-wrong",
    "list-jobs is not sorted as asked",
    "sorted by created in the direction asked",
)
LIMITED = Expectation("list-jobs", "list-limit-ignored", "list-jobs returned more jobs than limit", "at most 1 job")
JOB_ID_ECHOED = Expectation(
    "lifecycle",
    "job-id-mismatch",
    "job details name another job",
    "job_id equal to the id the job was created with",
)
REQUEST_ECHOED = Expectation(
    "lifecycle",
    "request-echo-mismatch",
    "job details do not repeat the request",
    "request repeats the models and settings, urls, text, callback_url, notify and transcription sent, "
    "and one file (same md5sum) per upload",
)
BOUND_ENFORCED = Expectation(
    "bounds",
    "bound-not-enforced",
    "a request just outside a documented bound was accepted",
    "a 4xx refusal (no job created)",
)
LIMIT_BOUNDS = Expectation(
    "list-jobs",
    "list-limit-bounds",
    "list-jobs does not keep the documented bounds of limit",
    "limit 65535 answered with at most 65535 jobs",
)
# A uint16 holds 0, and clamping 65536 is not forbidden: that both are refused is our reading, a warning.
LIMIT_REFUSED = Expectation(
    "list-jobs",
    "list-limit-bounds",
    "list-jobs took a limit outside 1..65535",
    "limit 0 and 65536 refused with a 4xx (a judgement: a uint16 holds 0, clamping is not forbidden)",
    grade=Grade.JUDGEMENT,
)

JOB_FOUND = Expectation(
    "lifecycle",
    "job-not-found",
    "a job id POST /v0/batch/jobs returned answered 404",
    "the details of every job id POST returned (200)",
)
PREDICTIONS_FOUND = Expectation(
    "lifecycle",
    "predictions-not-found",
    "the predictions of a COMPLETED job answered 404",
    "200 with the predictions of a COMPLETED job",
)
TIMESTAMPS_IN_MS = Expectation(
    "units",
    "timestamp-unit",
    "a *_timestamp_ms is not in milliseconds",
    "Unix milliseconds: at least 10^12 (2001), at most a day past the answer's Date header",
)
LISTED_ONCE = Expectation(
    "list-jobs", "list-duplicate-job", "list-jobs returned the same job twice", "each job at most once per answer"
)
LATER_TRANSITION = Expectation(
    "list-jobs",
    "state-regressed",
    "a listed job's status is behind what its details said",
    "a job's status on later reads never behind an earlier read",
)
LATER_TIMESTAMPS = Expectation(
    "list-jobs",
    "timestamps-changed",
    "a listed job's timestamps differ from its details",
    "each timestamp set once, then kept, on every read",
)
FACE_BOX_INSIDE = Expectation(
    "lifecycle",
    "face-box-outside-image",
    "a face box lies outside the image drawn",
    "0 <= x, 0 <= y, x + w <= width, y + h <= height of the uploaded image (a judgement)",
)
ARTIFACT_PATHS_SAFE = Expectation(
    "lifecycle",
    "artifacts-unsafe-path",
    "an artifacts member would be extracted outside its directory",
    "relative member names without `..` parts (a judgement: every client extracting them is exposed)",
)

# A job gets at most this long (and never more than half the time left) to end before it counts as stuck.
JOB_SHARE_SECONDS = 20.0
MIN_JUDGED_WAIT_SECONDS = 1.0  # with less time left, waiting proves nothing either way
FIRST_POLL_DELAY = 0.1
MAX_POLL_DELAY = 2.0
INTERVAL_TOLERANCE_S = 0.25  # predicted intervals may round a little past the end of the audio
# Artifacts are read fully (every member's CRC checked) within these bounds: no zip bomb gets through.
MAX_ARTIFACT_MEMBERS = 10_000
MAX_ARTIFACT_UNCOMPRESSED = 256 * 1024 * 1024

# ---------------------------------------------------------------------------------------------- plans

# Text inputs mix plain and non-ASCII words, so code-point and byte offsets differ.
WORDS = ("hume", "measures", "voice", "faces", "and", "language", "calm", "joy", "today", "contract", "test")
UNICODE_WORDS = ("café", "naïve", "über", "日本語", "😀")
GRANULARITIES = ("word", "sentence", "utterance")
EXAMPLE_MEDIA_URLS = ("https://example.com/media/clip.mp4", "https://example.com/media/voice.wav")
UNREADABLE_MEDIA_URL = "https://example.com/media/unreadable.bin"  # no media type: the mock documents it as failing
# Never called by the mock (not loopback); a real service POSTs the generated media's results there.
EXAMPLE_CALLBACK_URL = "https://example.com/hume-contracts/callback"


@dataclass(frozen=True)
class JobPlan:
    """One job to start: what is sent, and so what the answers must reflect."""

    label: str  # json | multipart
    models: dict[str, Any]
    texts: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    files: tuple[MediaFile, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)  # callback_url, notify, transcription

    @property
    def where(self) -> str:
        return f"lifecycle: create ({self.label})"

    def json_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"models": self.models}
        if self.texts:
            body["text"] = list(self.texts)
        if self.urls:
            body["urls"] = list(self.urls)
        return {**body, **self.settings}

    def upload(self) -> MultipartUpload | None:
        """Files, then the json part as a file (as the SDK sends them); None for a JSON job."""
        if self.label != "multipart":
            return None
        return MultipartUpload(self.files, sdk_json_text(self.json_body()), json_as_file=True)


# On every seed: a non-BMP character mid-text (code points, UTF-16 units and UTF-8 bytes all differ after it),
# and words after it, so a position counted in another unit, or an end past the text, is seen.
POSITION_PROBE_TEXT = "Hume reads 😀 every word here, café included."


def plan_jobs(seed: int) -> list[JobPlan]:
    """The jobs a run may start, cheapest first; the same seed always gives the same jobs."""
    rng = random.Random(seed)
    texts = (POSITION_PROBE_TEXT, *(_sentence(rng) for _ in range(rng.randint(0, 2))))
    side = rng.randint(96, 160)
    media = (
        make_png(side, side, face=True, background=(rng.randrange(256), 90, 140), filename="face.png"),
        make_wav(rng.randint(800, 2000), frequency_hz=rng.choice((220.0, 440.0)), filename="tone.wav"),
        make_text(_sentence(rng), filename="words.txt"),
    )
    # Settings on documented bounds (just inside): a server must take them; the details must repeat them.
    settings = {
        "callback_url": EXAMPLE_CALLBACK_URL,
        "notify": False,  # true would mail the account owner on every run
        "transcription": {"confidence_threshold": 1.0},
    }
    media_models = {
        "face": {"prob_threshold": 0.0, "fps_pred": 0},
        "prosody": {"window": {"length": 0.5, "step": 0.5}},
        "burst": {},
        "language": {},
    }
    language = {"language": {"granularity": rng.choice(GRANULARITIES)}, "ner": {}}
    return [
        JobPlan("json", language, texts, urls=(rng.choice(EXAMPLE_MEDIA_URLS),), settings=settings),
        JobPlan("multipart", media_models, files=media, settings={"transcription": {"confidence_threshold": 0.0}}),
        # Every input of this one fails (nothing can be read from it), so the job ends FAILED: the run sees that
        # state too, at the cost of a job it makes anyway. Whether it must fail is not judged.
        JobPlan("json", {"language": {}}, urls=(UNREADABLE_MEDIA_URL,)),
    ]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(UNICODE_WORDS if rng.random() < 0.2 else WORDS) for _ in range(rng.randint(3, 9))]
    return " ".join(words).capitalize() + rng.choice((".", "!", "?"))


@dataclass
class Job:
    """A started job and what polling learned about it."""

    plan: JobPlan
    job_id: str
    reproduce: str  # the curl command that started it
    timeline: Timeline  # what happened to it, for the reports
    status: str | None = None
    timestamps: dict[str, int] = field(default_factory=dict)
    done: bool = False  # polling is over (it ended, or was given up)
    echo_checked: bool = False  # the request echo is judged once, on the first details read

    def steps(self, ctx: FuzzContext, *more: str) -> str:
        """How to reproduce a lifecycle finding: start the job, poll it, then ``more``."""
        poll = curl_command(ctx, "GET", f"{JOBS_PATH}/{self.job_id}")
        lines = [self.reproduce, f"poll until it ends: {poll}", *more]
        return "\n".join(f"{number}. {line}" for number, line in enumerate(lines, start=1))


# ---------------------------------------------------------------------------------------------- the part


def run_lifecycle(ctx: FuzzContext) -> None:
    """Run the lifecycle part within the job and time budgets; never raises for what the target does."""
    try:
        probe_auth(ctx)
        with ctx.http() as client:
            probe_request_bounds(ctx, client)
            jobs = create_jobs(ctx, client, plan_jobs(ctx.seed))
            poll_jobs(ctx, client, jobs)
            for job in jobs:
                if job.status == "COMPLETED":  # only a finished job has predictions for the batch part to read
                    ctx.known_job_ids.append(job.job_id)
                    job.timeline.mark()
                    job.timeline.add(f"predictions: GET answered {check_predictions(ctx, client, job)}")
                    job.timeline.add(f"artifacts: GET answered {check_artifacts(ctx, client, job)}")
            check_list_jobs(ctx, client, jobs)
    except BudgetExhausted:
        ctx.ledger.note("lifecycle: the time budget ran out; the remaining lifecycle checks were not run")
        ctx.ledger.skip("lifecycle", "cut short: the time budget ran out during it")
    except BodyTooLarge:  # already a failure in the ledger
        ctx.ledger.note("lifecycle: stopped: a response body was over the size cap")
    except httpx.HTTPError as exc:
        reason = ctx.redactor.text(f"stopped: the target did not answer ({type(exc).__name__})")
        ctx.ledger.note(f"lifecycle: {reason}")
        ctx.ledger.skip("lifecycle", reason)


def probe_auth(ctx: FuzzContext) -> None:
    """A request without the key and one with a wrong key must both be refused with 401."""
    for label, headers, shown in (
        ("no key", {}, None),
        ("a wrong key", {API_KEY_HEADER: WRONG_KEY}, WRONG_KEY),
    ):
        with httpx.Client(base_url=ctx.base_url, headers=headers, timeout=ctx.request_timeout) as client:
            response = ctx.request(client, "GET", JOBS_PATH)
        reproduce = curl_command(ctx, "GET", JOBS_PATH, key=shown)
        checked_response(ctx, "auth", response, reproduce)
        problem = None if response.status_code == 401 else f"with {label}: answered {response.status_code}"
        judge(ctx, "auth", AUTH_REFUSED, problem, reproduce)
    ctx.progress("lifecycle: auth probed")


def create_jobs(ctx: FuzzContext, client: httpx.Client, plans: Sequence[JobPlan]) -> list[Job]:
    jobs: list[Job] = []
    for started, plan in enumerate(plans):
        if not ctx.take_job():
            ctx.ledger.note(
                f"lifecycle: the job budget (--max-jobs {ctx.max_jobs}) is spent; "
                f"{len(plans) - started} planned job(s) not started"
            )
            break
        job = create_job(ctx, client, plan)
        if job is not None:
            jobs.append(job)
            ctx.progress(f"lifecycle: started job {job.job_id} ({plan.label})")
    return jobs


def create_job(ctx: FuzzContext, client: httpx.Client, plan: JobPlan) -> Job | None:
    timeline = ctx.ledger.timelines.open(f"job ({plan.label})")
    response, reproduce = post_job(ctx, client, plan.upload() or plan.json_body())
    body = checked_response(ctx, plan.where, response, reproduce)
    job_id = body.get("job_id") if isinstance(body, dict) else None
    if response.status_code == 200 and isinstance(job_id, str) and job_id:
        judge(ctx, plan.where, JOB_CREATED, None, reproduce)
        timeline.rename(f"job {job_id} ({plan.label})")
        timeline.add("submitted: POST answered 200")
        return Job(plan, job_id, reproduce, timeline)
    shown = shorten(body) if body is not None else clip(response.text)
    judge(ctx, plan.where, JOB_CREATED, f"answered {response.status_code} with {shown}", reproduce)
    timeline.add(f"not created: POST answered {response.status_code}")
    return None


# -- poll ----------------------------------------------------------------------------------------------


def poll_jobs(ctx: FuzzContext, client: httpx.Client, jobs: Sequence[Job]) -> None:
    """Poll every job with backoff until it ends, or until its fair share of the time budget is spent.

    A job still running after its share is stuck; the run's budget running out first (BudgetExhausted
    from ``ctx.request``) only ends the part, with a note.
    """
    share = min(JOB_SHARE_SECONDS, ctx.remaining() / 2)
    if jobs and share < MIN_JUDGED_WAIT_SECONDS:
        ctx.ledger.note("lifecycle: too little time was left to wait for the jobs; they were not judged")
        return
    deadline = time.monotonic() + share
    delay = FIRST_POLL_DELAY
    while pending := [job for job in jobs if not job.done]:
        for job in pending:
            poll_once(ctx, client, job)
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if any(not job.done for job in jobs):
            time.sleep(min(delay, left))
            delay = min(delay * 2, MAX_POLL_DELAY)
    for job in jobs:
        if not job.done:
            job.timeline.mark()
            judge(ctx, "lifecycle: poll", JOB_ENDS, f"still {job.status} after {share:.1f} s", job.steps(ctx))
            job.timeline.add(f"still {job.status} after {share:.1f} s: given up")
            job.done = True


def poll_once(ctx: FuzzContext, client: httpx.Client, job: Job) -> None:
    """One read of a job's details, judged; its timeline gets the state when it is new (or a check failed)."""
    job.timeline.mark()
    path = f"{JOBS_PATH}/{job.job_id}"
    response = ctx.request(client, "GET", path)
    body = checked_response(ctx, "lifecycle: poll", response, curl_command(ctx, "GET", path))
    state = body.get("state") if isinstance(body, dict) else None
    if response.status_code == 404:  # the id POST returned: a broken promise, not a reason to look away
        judge(ctx, "lifecycle: poll", JOB_FOUND, f"job {job.job_id}: details answered 404", job.steps(ctx))
        job.timeline.add("details: GET answered 404")
        job.done = True
        return
    if response.status_code != 200 or not isinstance(state, dict):
        ctx.ledger.note(
            f"lifecycle: stopped polling job {job.job_id}: its details answered "
            f"{response.status_code} without a readable state"
        )
        job.timeline.add(f"details: GET answered {response.status_code} without a readable state")
        job.done = True
        return
    status = state.get("status")
    echoed_id = body.get("job_id")
    problem = None if str(echoed_id).lower() == job.job_id.lower() else f"job_id {shorten(echoed_id)}"
    judge(ctx, "lifecycle: poll", JOB_ID_ECHOED, problem, job.steps(ctx))
    if not job.echo_checked:
        job.echo_checked = True
        judge_all(ctx, "lifecycle: poll", REQUEST_ECHOED, echo_problems(job.plan, body.get("request")), job.steps(ctx))
    judge(ctx, "lifecycle: poll", LEGAL_TRANSITION, transition_problem(job.status, status), job.steps(ctx))
    judge(ctx, "lifecycle: poll", STABLE_TIMESTAMPS, timestamp_changes(job.timestamps, state), job.steps(ctx))
    seen = status if isinstance(status, str) else repr(status)
    job.timeline.add(f"state {seen}", only_on_failure=seen == job.status)  # each state once, a failing poll too
    job.status = seen
    job.done = job.status in TERMINAL or job.status not in STATUS_RANK


# -- the request echo ----------------------------------------------------------------------------------


def echo_problems(plan: JobPlan, echo: Any) -> list[tuple[str, str]]:
    """How the details' ``request`` fails to repeat what ``plan`` sent (``contracts.job_judging``)."""
    return sent_echo_problems(plan.json_body(), Counter(md5_hex(media.data) for media in plan.files), echo)


# -- bounds ----------------------------------------------------------------------------------------------

BOUND_PROBE_TEXT = "Hume contract bounds."
OUTSIDE_BOUNDS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("face.prob_threshold 1.01 (max 1)", {"models": {"language": {}, "face": {"prob_threshold": 1.01}}}),
    ("face.prob_threshold -0.01 (min 0)", {"models": {"language": {}, "face": {"prob_threshold": -0.01}}}),
    ("transcription.confidence_threshold 1.01 (max 1)", {"transcription": {"confidence_threshold": 1.01}}),
    ("transcription.confidence_threshold -0.01 (min 0)", {"transcription": {"confidence_threshold": -0.01}}),
    ("prosody.window.length 0.49 (min 0.5)", {"models": {"language": {}, "prosody": {"window": {"length": 0.49}}}}),
    ("prosody.window.step 0.49 (min 0.5)", {"models": {"language": {}, "prosody": {"window": {"step": 0.49}}}}),
)
# The contract's `file` maxItems (Hume's 2023 spec). Its `urls` maxItems 100 is not in the contract (today's
# definition only says "consider providing them as an archive"), so urls are not probed.
MAX_UPLOADED_FILES = 100


def outside_bound_requests() -> list[tuple[str, dict[str, Any] | MultipartUpload]]:
    """Requests one step past a documented bound, otherwise valid (the smallest job, should one be made)."""
    base: dict[str, Any] = {"models": {"language": {}}, "text": [BOUND_PROBE_TEXT]}
    requests: list[tuple[str, dict[str, Any] | MultipartUpload]] = [
        (label, {**base, **change}) for label, change in OUTSIDE_BOUNDS
    ]
    files = tuple(make_text(BOUND_PROBE_TEXT, filename=f"t{n}.txt") for n in range(MAX_UPLOADED_FILES + 1))
    upload = MultipartUpload(files, sdk_json_text({"models": {"language": {}}}), json_as_file=True)
    requests.append((f"{MAX_UPLOADED_FILES + 1} file parts (max {MAX_UPLOADED_FILES})", upload))
    return requests


def probe_request_bounds(ctx: FuzzContext, client: httpx.Client) -> None:
    """Each request just outside a bound must be refused. One that is accepted made a job: it counts against
    ``--max-jobs``, and the probes stop there (the server evidently does not check bounds)."""
    where = "lifecycle: create (outside a bound)"
    for label, request in outside_bound_requests():
        if ctx.jobs_created >= ctx.max_jobs:
            ctx.ledger.note(
                "lifecycle: the job budget leaves no room for a request that might be accepted; "
                "the remaining bound probes were not sent"
            )
            return
        response, reproduce = post_job(ctx, client, request)
        body = checked_response(ctx, where, response, reproduce)
        accepted = response.is_success
        judge(ctx, where, BOUND_ENFORCED, f"{label}: answered {response.status_code}" if accepted else None, reproduce)
        if accepted:
            ctx.take_job()
            cause = (where, BOUND_ENFORCED.check, BOUND_ENFORCED.code, BOUND_ENFORCED.title)
            ctx.echoes.accepted(
                body.get("job_id") if isinstance(body, dict) else None, sent_out_of_bounds(request), cause
            )
            return
    ctx.progress("lifecycle: request bounds probed")


def sent_out_of_bounds(request: dict[str, Any] | MultipartUpload) -> dict[tuple[str, ...], Any]:
    """The request paths a bound probe sets out of bounds (what differs from the probes' common base), with the
    values sent; the file parts of an upload, by their place."""
    if isinstance(request, MultipartUpload):
        return {("files",): ANY_VALUE}
    base = dict(leaves({"models": {"language": {}}, "text": [BOUND_PROBE_TEXT]}))
    return {path: value for path, value in leaves(request) if base.get(path, ANY_VALUE) != value}


def post_job(
    ctx: FuzzContext, client: httpx.Client, request: dict[str, Any] | MultipartUpload
) -> tuple[httpx.Response, str]:
    """POST one job request (a JSON body or a multipart upload); the response and its curl command."""
    if isinstance(request, MultipartUpload):
        reproduce = curl_command(ctx, "POST", JOBS_PATH, upload=request)
        return ctx.request(client, "POST", JOBS_PATH, files=request.httpx_files(), data=request.httpx_data()), reproduce
    reproduce = curl_command(ctx, "POST", JOBS_PATH, json_body=request)
    return ctx.request(client, "POST", JOBS_PATH, json=request), reproduce


# -- predictions and artifacts -------------------------------------------------------------------------


def check_predictions(ctx: FuzzContext, client: httpx.Client, job: Job) -> int:
    """Read a COMPLETED job's predictions and judge them; the status they were answered with."""
    where, path = "lifecycle: predictions", f"{JOBS_PATH}/{job.job_id}/predictions"
    reproduce = curl_command(ctx, "GET", path)
    response = ctx.request(client, "GET", path)
    body = checked_response(ctx, where, response, reproduce)
    if response.status_code == 404:
        judge(ctx, where, PREDICTIONS_FOUND, f"job {job.job_id}: predictions answered 404", job.steps(ctx, reproduce))
        return response.status_code
    if response.status_code != 200 or not isinstance(body, list):
        ctx.ledger.note(
            f"lifecycle: the predictions of COMPLETED job {job.job_id} answered "
            f"{response.status_code} without a list; their sources were not checked"
        )
        return response.status_code
    entries = [entry for entry in body if isinstance(entry, dict)]
    steps = job.steps(ctx, reproduce)
    judge_all(ctx, where, SOURCES_MATCH, source_problems(job.plan, entries), steps)
    judge_all(ctx, where, PREDICTIONS_FOLLOW, list(prediction_problems(job.plan, entries)), steps)
    if job.plan.files:
        judge_all(ctx, where, FILE_NAMES, list(file_name_problems(job.plan, entries)), steps)
    if "face" in job.plan.models:
        judge_all(ctx, where, FACE_BOX_INSIDE, list(face_box_problems(job.plan, entries)), steps)
    _note_missing_faces(ctx, job, entries)
    return response.status_code


def _sources(entries: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e["source"] for e in entries if isinstance(e.get("source"), dict) and e["source"].get("type") == kind]


def source_problems(plan: JobPlan, entries: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """How the sources differ from the request: urls equal, files by md5sum, one source per text."""
    problems = []
    urls = Counter(str(s.get("url")) for s in _sources(entries, "url"))
    if urls != Counter(plan.urls):
        problems.append(("url sources differ", f"sent {sorted(plan.urls)}, got {sorted(urls.elements())}"))
    md5s = Counter(str(s.get("md5sum")) for s in _sources(entries, "file"))
    uploaded = Counter(md5_hex(media.data) for media in plan.files)
    if md5s != uploaded:
        problems.append(("file md5sums differ", f"uploaded {sorted(uploaded)}, got {sorted(md5s.elements())}"))
    texts = len(_sources(entries, "text"))
    if texts != len(plan.texts):
        problems.append(("text sources differ", f"sent {len(plan.texts)} text(s), got {texts} text source(s)"))
    return [(title, clip(found, 300)) for title, found in problems]


def file_name_problems(plan: JobPlan, entries: Sequence[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(title, found) for each uploaded file whose name its source or predictions do not repeat.

    Real file sources repeat the upload's name (``content_type`` may be null, so it is not compared); an
    archive's predictions name the members inside it, so only plain files' predictions are compared."""
    uploads = {md5_hex(media.data): media for media in plan.files}
    for source in _sources(entries, "file"):
        media, filename = uploads.get(str(source.get("md5sum"))), source.get("filename")
        if media is not None and filename is not None and filename != media.filename:
            yield "a file source renames the upload", f"uploaded {media.filename!r}, source {shorten(filename)}"
    for entry, given in _inputs(plan, entries):
        if not isinstance(given, MediaFile) or given.members:
            continue
        results = entry.get("results") if isinstance(entry.get("results"), dict) else {}
        predictions = results.get("predictions") if isinstance(results.get("predictions"), list) else []
        names = {str(p.get("file")) for p in predictions if isinstance(p, dict)} - {given.filename}
        if names:
            yield "predictions name another file", f"uploaded {given.filename!r}, predictions for {sorted(names)[:3]}"


def _inputs(plan: JobPlan, entries: Sequence[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], MediaFile | str]]:
    """Each entry with the input of the plan it answers (``paired_inputs``)."""
    return paired_inputs(entries, plan.texts, {md5_hex(media.data): media for media in plan.files})


def prediction_problems(plan: JobPlan, entries: Sequence[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(title, found) for every prediction that cannot follow from its input."""
    for entry, given in _inputs(plan, entries):
        if isinstance(given, str):
            yield from position_problems(entry, [given])
        elif given.content_type.startswith("text/"):
            yield from position_problems(entry, [given.data.decode("utf-8", errors="replace")])
        elif given.duration_ms is not None:
            yield from _interval_problems(entry, given.duration_ms / 1000)


def _interval_problems(entry: dict[str, Any], duration_s: float) -> Iterator[tuple[str, str]]:
    for model in ("prosody", "burst"):
        for item in prediction_items(entry, model):
            interval = item.get("time")
            if not isinstance(interval, dict):
                continue
            begin, end = interval.get("begin"), interval.get("end")
            within = is_number(begin) and is_number(end) and begin >= 0 and end <= duration_s + INTERVAL_TOLERANCE_S
            if not within:
                found = f"[{begin}, {end}] s in {duration_s:.3f} s of audio"
                yield f"a {model} interval lies outside the audio", found


def face_box_problems(plan: JobPlan, entries: Sequence[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(title, found) for each uploaded image whose face boxes reach outside it (one per image)."""
    for entry, given in _inputs(plan, entries):
        if not (isinstance(given, MediaFile) and given.content_type.startswith("image/")):
            continue
        size = image_size(given.data)
        if size is not None and (problem := face_box_problem(entry, size, given.filename)) is not None:
            yield problem


def _note_missing_faces(ctx: FuzzContext, job: Job, entries: Sequence[dict[str, Any]]) -> None:
    """A drawn face a real detector misses breaks no contract: a missing face is a note, not a failure."""
    if "face" not in job.plan.models:
        return
    for entry, given in _inputs(job.plan, entries):
        if isinstance(given, MediaFile) and given.has_face and next(prediction_items(entry, "face"), None) is None:
            ctx.ledger.note(f"lifecycle: no face predicted for the drawn face in {given.filename} (job {job.job_id})")


def check_artifacts(ctx: FuzzContext, client: httpx.Client, job: Job) -> int:
    """Read a COMPLETED job's artifacts and judge them; the status they were answered with."""
    where, path = "lifecycle: artifacts", f"{JOBS_PATH}/{job.job_id}/artifacts"
    reproduce = curl_command(ctx, "GET", path)
    response = ctx.request(client, "GET", path)
    checked_response(ctx, where, response, reproduce)
    problem = zip_problem(response.content) if response.status_code == 200 else f"answered {response.status_code}"
    judge(ctx, where, ARTIFACTS_READABLE, problem, reproduce)
    if problem is None:
        try:
            unsafe = unsafe_member_names(response.content)
        except ArchiveProblem:  # a readable zip the bounded name reader does not walk (zip64): nothing to say
            unsafe = []
        judge(ctx, where, ARTIFACT_PATHS_SAFE, unsafe_members_found(unsafe), reproduce)
    return response.status_code


def zip_problem(data: bytes) -> str | None:
    """Why ``data`` is not a readable zip (every member read and CRC-checked, within bounds), or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            declared = sum(member.file_size for member in members)
            if len(members) > MAX_ARTIFACT_MEMBERS or declared > MAX_ARTIFACT_UNCOMPRESSED:
                return f"{len(members)} members declaring {declared} bytes: beyond what is read"
            for member in members:
                with archive.open(member) as stream:  # a member yields at most its declared size
                    while stream.read(1 << 16):
                        pass
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        OSError,
        EOFError,
        ValueError,
        RuntimeError,
        NotImplementedError,
    ) as exc:
        return f"not a readable zip ({type(exc).__name__}: {clip(str(exc), 100)})"
    return None


# -- list jobs -----------------------------------------------------------------------------------------

WHERE_LIST = "lifecycle: list-jobs"
Params = list[tuple[str, str]]


class UnusableList(Exception):
    """A list-jobs answer was not a JSON array: the checks built on it cannot run."""


def list_jobs(
    ctx: FuzzContext, client: httpx.Client, params: Params, jobs: Sequence[Job] = ()
) -> tuple[list[dict[str, Any]], str]:
    """The items of one list-jobs answer and its curl command; UnusableList (after a note) without them.

    Every answer is also judged on its own (each job once) and against what the jobs' details said."""
    reproduce = curl_command(ctx, "GET", JOBS_PATH, params=params)
    response = ctx.request(client, "GET", JOBS_PATH, params=params)
    body = checked_response(ctx, WHERE_LIST, response, reproduce)
    if response.status_code != 200 or not isinstance(body, list):
        ctx.ledger.note(
            f"lifecycle: list-jobs ?{httpx.QueryParams(params)} answered {response.status_code} "
            "without a JSON array; the remaining list-jobs checks were not run"
        )
        raise UnusableList
    items = [item for item in body if isinstance(item, dict)]
    twice = [(title, found) for code, title, found in list_problems(params, items) if code == LISTED_ONCE.code]
    judge_all(ctx, WHERE_LIST, LISTED_ONCE, twice, reproduce)
    _check_later_reads(ctx, items, jobs, reproduce)
    return items, reproduce


def _check_later_reads(ctx: FuzzContext, items: Sequence[dict[str, Any]], jobs: Sequence[Job], reproduce: str) -> None:
    """A listed job's status is not behind, and its timestamps not other than, what its details said."""
    known = {job.job_id.lower(): job for job in jobs}
    for item in items:
        job = known.get(str(item.get("job_id")).lower())
        state = item.get("state")
        if job is None or not isinstance(state, dict) or state.get("status") not in STATUS_RANK:
            continue
        steps = job.steps(ctx, reproduce)
        judge(ctx, WHERE_LIST, LATER_TRANSITION, transition_problem(job.status, state.get("status")), steps)
        judge(ctx, WHERE_LIST, LATER_TIMESTAMPS, timestamp_changes(job.timestamps, state), steps)


def _state(item: dict[str, Any], key: str) -> Any:
    state = item.get("state")
    return state.get(key) if isinstance(state, dict) else None


def _created(item: dict[str, Any]) -> int | None:
    value = _state(item, "created_timestamp_ms")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_list_jobs(ctx: FuzzContext, client: httpx.Client, jobs: Sequence[Job]) -> None:
    """Created jobs are listed; status and time filters, sort direction and limit hold."""
    if len(jobs) < 2:
        ctx.ledger.note("lifecycle: fewer than 2 jobs were started, so list-jobs sort and limit are checked weakly")
    try:
        _check_listed(ctx, client, jobs)
        _check_status_filters(ctx, client, jobs)
        _check_time_filters(ctx, client, jobs)
        for direction in ("asc", "desc"):
            _check_sorted(ctx, client, direction, jobs)
        items, reproduce = list_jobs(ctx, client, [("limit", "1")], jobs)
        judge(ctx, WHERE_LIST, LIMITED, f"limit=1 gave {len(items)} jobs" if len(items) > 1 else None, reproduce)
        _check_limit_bounds(ctx, client)
    except UnusableList:
        return


MAX_LIMIT = 65535  # `limit` is a uint16 in Hume's 2023 spec


def _check_limit_bounds(ctx: FuzzContext, client: httpx.Client) -> None:
    """The largest ``limit`` is answered (limit=1 is checked above); one past either end is refused."""
    for limit in (MAX_LIMIT,):
        items, reproduce = list_jobs(ctx, client, [("limit", str(limit))])
        problem = f"limit={limit} gave {len(items)} jobs" if len(items) > limit else None
        judge(ctx, WHERE_LIST, LIMIT_BOUNDS, problem, reproduce)
    for limit in (0, MAX_LIMIT + 1):
        params = [("limit", str(limit))]
        reproduce = curl_command(ctx, "GET", JOBS_PATH, params=params)
        response = ctx.request(client, "GET", JOBS_PATH, params=params)
        checked_response(ctx, WHERE_LIST, response, reproduce)
        refused = 400 <= response.status_code < 500
        problem = None if refused else f"limit={limit} answered {response.status_code}"
        judge(ctx, WHERE_LIST, LIMIT_REFUSED, problem, reproduce)


def _check_listed(ctx: FuzzContext, client: httpx.Client, jobs: Sequence[Job]) -> None:
    params = [("limit", str(max(10, 2 * len(jobs)))), ("sort_by", "created"), ("direction", "desc")]
    items, reproduce = list_jobs(ctx, client, params, jobs)
    listed = {item.get("job_id") for item in items}
    for job in jobs:
        problem = None if job.job_id in listed else f"job {job.job_id} is not among the newest {params[0][1]}"
        judge(ctx, WHERE_LIST, LISTED, problem, f"1. {job.reproduce}\n2. {reproduce}")


def _check_status_filters(ctx: FuzzContext, client: httpx.Client, jobs: Sequence[Job]) -> None:
    """``status=COMPLETED&status=FAILED``, and one leaving out a status a created job is known to have."""
    filters = [("COMPLETED", "FAILED")]
    known = next((job.status for job in jobs if job.status in STATUS_RANK), None)
    if known is not None:
        filters.append(tuple(status for status in STATUS_RANK if status != known))
    for statuses in filters:
        items, reproduce = list_jobs(ctx, client, [("status", status) for status in statuses], jobs)
        outside = [
            f"{item.get('job_id')} is {_state(item, 'status')}"
            for item in items
            if _state(item, "status") not in statuses
        ]
        problem = (
            f"asked for {'|'.join(statuses)}; {len(outside)} job(s) outside, e.g. {outside[0]}" if outside else None
        )
        judge(ctx, WHERE_LIST, STATUS_FILTERED, problem, reproduce)


def _check_time_filters(ctx: FuzzContext, client: httpx.Client, jobs: Sequence[Job]) -> None:
    """Created after the newest job: nothing older is listed; created before the oldest: nothing newer."""
    created = [job.timestamps["created_timestamp_ms"] for job in jobs if "created_timestamp_ms" in job.timestamps]
    if not created:
        ctx.ledger.note("lifecycle: no creation time was read from job details; list-jobs time filters not checked")
        return
    for when, at, keeps in (
        ("created_after", max(created), operator.ge),
        ("created_before", min(created), operator.le),
    ):
        items, reproduce = list_jobs(ctx, client, [("when", when), ("timestamp_ms", str(at))], jobs)
        outside = [item for item in items if (c := _created(item)) is not None and not keeps(c, at)]
        problem = f"{when} {at}: {len(outside)} job(s) created on the other side" if outside else None
        judge(ctx, WHERE_LIST, TIME_FILTERED, problem, reproduce)


def _check_sorted(ctx: FuzzContext, client: httpx.Client, direction: str, jobs: Sequence[Job]) -> None:
    params = [("sort_by", "created"), ("direction", direction), ("limit", "20")]
    items, reproduce = list_jobs(ctx, client, params, jobs)
    times = [c for c in map(_created, items) if c is not None]
    wrong = [(a, b) for a, b in zip(times, times[1:], strict=False) if (a > b if direction == "asc" else a < b)]
    problem = f"direction={direction}: created {wrong[0][0]} listed before {wrong[0][1]}" if wrong else None
    judge(ctx, WHERE_LIST, SORTED, problem, reproduce)
