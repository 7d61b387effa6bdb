"""Benchmark: this suite's validation against reading the JSON alone, plain jsonschema and openapi-core.

    .venv/bin/python -m bench.run                 # 1, 10, 50 MB bodies and a 100,000-frame transcript
    .venv/bin/python -m bench.run --quick         # 1 and 10 MB, 20,000 frames (about a minute)

Every measurement runs in its own process (``bench/measure.py``), one after another (never two at once:
they would share the cores). Times include reading the file; ratios are against ``json.loads`` of the
same file. Memory is the growth of the process's peak resident set while validating (the warmed-up
interpreter and compiled contract excluded), also given as a multiple of the file size.

openapi-core: its dependencies pin older openapi-spec-validator and jsonschema-path than the suite uses,
so it lives apart, in ``.venv/bench-openapi-core``, put first on the path of its measurements only:
``.venv/bin/pip install --no-deps --target .venv/bench-openapi-core openapi-core==0.23.1
openapi-schema-validator==0.8.1 openapi-spec-validator==0.8.5 jsonschema-path==0.4.6 pathable==0.5.0``.
The table is printed and written to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.inputs import BenchInput, write_inputs, write_transcript

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_CORE_PATH = ROOT / ".venv" / "bench-openapi-core"
RESULTS = ROOT / "bench" / "RESULTS.md"
FAST_METHODS = ("json.loads", "orjson.loads", "hume-contracts", "hume-contracts, streamed", "validate-command")
SLOW_METHODS = ("jsonschema", "openapi-core")
TIMEOUT_S = 900


@dataclass
class Row:
    input: BenchInput
    method: str
    result: dict[str, Any]
    frames: int = 0  # frames validated (slow validators see only the first --slow-frames of a transcript)


def run_measurement(
    method: str, item: BenchInput | None, repeat: int, warmup: Path | None, limit: int | None = None
) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.measure", method]
    if item is not None:
        command += [str(item.path), item.kind, "--repeat", str(repeat)]
    if limit is not None:
        command += ["--limit", str(limit)]
    if warmup is not None:
        command += ["--warmup", str(warmup)]
    apart = method == "openapi-core" and OPENAPI_CORE_PATH.is_dir()
    paths = [str(ROOT)] + ([str(OPENAPI_CORE_PATH)] if apart else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths[::-1])}
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"over {TIMEOUT_S} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return json.loads(lines[-1])


def repeats_for(method: str, item: BenchInput) -> int:
    if method in SLOW_METHODS:
        return 1
    return 2 if item.size > 20_000_000 else 3


def measure_all(inputs: list[BenchInput], warmups: dict[str, Path], slow_frames: int, log: Any) -> list[Row]:
    rows = []
    for item in inputs:
        for method in FAST_METHODS + SLOW_METHODS:
            if method in ("openapi-core", "hume-contracts, streamed") and item.kind == "transcript":
                continue  # openapi-core has no AsyncAPI; transcripts are read line by line anyway
            limit = slow_frames if method in SLOW_METHODS and item.frames > slow_frames else None
            began = time.perf_counter()
            result = run_measurement(method, item, repeats_for(method, item), warmups[item.kind], limit)
            rows.append(Row(item, method, result, limit or item.frames))
            print(f"  {item.name:<38} {method:<17} {time.perf_counter() - began:7.1f} s", file=log, flush=True)
    return rows


# -- the table ------------------------------------------------------------------------------------------------


def _baseline_seconds(rows: list[Row], item: BenchInput) -> float | None:
    for row in rows:
        if row.input == item and row.method == "json.loads" and "seconds" in row.result:
            return row.result["seconds"]
    return None


def _growth_mb(result: dict[str, Any]) -> float:
    return max(0.0, result["peak_rss_mb"] - result["baseline_rss_mb"])


def _found(row: Row) -> str:
    if row.method in ("json.loads", "orjson.loads"):
        return "(parse only)"
    count = row.result.get("violations", 0)
    return "valid" if count == 0 else f"{count} violations" if row.method != "openapi-core" else "invalid"


def table(rows: list[Row]) -> str:
    lines = [
        "| input | method | time | × json.loads | frames/s | memory growth | × file size | verdict |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if "error" in row.result:
            dashes = "| — " * 6
            lines.append(f"| {row.input.name} | {row.method} {dashes}| not measured: {row.result['error']} |")
            continue
        seconds = row.result["seconds"]
        base = _baseline_seconds(rows, row.input)
        # A method that saw only the first frames is compared per frame.
        base = base * row.frames / row.input.frames if base and row.frames != row.input.frames else base
        ratio = f"{seconds / base:.2f}" if base else "—"
        fps = f"{row.frames / seconds:,.0f}" if row.frames else ""
        growth = _growth_mb(row.result)
        times_size = growth * 1_048_576 / row.input.size
        method = row.method if row.frames == row.input.frames else f"{row.method} (first {row.frames:,} frames)"
        lines.append(
            f"| {row.input.name} | {method} | {seconds:.3f} s | {ratio} | {fps} | {growth:.0f} MB "
            f"| {times_size:.1f} | {_found(row)} |"
        )
    return "\n".join(lines)


def _find(rows: list[Row], kind: str, valid: bool, method: str, largest: bool = False) -> Row | None:
    candidates = [r for r in rows if r.input.kind == kind and r.input.valid == valid and r.method == method]
    candidates = [r for r in candidates if "seconds" in r.result]
    if not candidates:
        return None
    if largest:
        return max(candidates, key=lambda r: r.input.size)
    return min(candidates, key=lambda r: abs(r.input.size - 10_000_000))


def targets(rows: list[Row]) -> str:
    """The issue's four targets, each with the measured figure and whether it is met."""
    lines = ["| target | measured | met |", "|---|---|---|"]

    def ratio_line(label: str, valid: bool, limit: float) -> None:
        row = _find(rows, "predictions", valid, "hume-contracts")
        base = _baseline_seconds(rows, row.input) if row else None
        if row is None or not base:
            lines.append(f"| {label} | not measured | — |")
            return
        ratio = row.result["seconds"] / base
        lines.append(f"| {label} ({row.input.name}) | {ratio:.2f}× | {'yes' if ratio <= limit else 'NO'} |")

    ratio_line("valid 10 MB body: validation (parse included) within 3× json.loads", True, 3)
    ratio_line("invalid 10 MB body: full report within 10× json.loads", False, 10)
    for valid in (True, False):
        row = _find(rows, "transcript", valid, "hume-contracts")
        if row is None:
            lines.append("| stream: ≥ 20,000 frames/s on one core | not measured | — |")
            continue
        fps = row.input.frames / row.result["seconds"]
        lines.append(
            f"| stream: ≥ 20,000 frames/s on one core ({row.input.name}) | {fps:,.0f} frames/s "
            f"| {'yes' if fps >= 20_000 else 'NO'} |"
        )
    for method in ("hume-contracts", "hume-contracts, streamed", "validate-command"):
        row = _find(rows, "predictions", True, method, largest=True)
        if row is None:
            continue
        times_size = _growth_mb(row.result) * 1_048_576 / row.input.size
        total = row.result["peak_rss_mb"] * 1_048_576 / row.input.size
        lines.append(
            f"| peak memory under 4× the file size ({row.input.name}, {method}) | growth {times_size:.1f}×, "
            f"whole process {total:.1f}× | {'yes' if times_size < 4 else 'NO'} |"
        )
    return "\n".join(lines)


