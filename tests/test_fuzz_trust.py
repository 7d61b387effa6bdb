"""What `fuzz` reports must be true of the server: judgements are warnings, a rate-limiting gateway is not
"auth ignored", an echoed value the run sent is not a new finding, a run that could not check everything says
INCOMPLETE, a refused key is a configuration error, and reproduce lines work in a shell."""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import fast_config
from recording_servers import RateLimitingGateway, UncheckedThreshold, serving_mock

from contracts.cli import main
from contracts.fuzz.batch import run_batch
from contracts.fuzz.context import FuzzContext
from contracts.fuzz.ledger import Ledger
from contracts.fuzz.stream import KEY_VARIABLE, websocat, with_query_key
from mockserver import running_mock

CLAMPING = ["--drift", "prob-threshold-clamped", "--drift", "limit-bounds-unchecked"]
QUICK = ["--max-examples", "4", "--max-jobs", "3", "--seed", "3", "--time-budget", "90"]


def test_a_rate_limiting_gateway_is_waited_out_even_by_schemathesis_auth_probes() -> None:
    """A gateway answering 429 (Retry-After) past 5 requests a second, before it looks at the key: the
    ``ignored_auth`` probes schemathesis re-sends on its own session go through the run's 429 handling too,
    so none of them reads as "Expected 401 or 403, got 429" (ST401)."""
    gateways: list[RateLimitingGateway] = []

    def gateway(app: object) -> RateLimitingGateway:
        gateways.append(RateLimitingGateway(app, per_second=5))
        return gateways[-1]

    key = fast_config().api_key
    with serving_mock(fast_config(), compress=False, wrap=gateway) as base_url:
        ledger = Ledger()
        ctx = FuzzContext(base_url, base_url.replace("http", "ws") + "/v0/stream/models", key, ledger, max_examples=5)
        ctx.time_budget = 120.0
        run_batch(ctx, only={"GET /v0/batch/jobs", "GET /v0/batch/jobs/{id}"})
    codes = {failure.code for failure in [*ledger.failures.values(), *ledger.warnings.values()]}
    assert gateways[0].refused > 0 and ledger.rate_limited_seconds > 0  # the gateway did rate-limit the run
    assert "ST401" not in codes, [f.found for f in ledger.failures.values()]
    assert not ledger.failures
    assert ledger.passed[("GET /v0/batch/jobs", "ignored_auth")] > 0


def test_a_clamping_server_is_green_with_warnings_and_red_when_judgements_are_strict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Clamping an out-of-range setting and answering limit=0 break no promise of Hume's: warnings by
    default (shown, counted, in every report), failures with --strict-judgements."""
    assert main(["fuzz", *CLAMPING, *QUICK, "--report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Warnings (" in out and "[bound-not-enforced]" in out and "[list-limit-bounds]" in out
    assert "evidence: judgement" in out and "no contract failures, 2 distinct warnings" in out
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["verdict"] == "PASS" and not document["failures"]
    assert {w["code"] for w in document["warnings"]} == {"bound-not-enforced", "list-limit-bounds"}
    assert all(w["grade"] == "judgement" for w in document["warnings"])
    assert "## Warnings" in (tmp_path / "report.md").read_text()
    junit = ET.parse(tmp_path / "junit.xml").getroot()
    assert not junit.findall(".//failure") and "warned (judgements" in ET.tostring(junit, encoding="unicode")

    assert main(["fuzz", *CLAMPING, *QUICK, "--strict-judgements"]) == 1
    out = capsys.readouterr().out
    assert "Failures (" in out and "[bound-not-enforced]" in out and "Warnings (" not in out


def test_an_echo_of_a_value_the_run_sent_out_of_bounds_is_the_finding_that_caused_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A server that takes face.prob_threshold 1.01 and echoes it: every later read of that job breaks the bound
    at request/... again; one finding (seen several times), not one per read, part and check."""
    key = fast_config().api_key
    with serving_mock(fast_config(), compress=False, wrap=UncheckedThreshold) as base_url:
        code = main(["fuzz", "--base-url", base_url, "--api-key", key, *QUICK, "--report", str(tmp_path)])
    out = capsys.readouterr().out
    document = json.loads((tmp_path / "report.json").read_text())
    findings = [*document["failures"], *document["warnings"]]
    assert [f["code"] for f in findings] == ["bound-not-enforced"], [(f["code"], f["title"]) for f in findings]
    assert findings[0]["occurrences"] > 1  # the echoes, counted on the finding that caused them
    assert code == 0 and "schema-range" not in out and "ST108" not in out


