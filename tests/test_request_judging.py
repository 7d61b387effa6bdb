"""Recorded requests judged by what was sent, against the real contract; readers of request bodies."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import httpx
import pytest

from contracts import report, traffic
from contracts.readers import (
    BodyItem,
    HttpInteraction,
    HttpMessage,
    Note,
    ReadError,
    ReadOptions,
    RecordedOrigin,
    read_path,
)
from contracts.validate_command import with_stream_replies
from contracts.violations import Finding, RejectedRequest

JOBS = "/v0/batch/jobs"
ERROR = '{"status_code": 400, "message": "bad request"}'
JOB_ID = '{"job_id": "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"}'


def exchange(method, path, status, body, *, query="", request=None, origin=None):
    response = HttpMessage("application/json", body, status=status)
    return HttpInteraction("rec.har", "entries[0]", method, path, request or HttpMessage(None), response, query, origin)


def judged(interaction, strict=False):
    return traffic.check_interaction(interaction, strict_requests=strict)


def request_results(results):
    return [r for r in results if "(request" in r.location or isinstance(r, RejectedRequest)]


def upload(files=(), data=None) -> HttpMessage:
    """A multipart body exactly as httpx puts it on the wire."""
    sent = httpx.Request("POST", "http://mock" + JOBS, files=list(files), data=data)
    return HttpMessage(sent.headers["content-type"], raw=b"".join(sent.stream))


PNG = ("file", ("face.png", b"\x89PNG\r\n\x1a\n", "image/png"))


# ------------------------------------------------------------------------------------------- verdicts


@pytest.mark.parametrize(
    ("query", "code", "where"),
    [
        ("limit=0", "schema-range", "/limit"),
        ("limit=abc", "schema-type", "/limit"),
        ("limit=1&limit=2", "schema-type", "/limit"),
        ("status=QUEUED&status=DONE", "schema-enum", "/status/1"),
        ("timestamp_ms=-1", "schema-range", "/timestamp_ms"),
        ("when=later", "schema-enum", "/when"),
    ],
)
def test_an_invalid_query_refused_is_a_rejection_and_accepted_is_a_violation(query, code, where):
    (rejected,) = request_results(judged(exchange("GET", JOBS, 400, ERROR, query=query)))
    assert isinstance(rejected, RejectedRequest) and rejected.answer == "400"
    assert [(v.code, v.pointer) for v in rejected.violations] == [(code, where)]
    (accepted,) = request_results(judged(exchange("GET", JOBS, 200, "[]", query=query)))
    assert isinstance(accepted, Finding) and [v.code for v in accepted.violations] == ["invalid-request-accepted"]
    (strict,) = request_results(judged(exchange("GET", JOBS, 400, ERROR, query=query), strict=True))
    assert [(v.code, v.pointer) for v in strict.violations] == [(code, where)]


@pytest.mark.parametrize("query", ["", "limit=5", "status=COMPLETED&status=FAILED", "x-unknown=1", "limit=65535"])
def test_a_valid_query_is_not_judged_at_all(query):
    results = judged(exchange("GET", JOBS, 200, "[]", query=query))
    assert request_results(results) == [] and all(r.ok for r in results)


def test_a_5xx_answer_to_an_invalid_request_is_judged_as_a_response():
    results = judged(exchange("GET", JOBS, 500, ERROR, query="limit=0"))
    assert [v.code for r in results if isinstance(r, Finding) for v in r.violations] == ["undeclared-status"]
    assert any(isinstance(r, Note) and "breaks the contract" in r.message for r in results)


@pytest.mark.parametrize(("status", "kind"), [(405, RejectedRequest), (404, RejectedRequest), (200, Finding)])
def test_an_unknown_operation_refused_is_a_rejection(status, kind):
    (result,) = judged(exchange("DELETE", JOBS, status, ERROR))
    assert isinstance(result, kind)
    if kind is Finding:
        assert [v.code for v in result.violations] == ["unknown-operation"]
    (strict,) = judged(exchange("DELETE", JOBS, status, ERROR), strict=True)
    assert isinstance(strict, Finding) and [v.code for v in strict.violations] == ["unknown-operation"]


def test_a_missing_required_body_is_judged():
    (rejected,) = request_results(judged(exchange("POST", JOBS, 400, ERROR)))
    assert isinstance(rejected, RejectedRequest) and rejected.violations[0].code == "schema-required"


def test_a_negative_case_valid_on_the_wire_is_a_valid_request_with_a_note():
    origin = RecordedOrigin("negative", "coverage", "Object with unexpected properties")
    results = judged(exchange("GET", JOBS, 200, "[]", query="x-unknown=42", origin=origin))
    assert all(isinstance(r, Note) or r.ok for r in results)
    (note,) = [r for r in results if isinstance(r, Note)]
    assert "negative case" in note.message and "valid on the wire" in note.message


# ------------------------------------------------------------------------------------------ multipart


def test_a_valid_upload_passes():
    request = upload([PNG], {"json": json.dumps({"models": {"face": {}}})})
    results = judged(exchange("POST", JOBS, 200, JOB_ID, request=request))
    assert all(r.ok for r in results) and any(r.location.endswith("(request)") for r in results)


@pytest.mark.parametrize(
    ("files", "data", "code", "where"),
    [
        ([PNG], {"json": json.dumps({"models": 5})}, "schema-type", "/json/models"),
        ([PNG], {"json": "not json"}, "schema-type", "/json"),
        (
            [("json", (None, json.dumps({"models": {"face": {}}}), "application/json"))],
            None,
            "schema-required",
            "/file",
        ),
    ],
)
def test_an_invalid_upload_is_judged_by_its_parts(files, data, code, where):
    request = upload(files, data)
    (rejected,) = request_results(judged(exchange("POST", JOBS, 400, ERROR, request=request)))
    assert isinstance(rejected, RejectedRequest)
    assert (rejected.violations[0].code, rejected.violations[0].pointer) == (code, where)
    (accepted,) = request_results(judged(exchange("POST", JOBS, 200, JOB_ID, request=request)))
    assert [v.code for v in accepted.violations] == ["invalid-request-accepted"]


def test_a_part_typed_by_schemathesis_as_boolean_is_bytes_on_the_wire():
    """issue 8.2's case: `file` generated as a boolean is sent as the bytes `true`: a valid upload."""
    request = upload([("file", ("file", b"true", "application/octet-stream"))])
    results = judged(exchange("POST", JOBS, 200, JOB_ID, request=request))
    assert all(r.ok for r in results)


