"""`hume-contracts proxy` as a bystander: each drift one exchange or a per-job memory shows is reported, with its
own code; the same traffic against the clean mock reports nothing (issue 16, item 4)."""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections import Counter

import httpx
import pytest
from conftest import API_KEY, fast_config
from websockets.sync.client import connect

from contracts.evidence import Grade, grade_of
from contracts.job_judging import list_problems, retry_after_problem, timestamp_unit_problems
from contracts.proxy import ProxyHandle, ProxyOptions, running_proxy
from contracts.proxy import jobs as proxy_jobs
from contracts.proxy.flows import HttpFlow
from contracts.proxy.jobs import JobMemory
from contracts.violations import Finding
from mockserver import running_mock
from strategies.media import make_png

TEXT = "Hume reads 😀 every word here, café included."
HEADERS = {"X-Hume-Api-Key": API_KEY}
REPLY_WAIT = 0.3  # the session's reply wait: a frame unanswered this long at the close counts

# drift -> the code the proxy must report for it
EXPECTED = {
    "created-job-404": "job-not-found",
    "completed-predictions-404": "predictions-not-found",
    "rate-limit-without-retry-after": "retry-after-missing",
    "timestamps-in-seconds": "timestamp-unit",
    "list-status-stale": "state-regressed",
    "created-timestamp-shifts": "timestamps-changed",
    "list-duplicate-job": "list-duplicate-job",
    "time-filter-ignored": "list-filter-ignored",
    "status-filter-ignored": "list-filter-ignored",
    "limit-ignored": "list-limit-ignored",
    "echo-settings-defaulted": "request-echo-mismatch",
    "error-message-empty": "error-message-empty",
    "stream-reply-binary": "stream-binary-frame",
    "stream-position-outside-text": "stream-position-mismatch",
    "stream-double-reply": "stream-extra-reply",
    "stream-reply-dropped": "stream-no-reply",
}


def batch_traffic(proxy: ProxyHandle) -> None:
    """What a client does: start a text job and an upload, poll them, read predictions, list jobs four ways."""
    with httpx.Client(base_url=proxy.base_url, headers=HEADERS, timeout=10.0) as client:
        client.get("/v0/batch/jobs", params={"limit": "5"})  # a drifted mock rate-limits this first list
        text_job = {"models": {"language": {"granularity": "sentence"}}, "text": [TEXT]}
        upload = make_png(filename="face.png")
        json_part = json.dumps({"models": {"face": {"prob_threshold": 0.5}}}).encode()
        started = [
            client.post("/v0/batch/jobs", json=text_job),
            client.post(
                "/v0/batch/jobs",
                files=[("file", upload.as_upload()), ("json", ("upload", json_part, "application/octet-stream"))],
            ),
        ]
        job_ids = [response.json().get("job_id") for response in started if response.status_code == 200]
        created = [poll(client, job_id) for job_id in job_ids]
        for job_id in job_ids:
            client.get(f"/v0/batch/jobs/{job_id}/predictions")
        newest = max((c for c in created if c is not None), default=0)
        for params in (
            {"limit": "1"},
            {"status": "QUEUED"},
            {"when": "created_after", "timestamp_ms": str(newest)},
            {"limit": "50"},
        ):
            client.get("/v0/batch/jobs", params=params)
        for job_id in job_ids:
            client.get(f"/v0/batch/jobs/{job_id}")


