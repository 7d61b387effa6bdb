"""A 10 MB v1 body validated in-process, against ``json.loads`` of the same file: ``python -m bench.v1_body``.

Builds a valid ``v1-audio-file-response`` (and a video one) of about 10 MB whose every measurement keeps every v1
rule, then times, best of ``--repeat`` runs with the file read each time: ``json.loads`` (the baseline), this
suite (``orjson`` + ``contracts.apis.v1.validate_body``: schema through the compiled fast path, then every body
rule and the name check), and ``hume-contracts validate --kind`` in-process (its reader and report). Also a
faulty copy (one score out of order in every measurement), to time the full report. Results are reported, never
asserted (``bench/V1_RESULTS.md``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

TARGET_BYTES = 10 * 2**20
AUDIO_NAMES = [
    "abhorrence",
    "admiration",
    "adoration",
    "amusement",
    "anger",
    "chuckling",
    "eagerness",
    "interest",
    "joy",
]
VOICE_NAMES = ["background music", "calm", "clear", "fast", "husky", "monotone"]


def audio_body(target: int = TARGET_BYTES) -> dict[str, Any]:
    """Utterances of 30 s measured every 3 s, each window the latest 10 s: valid under every v1 rule."""
    measurement_bytes = 730  # about, as serialized
    count = target // measurement_bytes
    utterances, measurements, at = [], [], 0
    while len(measurements) < count:
        start, end = at, at + 30_000
        utterances.append({"utterance_id": len(utterances), "audio_start_ms": start, "audio_end_ms": end})
        for window_end in range(start + 3000, end + 1, 3000):
            trigger = "speech_ended" if window_end == end else "interval"
            measurements.append(
                {
                    "measurement_id": len(measurements),
                    "utterance_id": len(utterances) - 1,
                    "audio_start_ms": max(start, window_end - 10_000),
                    "audio_end_ms": window_end,
                    "trigger": trigger,
                    "expressions": [
                        {"name": name, "probability": round(0.9 - 0.05 * i, 4)} for i, name in enumerate(AUDIO_NAMES)
                    ],
                    "voice_attributes": [
                        {"name": name, "probability": round(0.99 - 0.04 * i, 4)} for i, name in enumerate(VOICE_NAMES)
                    ],
                }
            )
        at = end + 500
    return {
        "request_id": "3f9a1c07e2b84d56a0c7e19b5d2f8a64",
        "run_id": "0f3a9c1e-2b4d-4e6f-8a0b-1c2d3e4f5a6b",
        "received": {"audio_duration_ms": at},
        "utterances": utterances,
        "measurements": measurements,
    }


def faulty(body: dict[str, Any]) -> dict[str, Any]:
    """Every measurement's first two expressions swapped: one v1-scores-order violation each (capped at 200)."""
    for measurement in body["measurements"]:
        expressions = measurement["expressions"]
        expressions[0], expressions[1] = expressions[1], expressions[0]
    return body


def best(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def measure(path: Path, kind: str, repeat: int) -> dict[str, Any]:
    from contracts.apis import v1
    from contracts.validate_command import main

    v1.validate_body(orjson.loads(path.read_bytes()[:0] or b"{}"), kind)  # compile before timing
    baseline, _ = best(lambda: json.loads(path.read_bytes()), repeat)
    suite, found = best(lambda: v1.validate_body(orjson.loads(path.read_bytes()), kind), repeat)

    def command() -> int:
        with contextlib.redirect_stdout(io.StringIO()):
            return main(["--kind", kind, str(path)])

    command_time, exit_code = best(command, repeat)
    return {
        "bytes": path.stat().st_size,
        "json.loads": baseline,
        "hume-contracts": suite,
        "validate-command": command_time,
        "violations": len(found),
        "exit": exit_code,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, body in (("valid", audio_body()), ("faulty", faulty(audio_body()))):
            path = Path(folder, f"{label}.json")
            path.write_bytes(orjson.dumps(body))
            rows.append((label, measure(path, "v1-audio-file-response", args.repeat)))
    columns = ["body", "size", "json.loads", "hume-contracts (× json.loads)", "validate --kind (× json.loads)"]
    print("| " + " | ".join([*columns, "violations", "exit"]) + " |")
    print("|---|---|---|---|---|---|---|")
    for label, row in rows:
        base = row["json.loads"]
        print(
            f"| {label} v1-audio-file-response | {row['bytes'] / 2**20:.1f} MiB | {base * 1000:.0f} ms "
            f"| {row['hume-contracts'] * 1000:.0f} ms ({row['hume-contracts'] / base:.2f}×) "
            f"| {row['validate-command'] * 1000:.0f} ms ({row['validate-command'] / base:.2f}×) "
            f"| {row['violations']} | {row['exit']} |"
        )


if __name__ == "__main__":
    main()
