"""vcrpy cassettes, really recorded by vcrpy against the mock, validate; a drifted mock's fail.

Recorded through `requests`, `httpx` and the official SDK, in both of vcrpy's serializers, with the mock
behind a compressing layer (`recording_servers.Compressing`) so that cassettes hold gzip, deflate and
brotli bodies the way vcrpy keeps them, and with the API key header filtered out as teams do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
import vcr
from conftest import API_KEY, fast_config
from hume import HumeClient
from hume.environment import HumeClientEnvironment
from hume.expression_measurement.batch.types import Language, Models
from recording_servers import serving_mock

from contracts.validate_command import main as validate_main

pytest_plugins = ["pytester"]

HEADERS = {"X-Hume-Api-Key": API_KEY}
JOB = {"models": {"face": {}}, "urls": ["https://example.com/face.png"]}
DRIFT, DRIFT_CODE = "score-out-of-range", "probability-range"  # the first face's detection score is 1.5


@pytest.fixture(scope="module")
def clean_url() -> Iterator[str]:
    with serving_mock(fast_config()) as url:
        yield url


@pytest.fixture(scope="module")
def drifted_url() -> Iterator[str]:
    with serving_mock(fast_config(drifts=frozenset({DRIFT}))) as url:
        yield url


def recorder(**options) -> vcr.VCR:
    return vcr.VCR(record_mode="all", filter_headers=["X-Hume-Api-Key"], **options)


def summary(capsys, *argv: str | Path) -> tuple[int, dict]:
    capsys.readouterr()  # drop what ran before (an inner pytest session prints here)
    code = validate_main(["--format", "json", *map(str, argv)])
    return code, json.loads(capsys.readouterr().out)


def finished_job(get, url: str) -> str:
    """Start a job through ``get``'s client and wait until it completed; returns its id."""
    job_id = get("POST", f"{url}/v0/batch/jobs", json=JOB).json()["job_id"]
    deadline = time.monotonic() + 5
    while get("GET", f"{url}/v0/batch/jobs/{job_id}").json()["state"]["status"] != "COMPLETED":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return job_id


def record_with_requests(url: str, cassette: Path, coding: str = "gzip") -> None:
    with requests.Session() as session, recorder().use_cassette(str(cassette)):
        session.headers.update({**HEADERS, "Accept-Encoding": coding})
        job_id = finished_job(session.request, url)
        session.get(f"{url}/v0/batch/jobs/{job_id}/predictions")
        session.get(f"{url}/v0/batch/jobs/{job_id}/artifacts")
        session.get(f"{url}/v0/batch/jobs", params={"limit": 0})  # invalid: the mock refuses it


def test_a_requests_cassette_validates(capsys, clean_url, tmp_path):
    cassette = tmp_path / "requests.yaml"
    record_with_requests(clean_url, cassette)
    text = cassette.read_text()
    assert "interactions:" in text and "!!binary" in text and API_KEY not in text  # the zip, as bytes
    code, result = summary(capsys, cassette)
    assert code == 0, result["summary"]["line"]
    assert result["summary"]["rejected_requests"] == 1 and result["summary"]["bodies"] >= 6


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_an_httpx_cassette_with_compressed_bodies_validates(capsys, clean_url, tmp_path, coding):
    cassette = tmp_path / f"httpx-{coding}.yaml"
    client = httpx.Client(headers={**HEADERS, "Accept-Encoding": coding})
    with client, recorder().use_cassette(str(cassette)):
        job_id = finished_job(client.request, clean_url)
        client.get(f"{clean_url}/v0/batch/jobs/{job_id}/predictions")
    text = cassette.read_text()
    assert f"- {coding}" in text and "!!binary" in text  # kept compressed, as it came off the wire
    code, result = summary(capsys, cassette)
    assert code == 0 and result["summary"]["bodies"] >= 4, result["summary"]["line"]


def test_a_json_serializer_cassette_validates(capsys, clean_url, tmp_path):
    cassette = tmp_path / "httpx.json"
    client = httpx.Client(headers=HEADERS)
    with client, recorder(serializer="json", decode_compressed_response=True).use_cassette(str(cassette)):
        job_id = finished_job(client.request, clean_url)
        client.get(f"{clean_url}/v0/batch/jobs/{job_id}/predictions")
        client.get(f"{clean_url}/v0/batch/jobs", params={"status": ["COMPLETED", "FAILED"], "limit": 5})
    assert json.loads(cassette.read_text())["interactions"]
    code, result = summary(capsys, cassette)
    assert code == 0 and result["summary"]["bodies"] >= 5, result["summary"]["line"]


def sdk(url: str) -> HumeClient:
    unused = "ws://127.0.0.1:9"
    environment = HumeClientEnvironment(base=url, evi=unused, tts=unused, stream=unused)
    return HumeClient(api_key=API_KEY, environment=environment)


def record_with_the_sdk(url: str, cassette: Path) -> None:
    batch = sdk(url).expression_measurement.batch
    with recorder().use_cassette(str(cassette)):
        job_id = batch.start_inference_job(urls=["https://example.com/face.png"], models=Models(face={}))
        deadline = time.monotonic() + 5
        while batch.get_job_details(id=job_id).state.status != "COMPLETED":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        batch.get_job_predictions(id=job_id)
        batch.start_inference_job(text=["I am so happy!"], models=Models(language=Language(granularity="word")))
        batch.list_jobs(limit=3)


