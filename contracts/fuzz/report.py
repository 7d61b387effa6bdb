"""Reports of a fuzz run: the terminal summary, and JUnit XML, JSON and Markdown files for ``--report DIR``.

Everything here is written from the ledger, which holds redacted text only. Each finding shows its evidence
grade; judgement-graded findings are warnings (listed and counted apart, failing nothing unless strict
judgements were asked for). A run whose parts did not all run to their end is INCOMPLETE: the reports name
those parts and why (JUnit marks them skipped).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from contracts.fuzz import junit as fuzz_junit
from contracts.fuzz.ledger import CheckFailure, Ledger
from contracts.fuzz.runner import FuzzResult
from contracts.report import count_cases, plural


def summary_line(result: FuzzResult) -> str:
    ledger = result.ledger
    checks = sum(ledger.passed.values()) + sum(ledger.failed.values()) + sum(ledger.warned.values())
    verdict = plural(len(ledger.failures), "distinct failure") if ledger.failures else "no contract failures"
    warned = f", {len(ledger.warnings)} distinct warnings (judgements)" if ledger.warnings else ""
    waited = f", {ledger.rate_limited_seconds:.0f} s waited on 429" if ledger.rate_limited_seconds else ""
    skipped = ", ".join(_skipped_parts(ledger))
    incomplete = f"; INCOMPLETE: {skipped} did not run to the end" if skipped else ""
    return (
        f"{verdict}{warned}: {checks} checks over {len(ledger.rows())} (target, check) pairs,"
        f" {result.jobs_created} jobs created, {result.seconds:.1f} s{waited}"
        f" (seed {result.seed}; rerun with --seed {result.seed}){incomplete}"
    )


def _skipped_parts(ledger: Ledger) -> list[str]:
    return list(dict.fromkeys(entry.split(": ", 1)[0] for entry in ledger.incomplete))


def verdict(ledger: Ledger) -> str:
    """FAIL (contract failures), INCOMPLETE (parts did not run to the end), else PASS."""
    if ledger.failures:
        return "FAIL"
    return "INCOMPLETE" if ledger.incomplete else "PASS"


def incomplete_text(ledger: Ledger) -> str:
    """The INCOMPLETE block: which parts did not run to their end, and why ("" when every part did)."""
    if not ledger.incomplete:
        return ""
    lines = ["INCOMPLETE: the run could not check everything it set out to check:"]
    lines += [f"- {entry}" for entry in ledger.incomplete]
    return "\n".join(lines)


def table(ledger: Ledger) -> str:
    rows = ledger.rows()
    if not rows:
        return "(nothing was checked)"
    width = max(len(where) for where, *_ in rows)
    check_width = max(len(check) for _, check, *_ in rows)
    warned = bool(ledger.warned)  # the column is there when a warning is
    head = f"{'operation / stream message':<{width}}  {'check':<{check_width}}  passed  failed"
    lines = [head + ("  warned" if warned else "")]
    for where, check, passed, failed in rows:
        mark = "  <--" if failed else ""
        count = f"  {ledger.warned[(where, check)]:>6}" if warned else ""
        lines.append(f"{where:<{width}}  {check:<{check_width}}  {passed:>6}  {failed:>6}{count}{mark}")
    return "\n".join(lines)


def failure_text(index: int, failure: CheckFailure, occurrences: int) -> str:
    seen = f" (seen {occurrences} times)" if occurrences > 1 else ""
    return "\n".join(
        [
            f"{index}. [{failure.code}] {failure.where} · {failure.check}: {failure.title}{seen}",
            f"   evidence: {failure.evidence}",
            f"   expected: {failure.expected}",
            f"   found:    {failure.found}",
            f"   reproduce: {failure.reproduce}",
        ]
    )


def render_text(result: FuzzResult) -> str:
    ledger = result.ledger
    parts = [""]
    if ledger.failures:  # failures first, then the table of every check
        parts.append(f"Failures ({len(ledger.failures)} distinct):")
        for index, (key, failure) in enumerate(ledger.failures.items(), 1):
            parts += [failure_text(index, failure, ledger.occurrences[key]), ""]
    if ledger.warnings:
        parts.append(
            f"Warnings ({len(ledger.warnings)} distinct: judgements of this suite, failing nothing;"
            " --strict-judgements makes them failures):"
        )
        for index, (key, failure) in enumerate(ledger.warnings.items(), 1):
            parts += [failure_text(index, failure, ledger.occurrences[key]), ""]
    if ledger.incomplete:
        parts += [incomplete_text(ledger), ""]
    parts += [table(ledger), ""]
    if ledger.notes:
        parts.append("Notes:")
        parts += [f"- {note}" for note in ledger.notes]
        parts.append("")
    parts.append(summary_line(result))
    return "\n".join(parts)


def as_dict(result: FuzzResult) -> dict[str, Any]:
    ledger = result.ledger
    return {
        "tool": "hume-contracts fuzz",
        "version": 1,
        "target": result.target,
        "seed": result.seed,
        "seconds": round(result.seconds, 3),
        "jobs_created": result.jobs_created,
        "rate_limited_seconds": ledger.rate_limited_seconds,
        "ok": not ledger.failures,
        "verdict": verdict(ledger),
        "strict_judgements": ledger.strict_judgements,
        "incomplete": ledger.incomplete,
        "checks": [
            {"where": w, "check": c, "passed": p, "failed": f, "warned": ledger.warned[(w, c)]}
            for w, c, p, f in ledger.rows()
        ],
        "failures": [_finding_dict(ledger, key, failure) for key, failure in ledger.failures.items()],
        "warnings": [_finding_dict(ledger, key, failure) for key, failure in ledger.warnings.items()],
        "notes": ledger.notes,
        "timelines": ledger.timelines.as_list(),  # each job and session step by step (contracts/fuzz/timelines.py)
    }


def _finding_dict(ledger: Ledger, key: tuple[str, str, str, str], failure: CheckFailure) -> dict[str, Any]:
    return {**failure.__dict__, "grade": failure.evidence, "occurrences": ledger.occurrences[key]}


def as_junit(result: FuzzResult) -> ET.Element:
    suites = fuzz_junit.as_junit(result, failure_text)  # contracts/fuzz/junit.py: a case per check, skips named
    _junit_skipped_parts(suites, result.ledger)
    count_cases(suites, suites.findall("testsuite/testcase"))  # the INCOMPLETE parts' cases counted too
    return suites


def _junit_skipped_parts(suites: ET.Element, ledger: Ledger) -> None:
    """Each part that did not run to its end: a skipped case saying why (the run is INCOMPLETE)."""
    if not ledger.incomplete:
        return
    suite = ET.SubElement(
        suites, "testsuite", name="incomplete", tests=str(len(ledger.incomplete)), skipped=str(len(ledger.incomplete))
    )
    for entry in ledger.incomplete:
        part, reason = entry.split(": ", 1)
        case = ET.SubElement(suite, "testcase", classname="parts", name=part)
        ET.SubElement(case, "skipped", message=reason)


def as_markdown(result: FuzzResult) -> str:
    ledger = result.ledger
    lines = [
        "# hume-contracts fuzz report",
        "",
        f"- target: `{result.target}`",
        f"- seed: `{result.seed}` (rerun with `--seed {result.seed}`)",
        f"- verdict: **{verdict(ledger)}**: {summary_line(result)}",
        "",
    ]
    for title, findings in (
        ("Failures", ledger.failures),
        ("Warnings (judgements of this suite: they fail nothing unless --strict-judgements)", ledger.warnings),
    ):
        if findings:
            lines += ["", f"## {title}", ""]
            for index, (key, failure) in enumerate(findings.items(), 1):
                lines += _markdown_finding(index, failure, ledger.occurrences[key])
    if ledger.incomplete:
        lines += ["", "## INCOMPLETE", "", "These parts did not run to their end:", ""]
        lines += [f"- {entry}" for entry in ledger.incomplete]
    lines += ["", "## Checks", "", "| operation / stream message | check | passed | failed |", "|---|---|---:|---:|"]
    lines += [f"| `{w}` | {c} | {p} | {f} |" for w, c, p, f in ledger.rows()]
    timelines = ledger.timelines.as_list()
    if timelines:
        lines += ["", "## Jobs and sessions", "", "Each step by step in report.json and report.html.", ""]
        lines += [_markdown_timeline(timeline) for timeline in timelines]
    if ledger.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in ledger.notes]
    return "\n".join(lines) + "\n"


def _markdown_timeline(timeline: dict[str, Any]) -> str:
    failed = timeline["failed_steps"]
    return f"- {timeline['name']}: {plural(timeline['step_count'], 'step')}" + (f", {failed} failed" if failed else "")


def _markdown_finding(index: int, failure: CheckFailure, occurrences: int) -> list[str]:
    return [
        f"### {index}. `{failure.code}` {failure.where} · {failure.check}",
        "",
        f"{failure.title} (seen {occurrences} times; evidence: {failure.evidence})",
        "",
        f"- expected: {failure.expected}",
        f"- found: {failure.found}",
        "",
        "```sh",
        failure.reproduce,
        "```",
        "",
    ]


def write_reports(result: FuzzResult, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = {
        directory / "junit.xml": ET.tostring(as_junit(result), encoding="unicode", xml_declaration=True),
        directory / "report.json": json.dumps(as_dict(result), indent=2, ensure_ascii=False),
        directory / "report.md": as_markdown(result),
    }
    for path, text in written.items():
        path.write_text(text, encoding="utf-8")
    return list(written)
