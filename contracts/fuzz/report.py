"""Reports of a fuzz run: the terminal summary, and JUnit XML, JSON and Markdown files for ``--report DIR``.

Everything here is written from the ledger, which holds redacted text only.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from contracts.fuzz import junit as fuzz_junit
from contracts.fuzz.ledger import CheckFailure, Ledger
from contracts.fuzz.runner import FuzzResult


def summary_line(result: FuzzResult) -> str:
    ledger = result.ledger
    checks = sum(ledger.passed.values()) + sum(ledger.failed.values())
    verdict = f"{len(ledger.failures)} distinct failures" if ledger.failures else "no contract failures"
    waited = f", {ledger.rate_limited_seconds:.0f} s waited on 429" if ledger.rate_limited_seconds else ""
    return (
        f"{verdict}: {checks} checks over {len(ledger.rows())} (target, check) pairs,"
        f" {result.jobs_created} jobs created, {result.seconds:.1f} s{waited}"
        f" (seed {result.seed}; rerun with --seed {result.seed})"
    )


def table(ledger: Ledger) -> str:
    rows = ledger.rows()
    if not rows:
        return "(nothing was checked)"
    width = max(len(where) for where, *_ in rows)
    check_width = max(len(check) for _, check, *_ in rows)
    lines = [f"{'operation / stream message':<{width}}  {'check':<{check_width}}  passed  failed"]
    for where, check, passed, failed in rows:
        mark = "  <--" if failed else ""
        lines.append(f"{where:<{width}}  {check:<{check_width}}  {passed:>6}  {failed:>6}{mark}")
    return "\n".join(lines)


def failure_text(index: int, failure: CheckFailure, occurrences: int) -> str:
    seen = f" (seen {occurrences} times)" if occurrences > 1 else ""
    return "\n".join(
        [
            f"{index}. [{failure.code}] {failure.where} · {failure.check}: {failure.title}{seen}",
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
        "checks": [{"where": w, "check": c, "passed": p, "failed": f} for w, c, p, f in ledger.rows()],
        "failures": [
            {**failure.__dict__, "occurrences": ledger.occurrences[key]} for key, failure in ledger.failures.items()
        ],
        "notes": ledger.notes,
    }


def as_junit(result: FuzzResult) -> ET.Element:
    return fuzz_junit.as_junit(result, failure_text)  # contracts/fuzz/junit.py: a case per check, skips named


def as_markdown(result: FuzzResult) -> str:
    ledger = result.ledger
    lines = [
        "# hume-contracts fuzz report",
        "",
        f"- target: `{result.target}`",
        f"- seed: `{result.seed}` (rerun with `--seed {result.seed}`)",
        f"- verdict: **{'PASS' if not ledger.failures else 'FAIL'}**: {summary_line(result)}",
        "",
    ]
    if ledger.failures:  # failures first: the table of passes is for reference
        lines += ["", "## Failures", ""]
        for index, (key, failure) in enumerate(ledger.failures.items(), 1):
            lines += [
                f"### {index}. `{failure.code}` {failure.where} · {failure.check}",
                "",
                f"{failure.title} (seen {ledger.occurrences[key]} times)",
                "",
                f"- expected: {failure.expected}",
                f"- found: {failure.found}",
                "",
                "```sh",
                failure.reproduce,
                "```",
                "",
            ]
    lines += ["", "## Checks", "", "| operation / stream message | check | passed | failed |", "|---|---|---:|---:|"]
    lines += [f"| `{w}` | {c} | {p} | {f} |" for w, c, p, f in ledger.rows()]
    if ledger.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in ledger.notes]
    return "\n".join(lines) + "\n"


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
