"""The lifecycle part of `hume-contracts fuzz` against the reference mock: clean, each drift, budgets.

Each run starts its own fast mock (jobs end in ~0.1 s) and a small context (two jobs), so a run takes about
a second; the stuck-job case waits out its share of a 4 s budget.
"""

from __future__ import annotations

import io
import json
import shlex
import socket
import zipfile
from pathlib import Path

import httpx
import pytest
from conftest import API_KEY, fast_config

from contracts.fuzz.context import FuzzContext
from contracts.fuzz.ledger import Ledger
from contracts.fuzz.lifecycle import (
    JobPlan,
    curl_command,
    echo_problems,
    file_name_problems,
    outside_bound_requests,
    plan_jobs,
    run_lifecycle,
    source_problems,
    zip_problem,
)
from contracts.fuzz.recorder import Recorder
from contracts.text_positions import indexes
from mockserver import running_mock
from strategies.media import make_text

# drift -> the code the lifecycle must report for it
DRIFT_CODES = {
    "auth-not-enforced": "auth-not-enforced",
    "limit-ignored": "list-limit-ignored",
    "status-filter-ignored": "list-filter-ignored",
    "sort-direction-ignored": "list-sort-wrong",
    "list-not-array": "schema-type",
    "never-leaves-queued": "job-stuck",
    "timestamps-out-of-order": "state-timestamps-order",
    "position-outside-text": "prediction-mismatch",
    "wrong-md5sum": "source-mismatch",
    "job-id-missing": "job-not-created",
    "status-unknown": "state-regressed",
    "details-status-418": "undeclared-status",
    "source-type-unknown": "discriminator-unknown",
    "details-job-id-other": "job-id-mismatch",
    "echo-settings-defaulted": "request-echo-mismatch",
    "prob-threshold-clamped": "bound-not-enforced",
    "limit-bounds-unchecked": "list-limit-bounds",
    "file-name-lost": "source-file-name",
}
STUCK_BUDGET = 4.0  # a stuck job is given half of it


def context(base_url: str, key: str = API_KEY, **overrides: object) -> FuzzContext:
    settings: dict[str, object] = {
        "max_examples": 10,
        "max_jobs": 2,
        "time_budget": 20.0,
        "request_timeout": 5.0,
    }
    settings.update(overrides)
    return FuzzContext(base_url=base_url, stream_url="", api_key=key, ledger=Ledger(), **settings)  # type: ignore[arg-type]


def run(drifts: frozenset[str] = frozenset(), **overrides: object) -> FuzzContext:
    with running_mock(fast_config(drifts=drifts)) as mock:
        ctx = context(mock.base_url, **overrides)
        run_lifecycle(ctx)
    return ctx


# Drifts whose check rests on a judgement of ours (how long a job may take; that a server refuses rather than
# clamps): reported as warnings, never as failures, unless strict judgements.
JUDGED = {"never-leaves-queued", "prob-threshold-clamped", "limit-bounds-unchecked"}


def codes(ctx: FuzzContext) -> set[str]:
    """The codes found: failures and warnings alike."""
    return {failure.code for failure in [*ctx.ledger.failures.values(), *ctx.ledger.warnings.values()]}


def passed(ctx: FuzzContext, where: str, check: str) -> int:
    return ctx.ledger.passed[(where, check)]


def test_the_clean_mock_passes_every_lifecycle_check() -> None:
    ctx = run()
    assert codes(ctx) == set(), [f.found for f in ctx.ledger.failures.values()]
    assert ctx.jobs_created == 2 and len(ctx.known_job_ids) == 2
    assert passed(ctx, "auth", "auth") == 2
    assert passed(ctx, "lifecycle: create (json)", "lifecycle") == 1
    assert passed(ctx, "lifecycle: create (multipart)", "lifecycle") == 1
    # sources and predictions of both jobs; file names and face boxes of the upload
    assert passed(ctx, "lifecycle: predictions", "lifecycle") == 6
    assert passed(ctx, "lifecycle: artifacts", "lifecycle") == 4  # readable, and member paths safe, of both jobs
    assert passed(ctx, "lifecycle: poll", "units") >= 2  # timestamps in milliseconds
    assert passed(ctx, "lifecycle: list-jobs", "list-jobs") >= 8
    assert passed(ctx, "lifecycle: poll", "hume_response_conformance") >= 2
    assert passed(ctx, "lifecycle: create (outside a bound)", "bounds") == len(outside_bound_requests())


