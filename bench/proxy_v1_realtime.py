"""v1 realtime sessions at real-time pace, direct to the mock and through `hume-contracts proxy`: time added to each
message.

    python bench/proxy_v1_realtime.py [--seconds 30] [--audio 16] [--video 4] [--rounds 2]

The mock runs in its own process, wrapped in an ASGI middleware that stamps every WebSocket message it receives
and every one it sends (``time.monotonic_ns``: CLOCK_MONOTONIC, one clock for every process on Linux). The
proxy is the ``hume-contracts proxy --target MOCK`` command in its own process, with its default checks. The
load is one asyncio client process: ``--audio`` sessions each send a 100 ms frame (3,200 bytes of s16le 16 kHz
mono, the size the docs recommend) every 100 ms, speech-like (4 s of tone, 1 s of silence); ``--video`` sessions
each send a 256x256 JPEG with a face 3 times a second (the documented rate). Session starts are spread evenly
over one frame period, as independent clients would be.

Per message, one way: a client's message from just before its send to the mock's ``receive`` returning, and a
mock's message from its ``send`` to the client's ``recv`` returning. Each mode (direct, proxied) runs the same
sessions on the same schedule; ``--rounds`` alternates the two (direct, proxy, direct, proxy, ...) with
``--seconds`` split among the rounds, so a change in the machine's other load falls on both. "Added" is the
proxied quantile minus the direct one; the paired column is the quantile of the per-message differences (the
k-th message of the i-th session of the same round in each mode); the last column counts the messages over 10 ms
one way. Opening and closing a session (all the handshakes at once, before the streaming starts) is a row of its
own. A video frame's round trip (send to its ``measurement.result``, client side) is shown too. Reported, not
asserted: the section "v1 realtime sessions through the proxy" of ``bench/PROXY_RESULTS.md`` is rewritten
(``--no-write``: printed only).

The proxy checks each message in a worker thread, off the relay path: the added time is the relay's, under the
CPU its checks take; that every message was checked shows in the proxy's summary at stop (frames checked). On a
2-core machine the load client, the mock and the proxy share the cores (and with whatever else runs): the
proxied figures include waiting for a core, which is part of what the proxy costs there.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/proxy_v1_realtime.py`: the sibling benches are importable

import httpx  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from bench.mock_v1_realtime import proc_figures  # noqa: E402
from bench.proxy import free_port, hume_contracts, spawned  # noqa: E402
from bench.results import replace_section  # noqa: E402
from mockserver.v1.protocol import AUDIO_CONFIG, BYTES_PER_MS, IMAGE_CONFIG  # noqa: E402
from strategies.v1.media import face_jpeg, pcm  # noqa: E402

KEY = "bench-key"
HEADERS = {"X-Hume-Api-Key": KEY}
RESULTS = ROOT / "bench" / "PROXY_RESULTS.md"
HEADING = "# v1 realtime sessions through the proxy"
STAMPS_PATH = "/__bench/stamps"  # answered by the bench's middleware, never by the mock
FRAME_MS = 100
VIDEO_FPS = 3
TARGET_P50_MS, TARGET_P99_MS = 2.0, 10.0
QUIET_CORES = 0.5  # other programs' CPU under which the machine counts as the bench's own
WARM_UP_SECONDS = 2
ENDPOINTS = {"audio": "/v1/expression/audio/realtime", "video": "/v1/expression/video/realtime"}


# ------------------------------------------------------------------------------------- the stamped mock


class MessageStamps:
    """ASGI middleware: when each WebSocket message reached the app and when the app sent each one, per session.

    A session is known by the ``session_id`` of its first message (``session.created``), which the client reads
    too: no marker of the bench's own goes over the wire.
    """

    def __init__(self, app: Callable) -> None:
        self.app = app
        self.sessions: dict[str, dict[str, list[int]]] = {}

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["path"] == STAMPS_PATH:
            await self._answer_stamps(send)
        elif scope["type"] == "websocket":
            await self._stamped(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _stamped(self, scope: dict, receive: Callable, send: Callable) -> None:
        stamps: dict[str, list[int]] = {"up": [], "down": []}

        async def stamped_receive() -> dict:
            message = await receive()
            if message["type"] == "websocket.receive":
                stamps["up"].append(time.monotonic_ns())
            return message

        async def stamped_send(message: dict) -> None:
            if message["type"] == "websocket.send":
                stamps["down"].append(time.monotonic_ns())
                if len(stamps["down"]) == 1:
                    self.sessions[json.loads(message["text"])["session_id"]] = stamps
            await send(message)

        await self.app(scope, stamped_receive, stamped_send)

    async def _answer_stamps(self, send: Callable) -> None:
        body = json.dumps(self.sessions).encode()
        self.sessions = {}
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


def serve_mock(port: int) -> None:
    """The mock as ``hume-contracts mock`` serves it (same app, same uvicorn settings), with the stamps around it."""
    import uvicorn

    from mockserver.app import close_app, create_app
    from mockserver.config import MockConfig
    from mockserver.server import _uvicorn_config, listen  # the mock's own uvicorn settings, not a copy

    app = create_app(MockConfig(api_key=KEY))
    app.add_middleware(MessageStamps)
    listener = listen("127.0.0.1", port)
    try:
        uvicorn.Server(_uvicorn_config(app, "127.0.0.1", port)).run(sockets=[listener])
    finally:
        listener.close()
        close_app(app)


# --------------------------------------------------------------------------------------------- the load


@dataclass
class SessionLog:
    """One session as the client saw it: when it sent each message, and each message it received."""

    kind: str  # audio | video
    index: int
    run_id: str = ""
    sent: list[int] = field(default_factory=list)
    received: list[tuple[int, str]] = field(default_factory=list)  # (stamp, message type)

    def replies(self) -> list[int]:
        """When each media frame's reply arrived (video: one ``measurement.result`` or ``error`` per frame)."""
        return [at for at, kind in self.received if kind in ("measurement.result", "error")]


