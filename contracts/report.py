"""Results of ``hume-contracts validate`` and their three renderings: text, JSON and JUnit XML.

``Results`` collects, per input file, the findings (one per body checked), the read errors and the
notes. The exit code is 2 when anything could not be read (or nothing was checked at all), else 1 when
any violation was found, else 0: an unreadable input outranks a violation, because a run that could not
read everything cannot claim to have found everything.

JSON report (``--format json``), a stable structure (``version`` changes if it ever does)::

    {
      "tool": "hume-contracts validate", "version": 1,
      "summary": {"files": int, "bodies": int, "conforming": int, "failing": int, "violations": int,
                  "by_code": {code: count}, "warnings": int, "warnings_by_code": {code: count},
                  "strict_judgements": bool, "read_errors": int, "rejected_requests": int, "unreadable_files": int,
                  "exit_code": 0 | 1 | 2, "line": "validated ... (the text summary line)"},
      "files": [{"source", "bodies", "conforming", "failing", "violations", "by_code", "read_errors",
                 "rejected_requests"}],
      "findings": [{"source", "location", "kind",
                    "violations": [{"code", "pointer", "expected", "found", "schema_path", "message", "grade",
                                    "warning"}]}],
      "read_errors": [{"source", "location", "message"}],
      "notes": [{"source", "location", "message"}],
      "rejected_requests": [{"source", "location", "answer", "origin", "violations": [...]}]
    }

``rejected_requests``: recorded requests that break the contract and that the server refused with a 4xx
(correct rejections, not violations; ``origin`` is what the recorder said produced them).

``findings`` lists only bodies with violations or warnings; ``location`` is "" for a whole-file body.

Evidence grades (``contracts/evidence.py``): every violation carries its grade (recorded, documented, sdk,
judgement). A judgement of this suite is a **warning**: shown and counted (``warnings``, ``by_code`` leaves it
out), never failing a body or the exit code, unless ``strict_judgements`` (``--strict-judgements``) is set.

JUnit (``--format junit``): one ``testsuite`` per file, one ``testcase`` per body (with a ``failure`` when it
has violations; its warnings in ``system-out``; where conforming bodies are only counted, as in the proxy,
one per body kind), one per read error (with an ``error``); ``testsuites`` carries the ``warnings`` count.

Names and messages come from the inputs, so nothing is written as it came: the text report escapes control,
invisible and direction-changing characters (a file name with a newline or an escape sequence prints as
``a\\nb.json``, ``\\x1b[2J.json``), and every report writes the bytes of a name that is not UTF-8 as ``\\xNN``
(JSON escapes control characters itself; XML cannot hold them and gets the text report's escapes).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from contracts.evidence import grade_of, is_warning
from contracts.readers import Note, ReadError
from contracts.safe_text import encodable, printable
from contracts.violations import Finding, RejectedRequest, Violation

REPORT_VERSION = 1


@dataclass
class FileResults:
    """What was found in one input file."""

    source: str
    bodies: int = 0
    failing: int = 0
    by_code: Counter[str] = field(default_factory=Counter)  # violations that fail (warnings left out)
    warnings_by_code: Counter[str] = field(default_factory=Counter)  # judgements of ours, shown and counted
    findings: list[Finding] = field(default_factory=list)  # failing ones (and passing ones if kept)
    errors: list[ReadError] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    rejected: list[RejectedRequest] = field(default_factory=list)  # invalid requests refused with a 4xx
    passed_by_kind: Counter[str] = field(default_factory=Counter)  # conforming bodies, kept or not (JUnit)

    @property
    def violations(self) -> int:
        return sum(self.by_code.values())

    @property
    def unreadable(self) -> bool:
        """The whole file failed (not just one line or entry of it)."""
        return any(not error.location for error in self.errors)


class Results:
    """Everything one run found, grouped by file, in the order files were read.

    Passing findings are counted but kept only when ``keep_passing`` (JUnit lists every body), so a
    transcript of a million conforming frames costs a counter, not a million objects.
    """

    def __init__(self, keep_passing: bool = False, strict_judgements: bool = False) -> None:
        self.keep_passing = keep_passing
        self.strict_judgements = strict_judgements
        self.files: dict[str, FileResults] = {}

    def is_warning(self, violation: Violation) -> bool:
        """A judgement of ours: shown and counted, but it fails nothing unless strict judgements are asked for."""
        return is_warning(violation.code, violation.grade, self.strict_judgements)

    def file(self, source: str) -> FileResults:
        if source not in self.files:
            self.files[source] = FileResults(source)
        return self.files[source]

    def add(self, item: Finding | ReadError | Note | RejectedRequest) -> None:
        entry = self.file(item.source)
        if isinstance(item, ReadError):
            entry.errors.append(item)
        elif isinstance(item, Note):
            entry.notes.append(item)
        elif isinstance(item, RejectedRequest):
            entry.rejected.append(item)
        else:
            self._add_finding(entry, item)

    def _add_finding(self, entry: FileResults, finding: Finding) -> None:
        entry.bodies += 1
        failing = [violation.code for violation in finding.violations if not self.is_warning(violation)]
        if finding.ok:
            entry.passed_by_kind[finding.kind] += 1
        elif failing:
            entry.failing += 1
            entry.by_code.update(failing)
        entry.warnings_by_code.update(v.code for v in finding.violations if self.is_warning(v))
        if not finding.ok or self.keep_passing:
            entry.findings.append(finding)

    # ---- totals

    @property
    def bodies(self) -> int:
        return sum(entry.bodies for entry in self.files.values())

    @property
    def failing(self) -> int:
        return sum(entry.failing for entry in self.files.values())

    @property
    def by_code(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for entry in self.files.values():
            total.update(entry.by_code)
        return total

    @property
    def warnings_by_code(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for entry in self.files.values():
            total.update(entry.warnings_by_code)
        return total

    @property
    def errors(self) -> list[ReadError]:
        return [error for entry in self.files.values() for error in entry.errors]

    @property
    def notes(self) -> list[Note]:
        return [note for entry in self.files.values() for note in entry.notes]

    @property
    def rejected(self) -> list[RejectedRequest]:
        return [rejection for entry in self.files.values() for rejection in entry.rejected]

    @property
    def files_read(self) -> int:
        """Files that yielded at least one body or whose content could be read at all."""
        return sum(
            1
            for entry in self.files.values()
            if entry.bodies or entry.rejected or (entry.errors and not entry.unreadable)
        )

    @property
    def exit_code(self) -> int:
        if self.errors or (self.bodies == 0 and not self.rejected):
            return 2
        return 1 if self.failing else 0


# ------------------------------------------------------------------------------------------- text


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def summary_line(results: Results) -> str:
    """``validated 23 bodies in 7 files: 21 conform, 2 with 5 violations (3 schema-required, ...); ...``"""
    bodies, failing = results.bodies, results.failing
    line = f"validated {plural(bodies, 'body', 'bodies')} in {plural(results.files_read, 'file')}: "
    line += f"{bodies - failing} conform, "
    if failing:
        codes = ", ".join(f"{count} {code}" for code, count in _ranked(results.by_code))
        line += f"{failing} with {plural(sum(results.by_code.values()), 'violation')} ({codes})"
    else:
        line += "none with violations"
    return (
        line
        + _warnings_clause(results)
        + _rejected_clause(results)
        + _unreadable_clause(results)
        + _notes_clause(results)
    )


def _warnings_clause(results: Results) -> str:
    counts = results.warnings_by_code
    if not counts:
        return ""
    codes = ", ".join(f"{count} {code}" for code, count in _ranked(counts))
    return f"; {plural(sum(counts.values()), 'warning')} (judgements, failing nothing: {codes})"


def _rejected_clause(results: Results) -> str:
    count = len(results.rejected)
    if not count:
        return ""
    return f"; {plural(count, 'invalid request')} correctly rejected"


def _unreadable_clause(results: Results) -> str:
    entries = list(results.files.values())
    unreadable = sum(1 for entry in entries if entry.unreadable)
    partial = [entry for entry in entries if entry.errors and not entry.unreadable]
    clause = f"; {plural(unreadable, 'unreadable file')}" if unreadable else ""
    if partial:
        places = sum(len(entry.errors) for entry in partial)
        clause += f"; {plural(places, 'unreadable entry', 'unreadable entries')} in {plural(len(partial), 'file')}"
    if results.bodies == 0 and not results.errors and not results.rejected:
        clause += "; nothing to validate"
    return clause


def _notes_clause(results: Results) -> str:
    count = len(results.notes)
    return f"; {plural(count, 'note')} (see --verbose)" if count else ""


def _ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda pair: (-pair[1], pair[0]))


def render_text(results: Results, verbose: bool = False) -> str:
    """Violations grouped by file, then by code; then read errors; ends with the summary line."""
    blocks = [_text_file(entry, verbose, results) for entry in results.files.values()]
    blocks = [block for block in blocks if block]
    return "\n\n".join([*blocks, summary_line(results)]) + "\n"


def _text_file(entry: FileResults, verbose: bool, results: Results) -> str:
    shown = entry.failing or entry.errors or entry.warnings_by_code
    if not (shown or (verbose and (entry.bodies or entry.notes or entry.rejected))):
        return ""
    lines = [f"{printable(entry.source)}: {_file_headline(entry)}"]
    for warned, counts in ((False, entry.by_code), (True, entry.warnings_by_code)):
        for code, count in _ranked(counts):
            grade = "judgement: a warning" if warned else grade_of(code).value
            lines.append(f"  {code} ({count}) [{grade}]")
            for finding in entry.findings:
                lines += [
                    _violation_text(finding, v)
                    for v in finding.violations
                    if v.code == code and results.is_warning(v) == warned
                ]
    if entry.errors:
        lines.append(f"  unreadable ({len(entry.errors)})")
        lines += [_place_text(error) for error in entry.errors]
    if verbose and entry.rejected:
        lines.append(f"  correctly rejected ({len(entry.rejected)})")
        lines += [_rejection_text(rejection) for rejection in entry.rejected]
    if verbose and entry.notes:
        lines.append(f"  notes ({len(entry.notes)})")
        lines += [_place_text(note) for note in entry.notes]
    return "\n".join(lines)


def _place_text(place: ReadError | Note) -> str:
    return f"    {printable(place.location or '(whole file)')}: {printable(place.message)}"


def _file_headline(entry: FileResults) -> str:
    parts = []
    if entry.bodies:
        parts.append(f"{plural(entry.bodies, 'body', 'bodies')}, {entry.bodies - entry.failing} conform")
    if entry.failing:
        parts.append(f"{entry.failing} with {plural(entry.violations, 'violation')}")
    if entry.warnings_by_code:
        parts.append(plural(sum(entry.warnings_by_code.values()), "warning"))
    if entry.rejected:
        parts.append(f"{plural(len(entry.rejected), 'invalid request')} correctly rejected")
    if entry.unreadable:
        parts.append("unreadable")
    elif entry.errors:
        parts.append(plural(len(entry.errors), "unreadable entry", "unreadable entries"))
    return ", ".join(parts) or "skipped"


def _rejection_text(rejection: RejectedRequest) -> str:
    first = rejection.violations[0].describe() if rejection.violations else ""
    more = len(rejection.violations) - 1
    text = f"    {rejection.location} -> {rejection.answer}: {first}" + (f" (and {more} more)" if more > 0 else "")
    text = printable(text)
    return text + (f"\n      {printable(rejection.origin)}" if rejection.origin else "")


def _violation_text(finding: Finding, violation: Violation) -> str:
    where = f"{finding.location} [{finding.kind}]" if finding.location else f"[{finding.kind}]"
    text = f"    {printable(where)} {printable(violation.describe())}"
    if violation.grade and grade_of(violation.code, violation.grade) != grade_of(violation.code):
        text += f"  [{violation.grade}]"
    if violation.schema_path:
        text += f"\n      schema: {printable(violation.schema_path)}"
    return text


# ------------------------------------------------------------------------------------------- JSON


def render_json(results: Results) -> str:
    document = {
        "tool": "hume-contracts validate",
        "version": REPORT_VERSION,
        "summary": _json_summary(results),
        "files": [_json_file(entry) for entry in results.files.values()],
        "findings": [_json_finding(f, results) for entry in results.files.values() for f in entry.findings if not f.ok],
        "read_errors": [_json_place(error) for error in results.errors],
        "notes": [_json_place(note) for note in results.notes],
        "rejected_requests": [_json_rejection(rejection) for rejection in results.rejected],
    }
    return encodable(json.dumps(document, indent=2, ensure_ascii=False), in_json=True) + "\n"


def _json_summary(results: Results) -> dict[str, Any]:
    return {
        "files": results.files_read,
        "bodies": results.bodies,
        "conforming": results.bodies - results.failing,
        "failing": results.failing,
        "violations": sum(results.by_code.values()),
        "by_code": dict(_ranked(results.by_code)),
        "warnings": sum(results.warnings_by_code.values()),
        "warnings_by_code": dict(_ranked(results.warnings_by_code)),
        "strict_judgements": results.strict_judgements,
        "read_errors": len(results.errors),
        "rejected_requests": len(results.rejected),
        "unreadable_files": sum(1 for entry in results.files.values() if entry.unreadable),
        "exit_code": results.exit_code,
        "line": summary_line(results),
    }


def _json_file(entry: FileResults) -> dict[str, Any]:
    return {
        "source": entry.source,
        "bodies": entry.bodies,
        "conforming": entry.bodies - entry.failing,
        "failing": entry.failing,
        "violations": entry.violations,
        "by_code": dict(_ranked(entry.by_code)),
        "warnings": sum(entry.warnings_by_code.values()),
        "read_errors": len(entry.errors),
        "rejected_requests": len(entry.rejected),
    }


def _json_finding(finding: Finding, results: Results) -> dict[str, Any]:
    return {
        "source": finding.source,
        "location": finding.location,
        "kind": finding.kind,
        "violations": [{**v.to_dict(), "warning": results.is_warning(v)} for v in finding.violations],
    }


def _json_rejection(rejection: RejectedRequest) -> dict[str, Any]:
    return {
        "source": rejection.source,
        "location": rejection.location,
        "answer": rejection.answer,
        "origin": rejection.origin,
        "violations": [violation.to_dict() for violation in rejection.violations],
    }


def _json_place(place: ReadError | Note) -> dict[str, str]:
    return {"source": place.source, "location": place.location, "message": place.message}


# ------------------------------------------------------------------------------------------ JUnit

# Characters XML 1.0 forbids even when escaped; a binary file's junk must not make the report invalid.
_XML_FORBIDDEN = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    return _XML_FORBIDDEN.sub("\ufffd", encodable(text))


def render_junit(results: Results) -> str:
    """One suite per file; a test case per body kept (a failure each with violations), one per kind for the
    conforming bodies not kept, one per read error. Every count is that of the cases written, so a CI
    reader's totals are the report's."""
    suites = ET.Element("testsuites", name="hume-contracts validate")
    for entry in results.files.values():
        if entry.bodies or entry.errors or entry.rejected:
            suites.append(_junit_suite(entry, results))
    count_cases(suites, suites.findall("testsuite/testcase"))
    suites.set("warnings", str(sum(results.warnings_by_code.values())))  # judgements: counted, failing nothing
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _junit_suite(entry: FileResults, results: Results) -> ET.Element:
    source = xml_text(printable(entry.source))
    suite = ET.Element("testsuite", name=source)
    for finding in entry.findings:
        suite.append(_junit_case(entry.source, finding, results))
    if not results.keep_passing:  # conforming bodies are counted, not kept: one case per kind says how many passed
        for kind, count in sorted(entry.passed_by_kind.items()):
            ET.SubElement(
                suite,
                "testcase",
                classname=source,
                name=xml_text(f"[{kind}] {plural(count, 'body', 'bodies')} conform"),
            )
    kept_failing = sum(1 for f in entry.findings if any(not results.is_warning(v) for v in f.violations))
    left_out = entry.failing - kept_failing
    if left_out > 0:  # over the proxy's caps: counted, details not kept
        case = ET.SubElement(suite, "testcase", classname=source, name=f"{left_out} more failing bodies")
        ET.SubElement(
            case, "failure", type="contract-violation", message=f"{left_out} more failing bodies (details not kept)"
        )
    for rejection in entry.rejected:  # a passing case: the server refused what it should
        case = ET.SubElement(suite, "testcase", classname=source)
        case.set("name", xml_text(printable(f"{rejection.location} -> {rejection.answer} [correctly rejected]")))
    for error in entry.errors:
        case = ET.SubElement(suite, "testcase", classname=source)
        case.set("name", xml_text(error.location or "(read)"))
        failure = ET.SubElement(case, "error", type="read-error", message=xml_text(error.message))
        failure.text = xml_text(printable(error.describe()))
    count_cases(suite, suite.findall("testcase"))
    return suite


def _junit_case(source: str, finding: Finding, results: Results) -> ET.Element:
    name = f"{finding.location} [{finding.kind}]" if finding.location else f"[{finding.kind}]"
    case = ET.Element("testcase", classname=xml_text(printable(source)), name=xml_text(printable(name)))
    failing = [v for v in finding.violations if not results.is_warning(v)]
    warnings = [v for v in finding.violations if results.is_warning(v)]
    if failing:
        codes = Counter(violation.code for violation in failing)
        message = f"{plural(len(failing), 'violation')}: " + ", ".join(
            f"{count} {code}" for code, count in _ranked(codes)
        )
        failure = ET.SubElement(case, "failure", type="contract-violation", message=message)
        failure.text = xml_text("\n".join(f"{_violation_text(finding, v).strip()} [{_grade(v)}]" for v in failing))
    if warnings:  # JUnit has no warning: a passing case says them in its output
        lines = [f"warning [judgement]: {_violation_text(finding, v).strip()}" for v in warnings]
        ET.SubElement(case, "system-out").text = xml_text("\n".join(lines))
    return case


def count_cases(element: ET.Element, cases: list[ET.Element]) -> None:
    """``tests``, ``failures``, ``errors`` and ``skipped`` of ``element``: those of the cases it holds."""
    element.set("tests", str(len(cases)))
    for outcome, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        element.set(attribute, str(sum(1 for case in cases if case.find(outcome) is not None)))


def _grade(violation: Violation) -> str:
    return grade_of(violation.code, violation.grade).value


RENDERERS = {"text": render_text, "json": render_json, "junit": render_junit}
