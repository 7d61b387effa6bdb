"""The command-line ends of ``spec --rebase`` and ``diff``: read, run, print, exit code."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import openapi
from contracts.evolution.documents import DocumentError, Kind, check_shape, kind_of, load_document, load_openapi
from contracts.local_refs import describe_all, external_refs
from contracts.report_dir import UnwritableReport, write_report_dir

if TYPE_CHECKING:
    from contracts.evolution.diff_report import DiffReport

EXIT_USAGE = 2
# Rebase re-applies ~30 repairs, each on a copy of the document, and judges each with a validator: its work grows
# with the document. Hume's documents hold 76 to ~150 schemas; past this many the rebase is refused, named, rather
# than running for minutes (issue 15: 10,000 schemas took over 60 s).
MAX_REBASE_SCHEMAS = 2_000
REPORT_FORMATS = ("json", "markdown", "html")  # what `diff --report DIR` writes: every format but text


def run_rebase(upstream_path: str, output: str | None, report_format: str) -> int:
    from contracts.evolution.rebase import rebase

    path = Path(upstream_path)
    try:
        upstream = load_openapi(path)
    except DocumentError as error:
        print(f"hume-contracts spec --rebase: {error}", file=sys.stderr)
        return EXIT_USAGE
    schemas = (upstream.get("components") or {}).get("schemas") or {}
    if isinstance(schemas, dict) and len(schemas) > MAX_REBASE_SCHEMAS:
        print(
            f"hume-contracts spec --rebase: {path}: too large to rebase: {len(schemas)} schemas under "
            f"components/schemas (at most {MAX_REBASE_SCHEMAS}; Hume's documents hold about 150)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    report = rebase(upstream, str(path))
    if output:
        target = Path(output)
        text = json.dumps(report.document, indent=2, ensure_ascii=False) + "\n"
        try:
            target.write_text(
                text if target.suffix == ".json" else openapi.dump_yaml(report.document), encoding="utf-8"
            )
        except OSError as error:
            print(f"hume-contracts spec --rebase: cannot write {target}: {error.strerror or error}", file=sys.stderr)
            return EXIT_USAGE
    if report_format == "json":
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report.to_text())
        if output:
            print(f"wrote {output}")
    return report.exit_code


def _contract_documents(path: Path) -> dict[Kind, tuple[Path, dict]]:
    """Kind -> (file, document) of a contract file, or of each contract document in a directory."""
    if not path.is_dir():
        document = load_document(path)
        kind = kind_of(document)
        if kind is None:
            raise DocumentError(f"{path}: not an OpenAPI 3, AsyncAPI 2 or label-set document")
        check_shape(document, kind, path)
        return {kind: (path, document)}
    found: dict[Kind, tuple[Path, dict]] = {}
    for file in sorted(path.iterdir()):
        if file.suffix.lower() not in (".yaml", ".yml", ".json") or not file.is_file():
            continue
        document = load_document(file)
        kind = kind_of(document)
        if kind is None:
            continue
        check_shape(document, kind, file)
        if kind in found:
            raise DocumentError(f"{path}: two {kind} documents ({found[kind][0].name}, {file.name}); give the files")
        found[kind] = (file, document)
    if not found:
        raise DocumentError(f"{path}: no OpenAPI, AsyncAPI or label-set document in this directory")
    return found


def _external_notes(*sides: tuple[Path, dict]) -> list[str]:
    """A note per ``$ref`` that leaves its document: named, not followed (compared as "any value")."""
    return [f"{file}: {line}" for file, document in sides for line in describe_all(external_refs(document))]


def _write_report_dir(directory: Path, report: DiffReport, breaking_only: bool) -> bool:
    """``--report DIR``: the diff as JSON, Markdown and a page; False when it could not be written, said in one line."""
    try:
        write_report_dir(directory, {name: report.render(name, breaking_only) + "\n" for name in REPORT_FORMATS})
    except UnwritableReport as error:
        print(f"hume-contracts diff: {error}", file=sys.stderr)
        return False
    return True


def run_diff(
    old: str, new: str, report_format: str, breaking_only: bool, output: str | None, report_dir: Path | None = None
) -> int:
    from contracts.evolution.diff import diff_documents
    from contracts.evolution.diff_report import DiffReport

    try:
        olds, news = _contract_documents(Path(old)), _contract_documents(Path(new))
    except DocumentError as error:
        print(f"hume-contracts diff: {error}", file=sys.stderr)
        return EXIT_USAGE
    changes, notes = [], []
    for kind in ("openapi", "asyncapi", "labels"):
        if kind in olds and kind in news:
            notes.extend(_external_notes(olds[kind], news[kind]))
            changes.extend(diff_documents(kind, olds[kind][1], news[kind][1]))
        elif kind in olds or kind in news:
            side, other = ("OLD", "NEW") if kind in olds else ("NEW", "OLD")
            notes.append(f"only {side} has a {kind} document; {other} has none, so it is not compared")
    if not changes and notes and len(notes) == len(set(olds) | set(news)):
        print(f"hume-contracts diff: {old} and {new} hold no contract of the same kind", file=sys.stderr)
        return EXIT_USAGE
    report = DiffReport(old, new, changes, notes)
    text = report.render(report_format, breaking_only)
    # --report first: a reader of stdout that stops early (`| head`) must not cost the files
    unwritable = report_dir is not None and not _write_report_dir(report_dir, report, breaking_only)
    if output:
        try:
            Path(output).write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            print(f"hume-contracts diff: cannot write {output}: {error.strerror or error}", file=sys.stderr)
            return EXIT_USAGE
    else:
        print(text)
    return EXIT_USAGE if unwritable else report.exit_code
