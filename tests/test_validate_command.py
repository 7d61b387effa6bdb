"""``hume-contracts validate`` end to end: real corpus, hand-made traffic, hostile inputs, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.codes import ALL_CODES
from contracts.validate_command import main

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "corpus"
TRAFFIC = DATA / "traffic"
SECRET = "SECRET-KEY-DO-NOT-PRINT-1234"  # the API key recorded in batch.har and batch-cassette.yaml
CONSOLE_SCRIPT = Path(sys.executable).parent / "hume-contracts"


def validate(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def codes_by_location(capsys, *argv: str) -> tuple[int, dict[str, list[str]]]:
    code, out, _ = validate(capsys, "--format", "json", *argv)
    findings = json.loads(out)["findings"]
    return code, {f["location"]: [v["code"] for v in f["violations"]] for f in findings}


# ------------------------------------------------------------------------------------- real corpus


def test_every_recorded_response_conforms(capsys):
    code, out, err = validate(capsys, CORPUS / "recorded", CORPUS / "recorded-stream")
    assert (code, err) == (0, "")
    assert out.strip() == "validated 11 bodies in 11 files: 11 conform, none with violations"


def test_doc_examples_and_wiremock_stubs_conform_apart_from_placeholder_ids(capsys):
    code, out, _ = validate(capsys, "--disable", "job-id-uuid", CORPUS / "doc-examples")
    assert code == 0, out
    assert "validated 18 bodies in 14 files" in out  # 13 bodies + 5 WireMock stubs
    code, by_location = codes_by_location(capsys, CORPUS / "doc-examples")
    assert code == 1 and {c for codes in by_location.values() for c in codes} == {"job-id-uuid"}


def test_legacy_fixtures_fail_with_messages_naming_the_missing_fields(capsys):
    code, out, _ = validate(capsys, CORPUS / "legacy")
    assert code == 1
    assert "validated 6 bodies in 6 files: 0 conform, 6 with" in out
    assert "[job] /job_id: required field 'job_id' is missing" in out
    assert "schema-required" in out and "discriminator-missing" in out


# ----------------------------------------------------------------------------------- traffic files


def test_har_gives_each_failing_entry_its_code(capsys):
    code, by_location = codes_by_location(capsys, TRAFFIC / "batch.har")
    assert code == 1
    assert by_location == {
        "entries[1] GET /v0/batch/jobs/{id} -> 418": ["undeclared-status"],
        "entries[2] GET /v0/batch/jobs/{id}/predictions -> 200": ["wrong-content-type"],
        "entries[5] GET /v1/unknown": ["unknown-operation"],
        "entries[6] GET /v0/batch/jobs/{id} -> 200": ["unparsable-body"],
        "entries[7] GET /v0/batch/jobs/{id} -> 200": ["schema-required"],
    }


def test_cassette_gives_each_failing_interaction_its_code(capsys):
    code, by_location = codes_by_location(capsys, TRAFFIC / "batch-cassette.yaml")
    assert code == 1
    assert by_location == {  # interaction 2 sends a broken job request, and the server answered 200
        "http_interactions[2] POST /v0/batch/jobs (request)": ["invalid-request-accepted"],
        "http_interactions[3] GET /v0/batch/jobs/{id} -> 500": ["undeclared-status"],
        "http_interactions[4] GET /v0/batch/jobs/{id} -> 404": ["wrong-content-type"],
    }


def test_strict_requests_blames_the_request_itself(capsys):
    code, by_location = codes_by_location(capsys, "--strict-requests", TRAFFIC / "batch-cassette.yaml")
    assert code == 1
    assert by_location["http_interactions[2] POST /v0/batch/jobs (request)"] == ["schema-type"]


def test_stream_transcripts(capsys):
    code, out, _ = validate(capsys, TRAFFIC / "stream-good.jsonl")
    assert code == 0 and "validated 8 bodies in 1 file: 8 conform" in out
    code, by_location = codes_by_location(capsys, TRAFFIC / "stream-bad.jsonl")
    assert code == 1
    assert by_location == {  # the sent payload breaks the contract, and got predictions instead of an error
        "line 1 (sent)": ["invalid-request-accepted"],
        "line 2 (received)": ["probability-range", "box-size"],
    }
    _, by_location = codes_by_location(capsys, "--strict-requests", TRAFFIC / "stream-bad.jsonl")
    assert by_location["line 1 (sent)"] == ["schema-range"]


def test_disable_switches_off_a_rule(capsys):
    _, by_location = codes_by_location(capsys, "--disable", "box-size", TRAFFIC / "stream-bad.jsonl")
    assert by_location["line 2 (received)"] == ["probability-range"]


def test_kind_forces_how_a_body_is_read(capsys):
    job = CORPUS / "legacy" / "legacy-pysdk_details-response-queued.json"
    code, out, _ = validate(capsys, "--kind", "predictions", job)
    assert code == 1 and "[predictions]" in out


@pytest.mark.parametrize("report_format", ["text", "json", "junit"])
def test_the_api_key_never_reaches_any_report(capsys, tmp_path, report_format):
    inputs = [TRAFFIC / "batch.har", TRAFFIC / "batch-cassette.yaml"]
    assert all(SECRET in path.read_text() for path in inputs)
    output = tmp_path / "report"
    _, out, err = validate(capsys, "--format", report_format, "-v", *inputs)
    _, out2, err2 = validate(capsys, "--format", report_format, "--output", output, "-v", *inputs)
    assert SECRET not in out + err + out2 + err2 + output.read_text()


# ------------------------------------------------------------------------------- outputs and usage


def test_output_file_gets_the_report_and_stdout_the_summary(capsys, tmp_path):
    output = tmp_path / "report.xml"
    code, out, _ = validate(capsys, "--format", "junit", "--output", output, TRAFFIC)
    assert code == 1
    assert out.startswith("validated ") and out.count("\n") == 1
    root = ET.parse(output).getroot()
    # two bodies hold only an accepted invalid request: a judgement, so a warning, not a failure
    assert root.tag == "testsuites" and int(root.get("failures")) == 8 and root.get("warnings") == "2"
    assert {suite.get("name") for suite in root} == {str(path) for path in sorted(TRAFFIC.glob("*.*"))} - {
        str(TRAFFIC / "README.md")
    }


def test_list_codes_prints_every_code_with_its_meaning(capsys):
    code, out, _ = validate(capsys, "--list-codes")
    assert code == 0
    for name, meaning in ALL_CODES.items():
        assert f"{name}  " in out and meaning in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "no PATH given"),
        (["--disable", "no-such-code", "x.json"], "no-such-code"),
        (["--disable", "schema-required", "x.json"], "schema codes cannot be switched off"),
        (["--max-file-mib", "0", "x.json"], "must be positive"),
    ],
)
def test_usage_errors_exit_2(capsys, argv, message):
    code, out, err = validate(capsys, *argv)
    assert code == 2 and out == "" and message in err


def test_nothing_to_validate_is_not_a_pass(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    code, out, _ = validate(capsys, tmp_path)
    assert code == 2 and "nothing to validate" in out


# -------------------------------------------------------------------------------- unreadable input


def test_a_directory_mixing_good_bad_and_unreadable_files_exits_2_and_reports_all(capsys, tmp_path):
    shutil.copy(CORPUS / "recorded" / "twilio-vintel_text-source_language_EXCERPT.json", tmp_path / "good.json")
    shutil.copy(CORPUS / "legacy" / "legacy-pysdk_details-response-failed.json", tmp_path / "bad.json")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "cut.json").write_text('{"job_id": "')
    code, out, _ = validate(capsys, tmp_path)
    assert code == 2
    assert f"{tmp_path / 'bad.json'}: 1 body, 0 conform, 1 with" in out
    assert f"{tmp_path / 'sub' / 'cut.json'}: unreadable" in out
    assert out.rstrip().endswith(
        "validated 2 bodies in 2 files: 1 conform, 1 with 2 violations "
        "(1 discriminator-missing, 1 schema-required); 1 unreadable file"
    )


@pytest.mark.parametrize("verbose", [[], ["-v"]])
@pytest.mark.parametrize("report_format", ["text", "json"])
def test_a_subdirectory_that_cannot_be_read_exits_2_naming_it(capsys, tmp_path, monkeypatch, verbose, report_format):
    shutil.copy(CORPUS / "recorded" / "twilio-vintel_text-source_language_EXCERPT.json", tmp_path / "good.json")
    (tmp_path / "locked").mkdir()
    shutil.copy(tmp_path / "good.json", tmp_path / "locked" / "hidden.json")
    real_scandir = os.scandir  # tests run as root, who may list anything: refuse as the kernel would
    locked = tmp_path / "locked"
    monkeypatch.setattr(
        os,
        "scandir",
        lambda p: _raise(PermissionError(13, "Permission denied")) if Path(p) == locked else real_scandir(p),
    )
    code, out, err = validate(capsys, *verbose, "--format", report_format, tmp_path)
    assert code == 2
    if report_format == "json":
        (error,) = json.loads(out)["read_errors"]
        assert error == {"source": str(locked), "location": "", "message": "cannot read directory: Permission denied"}
        assert f"{locked}: cannot read directory" in err
    else:
        assert (
            f"{locked}: unreadable\n  unreadable (1)\n    (whole file): cannot read directory: Permission denied" in out
        )
        assert "validated 1 body in 1 file: 1 conform, none with violations; 1 unreadable file" in out


def _raise(error: Exception):
    raise error


HOSTILE = {
    "deep.json": b"[" * 100_000,
    "truncated.json": b'{"job_id": "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b", "state": {',
    "junk.json": bytes(range(256)) * 16,
    "empty.json": b"",
    "number.json": b"42",
    "deep.yaml": b"- " * 50_000 + b"x",
    "deep.jsonl": b"[" * 100_000 + b"\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("report_format", ["text", "json"])
def test_hostile_input_exits_2_naming_the_file_without_a_traceback(capsys, tmp_path, name, report_format):
    path = tmp_path / name
    path.write_bytes(HOSTILE[name])
    code, out, err = validate(capsys, "--format", report_format, path)
    assert code == 2
    assert str(path) in (out if report_format == "text" else err)
    assert "Traceback" not in out + err


def test_a_missing_path_is_reported_and_the_others_still_checked(capsys, tmp_path):
    code, out, _ = validate(capsys, tmp_path / "missing.json", TRAFFIC / "stream-good.jsonl")
    assert code == 2
    assert "missing.json: unreadable\n  unreadable (1)\n    (whole file): no such file or directory" in out
    assert "validated 8 bodies in 1 file: 8 conform" in out


def test_the_installed_console_script(tmp_path):
    cut = tmp_path / "cut.json"
    cut.write_text("{")
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "validate", str(TRAFFIC / "stream-good.jsonl"), str(cut)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "8 conform" in done.stdout and "cut.json: unreadable" in done.stdout
    assert "Traceback" not in done.stderr


def test_an_unwritable_output_exits_2_after_checking(capsys, tmp_path):
    code, out, err = validate(capsys, "--output", tmp_path, TRAFFIC / "stream-good.jsonl")
    assert code == 2
    assert "validated 8 bodies" in out and f"cannot write {tmp_path}" in err


def test_the_kind_choices_are_the_validators_kinds():
    from contracts import validate_command, validation

    assert set(validate_command.KINDS) == set(validation.KINDS)


# ------------------------------------------------------------------------------------- hostile names


def _write_named(directory: Path, name: bytes, content: bytes) -> None:
    """A file whose name is any bytes (as a Linux file name can be)."""
    with open(os.path.join(os.fsencode(directory), name), "wb") as handle:
        handle.write(content)


def test_names_with_a_newline_or_an_escape_sequence_print_escaped(capsys, tmp_path):
    for name in (b"a\nb.json", b"\x1b[2J\x1b]0;owned\x07.json"):
        _write_named(tmp_path, name, b"{")
    code, out, err = validate(capsys, tmp_path)
    assert code == 2 and "\x1b" not in out + err and "\x07" not in out
    assert f"{tmp_path}/a\\nb.json: unreadable" in out
    assert f"{tmp_path}/\\x1b[2J\\x1b]0;owned\\x07.json: unreadable" in out
    code, out, err = validate(capsys, "--format", "json", tmp_path)
    assert "\x1b" not in err and f"{tmp_path}/a\\nb.json: not valid JSON" in err


@pytest.mark.parametrize("report_format", ["text", "json", "junit"])
def test_a_name_that_is_not_utf8_is_written_in_every_report(capsys, tmp_path, report_format):
    _write_named(tmp_path, b"caf\xe9.json", b"{")
    _write_named(tmp_path, b"ok.json", b'{"job_id": "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"}')
    output = tmp_path / f"report.{report_format}"
    code, out, err = validate(capsys, "--format", report_format, "--output", output, tmp_path)
    assert code == 2 and "Traceback" not in err
    written = output.read_text(encoding="utf-8")
    shown = f"{tmp_path}/caf\\xe9.json"
    if report_format == "json":
        (error,) = json.loads(written)["read_errors"]
        assert error["source"] == shown and json.loads(written)["summary"]["bodies"] == 1
    elif report_format == "junit":
        assert shown in {suite.get("name") for suite in ET.fromstring(written)}
    else:
        assert f"{shown}: unreadable" in written
    assert f"{shown}: not valid JSON" in err


FILE_NAMES = st.binary(min_size=1, max_size=24).filter(lambda name: b"/" not in name and b"\0" not in name)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(FILE_NAMES, min_size=1, max_size=4, unique=True))
def test_any_file_names_give_utf8_reports_with_nothing_a_terminal_acts_on(capsys, names):
    with tempfile.TemporaryDirectory() as directory:
        for name in names:
            _write_named(Path(directory), name + b".json", b"[1,")
        for report_format in ("text", "json", "junit"):
            output = Path(directory, "report.out")  # not .json: never read back as an input
            code, out, err = validate(capsys, "--format", report_format, "--output", output, directory)
            assert code == 2 and "Traceback" not in err
            written = output.read_bytes().decode("utf-8")  # strict: every report is UTF-8
            if report_format == "json":
                assert len(orjson.loads(written)["read_errors"]) == len(names)
            elif report_format == "junit":
                assert len(ET.fromstring(written)) == len(names)
            shown = written if report_format == "text" else err
            assert not any(unicodedata.category(char) in {"Cc", "Cs"} for char in shown.replace("\n", ""))
            assert shown.count(": not valid JSON") == len(names) or report_format == "text"


@pytest.mark.parametrize("opening", [b'"' + b"a" * 2**20 + b'"', b"-1" + b"0" * 300, b"\xef\xbb\xbf  null"])
def test_a_big_file_of_one_scalar_is_refused_as_read_whole_without_reading_it(capsys, tmp_path, monkeypatch, opening):
    from contracts import validate_command

    small, big = tmp_path / "small.json", tmp_path / "big.json"
    small.write_bytes(b'"short"')
    big.write_bytes(opening)
    whole = validate(capsys, "--format", "json", small)
    monkeypatch.setattr(validate_command, "STREAM_FROM_BYTES", 1)  # every file is "big"
    monkeypatch.setattr(validate_command, "read_path", lambda *a: pytest.fail("read whole"))
    code, out, _ = validate(capsys, "--format", "json", big)
    assert code == whole[0] == 2
    assert [e["message"] for e in json.loads(out)["read_errors"]] == [
        e["message"] for e in json.loads(whole[1])["read_errors"]
    ]
    monkeypatch.undo()
    code, out, _ = validate(capsys, "--kind", "job", "--format", "json", big)  # asked for: checked as a body
    assert code == 1 and json.loads(out)["findings"][0]["violations"][0]["code"] == "schema-type"


# ------------------------------------------------------------------------------- evidence grades


def test_judgements_are_warnings_unless_strict(capsys):
    """An accepted invalid request is our reading, not Hume's promise: shown and counted, exit 0; strict: 1."""
    cassette = TRAFFIC / "stream-bad.jsonl"
    code, out, _ = validate(capsys, "--disable", "box-size", "--disable", "probability-range", cassette)
    assert code == 0
    assert "invalid-request-accepted (1) [judgement: a warning]" in out
    assert "1 warning (judgements, failing nothing: 1 invalid-request-accepted)" in out
    code, out, _ = validate(
        capsys, "--strict-judgements", "--disable", "box-size", "--disable", "probability-range", cassette
    )
    assert code == 1 and "1 with 1 violation (1 invalid-request-accepted)" in out


