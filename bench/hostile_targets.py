"""Measure `fuzz` against hostile targets: a 1 GB body and a server dripping a byte a second.

    .venv/bin/python -m bench.hostile_targets            # --time-budget 20 against each, about a minute

Each run is the console script in its own process; printed: wall time (interpreter start included), the
run's own time as it reports it, peak resident memory, and the exit code. The expectation (issue 9): both
end within the budget and under 1 GB of memory, where they used to take 6.5-7 GB and over 90 s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GIB = 1024**3


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "gb"

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length") or 0))
        with contextlib.suppress(OSError):  # the client hangs up once it has had enough
            self.one_gb() if self.mode == "gb" else self.drip()

    do_POST = do_GET

    def one_gb(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        chunk = b"0," * 32768
        for _ in range(GIB // len(chunk)):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def drip(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "100000")
        self.end_headers()
        for _ in range(100000):
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(1.0)

    def log_message(self, *_args: object) -> None:
        pass


@contextlib.contextmanager
def serving(mode: str) -> Iterator[str]:
    handler = type("Handler", (Hostile,), {"mode": mode})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def measure(mode: str, budget: float) -> str:
    script = Path(sys.executable).with_name("hume-contracts")
    args = [str(script), "fuzz", "--base-url", "", "--api-key", "bench-key-0123456789", "--time-budget", str(budget)]
    with serving(mode) as url, tempfile.TemporaryFile("w+") as out:
        args[3] = url
        started = time.monotonic()
        child = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory
        wall = time.monotonic() - started
        out.seek(0)
        lines = out.read().strip().splitlines() or ["(no output)"]
    code = os.waitstatus_to_exitcode(status)
    return f"{mode:<5} wall {wall:5.1f} s, peak {usage.ru_maxrss / 1024:6.0f} MB, exit {code}: {lines[-1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=20.0)
    args = parser.parse_args()
    for mode in ("gb", "drip"):  # one after another: they would share the cores
        print(measure(mode, args.time_budget), flush=True)


if __name__ == "__main__":
    main()