def test_a_run_that_cannot_check_everything_is_incomplete(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A budget that ends before the stream part: INCOMPLETE names the parts and why, JUnit marks them
    skipped, exit 1; --allow-incomplete accepts it (exit 0) but still says so."""
    # 100 examples an operation take far longer than 4 s on any machine: the budget surely ends the run early
    small = ["--api", "v0", "--max-examples", "100", "--max-jobs", "1", "--seed", "3", "--time-budget", "4"]
    assert main(["fuzz", *small, "--report", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "INCOMPLETE: the run could not check everything" in captured.out
    # which parts the 4 s reach depends on the machine's load; the stream part, last, never runs to its end
    assert "- stream: " in captured.out and "hume-contracts fuzz: INCOMPLETE: " in captured.err, captured.out[-2000:]
    skipped = ET.parse(tmp_path / "junit.xml").getroot().findall(".//testcase/skipped/..")
    assert {case.get("name") for case in skipped} & {"stream", "batch", "lifecycle"}
    assert json.loads((tmp_path / "report.json").read_text())["verdict"] == "INCOMPLETE"
    assert main(["fuzz", *small, "--allow-incomplete"]) == 0
    assert "INCOMPLETE" in capsys.readouterr().out


def test_a_refused_api_key_is_a_configuration_error(capsys: pytest.CaptureFixture[str]) -> None:
    with running_mock(fast_config()) as mock:
        code = main(["fuzz", "--base-url", mock.base_url, "--api-key", "not-the-key-0123456789", "--seed", "1"])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hume-contracts fuzz: the server refused the API key")
    assert "not-the-key" not in captured.err + captured.out and "Failures" not in captured.out


@pytest.mark.parametrize("key_in_query", [False, True])
def test_the_websocat_line_expands_the_key_variable(key_in_query: bool) -> None:
    url = "ws://127.0.0.1:8787/v0/stream/models"
    line = websocat(with_query_key(url, KEY_VARIABLE), None) if key_in_query else websocat(url, KEY_VARIABLE)
    words = subprocess.run(
        ["bash", "-c", f"set -- {line}; printf '%s\\n' \"$@\""],
        env={**os.environ, "HUME_API_KEY": "k3y 'with' $pecial"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    expected = (
        [f"{url}?apikey=k3y 'with' $pecial"] if key_in_query else ["-H", "X-Hume-Api-Key: k3y 'with' $pecial", url]
    )
    assert words == ["websocat", *expected]


pytest_plugins = ["pytester"]
TRAFFIC = Path(__file__).parent / "data" / "traffic"


def test_the_pytest_plugin_takes_strict_judgements(pytester: pytest.Pytester) -> None:
    """A recording whose only finding is a judgement (a frame with stream_window_ms 20 answered, not refused)
    passes as a pytest item by default and fails with --hume-strict-judgements."""
    sent, reply = (TRAFFIC / "stream-good.jsonl").read_text().splitlines()[:2]
    frame = json.loads(sent)
    frame["frame"]["stream_window_ms"] = 20
    (pytester.path / "rec.jsonl").write_text(json.dumps(frame) + "\n" + reply + "\n")
    options = ["-p", "no:xdist", "-p", "no:randomly", "--hume-recordings", "rec.jsonl"]
    pytester.runpytest_subprocess(*options).assert_outcomes(passed=1)
    strict = pytester.runpytest_subprocess(*options, "--hume-strict-judgements")
    strict.assert_outcomes(failed=1)
    assert "invalid-request-accepted" in strict.stdout.str()
