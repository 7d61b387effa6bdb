"""Benchmark inputs: realistic predictions bodies (valid, and with a few faults) and stream transcripts.

Bodies come from ``strategies.responses.build_predictions_body``: face at 3 fps with 48 emotions, prosody
utterances and language words, shaped like the real recordings (``tests/data/corpus/recorded``), written
compact as the API sends them. Transcripts repeat the example session ``tests/data/stream/session.jsonl``
(client frames and the server's replies, face/prosody/language predictions); the invalid one swaps one
frame in a hundred for a broken example frame from ``tests/data/stream/invalid``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from strategies.responses import build_predictions_body

STREAM_DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "stream"
MB = 1_000_000


@dataclass(frozen=True)
class BenchInput:
    name: str  # e.g. "predictions 10 MB, invalid"
    path: Path
    kind: str  # "predictions", or "transcript" for a .jsonl stream transcript
    valid: bool
    size: int  # bytes
    frames: int = 0  # lines of a transcript


def write_inputs(directory: Path, sizes_mb: list[int], frames: int) -> list[BenchInput]:
    """Write every input into ``directory`` (deterministic, seeded) and describe them."""
    directory.mkdir(parents=True, exist_ok=True)
    inputs: list[BenchInput] = []
    for size_mb in sizes_mb:
        body = build_predictions_body(size_mb * MB, seed=size_mb)
        for valid in (True, False):
            path = directory / f"predictions_{size_mb}mb_{'valid' if valid else 'invalid'}.json"
            path.write_bytes(orjson.dumps(body if valid else with_faults(body)))
            name = f"predictions {size_mb} MB, {'valid' if valid else 'invalid'}"
            inputs.append(BenchInput(name, path, "predictions", valid, path.stat().st_size))
    for valid in (True, False):
        path = directory / f"transcript_{frames}_{'valid' if valid else 'invalid'}.jsonl"
        write_transcript(path, frames, broken_every=0 if valid else 100)
        name = f"transcript {frames:,} frames, {'valid' if valid else 'invalid'}"
        inputs.append(BenchInput(name, path, "transcript", valid, path.stat().st_size, frames))
    return inputs


def with_faults(body: list[Any]) -> list[Any]:
    """A copy of a valid body with four faults deep inside, so the full report is produced.

    A face item without its ``box`` (schema), a face ``time`` as a string (schema), a sentiment score of
    1.5 (rule probability-range) and an unknown emotion label (rule label-set).
    """
    broken = orjson.loads(orjson.dumps(body))
    models = broken[0]["results"]["predictions"][0]["models"]
    faces = models["face"]["grouped_predictions"][0]["predictions"]
    del faces[len(faces) // 2]["box"]
    faces[len(faces) // 3]["time"] = "0.32"
    words = models["language"]["grouped_predictions"][0]["predictions"]
    sentiment = [{"name": str(level), "score": 0.1} for level in range(1, 10)]
    sentiment[3]["score"] = 1.5
    words[len(words) // 2]["sentiment"] = sentiment
    utterances = models["prosody"]["grouped_predictions"][0]["predictions"]
    utterances[len(utterances) // 2]["emotions"][5]["name"] = "Zest"
    return broken


def write_transcript(path: Path, frames: int, broken_every: int = 0) -> None:
    """``frames`` lines: the example session over and over, times shifted; every n-th frame broken."""
    session = [json.loads(line) for line in (STREAM_DATA / "session.jsonl").read_text().splitlines() if line]
    broken = [
        {"direction": "sent" if p.name.startswith("sent__") else "received", "frame": json.loads(p.read_text())}
        for p in sorted((STREAM_DATA / "invalid").glob("*.json"))
    ]
    span = session[-1]["time"] + 1.0
    with path.open("wb") as handle:
        for number in range(frames):
            entry = dict(session[number % len(session)])
            entry["time"] = round(entry["time"] + span * (number // len(session)), 3)
            if broken_every and number % broken_every == broken_every // 2:
                entry = {**broken[(number // broken_every) % len(broken)], "time": entry["time"]}
            handle.write(orjson.dumps(entry) + b"\n")
