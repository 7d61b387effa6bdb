"""Compare two versions of the contract and say whom each change breaks.

OLD and NEW are each a contract document (OpenAPI 3 for batch, AsyncAPI 2 for the stream, or the suite's label
sets, contracts/data/labels.json), or a directory holding any of them (one of each kind; documents are paired by
kind). Every change is listed with whom it breaks: clients (code reading responses and replies, or sending
requests), recordings (responses saved under OLD that NEW may reject), or nobody.

exit codes: 0 nothing breaking, 1 something breaks clients or recordings, or a part was too large or too deep
to compare (INCOMPLETE), 2 unreadable input
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="OLD", help="the older contract: a document or a directory of them")
    parser.add_argument("new", metavar="NEW", help="the newer contract: a document or a directory of them")
    parser.add_argument(
        "--format",
        choices=("text", "markdown", "json", "html"),
        default="text",
        help="report format (default: text); html: one self-contained page, the changes grouped by whom they break",
    )
    parser.add_argument("--breaking-only", action="store_true", help="list only the changes that break someone")
    parser.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
    parser.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="also write report.json, report.md and report.html in DIR (made if missing), as --format json,"
        " markdown and html would (with --breaking-only too); stdout and the exit status are as without it"
        " (2 if DIR cannot be written)",
    )


def run(args: argparse.Namespace) -> int:
    from contracts.evolution.command import run_diff

    return run_diff(args.old, args.new, args.format, args.breaking_only, args.output, args.report)
