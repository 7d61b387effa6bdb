"""Each kind of ``report.html`` as a person sees it: rendered by headless Chromium (Debian's ``chromium``),
with what must be on the page read back from the DOM Chromium built, and a screenshot taken.

Set HUME_CONTRACTS_SCREENSHOTS=DIR to keep the screenshots (docs/report-*.png were taken so).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import openapi
from contracts.cli import main
from contracts.fuzz.redaction import Redactor
from contracts.html_report import write_beside
from contracts.proxy.addons import SessionResults
from contracts.violations import Finding, Violation

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's `chromium` is not installed (apt-get install chromium; .ci/run does)"
)
REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "data" / "corpus"
OLD_2023 = (
    REPO.parent / "shared/hume/reference/hume-openapi-2023/fern-hume_hume-api_batch-openapi_2023-05-03_original.yaml"
)


def chromium(page: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    profile = page.parent / f"chromium-profile-{page.stem}"  # its own profile: runs in parallel do not collide
    command = [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}"]
    command += ["--window-size=1200,1600", *flags, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def seen(page: Path, name: str) -> str:
    """The DOM as Chromium built it (script run), and a screenshot, kept where asked."""
    shot = page.with_suffix(".png")
    chromium(page, f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000  # a page drawn, not a blank
    if keep := os.environ.get("HUME_CONTRACTS_SCREENSHOTS"):
        shutil.copy(shot, Path(keep) / f"report-{name}.png")
    return chromium(page, "--dump-dom").stdout


def assert_failures_first(dom: str, count: int, first_code: str) -> None:
    assert f'Failures (<span class="count">{count}</span>)' in dom
    codes = re.findall(r'<code class="code">([^<]+)</code>', dom)
    assert codes and codes[0] == first_code, codes[:3]


def assert_coverage_listed(dom: str, document: dict) -> None:
    """A covered and an uncovered element of the JSON's map are on the page, as such."""
    elements = {name: hit for area in document["coverage"]["areas"].values() for name, hit in area["elements"].items()}
    covered = next(name for name, hit in elements.items() if hit)
    uncovered = next(name for name, hit in elements.items() if not hit)
    assert f'<li class="covered">{covered}</li>' in dom.replace("&gt;", ">")
    assert f'<li class="uncovered">{uncovered}</li>' in dom.replace("&gt;", ">")


def test_fuzz_against_a_drifted_mock(tmp_path: Path) -> None:
    out = tmp_path / "fuzz"
    argv = ["fuzz", "--max-examples", "2", "--max-jobs", "1", "--time-budget", "20", "--seed", "1", "--quiet"]
    assert main([*argv, "--drift", "state-missing", "--coverage", "--report", str(out)]) == 1
    document = json.loads((out / "report.json").read_text())
    dom = seen(out / "report.html", "fuzz")
    assert_failures_first(dom, len(document["failures"]), document["failures"][0]["code"])
    assert "schema-required" in dom and "lifecycle: poll" in dom
    assert_coverage_listed(dom, document)


def test_validate_of_the_corpus_with_coverage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, page = tmp_path / "report.json", tmp_path / "report.html"
    monkeypatch.chdir(REPO)  # the page names the files as a user in the checkout gives them: relative
    corpus = str(CORPUS.relative_to(REPO))
    assert main(["validate", corpus, "--coverage", "--format", "json", "--output", str(data)]) == 1
    assert main(["validate", corpus, "--coverage", "--format", "html", "--output", str(page)]) == 1
    document = json.loads(data.read_text())
    dom = seen(page, "validate")
    violations = [v for finding in document["findings"] for v in finding["violations"]]
    first_code = max(document["summary"]["by_code"].items(), key=lambda pair: (pair[1], [-ord(c) for c in pair[0]]))[0]
    assert_failures_first(dom, len(violations), first_code)
    assert_coverage_listed(dom, document)


def test_coverage_merged(tmp_path: Path) -> None:
    data, page = tmp_path / "report.json", tmp_path / "coverage.html"
    main(["validate", str(CORPUS), "--coverage", "--format", "json", "--output", str(data)])
    assert main(["coverage", str(data), "--format", "html", "--output", str(page)]) == 0
    dom = seen(page, "coverage")
    assert_coverage_listed(dom, json.loads(data.read_text()))


def test_diff_filterable_by_whom_it_breaks(tmp_path: Path) -> None:
    old, page = OLD_2023, tmp_path / "diff.html"
    if not old.exists():  # the ground truth is not mounted: today's contract with a response field more
        old = tmp_path / "old.json"
        document = copy.deepcopy(openapi.load_repaired())
        document["components"]["schemas"]["JobId"]["properties"]["extra"] = {"type": "string"}
        document["components"]["schemas"]["JobId"]["required"].append("extra")
        old.write_text(json.dumps(document))
    assert main(["diff", str(old), str(REPO / "openapi/repaired.yaml"), "--format", "html", "--output", str(page)]) == 1
    dom = seen(page, "diff")
    assert re.search(
        r'<section class="audience" data-audience="clients" id="breaks-clients"><h2>Breaks clients \(\d+', dom
    )
    assert '<p class="filters">' in dom  # the script ran: the checkboxes are shown


def test_proxy_session(tmp_path: Path) -> None:
    session = SessionResults()
    session(Finding("proxy", "GET /v0/batch/jobs (#1) response", "jobs"))
    bad = Violation(code="job-id-uuid", pointer="/job_id", expected="a UUID", found="'x'")
    session(Finding("proxy", "GET /v0/batch/jobs/x (#2) response", "job", [bad]))
    session.write(tmp_path, Redactor(["a-secret-key-1234567890"]))
    dom = seen(write_beside(tmp_path / "report.json", "proxy"), "proxy")
    assert_failures_first(dom, 1, "job-id-uuid")
    assert "hume-contracts proxy session" in dom
