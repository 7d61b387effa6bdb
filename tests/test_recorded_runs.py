"""Recordings of real fuzz runs against the mock validate clean; against a drifted mock they fail.

schemathesis's `st run --checks all` sends deliberately invalid requests (its negative and coverage
phases); the clean mock refuses them with 4xx. `validate` must count those as correct rejections, not
violations, in both of schemathesis's recording formats and byte modes, and in the suite's own HAR.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import fast_config

import openapi
from contracts.cli import main as cli_main
from contracts.validate_command import main as validate_main
from mockserver import running_mock

KEY = "recorded-runs-key"
CONFIG = f'[auth.openapi.api_key]\napi_key = "{KEY}"\n'
# the module fixture records three st runs (~40 s): one xdist worker makes them once (--dist loadgroup)
pytestmark = pytest.mark.xdist_group("recorded-runs")
DRIFT = "list-not-array"  # GET /v0/batch/jobs wraps its array: every phase of st run lists jobs


@contextlib.contextmanager
def cli_mock(*extra: str) -> Iterator[str]:
    """`hume-contracts mock` in its own process, as the README runs it (faster under st's load than a
    mock sharing the test process); yields its URL and stops it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).with_name("hume-contracts")), "mock", "--port", str(port), "--api-key", KEY]
    command += ["--queued-seconds", "0.05", "--in-progress-seconds", "0.05", *extra]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                httpx.get(url + "/v0/batch/jobs", timeout=1)
                break
            time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def st_run(directory: Path, base_url: str, *extra: str) -> tuple[Path, Path]:
    """Record one small `st run --checks all` as a VCR cassette and a HAR file; returns (vcr, har)."""
    directory.mkdir()
    (directory / "schemathesis.toml").write_text(CONFIG)
    st = Path(sys.executable).with_name("st")
    command = [str(st), "--config-file", "schemathesis.toml", "run", str(openapi.REPAIRED_PATH)]
    command += ["--url", base_url, "--checks", "all", "--max-examples", "5", "--seed", "3", "--no-color"]
    command += ["--report", "vcr,har", "--report-vcr-path", "run.yaml", "--report-har-path", "run.har", *extra]
    subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=600)
    return directory / "run.yaml", directory / "run.har"


def summary(capsys, *argv: str | Path) -> tuple[int, dict]:
    code = validate_main(["--format", "json", *map(str, argv)])
    return code, json.loads(capsys.readouterr().out)["summary"]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("st-runs")
    found: dict[str, Path] = {}
    with cli_mock() as url:
        found["vcr"], found["har"] = st_run(root / "text", url)
        found["vcr-bytes"], found["har-bytes"] = st_run(root / "bytes", url, "--report-preserve-bytes")
    with cli_mock("--drift", DRIFT) as url:
        found["vcr-drifted"], found["har-drifted"] = st_run(root / "drifted", url)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vcr", "har", "vcr-bytes", "har-bytes"])
def test_a_full_schemathesis_run_against_the_mock_validates(capsys, recordings, name):
    code, result = summary(capsys, recordings[name])
    assert (code, result["violations"], result["read_errors"]) == (0, 0, 0), result["line"]
    assert result["bodies"] > 100  # the responses, and the valid requests
    assert result["rejected_requests"] > 50  # the negative phase's requests, refused with 4xx


@pytest.mark.slow
def test_the_rejections_keep_schemathesis_labels_and_strict_mode_blames_them(capsys, recordings):
    validate_main(["--format", "json", str(recordings["vcr"])])
    rejected = json.loads(capsys.readouterr().out)["rejected_requests"]
    assert all(r["answer"].startswith("4") and r["violations"] for r in rejected)
    assert any("generated as a negative case" in r["origin"] for r in rejected)
    code, strict = summary(capsys, "--strict-requests", recordings["vcr"])
    assert code == 1 and strict["rejected_requests"] == 0
    assert strict["failing"] == len(rejected)  # each invalid request is now its own failing finding


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vcr-drifted", "har-drifted"])
def test_the_same_run_against_a_drifted_mock_fails(capsys, recordings, name):
    code, result = summary(capsys, recordings[name])
    assert code == 1 and result["by_code"].get("schema-type"), result["line"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_the_suites_own_fuzz_recording_validates(capsys, tmp_path, seed):
    har = tmp_path / "fuzz.har"
    with running_mock(fast_config(api_key=KEY)) as mock:
        argv = ["--base-url", mock.base_url, "--api-key", KEY, "--max-examples", "8", "--seed", str(seed)]
        cli_main(["fuzz", *argv, "--max-jobs", "2", "--record", str(har)])
    capsys.readouterr()
    document = json.loads(har.read_text())
    uploads = [e for e in document["log"]["entries"] if "params" in e["request"].get("postData", {})]
    assert uploads and any(
        p["name"] == "json" and "value" in p for e in uploads for p in e["request"]["postData"]["params"]
    )
    code, result = summary(capsys, har)
    assert (code, result["violations"], result["read_errors"]) == (0, 0, 0), result["line"]
    assert result["rejected_requests"] > 0
