"""JUnit XML of a fuzz run, for CI readers: one test case per (operation or step, check), a ``failure`` on each
that failed (its distinct failures in the text), and a ``skipped`` case per check the run left out, the note that
says why as the reason (the parts the time budget cut short are skipped cases of their own, one per part, as the
text's INCOMPLETE block lists them: ``contracts.fuzz.report``). Every count is that of the cases written."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from contracts.fuzz.ledger import CheckFailure, Ledger
from contracts.report import count_cases, xml_text

# Notes that say a part was not run (budget spent, a stop, a check left out), as the ledger words them.
NOT_RUN = re.compile(r"not run|skipped|not checked|not judged|stopped|were not|could not re-send", re.IGNORECASE)


def not_run_notes(ledger: Ledger) -> list[str]:
    """The notes of checks left out. Where the time budget cut parts short, its notes tell the story of those
    parts, already one skipped case each: counting them again would show a CI reader more skips than the text."""
    budget_told = bool(ledger.incomplete)
    return [note for note in ledger.notes if NOT_RUN.search(note) and not (budget_told and "time budget" in note)]


def as_junit(result, failure_text) -> ET.Element:  # noqa: ANN001 (FuzzResult, the report's failure_text)
    ledger: Ledger = result.ledger
    suites = ET.Element("testsuites", name="hume-contracts fuzz", time=f"{result.seconds:.3f}")
    by_where: dict[str, list[tuple[str, int, int]]] = {}
    for where, check, passed, failed in ledger.rows():
        by_where.setdefault(where, []).append((check, passed, failed))
    for where, checks in by_where.items():
        suite = ET.SubElement(suites, "testsuite", name=xml_text(where))
        for check, passed, failed in checks:
            case = ET.SubElement(suite, "testcase", classname=xml_text(where), name=xml_text(check))
            output = ET.SubElement(case, "system-out")
            output.text = f"{passed} passed, {failed} failed"
            found = [(key, f) for key, f in ledger.failures.items() if f.where == where and f.check == check]
            if found:
                case.append(_failure(found, ledger, failure_text))
            warned = [(k, w) for k, w in ledger.warnings.items() if w.where == where and w.check == check]
            if warned:  # JUnit has no warning: a passing case says them in its output
                texts = [failure_text(1, w, ledger.occurrences[k]) for k, w in warned]
                output.text += f", {len(warned)} warned (judgements, failing nothing):\n" + xml_text("\n".join(texts))
        count_cases(suite, suite.findall("testcase"))
    skipped = not_run_notes(ledger)
    if skipped:
        suite = ET.SubElement(suites, "testsuite", name="not run")
        for index, note in enumerate(skipped, 1):
            case = ET.SubElement(suite, "testcase", classname="not run", name=xml_text(f"{index}. {note[:80]}"))
            ET.SubElement(case, "skipped", message=xml_text(note))
        count_cases(suite, suite.findall("testcase"))
    count_cases(suites, suites.findall("testsuite/testcase"))
    return suites


def _failure(found: list[tuple[tuple[str, str, str, str], CheckFailure]], ledger: Ledger, failure_text) -> ET.Element:  # noqa: ANN001
    """One ``failure`` per case (CI readers show one): the first distinct failure's message, all in the text."""
    first = found[0][1]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    element = ET.Element("failure", message=xml_text(f"[{first.code}] {first.title}{more}"), type=xml_text(first.code))
    element.text = xml_text(
        "\n\n".join(
            failure_text(index, failure, ledger.occurrences[key]) for index, (key, failure) in enumerate(found, 1)
        )
    )
    return element
