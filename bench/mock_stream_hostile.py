"""The mock's stream against clients that send and never read, under a 2 GiB address-space cap (issue 15, 5).

    .venv/bin/python -m bench.mock_stream_hostile                  # 87 clients, 10,000-character frames
    .venv/bin/python -m bench.mock_stream_hostile --tree /tmp/old  # the same against another checkout's mock
    .venv/bin/python -m bench.mock_stream_hostile --fuzz 30        # `fuzz` against a server flooding pings
    .venv/bin/python -m bench.mock_stream_hostile --callbacks      # callbacks: endless, slow and fast receivers

The mock runs in its own process (``serve`` on a free loopback port, RLIMIT_AS 2 GiB). N clients open the
stream, send F raw-text frames each (word granularity: ~14 MB of reply per 10,000 characters), one of them
first floods pings, and none reads. After a settling window the bench asks a fresh client for one reply,
reads the mock's peak memory (VmHWM), sends SIGTERM and times the exit (killed after 20 s).

With ``--fuzz BUDGET``: ``hume-contracts fuzz --only stream --time-budget BUDGET`` (same cap) against a server
that accepts the handshake, floods pings and never reads; wall time (killed at 4x the budget), exit, peak memory.

With ``--callbacks``: one job calls back a receiver whose answer never ends, six a receiver that never answers,
then one a receiver that answers at once; printed: when the fast one was called, and the mock's peak memory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.hostile_peers import non_reading_clients, ping_flooding_server, text_frame

KEY = "bench-key-not-secret"
GIB = 1024**3
ROOT = Path(__file__).resolve().parent.parent
HELLO = {"data": "hello there", "raw_text": True, "models": {"language": {}}, "payload_id": "bench"}


def start_mock(tree: Path) -> tuple[subprocess.Popen[str], str]:
    code = (
        "import sys; from mockserver.config import MockConfig; from mockserver.server import serve; "
        f"sys.exit(serve('127.0.0.1', 0, MockConfig(api_key={KEY!r})))"
    )
    env = {**os.environ, "PYTHONPATH": str(tree)}
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (2 * GIB, 2 * GIB)),
    )
    assert child.stdout is not None
    found = re.search(r"stream (ws://127.0.0.1:(\d+)\S*)", child.stdout.readline())
    assert found, "no banner"
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", int(found.group(2))), timeout=1).close()
            break
        except ConnectionRefusedError:
            time.sleep(0.05)
    return child, found.group(1)


def peak_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024  # type: ignore[union-attr]


def served_in(url: str, timeout: float) -> str:
    """How long a fresh client waited for one reply, or why it got none."""
    started = time.monotonic()
    try:
        with connect(url, additional_headers={"X-Hume-Api-Key": KEY}, open_timeout=timeout) as ws:
            ws.send(json.dumps(HELLO))
            ws.recv(timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - the figure is what happened
        return f"not served ({type(exc).__name__}: {str(exc)[:60]})"
    return f"{time.monotonic() - started:.2f} s"


def sigterm_seconds(child: subprocess.Popen[str], limit: float = 20.0) -> str:
    started = time.monotonic()
    child.send_signal(signal.SIGTERM)
    try:
        code = child.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        return f"still running after {limit:.0f} s (killed)"
    return f"{time.monotonic() - started:.1f} s (status {code})"


def run(tree: Path, clients: int, frames: int, characters: int, settle: float) -> None:
    child, url = start_mock(tree)
    try:
        with non_reading_clients(url, KEY, clients) as idle:
            accepted = [client for client in idle if client.accepted]
            pings = accepted[0].send_pings(200_000) if accepted else 0
            frame = text_frame(characters)
            for client in accepted:
                for _ in range(frames):
                    try:
                        client.send_text(frame)
                    except OSError:
                        break
            time.sleep(settle)
            peak = peak_mb(child.pid)
            served = served_in(url, timeout=25)
            alive = "alive" if child.poll() is None else f"exited {child.returncode}"
            stopped = sigterm_seconds(child) if child.poll() is None else "-"
            peak = max(peak, peak_mb(child.pid)) if child.poll() is None else peak
        print(
            f"{clients} clients x {frames} frames of {characters} chars, {pings} pings: accepted {len(accepted)}, "
            f"refused {clients - len(accepted)}; after {settle:.0f} s: peak {peak:.0f} MB, mock {alive}; "
            f"a fresh client served in {served}; SIGTERM to exit {stopped}"
        )
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def fuzz_against_a_ping_flood(tree: Path, budget: float) -> None:
    script = Path(sys.executable).with_name("hume-contracts")
    with ping_flooding_server() as url:
        base = url.removesuffix("/v0/stream/models").replace("ws://", "http://")
        args = [str(script), "fuzz", "--base-url", base, "--api-key", KEY, "--only", "stream"]
        child = subprocess.Popen(
            [*args, "--time-budget", f"{budget:g}"],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (2 * GIB, 2 * GIB)),
        )
        started = time.monotonic()
        try:
            out, _ = child.communicate(timeout=4 * budget)
            ended = f"exit {child.returncode}"
        except subprocess.TimeoutExpired:
            child.kill()
            out, _ = child.communicate()
            ended = f"still running at {4 * budget:g} s (killed)"
        wall = time.monotonic() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    last = (out or "(no output)").strip().splitlines()[-1]
    print(f"fuzz --time-budget {budget:g} vs a ping flood: wall {wall:.1f} s, {ended}, peak {peak:.0f} MB: {last}")


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    called: dict[str, float] = {}

    def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
        self.called.setdefault(self.path, time.monotonic())
        self.rfile.read(int(self.headers.get("content-length") or 0))
        with contextlib.suppress(OSError):  # the mock hangs up when it has had enough
            if self.path == "/endless":
                self.send_response(200)
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                chunk = b"0," * 32768
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            elif self.path == "/slow":
                time.sleep(60)
            self.send_response(204)
            self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def callbacks(tree: Path, settle: float) -> None:
    receivers = [ThreadingHTTPServer(("127.0.0.1", 0), Receiver) for _ in range(3)]  # three receivers, three ports
    for receiver in receivers:
        receiver.daemon_threads = True
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
    endless, slow, fast = (f"http://127.0.0.1:{receiver.server_address[1]}" for receiver in receivers)
    child, url = start_mock(tree)
    base = url.replace("ws://", "http://").removesuffix("/v0/stream/models")
    try:
        with httpx.Client(base_url=base, headers={"X-Hume-Api-Key": KEY}, timeout=10) as client:
            for hook in [endless + "/endless"] + [slow + "/slow"] * 6:
                client.post("/v0/batch/jobs", json={"text": ["hello"], "callback_url": hook})
            submitted = time.monotonic()
            client.post("/v0/batch/jobs", json={"text": ["hello"], "callback_url": fast + "/fast"})
        time.sleep(settle)
        called = Receiver.called.get("/fast")
        fast = f"{called - submitted:.2f} s after its job was submitted" if called else f"not within {settle:g} s"
        alive = "alive" if child.poll() is None else f"exited {child.returncode}"
        print(f"callbacks: fast receiver called {fast}; mock peak {peak_mb(child.pid):.0f} MB, {alive}")
    finally:
        for receiver in receivers:
            receiver.shutdown()
        if child.poll() is None:
            child.kill()
            child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose mockserver/ runs (default: this)")
    parser.add_argument("--clients", type=int, default=87)
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--characters", type=int, default=10_000)
    parser.add_argument("--settle", type=float, default=30.0, help="seconds between sending and measuring")
    parser.add_argument("--fuzz", type=float, metavar="BUDGET", help="measure fuzz against a ping flood instead")
    parser.add_argument("--callbacks", action="store_true", help="measure callbacks to hostile receivers instead")
    args = parser.parse_args()
    if args.callbacks:
        callbacks(args.tree, settle=15.0)
    elif args.fuzz:
        fuzz_against_a_ping_flood(args.tree, args.fuzz)
    else:
        run(args.tree, args.clients, args.frames, args.characters, args.settle)


if __name__ == "__main__":
    main()