def test_a_multipart_body_that_is_not_multipart_is_unparsable():
    request = HttpMessage("multipart/form-data; boundary=abc", "(multipart body, 10 bytes)")
    (rejected,) = request_results(judged(exchange("POST", JOBS, 400, ERROR, request=request)))
    assert rejected.violations[0].code == "unparsable-body"


# ----------------------------------------------------------------------------------------- HAR bodies


def har(tmp_path: Path, post_data: dict, body_size: int) -> HttpInteraction:
    entry = {
        "request": {"method": "POST", "url": "http://mock" + JOBS, "headers": [], "bodySize": body_size},
        "response": {"status": 400, "headers": [], "content": {"mimeType": "application/json", "text": ERROR}},
    }
    entry["request"]["postData"] = post_data
    path = tmp_path / "run.har"
    path.write_text(json.dumps({"log": {"entries": [entry]}}))
    (interaction,) = read_path(path, "run.har", ReadOptions())
    return interaction


def test_har_post_data_in_base64_is_recognised_by_its_body_size(tmp_path):
    body = b"[null, null]"
    encoded = base64.b64encode(body).decode()
    unmarked = har(tmp_path, {"mimeType": "application/json", "text": encoded}, len(body))
    assert unmarked.request.body_bytes() == body  # schemathesis --report-preserve-bytes writes no marker
    marked = har(tmp_path, {"mimeType": "application/json", "text": encoded, "encoding": "base64"}, -1)
    assert marked.request.body_bytes() == body
    plain = har(tmp_path, {"mimeType": "application/json", "text": "1234"}, 4)  # valid base64 too, but plain
    assert plain.request.body_bytes() == b"1234"


def test_har_form_params_are_the_upload_parts(tmp_path):
    params = [
        {"name": "file", "fileName": "a.png", "contentType": "image/png"},
        {"name": "json", "value": '{"models": 1}'},
    ]
    interaction = har(tmp_path, {"mimeType": "multipart/form-data; boundary=x", "params": params}, 300)
    (rejected,) = request_results(traffic.check_interaction(interaction))
    assert [(v.code, v.pointer) for v in rejected.violations] == [("schema-type", "/json/models")]


