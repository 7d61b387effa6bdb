"""Benchmark: the mock direct, through `hume-contracts proxy`, and through mitmproxy in reverse mode.

    .venv/bin/python -m bench.proxy              # the full table (about two minutes)
    .venv/bin/python -m bench.proxy --quick      # fewer requests and frames

Each server runs in its own process on loopback: the mock, the proxy in front of it, and mitmdump
(`--mode reverse:`) in front of it. The load comes from one asyncio client process (httpx, keep-alive
connections), the same for every line, so the ratios compare like with like; on 2 cores the client and
the servers share the machine, so absolute figures are lower than on a bigger one. Lines:

- small responses (a finished job's details, about 1 KB): p50/p99 latency and requests/s, 1 and 20 clients;
- one predictions body of about 10 MB (a text job of many words): seconds for the whole download, each
  download a second after the last (the proxy validates a body after passing it on, about 0.2 s of CPU for
  10 MB; back to back, that check would share the cores with the next download);
- stream frames/s over one connection (a text frame, then its reply, one at a time);
- `hume-contracts validate` of one small file against a bare interpreter (`python -c pass`).

mitmproxy is a peer, not a dependency: it is installed into ``.venv/bench-mitmproxy`` on first use
(``python3 -m venv .venv/bench-mitmproxy && .venv/bench-mitmproxy/bin/pip install mitmproxy``); without it
its column says so. The table is printed and written to ``bench/PROXY_RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
from websockets.asyncio.client import connect

from bench.results import replace_section

ROOT = Path(__file__).resolve().parent.parent
MITM_VENV = ROOT / ".venv" / "bench-mitmproxy"
RESULTS = ROOT / "bench" / "PROXY_RESULTS.md"
KEY = "bench-key"
HEADERS = {"X-Hume-Api-Key": KEY}
WORDS_FOR_10_MB = 4200
CHECK_SETTLE_SECONDS = 1.0  # a language prediction per word with 53 emotions: about 2.4 KB each


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


@contextmanager
def spawned(command: list[str], port: int, output: IO[bytes] | int = subprocess.DEVNULL) -> Iterator[subprocess.Popen]:
    """``command`` in its own process, once it listens on ``port``; stopped on exit. Its output goes to ``output``."""
    process = subprocess.Popen(command, stdout=output, stderr=output)
    try:
        wait_listening(port, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def serving(command: list[str], port: int) -> Iterator[str]:
    with spawned(command, port):
        yield f"http://127.0.0.1:{port}"


def hume_contracts(*args: str) -> list[str]:
    return [sys.executable, "-m", "contracts.cli", *args]


def mitmdump() -> Path | None:
    binary = MITM_VENV / "bin" / "mitmdump"
    if not binary.exists():
        print("installing mitmproxy into .venv/bench-mitmproxy (a peer for comparison, not a dependency)")
        subprocess.run([sys.executable, "-m", "venv", str(MITM_VENV)], check=True)
        done = subprocess.run([str(MITM_VENV / "bin" / "pip"), "install", "-q", "mitmproxy"], check=False)
        if done.returncode != 0:
            return None
    return binary if binary.exists() else None


# ------------------------------------------------------------------------------------------------ loads


def prepare(base: str) -> tuple[str, str]:
    """A finished small job and a finished job of about 10 MB of predictions, created directly on the mock."""
    with httpx.Client(base_url=base, headers=HEADERS, timeout=120) as client:
        small = client.post("/v0/batch/jobs", json={"text": ["hello"], "models": {"language": {}}}).json()["job_id"]
        text = " ".join(["calm", "joy", "voice", "faces"] * (WORDS_FOR_10_MB // 40))  # texts are <= 10,000 chars
        body = {"text": [text] * 10, "models": {"language": {"granularity": "word"}}}
        big = client.post("/v0/batch/jobs", json=body).json()["job_id"]
        deadline = time.monotonic() + 120
        for job in (small, big):
            while client.get(f"/v0/batch/jobs/{job}").json()["state"]["status"] not in ("COMPLETED", "FAILED"):
                if time.monotonic() > deadline:
                    raise RuntimeError("the bench jobs did not finish")
                time.sleep(0.1)
    return small, big


async def small_responses(base: str, job: str, clients: int, requests: int) -> dict[str, float]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, limits=limits, timeout=30) as http:

        async def worker(count: int) -> None:
            for _ in range(count):
                started = time.perf_counter()
                answer = await http.get(f"/v0/batch/jobs/{job}")
                latencies.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.status_code

        await asyncio.gather(*(worker(max(2, requests // 20 // clients)) for _ in range(clients)))  # warm-up
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(worker(requests // clients) for _ in range(clients)))
        wall = time.perf_counter() - started
    latencies.sort()
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "rps": len(latencies) / wall,
    }


def big_body(base: str, job: str, repeat: int) -> dict[str, float]:
    times, size = [], 0
    with httpx.Client(base_url=base, headers=HEADERS, timeout=120) as client:
        for _ in range(repeat + 1):
            time.sleep(CHECK_SETTLE_SECONDS)  # the proxy checks a body once it is through: measure each download alone
            started = time.perf_counter()
            size = len(client.get(f"/v0/batch/jobs/{job}/predictions").content)
            times.append(time.perf_counter() - started)
    return {"seconds": min(times[1:]), "mb": size / 1e6}


async def stream_frames(base: str, frames: int) -> dict[str, float]:
    url = base.replace("http://", "ws://") + "/v0/stream/models"
    frame = json.dumps({"data": "hello there, how are you", "models": {"language": {}}, "raw_text": True})
    async with connect(url, additional_headers=HEADERS, proxy=None, max_size=2**24) as stream:
        for _ in range(20):
            await stream.send(frame)
            await stream.recv()
        started = time.perf_counter()
        for _ in range(frames):
            await stream.send(frame)
            await stream.recv()
        return {"fps": frames / (time.perf_counter() - started)}


def startup_seconds(repeat: int = 7) -> dict[str, float]:
    small = Path(tempfile.mkdtemp()) / "job-id.json"
    small.write_text(json.dumps({"job_id": "6f1c6c47-1a2b-4c3d-8e9f-0a1b2c3d4e5f"}))
    commands = {
        "bare": [sys.executable, "-c", "pass"],
        "validate": [sys.executable, "-m", "contracts.cli", "validate", str(small)],
    }
    best = {}
    for name, command in commands.items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
        best[name] = min(times)
    return best


# ------------------------------------------------------------------------------------------------ table


def measure(base: str, small: str, big: str, quick: bool) -> dict[str, dict[str, float]]:
    requests = 400 if quick else 2000
    return {
        "1 client": asyncio.run(small_responses(base, small, 1, requests // 2)),
        "20 clients": asyncio.run(small_responses(base, small, 20, requests)),
        "10 MB": big_body(base, big, 2 if quick else 5),
        "stream": asyncio.run(stream_frames(base, 300 if quick else 2000)),
    }


def render(figures: dict[str, dict[str, dict[str, float]] | None], startup: dict[str, float]) -> str:
    columns = list(figures)
    lines = ["| measure | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]

    def row(label: str, pick: str, key: str, fmt: str) -> None:
        cells = [fmt.format(f[pick][key]) if f else "not measured" for f in figures.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    for clients in ("1 client", "20 clients"):
        row(f"small response p50, {clients} (ms)", clients, "p50_ms", "{:.2f}")
        row(f"small response p99, {clients} (ms)", clients, "p99_ms", "{:.2f}")
        row(f"small responses/s, {clients}", clients, "rps", "{:.0f}")
    row("10 MB predictions body (s)", "10 MB", "seconds", "{:.3f}")
    row("stream frames/s, one connection", "stream", "fps", "{:.0f}")
    lines.append("")
    lines.append(
        f"`hume-contracts validate` of one small file: {startup['validate']:.3f} s"
        f" (a bare interpreter: {startup['bare']:.3f} s)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests and frames")
    args = parser.parse_args()
    os.environ.pop("HTTP_PROXY", None)
    mock_port, proxy_port, mitm_port = free_port(), free_port(), free_port()
    mock = hume_contracts("mock", "--port", str(mock_port), "--api-key", KEY)
    mock += ["--queued-seconds", "0", "--in-progress-seconds", "0"]
    figures: dict[str, dict[str, dict[str, float]] | None] = {}
    with serving(mock, mock_port) as direct:
        small, big = prepare(direct)
        print("direct ...", flush=True)
        figures["direct (mock)"] = measure(direct, small, big, args.quick)
        with serving(hume_contracts("proxy", "--target", direct, "--port", str(proxy_port)), proxy_port) as proxied:
            print("hume-contracts proxy ...", flush=True)
            figures["hume-contracts proxy"] = measure(proxied, small, big, args.quick)
        binary = mitmdump()
        if binary is None:
            figures["mitmproxy (reverse)"] = None
        else:
            command = [str(binary), "--mode", f"reverse:{direct}", "-p", str(mitm_port), "-q"]
            command += ["--set", "stream_large_bodies=1m", "--set", "connection_strategy=lazy"]
            with serving(command, mitm_port) as via_mitm:
                print("mitmproxy ...", flush=True)
                figures["mitmproxy (reverse)"] = measure(via_mitm, small, big, args.quick)
    table = render(figures, startup_seconds())
    print(table)
    replace_section(
        RESULTS, "# Proxy benchmark", f"{'(quick run) ' if args.quick else ''}`python -m bench.proxy`\n\n{table}"
    )
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
