"""The run context's budgets: bounded bodies (gzip decoded once), redaction, job budget, rate limit."""

from __future__ import annotations

import gzip

import httpx
import pytest

from contracts.fuzz.context import BodyTooLarge, FuzzContext, RateLimiter, Redactor, _bounded
from contracts.fuzz.ledger import Ledger


def gzip_server(request: httpx.Request) -> httpx.Response:
    body = gzip.compress(b'{"a": 1}' * 1000)
    return httpx.Response(200, headers={"content-encoding": "gzip", "content-type": "application/json"}, content=body)


def test_a_bounded_read_decodes_gzip_once_and_refuses_oversized_bodies() -> None:
    client = httpx.Client(transport=httpx.MockTransport(gzip_server), base_url="http://target")
    response = _bounded(client, client.build_request("GET", "/"), 1_000_000)
    assert response.content == b'{"a": 1}' * 1000
    with pytest.raises(BodyTooLarge):
        _bounded(client, client.build_request("GET", "/"), 100)


def test_redaction_covers_plain_and_url_encoded_forms() -> None:
    redactor = Redactor(["k/y+1"])
    assert redactor.text("key k/y+1 and k%2Fy%2B1 in ?apikey=k%2Fy%2B1") == (
        "key [REDACTED] and [REDACTED] in ?apikey=[REDACTED]"
    )
    assert redactor.json({"k/y+1": ["k/y+1"]}) == {"[REDACTED]": ["[REDACTED]"]}


def test_the_job_budget_is_never_exceeded() -> None:
    ctx = FuzzContext(base_url="http://x", stream_url="ws://x", api_key="k", ledger=Ledger(), max_jobs=2)
    assert [ctx.take_job() for _ in range(4)] == [True, True, False, False]


def test_the_rate_limiter_spaces_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("contracts.fuzz.context.time.sleep", slept.append)
    limiter = RateLimiter(10)
    for _ in range(3):
        limiter.wait()
    assert len(slept) == 2 and all(0 < s <= 0.2 for s in slept)


def test_a_429_is_waited_out_within_the_budget_and_noted_apart_from_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("contracts.fuzz.context.time.sleep", slept.append)
    ctx = FuzzContext(base_url="http://x", stream_url="ws://x", api_key="k", ledger=Ledger(), time_budget=10)
    assert ctx.wait_out("2", "GET /v0/batch/jobs") is True
    assert ctx.wait_out("not-a-number", "GET /v0/batch/jobs") is True  # treated as 1 s
    assert ctx.wait_out("600", "GET /v0/batch/jobs") is False  # capped at 30 s, still over the budget
    assert slept == [2.0, 1.0] and ctx.ledger.rate_limited_seconds == 3.0
    assert not ctx.ledger.has_failures and "rate limited (429)" in ctx.ledger.notes[0]