@pytest.mark.parametrize("drift", sorted(DRIFT_CODES))
def test_each_drift_of_the_lifecycle_area_is_reported(drift: str) -> None:
    budget = STUCK_BUDGET if drift == "never-leaves-queued" else 20.0
    ctx = run(frozenset({drift}), time_budget=budget)
    assert DRIFT_CODES[drift] in codes(ctx), sorted(codes(ctx))
    warned = {failure.code for failure in ctx.ledger.warnings.values()}
    assert (DRIFT_CODES[drift] in warned) == (drift in JUDGED), sorted(warned)


def test_failures_carry_a_curl_command_with_the_key_as_a_variable() -> None:
    ctx = run(frozenset({"limit-ignored"}))
    (failure,) = ctx.ledger.failures.values()
    assert failure.where == "lifecycle: list-jobs" and failure.check == "list-jobs"
    assert failure.reproduce.startswith("curl ") and "limit=1" in failure.reproduce
    assert "$HUME_API_KEY" in failure.reproduce and API_KEY not in failure.reproduce


def test_the_job_budget_is_never_exceeded() -> None:
    with running_mock(fast_config()) as mock:
        ctx = context(mock.base_url, max_jobs=1)
        run_lifecycle(ctx)
        listed = httpx.get(f"{mock.base_url}/v0/batch/jobs", headers={"X-Hume-Api-Key": API_KEY}).json()
    assert len(listed) == 1 and ctx.jobs_created == 1
    assert any("job budget" in note for note in ctx.ledger.notes)


def test_an_accepted_bound_probe_counts_as_a_job_and_ends_the_probes() -> None:
    with running_mock(fast_config(drifts=frozenset({"prob-threshold-clamped"}))) as mock:
        ctx = context(mock.base_url, max_jobs=2)
        run_lifecycle(ctx)
        listed = httpx.get(f"{mock.base_url}/v0/batch/jobs", headers={"X-Hume-Api-Key": API_KEY}).json()
    assert len(listed) == 2 and ctx.jobs_created == 2  # the accepted probe and one planned job
    found = [key for key, failure in ctx.ledger.warnings.items() if failure.code == "bound-not-enforced"]
    assert len(found) == 1 and ctx.ledger.occurrences[found[0]] == 1  # the -0.01 probe was not sent


def test_without_room_for_a_job_no_bound_probe_is_sent() -> None:
    ctx = run(max_jobs=0)
    assert ctx.ledger.failures == {} and ctx.jobs_created == 0
    assert passed(ctx, "lifecycle: create (outside a bound)", "bounds") == 0
    assert any("bound probes were not sent" in note for note in ctx.ledger.notes)


def test_bound_probes_are_valid_requests_but_for_one_step_past_one_bound() -> None:
    requests = outside_bound_requests()
    labels = [label for label, _request in requests]
    assert len(set(labels)) == len(labels) == 7
    assert all("(max" in label or "(min" in label for label in labels)


def test_a_spent_time_budget_ends_the_part_with_a_note() -> None:
    ctx = run(time_budget=0.0)
    assert ctx.ledger.failures == {} and ctx.jobs_created == 0
    assert any("time budget ran out" in note for note in ctx.ledger.notes)


