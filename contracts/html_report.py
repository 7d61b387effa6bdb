"""``report.html``: one self-contained page per run, from the same data as the JSON report.

Version-agnostic: it reads the JSON documents the commands already write (``validate``/``proxy``, ``fuzz``,
``coverage``, ``diff``), never one API version's modules. Failures come first, grouped by code, each with its
pointer, expected, found and a reproduction; then the coverage picture (one ``<details>`` per area, every
element listed); then what the run did. Inline CSS only, no external resource, no script needed to read it
(the one inline script, for the diff's filters, only hides what the grouped sections already show).

Every value is escaped with ``html.escape``; optional fields another part may add (``grade``, ``warnings``)
are read defensively, so an older or newer JSON still renders.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from contracts.report import plural

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0 auto;max-width:1100px;padding:1em 1.5em;
color:#1d1d1f;background:#fff}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.verdict{display:inline-block;padding:.15em .6em;border-radius:4px;font-weight:bold;color:#fff}
.fail{background:#c62828}.pass{background:#2e7d32}.warn{background:#a66300}
.summary{margin:.6em 0;color:#333}
.failure{border-left:4px solid #c62828;background:#fdf3f3;margin:.5em 0;padding:.4em .8em}
.warning{border-left:4px solid #a66300;background:#fff8e6;margin:.5em 0;padding:.4em .8em}
.failure dt,.warning dt{font-weight:bold;float:left;width:7em;clear:left}
.failure dd,.warning dd{margin-left:7.5em;overflow-wrap:anywhere}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
pre{background:#f4f4f4;padding:.4em .6em;white-space:pre-wrap;overflow-wrap:anywhere;margin:.2em 0}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;
vertical-align:top;overflow-wrap:anywhere}th{background:#f4f4f4}td.num{text-align:right}
details{margin:.3em 0}summary{cursor:pointer;font-weight:600}
.bar{display:inline-block;width:140px;height:.8em;background:#eee;vertical-align:middle;margin:0 .5em}
.bar span{display:block;height:100%;background:#2e7d32}
ul.elements{columns:3 18em;list-style:none;padding-left:1em}
li.covered::before{content:"\\2713  ";color:#2e7d32}li.uncovered::before{content:"\\2717  ";color:#c62828}
li.unknown::before{content:"?  ";color:#a66300}
li.uncovered{color:#8e1b1b}
.grade{font-size:.8em;border:1px solid #999;border-radius:3px;padding:0 .3em;margin-left:.4em;color:#555}
.filters label{margin-right:1em}
ol.timeline{list-style:none;padding-left:0}ol.timeline li{border-left:3px solid #2e7d32;padding:.1em .6em;margin:0}
ol.timeline li.bad{border-left-color:#c62828;background:#fdf3f3}
.at{display:inline-block;min-width:5.5em;color:#555;font-variant-numeric:tabular-nums}
"""

MAX_FAILURES_SHOWN_PER_CODE = 200  # each code's count is always given; a million identical findings stay readable


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def page(title: str, verdict: str, ok: bool, summary: str, sections: Iterable[str], script: str = "") -> str:
    """The whole document: head with inline CSS, a verdict line, then the sections in order."""
    badge = "pass" if ok else "fail"
    body = "\n".join(section for section in sections if section)
    tail = f"<script>{script}</script>" if script else ""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n"
        f"<h1>{_e(title)}</h1>\n<p><span class='verdict {badge}' id='verdict'>{_e(verdict)}</span></p>\n"
        f"<p class='summary' id='summary'>{_e(summary)}</p>\n{body}\n{tail}</body></html>\n"
    )


# ------------------------------------------------------------------------------------------ failures


