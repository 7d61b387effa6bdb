"""The fuzz run's timelines: each job's lifecycle and each stream or realtime session, step by step, in
report.json and report.html; a step marked failed by the failures recorded on it (and by no other); bounded;
redacted."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from contracts.cli import main
from contracts.evidence import Grade
from contracts.fuzz.context import FuzzContext
from contracts.fuzz.ledger import CheckFailure, Ledger
from contracts.fuzz.timelines import MAX_STEPS, MAX_TIMELINES, Timelines
from contracts.job_judging import STATUS_RANK

MARKER = "SECRET-MARKER-7f3a9c"
# As tests/test_fuzz_command.py runs it (about 15 s on an idle machine); the drift breaks one lifecycle check.
SMALL = ["--max-examples", "4", "--max-jobs", "2", "--time-budget", "90", "--seed", "3", "--quiet"]
DRIFT = "completed-without-ended"  # a COMPLETED job's details lack ended_timestamp_ms: schema-required


def failure(grade: str = "") -> CheckFailure:
    return CheckFailure("lifecycle: poll", "c", "schema-required", "t", "e", "f", "r", grade)


# ------------------------------------------------------------------------------------------ the recorder


def test_a_step_is_marked_by_the_failures_recorded_on_it_and_warnings_mark_nothing() -> None:
    ledger = Ledger()
    one, other = ledger.timelines.open("job a"), ledger.timelines.open("job b")
    ledger.timelines.open("job (json)")  # the budget cut off its request: no step, not listed
    one.add("submitted")
    other.mark()
    ledger.fail(failure())
    other.add("state QUEUED")  # the failure came after its mark: its own
    one.mark()  # where job a's next work begins: job b's failure is not job a's
    one.add("state QUEUED", only_on_failure=True)  # nothing new, nothing failed: no step
    ledger.fail(failure(Grade.JUDGEMENT))  # a judgement of ours: a warning
    one.add("predictions: GET answered 200")
    steps = {t["name"]: [(s["what"], s["failed"]) for s in t["steps"]] for t in ledger.timelines.as_list()}
    assert steps == {
        "job a": [("submitted", False), ("predictions: GET answered 200", False)],
        "job b": [("state QUEUED", True)],
    }


def test_a_step_whose_checks_follow_is_marked_by_the_failures_before_the_next_step() -> None:
    ledger = Ledger()
    session = ledger.timelines.open("stream session")
    session.add_before_checks("frame (face) → predictions")
    ledger.fail(failure())
    session.add_before_checks("frame (job_details) → job_details")
    session.add("closed")
    session.add_before_checks("not settled yet")
    ledger.fail(failure())  # no step follows: nothing is claimed for the pending one
    steps = [(s["what"], s["failed"]) for s in ledger.timelines.as_list()[0]["steps"]]
    assert steps == [
        ("frame (face) → predictions", True),
        ("frame (job_details) → job_details", False),
        ("closed", False),
        ("not settled yet", False),
    ]


def test_timelines_and_their_steps_are_bounded_with_what_was_left_out_counted() -> None:
    timelines = Timelines(failures=lambda: 0)
    opened = [timelines.open("session") for _ in range(MAX_TIMELINES + 7)]
    for timeline in opened:
        timeline.add("opened")
    for step in range(MAX_STEPS + 30):
        opened[0].add(f"step {step}", failed=step == MAX_STEPS + 3)
    opened[-1].add("not kept")  # past the bound: records nothing
    listed = timelines.as_list()
    assert len(listed) == MAX_TIMELINES + 1 and listed[-1]["name"] == "… 7 more jobs and sessions (not kept)"
    assert [t["name"] for t in listed[:3]] == ["session", "session #2", "session #3"]
    first = listed[0]
    assert len(first["steps"]) == MAX_STEPS + 1 and first["steps"][-1]["what"] == "… 31 more steps (1 failed)"
    assert first["steps"][-1]["failed"] is True
    assert (first["step_count"], first["failed_steps"]) == (MAX_STEPS + 31, 1)


def test_steps_added_from_threads_are_all_counted_and_still_bounded() -> None:
    timelines = Timelines()
    shared = timelines.open("shared")

    def add_many() -> None:
        for _ in range(100):
            shared.add("x")
            timelines.open("opened from a thread")

    threads = [threading.Thread(target=add_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listed = timelines.as_list()
    assert listed[0]["step_count"] == 800 and len(listed[0]["steps"]) == MAX_STEPS + 1
    assert len(timelines.kept) == MAX_TIMELINES and timelines.not_kept == 800 - (MAX_TIMELINES - 1)


def test_names_and_steps_are_redacted_and_clipped() -> None:
    key = "k3y-" + "x" * 30
    ledger = Ledger()
    FuzzContext(base_url="http://127.0.0.1:9", stream_url="ws://127.0.0.1:9", api_key=key, ledger=ledger)
    timeline = ledger.timelines.open(f"job {key}")  # a server may give the key back as a job id, a state...
    timeline.add(f"state {key} " + "long " * 100)
    text = json.dumps(ledger.timelines.as_list())
    assert key not in text and "[REDACTED]" in text
    assert all(len(step["what"]) <= 160 for step in ledger.timelines.as_list()[0]["steps"])


# ------------------------------------------------------------------------------------------ a real run


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short run of both APIs against the embedded mock, drifted in one lifecycle check."""
    directory = tmp_path_factory.mktemp("timelines")
    assert main(["fuzz", "--api-key", MARKER, *SMALL, "--drift", DRIFT, "--report", str(directory)]) == 1
    return directory