@dataclass(frozen=True)
class Plan:
    seconds: float
    audio: int
    video: int


def speech_frames() -> list[bytes]:
    """5 s of speech-like audio (4 s of tone, 1 s of silence) in 100 ms frames, repeated by the sender."""
    cycle = pcm((4000, True), (1000, False))
    size = FRAME_MS * BYTES_PER_MS
    return [cycle[start : start + size] for start in range(0, len(cycle), size)]


async def _read_all(ws: ClientConnection, log: SessionLog) -> None:
    async for raw in ws:
        log.received.append((time.monotonic_ns(), json.loads(raw)["type"]))


async def one_session(url: str, log: SessionLog, update: dict, frames: list[bytes], period: float, offset: float,
                      ready: asyncio.Barrier, count: int) -> None:  # fmt: skip
    """Open and configure; once every session is (``ready``), send ``count`` frames every ``period`` s, starting
    ``offset`` s late; close and read to the end."""
    async with connect(url, additional_headers=HEADERS, proxy=None, max_size=2**22, open_timeout=30) as ws:
        for expected, message in (("session.created", None), ("session.updated", json.dumps(update))):
            if message is not None:
                log.sent.append(time.monotonic_ns())
                await ws.send(message)
            raw = await ws.recv()
            log.received.append((time.monotonic_ns(), json.loads(raw)["type"]))
            log.run_id = log.run_id or json.loads(raw)["session_id"]
            if log.received[-1][1] != expected:
                raise RuntimeError(f"{log.kind} session {log.index}: {expected} expected, got {raw[:200]!r}")
        reading = asyncio.create_task(_read_all(ws, log))
        await ready.wait()  # all the handshakes at once are not the relay's per-message cost: they are over by now
        await asyncio.sleep(offset)
        start = time.perf_counter()
        for index in range(count):
            await asyncio.sleep(max(0.0, start + index * period - time.perf_counter()))
            log.sent.append(time.monotonic_ns())
            await ws.send(frames[index % len(frames)])
        log.sent.append(time.monotonic_ns())
        await ws.send(json.dumps({"type": "session.close"}))
        await reading


async def run_load(ws_base: str, plan: Plan) -> list[SessionLog]:
    audio_update = {"type": "session.update", "audio": dict(AUDIO_CONFIG), "measurement_timer_ms": 3000}
    video_update = {"type": "session.update", "image": dict(IMAGE_CONFIG)}
    audio_frames, video_frames = speech_frames(), [face_jpeg()]
    logs, sessions = [], []
    ready = asyncio.Barrier(plan.audio + plan.video)
    for kind, count in (("audio", plan.audio), ("video", plan.video)):
        period = FRAME_MS / 1000 if kind == "audio" else 1 / VIDEO_FPS
        update, frames = (audio_update, audio_frames) if kind == "audio" else (video_update, video_frames)
        for index in range(count):
            log = SessionLog(kind, index)
            logs.append(log)
            offset = period * index / count  # spread over one period: independent clients are not in step
            frame_count = round(plan.seconds / period)
            url = ws_base + ENDPOINTS[kind]
            sessions.append(one_session(url, log, update, frames, period, offset, ready, frame_count))
    await asyncio.gather(*sessions)
    return logs


