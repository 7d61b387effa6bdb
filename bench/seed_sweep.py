"""Run the default `hume-contracts fuzz` against the clean mock for many seeds; print failures per seed.

    python bench/seed_sweep.py [--seeds 50] [--first 0] [--budget 2400] [--api all|v0|v1]

Target: 0 failures on every seed (a false alarm on the suite's own mock is a bug). Each run is what
`hume-contracts fuzz --seed N` does (the CLI's defaults, in process); the sweep stops starting new runs once
``--budget`` seconds are spent and says how many seeds it covered. A report, not a test: the seeds that once
failed are replayed by tests/test_fuzz_wire.py. ``--api`` (default ``all``, what the main job fuzzes against
the embedded mock) chooses the APIs; failures are counted per API.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from contracts.fuzz.runner import FuzzOptions, api_of_row, run_fuzz
from contracts.fuzz_command import add_arguments


def default_options(seed: int, api: str = "all") -> FuzzOptions:
    """The options `hume-contracts fuzz --seed SEED` runs with (defaults read from the CLI's own parser)."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--seed", str(seed), "--api", api])
    return FuzzOptions(
        max_examples=args.max_examples,
        max_jobs=args.max_jobs,
        time_budget=args.time_budget,
        seed=args.seed,
        api=args.api,
        max_media_seconds=args.max_media_seconds,
    )


def sweep_one(seed: int, api: str = "all") -> tuple[Counter[str], float, int]:
    """(failure codes with their counts, each prefixed by its API; seconds; checks run) of one default run."""
    started = time.monotonic()
    ledger = run_fuzz(default_options(seed, api), progress=lambda _line: None).ledger
    failures = ledger.failures.values()
    codes = Counter(f"{api_of_row(failure.where)}: {failure.code} {failure.where}" for failure in failures)
    codes.update(f"{api_of_row(w.where)}: warning {w.code} {w.where}" for w in ledger.warnings.values())  # none either
    codes.update(f"INCOMPLETE {entry}" for entry in ledger.incomplete)
    checks = sum(passed + failed for _where, _check, passed, failed in ledger.rows())
    return codes, time.monotonic() - started, checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50, help="how many seeds (50)")
    parser.add_argument("--first", type=int, default=0, help="first seed (0)")
    parser.add_argument("--budget", type=float, default=2400.0, help="seconds for the sweep (2400)")
    parser.add_argument("--api", choices=("all", "v0", "v1"), default="all", help="APIs fuzzed (all)")
    args = parser.parse_args()
    started = time.monotonic()
    swept, failing, per_api = 0, [], Counter()
    print("| seed | failures | failure codes | checks | seconds |\n|---:|---:|---|---:|---:|", flush=True)
    for seed in range(args.first, args.first + args.seeds):
        if time.monotonic() - started > args.budget:
            print(f"budget of {args.budget:.0f} s spent: stopped before seed {seed}")
            break
        codes, seconds, checks = sweep_one(seed, args.api)
        swept += 1
        per_api.update(code.split(":", 1)[0] for code in codes)
        if codes:
            failing.append(seed)
        shown = "; ".join(f"{code}" + (f" x{n}" if n > 1 else "") for code, n in sorted(codes.items())) or "-"
        print(f"| {seed} | {len(codes)} | {shown} | {checks} | {seconds:.1f} |", flush=True)
    elapsed = time.monotonic() - started
    verdict = "0 failures" if not failing else f"failures on seeds {', '.join(map(str, failing))}"
    apis = ("v0", "v1") if args.api == "all" else (args.api,)
    print(f"\n{swept} seeds swept in {elapsed:.0f} s ({args.api}): {verdict}")
    print("; ".join(f"{api}: {per_api[api]} distinct failures" for api in apis))


if __name__ == "__main__":
    main()