def test_an_official_sdk_cassette_validates(capsys, clean_url, tmp_path):
    cassette = tmp_path / "sdk.yaml"
    record_with_the_sdk(clean_url, cassette)
    code, result = summary(capsys, cassette)
    assert code == 0 and result["summary"]["bodies"] >= 7, result["summary"]["line"]


def test_cassettes_of_a_drifted_mock_fail_naming_the_drifts_check(capsys, drifted_url, tmp_path):
    record_with_requests(drifted_url, tmp_path / "requests.yaml", coding="br")
    record_with_the_sdk(drifted_url, tmp_path / "sdk.yaml")
    for cassette in ("requests.yaml", "sdk.yaml"):
        code, result = summary(capsys, tmp_path / cassette)
        assert code == 1 and set(result["summary"]["by_code"]) == {DRIFT_CODE}, result["summary"]["line"]


# ------------------------------------------------------------------------------------ pytest-recording

RECORDED_TESTS = """
import os

import httpx
import pytest
import requests

URL = os.environ["HUME_MOCK_URL"]
HEADERS = {"X-Hume-Api-Key": os.environ["HUME_MOCK_KEY"]}


@pytest.fixture(scope="module")
def vcr_config():
    return {"filter_headers": ["X-Hume-Api-Key"]}


@pytest.mark.vcr
def test_start_a_text_job():
    reply = requests.post(URL + "/v0/batch/jobs", json={"text": ["hello"], "models": {"language": {}}}, headers=HEADERS)
    assert reply.status_code == 200


@pytest.mark.vcr
def test_list_jobs():
    assert httpx.get(URL + "/v0/batch/jobs", params={"limit": 2}, headers=HEADERS).status_code == 200


@pytest.mark.vcr
def test_a_bad_filter_is_refused():
    assert httpx.get(URL + "/v0/batch/jobs", params={"direction": "up"}, headers=HEADERS).status_code == 400
"""


@pytest.fixture
def recorded_project(pytester, clean_url, monkeypatch) -> Path:
    """A project whose tests ran once under pytest-recording: tests/cassettes/<module>/<test>.yaml."""
    monkeypatch.setenv("HUME_MOCK_URL", clean_url)
    monkeypatch.setenv("HUME_MOCK_KEY", API_KEY)
    tests = pytester.mkpydir("tests")
    (tests / "test_api.py").write_text(RECORDED_TESTS)
    pytester.runpytest("tests", "--record-mode=once", "-p", "no:xdist").assert_outcomes(passed=3)
    return pytester.path


def test_a_pytest_recording_directory_validates_as_one_run_reported_per_cassette(capsys, recorded_project):
    cassettes = recorded_project / "tests" / "cassettes"
    names = sorted(path.relative_to(cassettes).as_posix() for path in cassettes.rglob("*.yaml"))
    assert names == [
        f"test_api/{name}.yaml" for name in ("test_a_bad_filter_is_refused", "test_list_jobs", "test_start_a_text_job")
    ]
    code, result = summary(capsys, cassettes)
    assert code == 0 and result["summary"]["files"] == 3 and result["summary"]["rejected_requests"] == 1
    assert sorted(Path(entry["source"]).name for entry in result["files"]) == [Path(n).name for n in names]


def test_recordings_as_pytest_items_with_xdist(recorded_project, pytester, drifted_url, monkeypatch):
    monkeypatch.setenv("HUME_MOCK_URL", drifted_url)
    broken = recorded_project / "tests" / "cassettes" / "drifted.yaml"
    record_with_requests(drifted_url, broken)
    expected = validate_report(broken)
    result = pytester.runpytest_subprocess("--hume-recordings", "tests/cassettes", "-n", "2", "-q", "tests/cassettes")
    result.assert_outcomes(passed=3, failed=1)
    output = result.stdout.str()
    assert "hume-recordings::tests/cassettes/drifted.yaml" in output
    assert expected.splitlines()[1] in output  # validate's report for the file: the drift's check, by name


def validate_report(path: Path) -> str:
    from contracts import report
    from contracts.validate_command import BodyChecker, file_results

    return report.render_text(file_results(path, "tests/cassettes/drifted.yaml", BodyChecker(frozenset())))


def test_recordings_from_the_ini_option(recorded_project, pytester):
    pytester.makeini("[pytest]\nhume_recordings = tests/cassettes\n")
    result = pytester.runpytest("-p", "no:xdist", "tests/cassettes", "--collect-only", "-q")
    ids = [line for line in result.stdout.lines if "hume-recordings::" in line]
    assert len(ids) == 3 and all("tests/cassettes/test_api/" in line for line in ids)


def test_the_plugin_changes_nothing_in_an_ordinary_run(recorded_project, pytester):
    """With cassettes on disk but none of its options, a run collects and reports exactly what it would
    without the plugin (replayed from the cassettes)."""
    runs = [pytester.runpytest("-p", "no:xdist", *extra, "-v") for extra in ((), ("-p", "no:hume_contracts"))]
    for run in runs:
        run.assert_outcomes(passed=3)
    with_plugin, without_plugin = ([line for line in run.stdout.lines if "::" in line] for run in runs)
    assert with_plugin == without_plugin and len(with_plugin) == 3
