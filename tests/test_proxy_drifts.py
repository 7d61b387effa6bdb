"""`hume-contracts proxy` as a bystander: each drift one exchange or a per-job memory shows is reported, with its
own code; the same traffic against the clean mock reports nothing (issue 16, item 4)."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

import httpx
import pytest
from conftest import API_KEY, fast_config
from PIL import Image
from websockets.sync.client import connect

from contracts.evidence import Grade, grade_of
from contracts.job_judging import list_problems, retry_after_problem, timestamp_unit_problems
from contracts.output_judging import ArchiveProblem, image_size, zip_member_names
from contracts.proxy import ProxyHandle, ProxyOptions, running_proxy
from contracts.proxy import jobs as proxy_jobs
from contracts.proxy.flows import HttpFlow
from contracts.proxy.jobs import JobMemory
from contracts.readers import Note
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
    "position-end-past-text": "prediction-mismatch",
    "face-box-outside-image": "face-box-outside-image",
    "artifacts-path-traversal": "artifacts-unsafe-path",
}


def batch_traffic(proxy: ProxyHandle) -> None:
    """What a client does: start a text job and an upload, poll them, read predictions and artifacts, list jobs
    four ways."""
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
            client.get(f"/v0/batch/jobs/{job_id}/artifacts")
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


def memory_codes(*flows: HttpFlow, memory: JobMemory | None = None) -> list[str]:
    found: list[Finding | Note] = []
    memory = memory or JobMemory([])
    memory.listeners = [found.append]
    for each in flows:
        memory.response(each)
    return [violation.code for finding in found if isinstance(finding, Finding) for violation in finding.violations]


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


def started(job_id: str = JOB_ID, texts: list[str] | None = None) -> HttpFlow:
    return flow(1, "POST", "/v0/batch/jobs", 200, {"job_id": job_id}, {"models": {"language": {}}, "text": texts})


def text_entry(*words: tuple[str, int, int]) -> dict[str, object]:
    """A text source's predictions: one language item per (text, begin, end)."""
    items = [{"text": text, "position": {"begin": begin, "end": end}} for text, begin, end in words]
    language = {"grouped_predictions": [{"id": "unknown", "predictions": items}]}
    return {"source": {"type": "text"}, "results": {"predictions": [{"models": {"language": language}}]}}


def predictions(*entries: dict[str, object], job_id: str = JOB_ID) -> HttpFlow:
    return flow(9, "GET", f"/v0/batch/jobs/{job_id}/predictions", 200, list(entries))


def test_the_predictions_are_judged_against_the_texts_the_post_sent() -> None:
    texts = ["hi there", "Hume reads 😀 here"]
    right = [text_entry(("hi", 0, 2)), text_entry(("here", 13, 17))]
    assert memory_codes(started(texts=texts), predictions(*right)) == []
    # an end past the text, though text[begin:end] would clip to the right word
    assert memory_codes(started(texts=texts), predictions(text_entry(("there", 3, 11)))) == ["prediction-mismatch"]
    # the sources in another order than the texts: no document promises the order, so no finding
    assert memory_codes(started(texts=texts), predictions(*reversed(right))) == []
    # a job whose POST the proxy did not see is not judged
    assert memory_codes(predictions(text_entry(("there", 3, 11)))) == []


def test_the_requests_remembered_are_bounded_in_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proxy_jobs, "REQUEST_BYTES_REMEMBERED", 500)
    memory = JobMemory([])
    job_ids = [f"{JOB_ID[:-2]}{n:02d}" for n in range(10)]
    for job_id in job_ids:
        memory.response(started(job_id, ["x" * 60]))  # about 100 bytes of JSON each
    assert 0 < memory._request_bytes <= 500 and memory._request_bytes == sum(memory._requests.values())
    assert memory._jobs[job_ids[0]].submitted is None and memory._jobs[job_ids[-1]].submitted is not None
    past = text_entry(("x", 0, 61))
    assert memory_codes(predictions(past, job_id=job_ids[0]), memory=memory) == []  # forgotten: not judged
    assert memory_codes(predictions(past, job_id=job_ids[-1]), memory=memory) == ["prediction-mismatch"]
    memory.response(started(JOB_ID, ["x" * 600]))  # larger than the whole budget: not remembered at all
    assert memory._jobs[JOB_ID].submitted is None and memory._request_bytes <= 500