def test_an_unreachable_target_ends_the_part_with_a_note() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    ctx = context(f"http://127.0.0.1:{port}", max_retries=0)
    run_lifecycle(ctx)
    assert ctx.ledger.failures == {}
    assert any("did not answer" in note for note in ctx.ledger.notes)


def test_the_key_value_never_reaches_the_ledger_or_the_recording(tmp_path: Path) -> None:
    marker = "SECRET-MARKER-123"
    drifts = frozenset({"limit-ignored", "wrong-md5sum", "auth-not-enforced"})
    lines: list[str] = []
    with running_mock(fast_config(api_key=marker, drifts=drifts)) as mock:
        ctx = context(mock.base_url, key=marker, progress=lines.append)
        ctx.recorder = Recorder(ctx.redactor)
        run_lifecycle(ctx)
    har = tmp_path / "run.har"
    assert ctx.recorder.write(har) > 5
    assert len(ctx.ledger.failures) >= 3  # failures were written, so their texts were exercised
    texts = [har.read_text(encoding="utf-8"), json.dumps(ctx.ledger.notes), "\n".join(lines)]
    texts += [json.dumps(failure.__dict__) for failure in ctx.ledger.failures.values()]
    assert not [text for text in texts if marker in text]


def test_plans_are_reproducible_from_the_seed() -> None:
    assert plan_jobs(5) == plan_jobs(5)
    assert plan_jobs(5) != plan_jobs(6)


def test_positions_may_count_code_points_or_utf8_bytes() -> None:
    text = "Café au lait"
    assert indexes(text, 5, 7, "au")  # code points
    assert indexes(text, 6, 8, "au")  # UTF-8 bytes (é is two)
    assert not indexes(text, 1005, 1010, "au")
    assert not indexes(text, 7, 5, "")
    assert not indexes(text, "5", 7, "au")
    assert not indexes(text, True, 7, "au")


def test_an_end_past_the_text_fails_though_the_slice_clips_to_the_right_words() -> None:
    text = "Hume reads 😀 every word"
    assert text[19:30] == "word"  # what a slice alone would accept
    assert indexes(text, 19, 23, "word")
    assert not indexes(text, 19, 30, "word")
    assert indexes(text, 22, 26, "word")  # UTF-8 bytes: the emoji is four
    assert not indexes(text, 20, 24, "word")  # UTF-16 units (the emoji is two): neither reading


def test_every_seed_probes_positions_with_an_emoji_mid_text() -> None:
    for seed in range(20):
        first = plan_jobs(seed)[0].texts[0]
        emoji = next(i for i, char in enumerate(first) if ord(char) > 0xFFFF)
        assert 0 < emoji < len(first) - 5


def test_sources_must_match_the_request() -> None:
    upload = make_text("hello", filename="a.txt")
    plan = JobPlan("multipart", {"language": {}}, texts=("one",), urls=("https://example.com/a.mp4",), files=(upload,))
    right = [
        {"source": {"type": "file", "md5sum": "5d41402abc4b2a76b9719d911017c592"}},
        {"source": {"type": "url", "url": "https://example.com/a.mp4"}},
        {"source": {"type": "text"}},
    ]
    assert source_problems(plan, right) == []
    wrong = [
        {"source": {"type": "file", "md5sum": "0" * 32}},
        {"source": {"type": "url", "url": "https://x.y/"}},
    ]
    titles = [title for title, _found in source_problems(plan, wrong)]
    assert titles == ["url sources differ", "file md5sums differ", "text sources differ"]


