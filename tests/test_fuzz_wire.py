"""A negative case counts only when its wire form breaks the contract (issue 8, item 2).

The judge reads a request as a server does: multipart parts as bytes, query and header values as text. The
seeds that once flagged the clean mock (a multipart `file` typed as a boolean, `json` as an object) replay
green, and a request that really is bad on the wire is still called bad.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from conftest import API_KEY
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

import openapi
from contracts.fuzz.batch import JOB_CREATION, run_batch
from contracts.fuzz.context import FuzzContext
from contracts.fuzz.ledger import Ledger
from contracts.wire import WireRequest, contract_breach, read_multipart

KEY = "wire-key"
DOCUMENT = openapi.load_repaired()
JOB = "6b0b6b4c-6a7a-4f45-9a8a-0f6a34b1a2c3"


def breach(
    method: str,
    path: str,
    template: str,
    *,
    key: str | None = KEY,
    headers: dict[str, str] | None = None,
    **kwargs: object,
) -> str | None:
    headers = {**(headers or {}), **({"X-Hume-Api-Key": key} if key is not None else {})}
    prepared = requests.Request(method, f"http://h{path}", headers=headers, **kwargs).prepare()  # type: ignore[arg-type]
    return contract_breach(DOCUMENT, template, WireRequest.of_prepared(prepared, "http://h"), api_key=KEY)


def job_upload(*parts: tuple[str, bytes, bool]) -> str | None:
    """POST /v0/batch/jobs with multipart parts (name, bytes, sent as a file with a filename)."""
    files = [(name, ("f.bin", data) if as_file else (None, data)) for name, data, as_file in parts]
    return breach("POST", "/v0/batch/jobs", "/v0/batch/jobs", files=files)


def test_multipart_parts_are_bytes_so_a_boolean_file_and_an_object_json_are_valid() -> None:
    assert job_upload(("file", b"true", False)) is None  # `file: true`, typed as a boolean
    assert job_upload(("file", b"\x89PNG", True), ("json", b"{}", False)) is None  # `json: {}`, typed as an object
    assert job_upload(("file", b"x", True), ("other", b"[1, 2]", False)) is None  # parts the contract does not name


@pytest.mark.parametrize(
    "parts",
    [
        [("json", b'{"models": {}}', False)],  # no file: `file` is required
        [("file", b"x", True), ("json", b"5", False)],  # the json part must hold an InferenceBaseRequest object
        [("file", b"x", True), ("json", b"{not json", False)],
        [("file", b"x", True), ("json", b"{}", False), ("json", b"{}", False)],  # one json part, not two
        [("file", b"x", True)] * 101,  # at most 100 files
    ],
)
def test_multipart_requests_that_break_the_contract_on_the_wire(parts: list[tuple[str, bytes, bool]]) -> None:
    assert job_upload(*parts) is not None


def test_an_unreadable_multipart_body_is_a_breach() -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=abc"}
    assert breach("POST", "/v0/batch/jobs", "/v0/batch/jobs", headers=headers, data=b"--abc\r\nno end") is not None
    assert read_multipart(b"--abc\r\nno end", "multipart/form-data") is None  # no boundary declared


@pytest.mark.parametrize(
    ("params", "valid"),
    [
        ({"limit": "5"}, True),  # an integer typed as the string "5" is the integer 5 on the wire
        ({"limit": "0"}, False),
        ({"limit": "5.0"}, False),  # not an integer's spelling
        ({"limit": "true"}, False),
        ({"limit": ["1", "2"]}, False),  # two values for one
        ({"status": ["QUEUED", "FAILED"]}, True),
        ({"status": "DONE"}, False),
        ({"timestamp_ms": str(2**63 - 1)}, True),
        ({"timestamp_ms": str(2**63)}, False),  # format int64
        ({}, True),
    ],
)
def test_query_values_are_read_as_text(params: dict[str, object], valid: bool) -> None:
    assert (breach("GET", "/v0/batch/jobs", "/v0/batch/jobs", params=params) is None) is valid


def test_path_headers_and_json_bodies() -> None:
    details = "/v0/batch/jobs/{id}"
    assert breach("GET", f"/v0/batch/jobs/{JOB}", details) is None
    assert breach("GET", "/v0/batch/jobs/5", details) is not None  # format uuid
    assert breach("GET", f"/v0/batch/jobs/{JOB}", details, key=None) is not None  # no key
    assert breach("GET", f"/v0/batch/jobs/{JOB}", details, key="other") is not None  # not the key
    jobs = "/v0/batch/jobs"
    assert breach("POST", jobs, jobs, json={"text": ["hi"]}) is None
    assert breach("POST", jobs, jobs, json=["hi"]) is not None
    assert breach("POST", jobs, jobs, data=b"x", headers={"Content-Type": "text/csv"}) is not None


@pytest.mark.parametrize("label", ["GET /v0/batch/jobs", "GET /v0/batch/jobs/{id}"])
def test_what_schemathesis_generates_as_valid_is_valid_on_the_wire(label: str) -> None:
    """The judge is not stricter than the contract: positive cases of parameter-only operations pass it."""
    config = schemathesis.Config.from_dict({"auth": {"openapi": {"api_key": {"api_key": KEY}}}})
    schema = schemathesis.openapi.from_dict(DOCUMENT, config=config)
    operation = schema.find_operation_by_label(label)

    @hypothesis.seed(1)
    @settings(
        max_examples=40, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=[*HealthCheck]
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def judged_valid(case: object) -> None:
        request = WireRequest.of_case(case, "http://h")
        assert contract_breach(DOCUMENT, operation.path, request, api_key=KEY) is None

    judged_valid()


# (seed, examples): `hume-contracts fuzz --seed 14` (100 examples), `--seed 0 --max-examples 25`, and
# `pytest --hume-contracts --hume-seed 0` / `2` (25 examples) each flagged the clean mock with ST201 here;
# seeds 20 and 30 of bench/seed_sweep.py did too (a JSON job's `"models": null`, which the mock took as absent; it
# now refuses a null the contract does not allow).
ISSUE_SEEDS = [(14, 100), (0, 25), (2, 25), (20, 100), (30, 100)]
# With today's contract these seeds generate multipart cases that are valid on the wire (which of them do depends
# a little on what ran before in the process, so the test takes several); run alone, seeds 7 and 37 flag the clean
# mock without the judgement (ST201).
WIRE_SEEDS = [37, 7, 19, 36, 20]


def fuzz_job_creation(mock_server: Any, seed: int, examples: int) -> Ledger:
    ctx = FuzzContext(
        base_url=mock_server.base_url,
        stream_url=mock_server.stream_url,
        api_key=API_KEY,
        ledger=Ledger(),
        max_examples=examples,
        seed=seed,
    )
    run_batch(ctx, only={JOB_CREATION})
    return ctx.ledger


@pytest.mark.parametrize(("seed", "examples"), ISSUE_SEEDS)
def test_the_seeds_of_issue_8_pass_the_clean_mock(mock_server: Any, seed: int, examples: int) -> None:
    ledger = fuzz_job_creation(mock_server, seed, examples)
    assert not ledger.failures, [f.title for f in ledger.failures.values()]
    assert ledger.passed[(JOB_CREATION, "negative_data_rejection")] > examples // 2


def test_seeds_with_cases_valid_on_the_wire_drop_them_and_stay_green() -> None:
    """In a fresh process: which cases a seed generates depends on what the process ran before (strategies and
    formats registered by other tests), and the seeds are the ones that generate wire-valid cases run alone."""
    script = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "import test_fuzz_wire as t\n"
        "from conftest import fast_config\n"
        "from mockserver import running_mock\n"
        "with running_mock(fast_config()) as mock_server:\n"
        "    t._judged(mock_server)\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def _judged(mock_server: Any) -> None:
    judged = {seed: fuzz_job_creation(mock_server, seed, 100) for seed in WIRE_SEEDS}
    assert all(not ledger.failures for ledger in judged.values())
    dropped = [seed for seed, ledger in judged.items() if any("valid on the wire" in n for n in ledger.notes)]
    assert dropped  # the dropped cases are counted