# ------------------------------------------------------------------------------------------ the figures


SESSION_MESSAGES = frozenset({"session.created", "session.updated", "session.closed"})


def one_way_ms(logs: list[SessionLog], stamps: dict[str, dict[str, list[int]]], mode: str, round_: int,
               samples: dict[tuple, float], problems: Counter[str]) -> None:  # fmt: skip
    """Each message's one-way time into ``samples``, keyed by (mode, round, direction, category, kind, session, k):
    category ``session`` for opening and closing a session, ``media`` for frames and the replies they bring."""
    for log in logs:
        mock = stamps.get(log.run_id)
        if mock is None:
            problems[f"{mode}: a session the mock did not stamp"] += 1
            continue
        last = len(log.sent) - 1
        ups = [("session" if k in (0, last) else "media", left) for k, left in enumerate(log.sent)]
        downs = [("session" if kind in SESSION_MESSAGES else "media", at) for at, kind in log.received]
        for direction, mine, theirs, sign in (("up", ups, mock["up"], 1), ("down", downs, mock["down"], -1)):
            if len(mine) != len(theirs):
                problems[f"{mode}: {direction} messages counted differently by client and mock"] += 1
                continue
            for k, ((category, at), other) in enumerate(zip(mine, theirs, strict=True)):
                samples[(mode, round_, direction, category, log.kind, log.index, k)] = sign * (other - at) / 1e6
        if log.kind == "video":
            frames = log.sent[1:-1]  # not the session.update and the session.close
            for k, (left, right) in enumerate(zip(frames, log.replies(), strict=False)):
                samples[(mode, round_, "round trip", "media", log.kind, log.index, k)] = (right - left) / 1e6
        problems[f"{mode}: rate_limited or other error replies"] += sum(
            1 for _, kind in log.received if kind == "error"
        )


def quantile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


ROWS = [  # label, direction, category, kind; None: any
    ("audio frames, client -> mock", "up", "media", "audio"),
    ("video frames (JPEG), client -> mock", "up", "media", "video"),
    ("audio replies (utterances, measurements), mock -> client", "down", "media", "audio"),
    ("video replies (measurement.result), mock -> client", "down", "media", "video"),
    ("**every frame and reply while streaming**", None, "media", None),
    ("opening and closing: session.update/.created/.updated/.close/.closed", None, "session", None),
    ("video round trip: frame sent -> its measurement.result", "round trip", "media", "video"),
]
STREAMING = ROWS[4][0]


def row_figures(
    samples: dict[tuple, float], direction: str | None, category: str, kind: str | None
) -> dict[str, float]:
    def chosen(key: tuple) -> bool:
        _mode, _round, its_direction, its_category, its_kind = key[:5]
        if (direction is None and its_direction == "round trip") or its_category != category:
            return False
        return direction in (None, its_direction) and kind in (None, its_kind)

    by_mode = {mode: [v for k, v in samples.items() if k[0] == mode and chosen(k)] for mode in ("direct", "proxy")}
    paired = [v - samples[("direct", *k[1:])] for k, v in samples.items()
              if k[0] == "proxy" and chosen(k) and ("direct", *k[1:]) in samples]  # fmt: skip
    figures = {"n_direct": len(by_mode["direct"]), "n_proxy": len(by_mode["proxy"])}
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        figures[f"direct_{name}"] = quantile(by_mode["direct"], q)
        figures[f"proxy_{name}"] = quantile(by_mode["proxy"], q)
        figures[f"added_{name}"] = figures[f"proxy_{name}"] - figures[f"direct_{name}"]
        figures[f"paired_{name}"] = quantile(paired, q)
    for mode, values in by_mode.items():
        figures[f"{mode}_over"] = sum(1 for v in values if v > TARGET_P99_MS)
    return figures


