"""Readers of recorded traffic, the operation matcher and the reports (no validator needed)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import report, traffic
from contracts.readers import (
    MAX_DEPTH,
    BodyItem,
    HttpInteraction,
    HttpMessage,
    JsonProblem,
    Note,
    ReadError,
    ReadOptions,
    frame_direction,
    nesting_depth,
    parse_json,
    read_path,
    walk_inputs,
)
from contracts.violations import Finding, Violation

DATA = Path(__file__).parent / "data"
TRAFFIC = DATA / "traffic"
WIREMOCK = DATA / "corpus" / "doc-examples" / "python-sdk_wiremock_batch_mappings.json"
JOB_ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"


def read(path: Path, **options) -> list:
    return list(read_path(path, str(path), ReadOptions(**options)))


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


# ------------------------------------------------------------------------------------------- JSON


def test_parse_json_reads_a_document():
    assert parse_json(b'\xef\xbb\xbf{"a": [1, 2.5, null]}') == {"a": [1, 2.5, None]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{\n  "job_id": "x",\n  "state": {', "line 3 column"),
        ("", "empty"),
        ("[NaN]", "line 1 column 2"),
        ("[" * 100_000, "nested too deeply"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"more than {MAX_DEPTH} levels"),
    ],
)
def test_parse_json_refuses_bad_text_with_a_place(text, expected):
    with pytest.raises(JsonProblem, match=expected.replace("[", r"\[")):
        parse_json(text)


def test_non_utf8_names_the_byte_and_offset():
    with pytest.raises(JsonProblem, match=r"byte 0xe9 at offset 10 \(line 1\)"):
        parse_json('{"x": "caf\xe9"}'.encode("latin-1"))


def test_nesting_depth_counts_containers_only():
    assert nesting_depth(3) == 0
    assert nesting_depth({"a": [1, {"b": []}], "c": "x"}) == 4


# ------------------------------------------------------------------------------------- body files


def test_a_json_file_is_one_body_whose_kind_is_detected_later(tmp_path):
    path = write(tmp_path, "job.json", json.dumps({"job_id": JOB_ID}))
    assert read(path) == [BodyItem(str(path), "", None, {"job_id": JOB_ID})]
    assert read(path, force_kind="job-id")[0].kind == "job-id"


def test_a_file_over_the_size_cap_is_refused_without_reading(tmp_path):
    path = write(tmp_path, "big.json", "[" + "1," * 100 + "1]")
    (error,) = read(path, max_bytes=50)
    assert isinstance(error, ReadError) and error.location == ""
    assert "over the 50-byte limit" in error.message


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.json", b"", "empty"),
        ("junk.json", bytes(range(256)) * 4, "not UTF-8"),
        ("truncated.json", b'{"job_id": "', "line 1 column"),
        ("deep.json", b"[" * 100_000, "nested too deeply"),
        ("list.har", b"[]", "expected a HAR document"),
        ("deep.yaml", b"[" * 100_000, "nest"),  # our guard or libyaml's own limit (>= 0.2.5), whichever speaks
        ("evil.yaml", b'!!python/object/apply:os.system ["true"]\n', "could not determine a constructor"),
        ("openapi.yml", b"openapi: 3.1.0\n", "expected a VCR cassette"),
        ("broken.yaml", b"http_interactions: [\n  - {", "not valid YAML at line"),
    ],
)
def test_hostile_files_give_one_clear_read_error(tmp_path, name, content, expected):
    path = write(tmp_path, name, content)
    (error,) = read(path)
    assert isinstance(error, ReadError)
    assert error.source == str(path) and expected.lower() in error.message.lower()


@pytest.mark.parametrize("where", ["headers: {Accept: *a8}", "body: {string: *a8}"])
def test_yaml_alias_bombs_and_cycles_anywhere_in_a_cassette_refuse_the_file(tmp_path, where):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 8)}]" for i in range(1, 9)]
    lines.append(f"http_interactions: [{{request: {{method: GET, uri: /x, {where}}}, response: null}}]")
    (error,) = read(write(tmp_path, "bomb.yaml", "\n".join(lines)))
    assert isinstance(error, ReadError) and error.location == "" and "alias" in error.message
    (cycle,) = read(write(tmp_path, "cycle.yaml", "a: &a [*a]\nhttp_interactions: *a\n"))
    assert isinstance(cycle, ReadError) and cycle.location == "" and "cycle" in cycle.message


# ------------------------------------------------------------------------------------ transcripts


def test_transcript_envelopes_and_bare_frames_get_their_direction_and_line():
    items = read(TRAFFIC / "stream-good.jsonl")
    assert all(isinstance(item, BodyItem) for item in items)
    assert [item.location for item in items[:4]] == [
        "line 1 (sent)",
        "line 2 (received)",
        "line 3 (sent)",
        "line 4 (received)",
    ]
    assert [item.kind for item in items[:2]] == ["stream-payload", "stream-message"]
    assert items[6].body == {"reset_stream": True}  # a frame recorded as its raw text


@pytest.mark.parametrize(
    ("frame", "direction"),
    [
        ({"data": "aGk=", "models": {"face": {}}}, "sent"),
        ({"models": {"language": {}}}, "sent"),
        ({"raw_text": True}, "sent"),
        ({"reset_stream": True}, "sent"),
        ({"job_details": True}, "sent"),
        ({"job_details": {"job_id": "0" * 32}}, "received"),
        ({"face": {"predictions": []}}, "received"),
        ({"error": "bad", "code": "E0100"}, "received"),
        ([1, 2], "received"),
    ],
)
def test_bare_frame_direction_rule(frame, direction):
    assert frame_direction(frame) == direction


def test_a_bad_line_is_reported_and_the_rest_is_read(tmp_path):
    lines = [
        '{"face": {"predictions": []}}',
        "not json",
        "",
        '{"direction": "sideways", "frame": {}}',
        "[" * 100_000,
        '"just a string"',
        '{"direction": "sent", "frame": "{\\"data\\": "}',
        '{"reset_stream": true}',
    ]
    items = read(write(tmp_path, "t.jsonl", "\n".join(lines)))
    assert [type(item).__name__ for item in items] == ["BodyItem"] + ["ReadError"] * 5 + ["BodyItem"]
    errors = {item.location: item.message for item in items if isinstance(item, ReadError)}
    assert errors["line 2"].startswith("not valid JSON at column 1")
    assert "sideways" in errors["line 4"]
    assert "nested too deeply" in errors["line 5"]
    assert "found a string" in errors["line 6"]
    assert "line 7" in errors
    assert items[-1].location == "line 8 (sent)"


def test_an_empty_transcript_is_a_read_error(tmp_path):
    (error,) = read(write(tmp_path, "t.jsonl", "\n\n"))
    assert isinstance(error, ReadError) and "empty" in error.message


def test_a_transcript_is_read_lazily_line_by_line(tmp_path):
    path = write(tmp_path, "t.jsonl", '{"reset_stream": true}\n')
    items = read_path(path, str(path), ReadOptions())
    assert next(items).location == "line 1 (sent)"
    with path.open("a") as handle:  # written after the first item was handed out
        handle.write('{"face": {}}\n')
    assert next(items).location == "line 2 (received)"


# ------------------------------------------------------------------------------------------- HTTP


def test_har_entries_become_interactions_without_host_or_query():
    items = read(TRAFFIC / "batch.har")
    assert len(items) == 10 and all(isinstance(item, HttpInteraction) for item in items)
    first = items[0]
    assert (first.location, first.method, first.path) == ("entries[0]", "GET", f"/v0/batch/jobs/{JOB_ID}")
    assert first.response.status == 200 and first.response.is_base64
    assert json.loads(first.response.body_bytes())["job_id"] == JOB_ID
    post = items[3]
    assert post.request.content_type == "application/json" and json.loads(post.request.text)["notify"]
    assert all("SECRET" not in item.path for item in items)


def test_a_broken_har_entry_does_not_stop_the_others(tmp_path):
    entries = [
        {"response": {"status": 200}},
        {"request": {"method": "GET", "url": "https://x/v0/batch/jobs"}, "response": {"status": 0}},
        {"request": {"method": "GET", "url": "/v0/batch/jobs"}, "response": {"status": "teapot"}},
    ]
    items = read(write(tmp_path, "x.har", json.dumps({"log": {"entries": entries}})))
    assert isinstance(items[0], ReadError) and items[0].location == "entries[0]"
    assert isinstance(items[1], HttpInteraction) and items[1].response is None  # status 0: no response
    assert isinstance(items[2], ReadError) and "status code" in items[2].message


def test_cassette_interactions_follow_the_schemathesis_vcr_format():
    items = read(TRAFFIC / "batch-cassette.yaml")
    assert [item.location for item in items] == [f"http_interactions[{i}]" for i in range(7)]
    assert items[0].response.status == 200 and items[0].response.content_type == "application/json"
    assert items[1].response.is_base64 and isinstance(json.loads(items[1].response.body_bytes()), list)
    assert items[2].request.text == '{"urls": "not-a-list"}'
    assert items[5].response.truncated
    assert items[6].response is None


def test_wiremock_stubs_use_their_path_templates():
    items = read(WIREMOCK)
    assert [(item.method, item.path) for item in items] == [
        ("GET", "/v0/batch/jobs"),
        ("POST", "/v0/batch/jobs"),
        ("GET", "/v0/batch/jobs/{id}"),
        ("GET", "/v0/batch/jobs/{id}/predictions"),
        ("POST", "/v0/batch/jobs"),
    ]
    assert items[0].response.content_type == "application/json"


def test_wiremock_stubs_that_name_no_single_operation_are_skipped_with_a_note(tmp_path):
    mappings = [
        {"request": {"urlPattern": "/v0/.*", "method": "GET"}, "response": {"status": 200}},
        {"request": {"urlPath": "/v0/batch/jobs", "method": "ANY"}, "response": {"status": 200}},
        {"request": {"url": "/v0/batch/jobs?limit=1", "method": "get"}, "response": {"jsonBody": []}},
    ]
    items = read(write(tmp_path, "stubs.json", json.dumps({"mappings": mappings})))
    assert [type(item) for item in items] == [Note, Note, HttpInteraction]
    assert "regular expression" in items[0].message
    assert (items[2].method, items[2].path, items[2].response.status) == ("GET", "/v0/batch/jobs", 200)
    assert items[2].response.text == "[]"


def test_walk_inputs_recurses_sorted_and_notes_skipped_files(tmp_path):
    (tmp_path / "b").mkdir()
    write(tmp_path, "b/z.jsonl", "{}")
    write(tmp_path, "a.json", "{}")
    write(tmp_path, "readme.txt", "hi")
    os.symlink(tmp_path, tmp_path / "b" / "loop")  # a cycle must not be followed
    found = list(walk_inputs(tmp_path, str(tmp_path)))
    files = [Path(entry[1]).name for entry in found if isinstance(entry, tuple)]
    assert files == ["a.json", "z.jsonl"]
    assert [Path(entry.source).name for entry in found if isinstance(entry, Note)] == ["readme.txt", "loop"]
    (missing,) = walk_inputs(tmp_path / "nope", "nope")
    assert isinstance(missing, ReadError) and missing.message == "no such file or directory"


def refuse_listing(monkeypatch, *refused: Path, error: OSError | None = None) -> None:
    """Make listing the ``refused`` directories fail as for a user without the right (tests run as root)."""
    real_scandir = os.scandir

    def scandir(path):
        if Path(path) in refused:
            raise error or PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)


@pytest.mark.parametrize(
    "error", [PermissionError(13, "Permission denied"), OSError(5, "Input/output error"), OSError(40, "Too many")]
)
def test_a_directory_that_cannot_be_listed_is_an_unreadable_input_and_the_rest_is_walked(tmp_path, monkeypatch, error):
    for name in ("a/locked/x.json", "a/open/y.json", "b/z.json"):
        write_nested(tmp_path, name, "{}")
    refuse_listing(monkeypatch, tmp_path / "a" / "locked", error=error)
    found = list(walk_inputs(tmp_path, str(tmp_path)))
    assert [Path(entry[1]).name for entry in found if isinstance(entry, tuple)] == ["y.json", "z.json"]
    (refused,) = [entry for entry in found if isinstance(entry, ReadError)]
    assert refused.source == str(tmp_path / "a" / "locked") and refused.location == ""
    assert error.strerror in refused.message
    refuse_listing(monkeypatch, tmp_path)  # the top directory itself
    (top,) = walk_inputs(tmp_path, "given")
    assert isinstance(top, ReadError) and top.source == "given"


def write_nested(tmp_path: Path, name: str, content: str) -> Path:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    return write(tmp_path, name, content)


# -------------------------------------------------------------------------------- operation index

MINI_SPEC = {
    "servers": [{"url": "https://api.example.com/api"}],
    "paths": {
        "/v0/jobs/{id}": {
            "get": {
                "responses": {
                    "200": {"content": {"application/json": {"schema": {"type": "object"}}}},
                    "4XX": {"$ref": "#/components/responses/Problem"},
                    "default": {"description": "anything else, no body"},
                }
            }
        },
        "/v0/jobs/latest": {"get": {"responses": {"200": {"content": {"text/*": {}}}}}},
        "/v0/jobs": {
            "post": {
                "requestBody": {"content": {"application/json": {"schema": {}}}},
                "responses": {"200": {"content": {"application/json": {"schema": {}}}}},
            }
        },
    },
    "components": {"responses": {"Problem": {"content": {"application/problem+json": {"schema": {"type": "object"}}}}}},
}


def test_concrete_paths_win_over_templates_and_server_base_paths_are_stripped():
    index = traffic.OperationIndex(MINI_SPEC)
    assert index.match("GET", "/v0/jobs/latest").template == "/v0/jobs/latest"
    assert index.match("GET", "/v0/jobs/123").template == "/v0/jobs/{id}"
    assert index.match("GET", "/api/v0/jobs/123").template == "/v0/jobs/{id}"
    assert index.match("GET", "/v0/jobs/123/more") is None
    assert index.match("DELETE", "/v0/jobs/123") is None


def test_status_lookup_tries_exact_then_range_then_default_and_follows_refs():
    index = traffic.OperationIndex(MINI_SPEC)
    operation = index.match("GET", "/v0/jobs/1")
    assert index.response(operation, 200).location == "/paths/~1v0~1jobs~1{id}/get/responses/200"
    problem = index.response(operation, 404)
    assert (problem.key, problem.location) == ("4XX", "/components/responses/Problem")
    assert index.response(operation, 503).key == "default"


@pytest.mark.parametrize(
    ("actual", "declared", "expected"),
    [
        ("Application/JSON; charset=utf-8", ["application/json"], "application/json"),
        ("text/plain", ["text/*"], "text/*"),
        ("image/png", ["*/*", "application/json"], "*/*"),
        ("text/html", ["application/json"], None),
        (None, ["application/json"], None),
    ],
)
def test_media_type_matching(actual, declared, expected):
    assert traffic.match_media_type(actual, declared) == expected


def _interaction(method, path, status=None, content_type=None, text=None, request=None):
    response = HttpMessage(content_type, text, status=status) if status is not None else None
    return HttpInteraction("rec.har", "entries[0]", method, path, request, response)


def _check(interaction, disabled=(), strict_requests=False):
    calls = []

    def fake_validate(body, schema_pointer, *, kind=None, disabled=()):
        calls.append((body, schema_pointer, kind))
        return [Violation("schema-type", "/x", "string", "integer 1")] if body == {"x": 1} else []

    index = traffic.OperationIndex(MINI_SPEC)
    results = traffic.check_interaction(
        interaction, index=index, validate=fake_validate, disabled=disabled, strict_requests=strict_requests
    )
    return results, calls


def test_a_json_body_is_validated_against_the_schema_of_its_status():
    results, calls = _check(_interaction("GET", "/v0/jobs/1", 200, "application/json", '{"x": 1}'))
    (finding,) = results
    assert finding.location == "entries[0] GET /v0/jobs/{id} -> 200"
    assert [v.code for v in finding.violations] == ["schema-type"]
    assert calls == [({"x": 1}, "/paths/~1v0~1jobs~1{id}/get/responses/200/content/application~1json/schema", None)]


def test_a_referenced_response_is_validated_at_its_component():
    _, calls = _check(_interaction("GET", "/v0/jobs/1", 404, "application/problem+json", "{}"))
    assert calls[0][1] == "/components/responses/Problem/content/application~1problem+json/schema"


@pytest.mark.parametrize(
    ("interaction", "code"),
    [
        (_interaction("GET", "/v9/nothing", 200, "application/json", "{}"), "unknown-operation"),
        (_interaction("POST", "/v0/jobs", 201, "application/json", "{}"), "undeclared-status"),
        (_interaction("GET", "/v0/jobs/1", 200, "text/html", "<p>"), "wrong-content-type"),
        (_interaction("GET", "/v0/jobs/1", 200, None, "{}"), "wrong-content-type"),
        (_interaction("GET", "/v0/jobs/1", 503, "text/plain", "down"), "wrong-content-type"),
        (_interaction("GET", "/v0/jobs/1", 200, "application/json", '{"x": '), "unparsable-body"),
        (_interaction("GET", "/v0/jobs/1", 200, "application/json", None), "unparsable-body"),
    ],
)
def test_traffic_codes(interaction, code):
    results, _ = _check(interaction)
    assert [v.code for result in results for v in result.violations] == [code]
    assert not _check(interaction, disabled=[code])[0][0].violations


def test_a_request_body_is_checked_and_a_missing_response_noted():
    request = HttpMessage("application/json", '{"x": 1}')
    results, calls = _check(_interaction("POST", "/v0/jobs", request=request), strict_requests=True)
    finding, note = results
    assert finding.location == "entries[0] POST /v0/jobs (request)" and finding.kind == "job-request"
    assert calls[0][1:] == (
        "/paths/~1v0~1jobs/post/requestBody/content/application~1json/schema",
        "job-request",
    )
    assert isinstance(note, Note) and "no response" in note.message
    (lenient, _), _ = _check(_interaction("POST", "/v0/jobs", request=request))  # unjudged without an answer
    assert isinstance(lenient, Note) and "breaks the contract" in lenient.message


def test_a_non_json_body_is_checked_for_status_and_content_type_only():
    results, calls = _check(_interaction("GET", "/v0/jobs/latest", 200, "text/plain", "\x00\x01 binary"))
    assert results[0].ok and calls == []


# ------------------------------------------------------------------------------------------ reports


def _results(keep_passing=False) -> report.Results:
    results = report.Results(keep_passing=keep_passing)
    required = Violation("schema-required", "/job_id", "job_id", "nothing", "openapi#/x/required")
    labels = Violation("label-set", "/0/emotions/0/name", "a known label", '"Joyy"', "rule label-set")
    results.add(Finding("a.json", "", "job", [required, required, required]))
    results.add(Finding("b.har", "entries[0] GET /v0/batch/jobs -> 200", "jobs", [labels, labels]))
    for index in range(21):
        results.add(Finding("c.jsonl", f"line {index + 1} (received)", "stream-message"))
    for name in ("d.json", "e.json", "f.json", "g.json"):
        results.add(Finding(name, "", "job"))
    results.add(ReadError("h.json", "", "not valid JSON at line 1 column 2: unexpected end of data"))
    return results


def test_the_summary_line():
    assert report.summary_line(_results()) == (
        "validated 27 bodies in 7 files: 25 conform, 2 with 5 violations (3 schema-required, 2 label-set); "
        "1 unreadable file"
    )


def test_exit_code_two_wins_over_one():
    results = _results()
    assert results.exit_code == 2
    del results.files["h.json"]
    assert results.exit_code == 1
    clean = report.Results()
    clean.add(Finding("x.json", "", "job"))
    assert clean.exit_code == 0
    assert report.Results().exit_code == 2  # nothing checked is not a pass


def test_passing_findings_are_counted_but_only_kept_for_junit():
    assert len(_results().files["c.jsonl"].findings) == 0
    assert len(_results(keep_passing=True).files["c.jsonl"].findings) == 21


def test_text_report_groups_by_file_then_code():
    text = report.render_text(_results())
    assert text.index("a.json: 1 body, 0 conform, 1 with 3 violations") < text.index("b.har")
    assert "  schema-required (3) [documented]\n    [job] /job_id: expected job_id, found nothing\n" in text
    assert "  label-set (2) [recorded]\n" in text  # each code shows its evidence grade
    assert "      schema: openapi#/x/required" in text
    assert "    entries[0] GET /v0/batch/jobs -> 200 [jobs] /0/emotions/0/name:" in text
    assert "h.json: unreadable\n  unreadable (1)\n    (whole file): not valid JSON" in text
    assert "c.jsonl" not in text  # conforming files are listed in verbose mode only
    assert "c.jsonl: 21 bodies, 21 conform" in report.render_text(_results(), verbose=True)
    assert text.rstrip("\n").splitlines()[-1] == report.summary_line(_results())


def test_json_report_structure():
    document = json.loads(report.render_json(_results()))
    assert list(document) == [
        "tool",
        "version",
        "summary",
        "files",
        "findings",
        "read_errors",
        "notes",
        "rejected_requests",
    ]
    assert document["summary"]["by_code"] == {"schema-required": 3, "label-set": 2}
    assert document["summary"]["exit_code"] == 2
    assert [f["source"] for f in document["findings"]] == ["a.json", "b.har"]
    assert document["findings"][0]["violations"][0]["pointer"] == "/job_id"
    assert document["read_errors"] == [
        {
            "source": "h.json",
            "location": "",
            "message": "not valid JSON at line 1 column 2: unexpected end of data",
        }
    ]


def test_junit_report_is_valid_xml_even_with_control_characters():
    results = _results(keep_passing=True)
    results.add(Finding("i.json", "", "job", [Violation("schema-type", "/a", "string", '"\x00\x1b junk"')]))
    root = ET.fromstring(report.render_junit(results))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("29", "3", "1")
    suites = {suite.get("name"): suite for suite in root}
    assert len(suites["c.jsonl"].findall("testcase")) == 21
    assert suites["a.json"].find("testcase/failure").get("message") == "3 violations: 3 schema-required"
    assert suites["h.json"].find("testcase/error") is not None
    assert 'found "\\x00\\x1b junk"' in suites["i.json"].find("testcase/failure").text  # escaped, as in text


# ------------------------------------------------------------------------------ encodings, surrogates, lines


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("name", ["body.json", "t.jsonl", "c.yaml", "x.har"])
def test_utf16_and_utf32_input_is_named_as_such(tmp_path, encoding, name):
    text = '{"job_id": "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"}\n'
    (error,) = read(write(tmp_path, name, text.encode(encoding)))
    expected = encoding.upper().replace("-", "")[:5]  # UTF16 / UTF32, whichever byte order
    assert isinstance(error, ReadError) and error.location == ""
    assert expected in error.message.replace("-", "") and "expected UTF-8" in error.message


def _har_with(tmp_path: Path, place: str, index: int) -> Path:
    """batch.har with a lone surrogate in one entry: in its response body, its URL, or an unused header."""
    document = json.loads((TRAFFIC / "batch.har").read_text())
    entry = document["log"]["entries"][index]
    if place == "body":
        entry["response"]["content"]["text"] = '{"job_id": "\ud800"}'
    elif place == "url":
        entry["request"]["url"] = entry["request"]["url"].replace("/batch/", "/batch\udfff/")
    else:
        entry["request"]["headers"].append({"name": "X-Trace", "value": "\udc80"})
    path = tmp_path / "one-surrogate.har"
    path.write_text(json.dumps(document), encoding="ascii")  # the surrogate as a \u escape, as recorders write
    return path


@pytest.mark.parametrize("index", [0, 4, 9])
@pytest.mark.parametrize("place", ["body", "url"])
def test_a_lone_surrogate_makes_only_its_har_entry_unreadable(tmp_path, place, index):
    items = read(_har_with(tmp_path, place, index))
    assert len(items) == 10
    (error,) = [item for item in items if isinstance(item, ReadError)]
    assert error.location == f"entries[{index}]" and "lone surrogate" in error.message
    assert [item.location for item in items if isinstance(item, HttpInteraction)] == [
        f"entries[{i}]" for i in range(10) if i != index
    ]


def test_a_lone_surrogate_where_nothing_is_checked_leaves_every_entry_readable(tmp_path):
    items = read(_har_with(tmp_path, "header", 3))
    assert len(items) == 10 and all(isinstance(item, HttpInteraction) for item in items)


def test_a_body_file_with_a_lone_surrogate_is_unreadable_and_other_bad_json_still_says_why(tmp_path):
    (error,) = read(write(tmp_path, "body.json", '{"job_id": "\\ud800"}'))
    assert isinstance(error, ReadError) and error.location == "" and "lone surrogate" in error.message
    for text, expected in [('["\\ud800", NaN]', "line 1 column"), ('["\\ud800", 1e400]', "line 1 column")]:
        (error,) = read(write(tmp_path, "bad.json", text))
        assert isinstance(error, ReadError) and expected in error.message  # not let through by the fallback


@settings(max_examples=40, deadline=None)
@given(
    good=st.lists(st.sampled_from(['{"reset_stream": true}', '{"face": {"predictions": []}}', ""]), max_size=8),
    bad=st.sampled_from(['{"face": ', "[1,", '{"a": tru', "nope"]),
    after=st.integers(0, 3),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_a_bad_transcript_line_is_named_by_its_own_number(tmp_path_factory, good, bad, after, newline):
    lines = [*good, bad, *['{"reset_stream": true}'] * after]
    path = write(tmp_path_factory.mktemp("t"), "t.jsonl", newline.join(lines) + newline)
    (error,) = [item for item in read(path) if isinstance(item, ReadError)]
    assert error.location == f"line {len(good) + 1}"
    assert "line" not in error.message  # the place inside the line is a column, never another line
