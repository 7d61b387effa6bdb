"""Hostile input, round 3: `validate`'s readers and `coverage` (issue 15, section 4).

- Compressed cassette bodies are capped per body and per file; a budget running out is a named read error
  (exit 2), never the contract violation `unparsable-body`; running out of memory likewise.
- An array of invalid items costs the detailed validator only for the first few (the rest judged in chunks).
- A YAML cassette too big to load in bounded memory is refused by name, and the rest of the run is reported.
- `coverage`: malformed reports, control characters, an unwritable --output and a meaningless --min-coverage.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import brotli
import pytest

from contracts import safe_yaml
from contracts.cli import main
from contracts.fast import MAX_DESCRIBED_ITEMS
from contracts.readers import JsonProblem, nesting_depth, parse_json
from contracts.validation import validate_body


def cassette(bodies: list[bytes], encoding: str = "br") -> str:
    lines = ["version: 1", "interactions:"]
    for body in bodies:
        lines += [
            "- request: {method: GET, uri: 'https://api.hume.ai/v0/batch/jobs', body: null, headers: {}}",
            "  response:",
            "    status: {code: 200, message: OK}",
            f"    headers: {{Content-Type: [application/json], Content-Encoding: [{encoding}]}}",
            f"    body: {{string: !!binary '{base64.b64encode(body).decode()}'}}",
        ]
    return "\n".join(lines) + "\n"


def run_validate(capsys, *args: str) -> tuple[int, str]:
    code = main(["validate", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_file_of_small_brotli_bombs_is_a_named_read_error_within_the_per_file_budget(tmp_path: Path, capsys):
    bomb = brotli.compress(b"a" * (2 * 2**20), quality=5)  # 2 MiB of text each, a few hundred bytes compressed
    path = tmp_path / "bombs.yaml"
    path.write_text(cassette([bomb] * 8), encoding="utf-8")
    code, out = run_validate(capsys, str(path), "--max-file-mib", "5")
    assert code == 2
    assert "past 5242880 bytes decoded, in total" in out  # the third body runs the file's budget out
    assert out.count("unparsable-body") == 2  # the two bodies within the budget are judged: not JSON


def test_one_body_past_the_cap_is_a_read_error_not_unparsable(tmp_path: Path, capsys):
    path = tmp_path / "one.yaml"
    path.write_text(cassette([brotli.compress(b"[" + b"0," * 2**20 + b"0]", quality=5)]), encoding="utf-8")
    code, out = run_validate(capsys, str(path), "--max-file-mib", "1")
    assert code == 2
    assert "expands past the 1048576-byte limit" in out
    assert "unparsable-body" not in out


def test_out_of_memory_while_parsing_is_never_a_contract_violation(monkeypatch):
    import orjson

    def no_memory(_data):
        raise orjson.JSONDecodeError("Not enough memory to allocate buffer for parsing", "", 0)

    monkeypatch.setattr(orjson, "loads", no_memory)
    with pytest.raises(MemoryError):
        parse_json(b"[0]")


def test_out_of_memory_reading_a_file_is_a_read_error_and_the_run_goes_on(tmp_path: Path, capsys, monkeypatch):
    import contracts.validate_command as validate_command

    real = validate_command.read_path

    def exhausted(path, source, options):  # a generator, as read_path is: the error comes while reading
        if path.name == "big.json":
            raise MemoryError
        yield from real(path, source, options)

    monkeypatch.setattr(validate_command, "read_path", exhausted)
    (tmp_path / "big.json").write_text("[]", encoding="utf-8")
    (tmp_path / "ok.json").write_text(json.dumps({"job_id": "0d3a1c8e-5d3e-4f2a-9a0b-8f4f3c2b1a00"}), encoding="utf-8")
    code, out = run_validate(capsys, str(tmp_path), "--format", "json")
    assert code == 2
    report = json.loads(out[: out.rindex("}") + 1])
    assert report["summary"]["bodies"] == 1  # ok.json is still checked and reported
    assert "out of memory" in out


def test_invalid_array_items_beyond_those_described_are_summed_up_and_fast():
    items = 200_000
    started = time.perf_counter()
    violations = validate_body([0] * items, "jobs")
    seconds = time.perf_counter() - started
    described = [v for v in violations if v.code == "schema-type"]
    assert len(described) == MAX_DESCRIBED_ITEMS
    assert any("more items from index 200 on" in v.message for v in violations)
    assert seconds < 30  # was ~90 s: every item went through the detailed validator (generous for a busy machine)


def test_an_invalid_item_after_many_valid_ones_is_still_described():
    job = {"job_id": "x"}  # invalid: far from a whole job, but an object
    body = [0] * 5000 + [job]
    pointers = {v.pointer for v in validate_body(body, "jobs")}
    assert "/5000" in " ".join(pointers) or any(p.startswith("/5000") for p in pointers)


def test_nesting_depth_is_exact_for_plain_and_subclassed_containers():
    class Mapping(dict):
        pass

    assert nesting_depth([0] * 1000) == 1
    assert nesting_depth([[0], {"a": [[]]}]) == 4
    assert nesting_depth([Mapping(a=[[]])]) == 4
    assert nesting_depth(3) == 0


def test_a_yaml_document_of_too_many_nodes_is_refused_by_name():
    text = "[" + ", ".join(["1"] * 101) + "]"
    with pytest.raises(safe_yaml.YamlProblem, match="more than 100 nodes"):
        safe_yaml.load(text, max_nodes=100)
    assert safe_yaml.load("[1, 2]", max_nodes=100) == [1, 2]


def test_a_huge_yaml_cassette_is_a_named_read_error_and_the_rest_of_the_run_is_reported(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(safe_yaml, "MAX_NODES", 500)
    one = (
        "- request: {method: GET, uri: 'https://api.hume.ai/v0/batch/jobs', body: null, headers: {}}\n"
        "  response: {status: {code: 200, message: OK}, headers: {Content-Type: [application/json]}, "
        "body: {string: '[]'}}\n"
    )
    (tmp_path / "huge.yaml").write_text("version: 1\ninteractions:\n" + one * 200, encoding="utf-8")
    (tmp_path / "small.yaml").write_text("version: 1\ninteractions:\n" + one, encoding="utf-8")
    code, out = run_validate(capsys, str(tmp_path))
    assert code == 2
    assert "more than 500 nodes" in out
    assert "validated 1 body in 1 file: 1 conform" in out  # small.yaml, checked after it


def test_the_pytest_item_of_a_file_out_of_memory_fails_with_a_readable_message(tmp_path, monkeypatch):
    from contracts import pytest_plugin, validate_command

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(validate_command, "file_results", exhausted)
    item = object.__new__(pytest_plugin.RecordingItem)
    item.recording, item.error, item.name = tmp_path / "x.json", None, "x.json"
    monkeypatch.setattr(pytest_plugin, "_shared_checker", lambda config: None)
    item.config = type("Config", (), {"getoption": staticmethod(lambda name: False)})()  # the options' defaults
    with pytest.raises(pytest_plugin.RecordingFailed, match="x.json: unreadable: out of memory"):
        item.runtest()


def test_non_json_is_still_unparsable_not_out_of_memory():
    with pytest.raises(JsonProblem):
        parse_json(b"[0,")


# -- coverage -----------------------------------------------------------------------------------------------


def coverage_main(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["coverage", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "document",
    [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"areas": {"fields": ["a", "b"]}}),
        json.dumps({"areas": {"fields": {"elements": ["a"]}}}),
        json.dumps({"areas": {}, "unknown": ["x"]}),
        json.dumps({"coverage": {"areas": []}}),
    ],
    ids=["deep", "area-list", "elements-list", "unknown-list", "areas-list"],
)
def test_malformed_coverage_reports_are_named_errors(tmp_path: Path, capsys, document: str) -> None:
    path = tmp_path / "report.json"
    path.write_text(document, encoding="utf-8")
    code, _, err = coverage_main(capsys, str(path))
    assert code == 2
    assert "report.json" in err and "Traceback" not in err


def test_control_characters_in_names_are_escaped(tmp_path: Path, capsys) -> None:
    path = tmp_path / "report.json"
    forged = "x\n  operations   99/99\x1b[2J"
    path.write_text(json.dumps({"areas": {}, "unknown": {forged: 1}}), encoding="utf-8")
    code, out, _ = coverage_main(capsys, str(path))
    assert code == 0
    assert "\x1b" not in out and "\\x1b" in out and "x\\n  operations" in out


def test_an_unwritable_output_is_a_named_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"areas": {}}), encoding="utf-8")
    code, _, err = coverage_main(capsys, str(path), "--output", str(tmp_path / "missing" / "out.txt"))
    assert code == 2 and "cannot write" in err


@pytest.mark.parametrize("value", ["nan", "-1", "101", "inf"])
def test_a_meaningless_min_coverage_is_a_usage_error(tmp_path: Path, capsys, value: str) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"areas": {}}), encoding="utf-8")
    code, _, err = coverage_main(capsys, str(path), "--min-coverage", value)
    assert code == 2 and "--min-coverage" in err


def test_a_fifo_report_is_refused(tmp_path: Path, capsys) -> None:
    import os

    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    code, _, err = coverage_main(capsys, str(fifo))
    assert code == 2 and "not a regular file" in err
