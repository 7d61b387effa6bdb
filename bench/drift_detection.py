"""Fuzz the mock once per drift of its catalogue and print which checks caught it (a report, not a test).

    python bench/drift_detection.py [--max-examples N] [DRIFT ...]   # no DRIFT: the whole catalogue

The test suite asserts detection (tests/test_fuzz_drifts.py); this prints the full table of what each drift
tripped, with default-sized runs, for the README and release notes.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from contracts.fuzz.runner import FuzzOptions, run_fuzz
from mockserver.drifts import CATALOGUE


def detect(drift: str | None, max_examples: int) -> tuple[Counter[str], set[str], float]:
    started = time.monotonic()
    part = "stream" if drift and drift.startswith("stream-") else None
    # strict judgements: a drift a judgement-graded check catches (a warning by default) counts as caught
    drifts = frozenset({drift} if drift else ())
    options = FuzzOptions(max_examples=max_examples, seed=1, only=part, drifts=drifts, strict_judgements=True)
    ledger = run_fuzz(options, progress=lambda _line: None).ledger
    codes = Counter(failure.code for failure in ledger.failures.values())
    checks = {failure.check for failure in ledger.failures.values()}
    return codes, checks, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("drifts", nargs="*", metavar="DRIFT", help="only these drifts (and the clean mock)")
    args = parser.parse_args()
    unknown = sorted(set(args.drifts) - set(CATALOGUE))
    if unknown:
        parser.error(f"unknown drift(s): {', '.join(unknown)}; see hume-contracts mock --list-drifts")
    print("| drift | detected | failure codes | checks | seconds |\n|---|---|---|---|---:|")
    for drift in [None, *(args.drifts or CATALOGUE)]:
        codes, checks, seconds = detect(drift, args.max_examples)
        name = drift or "(clean mock)"
        verdict = ("no failures" if not codes else "FALSE POSITIVE") if drift is None else ("yes" if codes else "NO")
        shown = ", ".join(f"{code}" + (f" x{n}" if n > 1 else "") for code, n in sorted(codes.items()))
        caught_by = ", ".join(sorted(checks)) or "-"
        print(f"| {name} | {verdict} | {shown or '-'} | {caught_by} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