# -------------------------------------------------------------------------------------------- vcrpy


def vcrpy_file(tmp_path: Path, text: str) -> list:
    path = tmp_path / "cassette.yaml"
    path.write_text(text)
    return list(read_path(path, "cassette.yaml", ReadOptions(max_bytes=1_000_000)))


INTERACTION = """{request: {method: GET, uri: "http://mock/v0/batch/jobs", body: null, headers: {}},
     response: {status: {code: 200, message: OK}, headers: {Content-Type: [application/json]},
                body: {string: "[]"}}}"""


def test_an_aliased_interaction_is_read_once(tmp_path):
    items = vcrpy_file(tmp_path, f"interactions:\n- &a {INTERACTION}\n" + "- *a\n" * 3)
    assert isinstance(items[0], HttpInteraction) and len(items) == 4
    assert all(isinstance(item, Note) and "interactions[0]" in item.message for item in items[1:])


def test_a_compressed_body_past_the_limit_is_refused(tmp_path):
    bomb = base64.b64encode(gzip.compress(b"0" * 5_000_000)).decode()
    text = f"""interactions:
- request: {{method: GET, uri: "http://mock/v0/batch/jobs", body: null, headers: {{}}}}
  response:
    status: {{code: 200, message: OK}}
    headers: {{Content-Type: [application/json], Content-Encoding: [gzip]}}
    body: {{string: !!binary "{bomb}"}}
"""
    (error,) = vcrpy_file(tmp_path, text)
    assert isinstance(error, ReadError) and "limit" in error.message and error.location == "interactions[0]"


def test_an_older_httpx_stub_response_is_read(tmp_path):
    text = """interactions:
- request: {method: GET, uri: "http://mock/v0/batch/jobs?limit=2", body: "", headers: {}}
  response: {status_code: 200, http_version: HTTP/1.1, headers: {content-type: [application/json]}, content: "[]"}
"""
    (interaction,) = vcrpy_file(tmp_path, text)
    assert interaction.response.status == 200 and interaction.response.body_bytes() == b"[]"
    assert interaction.query == "limit=2"


def test_a_non_cassette_yaml_names_both_formats(tmp_path):
    (error,) = vcrpy_file(tmp_path, "openapi: 3.1.0\n")
    assert isinstance(error, ReadError) and "http_interactions" in error.message and "interactions" in error.message


# ------------------------------------------------------------------------------------- stream replies


def frame(kind: str, number: int) -> BodyItem:
    return BodyItem("t.jsonl", f"line {number}", kind, {})


def test_each_sent_frame_is_paired_with_the_next_reply_in_order():
    items = [
        frame("stream-payload", 1),
        frame("stream-payload", 2),
        frame("stream-message", 3),
        frame("stream-message", 4),
    ]
    pairs = [(item.location, reply.location if reply else None) for item, reply in with_stream_replies(iter(items))]
    assert pairs == [("line 1", "line 3"), ("line 3", None), ("line 2", "line 4"), ("line 4", None)]


def test_unanswered_frames_are_bounded():
    items = (frame("stream-payload", n) for n in range(10_000))
    assert sum(1 for _, reply in with_stream_replies(items) if reply is None) == 10_000


# -------------------------------------------------------------------------------------------- reports


def test_rejections_are_counted_not_failed():
    results = report.Results(keep_passing=True)
    results.add(Finding("a.har", "entries[0]", "jobs"))
    results.add(RejectedRequest("a.har", "entries[1] GET /v0/batch/jobs (request query)", "400", [], "negative"))
    assert results.exit_code == 0
    assert report.summary_line(results).endswith("; 1 invalid request correctly rejected")
    suite = report.render_junit(results)
    assert 'tests="2" failures="0"' in suite and "correctly rejected" in suite


def test_a_query_with_too_many_fields_is_refused_without_parsing_it_all():
    query = "&".join(["x=1"] * (traffic.MAX_QUERY_FIELDS + 1))
    (rejected,) = request_results(judged(exchange("GET", JOBS, 400, ERROR, query=query)))
    assert isinstance(rejected, RejectedRequest) and rejected.violations[0].code == "schema-other"