def failure_item(failure: Mapping[str, Any], css: str = "failure") -> str:
    """One failure: its code, where (pointer), expected, found and how to reproduce it."""
    grade = failure.get("grade")
    grade_html = f"<span class='grade'>{_e(grade)}</span>" if grade else ""
    rows = [("where", failure.get("where")), ("check", failure.get("check")), ("pointer", failure.get("pointer"))]
    rows += [("expected", failure.get("expected")), ("found", failure.get("found"))]
    rows += [("message", failure.get("message")), ("schema", failure.get("schema_path"))]
    if failure.get("occurrences", 1) not in (None, 1):
        rows.append(("seen", f"{failure.get('occurrences')} times"))
    items = "".join(f"<dt>{_e(name)}</dt><dd><code>{_e(value)}</code></dd>" for name, value in rows if value)
    reproduce = failure.get("reproduce")
    if reproduce:
        items += f"<dt>reproduce</dt><dd><pre>{_e(reproduce)}</pre></dd>"
    title = failure.get("title") or ""
    heading = f"<code class='code'>{_e(failure.get('code'))}</code>{grade_html} {_e(title)}"
    return f"<div class='{css}'><div>{heading}</div><dl>{items}</dl></div>"


def failures_section(failures: list[Mapping[str, Any]], heading: str = "Failures", css: str = "failure") -> str:
    """Failures grouped by code, the most frequent code first; each group a section of its own."""
    if not failures:
        return f"<h2>{_e(heading)} (0)</h2><p>None.</p>" if css == "failure" else ""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for failure in failures:
        groups.setdefault(str(failure.get("code", "")), []).append(failure)
    ordered = sorted(groups.items(), key=lambda pair: (-len(pair[1]), pair[0]))
    parts = [f"<h2 id='{_e(css)}s'>{_e(heading)} (<span class='count'>{len(failures)}</span>)</h2>"]
    for code, members in ordered:
        shown = members[:MAX_FAILURES_SHOWN_PER_CODE]
        more = len(members) - len(shown)
        tail = f"<p>… and {more} more with this code (all in report.json).</p>" if more else ""
        items = "".join(failure_item(member, css) for member in shown)
        parts.append(f"<details open><summary>{_e(code)} ({len(members)})</summary>{items}{tail}</details>")
    return "\n".join(parts)


def warnings_section(document: Mapping[str, Any], judged: Iterable[Mapping[str, Any]] = ()) -> str:
    """Warnings (judgements, not promises), listed apart after failures: ``judged``, the violations a report marks
    ``"warning": true`` (validate, proxy), and the optional ``warnings`` list (fuzz)."""
    warnings = document.get("warnings")
    listed = warnings if isinstance(warnings, list) else []
    items = [*judged, *(w if isinstance(w, Mapping) else {"code": "warning", "title": w} for w in listed)]
    return failures_section(items, "Warnings", "warning")


def client_findings_section(document: Mapping[str, Any]) -> str:
    """The proxy's ``client_findings``: the client's own mistakes, listed apart, never failures."""
    section = document.get("client_findings")
    findings = section.get("findings") if isinstance(section, Mapping) else None
    if not isinstance(findings, list) or not findings:
        return ""
    items = [
        {"code": f.get("code"), "grade": f.get("grade"), "where": f.get("location"), "message": f.get("message")}
        for f in findings
        if isinstance(f, Mapping)
    ]
    return failures_section(
        items, "Client findings (the client's own mistakes, not counted against the server)", "warning"
    )


def notes_section(notes: Any) -> str:
    if not isinstance(notes, list) or not notes:
        return ""
    items = []
    for note in notes:
        if isinstance(note, Mapping):
            text = " ".join(str(note.get(key) or "") for key in ("source", "location", "message")).strip()
        else:
            text = str(note)
        items.append(f"<li>{_e(text)}</li>")
    return f"<details><summary>Notes ({len(notes)})</summary><ul>{''.join(items)}</ul></details>"


# ------------------------------------------------------------------------------------------ coverage


