"""The `fuzz` command: exit codes, reports, a recording that `validate` reads back, and no leaked key."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contracts.cli import main

MARKER = "SECRET-MARKER-7f3a9c"
# The budget bounds the run; a loaded machine must not make it INCOMPLETE (such a run ends in ~15 s).
SMALL = ["--max-examples", "4", "--max-jobs", "2", "--time-budget", "90", "--seed", "3"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--max-examples", "0"]) == 2
    assert main(["fuzz", "--drift", "no-such-drift"]) == 2
    assert "unknown drift" in capsys.readouterr().err
    assert main(["fuzz", "--base-url", "http://127.0.0.1:9", "--drift", "limit-ignored", "--api-key", "k"]) == 2


def test_an_unreachable_target_exits_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["fuzz", "--base-url", url, "--api-key", MARKER]) == 2
    err = capsys.readouterr().err
    assert "cannot reach" in err and "Traceback" not in err and MARKER not in err


def test_a_run_with_a_marker_key_writes_reports_and_a_recording_without_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # anything written to the working directory is searched too
    report, cassette = tmp_path / "report", tmp_path / "run.har"
    code = main(
        [
            "fuzz",
            "--api-key",
            MARKER,
            *SMALL,
            "--report",
            str(report),
            "--record",
            str(cassette),
            "--drift",
            "unknown-emotion-label",
        ]
    )
    out = capsys.readouterr()
    assert code == 1
    assert "label-set" in out.out and "seed 3" in out.out

    suites = ET.parse(report / "junit.xml").getroot()
    assert suites.find(".//failure") is not None
    data = json.loads((report / "report.json").read_text())
    assert data["ok"] is False and data["seed"] == 3
    assert any(f["code"] == "label-set" for f in data["failures"])
    assert "FAIL" in (report / "report.md").read_text()

    # The recording is read back by `validate`, which finds the same drift offline.
    assert main(["validate", str(cassette)]) == 1
    assert "label-set" in capsys.readouterr().out

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert cassette in written and len(written) >= 4
    for path in written:
        assert MARKER.encode() not in path.read_bytes(), path
    assert MARKER not in out.out + out.err


def test_the_console_script_fuzzes_the_clean_mock_and_exits_0(tmp_path: Path) -> None:
    env = {**os.environ, "HUME_API_KEY": MARKER}
    command = [sys.executable, "-m", "contracts.cli", "fuzz", *SMALL]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "no contract failures" in done.stdout
    assert MARKER not in done.stdout + done.stderr
    assert not list(tmp_path.rglob("*")), "a fuzz run without --report/--record writes nothing"