def environment() -> str:
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("jsonschema", "jsonschema-rs", "orjson", "ijson")
    )
    return (
        f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs; {versions}"
    )


def write_results(rows: list[Row], startup: dict[str, Any], elapsed: float, command: str) -> str:
    start = (
        f"{startup['seconds'] * 1000:.0f} ms, peak {startup['peak_rss_mb']:.0f} MB"
        if "seconds" in startup
        else f"not measured: {startup.get('error')}"
    )
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            f"`{command}` — {time.strftime('%Y-%m-%d')}, {environment()}; the whole run took {elapsed:.0f} s.",
            "",
            "## Targets (issue 5)",
            "",
            targets(rows),
            "",
            "## All measurements",
            "",
            "Time: best of 3 runs (2 for bodies over 20 MB, 1 for plain jsonschema and openapi-core), reading",
            "the file included. Memory growth: peak resident set while validating minus the resident set of",
            "the warmed-up process, and that as a multiple of the file size. Cold start of the suite (import,",
            "compile every kind's validator):",
            f"{start}.",
            "",
            "Methods: `hume-contracts` is `orjson.loads` + `validate_body` (the whole body in memory);",
            "`hume-contracts, streamed` reads the file item by item (`contracts.incremental`);",
            "`validate-command` is `hume-contracts validate` in-process, which streams `.json` bodies of",
            "8 MiB or more and reads smaller ones whole. Plain `jsonschema` ignores the discriminators (a",
            "broken item is one `oneOf` error for the whole body); openapi-core reports one exception.",
            "",
            table(rows),
            "",
        ]
    )
    RESULTS.write_text(text, encoding="utf-8")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark validation of large bodies and stream transcripts.")
    parser.add_argument("--sizes", default="1,10,50", help="body sizes in MB, comma-separated (default 1,10,50)")
    parser.add_argument("--frames", type=int, default=100_000, help="frames of the stream transcript")
    parser.add_argument("--slow-frames", type=int, default=10_000, help="frames given to the slow validators")
    parser.add_argument("--quick", action="store_true", help="1 and 10 MB bodies, 20,000 frames")
    parser.add_argument("--work", type=Path, help="directory for the generated inputs (default: a temp dir)")
    args = parser.parse_args()
    sizes = [1, 10] if args.quick else [int(size) for size in args.sizes.split(",")]
    frames = 20_000 if args.quick else args.frames
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hume-bench-") as scratch:
        work = args.work or Path(scratch)
        print(f"writing inputs to {work} ...", file=sys.stderr)
        inputs = write_inputs(work, sizes, frames)
        warmups = {"predictions": ROOT / "tests/data/corpus/recorded/twilio-vintel_text-source_language_EXCERPT.json"}
        warmups["transcript"] = work / "warmup.jsonl"
        write_transcript(warmups["transcript"], 40)
        startup = run_measurement("startup", None, 1, None)
        rows = measure_all(inputs, warmups, args.slow_frames, sys.stderr)
    command = "python -m bench.run" + (" --quick" if args.quick else "")
    print(write_results(rows, startup, time.perf_counter() - began, command))


if __name__ == "__main__":
    main()
