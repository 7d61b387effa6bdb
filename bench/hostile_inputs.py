"""Benchmark: ``hume-contracts validate`` on hostile inputs (issue 9), time and peak memory, reported only.

    .venv/bin/python -m bench.hostile_inputs                       # this checkout
    .venv/bin/python -m bench.hostile_inputs --tree /work/main     # another checkout (its code first on the path)
    .venv/bin/python -m bench.hostile_inputs --only string --sizes 20 40

Inputs: one JSON string of 20/40/80/200 MB (the readers must be linear in their input); YAML cassettes of
about 600 bytes with an alias bomb of 6 to 9 levels in a response's Content-Type header; a 50 MB predictions
body with one integer beyond 64 bits (read item by item, never whole). Each run is its own process, one
after another, stopped at ``--timeout``; memory is that process's peak resident set.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000

# Run in the child: validate, then report the wall time and the peak resident set of the whole process.
CHILD = """
import io, json, resource, sys, time, contextlib
from contracts import validate_command
started = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = validate_command.main(sys.argv[1:])
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"exit": code, "seconds": seconds, "peak_mb": peak, "report_bytes": len(out.getvalue())}))
"""


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    lines += [
        "http_interactions:",
        "- request: {method: GET, uri: 'https://api.hume.ai/v0/batch/jobs', headers: {}}",
        f"  response: {{status: {{code: '200'}}, headers: {{Content-Type: [*a{levels}]}}, body: {{string: '[]'}}}}",
    ]
    return "\n".join(lines) + "\n"


def write_inputs(directory: Path, only: set[str], sizes: list[int]) -> list[tuple[str, Path]]:
    inputs: list[tuple[str, Path]] = []
    if "string" in only:
        for size in sizes:
            path = directory / f"string_{size}mb.json"
            with path.open("wb") as handle:
                handle.write(b'"' + b"a" * (size * MB) + b'"')
            inputs.append((f"one string, {size} MB", path))
    if "bomb" in only:
        for levels in (6, 7, 8, 9):
            path = directory / f"bomb_{levels}.yaml"
            path.write_text(alias_bomb(levels))
            inputs.append((f"alias bomb, {levels} levels ({path.stat().st_size} bytes)", path))
    if "overflow" in only:
        import orjson

        from strategies.responses import build_predictions_body

        data = orjson.dumps(build_predictions_body(50 * MB, seed=50))
        score = re.search(rb'"score":([-0-9.eE+]+)', data)
        assert score is not None
        data = data[: score.start(1)] + b"18446744073709551617" + data[score.end(1) :]
        path = directory / "predictions_50mb_bigint.json"
        path.write_bytes(data)
        inputs.append((f"predictions {len(data) // MB} MB, one integer > 2**64", path))
    return inputs


def _inputs_written_apart(directory: Path, only: list[str], sizes: list[int]) -> list[tuple[str, Path]]:
    """``write_inputs`` in a child process: a Linux process keeps its peak memory across exec, so a parent
    that built a 50 MB body would pass its peak on to every measured child."""
    code = (
        "import json, sys; from pathlib import Path; from bench.hostile_inputs import write_inputs; "
        "print(json.dumps([(n, str(p)) for n, p in write_inputs(Path(sys.argv[1]), set(sys.argv[2].split()), "
        "[int(s) for s in sys.argv[3].split()])]))"
    )
    argv = [sys.executable, "-c", code, str(directory), " ".join(only), " ".join(map(str, sizes))]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=ROOT)
    return [(name, Path(path)) for name, path in json.loads(done.stdout)]


def measure(path: Path, tree: Path, timeout: float) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)],
            env=env,
            cwd=tree,  # "-c" puts the working directory first on the path
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"exit": "timeout", "seconds": time.perf_counter() - started, "peak_mb": None, "report_bytes": None}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"exit": f"crashed: {last[:60]}", "seconds": time.perf_counter() - started, "peak_mb": None}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout whose code is measured")
    parser.add_argument(
        "--only", nargs="+", choices=("string", "bomb", "overflow"), default=["string", "bomb", "overflow"]
    )
    parser.add_argument("--sizes", nargs="+", type=int, default=[20, 40, 80, 200], help="string sizes in MB")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    print(f"tree: {args.tree}\n")
    print("| input | exit | time | peak memory | report |\n|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as directory:
        for name, path in _inputs_written_apart(Path(directory), args.only, args.sizes):
            result = measure(path, args.tree, args.timeout)
            peak = f"{result['peak_mb']:.0f} MB" if result.get("peak_mb") else "-"
            report = f"{result['report_bytes']:,} B" if result.get("report_bytes") is not None else "-"
            print(f"| {name} | {result['exit']} | {result['seconds']:.1f} s | {peak} | {report} |", flush=True)
            path.unlink()


if __name__ == "__main__":
    main()
