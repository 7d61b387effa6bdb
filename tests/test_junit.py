"""JUnit that CI tools read: a CI system's reader (junitparser) counts the test cases, failures and skips the
text report shows, for validate, fuzz and the proxy."""

from __future__ import annotations

import re
from pathlib import Path

from junitparser import Failure, JUnitXml, Skipped

from contracts.cli import main
from contracts.fuzz.ledger import CheckFailure, Ledger
from contracts.fuzz.redaction import Redactor
from contracts.fuzz.report import render_text, write_reports
from contracts.fuzz.runner import FuzzResult
from contracts.proxy.addons import SessionResults
from contracts.readers import Note
from contracts.violations import Finding, Violation

CORPUS = Path(__file__).parent / "data" / "corpus"


def outcomes(path: Path) -> tuple[int, int, int]:
    """(test cases, failed cases, skipped cases) as junitparser reads them; the declared totals must agree."""
    xml = JUnitXml.fromfile(str(path))
    cases = [case for suite in xml for case in suite]
    failed = sum(1 for case in cases if any(isinstance(r, Failure) for r in case.result))
    skipped = sum(1 for case in cases if any(isinstance(r, Skipped) for r in case.result))
    assert (xml.tests, xml.failures, xml.skipped) == (len(cases), failed, skipped)
    return len(cases), failed, skipped


def test_validate_junit_counts_the_failing_bodies_the_text_report_shows(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    main(["validate", str(CORPUS)])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    bodies, failing = (int(n) for n in re.match(r"validated (\d+) bodies .*?, (\d+) with", line).groups())  # type: ignore[union-attr]
    main(["validate", str(CORPUS), "--format", "junit", "--output", str(tmp_path / "junit.xml")])
    cases, failed, _ = outcomes(tmp_path / "junit.xml")
    assert failed == failing > 0 and cases >= bodies


def fuzz_result() -> FuzzResult:
    ledger = Ledger()
    for _ in range(3):
        ledger.ok("GET /v0/batch/jobs", "not_a_server_error")
    ledger.ok("lifecycle: poll", "hume_response_conformance")
    for code in ("schema-required", "job-id-uuid"):
        ledger.fail(CheckFailure("lifecycle: poll", "hume_response_conformance", code, "t", "e", "f", "curl x"))
    ledger.fail(CheckFailure("stream: predictions", "label-set", "label-set", "t", "e", "f", "{}"))
    ledger.note("lifecycle: the time budget ran out; the remaining lifecycle checks were not run")
    ledger.note("rate limited (429) on GET /x: waited 3 s")
    return FuzzResult(ledger, "http://127.0.0.1:1", 7, 1.0, 1)


def test_fuzz_junit_counts_the_failing_checks_and_the_parts_not_run(tmp_path: Path) -> None:
    result = fuzz_result()
    text = render_text(result)
    write_reports(result, tmp_path)
    cases, failed, skipped = outcomes(tmp_path / "junit.xml")
    assert failed == text.count("<--") == 2  # the table's failing rows: one case per (target, check)
    assert skipped == 1 and "were not run" in text
    assert cases == len(result.ledger.rows()) + skipped
    assert text.index("Failures (3 distinct)") < text.index("operation / stream message")  # failures first
    body = (tmp_path / "junit.xml").read_text()
    assert all(code in body for code in ("schema-required", "job-id-uuid", "label-set"))


def test_an_incomplete_fuzz_junit_skips_each_part_once(tmp_path: Path) -> None:
    # As a run the time budget cut short words it: a note and an INCOMPLETE entry for the same part, which the
    # text lists once, in its INCOMPLETE block; a check left out for another reason is a skip of its own.
    result = fuzz_result()
    ledger = result.ledger
    ledger.skip("lifecycle", "cut short: the time budget ran out during it")
    ledger.note("the stream part was not run: the time budget was spent")
    ledger.skip("stream", "not run: the time budget was spent before it started")
    ledger.note("GET /v0/batch/jobs: ignored_auth could not re-send its request")
    text = render_text(result)
    write_reports(result, tmp_path)
    _, _, skipped = outcomes(tmp_path / "junit.xml")
    incomplete = text.split("INCOMPLETE: the run could not check everything it set out to check:\n")[1]
    parts = [line for line in incomplete.split("\n\n")[0].splitlines() if line.startswith("- ")]
    assert len(parts) == 2 and skipped == len(parts) + 1
    assert "could not re-send" in (tmp_path / "junit.xml").read_text()


def test_the_proxy_junit_holds_the_cases_it_claims(tmp_path: Path) -> None:
    session = SessionResults()
    for number in range(5):
        session(Finding("proxy", f"GET /v0/batch/jobs (#{number}) response", "jobs"))
    bad = Violation(code="schema-required", pointer="/state", expected="state", found="(missing)")
    session(Finding("proxy", "GET /v0/batch/jobs/x (#6) response", "job", [bad]))
    session(Note("proxy", "x", "not passed on whole: a cut stream"))
    session.write(tmp_path, Redactor(["secret-key-1234567890"]))
    cases, failed, _ = outcomes(tmp_path / "junit.xml")
    assert failed == 1 and "1 violation" in session.summary()
    assert cases == 2  # the failing body, and the 5 conforming ones of kind `jobs` as one case
    assert "5 bodies conform" in (tmp_path / "junit.xml").read_text()
