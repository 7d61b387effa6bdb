"""Merge the contract coverage of several runs into one map, and say what is still not covered.

Each FILE is a JSON report written with coverage: `hume-contracts validate --coverage --format json`,
the `report.json` of `hume-contracts fuzz --coverage --report DIR` or of `hume-contracts proxy --coverage
--report DIR`, or a map this command wrote (`--format json`). For example, the nightly fuzz run plus the
cassettes of the test suite:

  hume-contracts coverage nightly/report.json cassettes.json --min-coverage 60

An element counts as covered when any of the runs covered it. What one element is, and how the percentage
is computed: see the README ("Contract coverage").

exit codes: 0 merged (and at least --min-coverage), 1 under --min-coverage, 2 usage error or unreadable file
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from contracts.coverage import Coverage
from contracts.readers import DEFAULT_MAX_BYTES, parse_json, read_regular_file
from contracts.report_dir import UnwritableReport, write_report_dir
from contracts.safe_text import printable

MAX_REPORT_BYTES = DEFAULT_MAX_BYTES

EXIT_OK, EXIT_UNDER, EXIT_USAGE = 0, 1, 2
REPORT_FORMATS = ("json", "markdown", "html")  # what --report DIR writes: every format but text
PROG = "hume-contracts coverage"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="JSON reports with a coverage map")
    parser.add_argument(
        "--format",
        choices=("text", "markdown", "json", "html"),
        default="text",
        help="(default: text); html: one self-contained page, every element of every area listed",
    )
    parser.add_argument("--output", metavar="FILE", help="write the merged map or summary to FILE")
    parser.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="also write report.json, report.md and report.html in DIR (made if missing), as --format json,"
        " markdown and html would; stdout and the exit status are as without it (2 if DIR cannot be written)",
    )
    parser.add_argument("--min-coverage", type=float, metavar="PCT", help="exit 1 when the total is under PCT")


def _error(message: str) -> int:
    print(f"{PROG}: error: {printable(message)}", file=sys.stderr)
    return EXIT_USAGE


def _render(merged: Coverage, report_format: str) -> str:
    """The merged map in one format: the JSON map, the page, or the summary (text or Markdown)."""
    if report_format == "json":
        return json.dumps(merged.to_json(), indent=2, ensure_ascii=False) + "\n"
    if report_format == "html":
        from contracts.html_report import render_coverage

        return render_coverage(merged.to_json())
    return merged.render_text(markdown=report_format == "markdown") + "\n"


def _write_report_dir(directory: Path, merged: Coverage) -> bool:
    """``--report DIR``: the map as JSON, Markdown and a page; False when it could not be written, said in one line."""
    try:
        write_report_dir(directory, {name: _render(merged, name) for name in REPORT_FORMATS})
    except UnwritableReport as error:
        _error(str(error))
        return False
    return True


def run(args: argparse.Namespace) -> int:
    pct = args.min_coverage
    if pct is not None and not 0 <= pct <= 100:  # nan too: a gate that could never fail
        return _error(f"--min-coverage must be a percentage from 0 to 100, not {pct:g}")
    merged = Coverage()
    for name in args.files:
        try:
            merged.merge(Coverage.from_json(parse_json(read_regular_file(Path(name), MAX_REPORT_BYTES, "a report"))))
        except ValueError as error:  # unreadable, not JSON, or JSON without a well-formed coverage map
            return _error(f"{name}: {error}")
    rendered = _render(merged, args.format)
    # --report first: a reader of stdout that stops early (`| head`) must not cost the files
    unwritable = args.report is not None and not _write_report_dir(args.report, merged)
    if args.output:
        try:
            Path(args.output).write_text(rendered, encoding="utf-8")
        except OSError as error:
            return _error(f"cannot write {args.output}: {error.strerror or error}")
        print(f"coverage {merged.percent:.1f}% of {merged.covered()[1]} elements; written to {args.output}")
    else:
        sys.stdout.write(rendered)
    if unwritable:
        return EXIT_USAGE
    if args.min_coverage is not None and merged.percent < args.min_coverage:
        print(f"{PROG}: coverage {merged.percent:.1f}% is under --min-coverage {args.min_coverage:g}%", file=sys.stderr)
        return EXIT_UNDER
    return EXIT_OK