def coverage_section(coverage: Any) -> str:
    """Per area a bar and a ``<details>`` listing every element, covered or not; then the unknown ones."""
    if not isinstance(coverage, Mapping) or not isinstance(coverage.get("areas"), Mapping):
        return ""
    head = (
        f"<h2 id='coverage'>Contract coverage: {_e(coverage.get('covered'))}/{_e(coverage.get('total'))}"
        f" elements ({_e(coverage.get('percent'))}%)</h2>"
    )
    parts = [head]
    for area, entry in coverage["areas"].items():
        elements = entry.get("elements") if isinstance(entry, Mapping) else None
        elements = elements if isinstance(elements, Mapping) else {}
        covered = sum(1 for seen in elements.values() if seen)
        total = len(elements)
        width = round(100 * covered / total) if total else 100
        missing = [name for name, seen in elements.items() if not seen]
        present = [name for name, seen in elements.items() if seen]
        items = [f"<li class='uncovered'>{_e(name)}</li>" for name in missing]
        items += [f"<li class='covered'>{_e(name)}</li>" for name in present]
        parts.append(
            f"<details class='area'><summary>{_e(area)}<span class='bar'><span style='width:{width}%'></span></span>"
            f"{covered}/{total} covered, {len(missing)} not covered</summary>"
            f"<ul class='elements'>{''.join(items)}</ul></details>"
        )
    unknown = coverage.get("unknown")
    if isinstance(unknown, Mapping) and unknown:
        items = "".join(f"<li class='unknown'>{_e(name)} ({_e(count)})</li>" for name, count in unknown.items())
        parts.append(
            f"<details class='area'><summary>unknown to the contract ({len(unknown)})</summary>"
            f"<ul class='elements'>{items}</ul></details>"
        )
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------ validate / proxy


