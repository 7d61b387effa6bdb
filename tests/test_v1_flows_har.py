"""A HAR of the v1 flows (every operation and six realtime sessions, tests/mock_v1_har.py) recorded from the
embedded mock: `validate` finds nothing wrong with the clean mock's, and names a drifted mock's by the drift's
own code (issue 18: the mock is faithful, and what it gets wrong a recording shows)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import API_KEY, fast_config
from mock_v1_har import record_v1_flows

from contracts.validate_command import main as validate_main
from mockserver import running_mock

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# drift -> the code validate names it by: one of a body, one of a session, one across runs' pages (each
# recording takes seconds: real-time sessions; the v1 fuzz's drift tests catch all 34)
DRIFT_CODES = {
    "v1-expressions-ascending": "v1-scores-order",
    "v1-closed-counts-wrong": "v1-session-totals",
    "v1-runs-oldest-first": "v1-runs-order",
}


def validate_flows(tmp_path: Path, capsys: pytest.CaptureFixture[str], drifts: frozenset[str]) -> tuple[int, dict]:
    with running_mock(fast_config(drifts=drifts)) as mock:
        har = record_v1_flows(mock, API_KEY)
    path = tmp_path / "flows.har"
    path.write_text(json.dumps(har))
    code = validate_main(["--format", "json", str(path)])
    return code, json.loads(capsys.readouterr().out)


def violation_codes(report: dict) -> Counter[str]:
    return Counter(v["code"] for f in report.get("findings", []) for v in f.get("violations", []))


def test_the_clean_mocks_flows_validate_with_no_violation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = validate_flows(tmp_path, capsys, frozenset())
    summary = report["summary"]
    assert (code, summary["violations"], summary["read_errors"]) == (0, 0, 0), summary["line"]
    assert summary["bodies"] > 50  # every operation's answers and the six sessions' messages were read


@pytest.mark.parametrize("drift", sorted(DRIFT_CODES))
def test_a_drifted_mocks_flows_fail_with_the_drifts_own_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], drift: str
) -> None:
    code, report = validate_flows(tmp_path, capsys, frozenset({drift}))
    assert code == 1 and DRIFT_CODES[drift] in violation_codes(report), violation_codes(report)
