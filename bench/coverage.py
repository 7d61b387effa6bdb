"""Benchmark: what `--coverage` adds to `hume-contracts validate` of a 10 MB predictions recording.

    .venv/bin/python -m bench.coverage            # 10 MB, best of 5 runs each way
    .venv/bin/python -m bench.coverage --mb 50    # a bigger body (read item by item, as validate does)

Each run is a fresh process (`python -m contracts.cli validate FILE`), so the figures include start-up,
reading and validation, as a CI step sees them; the body is the benchmark's realistic predictions body
(``bench/inputs.py``). Target: under 10% extra time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.inputs import write_inputs


def best_of(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=10, help="size of the predictions body (10)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command; the best counts (5)")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="hume-bench-coverage-"))
    body = next(e for e in write_inputs(directory, [args.mb], frames=1) if e.valid and e.kind == "predictions")
    validate = [sys.executable, "-m", "contracts.cli", "validate", str(body.path)]
    plain = best_of(validate, args.repeat)
    with_coverage = best_of([*validate, "--coverage"], args.repeat)
    extra = 100 * (with_coverage - plain) / plain
    print(f"validate of a {body.size / 1e6:.1f} MB predictions body, best of {args.repeat}:")
    print(f"  without --coverage  {plain:.3f} s")
    print(f"  with --coverage     {with_coverage:.3f} s  ({extra:+.1f}%; target under +10%)")


if __name__ == "__main__":
    main()