def validate_failures(
    document: Mapping[str, Any], reproducible: bool = True
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The violations of the ``validate`` JSON, one entry each: (those that fail, those marked a warning, which
    fail nothing), each with a command that reproduces it where its source is a file (``reproducible``; a proxy's
    findings come from live traffic, whose source names no file)."""
    failures: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for finding in document.get("findings") or []:
        source, location = finding.get("source", ""), finding.get("location", "")
        where = f"{source} {location}".strip() + f" [{finding.get('kind', '')}]"
        reproduce = f"hume-contracts validate --verbose {_shell_word(source)}" if source and reproducible else ""
        for violation in finding.get("violations") or []:
            entry = {**violation, "where": where, "reproduce": reproduce}
            (warnings if violation.get("warning") else failures).append(entry)
    return failures, warnings


def _shell_word(text: str) -> str:
    import shlex

    return shlex.quote(text)


def read_errors_section(document: Mapping[str, Any]) -> str:
    errors = document.get("read_errors") or []
    if not errors:
        return ""
    items = "".join(
        f"<li><code>{_e(e.get('source'))}</code> {_e(e.get('location') or '(whole file)')}: {_e(e.get('message'))}</li>"
        for e in errors
    )
    return f"<h2 id='read-errors'>Unreadable ({len(errors)})</h2><ul>{items}</ul>"


def files_section(document: Mapping[str, Any]) -> str:
    files = document.get("files") or []
    if not files:
        return ""
    rows = "".join(
        f"<tr><td><code>{_e(f.get('source'))}</code></td><td class='num'>{_e(f.get('bodies'))}</td>"
        f"<td class='num'>{_e(f.get('conforming'))}</td><td class='num'>{_e(f.get('failing'))}</td>"
        f"<td class='num'>{_e(f.get('read_errors'))}</td></tr>"
        for f in sorted(files, key=lambda f: (-(f.get("failing") or 0), str(f.get("source"))))
    )
    return (
        f"<details><summary>Files ({len(files)})</summary><table><tr><th>file</th><th>bodies</th><th>conform</th>"
        f"<th>failing</th><th>unreadable</th></tr>{rows}</table></details>"
    )


def render_validate(document: Mapping[str, Any], title: str = "hume-contracts validate", files: bool = True) -> str:
    """``validate``'s JSON report (and the proxy's, which has the same shape, with ``files`` False) as a page."""
    summary = document.get("summary") or {}
    failures, judged = validate_failures(document, reproducible=files)  # judged: the text's warnings
    ok = not failures and not document.get("read_errors")
    verdict = f"FAIL: {plural(len(failures), 'violation')}" if failures else ("PASS" if ok else "UNREADABLE INPUT")
    sections = [
        failures_section(failures),
        warnings_section(document, judged),
        client_findings_section(document),
        read_errors_section(document),
        coverage_section(document.get("coverage")),
        files_section(document),
        notes_section(document.get("notes")),
    ]
    return page(title, verdict, ok, str(summary.get("line", "")), sections)


# ------------------------------------------------------------------------------------------ fuzz


def fuzz_sequence_section(document: Mapping[str, Any]) -> str:
    """What the run exercised: each job's lifecycle and each stream or realtime session as a timeline (when
    the report holds them), then every (operation or step, check) with its passes and failures, lifecycle and
    stream steps in their own lists (the operations have no timeline)."""
    return timelines_section(document.get("timelines")) + "\n" + _checks_section(document)


def timelines_section(timelines: Any) -> str:
    """One ``<details>`` per job or session, open when a step of it failed."""
    items = [_timeline(item) for item in timelines or [] if isinstance(item, Mapping)]
    if not items:
        return ""
    return f"<h2 id='timelines'>Jobs and sessions ({len(items)})</h2>" + "".join(items)


def _checks_section(document: Mapping[str, Any]) -> str:
    checks = document.get("checks") or []
    groups: dict[str, list[Mapping[str, Any]]] = {"lifecycle": [], "stream": [], "operations": []}
    for check in checks:
        where = str(check.get("where", ""))
        key = "lifecycle" if where.startswith("lifecycle") else "stream" if where.startswith("stream") else "operations"
        groups[key].append(check)
    titles = {"lifecycle": "Job lifecycle", "stream": "Stream session", "operations": "Operations"}
    parts = [f"<h2 id='checks'>What ran ({len(checks)} (target, check) pairs)</h2>"]
    for key, members in groups.items():
        if not members:
            continue
        items = "".join(
            f"<li class='{'bad' if c.get('failed') else 'good'}'><code>{_e(c.get('where'))}</code>"
            f" · {_e(c.get('check'))}: {_e(c.get('passed'))} passed, {_e(c.get('failed'))} failed</li>"
            for c in members
        )
        failed = sum(1 for c in members if c.get("failed"))
        parts.append(
            f"<details{' open' if failed else ''}><summary>{titles[key]} ({len(members)} checks, {failed} failing)"
            f"</summary><ol class='timeline'>{items}</ol></details>"
        )
    return "\n".join(parts)


def _timeline(item: Mapping[str, Any]) -> str:
    steps = item.get("steps") or []
    name = _e(item.get("name", "session"))
    if not steps:
        return f"<p>{name}</p>"
    rows = "".join(
        f"<li class='{'bad' if step.get('failed') else 'good'}'>"
        f"<span class='at'>{_seconds(step.get('at'))}</span> {_e(step.get('what', step))}</li>"
        if isinstance(step, Mapping)
        else f"<li>{_e(step)}</li>"
        for step in steps
    )
    failed = item.get("failed_steps", sum(1 for step in steps if isinstance(step, Mapping) and step.get("failed")))
    count = item.get("step_count", len(steps))
    counted = plural(count, "step") + (f", {failed} failed" if failed else "") if isinstance(count, int) else ""
    return (
        f"<details{' open' if failed else ''}><summary>{name} · {_e(counted)}</summary>"
        f"<ol class='timeline'>{rows}</ol></details>"
    )


def _seconds(value: Any) -> str:
    """A step's time since the run started: ``1.23 s``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.2f} s"
    return _e(value)


def render_fuzz(document: Mapping[str, Any]) -> str:
    failures = list(document.get("failures") or [])
    ok = not failures
    summary = (
        f"target {document.get('target')}, seed {document.get('seed')} (rerun with --seed {document.get('seed')}),"
        f" {document.get('jobs_created')} jobs created, {document.get('seconds')} s"
    )
    verdict = f"FAIL: {plural(len(failures), 'distinct failure')}" if failures else "PASS"
    sections = [
        failures_section(failures),
        warnings_section(document),
        coverage_section(document.get("coverage")),
        fuzz_sequence_section(document),
        notes_section(document.get("notes")),
    ]
    return page("hume-contracts fuzz", verdict, ok, summary, sections)


