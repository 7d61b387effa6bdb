"""Concurrent v1 realtime audio sessions at real time against the mock: added latency per measurement, CPU, memory.

``python bench/mock_v1_realtime.py [--sessions 8] [--seconds 30]`` starts ``python -m mockserver`` in its own
process and opens ``--sessions`` audio sessions at once, each streaming ``--seconds`` of speech-like audio (4 s
of tone, 1 s of silence, repeated) in 100 ms frames at real-time pace. A measurement's added latency is the time
from sending the frame that makes it due to receiving its ``measurement.result``: for ``interval`` the frame
that completes its window (``audio_end_ms``), for ``speech_ended`` the frame 500 ms of silence later (the
mock's documented end-of-speech rule); "on time" is under 0.5 s. Prints one JSON line: measurements,
p50/p99/max latency, rate_limited count, the mock's CPU seconds and share of one core, and its peak resident
memory (Linux ``VmHWM``). Reported, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from mockserver.v1.protocol import HANGOVER_MS

KEY = "bench-key"
FRAME_MS = 100
RATE = 16_000
ON_TIME_S = 0.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def speech(seconds: int) -> bytes:
    """4 s of a 220 Hz tone at 30 % of full scale, then 1 s of silence, repeated (s16le, 16 kHz)."""
    out = bytearray()
    one = [int(0.3 * 32767 * math.sin(2 * math.pi * 220 * n / RATE)) for n in range(RATE)]
    tone = b"".join(value.to_bytes(2, "little", signed=True) for value in one)
    for second in range(seconds):
        out += bytes(2 * RATE) if second % 5 == 4 else tone
    return bytes(out)


def proc_figures(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) and peak RSS in MB of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return cpu, int(line.split()[1]) / 1024
    return cpu, float("nan")


async def one_session(url: str, audio: bytes, latencies: list[float], limited: list[int]) -> None:
    frame_bytes = RATE * 2 * FRAME_MS // 1000
    sent_at: dict[int, float] = {}  # audio ms at the end of each frame -> when it was sent
    async with connect(url, additional_headers={"X-Hume-Api-Key": KEY}, max_size=2**22) as ws:
        await ws.recv()

        async def reader() -> None:
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "measurement.result":
                    end = message["audio_end_ms"] + (HANGOVER_MS if message["trigger"] == "speech_ended" else 0)
                    frame_end = min(ms for ms in sent_at if ms >= end)
                    latencies.append(time.perf_counter() - sent_at[frame_end])
                elif message.get("code") == "rate_limited":
                    limited.append(1)

        reading = asyncio.create_task(reader())
        start = time.perf_counter()
        for index, offset in enumerate(range(0, len(audio), frame_bytes)):
            await asyncio.sleep(max(0.0, start + index * FRAME_MS / 1000 - time.perf_counter()))
            sent_at[(index + 1) * FRAME_MS] = time.perf_counter()
            await ws.send(audio[offset : offset + frame_bytes])
        await ws.send(json.dumps({"type": "session.close"}))
        await reading


async def run_sessions(port: int, sessions: int, seconds: int) -> tuple[list[float], int]:
    url = f"ws://127.0.0.1:{port}/v1/expression/audio/realtime"
    audio, latencies, limited = speech(seconds), [], []
    await asyncio.gather(*(one_session(url, audio, latencies, limited) for _ in range(sessions)))
    return latencies, len(limited)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        command = [sys.executable, "-m", "mockserver", "--port", str(port), "--api-key", KEY, "--data-dir", data_dir]
        mock = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            cpu_before, _ = proc_figures(mock.pid)
            started = time.perf_counter()
            latencies, limited = asyncio.run(run_sessions(port, args.sessions, args.seconds))
            wall = time.perf_counter() - started
            cpu_after, peak_mb = proc_figures(mock.pid)
            ordered = sorted(latencies)
            figures = {
                "sessions": args.sessions,
                "audio_seconds_each": args.seconds,
                "wall_seconds": round(wall, 1),
                "measurements": len(ordered),
                "on_time": sum(1 for value in ordered if value < ON_TIME_S),
                "latency_ms_p50": round(1000 * statistics.median(ordered), 1) if ordered else None,
                "latency_ms_p99": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1)
                if ordered
                else None,
                "latency_ms_max": round(1000 * ordered[-1], 1) if ordered else None,
                "rate_limited": limited,
                "mock_cpu_seconds": round(cpu_after - cpu_before, 2),
                "mock_cpu_share_of_one_core": round((cpu_after - cpu_before) / wall, 3),
                "mock_peak_rss_mb": round(peak_mb),
            }
            print(json.dumps(figures))
        finally:
            mock.terminate()
            mock.wait(timeout=10)


if __name__ == "__main__":
    main()
