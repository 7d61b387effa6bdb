"""The run context's budgets: bounded bodies (gzip decoded once), redaction, job budget, rate limit.

Redaction is property-tested: random keys (one character and up), random texts and recordings.
"""

from __future__ import annotations

import gzip
import json
import re
import string
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from contracts.fuzz.bounded import SocketWatch, send_httpx
from contracts.fuzz.context import BodyTooLarge, FuzzContext, RateLimiter, Redactor
from contracts.fuzz.ledger import CheckFailure, Ledger
from contracts.fuzz.recorder import Recorder
from contracts.fuzz.redaction import REDACTED
from contracts.fuzz.report import write_reports
from contracts.fuzz.runner import FuzzResult
from contracts.proxy.addons import SessionResults
from contracts.readers import ReadOptions, read_path
from contracts.violations import Finding, Violation


def gzip_server(request: httpx.Request) -> httpx.Response:
    body = gzip.compress(b'{"a": 1}' * 1000)
    return httpx.Response(200, headers={"content-encoding": "gzip", "content-type": "application/json"}, content=body)


def test_a_bounded_read_decodes_gzip_once_and_refuses_oversized_bodies() -> None:
    client = httpx.Client(transport=httpx.MockTransport(gzip_server), base_url="http://target")
    response = send_httpx(client, client.build_request("GET", "/"), SocketWatch(), 5.0, 1_000_000)
    assert response.content == b'{"a": 1}' * 1000
    with pytest.raises(BodyTooLarge):
        send_httpx(client, client.build_request("GET", "/"), SocketWatch(), 5.0, 100)


def test_redaction_covers_plain_and_url_encoded_forms() -> None:
    for key in ("k/y+1", "k/y+1-long-enough-key"):
        redactor = Redactor([key])
        encoded = key.replace("/", "%2F").replace("+", "%2B")
        assert redactor.text(f"key {key} and {encoded} in ?apikey={encoded}") == (
            "key [REDACTED] and [REDACTED] in ?apikey=[REDACTED]"
        )
    long_key = "k/y+1-long-enough-key"
    assert Redactor([long_key]).json({long_key: [long_key]}) == {"[REDACTED]": ["[REDACTED]"]}


def test_a_short_key_is_redacted_where_it_is_the_key_and_nowhere_else() -> None:
    redactor = Redactor(["a"])
    assert redactor.text("started a run") == "started [REDACTED] run"
    assert redactor.text("X-Hume-Api-Key: a") == "X-Hume-Api-Key: [REDACTED]"
    assert redactor.url("http://u:a@127.0.0.1:8000/v0/a/jobs?apikey=a&a=b") == (
        "http://u:[REDACTED]@127.0.0.1:8000/v0/a/jobs?apikey=[REDACTED]&a=b"
    )
    body = '{"a": {"status": "a"}, "list": ["a b", "started"]}'
    assert json.loads(redactor.json_text(body)) == {"a": {"status": REDACTED}, "list": ["[REDACTED] b", "started"]}
    curl = "curl -sS -X GET 'http://127.0.0.1:8000/v0/batch/jobs' -H \"X-Hume-Api-Key: $HUME_API_KEY\""
    assert redactor.text(curl) == curl and redactor.json_text('{"state": "started"}') == '{"state": "started"}'


def test_a_long_key_is_redacted_even_inside_other_text() -> None:
    key = "S3cretKeyValue0123456789"
    assert Redactor([key]).text(f"job-{key}x") == "job-[REDACTED]x"
    assert Redactor([key]).json_text(json.dumps({key: 1})) == '{"[REDACTED]": 1}'


KEYS = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=40)
WORDS = st.lists(st.text(string.ascii_letters + string.digits + "-_ ./:?=&\"'", max_size=12), max_size=8)


def as_token(key: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(key)}(?![\w-])")


@settings(max_examples=300, deadline=None)
@given(key=KEYS, words=WORDS, data=st.data())
def test_redacted_text_never_shows_the_key_as_a_token_and_leaves_other_text_alone(
    key: str, words: list[str], data: st.DataObject
) -> None:
    assume(key != "REDACTED")  # the marker's own letters
    redactor = Redactor([key])
    text = " ".join(words)
    with_key = " ".join(data.draw(st.permutations([*words, key, f"apikey={key}", f"{key}:"])))
    assert not as_token(key).search(redactor.text(with_key))
    if not as_token(key).search(text):
        assert redactor.text(text) == text and redactor.json_text(json.dumps(words)) == json.dumps(words)


# Keys that are JSON, XML or URL syntax on their own: a writer that redacts structure as text corrupts its file.
SYNTAX_KEYS = ("null", "true", "1", '"', ":")