def poll(client: httpx.Client, job_id: str, timeout: float = 5.0) -> int | None:
    """Poll until the job ends (or answers other than 200); its created_timestamp_ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"/v0/batch/jobs/{job_id}")
        state = response.json().get("state", {}) if response.status_code == 200 else {}
        if response.status_code != 200 or state.get("status") in ("COMPLETED", "FAILED"):
            return state.get("created_timestamp_ms")
        time.sleep(0.02)
    return None


def stream_traffic(proxy: ProxyHandle) -> None:
    """A text frame, then a job_details frame whose reply is waited for a little, then the close."""
    with connect(proxy.stream_url, additional_headers=HEADERS, open_timeout=5) as socket:
        socket.send(json.dumps({"data": TEXT, "models": {"language": {}}, "raw_text": True, "payload_id": "p1"}))
        socket.recv(timeout=5)
        socket.send(json.dumps({"job_details": True, "payload_id": "p2"}))
        with contextlib.suppress(TimeoutError):
            socket.recv(timeout=2 * REPLY_WAIT)
        time.sleep(REPLY_WAIT)  # a second reply arrives meanwhile, and an unanswered frame waits its time


def session_codes(drifts: frozenset[str], traffic: str) -> Counter[str]:
    log = io.StringIO()
    with running_mock(fast_config(drifts=drifts)) as mock:
        with running_proxy(ProxyOptions(mock.base_url, log=log, reply_wait=REPLY_WAIT)) as proxy:
            (stream_traffic if traffic == "stream" else batch_traffic)(proxy)
            time.sleep(0.1)  # the close reaches the proxy's hooks
        results = proxy.session.results.results
        return Counter(results.by_code) + Counter(results.warnings_by_code)  # judgements are warnings, seen too


@pytest.mark.parametrize("traffic", ["batch", "stream"])
def test_the_clean_mock_shows_the_bystander_nothing(traffic: str) -> None:
    assert session_codes(frozenset(), traffic) == Counter()


@pytest.mark.parametrize("drift", sorted(EXPECTED))
def test_each_drift_a_bystander_can_see_is_reported_with_its_code(drift: str) -> None:
    codes = session_codes(frozenset({drift}), "stream" if drift.startswith("stream-") else "batch")
    assert EXPECTED[drift] in codes, f"{drift}: expected {EXPECTED[drift]}, found {dict(codes)}"


# -- the shared judgements, on their own ------------------------------------------------------------------------


def test_a_timestamp_in_seconds_or_far_past_the_date_is_not_milliseconds() -> None:
    date = "Wed, 02 Dec 2026 12:00:00 GMT"
    now_ms = 1_796_212_800_000
    body = [{"state": {"created_timestamp_ms": now_ms // 1000, "ended_timestamp_ms": now_ms - 5}}]
    assert [pointer for pointer, _ in timestamp_unit_problems(body, date)] == ["/0/state/created_timestamp_ms"]
    far = {"state": {"created_timestamp_ms": now_ms + 2 * 86_400_000}}
    assert timestamp_unit_problems(far, date)
    assert not timestamp_unit_problems(far, None)  # without a Date only the floor is judged
    old = {"state": {"created_timestamp_ms": 1_000_000_000_000}}  # 2001: an old job is still milliseconds
    assert not timestamp_unit_problems(old, date)


def test_a_429_needs_retry_after_in_whole_seconds() -> None:
    assert retry_after_problem(429, None)
    assert retry_after_problem(429, "soon")
    assert retry_after_problem(429, "3") is None
    assert retry_after_problem(200, None) is None


def test_one_list_answer_is_judged_against_its_own_query() -> None:
    job = {"job_id": "a", "state": {"status": "COMPLETED", "created_timestamp_ms": 2_000}}
    other = {"job_id": "b", "state": {"status": "QUEUED", "created_timestamp_ms": 1_000}}
    assert list_problems([("limit", "2")], [job, other]) == []
    codes = [code for code, _, _ in list_problems([("limit", "1"), ("status", "COMPLETED")], [job, other, job])]
    assert codes == ["list-limit-ignored", "list-filter-ignored", "list-duplicate-job"]
    window = [("when", "created_after"), ("timestamp_ms", "1500")]
    assert [code for code, _, _ in list_problems(window, [job, other])] == ["list-filter-ignored"]


def test_the_new_codes_are_graded() -> None:
    import contracts.fuzz.lifecycle  # noqa: F401 - each module registers the grades of the codes it reports
    import contracts.rules  # noqa: F401

    assert grade_of("job-not-found") is Grade.DOCUMENTED
    assert grade_of("stream-extra-reply") is Grade.SDK
    for judgement in ("face-box-outside-image", "artifacts-unsafe-path", "error-message-empty", "stream-binary-frame"):
        assert grade_of(judgement) is Grade.JUDGEMENT


# -- the per-job memory, fed flows directly --------------------------------------------------------------------

JOB_ID = "3fbf9669-0b96-4aeb-9c8a-4dec8c997b70"


def flow(number: int, method: str, path: str, status: int, body: object, request: object = None) -> HttpFlow:
    sent = json.dumps(request).encode() if request is not None else b""
    return HttpFlow(
        number,
        method,
        path,
        [("content-type", "application/json")] if request is not None else [],
        request_body=sent,
        request_size=len(sent),
        status=status,
        response_headers=[("content-type", "application/json"), ("date", "Wed, 02 Dec 2026 12:00:00 GMT")],
        response_body=json.dumps(body).encode(),
    )


def state(status: str, created: int = 1_796_212_790_000) -> dict[str, object]:
    return {"status": status, "created_timestamp_ms": created}


def memory_codes(*flows: HttpFlow) -> list[str]:
    found: list[Finding] = []
    memory = JobMemory([found.append])
    for each in flows:
        memory.response(each)
    return [violation.code for finding in found for violation in finding.violations]


def test_the_memory_follows_a_job_across_exchanges() -> None:
    sent = {"models": {"language": {"granularity": "sentence"}}, "text": ["hi"]}
    started = flow(1, "POST", "/v0/batch/jobs", 200, {"job_id": JOB_ID}, sent)
    echo = {"models": {"language": {"granularity": "word"}}, "text": ["hi"], "files": []}
    details = flow(
        2, "GET", f"/v0/batch/jobs/{JOB_ID}", 200, {"job_id": JOB_ID, "request": echo, **{"state": state("COMPLETED")}}
    )
    listed = flow(
        3, "GET", "/v0/batch/jobs?limit=5", 200, [{"job_id": JOB_ID, "state": state("QUEUED", 1_796_212_791_000)}]
    )
    missing = flow(4, "GET", f"/v0/batch/jobs/{JOB_ID}/predictions", 404, {"message": "not found"})
    assert memory_codes(started, details, listed, missing) == [
        "request-echo-mismatch",
        "state-regressed",
        "timestamps-changed",
        "predictions-not-found",
    ]
    assert memory_codes(started, flow(2, "GET", f"/v0/batch/jobs/{JOB_ID}", 404, {})) == ["job-not-found"]
    # a 404 for an id nobody saw created, and predictions of a job never seen COMPLETED, are no one's fault
    assert memory_codes(flow(2, "GET", f"/v0/batch/jobs/{JOB_ID}", 404, {})) == []
    assert memory_codes(started, missing) == []


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proxy_jobs, "MAX_JOBS_REMEMBERED", 3)
    memory = JobMemory([])
    for n in range(10):
        memory.response(flow(n, "POST", "/v0/batch/jobs", 200, {"job_id": f"{JOB_ID[:-2]}{n:02d}"}, {"models": {}}))
    assert len(memory._jobs) == 3
