"""Hostile input, round 3: `spec --rebase` and `diff` (issue 15, sections 1 and 4).

- No command opens a file or fetches a URL that a document names: an external `$ref` is named in the report and
  not followed (a loopback listener standing in for the URL receives no connection; a secret file's content
  appears nowhere in the output).
- Comparisons are memoised per schema pair and bounded: fan-out through allOf/oneOf and `$ref` siblings ends in
  a bounded time, with a named "comparison too large" outcome when the budget runs out.
- Non-regular files (a FIFO, a character device) are refused before anything is read.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import openapi
from contracts.cli import main
from contracts.evolution.diff_report import DiffReport
from contracts.evolution.rebase import Judge, spec_problems

SECRET = "db_password=hunter2-round3"


class Listener:
    """A loopback port that records every connection made to it (and closes it at once)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    running = Listener()
    yield running
    running.close()


def hostile_upstream(tmp_path: Path, port: int) -> Path:
    """The vendored upstream with a response schema in a secret file, and schemas at loopback URLs."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    document = copy.deepcopy(openapi.load_upstream())
    media = document["paths"]["/v0/batch/jobs"]["get"]["responses"]["200"]["content"]
    next(iter(media.values()))["schema"] = {"$ref": secret.resolve().as_uri()}
    schemas = document["components"]["schemas"]
    schemas["Fetched"] = {"$ref": f"http://127.0.0.1:{port}/schema.json"}
    schemas["FetchedFtp"] = {"$ref": f"ftp://127.0.0.1:{port}/schema.json"}  # urllib's fallback would try it
    schemas["Relative"] = {"$ref": "secret.txt"}
    path = tmp_path / "upstream.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_rebase_names_external_refs_and_opens_or_fetches_none(tmp_path: Path, listener: Listener, capsys) -> None:
    upstream = hostile_upstream(tmp_path, listener.port)
    code = main(["spec", "--rebase", str(upstream), "--output", str(tmp_path / "out.yaml")])
    out = capsys.readouterr()
    assert code == 1  # README: exit 1 when the document refers outside itself
    assert "refers outside itself" in out.out
    assert f"http://127.0.0.1:{listener.port}/schema.json" in out.out
    assert "secret.txt" in out.out
    assert SECRET not in out.out + out.err
    assert SECRET not in (tmp_path / "out.yaml").read_text(encoding="utf-8")
    assert listener.connections == 0


def test_rebase_json_report_lists_external_refs(tmp_path: Path, listener: Listener, capsys) -> None:
    upstream = hostile_upstream(tmp_path, listener.port)
    assert main(["spec", "--rebase", str(upstream), "--format", "json"]) == 1
    out = capsys.readouterr().out
    report = json.loads(out)
    assert len(report["external_refs"]) == 4
    assert SECRET not in out
    assert listener.connections == 0


def test_spec_validator_and_judges_refuse_external_refs(tmp_path: Path, listener: Listener) -> None:
    """openapi-spec-validator, jsonschema-rs and jsonschema each meet the references and follow none."""
    document = json.loads(hostile_upstream(tmp_path, listener.port).read_text(encoding="utf-8"))
    problems = spec_problems(document)
    assert problems and SECRET not in " ".join(problems)
    judge = Judge(document)
    for name in ("Fetched", "FetchedFtp", "Relative"):
        verdict = judge.violations({"a": 1}, f"/components/schemas/{name}")
        assert SECRET not in str(verdict)
    assert listener.connections == 0


def test_diff_names_external_refs_without_following_them(tmp_path: Path, listener: Listener, capsys) -> None:
    upstream = hostile_upstream(tmp_path, listener.port)
    code = main(["diff", str(upstream), str(upstream), "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0  # the same document: nothing breaks anyone
    notes = json.loads(out)["notes"]
    assert sum("refers outside the document" in note for note in notes) == 8  # 4 per side
    assert SECRET not in out
    assert listener.connections == 0


# -- non-regular files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["spec", "--rebase"], ["diff", "openapi/repaired.yaml"]])
def test_a_fifo_is_refused_not_read(tmp_path: Path, command: list[str], capsys) -> None:
    fifo = tmp_path / "upstream.yaml"
    os.mkfifo(fifo)  # opening it for reading would block forever: nobody writes
    assert main([*command, str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["spec", "--rebase"], ["diff", "openapi/repaired.yaml"]])
def test_dev_zero_is_refused_not_read(command: list[str], capsys) -> None:
    assert main([*command, "/dev/zero"]) == 2
    assert "not a regular file" in capsys.readouterr().err


# -- fan-out: every schema pair compared once, the total bounded ---------------------------------------------


def fan_out_document(shapes: list[str], leaf_type: str) -> dict:
    """Schemas S0..Sn, each reaching the next twice (allOf, oneOf, or $refs with siblings): 2**n paths."""
    schemas: dict = {}
    for level, shape in enumerate(shapes):
        ref = {"$ref": f"#/components/schemas/S{level + 1}"}
        if shape == "siblings":
            schemas[f"S{level}"] = {
                "type": "object",
                "properties": {"a": {**ref, "description": "a"}, "b": {**ref, "description": "b"}},
            }
        else:
            schemas[f"S{level}"] = {shape: [dict(ref), {"allOf": [dict(ref)]}]}
    schemas[f"S{len(shapes)}"] = {"type": "object", "properties": {"x": {"type": leaf_type}}}
    schema = {"$ref": "#/components/schemas/S0"}
    response = {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "fan-out", "version": "1"},
        "paths": {"/v0/batch/jobs": {"get": {"responses": response}}},
        "components": {"schemas": schemas},
    }


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=st.lists(st.sampled_from(["allOf", "oneOf", "anyOf", "siblings"]), min_size=20, max_size=40))
def test_nested_fan_out_is_compared_in_bounded_time(shapes: list[str]) -> None:
    from contracts.evolution.diff import diff_documents

    started = time.perf_counter()
    changes = diff_documents("openapi", fan_out_document(shapes, "integer"), fan_out_document(shapes, "string"))
    assert time.perf_counter() - started < 20  # 2**40 paths: never ended before (generous for a busy machine)
    assert any(change.code in ("type-changed", "too-deep") for change in changes)


def test_a_comparison_past_its_budget_is_a_named_outcome(monkeypatch) -> None:
    from contracts.evolution import diff

    monkeypatch.setattr(diff, "MAX_COMPARISONS", 5)
    shapes = ["siblings"] * 10
    changes = diff.diff_documents("openapi", fan_out_document(shapes, "integer"), fan_out_document(shapes, "string"))
    assert [c.code for c in changes].count("comparison-too-large") == 1
    report = DiffReport("old", "new", changes)
    assert report.exit_code == 1 and "INCOMPLETE" in report.to_text(breaking_only=True)  # not compared: not green


def test_rebase_does_not_run_the_spec_validator_on_a_fan_out(tmp_path: Path) -> None:
    document = fan_out_document(["oneOf"] * 40, "integer")
    started = time.perf_counter()
    problems = spec_problems(document)
    assert time.perf_counter() - started < 20
    assert problems and "too large to check" in problems[0]


def test_rebase_of_a_document_with_too_many_schemas_is_refused_named(tmp_path: Path, capsys) -> None:
    """10,000 schemas took over a minute to rebase: past the bound it is a named refusal, exit 2, at once."""
    schemas = {f"S{i}": {"type": "object"} for i in range(10_000)}
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {"schemas": schemas},
    }
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(document))
    started = time.perf_counter()
    assert main(["spec", "--rebase", str(path)]) == 2
    assert time.perf_counter() - started < 20
    err = capsys.readouterr().err
    assert str(path) in err and "too large to rebase" in err and "10000 schemas" in err
