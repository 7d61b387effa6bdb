"""Big v1 uploads at once against the mock: answers, wall time and the mock's peak memory.

``python bench/mock_v1_hostile.py [--clients 8]`` starts ``python -m mockserver`` in its own process and sends,
``--clients`` at a time: uploads of 25 MB + 1 byte with a Content-Length (refused at the door), the same sent
chunked without one (read up to the limit, then refused), and valid 24 MB audio uploads (about 12.5 minutes of
speech each, measured; at most two at once are worked on, the rest wait or get 429). Prints one JSON line per
phase: statuses, seconds, the mock's peak resident memory so far (Linux ``VmHWM``). Reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx

KEY = "bench-key"
LIMIT = 25_000_000
sys.path.insert(0, str(Path(__file__).resolve().parent))
from mock_load import free_port, peak_rss_mb  # noqa: E402 - the sibling bench's helpers


def chunks(size: int) -> Iterator[bytes]:
    head = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
    yield head
    block = bytes(1 << 20)
    left = size - len(head)
    while left > 0:
        yield block[: min(left, len(block))]
        left -= len(block)


def speech_body(size: int) -> bytes:
    tone = bytes(range(256)) * 8  # loud enough to be speech everywhere
    return (tone * (size // len(tone) + 1))[:size]


def phase(base: str, clients: int, send) -> dict:  # noqa: ANN001
    statuses: Counter[int] = Counter()

    def one() -> None:
        with httpx.Client(base_url=base, headers={"X-Hume-Api-Key": KEY}, timeout=600) as client:
            statuses[send(client).status_code] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"statuses": dict(statuses), "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    audio = speech_body(24_000_000)
    multipart = {"Content-Type": "multipart/form-data; boundary=x"}
    phases = {
        "declared-25MB+1": lambda c: c.post("/v1/expression/audio/file", content=bytes(LIMIT + 1), headers=multipart),
        "chunked-25MB+1": lambda c: c.post("/v1/expression/audio/file", content=chunks(LIMIT + 1), headers=multipart),
        "valid-24MB": lambda c: c.post("/v1/expression/audio/file", files=[("file", ("a.raw", audio))]),
    }
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
            print(json.dumps({"phase": "idle", "mock_peak_rss_mb": round(peak_rss_mb(mock.pid))}))
            for name, send in phases.items():
                figures = phase(f"http://127.0.0.1:{port}", args.clients, send)
                print(json.dumps({"phase": name, **figures, "mock_peak_rss_mb": round(peak_rss_mb(mock.pid))}))
        finally:
            mock.terminate()
            mock.wait(timeout=10)


if __name__ == "__main__":
    main()