# ------------------------------------------------------------------------------------------ coverage


def render_coverage(coverage: Mapping[str, Any]) -> str:
    total, covered = coverage.get("total") or 0, coverage.get("covered") or 0
    summary = f"{covered} of {total} contract elements covered ({coverage.get('percent')}%)"
    return page(
        "hume-contracts coverage", f"{coverage.get('percent')}% covered", True, summary, [coverage_section(coverage)]
    )


# ------------------------------------------------------------------------------------------ diff

AUDIENCES = ("clients", "recordings", "nobody")

_FILTER_SCRIPT = """
document.querySelectorAll('.filters input').forEach(function(box){box.addEventListener('change',function(){
var on={};document.querySelectorAll('.filters input').forEach(function(b){on[b.value]=b.checked;});
document.querySelectorAll('section.audience').forEach(function(s){s.hidden=!on[s.dataset.audience];});});});
document.querySelector('.filters').hidden=false;
"""


def render_diff(document: Mapping[str, Any]) -> str:
    """The changes grouped by whom they break (a section each: readable without script); with script,
    checkboxes hide the sections not wanted."""
    changes = list(document.get("changes") or [])
    counts = document.get("counts") or {}
    grouped: dict[str, list[Mapping[str, Any]]] = {audience: [] for audience in AUDIENCES}
    for change in changes:
        breaks = [b for b in change.get("breaks") or [] if b in grouped] or ["nobody"]
        for audience in breaks:
            grouped[audience].append(change)
    boxes = "".join(
        f"<label><input type='checkbox' value='{a}' checked> breaks {a} ({len(grouped[a])})</label>" for a in AUDIENCES
    )
    sections = [f"<p class='filters' hidden>Show: {boxes}</p>", notes_section(document.get("notes"))]
    for audience in AUDIENCES:
        rows = "".join(
            f"<tr><td><code>{_e(c.get('code'))}</code></td><td><code>{_e(c.get('where'))}</code></td>"
            f"<td>{_e(c.get('change'))}</td><td>{_e('+'.join(c.get('breaks') or []) or 'nobody')}</td></tr>"
            for c in grouped[audience]
        )
        heading = "Breaks nobody" if audience == "nobody" else f"Breaks {audience}"
        sections.append(
            f"<section class='audience' data-audience='{audience}' id='breaks-{audience}'>"
            f"<h2>{heading} ({len(grouped[audience])})</h2>"
            + (
                f"<table><tr><th>code</th><th>where</th><th>change</th><th>breaks</th></tr>{rows}</table>"
                if rows
                else "<p>None.</p>"
            )
            + "</section>"
        )
    breaking = counts.get("breaking", sum(1 for c in changes if c.get("breaks")))
    summary = (
        f"from {document.get('old')} to {document.get('new')}: {counts.get('changes', len(changes))} changes,"
        f" {breaking} breaking ({counts.get('breaks_clients', 0)} break clients,"
        f" {counts.get('breaks_recordings', 0)} break recordings)"
    )
    verdict = f"{breaking} breaking changes" if breaking else "nothing breaking"
    return page("hume-contracts diff", verdict, not breaking, summary, sections, _FILTER_SCRIPT)


# ------------------------------------------------------------------------------------------ files

RENDERERS = {"validate": render_validate, "fuzz": render_fuzz}


def write_beside(report_json: Path, kind: str) -> Path:
    """``report.html`` next to a ``report.json`` already written (and redacted), drawn from it."""
    import json

    document = json.loads(report_json.read_text(encoding="utf-8"))
    if kind == "proxy":
        rendered = render_validate(document, "hume-contracts proxy session", files=False)
    else:
        rendered = RENDERERS[kind](document)
    target = report_json.with_name("report.html")
    target.write_text(rendered, encoding="utf-8")
    return target