@settings(max_examples=100, deadline=None)
@given(key=KEYS | st.sampled_from(SYNTAX_KEYS), values=st.lists(st.text(string.printable, max_size=10), max_size=5))
@example(key="null", values=["null", "a"])
@example(key="true", values=["true"])
@example(key="1", values=["1", "a 1"])
@example(key='"', values=['"', "a"])
@example(key=":", values=["a:b", ":"])
def test_a_recording_with_any_key_reads_back_and_holds_no_key_where_it_was_the_key(
    key: str, values: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    assume(key != "REDACTED")
    recorder = Recorder(Redactor([key]))
    sent_body = {"text": values, "models": {"language": {}}, "callback_url": None, "notify": True, "n": 1}
    body = json.dumps(sent_body).encode()
    url = f"http://127.0.0.1:9/v0/batch/jobs?apikey={key}&limit=1"
    # no content type: the recorder must see JSON by what the bytes are, not by a label
    request = httpx.Request("POST", url, headers={"X-Hume-Api-Key": key}, content=body)
    reply = {"job_id": key, "status": "started", "texts": values}
    recorder.http(httpx.Response(200, json=reply, request=request))
    recorder.stream_session(f"ws://127.0.0.1:9/v0/stream/models?apikey={key}", [("send", 1.0, json.dumps(reply))])
    path = tmp_path_factory.mktemp("har") / "run.har"
    recorder.write(path)
    entries = json.loads(path.read_text(encoding="utf-8"))["log"]["entries"]
    sent, answer = entries[0]["request"], entries[0]["response"]
    assert {h["value"] for h in sent["headers"] if h["name"].lower() == "x-hume-api-key"} == {REDACTED}
    for recorded_url in (sent["url"], entries[1]["request"]["url"]):
        assert httpx.URL(recorded_url).params["apikey"] == REDACTED and httpx.URL(recorded_url).host == "127.0.0.1"
    assert json.loads(answer["content"]["text"])["job_id"] == REDACTED
    recorded_body = json.loads(sent["postData"]["text"])  # still JSON, whatever the key
    assert {k: v for k, v in recorded_body.items() if k != "text"} == {
        k: v for k, v in sent_body.items() if k != "text"
    }
    assert len(recorded_body["text"]) == len(values) and key not in recorded_body["text"]
    assert json.loads(entries[1]["_webSocketMessages"][0]["data"])["job_id"] == REDACTED
    items = list(read_path(path, str(path), ReadOptions()))
    assert items and not [item for item in items if type(item).__name__ == "ReadError"]


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


@pytest.mark.parametrize("key", SYNTAX_KEYS)
def test_every_report_writer_keeps_its_format_whatever_the_key(key: str, tmp_path: Path) -> None:
    """The fuzz's reports (from a ledger of redacted text) and the proxy's (redacted as written) stay JSON and XML."""
    redactor = Redactor([key])
    found = redactor.text(f'{{"callback_url": null, "job_id": "{key}", "n": 1}} apikey={key}')
    ledger = Ledger()
    ledger.ok("POST /v0/batch/jobs", "schema")
    ledger.fail(CheckFailure("POST /v0/batch/jobs", "schema", "schema-type", "a title", "1 job", found, "curl 1"))
    fuzz_paths = write_reports(FuzzResult(ledger, "http://127.0.0.1:9", 1, 1.0, 1), tmp_path / "fuzz")
    session = SessionResults()
    violation = Violation("schema-type", f"/{key}", "a string", f'{key} "{key}" 1 null true', "#/x", f"{key}: 1")
    session(Finding(f"http://proxy/v0/batch/jobs?apikey={key}", f"#1 {key}", "job", [violation]))
    proxy_paths = session.write(tmp_path / "proxy", redactor)
    for path in [*fuzz_paths, *proxy_paths]:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".xml":
            junit = ElementTree.fromstring(text)
            assert {e.get("tests") for e in junit.iter() if e.get("tests")} <= {"1", "2"}, text  # counts kept
    assert ElementTree.parse(tmp_path / "proxy" / "junit.xml").getroot().get("failures") == "1"


def test_bodies_that_are_not_json_keep_their_kind_when_redacted() -> None:
    long_key = "S3cretKeyValue0123456789"
    assert (
        Redactor([long_key]).binary(b"\x89PNG\x00\xff" + long_key.encode() + b"\xfe")
        == b"\x89PNG\x00\xff[REDACTED]\xfe"
    )
    assert Redactor(["1"]).binary(b"\x001\x00") == b"\x001\x00"  # a short key cannot be told from data
    assert Redactor(["="]).form_text("a=%3D&b==") == "a=[REDACTED]&b=[REDACTED]"  # names and `=` kept
    assert Redactor(["null"]).json_text('{"a": null, "b": "null"}') == '{"a": null, "b": "[REDACTED]"}'
    assert Redactor(["NaN"]).json_text('{"a": NaN}') == '{"a": [REDACTED]}'  # not JSON: free text
