"""Measure `hume-contracts proxy` against hostile clients and targets (issue 15), each case in a fresh proxy.

    .venv/bin/python -m bench.proxy_hostile                      # this tree, about a minute
    .venv/bin/python -m bench.proxy_hostile --tree /tmp/before   # another checkout (git archive), for "before"

The proxy runs as the console command in its own process under a 2 GiB address-space cap (RLIMIT_AS) and,
for the descriptor case, a 256-descriptor cap. Printed per case: what the client saw, the time it took,
the proxy's peak resident memory (VmHWM), and whether another client was still served afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hostile_targets_proxy import (  # noqa: E402
    Bystander,
    RawTarget,
    answer_json,
    gzip_bomb,
    header_of,
)

GIB = 1024**3
INVALID_JOBS = json.dumps([{"job_id": "not-a-uuid"}]).encode()


def _limits(nofile: int | None) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 * GIB, 2 * GIB))
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    return apply


@contextlib.contextmanager
def proxy(tree: Path, target: str, tmp: Path, nofile: int | None = None) -> Iterator[dict]:
    argv = [sys.executable, "-m", "contracts.cli", "proxy", "--target", target, "--port", "0"]
    argv += ["--record", str(tmp / "s.har"), "--report", str(tmp / "out")]
    env = {**os.environ, "PYTHONPATH": str(tree), "MALLOC_ARENA_MAX": "2"}
    process = subprocess.Popen(
        argv, cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=_limits(nofile)
    )
    banner = process.stdout.readline()  # type: ignore[union-attr]
    run = {"base": banner.split(" ")[3], "process": process}
    try:
        yield run
    finally:
        run["peak_mb"] = _peak_mb(process.pid)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=30)
            run["stop_s"] = time.monotonic() - started
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            run["stop_s"] = None
        run.update(exit=process.returncode, out=out, err=err, har=(tmp / "s.har").exists())


def _peak_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def served(base: str) -> bool:
    try:
        return httpx.get(f"{base}/v0/batch/jobs", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def raw(base: str, head: bytes, timeout: float = 30) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(head)
        data = b""
        with contextlib.suppress(OSError):
            while chunk := connection.recv(65536):
                data += chunk
    return data


# -- the cases: each returns (what the client saw, seconds) ----------------------------------------------------


def case_ssrf(run: dict, target: RawTarget, bystander: Bystander) -> tuple[str, float]:
    started = time.monotonic()
    answer = raw(run["base"], b"GET *@127.0.0.1:%d/x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n" % bystander.port)
    took = time.monotonic() - started
    return f"{answer[:12].decode(errors='replace')}; other host reached: {bystander.reached()}", took


def case_cookies(run: dict, target: RawTarget, bystander: Bystander) -> tuple[str, float]:
    started = time.monotonic()
    httpx.get(f"{run['base']}/login")
    httpx.get(f"{run['base']}/v0/batch/jobs")
    leaked = header_of(target.heads[-1], "cookie")
    return f"client B's request carried cookie: {leaked!r}", time.monotonic() - started


def case_gzip_bomb(run: dict, target: RawTarget, bystander: Bystander) -> tuple[str, float]:
    started = time.monotonic()
    try:
        with httpx.stream("GET", f"{run['base']}/gzip", headers={"accept-encoding": "gzip"}, timeout=60) as answer:
            size = sum(len(chunk) for chunk in answer.iter_raw())
            seen = f"{answer.status_code}, {size:,} bytes passed"
    except httpx.HTTPError as error:
        seen = type(error).__name__
    time.sleep(2)  # the check runs after the client has its answer
    return seen, time.monotonic() - started


def case_brotli_unasked(run: dict, target: RawTarget, bystander: Bystander) -> tuple[str, float]:
    started = time.monotonic()
    answer = raw(run["base"], b"GET /v0/batch/jobs?limit=1 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    coding = header_of(answer.split(b"\r\n\r\n", 1)[0], "content-encoding")
    return f"no Accept-Encoding sent; the answer's coding: {coding!r}", time.monotonic() - started


def case_many_headers(run: dict, target: RawTarget, bystander: Bystander) -> tuple[str, float]:
    head = b"GET /v0/batch/jobs HTTP/1.1\r\n" + b"".join(b"x-%d: y\r\n" % n for n in range(20000)) + b"\r\n"
    started = time.monotonic()
    try:
        answer = raw(run["base"], head)[:12].decode(errors="replace") or "(closed)"
    except OSError as error:
        answer = type(error).__name__
    return answer, time.monotonic() - started


def case_slow_uploads(run: dict, target: RawTarget, bystander: Bystander) -> tuple[str, float]:
    host, port = run["base"].removeprefix("http://").split(":")
    slow = []
    for _ in range(110):
        connection = socket.create_connection((host, int(port)))
        connection.sendall(b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 10000000\r\n\r\nhello")
        slow.append(connection)
    time.sleep(0.5)
    started = time.monotonic()
    try:
        status = str(httpx.get(f"{run['base']}/v0/batch/jobs", timeout=30).status_code)
    except httpx.HTTPError as error:
        status = type(error).__name__
    took = time.monotonic() - started
    for connection in slow:
        connection.close()
    return f"another client after 110 slow uploads: {status}", took


def case_idle_flood(run: dict, target: RawTarget, bystander: Bystander) -> tuple[str, float]:
    host, port = run["base"].removeprefix("http://").split(":")
    idle = []
    with contextlib.suppress(OSError):
        for _ in range(300):
            idle.append(socket.create_connection((host, int(port)), timeout=2))
    started = time.monotonic()
    ok = False
    while not ok and time.monotonic() - started < 20:
        ok = served(run["base"])
        if not ok:
            time.sleep(0.5)
    for connection in idle:
        connection.close()
    took = time.monotonic() - started
    return f"300 idle connections, 256 descriptors: served again {'yes' if ok else 'no (20 s)'}", took


def endless(connection: socket.socket, head: bytes) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
    while True:
        connection.sendall(b"1\r\n \r\n")
        time.sleep(0.05)


def case_sigterm_in_flight(run: dict, target: RawTarget, bystander: Bystander) -> tuple[str, float]:
    host, port = run["base"].removeprefix("http://").split(":")
    flowing = socket.create_connection((host, int(port)))
    flowing.sendall(b"GET /endless HTTP/1.1\r\nhost: x\r\n\r\n")
    flowing.recv(100)
    run["keep"] = flowing
    return "an endless response in flight at SIGTERM", 0.0


CASES = {
    "request-target *@127.0.0.1:OTHER/x": (case_ssrf, None),
    "Set-Cookie for client A, then client B": (case_cookies, None),
    "gzip bomb, 2.6 MB -> 2.5 GiB": (case_gzip_bomb, None),
    "invalid body in brotli, client sent no Accept-Encoding": (case_brotli_unasked, None),
    "20,000 request headers": (case_many_headers, None),
    "110 slow 10 MB uploads (5 bytes sent)": (case_slow_uploads, None),
    "300 idle connections (slowloris)": (case_idle_flood, 256),
    "SIGTERM with a response in flight": (case_sigterm_in_flight, None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--only", help="run only the cases whose name contains this")
    args = parser.parse_args()
    target = RawTarget(
        {
            "/login": answer_json(200, b"{}", b"set-cookie: session=for-client-a; Path=/\r\n"),
            "/v0/batch/jobs": answer_json(200, b"[]"),
            "/gzip": answer_json(200, gzip_bomb(2.5), b"content-encoding: gzip\r\n"),
            "/v0/batch/jobs?limit=1": _brotli_if_asked,
            "/endless": endless,
        }
    )
    print("| case | client saw | time | proxy peak RSS | another client served | stop | exit | notes |")
    print("|---|---|---:|---:|---|---:|---:|---|")
    for name, (case, nofile) in CASES.items():
        if args.only and args.only not in name:
            continue
        bystander = Bystander()
        with tempfile.TemporaryDirectory() as tmp, proxy(args.tree, target.url, Path(tmp), nofile) as run:
            seen, took = case(run, target, bystander)
            still = served(run["base"])
        bystander.close()
        notes = _notes(run)
        stop = f"{run['stop_s']:.1f} s" if run["stop_s"] is not None else "killed at 30 s"
        peak = f"{run['peak_mb']:.0f} MB" if run["peak_mb"] else "-"
        if os.environ.get("BENCH_STDERR"):
            print(run["err"][-6000:], file=sys.stderr)
        print(f"| {name} | {seen} | {took:.2f} s | {peak} | {still} | {stop} | {run['exit']} | {notes} |", flush=True)
    target.close()


def _brotli_if_asked(connection: socket.socket, head: bytes) -> None:
    """Brotli when the request allows it (what api.hume.ai's CDN does), else identity."""
    import brotli

    if b"br" in (header_of(head, "accept-encoding") or b""):
        answer_json(200, brotli.compress(INVALID_JOBS), b"content-encoding: br\r\n")(connection, head)
    else:
        answer_json(200, INVALID_JOBS)(connection, head)


def _notes(run: dict) -> str:
    notes = []
    summary = next((line for line in run["out"].splitlines() if line.startswith("proxy:")), "")
    if summary:
        notes.append(summary.split("checked; ", 1)[-1])
    if "MemoryError" in run["err"]:
        notes.append("MemoryError")
    if "Traceback" in run["err"]:
        notes.append(f"{run['err'].count('Traceback')} traceback(s)")
    if "wrote" in run["out"] and not run["har"]:
        notes.append("said 'wrote' a HAR that is not there")
    elif not run["har"]:
        notes.append("no HAR")
    return "; ".join(notes).replace("|", "/")


if __name__ == "__main__":
    main()
