"""``report.html``: failures first and grouped by code, every coverage element listed, everything escaped,
one self-contained file; drawn from the JSON reports of validate, fuzz, coverage and diff."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import openapi
from contracts.cli import main
from contracts.html_report import render_coverage, render_diff, render_fuzz, render_validate, write_beside

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "data" / "corpus"  # vendored: the shared corpus, byte for byte
HOSTILE = "<script>alert(1)</script>\"'&"

COVERAGE = {
    "percent": 50.0,
    "covered": 1,
    "total": 2,
    "areas": {"statuses": {"covered": 1, "total": 2, "elements": {"GET /a 200": True, HOSTILE: False}}},
    "unknown": {"GET /a 418": 1},
}


def external_resources(page: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=|@import|url\(""", page)


def test_validate_page_puts_failures_first_grouped_by_code_and_escapes_everything() -> None:
    document = {
        "summary": {"line": "validated 2 bodies"},
        "findings": [
            {
                "source": HOSTILE,
                "location": "entries[0]",
                "kind": "job",
                "violations": [
                    {"code": "schema-required", "pointer": "/state", "expected": "state", "found": "(missing)"},
                    {"code": "job-id-uuid", "pointer": "/job_id", "expected": "a UUID", "found": HOSTILE},
                    {"code": "schema-required", "pointer": "/x", "expected": "x", "found": "(missing)", "grade": "doc"},
                ],
            }
        ],
        "warnings": [{"code": "a-judgement", "title": "looks odd"}],
        "coverage": COVERAGE,
    }
    page = render_validate(document)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.index("schema-required (2)") < page.index("job-id-uuid (1)") < page.index("Contract coverage")
    assert "Failures (<span class='count'>3</span>)" in page
    assert "<span class='grade'>doc</span>" in page and "a-judgement" in page  # optional fields shown when there
    assert "hume-contracts validate --verbose" in page  # a reproduction
    assert "class='uncovered'>&lt;script&gt;" in page and "class='covered'>GET /a 200" in page
    assert "GET /a 418" in page  # unknown elements listed too
    assert not external_resources(page)


def test_a_proxy_page_offers_no_file_to_reproduce_from_and_counts_in_the_singular(tmp_path: Path) -> None:
    violation = {"code": "schema-required", "pointer": "/state", "expected": "state", "found": "(missing)"}
    finding = {"source": "proxy", "location": "GET /v0/batch/jobs/x (#6) response", "kind": "job"}
    (tmp_path / "report.json").write_text(json.dumps({"findings": [{**finding, "violations": [violation]}]}))
    page = write_beside(tmp_path / "report.json", "proxy").read_text()
    assert "FAIL: 1 violation<" in page and "schema-required" in page
    assert "validate --verbose" not in page  # the source is live traffic, not a file


def test_a_violation_graded_a_warning_is_listed_apart_and_fails_nothing() -> None:
    """As the text says it: a judgement of this suite is a warning (shown, counted apart), not a failure."""
    judged = {"code": "invalid-request-accepted", "grade": "judgement", "warning": True, "message": "accepted"}
    failing = {"code": "box-size", "grade": "documented", "warning": False, "message": "too big"}
    finding = {"source": "stream.jsonl", "location": "line 2", "kind": "stream-payload"}
    page = render_validate({"findings": [{**finding, "violations": [judged]}]})
    assert "id='verdict'>PASS<" in page and "Failures (0)" in page
    assert page.index("Warnings (<span class='count'>1</span>)") < page.index("invalid-request-accepted")
    page = render_validate({"findings": [{**finding, "violations": [judged, failing]}]})
    assert "FAIL: 1 violation<" in page and "Failures (<span class='count'>1</span>)" in page
    assert page.index("box-size") < page.index("Warnings (") < page.index("invalid-request-accepted")


def test_an_old_report_without_optional_fields_renders() -> None:
    assert "PASS" in render_validate({})
    assert "PASS" in render_fuzz({"checks": [{"where": "stream: x", "check": "c", "passed": 1, "failed": 0}]})
    assert "0 changes" in render_diff({})
    assert "% covered" in render_coverage({"areas": {}})


def test_fuzz_timelines_read_in_seconds_a_failing_one_open_and_the_checks_still_listed() -> None:
    good = {"name": "stream session", "steps": [{"at": 12.3456, "what": "frame (face) → predictions", "failed": False}]}
    bad = {"name": HOSTILE, "steps": [{"at": 1.2, "what": "state COMPLETED", "failed": True}], "failed_steps": 1}
    more = {"name": "… 3 more jobs and sessions (not kept)", "steps": []}
    checks = [{"where": "GET /v0/batch/jobs", "check": "c", "passed": 1, "failed": 0}]
    page = render_fuzz({"timelines": [good, bad, more], "checks": checks})
    assert "Jobs and sessions (3)" in page and "<p>… 3 more jobs and sessions (not kept)</p>" in page
    assert "<details><summary>stream session · 1 step</summary>" in page  # passing: closed
    assert "<span class='at'>12.35 s</span> frame (face) → predictions" in page
    assert "<details open><summary>&lt;script&gt;" in page and HOSTILE not in page
    assert "<li class='bad'><span class='at'>1.20 s</span> state COMPLETED</li>" in page
    assert "GET /v0/batch/jobs" in page  # the operations have no timeline: their checks are still listed


def test_diff_page_groups_changes_by_whom_they_break_and_filters_with_script() -> None:
    changes = [
        {"where": "GET /a", "change": "field removed", "code": "removed", "breaks": ["clients", "recordings"]},
        {"where": "GET /b", "change": "description", "code": "doc", "breaks": []},
    ]
    page = render_diff({"old": "a.yaml", "new": "b.yaml", "changes": changes})
    assert "Breaks clients (1)" in page and "Breaks recordings (1)" in page and "Breaks nobody (1)" in page
    assert "<p class='filters' hidden>" in page  # shown only when the script runs
    assert page.count("<script>") == 1 and not external_resources(page)


def test_each_command_writes_a_page(tmp_path: Path) -> None:
    validate_page, coverage_page, diff_page = tmp_path / "v.html", tmp_path / "c.html", tmp_path / "d.html"
    assert main(["validate", str(CORPUS), "--coverage", "--format", "html", "--output", str(validate_page)]) == 1
    assert "Contract coverage" in validate_page.read_text() and "schema-required" in validate_page.read_text()
    assert main(["validate", str(CORPUS), "--coverage", "--format", "json", "--output", str(tmp_path / "v.json")]) == 1
    document = json.loads((tmp_path / "v.json").read_text())
    elements = sum(len(area["elements"]) for area in document["coverage"]["areas"].values())
    assert main(["coverage", str(tmp_path / "v.json"), "--format", "html", "--output", str(coverage_page)]) == 0
    assert coverage_page.read_text().count("<li class='") == elements  # every element, nothing cut off
    old_document = tmp_path / "old.yaml"  # today's contract with one response field more: removing it breaks
    document = copy.deepcopy(openapi.load_repaired())
    schema = document["components"]["schemas"]["JobId"]
    schema["properties"]["extra"] = {"type": "string"}
    schema["required"] = [*schema.get("required", []), "extra"]
    old_document.write_text(json.dumps(document))
    assert main(["diff", str(old_document), str(REPO / "openapi/repaired.yaml"), "--format", "html", "--output",
                 str(diff_page)]) == 1  # fmt: skip
    assert "Breaks clients (" in diff_page.read_text() and "extra" in diff_page.read_text()
