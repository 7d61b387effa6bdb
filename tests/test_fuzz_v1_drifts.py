"""`hume-contracts fuzz --api v1` finds every v1 drift of the mock, naming the right failure, and passes the
clean mock.

Each drift gets its own mock and only the v1 steps that meet it (the probes of its surface), with few
examples, so the whole catalogue stays within CI time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.fuzz.context import FuzzContext
from contracts.fuzz.ledger import Ledger
from contracts.fuzz.runner import FuzzOptions, private_hypothesis_home, target
from contracts.fuzz.v1 import run_v1
from mockserver.v1.drifts import V1_CATALOGUE

UPLOADS = ("uploads",)
RUNS = ("uploads", "config-after-media", "audio-too-fast", "runs")

# drift -> (the v1 steps that must see it, the failure codes that name it: any of them counts)
EXPECTED: dict[str, tuple[tuple[str, ...], set[str]]] = {
    "v1-expressions-ascending": (UPLOADS, {"v1-scores-order"}),
    "v1-voice-attribute-below-cutoff": (UPLOADS, {"v1-voice-attribute-threshold"}),
    "v1-face-score-at-cutoff": (UPLOADS, {"v1-fuzz-face-score-cutoff"}),
    "v1-probability-five-decimals": (UPLOADS, {"v1-probability-decimals"}),
    "v1-descriptions-ascending": (UPLOADS, {"v1-scores-order"}),
    "v1-measurement-id-from-one": (UPLOADS, {"v1-measurement-id-sequence"}),
    "v1-utterance-id-from-one": (UPLOADS, {"v1-utterance-sequence"}),
    "v1-window-over-10s": (UPLOADS, {"v1-window-bounds"}),
    "v1-speech-ended-too-close": (UPLOADS, {"v1-speech-ended"}),
    "v1-frame-id-counts-frames": (("video-failures",), {"v1-frame-id-sequence"}),
    "v1-bbox-outside-image": (UPLOADS, {"v1-fuzz-bbox-inside"}),
    "v1-measured-face-id-null": (UPLOADS, {"v1-unmeasured-face-nulls"}),
    "v1-faces-smallest-first": (UPLOADS, {"v1-face-order", "v1-face-size-order"}),
    "v1-face-state-ignored": (UPLOADS, {"v1-fuzz-face-state"}),
    "v1-session-created-missing-id": (("config-before-media",), {"schema-required"}),
    "v1-update-after-media-accepted": (("config-after-media",), {"v1-fuzz-update-after-media"}),
    "v1-closed-counts-wrong": (("config-before-media",), {"v1-session-totals"}),
    "v1-no-session-closed-on-error": (("config-after-media",), {"v1-fuzz-closed-after-error"}),
    "v1-invalid-frame-ends-session": (("invalid-audio-frames",), {"v1-fuzz-invalid-audio-frame"}),
    "v1-retryable-inverted": (("invalid-audio-frames",), {"v1-error-retryable"}),
    "v1-utterance-end-mismatch": (("config-before-media",), {"v1-utterance-sequence"}),
    "v1-rate-limit-ignored": (("audio-too-fast",), {"v1-fuzz-rate-limit"}),
    "v1-message-size-unchecked": (("message-too-large",), {"v1-fuzz-message-too-large"}),
    "v1-upload-size-unchecked": (UPLOADS, {"v1-fuzz-upload-limit"}),
    "v1-pixel-limit-unchecked": (UPLOADS, {"v1-fuzz-pixel-limit"}),
    "v1-error-without-request-id": (UPLOADS, {"schema-required"}),
    "v1-error-code-unknown": (UPLOADS, {"v1-fuzz-upload-limit"}),
    "v1-next-cursor-on-last-page": (RUNS, {"v1-page-duplicate", "v1-cursor-loop"}),
    "v1-runs-oldest-first": (RUNS, {"v1-runs-order"}),
    "v1-page-size-unchecked": (RUNS, {"v1-fuzz-page-size-bounds"}),
    "v1-runs-status-filter-ignored": (RUNS, {"v1-fuzz-runs-filter"}),
    "v1-run-status-unknown": (RUNS, {"v1-fuzz-run-status"}),
    "v1-event-seq-from-zero": (RUNS, {"schema-range"}),
    "v1-metered-below-minimum": (("config-before-media", "runs"), {"v1-fuzz-metered-minimum"}),
}


def fuzz_v1(steps: tuple[str, ...] | None, drifts: frozenset[str] = frozenset(), budget: float = 60.0) -> set[str]:
    """The codes the v1 ``steps`` (None: all) report against one mock with ``drifts``: failures, and warnings
    (findings graded a judgement: shown, failing only with --strict-judgements)."""
    ledger = fuzz_v1_ledger(steps, drifts, budget)
    return {finding.code for finding in [*ledger.failures.values(), *ledger.warnings.values()]}


def fuzz_v1_ledger(steps: tuple[str, ...] | None, drifts: frozenset[str] = frozenset(), budget: float = 60.0) -> Ledger:
    options = FuzzOptions(api="v1", drifts=drifts, seed=7)
    with private_hypothesis_home(), target(options) as (base_url, stream_url, key, _description):
        ctx = FuzzContext(base_url=base_url, stream_url=stream_url, api_key=key, ledger=Ledger(), max_examples=3,
                          time_budget=budget, request_timeout=5.0, response_timeout=4.0, seed=7)  # fmt: skip
        # 4 s for a reply above: the mock answers in milliseconds; a drift that never answers costs 4 s, not 10
        run_v1(ctx, None, 600.0, steps)
    return ctx.ledger


def test_every_v1_drift_of_the_catalogue_has_an_expectation() -> None:
    assert set(EXPECTED) == set(V1_CATALOGUE)


def test_the_clean_mock_passes_every_v1_step() -> None:
    assert fuzz_v1(None) == set()


@pytest.mark.parametrize("drift", sorted(EXPECTED))
def test_each_v1_drift_is_detected_and_named(drift: str) -> None:
    steps, codes = EXPECTED[drift]
    found = fuzz_v1(steps, frozenset({drift}))
    assert found & codes, f"{drift}: expected one of {sorted(codes)}, found {sorted(found)}"


def test_a_generated_session_that_fails_is_reported_once_with_a_transcript_that_reproduces_it() -> None:
    from contracts.readers import ReadOptions, SessionItem, read_path

    ledger = fuzz_v1_ledger(("machine",), frozenset({"v1-closed-counts-wrong"}))
    failures = [f for f in ledger.failures.values() if f.where.startswith("v1 generated sessions")]
    assert {f.code for f in failures} == {"v1-session-totals"}
    path = Path(failures[0].reproduce.split()[2])
    assert path.suffix == ".jsonl" and path.is_file()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    sent = [json.loads(r["data"]).get("type") for r in records if r["type"] == "send" and r["opcode"] == 1]
    assert "session.close" in sent  # the shrunk session still closes: session.closed is where the fault shows
    judged = [item for item in read_path(path, str(path), ReadOptions()) if isinstance(item, SessionItem)]
    assert len(judged) == 1