def test_every_report_format_shows_grades_and_warnings(capsys, tmp_path):
    code, out, _ = validate(capsys, "--format", "json", TRAFFIC / "stream-bad.jsonl")
    document = json.loads(out)
    assert code == 1 and document["summary"]["warnings_by_code"] == {"invalid-request-accepted": 1}
    violations = {v["code"]: v for finding in document["findings"] for v in finding["violations"]}
    assert violations["invalid-request-accepted"]["grade"] == "judgement"
    assert violations["invalid-request-accepted"]["warning"] is True
    assert (violations["box-size"]["grade"], violations["box-size"]["warning"]) == ("documented", False)
    code, out, _ = validate(capsys, "--format", "junit", TRAFFIC / "stream-bad.jsonl")
    root = ET.fromstring(out)
    assert root.get("warnings") == "1"
    outputs = [element.text for element in root.iter("system-out")]
    assert any("warning [judgement]" in text and "stream_window_ms" in text for text in outputs)


def test_a_model_no_real_output_shows_has_judgement_graded_completeness():
    """label-set-complete rests on real output for face, on Hume's docs alone for burst: a warning there."""
    from contracts import report
    from contracts.validation import validate_body
    from contracts.violations import Finding

    def item(model: str) -> dict:
        emotions = [{"name": "Joy", "score": 0.5}]
        grouped = {
            "grouped_predictions": [
                {"id": "x", "predictions": [{"time": {"begin": 0, "end": 1}, "emotions": emotions}]}
            ]
        }
        if model == "face":
            box = {"x": 0, "y": 0, "w": 1, "h": 1}
            grouped["grouped_predictions"][0]["predictions"][0] = {
                "frame": 0,
                "time": 0,
                "prob": 0.9,
                "box": box,
                "emotions": emotions,
            }
        return {
            "source": {"type": "text"},
            "results": {"predictions": [{"file": "f", "models": {model: grouped}}], "errors": []},
        }

    results = report.Results()
    for model in ("face", "burst"):
        found = [v for v in validate_body([item(model)], "predictions") if v.code == "label-set-complete"]
        assert found, model
        results.add(Finding(model, "", "predictions", found))
    assert results.files["face"].failing == 1 and results.files["burst"].failing == 0
    assert results.files["burst"].warnings_by_code == {"label-set-complete": 1}


def test_list_codes_shows_each_grade(capsys):
    code, out, _ = validate(capsys, "--list-codes")
    assert code == 0
    assert any(line.split()[:2] == ["invalid-request-accepted", "judgement"] for line in out.splitlines())
    assert any(line.split()[:2] == ["label-set", "recorded"] for line in out.splitlines())


# ------------------------------------------------------------------------------- a named payload


def test_a_stream_payload_named_alone_is_judged_as_a_body(capsys, tmp_path):
    """Like --kind job-request: a payload the user names that breaks the contract is exit 1, the violation
    shown (not "nothing to validate", as an unanswered frame of a recording is)."""
    payload = tmp_path / "payload.json"
    payload.write_text('{"models": {"face": {}}, "data": 5}')
    code, out, _ = validate(capsys, "--kind", "stream-payload", payload)
    assert code == 1
    assert "schema-type" in out and "/data: expected string, found integer 5" in out
    payload.write_text('{"models": {"face": {}}, "data": "aGVsbG8="}')
    code, out, _ = validate(capsys, "--kind", "stream-payload", payload)
    assert code == 0