def render_table(samples: dict[tuple, float]) -> tuple[str, dict[str, dict[str, float]]]:
    head = "| messages | n direct / proxied | direct p50 | proxied p50 | **added p50** | direct p99 | proxied p99 |"
    head += f" **added p99** | paired difference p50 / p99 | over {TARGET_P99_MS:g} ms, direct / proxied |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    every: dict[str, dict[str, float]] = {}
    for label, direction, category, kind in ROWS:
        f = row_figures(samples, direction, category, kind)
        every[label] = f
        lines.append(
            f"| {label} | {f['n_direct']} / {f['n_proxy']} | {f['direct_p50']:.2f} | {f['proxy_p50']:.2f} |"
            f" **{f['added_p50']:.2f}** | {f['direct_p99']:.2f} | {f['proxy_p99']:.2f} | **{f['added_p99']:.2f}** |"
            f" {f['paired_p50']:.2f} / {f['paired_p99']:.2f} |"
            + (
                " (the mock's face search) |"
                if direction == "round trip"
                else f" {f['direct_over']} / {f['proxy_over']} |"
            )
        )
    return "\n".join(lines), every


# ---------------------------------------------------------------------------------------------- running


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")  # fmt: skip
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return (f"{os.cpu_count()} cores ({model}), {memory_kb / 2**20:.0f} GiB, Linux {platform.release()},"
            f" Python {platform.python_version()}")  # fmt: skip


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (every core, every process)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


@contextmanager
def servers(log_dir: Path) -> Iterator[tuple[str, str, subprocess.Popen, subprocess.Popen]]:
    """The stamped mock and the proxy in front of it, each in its own process; their output goes to files."""
    mock_port, proxy_port = free_port(), free_port()
    with (
        open(log_dir / "mock.log", "wb") as mock_out,
        open(log_dir / "proxy.log", "wb") as proxy_out,
        spawned([sys.executable, __file__, "--serve-mock", str(mock_port)], mock_port, mock_out) as mock,
        spawned(
            hume_contracts("proxy", "--target", f"http://127.0.0.1:{mock_port}", "--port", str(proxy_port)),
            proxy_port,
            proxy_out,
        ) as proxy,  # fmt: skip
    ):
        yield f"127.0.0.1:{mock_port}", f"127.0.0.1:{proxy_port}", mock, proxy


def phase(address: str, mock_address: str, plan: Plan) -> tuple[list[SessionLog], dict]:
    logs = asyncio.run(run_load(f"ws://{address}", plan))
    stamps = httpx.get(f"http://{mock_address}{STAMPS_PATH}", timeout=30).json()
    return logs, stamps


def measure(plan: Plan, rounds: int, log_dir: Path) -> dict[str, Any]:
    samples: dict[tuple, float] = {}
    problems: Counter[str] = Counter()
    cpu = Counter()
    wall = Counter()
    with servers(log_dir) as (mock_address, proxy_address, mock, proxy):
        warm = Plan(WARM_UP_SECONDS, 1, 1)  # first imports, first face search, first connections
        for address in (mock_address, proxy_address):
            phase(address, mock_address, warm)
        each = Plan(plan.seconds / rounds, plan.audio, plan.video)
        for round_ in range(rounds):
            for mode, address in (("direct", mock_address), ("proxy", proxy_address)):
                print(f"round {round_ + 1}/{rounds}: {mode} ... (load average {load_average()})", flush=True)
                processes = {"mock": mock.pid, "proxy": proxy.pid, "client": os.getpid()}
                before = {name: proc_figures(pid)[0] for name, pid in processes.items()}
                busy = machine_busy_seconds()
                started = time.perf_counter()
                logs, stamps = phase(address, mock_address, each)
                wall[mode] += time.perf_counter() - started
                ours = 0.0
                for name, pid in processes.items():
                    cpu[(mode, name)] += (spent := proc_figures(pid)[0] - before[name])
                    ours += spent
                # What else ran meanwhile: the machine is shared, and its load is what the tails follow.
                cpu[(mode, "others")] += machine_busy_seconds() - busy - ours
                one_way_ms(logs, stamps, mode, round_, samples, problems)
        proxy_rss = proc_figures(proxy.pid)[1]
    log_lines = (log_dir / "proxy.log").read_text(errors="replace").splitlines()
    return {"samples": samples, "problems": problems, "cpu": cpu, "wall": wall, "proxy_rss": proxy_rss,
            "proxy_log": log_lines}  # fmt: skip


