"""Contract coverage: counted exactly, merged across runs, and cheap enough to leave on."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import contracts.coverage as coverage_module
from contracts import cli
from contracts.coverage import AREAS, Coverage, collecting, default_catalogue
from contracts.validation import KIND_SCHEMAS, validate_body
from strategies.responses import build_predictions_body

SHARED = Path(__file__).resolve().parents[2] / "shared" / "hume" / "corpus"
JOB_ID = "6f1c6c47-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
NOT_FOUND = '{"status_code": 404, "message": "no"}'


def har(*entries: tuple[str, str, int, str, str]) -> str:
    """A HAR of (method, url, status, content type, body) exchanges."""
    return json.dumps(
        {
            "log": {
                "version": "1.2",
                "creator": {"name": "test", "version": "1"},
                "entries": [
                    {
                        "request": {"method": method, "url": url, "headers": []},
                        "response": {
                            "status": status,
                            "headers": [{"name": "content-type", "value": media}] if media else [],
                            "content": {"mimeType": media, "text": body},
                        },
                    }
                    for method, url, status, media, body in entries
                ],
            }
        }
    )


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """Three files whose coverage is counted by hand below, element by element."""
    (tmp_path / "warning.json").write_text('{"face": {"warning": "No faces detected.", "code": "W0103"}}')
    (tmp_path / "error.json").write_text('{"error": "Invalid JSON", "code": "E0100", "payload_id": "p1"}')
    (tmp_path / "session.har").write_text(
        har(
            ("GET", "http://h/v0/batch/jobs?status=COMPLETED&limit=1", 200, "application/json", "[]"),
            (
                "GET",
                f"http://h/v0/batch/jobs/{JOB_ID}",
                404,
                "application/json",
                '{"status_code": 404, "message": "no"}',
            ),
            ("GET", "http://h/v0/batch/jobs/x/artifacts", 418, "", ""),
        )
    )
    return tmp_path


def validate_json(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = cli.main(["validate", "--format", "json", *argv])
    return code, json.loads(capsys.readouterr().out)


def covered(document: dict) -> dict[str, set[str]]:
    areas = document["coverage"]["areas"]
    return {area: {name for name, seen in areas[area]["elements"].items() if seen} for area in AREAS}


def test_a_hand_counted_corpus_is_covered_element_by_element(small_corpus: Path, capsys) -> None:
    code, document = validate_json("--coverage", str(small_corpus), capsys=capsys)
    assert code == 1  # the 418 is undeclared: a violation, and apart in the coverage
    assert covered(document) == {
        # the list answer (200) and the unknown job (404); the 418 is not an element of the contract
        "operations": {"GET /v0/batch/jobs 200", "GET /v0/batch/jobs/{id} 404"},
        # a reply with no error/warning/code key is predictions; its face slot holds a per-model warning
        "variants": {
            "StreamReply StreamModelPredictions",
            "StreamReply StreamErrorMessage",
            "StreamModelPredictions.face StreamModelWarning",
        },
        # `status` is an enum query parameter; `limit` is not
        "enums": {"GET /v0/batch/jobs ?status=COMPLETED"},
        "fields": {
            # the warning reply: face present, the six other optional keys absent
            "StreamModelPredictions.face present",
            *(f"StreamModelPredictions.{key} absent" for key in ("payload_id", "job_details", "burst")),
            *(f"StreamModelPredictions.{key} absent" for key in ("facemesh", "language", "prosody")),
            # the error reply: payload_id given, job_details not (error and code are required: no element)
            "StreamErrorMessage.payload_id present",
            "StreamErrorMessage.job_details absent",
            # the 404 body: both keys of the error body are optional
            "ErrorBody.status_code present",
            "ErrorBody.message present",
        },
        "models": set(),  # a warning is no prediction
        "codes": {"W0103", "E0100"},
    }
    assert document["coverage"]["covered"] == 19
    assert document["coverage"]["unknown"] == {"operations: GET /v0/batch/jobs/{id}/artifacts 418 (undeclared)": 1}
    total = sum(len(default_catalogue().elements[area]) for area in AREAS)
    assert document["coverage"]["total"] == total and document["coverage"]["percent"] == round(100 * 19 / total, 2)


def test_without_coverage_the_report_is_unchanged(small_corpus: Path, capsys) -> None:
    _, document = validate_json(str(small_corpus), capsys=capsys)
    assert "coverage" not in document


def test_min_coverage_fails_a_run_under_it(small_corpus: Path, capsys) -> None:
    (small_corpus / "session.har").unlink()  # what is left conforms
    assert cli.main(["validate", "--min-coverage", "1", str(small_corpus)]) == 0
    assert cli.main(["validate", "--min-coverage", "50", str(small_corpus)]) == 1
    assert "is under --min-coverage 50%" in capsys.readouterr().err


def test_parallel_workers_report_the_same_coverage(small_corpus: Path, capsys) -> None:
    _, serial = validate_json("--coverage", str(small_corpus), capsys=capsys)
    _, parallel = validate_json("--coverage", "--jobs", "2", str(small_corpus), capsys=capsys)
    assert covered(parallel) == covered(serial)


def test_the_coverage_command_merges_runs(small_corpus: Path, tmp_path: Path, capsys) -> None:
    first, second = small_corpus / "first", small_corpus / "second"
    first.mkdir()
    second.mkdir()
    (small_corpus / "warning.json").rename(first / "warning.json")
    (small_corpus / "error.json").rename(second / "error.json")
    reports = []
    for directory in (first, second):
        _, document = validate_json("--coverage", str(directory), capsys=capsys)
        path = tmp_path / f"{directory.name}.json"
        path.write_text(json.dumps(document))
        reports.append(document)
    assert cli.main(["coverage", "--format", "json", *(str(tmp_path / f"{n}.json") for n in ("first", "second"))]) == 0
    merged = {"coverage": json.loads(capsys.readouterr().out)}
    union = {area: covered(reports[0])[area] | covered(reports[1])[area] for area in AREAS}
    assert covered(merged) == union and "W0103" in union["codes"] and "E0100" in union["codes"]
    assert cli.main(["coverage", "--min-coverage", "90", str(tmp_path / "first.json")]) == 1


def test_the_coverage_command_refuses_a_report_without_coverage(tmp_path: Path, capsys) -> None:
    (tmp_path / "plain.json").write_text('{"summary": {}}')
    assert cli.main(["coverage", str(tmp_path / "plain.json")]) == 2
    assert "plain.json" in capsys.readouterr().err


def _full_walk(bodies: list[tuple[object, str]], monkeypatch: pytest.MonkeyPatch) -> Coverage:
    """The same walk with every shortcut off: each item of each array walked."""
    with monkeypatch.context() as patched:
        patched.setattr(coverage_module, "SATURATION_CHECKS", frozenset())
        full = Coverage()
        for body, kind in bodies:
            full.body(body, KIND_SCHEMAS[kind])
    return full


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_shortcuts_never_change_what_is_covered(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    bodies = [(json.loads(path.read_text()), "predictions") for path in sorted((SHARED / "recorded").glob("*.json"))]
    bodies += [(json.loads(path.read_text()), "stream-message") for path in (SHARED / "recorded-stream").glob("*")]
    bodies.append((build_predictions_body(400_000, seed=seed), "predictions"))
    quick = Coverage()
    for body, kind in bodies:
        quick.body(body, KIND_SCHEMAS[kind])
    assert set(quick.seen) == set(_full_walk(bodies, monkeypatch).seen)
    assert len(quick.seen) > 30


def test_validators_feed_the_active_coverage_only() -> None:
    body = {"face": {"warning": "No faces detected.", "code": "W0103"}}
    validate_body(body, "stream-message")  # nothing is collecting: nothing to count, nothing kept
    with collecting(Coverage()) as measured:
        validate_body(body, "stream-message")
    assert "codes: W0103" in measured.seen
    assert "W0103" in measured.render_text() or "codes" in measured.render_text(markdown=True)


def test_the_summary_names_what_is_not_covered() -> None:
    measured = Coverage()
    measured.body({"face": {"warning": "No faces detected.", "code": "W0103"}}, KIND_SCHEMAS["stream-message"])
    text, markdown = measured.render_text(), measured.render_text(markdown=True)
    assert "codes" in text and "E0100" in text and "W0103" not in text.split("codes", 1)[1].split("\n", 1)[0]
    assert markdown.startswith("## Contract coverage") and "| codes |" in markdown


def test_proxy_sessions_report_their_coverage(tmp_path: Path, mock_server) -> None:
    import httpx
    from conftest import API_KEY

    from contracts.proxy import ProxyOptions, running_proxy

    options = ProxyOptions(mock_server.base_url, report=tmp_path, log=io.StringIO(), coverage=True)
    with running_proxy(options) as proxy:
        httpx.get(f"{proxy.base_url}/v0/batch/jobs", params={"direction": "asc"}, headers={"X-Hume-Api-Key": API_KEY})
        httpx.get(f"{proxy.base_url}/v0/batch/jobs", headers={"X-Hume-Api-Key": "wrong"})
    document = json.loads((tmp_path / "report.json").read_text())
    assert {"GET /v0/batch/jobs 200", "GET /v0/batch/jobs 401"} <= covered(document)["operations"]
    assert "GET /v0/batch/jobs ?direction=asc" in covered(document)["enums"]


def test_a_body_read_item_by_item_covers_what_it_covers_whole(tmp_path: Path, monkeypatch, capsys) -> None:
    from contracts import validate_command

    path = tmp_path / "predictions.json"
    body = build_predictions_body(300_000, seed=7)
    path.write_text(json.dumps(body))
    _, whole = validate_json("--coverage", str(path), capsys=capsys)
    monkeypatch.setattr(validate_command, "STREAM_FROM_BYTES", 1)  # as a body of 8 MiB and more is read
    _, streamed = validate_json("--coverage", str(path), capsys=capsys)
    assert (
        covered(streamed)
        == covered(whole)
        == covered({"coverage": _full_walk([(body, "predictions")], monkeypatch).to_json()})
    )
