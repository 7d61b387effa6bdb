"""`hume-contracts fuzz --api`: v0 against a given server unless told, both APIs against the embedded mock; v1
drift names accepted; the media budget charged and refused past its limit; a generated session's failure is
reported once, with a transcript `validate` reads."""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from contracts import fuzz_command
from contracts.fuzz import runner
from contracts.fuzz.ledger import Ledger
from contracts.fuzz.redaction import Redactor
from contracts.fuzz.runner import FuzzResult
from contracts.fuzz.v1.budget import MediaBudget, billed
from contracts.fuzz.v1.session import Transcript


def _options(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> Any:
    seen: dict[str, Any] = {}

    def fake_run(options: Any, progress: Any) -> FuzzResult:
        seen["options"] = options
        return FuzzResult(Ledger(), "target", 1, 0.0, 0)

    monkeypatch.setattr(runner, "run_fuzz", fake_run)  # imported by fuzz_command.run when it runs
    parser = argparse.ArgumentParser()
    fuzz_command.add_arguments(parser)
    assert fuzz_command.run(parser.parse_args(argv)) == 0
    return seen["options"]


def test_the_embedded_mock_is_fuzzed_on_both_apis_a_given_server_on_v0(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _options(monkeypatch, []).api == "all"
    given = ["--base-url", "http://127.0.0.1:9", "--api-key", "k" * 20]
    assert _options(monkeypatch, given).api == "v0"
    assert _options(monkeypatch, [*given, "--api", "v1"]).api == "v1"
    assert _options(monkeypatch, ["--max-media-seconds", "42"]).max_media_seconds == 42.0


def test_v1_drift_names_are_accepted_and_unknown_ones_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _options(monkeypatch, ["--drift", "v1-runs-oldest-first", "--api", "v1"]).drifts == {"v1-runs-oldest-first"}
    parser = argparse.ArgumentParser()
    fuzz_command.add_arguments(parser)
    assert fuzz_command.run(parser.parse_args(["--drift", "v1-no-such-drift"])) == 2
    assert "unknown drift v1-no-such-drift" in capsys.readouterr().err


def test_the_media_budget_bills_at_least_ten_seconds_a_run_and_refuses_past_its_limit() -> None:
    assert (billed(0), billed(0.3), billed(12.5)) == (0.0, 10.0, 12.5)
    budget = MediaBudget(25.0)
    assert budget.take(1.0) and budget.take(12.0)
    assert not budget.take(1.0)  # 10 + 12 + 10 > 25
    assert (budget.spent, budget.runs, budget.refused) == (22.0, 2, 1)
    assert "22 billable media seconds spent of --max-media-seconds 25" in budget.describe()


def test_a_transcript_is_written_in_the_format_validate_reads(tmp_path: Path) -> None:
    from contracts.readers import ReadOptions, SessionItem, read_path

    key = "a-key-the-server-echoes-0123"
    transcript = Transcript("audio")
    transcript.got(
        json.dumps({"type": "session.created", "session_id": key, "audio": {}, "measurement_timer_ms": 3000})
    )
    transcript.sent(b"\x00\x01" + key.encode())
    transcript.sent({"type": "session.close"})
    transcript.close("receive", 1000)
    path = transcript.write(tmp_path, "one", Redactor([key]))
    written = [json.loads(line) for line in path.read_text().splitlines()]
    assert key not in json.dumps(written)
    assert all(key.encode() not in base64.b64decode(r["data"]) for r in written if r["opcode"] == 2)
    sessions = []
    for item in read_path(path, str(path), ReadOptions()):  # a session's frames are read while its file is open
        if isinstance(item, SessionItem):
            sessions.append(list(item.frames))
    assert len(sessions) == 1
    frames = sessions[0]
    assert [(f.direction, f.opcode) for f in frames] == [("received", 1), ("sent", 2), ("sent", 1), ("received", 8)]


def test_each_api_is_summed_apart() -> None:
    from contracts.fuzz.ledger import CheckFailure
    from contracts.fuzz.runner import per_api_summary

    ledger = Ledger()
    for where in ("GET /v0/batch/jobs", "stream: predictions", "v1 session: config after media"):
        ledger.ok(where, "a check")
    ledger.fail(CheckFailure("GET /v1/expression/run", "c", "v1-runs-order", "t", "e", "f", "r"))
    assert per_api_summary(ledger) == ["v0: 2 checks, 0 distinct failures", "v1: 2 checks, 1 distinct failure"]
