"""Property-based contract testing of a Hume-compatible server: staging, your service, or the embedded mock.

Without --base-url it starts the embedded mock on a free loopback port, tests it, and stops it.
Parts: the job lifecycle (create jobs with JSON and with generated media, poll them, read predictions and
artifacts, list them with filters), every batch operation through schemathesis (its built-in checks plus
this suite's discriminator-aware schema check and semantic rules), and Hypothesis-driven stream sessions.
With --api v1 (and by default against the embedded mock, which is fuzzed on v0 and v1 both): every v1 session
rule probed from both sides, uploads under --max-media-seconds, every v1 operation through schemathesis, and
generated realtime sessions (a Hypothesis state machine), each session judged as a whole.

Everything is bounded: examples per operation, jobs created (they cost money on a real service), a time
budget for the run, per-request timeouts, bounded retries; 429 answers are waited out and reported apart.
The API key (--api-key or env HUME_API_KEY) is redacted from everything printed or written.

Findings that rest on a judgement of this suite rather than a promise (a real recording, Hume's docs, the
official SDK) are warnings: shown and counted, failing nothing, unless --strict-judgements. A run whose parts
did not all run to their end (the time budget ran out, the target dripped or stopped answering) is INCOMPLETE:
it says which parts and why, marks them skipped in junit.xml, and exits 1 unless --allow-incomplete.

exit codes: 0 no contract failure and every part ran to its end, 1 contract failures found or the run is
INCOMPLETE, 2 usage error, unreachable target, or an API key the target refuses
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from contracts.progress import LiveProgress

if TYPE_CHECKING:
    from contracts.fuzz.ledger import Ledger

# The run's modules (schemathesis, hypothesis, the mock) are imported in ``run``, once the progress display is up:
# importing them takes seconds on a loaded machine, and a terminal shows what is happening within one.

STRICT_JUDGEMENTS_HELP = (
    "fail on findings graded a judgement of this suite (by default they are warnings: shown and counted, "
    "exit status unchanged)"
)

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text.removesuffix("/s"))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", help="server under test, e.g. https://staging.example.com (default: the mock)")
    parser.add_argument("--api-key", help="API key (default: env HUME_API_KEY); never printed or written")
    parser.add_argument("--max-examples", type=_positive_int, default=100, help="examples per operation and mode (100)")
    parser.add_argument(
        "--max-jobs", type=_positive_int, default=3, help="jobs the run may create (3): they cost money"
    )
    # A bound, not a target: the default run ends in about a minute on an idle machine and 2-2.5 minutes on a
    # loaded one; a budget that ends it earlier leaves it INCOMPLETE (exit 1).
    parser.add_argument("--time-budget", type=_positive_float, default=300.0, help="seconds for the whole run (300)")
    parser.add_argument("--rate-limit", type=_positive_float, metavar="R/s", help="at most R requests a second")
    parser.add_argument("--seed", type=int, help="make the run repeatable (the seed is always printed)")
    parser.add_argument("--only", choices=("batch", "stream"), help="test only the batch API or only the stream")
    parser.add_argument(
        "--report", type=Path, metavar="DIR", help="write junit.xml, report.json, report.md and report.html here"
    )
    parser.add_argument("--record", type=Path, metavar="CASSETTE", help="record every interaction as a HAR file")
    parser.add_argument(
        "--coverage", action="store_true", help="say which parts of the contract the run exercised (and in --report)"
    )
    parser.add_argument("--strict-judgements", action="store_true", help=STRICT_JUDGEMENTS_HELP)
    parser.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="exit 0 even when a part did not run to its end (INCOMPLETE is still printed and reported)",
    )
    parser.add_argument(
        "--api",
        choices=("v0", "v1", "all"),
        help="which API to fuzz: v0 (batch jobs + stream models), v1 (uploads, realtime sessions, runs) or all;"
        " default: v0 against --base-url (so existing CI keeps its meaning), all against the embedded mock",
    )
    parser.add_argument(
        "--max-media-seconds",
        type=_positive_float,
        default=600.0,
        metavar="S",
        help="v1: billable media seconds the run may send (600); Hume bills v1 by media seconds, at least 10 s"
        " per run with media; the report shows what was spent",
    )
    parser.add_argument(
        "--drift",
        action="append",
        default=[],
        metavar="NAME",
        help="with the embedded mock only: make it break the contract this way (tests the suite)",
    )
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no live progress display (it is shown on stderr only when stderr is a terminal)",
    )


def run(args: argparse.Namespace) -> int:
    with LiveProgress("fuzz: starting", budget_seconds=args.time_budget, quiet=args.quiet) as live:
        return _run(args, live)


def _run(args: argparse.Namespace, live: LiveProgress) -> int:
    live.update("fuzz: loading schemathesis and the contract")
    from contracts.coverage import Coverage, add_coverage, collecting
    from contracts.fuzz.redaction import is_ambiguous
    from contracts.fuzz.report import render_text, write_reports
    from contracts.fuzz.runner import FuzzOptions, TargetUnreachable, run_fuzz
    from contracts.html_report import write_beside

    api_key = args.api_key or os.environ.get("HUME_API_KEY")
    if args.base_url and not api_key:
        print("hume-contracts fuzz: --base-url needs an API key (--api-key or env HUME_API_KEY)", file=sys.stderr)
        return EXIT_USAGE
    if args.base_url and args.drift:
        print("hume-contracts fuzz: --drift applies to the embedded mock only (drop --base-url)", file=sys.stderr)
        return EXIT_USAGE
    unknown = _unknown_drifts(args.drift)
    if unknown:
        print(
            f"hume-contracts fuzz: unknown drift {', '.join(unknown)} (see `hume-contracts mock --list-drifts`)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if api_key and is_ambiguous(api_key):
        print(
            f"hume-contracts fuzz: warning: the API key is only {len(api_key)} characters; it is redacted where it"
            " is the key and as a whole word elsewhere, so a [REDACTED] in the output may stand for ordinary text",
            file=sys.stderr,
        )
    options = FuzzOptions(
        base_url=args.base_url,
        api_key=api_key,
        max_examples=args.max_examples,
        max_jobs=args.max_jobs,
        time_budget=args.time_budget,
        rate_limit=args.rate_limit,
        seed=args.seed,
        only=args.only,
        record=args.record,
        drifts=frozenset(args.drift),
        strict_judgements=args.strict_judgements,
        api=args.api or ("v0" if args.base_url else "all"),
        max_media_seconds=args.max_media_seconds,
    )
    measured = Coverage() if args.coverage else None
    try:
        with collecting(measured) if measured is not None else contextlib.nullcontext():
            result = run_fuzz(options, progress=lambda line: _progress_line(live, line))
    except TargetUnreachable as error:
        print(f"hume-contracts fuzz: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(render_text(result))
    if measured is not None:
        print(measured.render_text())
    if args.report:
        for path in write_reports(result, args.report):
            if measured is not None and path.name == "report.json":
                add_coverage(path, measured)
            print(f"wrote {path}")
        print(f"wrote {write_beside(args.report / 'report.json', 'fuzz')}")  # drawn from the JSON, coverage and all
    if args.record:
        print(f"recorded {result.recorded} interactions to {args.record} (check them with `hume-contracts validate`)")
    return exit_code(result.ledger, allow_incomplete=args.allow_incomplete)


def exit_code(ledger: Ledger, allow_incomplete: bool = False) -> int:
    """1 on a contract failure, or when a part did not run to its end (unless allowed); warnings never count."""
    if ledger.has_failures:
        return EXIT_FAILURES
    if ledger.incomplete and not allow_incomplete:
        print(
            "hume-contracts fuzz: INCOMPLETE: " + "; ".join(ledger.incomplete) + " (--allow-incomplete to accept)",
            file=sys.stderr,
        )
        return EXIT_FAILURES
    return EXIT_OK


def _unknown_drifts(names: list[str]) -> list[str]:
    if not names:
        return []
    from mockserver.drifts import all_drifts

    known = all_drifts()
    return [name for name in names if name not in known]


def _progress_line(live: LiveProgress, line: str) -> None:
    """Each progress line printed as before; on a terminal it also names the part now running."""
    print(line, flush=True)
    part = line.split(":")[0].split()[0] if line.startswith(("batch", "stream", "lifecycle")) else "fuzz"
    live.update(f"{part}: {' '.join(line.split())[:70]}")