# -- the artifacts zip, in one exchange ------------------------------------------------------------------------


def zipped(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, b"scores " * 100)
    return buffer.getvalue()


def artifacts(data: bytes, job_id: str = JOB_ID) -> HttpFlow:
    return HttpFlow(
        3,
        "GET",
        f"/v0/batch/jobs/{job_id}/artifacts",
        [],
        status=200,
        response_headers=[("content-type", "application/octet-stream")],
        response_body=data,
    )


def test_the_artifacts_zip_names_no_member_outside_its_directory() -> None:
    memory = JobMemory([])
    assert memory.wants_body(artifacts(b"")) and not JobMemory([], disabled=["artifacts-unsafe-path"]).wants_body(
        artifacts(b"")
    )
    assert memory_codes(artifacts(zipped(["predictions.json", "csv/face.csv", "a..b/ok.csv"]))) == []
    for unsafe in ("../predictions.json", "/etc/cron.d/x", "C:\\Windows\\x", "csv\\..\\..\\x"):
        assert memory_codes(artifacts(zipped(["predictions.json", unsafe]))) == ["artifacts-unsafe-path"], unsafe
    notes: list[Finding | Note] = []
    JobMemory([notes.append]).response(artifacts(b"<html>not a zip</html>"))
    assert [type(n) for n in notes] == [Note] and "member names not read" in notes[0].message  # type: ignore[union-attr]


def test_the_zip_names_are_read_from_its_directory_alone_and_bounded() -> None:
    names = [f"csv/model{n}.csv" for n in range(30)] + ["../x"]
    data = zipped(names)
    assert list(zip_member_names(data)) == names
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        offset = archive.getinfo("csv/model0.csv").header_offset + 30 + len("csv/model0.csv")
    garbled = data[:offset] + b"\xff" * 64 + data[offset + 64 :]  # member data no inflater would take
    assert list(zip_member_names(garbled)) == names  # nothing is inflated, so a bomb costs nothing either
    with pytest.raises(ArchiveProblem, match="more than 20 members"):
        list(zip_member_names(data, max_members=20))
    for broken in (b"", b"not a zip", data[:-10], data[:-40] + data[-22:]):
        with pytest.raises(ArchiveProblem):
            list(zip_member_names(broken))


def test_an_image_turned_a_quarter_by_its_exif_has_no_size_to_judge_boxes_by() -> None:
    def jpeg(orientation: int) -> bytes:
        exif = Image.Exif()
        exif[0x0112] = orientation
        buffer = io.BytesIO()
        Image.new("RGB", (40, 30)).save(buffer, "JPEG", exif=exif)
        return buffer.getvalue()

    assert image_size(jpeg(1)) == (40, 30)
    assert image_size(jpeg(6)) is None  # a detector may have read it as 30x40
    assert image_size(b"RIFF....WAVEfmt ") is None


# -- the command: judgements fail the run only when asked -------------------------------------------------------


@pytest.mark.parametrize("strict", [False, True])
def test_a_judgement_fails_the_proxy_run_only_with_strict_judgements(strict: bool, tmp_path: Path) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with running_mock(fast_config(drifts=frozenset({"artifacts-path-traversal"}))) as mock:
        command = [sys.executable, "-m", "contracts.cli", "proxy", "--target", mock.base_url, "--port", str(port)]
        command += ["--report", str(tmp_path / "out"), *(["--strict-judgements"] if strict else [])]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert "hume-contracts proxy on" in process.stdout.readline()  # type: ignore[union-attr]
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=10.0) as client:
                job_id = client.post("/v0/batch/jobs", json={"text": [TEXT]}).json()["job_id"]
                poll(client, job_id)
                assert client.get(f"/v0/batch/jobs/{job_id}/artifacts").status_code == 200
        finally:
            process.terminate()
            out, err = process.communicate(timeout=20)
    summary = json.loads((tmp_path / "out" / "report.json").read_text())["summary"]
    assert summary["strict_judgements"] is strict
    if strict:
        assert process.returncode == 1, err
        assert summary["by_code"] == {"artifacts-unsafe-path": 1} and "1 violation (artifacts-unsafe-path 1)" in out
    else:
        assert process.returncode == 0, err
        assert summary["warnings_by_code"] == {"artifacts-unsafe-path": 1} and "no violations" in out
