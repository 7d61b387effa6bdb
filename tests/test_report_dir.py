"""`--report DIR` of validate, coverage and diff: every format the command has, under fuzz's and proxy's file
names, each what `--format X --output FILE` writes; stdout and the exit status as without it; an unwritable DIR
is one line on stderr and exit 2."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml

from contracts.cli import main

DATA = Path(__file__).parent / "data"
LEGACY = DATA / "corpus" / "legacy"  # six old bodies, each with violations
STREAM_BAD = DATA / "traffic" / "stream-bad.jsonl"  # one failing body, one conforming, one warning
STREAM_GOOD = DATA / "traffic" / "stream-good.jsonl"
OBJ = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]}


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def page_text(path: Path, element_id: str) -> str:
    """The text of the report.html element with this id (the verdict or the summary line)."""
    match = re.search(rf"id='{element_id}'>([^<]*)<", path.read_text(encoding="utf-8"))
    assert match, f"no #{element_id} in {path}"
    return html.unescape(match.group(1))


def junit_failures(path: Path) -> int:
    """Failed test cases as a CI reader (junitparser) counts them; the declared total must agree."""
    xml = JUnitXml.fromfile(str(path))
    failed = sum(1 for suite in xml for case in suite if any(isinstance(r, Failure) for r in case.result))
    assert xml.failures == failed
    return failed


def api(response: dict) -> dict:
    """A one-operation OpenAPI document answering POST /things with ``response``."""
    operation = {"responses": {"200": {"content": {"application/json": {"schema": response}}}}}
    return {"openapi": "3.1.0", "paths": {"/things": {"post": operation}}}


# ------------------------------------------------------------------------------------------- validate


@pytest.mark.parametrize("inputs", [LEGACY, STREAM_BAD], ids=["legacy", "stream-bad"])
def test_validate_report_dir_holds_what_the_text_says(capsys, tmp_path: Path, inputs: Path) -> None:
    plain = run(capsys, "validate", inputs)
    code, out, err = run(capsys, "validate", inputs, "--report", tmp_path / "out")
    assert (code, out, err) == plain and code == 1  # stdout, stderr and the exit status as without --report
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["junit.xml", "report.html", "report.json"]
    line = out.strip().splitlines()[-1]
    failing, violations = (int(n) for n in re.search(r"(\d+) with (\d+) violations", line).groups())  # type: ignore[union-attr]
    assert page_text(tmp_path / "out" / "report.html", "verdict") == f"FAIL: {violations} violations"
    assert page_text(tmp_path / "out" / "report.html", "summary") == line
    assert junit_failures(tmp_path / "out" / "junit.xml") == failing
    assert json.loads((tmp_path / "out" / "report.json").read_text())["summary"]["line"] == line


def test_validate_report_dir_files_are_what_each_format_writes(capsys, tmp_path: Path) -> None:
    written = {}
    for report_format in ("json", "junit", "html"):
        output = tmp_path / f"output.{report_format}"
        run(capsys, "validate", STREAM_BAD, "--coverage", "--format", report_format, "--output", output)
        written[report_format] = output.read_text(encoding="utf-8")
    # JUnit lists every body only when asked for (--format junit): memory stays bounded otherwise
    code, _, _ = run(capsys, "validate", STREAM_BAD, "--coverage", "--format", "junit", "--report", tmp_path / "out")
    assert code == 1
    for report_format, name in (("json", "report.json"), ("junit", "junit.xml"), ("html", "report.html")):
        assert (tmp_path / "out" / name).read_text(encoding="utf-8") == written[report_format], name
    assert "coverage" in json.loads(written["json"]) and "Contract coverage" in written["html"]


def test_validate_report_dir_of_a_passing_run(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "validate", STREAM_GOOD, "--report", tmp_path / "a" / "b")  # parents made too
    assert code == 0 and "none with violations" in out
    assert page_text(tmp_path / "a" / "b" / "report.html", "verdict") == "PASS"
    assert junit_failures(tmp_path / "a" / "b" / "junit.xml") == 0


# ------------------------------------------------------------------------------------------- coverage


@pytest.fixture
def coverage_report(capsys, tmp_path: Path) -> Path:
    """A validate report with a coverage map, for `coverage` to read."""
    path = tmp_path / "run.json"
    run(capsys, "validate", LEGACY, "--coverage", "--format", "json", "--output", path)
    return path


def test_coverage_report_dir_holds_what_the_text_says(capsys, tmp_path: Path, coverage_report: Path) -> None:
    plain = run(capsys, "coverage", coverage_report)
    code, out, err = run(capsys, "coverage", coverage_report, "--report", tmp_path / "out")
    assert (code, out, err) == plain and code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.json", "report.md"]
    seen, total = re.match(r"Contract coverage: (\d+)/(\d+) elements", out).groups()  # type: ignore[union-attr]
    summary = page_text(tmp_path / "out" / "report.html", "summary")
    assert summary.startswith(f"{seen} of {total} contract elements covered (")
    for report_format, name in (("json", "report.json"), ("markdown", "report.md")):
        expected = run(capsys, "coverage", coverage_report, "--format", report_format)[1]
        assert (tmp_path / "out" / name).read_text() == expected, name


def test_coverage_report_dir_keeps_the_min_coverage_verdict(capsys, tmp_path: Path, coverage_report: Path) -> None:
    code, _, err = run(capsys, "coverage", coverage_report, "--min-coverage", "90", "--report", tmp_path / "out")
    assert code == 1 and "under --min-coverage 90%" in err and (tmp_path / "out" / "report.html").is_file()


# ------------------------------------------------------------------------------------------- diff


@pytest.fixture
def documents(tmp_path: Path) -> tuple[Path, Path]:
    """Two versions: `a` becomes optional (breaks clients), `c` is added optional (breaks nobody)."""
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(api(OBJ)))
    new.write_text(json.dumps(api({**OBJ, "properties": {**OBJ["properties"], "c": {}}, "required": []})))
    return old, new


@pytest.mark.parametrize("options", [[], ["--breaking-only"]], ids=["all", "breaking-only"])
def test_diff_report_dir_holds_what_the_text_says(capsys, tmp_path: Path, documents, options: list[str]) -> None:
    plain = run(capsys, "diff", *documents, *options)
    code, out, err = run(capsys, "diff", *documents, *options, "--report", tmp_path / "out")
    assert (code, out, err) == plain and code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.json", "report.md"]
    changes, breaking = (int(n) for n in re.search(r"(\d+) changes, (\d+) breaking", out).groups())  # type: ignore[union-attr]
    assert (changes, breaking) == (2, 1)
    assert page_text(tmp_path / "out" / "report.html", "verdict") == f"{breaking} breaking changes"
    assert f"{changes} changes, {breaking} breaking" in page_text(tmp_path / "out" / "report.html", "summary")
    for report_format, name in (("json", "report.json"), ("markdown", "report.md")):
        expected = run(capsys, "diff", *documents, *options, "--format", report_format)[1]
        assert (tmp_path / "out" / name).read_text() == expected, name
    shown = json.loads((tmp_path / "out" / "report.json").read_text())["changes"]
    assert len(shown) == (1 if options else 2)  # --breaking-only holds for the files too


# ------------------------------------------------------------------------------------------- unwritable


def unwritable_places(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """DIRs that cannot be written (the tests run as root too: no permission bits), with the line's ending."""
    (tmp_path / "a-file").write_text("")
    taken = tmp_path / "taken"
    (taken / "report.json").mkdir(parents=True)
    return {
        "a file": (tmp_path / "a-file", f"cannot write the report to {tmp_path / 'a-file'}: not a directory"),
        "under a file": (tmp_path / "a-file" / "out", f"cannot write the report to {tmp_path / 'a-file' / 'out'}:"),
        "report.json a directory": (taken, f"cannot write {taken / 'report.json'}: Is a directory"),
    }


def commands(coverage_report: Path, documents: tuple[Path, Path]) -> dict[str, list[object]]:
    return {
        "validate": ["validate", STREAM_GOOD],  # conforms: exit 0 but for the report
        "coverage": ["coverage", coverage_report],
        "diff": ["diff", documents[0], documents[0]],  # nothing changes: exit 0 but for the report
    }


@pytest.mark.parametrize("command", ["validate", "coverage", "diff"])
@pytest.mark.parametrize("place", ["a file", "under a file", "report.json a directory"])
def test_an_unwritable_report_dir_is_one_line_and_exit_2(
    capsys, tmp_path: Path, coverage_report: Path, documents, command: str, place: str
) -> None:
    argv = commands(coverage_report, documents)[command]
    directory, message = unwritable_places(tmp_path)[place]
    plain_code, plain_out, _ = run(capsys, *argv)
    code, out, err = run(capsys, *argv, "--report", directory)
    assert plain_code == 0 and code == 2
    assert out == plain_out  # the report on stdout is still given
    assert len(err.splitlines()) == 1 and message in err and err.startswith(f"hume-contracts {command}")
