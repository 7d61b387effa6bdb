"""Several 1 MB batch jobs at once against the mock: wall time and the mock's peak memory.

``python bench/mock_load.py [--jobs 4] [--texts 100]`` starts ``python -m mockserver`` in its own process,
posts ``--jobs`` JSON jobs at once (each ``--texts`` texts of 10,000 characters: 1 MB), waits until every
job has COMPLETED and its predictions were read, and prints one JSON line: seconds, the mock's peak
resident memory (Linux ``VmHWM``) and how many 429s the clients waited out. Reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

KEY = "bench-key"
WORDS = ("I", "met", "Maria", "in", "Paris", "and", "it", "was", "lovely", "to", "see", "her", "again")


def one_mb_job(texts: int) -> dict:
    text = " ".join(WORDS[i % len(WORDS)] for i in range(3000))[:10_000]
    return {"text": [text] * texts}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_job(base: str, body: dict, waited: list[int]) -> None:
    with httpx.Client(base_url=base, headers={"X-Hume-Api-Key": KEY}, timeout=300) as client:
        while (response := client.post("/v0/batch/jobs", json=body)).status_code == 429:
            waited.append(1)
            time.sleep(float(response.headers.get("retry-after", "1")))
        job_id = response.raise_for_status().json()["job_id"]
        while client.get(f"/v0/batch/jobs/{job_id}").json()["state"]["status"] not in ("COMPLETED", "FAILED"):
            time.sleep(0.05)
        while (predictions := client.get(f"/v0/batch/jobs/{job_id}/predictions")).status_code == 429:
            waited.append(1)
            time.sleep(float(predictions.headers.get("retry-after", "1")))
        predictions.raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--texts", type=int, default=100)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        command = [sys.executable, "-m", "mockserver", "--port", str(port), "--api-key", KEY, "--data-dir", data_dir]
        command += ["--queued-seconds", "0", "--in-progress-seconds", "0"]
        mock = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    httpx.get(base + "/", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            body, waited = one_mb_job(args.texts), []
            started = time.perf_counter()
            clients = [threading.Thread(target=run_job, args=(base, body, waited)) for _ in range(args.jobs)]
            for client in clients:
                client.start()
            for client in clients:
                client.join()
            seconds = time.perf_counter() - started
            figures = {"jobs": args.jobs, "job_bytes": len(json.dumps(body)), "seconds": round(seconds, 1)}
            figures.update(mock_peak_rss_mb=round(peak_rss_mb(mock.pid)), waited_429=len(waited))
            print(json.dumps(figures))
        finally:
            mock.terminate()
            mock.wait(timeout=10)


if __name__ == "__main__":
    main()
