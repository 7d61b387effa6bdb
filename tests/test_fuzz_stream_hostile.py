"""`fuzz`'s stream part against a server that floods pings and never reads (loopback only).

Such a server fills the socket buffers with the client's pongs; the websockets library's own thread then
blocks writing one while holding the connection's lock, and every send and close waits on that lock with no
timeout. Before the fix a `--time-budget 30` run was still going at 180 s. Now every wait on the stream
socket has a deadline within the budget, kept by shutting the socket down.
"""

from __future__ import annotations

import time

import pytest
from hostile_peers import ping_flooding_server

from contracts.cli import main
from contracts.fuzz import stream as stream_part
from contracts.fuzz.context import FuzzContext
from contracts.fuzz.ledger import Ledger
from contracts.fuzz.stream import run_stream

KEY = "hostile-test-key-0123456789"


def test_the_stream_part_ends_within_its_budget_and_says_what_it_saw(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_part, "CLOSE_TIMEOUT", 0.3)  # four handshakes whose close is never answered
    budget = 6.0
    with ping_flooding_server() as url:
        ctx = FuzzContext(
            base_url="", stream_url=url, api_key=KEY, ledger=Ledger(), max_examples=50, time_budget=budget,
            request_timeout=1.0, seed=1,
        )  # fmt: skip
        started = time.monotonic()
        run_stream(ctx)
        seconds = time.monotonic() - started
    assert seconds < budget + 2, seconds
    codes = {failure.code for failure in ctx.ledger.failures.values()}
    assert "stream-no-reply" in codes  # honest: frames went out and nothing came back
    assert any("time budget ran out" in note or "reconnects" in note for note in ctx.ledger.notes), ctx.ledger.notes


def test_fuzz_keeps_its_time_budget_against_a_ping_flood(capsys: pytest.CaptureFixture[str]) -> None:
    budget = 8
    with ping_flooding_server() as url:
        base = url.removesuffix("/v0/stream/models").replace("ws://", "http://")
        started = time.monotonic()
        code = main(["fuzz", "--base-url", base, "--api-key", KEY, "--only", "stream", "--time-budget", str(budget)])
        seconds = time.monotonic() - started
    out = capsys.readouterr()
    assert code == 1 and seconds < budget + 3, (code, seconds)
    assert f"time budget ({budget} s) ran out" in out.out and "Traceback" not in out.err
    assert KEY not in out.out + out.err
