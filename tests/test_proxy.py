"""`hume-contracts proxy`: the official SDK's flows pass through unchanged and every drift they touch is reported."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import json
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from conftest import API_KEY, fast_config
from hume import AsyncHumeClient, HumeClient
from hume.environment import HumeClientEnvironment
from hume.expression_measurement.batch.types import Face, InferenceBaseRequest, Language, Models
from hume.expression_measurement.stream.stream.types import Config, StreamFace, StreamLanguage
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from contracts import validate_command
from contracts.proxy import ProxyHandle, ProxyOptions, running_proxy
from mockserver import MockHandle, running_mock
from strategies.media import make_png, make_wav

pytestmark = [
    pytest.mark.filterwarnings("ignore:websockets.legacy is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:websockets.exceptions.InvalidStatusCode is deprecated:DeprecationWarning"),
]
TEXT = "I met Maria in Paris. It was lovely!"
UNUSED = "ws://127.0.0.1:9"


def environment(handle: MockHandle | ProxyHandle) -> HumeClientEnvironment:
    return HumeClientEnvironment(base=handle.base_url, evi=UNUSED, tts=UNUSED, stream=handle.stream_base)


@pytest.fixture
def proxied(tmp_path: Path, mock_server: MockHandle) -> Iterator[ProxyHandle]:
    log = io.StringIO()
    options = ProxyOptions(mock_server.base_url, record=tmp_path / "session.har", report=tmp_path / "out", log=log)
    with running_proxy(options) as proxy:
        yield proxy


def wait_ended(client: HumeClient, job_id: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while client.expression_measurement.batch.get_job_details(id=job_id).state.status not in ("COMPLETED", "FAILED"):
        assert time.monotonic() < deadline
        time.sleep(0.02)


def sdk_flows(client: HumeClient, tmp_path: Path) -> dict[str, object]:
    """The SDK's batch and stream calls, as a team's app makes them; returns what it got back."""
    batch = client.expression_measurement.batch
    text_job = batch.start_inference_job(text=[TEXT], models=Models(language=Language(granularity="word")))
    request = InferenceBaseRequest(models=Models(face=Face(), prosody={}))
    file_job = batch.start_inference_job_from_local_file(
        file=[make_png().as_upload(), make_wav(800).as_upload()], json=request
    )
    for job_id in (text_job, file_job):
        wait_ended(client, job_id)
    got: dict[str, object] = {
        "predictions": [p.dict() for p in batch.get_job_predictions(id=file_job)],
        "artifacts": b"".join(batch.get_job_artifacts(id=file_job)),
        "listed": len(batch.list_jobs(limit=50)),
    }
    image = tmp_path / "face.png"
    image.write_bytes(make_png().data)
    with client.expression_measurement.stream.connect() as stream:
        got["text"] = stream.send_text(
            TEXT, config=Config(language=StreamLanguage(granularity="word")), payload_id="p1"
        )
        got["face"] = stream.send_file(image, config=Config(face=StreamFace()))
        got["details"] = stream.get_job_details()
        got["error"] = stream.send_file(image, config=Config(prosody={}))  # E0102: an image for prosody
    return got


def validate(path: Path) -> int:
    return validate_command.main([str(path)])


# -- the official SDK through the proxy ---------------------------------------------------------------------


def test_sdk_flows_pass_through_and_a_clean_mock_reports_nothing(proxied: ProxyHandle, tmp_path: Path) -> None:
    got = sdk_flows(HumeClient(api_key=API_KEY, environment=environment(proxied)), tmp_path)
    with zipfile.ZipFile(io.BytesIO(got["artifacts"])) as archive:  # type: ignore[arg-type]
        assert "predictions.json" in archive.namelist()
    assert got["text"].payload_id == "p1" and got["error"].code == "E0102"  # type: ignore[attr-defined]
    results = proxied.session.results
    deadline = time.monotonic() + 5  # the last reply reached the SDK before its check ended (a worker thread)
    while results.frames < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert results.exchanges >= 7 and results.frames == 8
    assert results.violations == 0, proxied.session.options.log.getvalue()  # type: ignore[attr-defined]
    assert "no violations" in results.summary()


def test_the_session_files_read_back_clean(tmp_path: Path, mock_server: MockHandle) -> None:
    options = ProxyOptions(mock_server.base_url, record=tmp_path / "s.har", report=tmp_path / "out", log=io.StringIO())
    with running_proxy(options) as proxy:
        sdk_flows(HumeClient(api_key=API_KEY, environment=environment(proxy)), tmp_path)
    assert validate(tmp_path / "s.har") == 0
    har = json.loads((tmp_path / "s.har").read_text())
    [stream] = [entry for entry in har["log"]["entries"] if entry.get("_webSocketMessages")]
    assert [m["type"] for m in stream["_webSocketMessages"]] == ["send", "receive"] * 4
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    # 2 job requests and 2 job ids, >= 1 poll per job, predictions, artifacts, a list, 8 frames: more polls on a slow
    # machine, but a job may be done at its first poll
    assert report["summary"]["bodies"] >= 17
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"report.json", "junit.xml", "report.md", "report.html"}


def test_the_async_sdk_works_through_the_proxy(proxied: ProxyHandle) -> None:
    async def flows() -> tuple[str, object, object]:
        client = AsyncHumeClient(api_key=API_KEY, environment=environment(proxied))
        job_id = await client.expression_measurement.batch.start_inference_job(text=[TEXT], models={"language": {}})
        async with client.expression_measurement.stream.connect() as stream:
            text = await stream.send_text("hello there", config=Config(language=StreamLanguage()))
            details = await stream.get_job_details()
        return job_id, text, details

    job_id, text, details = asyncio.run(flows())
    assert len(job_id) == 36 and [p.text for p in text.language.predictions] == ["hello", "there"]  # type: ignore[attr-defined]
    assert len(details.job_details.job_id) == 32  # type: ignore[attr-defined]
    assert proxied.session.results.violations == 0


DRIFTS_THE_FLOWS_TOUCH = {
    "job-id-not-uuid": "job-id-uuid",
    "timestamps-out-of-order": "state-timestamps-order",
    "details-text-plain": "wrong-content-type",
    "emotions-null": "schema-type",
    "negative-box-size": "box-size",
    "stream-missing-model": "stream-model-missing",
    "stream-drop-payload-id": "stream-payload-id",
    "stream-job-id-dashed": "schema-pattern",
    "stream-bbox-as-box": "schema-required",
}
PAIRING_DRIFTS = {"stream-missing-model", "stream-drop-payload-id"}


@pytest.mark.parametrize("drift", sorted(DRIFTS_THE_FLOWS_TOUCH))
def test_each_drift_the_flows_touch_is_reported_as_it_happens(drift: str, tmp_path: Path) -> None:
    log = io.StringIO()
    with (
        running_mock(fast_config(drifts=frozenset({drift}))) as mock,
        running_proxy(ProxyOptions(mock.base_url, record=tmp_path / "s.har", log=log)) as proxy,
        contextlib.suppress(Exception),  # the SDK may choke on a drifted answer (emotions null)
    ):
        sdk_flows(HumeClient(api_key=API_KEY, environment=environment(proxy)), tmp_path)
    code = DRIFTS_THE_FLOWS_TOUCH[drift]
    assert code in proxy.session.results.results.by_code
    assert f"[{code}]" in log.getvalue()
    if drift not in PAIRING_DRIFTS:  # validate judges frames one by one; pairing a reply with its frame is live
        assert validate(tmp_path / "s.har") == 1  # the recording shows the drift offline too


# -- strict mode ------------------------------------------------------------------------------------------------


def test_strict_mode_turns_a_violating_response_into_a_502_naming_it() -> None:
    with running_mock(fast_config(drifts=frozenset({"job-id-not-uuid"}))) as mock:
        options = ProxyOptions(mock.base_url, strict=True, log=io.StringIO())
        with running_proxy(options) as proxy, httpx.Client(base_url=proxy.base_url) as http:
            created = http.post("/v0/batch/jobs", json={"text": ["hi"]}, headers={"X-Hume-Api-Key": API_KEY})
            assert created.status_code == 200  # a job id is not checked as a UUID here: only its details are
            job_id = created.json()["job_id"]
            details = http.get(f"/v0/batch/jobs/{job_id}", headers={"X-Hume-Api-Key": API_KEY})
            listed = http.get("/v0/batch/jobs", params={"limit": 1}, headers={"X-Hume-Api-Key": "wrong"})
    assert details.status_code == 502 and details.headers["content-type"] == "application/problem+json"
    problem = details.json()
    assert problem["status"] == 502 and "[job-id-uuid]" in problem["detail"]
    assert problem["violations"][0]["pointer"] == "/job_id"
    assert listed.status_code == 401  # a conforming answer passes unchanged


# -- pass-through fidelity ------------------------------------------------------------------------------------


def test_http_answers_pass_through_byte_for_byte(proxied: ProxyHandle, mock_server: MockHandle) -> None:
    key = {"X-Hume-Api-Key": API_KEY}
    with httpx.Client() as http:
        job_id = http.post(f"{mock_server.base_url}/v0/batch/jobs", json={"text": [TEXT]}, headers=key).json()["job_id"]
        time.sleep(0.3)
        for path, headers in [
            (f"/v0/batch/jobs/{job_id}", key),
            (f"/v0/batch/jobs/{job_id}/predictions", key),
            (f"/v0/batch/jobs/{job_id}/artifacts", key),
            ("/v0/batch/jobs?limit=2&direction=asc", key),
            ("/v0/batch/jobs/not-a-job", key),
            ("/v0/batch/jobs", {"X-Hume-Api-Key": "wrong"}),
        ]:
            direct = http.get(mock_server.base_url + path, headers=headers)
            through = http.get(proxied.base_url + path, headers=headers)
            assert (through.status_code, through.content) == (direct.status_code, direct.content), path
            same = {"content-type", "content-length", "allow", "retry-after"}
            assert {k: v for k, v in through.headers.items() if k in same} == {
                k: v for k, v in direct.headers.items() if k in same
            }


def _serve(app: Starlette) -> tuple[uvicorn.Server, threading.Thread, int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread, listener.getsockname()[1]


@pytest.fixture
def odd_target() -> Iterator[str]:
    """A target that compresses its bodies and answers slowly on request: what the mock never does."""

    async def jobs(request: Request) -> Response:
        body = gzip.compress(json.dumps([{"job_id": "not-a-uuid"}]).encode())
        return Response(body, headers={"content-encoding": "gzip", "content-type": "application/json"})

    async def slow(request: Request) -> Response:
        await asyncio.sleep(5)
        return Response("{}", media_type="application/json")

    server, thread, port = _serve(Starlette(routes=[Route("/v0/batch/jobs", jobs), Route("/v0/batch/jobs/{id}", slow)]))
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def test_compressed_bodies_pass_compressed_and_are_checked_decoded(odd_target: str) -> None:
    with running_proxy(ProxyOptions(odd_target, log=io.StringIO())) as proxy:
        raw = httpx.get(f"{proxy.base_url}/v0/batch/jobs", headers={"accept-encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip" and raw.json() == [{"job_id": "not-a-uuid"}]
    assert "schema-required" in proxy.session.results.results.by_code  # the decoded body was validated


def test_a_slow_target_is_bounded_by_the_timeout(odd_target: str) -> None:
    log = io.StringIO()
    with running_proxy(ProxyOptions(odd_target, log=log, timeout=0.3)) as proxy:
        started = time.monotonic()
        answer = httpx.get(f"{proxy.base_url}/v0/batch/jobs/123", timeout=10)
        took = time.monotonic() - started
    assert answer.status_code == 502 and "ReadTimeout" in answer.json()["detail"]
    assert took < 3 and "error GET /v0/batch/jobs/123" in log.getvalue()


def test_a_target_that_is_down_gets_502s_and_the_proxy_stays_up() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{probe.getsockname()[1]}"  # bound, never listening: connections are refused
        with running_proxy(ProxyOptions(down, log=io.StringIO())) as proxy:
            answers = [httpx.get(f"{proxy.base_url}/v0/batch/jobs") for _ in range(3)]
            with pytest.raises(InvalidStatus) as refused:
                connect(proxy.stream_url, open_timeout=5).close()
    assert [a.status_code for a in answers] == [502, 502, 502]
    assert answers[0].headers["content-type"] == "application/problem+json"
    assert "ConnectError" in answers[0].json()["detail"]
    assert refused.value.response.status_code == 502


def test_stream_refusals_and_close_codes_pass_through(proxied: ProxyHandle) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(proxied.stream_url, additional_headers={"X-Hume-Api-Key": "wrong"}, open_timeout=5).close()
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body)["fault"]["faultstring"] == "Invalid ApiKey"
    key = {"X-Hume-Api-Key": API_KEY}
    with (
        connect(proxied.stream_url, additional_headers=key, open_timeout=5) as stream,
        pytest.raises(ConnectionClosed) as closed,
    ):
        for _ in range(12):  # Hume closes after ten identical configuration errors
            stream.send("not json")
            stream.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008  # the mock's own close code


@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning")
def test_a_client_that_vanishes_mid_stream_is_cleaned_up(proxied: ProxyHandle) -> None:
    raw = connect(proxied.stream_url, additional_headers={"X-Hume-Api-Key": API_KEY}, open_timeout=5)
    raw.send(json.dumps({"data": TEXT, "models": {"language": {}}, "raw_text": True}))
    raw.socket.close()  # no close frame: the TCP connection just goes
    with connect(proxied.stream_url, additional_headers={"X-Hume-Api-Key": API_KEY}, open_timeout=5) as stream:
        stream.send(json.dumps({"job_details": True}))
        assert "job_details" in json.loads(stream.recv(timeout=5))


# -- secrets and the command line -----------------------------------------------------------------------------


def test_the_key_never_reaches_the_log_the_har_or_the_reports(tmp_path: Path) -> None:
    key = "marker-key-7f3a9c"
    log = io.StringIO()
    with running_mock(fast_config(api_key=key, drifts=frozenset({"job-id-not-uuid"}))) as mock:
        options = ProxyOptions(mock.base_url, record=tmp_path / "s.har", report=tmp_path / "out", log=log)
        with running_proxy(options) as proxy:
            client = HumeClient(api_key=key, environment=environment(proxy))
            sdk_flows(client, tmp_path)
            with connect(f"{proxy.stream_url}?apikey={key}", open_timeout=5) as stream:
                stream.send(json.dumps({"job_details": True}))
                stream.recv(timeout=5)
    outputs = [log.getvalue(), *(p.read_text() for p in [tmp_path / "s.har", *(tmp_path / "out").iterdir()])]
    assert proxy.session.results.violations > 0 and log.getvalue()
    assert all(key not in text for text in outputs)
    assert validate(tmp_path / "s.har") == 1  # still a HAR that reads back, with the drift in it


def test_the_command_refuses_a_busy_port_in_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        command = [
            sys.executable,
            "-m",
            "contracts.cli",
            "proxy",
            "--target",
            "http://127.0.0.1:9",
            "--port",
            str(port),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in done.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--target", "ftp://x"], "http(s) URL"), (["--target", "http://x", "--host", "0.0.0.0"], "not loopback")],
)
def test_the_command_refuses_bad_usage(extra: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "contracts.cli", "proxy", *extra], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2 and message in done.stderr


def test_the_command_serves_until_sigterm_and_writes_its_files(tmp_path: Path, mock_server: MockHandle) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    command = [sys.executable, "-m", "contracts.cli", "proxy", "--target", mock_server.base_url, "--port", str(port)]
    command += ["--record", str(tmp_path / "s.har"), "--report", str(tmp_path / "out")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "hume-contracts proxy on" in process.stdout.readline()  # type: ignore[union-attr]
        answer = httpx.get(f"http://127.0.0.1:{port}/v0/batch/jobs", headers={"X-Hume-Api-Key": API_KEY})
        assert answer.status_code == 200
    finally:
        process.terminate()
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "1 HTTP exchange, 0 stream frames checked; no violations" in out
    assert validate(tmp_path / "s.har") == 0 and (tmp_path / "out" / "junit.xml").exists()