def verdict(figures: dict[str, float], others: float) -> str:
    """The target, judged on frames and replies while streaming.

    The p99 is judged only when other programs left the cores to the bench (under ``QUIET_CORES`` of CPU while
    it ran direct): otherwise the slowest 1% of either mode are the machine's other load, and the difference of
    two such tails says nothing of the relay.
    """
    p50 = figures["added_p50"]
    text = [f"Target (added under {TARGET_P50_MS:g} ms at p50 and {TARGET_P99_MS:g} ms at p99, frames and replies"
            f" while streaming): p50 {'met' if p50 < TARGET_P50_MS else 'not met'} ({p50:.2f} ms added);"]  # fmt: skip
    p99, paired, direct = figures["added_p99"], figures["paired_p99"], figures["direct_p99"]
    if others > QUIET_CORES:
        text.append(f" p99 not judged in this run: other programs used {others:.2f} cores meanwhile (the direct"
                    f" connection's own p99 is {direct:.2f} ms); added {p99:.2f} ms, {paired:.2f} ms per message"
                    " (paired).")  # fmt: skip
    else:
        met = p99 < TARGET_P99_MS and paired < TARGET_P99_MS
        text.append(f" p99 {'met' if met else 'not met'} ({p99:.2f} ms added; {paired:.2f} ms per message, paired).")
    return "".join(text)


def report(args: argparse.Namespace, result: dict[str, Any], loads: tuple[str, str]) -> str:
    table, every = render_table(result["samples"])
    cpu, wall = result["cpu"], result["wall"]
    command = f"python bench/proxy_v1_realtime.py --seconds {args.seconds:g} --audio {args.audio} --video {args.video}"
    command += f" --rounds {args.rounds}"
    problems = ", ".join(f"{name}: {count}" for name, count in sorted(result["problems"].items()) if count) or "none"
    below_zero = sum(1 for value in result["samples"].values() if value < 0)  # one clock for both ends: none
    logged = [line for line in result["proxy_log"] if line.strip()]
    summary = next((line for line in reversed(logged) if line.startswith("proxy:")), "(none)")
    return "\n".join([
        f"`{command}` ({datetime.date.today().isoformat()}; {machine()}; load average {loads[0]} before,"
        f" {loads[1]} after). {args.audio} audio sessions (a 100 ms frame every 100 ms) and {args.video} video"
        f" sessions (3 JPEGs a second) at once, {args.seconds:g} s of streaming per mode in {args.rounds}"
        " alternating rounds; the mock, the proxy (`hume-contracts proxy`, default checks) and the load client in"
        " three processes on the same cores. Milliseconds, one way per message (stamped where the message leaves"
        " one program and where the next one's code gets it); added = proxied minus direct.",
        "",
        table,
        "",
        verdict(every[STREAMING], cpu[("direct", "others")] / wall["direct"]),
        f"CPU seconds per second of streaming: the mock {cpu[('direct', 'mock')] / wall['direct']:.2f} direct and"
        f" {cpu[('proxy', 'mock')] / wall['proxy']:.2f} proxied;"
        f" the proxy {cpu[('proxy', 'proxy')] / wall['proxy']:.2f} (peak RSS {result['proxy_rss']:.0f} MB);"
        " the load client"
        f" {cpu[('direct', 'client')] / wall['direct']:.2f} and {cpu[('proxy', 'client')] / wall['proxy']:.2f};"
        f" other programs on the machine {cpu[('direct', 'others')] / wall['direct']:.2f} and"
        f" {cpu[('proxy', 'others')] / wall['proxy']:.2f} (of {os.cpu_count()} cores)"
        f". Problems: {problems}; one-way times below zero: {below_zero}.",
        f"The proxy logged {len(logged)} lines (warm-up included); its summary at stop: `{summary}`. The mock"
        " runs without drifts, so each violation counted there is a false alarm of the proxy's checks on v1"
        " sessions.",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of streaming per mode (default 30)")
    parser.add_argument("--audio", type=int, default=16, help="audio sessions at once (default 16)")
    parser.add_argument("--video", type=int, default=4, help="video sessions at once (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating direct/proxied rounds (default 2)")
    parser.add_argument("--no-write", action="store_true", help="print, do not rewrite bench/PROXY_RESULTS.md")
    parser.add_argument("--serve-mock", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the bench's own child
    args = parser.parse_args()
    if args.serve_mock:
        serve_mock(args.serve_mock)
        return
    os.environ.pop("HTTP_PROXY", None)
    plan = Plan(args.seconds, args.audio, args.video)
    before = load_average()
    with tempfile.TemporaryDirectory(prefix="bench-proxy-v1-") as log_dir:
        result = measure(plan, args.rounds, Path(log_dir))
    text = report(args, result, (before, load_average()))
    print(text)
    if not args.no_write:
        replace_section(RESULTS, HEADING, text)
        print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