def test_job_details_must_repeat_the_request() -> None:
    upload = make_text("hello", filename="a.txt")
    settings = {"callback_url": "https://example.com/cb", "notify": False, "transcription": {"confidence_threshold": 1}}
    models = {"face": {"prob_threshold": 0.0}, "prosody": {"window": {"length": 0.5}}, "burst": {}}
    plan = JobPlan("multipart", models, texts=("one",), files=(upload,), settings=settings)
    echo = {
        "callback_url": "https://example.com/cb",
        "files": [{"filename": "a.txt", "md5sum": "5d41402abc4b2a76b9719d911017c592"}],
        "models": {
            "burst": {},
            "face": {"prob_threshold": 0, "fps_pred": 3, "facs": None},  # defaults filled in: fine
            "prosody": {"granularity": "utterance", "window": {"length": 0.5, "step": 1}},
            "ner": None,  # a model not asked for, listed as null: fine
        },
        "notify": False,
        "text": ["one"],
        "transcription": {"confidence_threshold": 1.0, "identify_speakers": False},
        "urls": [],
    }
    assert echo_problems(plan, echo) == []
    wrong = {
        **echo,
        "models": {"face": {"prob_threshold": 0.99}, "prosody": {"window": None}},
        "notify": None,
        "text": [],
        "files": [],
    }
    titles = [title for title, _found in echo_problems(plan, wrong)]
    assert titles == [
        "models.face is not repeated",
        "models.prosody is not repeated",
        "models.burst is not repeated",
        "notify is not repeated",
        "text is not repeated",
        "files are not repeated",
    ]
    assert echo_problems(plan, None) == [("job details carry no request", "request null")]


def test_uploaded_files_keep_their_names() -> None:
    upload = make_text("hello", filename="a.txt")
    plan = JobPlan("multipart", {"language": {}}, files=(upload,))
    md5 = "5d41402abc4b2a76b9719d911017c592"

    def entry(filename: str | None, file: str) -> dict[str, object]:
        source = {"type": "file", "md5sum": md5, "filename": filename}
        return {"source": source, "results": {"predictions": [{"file": file, "models": {}}], "errors": []}}

    assert list(file_name_problems(plan, [entry("a.txt", "a.txt")])) == []
    assert list(file_name_problems(plan, [entry(None, "a.txt")])) == []  # filename is optional
    titles = [title for title, _found in file_name_problems(plan, [entry("upload", "upload")])]
    assert titles == ["a file source renames the upload", "predictions name another file"]


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_artifacts_must_be_a_readable_zip(monkeypatch: pytest.MonkeyPatch) -> None:
    good = _zip({"predictions.csv": b"a,b\n1,2\n"})
    assert zip_problem(good) is None
    assert zip_problem(b"not a zip at all") is not None
    assert zip_problem(good[: len(good) // 2]) is not None  # truncated
    corrupted = bytearray(good)
    corrupted[30 + len("predictions.csv") + 1] ^= 0xFF  # inside the compressed data: inflating or the CRC fails
    assert zip_problem(bytes(corrupted)) is not None
    monkeypatch.setattr("contracts.fuzz.lifecycle.MAX_ARTIFACT_UNCOMPRESSED", 1000)
    assert "beyond what is read" in (zip_problem(_zip({"bomb.bin": bytes(100_000)})) or "")


def test_curl_commands_are_one_shell_command_each() -> None:
    ctx = context("http://127.0.0.1:9", key="SECRET-MARKER-123")
    plan = plan_jobs(0)[1]
    command = curl_command(ctx, "POST", "/v0/batch/jobs", upload=plan.upload())
    words = shlex.split(command)
    assert words[:4] == ["curl", "-sS", "-X", "POST"]
    assert "X-Hume-Api-Key: $HUME_API_KEY" in words
    forms = [words[i + 1] for i, word in enumerate(words) if word == "-F"]
    assert forms[:3] == [
        "file=@face.png;type=image/png",
        "file=@tone.wav;type=audio/wav",
        "file=@words.txt;type=text/plain",
    ]
    assert forms[3].startswith('json={"models": ')
    query = curl_command(ctx, "GET", "/v0/batch/jobs", params=[("status", "QUEUED"), ("status", "FAILED")])
    assert shlex.split(query)[4] == "http://127.0.0.1:9/v0/batch/jobs?status=QUEUED&status=FAILED"