def timelines_of(report: Path) -> list[dict[str, Any]]:
    return json.loads((report / "report.json").read_text(encoding="utf-8"))["timelines"]


def steps_of(timeline: dict[str, Any]) -> list[str]:
    return [step["what"] for step in timeline["steps"]]


def test_each_job_is_a_timeline_its_states_in_order_the_drifted_one_marked(report: Path) -> None:
    jobs = [t for t in timelines_of(report) if t["name"].startswith("job ")]
    assert len(jobs) == 2
    for job in jobs:
        steps = steps_of(job)
        states = [what.removeprefix("state ") for what in steps if what.startswith("state ")]
        assert steps[0] == "submitted: POST answered 200"
        assert states[-1] == "COMPLETED" and states == sorted(states, key=STATUS_RANK.__getitem__)
        assert len(states) == len(set(states))  # each state once: a poll that saw nothing new adds no step
        assert steps[-2:] == ["predictions: GET answered 200", "artifacts: GET answered 200"]
        ats = [step["at"] for step in job["steps"]]
        assert ats == sorted(ats) and ats[0] > 0
        # The drift's finding is the COMPLETED details': that step, and only it, is marked.
        assert [s["what"] for s in job["steps"] if s["failed"]] == ["state COMPLETED"]


def test_each_stream_and_realtime_session_is_a_timeline_and_none_is_blamed_for_the_lifecycle(report: Path) -> None:
    timelines = timelines_of(report)
    stream = next(t for t in timelines if t["name"].startswith("stream session"))
    assert "probe: audio of 5100 ms (limit 5000 ms) → error E0203" in steps_of(stream)
    assert steps_of(stream)[-1] == "closed"
    realtime = next(t for t in timelines if t["name"] == "v1 session: config after media")
    assert steps_of(realtime) == [
        "received session.created",
        "sent 6400 bytes",
        "sent session.update",
        "received error config_invalid",
        "received session.closed",
        "closed by the server: code 1008",
        "judged by the v1 session rules: passed",
    ]
    assert any(t["name"].startswith("v1 generated session: ") for t in timelines)
    sessions = [t for t in timelines if not t["name"].startswith("job ")]
    assert not [(t["name"], s["what"]) for t in sessions for s in t["steps"] if s["failed"]]


def test_the_page_and_the_markdown_show_them(report: Path) -> None:
    page = (report / "report.html").read_text(encoding="utf-8")
    timelines = timelines_of(report)
    assert f"Jobs and sessions ({len(timelines)})" in page
    for timeline in timelines:
        assert timeline["name"] in page
    assert re.search(r"<span class='at'>\d+\.\d\d s</span> submitted: POST answered 200", page)
    assert "<li class='bad'><span class='at'>" in page and "state COMPLETED" in page
    assert "<details open><summary>job " in page  # a job with a failed step is shown open
    assert "What ran" in page  # the (operation, check) lists stay: the operations have no timeline
    markdown = (report / "report.md").read_text(encoding="utf-8")
    assert "## Jobs and sessions" in markdown and re.search(r"- job \S+ \(json\): \d+ steps, 1 failed", markdown)
    assert MARKER not in page + markdown + (report / "report.json").read_text(encoding="utf-8")
