"""`hume-contracts fuzz` finds every drift of the mock, naming the right failure, and passes the clean mock.

Each run is small (few examples, two jobs, a short budget) and limited to the part the drift lives in, so
the whole catalogue runs in about a minute on two cores.
"""

from __future__ import annotations

import pytest

from contracts.fuzz.runner import FuzzOptions, run_fuzz
from mockserver.drifts import CATALOGUE

# drift -> (the part that must see it, the failure codes that name it: any of them counts)
EXPECTED: dict[str, tuple[str, set[str]]] = {
    "job-id-missing": ("batch", {"schema-required"}),
    "job-id-not-uuid": ("batch", {"job-id-uuid"}),
    "state-missing": ("batch", {"schema-required"}),
    "status-unknown": ("batch", {"discriminator-unknown"}),
    "num-predictions-string": ("batch", {"schema-type"}),
    "completed-without-ended": ("batch", {"schema-required"}),
    "timestamps-out-of-order": ("batch", {"state-timestamps-order"}),
    "details-status-418": ("batch", {"undeclared-status"}),
    "details-text-plain": ("batch", {"wrong-content-type"}),
    "details-job-id-other": ("batch", {"job-id-mismatch"}),
    "echo-settings-defaulted": ("batch", {"request-echo-mismatch"}),
    "prob-threshold-clamped": ("batch", {"bound-not-enforced"}),
    "auth-not-enforced": ("batch", {"auth-not-enforced"}),
    "limit-ignored": ("batch", {"list-limit-ignored"}),
    "limit-bounds-unchecked": ("batch", {"list-limit-bounds"}),
    "status-filter-ignored": ("batch", {"list-filter-ignored"}),
    "sort-direction-ignored": ("batch", {"list-sort-wrong"}),
    "list-not-array": ("batch", {"schema-type"}),
    "never-leaves-queued": ("batch", {"job-stuck"}),
    "emotions-null": ("batch", {"schema-type"}),
    "score-out-of-range": ("batch", {"probability-range"}),
    "unknown-emotion-label": ("batch", {"label-set"}),
    "emotion-missing": ("batch", {"label-set-complete"}),
    "negative-box-size": ("batch", {"box-size"}),
    "position-outside-text": ("batch", {"prediction-mismatch"}),
    "wrong-md5sum": ("batch", {"source-mismatch"}),
    "file-name-lost": ("batch", {"source-file-name"}),
    "source-type-unknown": ("batch", {"discriminator-unknown"}),
    "results-errors-missing": ("batch", {"schema-required"}),
    "stream-drop-payload-id": ("stream", {"stream-payload-id"}),
    "stream-missing-model": ("stream", {"stream-model-missing"}),
    "stream-error-without-code": ("stream", {"schema-required"}),
    "stream-job-id-dashed": ("stream", {"schema-pattern"}),
    "stream-warning-code-swapped": ("stream", {"stream-warning-code"}),
    "stream-mismatch-code": ("stream", {"stream-error-code"}),
    "stream-audio-limit-ignored": ("stream", {"stream-limit"}),
    "stream-bbox-as-box": ("stream", {"schema-required"}),
    # issue 16: what runs saw and let pass, each now caught by a check with its own code
    "created-job-404": ("batch", {"job-not-found"}),
    "completed-predictions-404": ("batch", {"predictions-not-found"}),
    "rate-limit-without-retry-after": ("batch", {"retry-after-missing"}),
    "timestamps-in-seconds": ("batch", {"timestamp-unit"}),
    "list-status-stale": ("batch", {"state-regressed"}),
    "created-timestamp-shifts": ("batch", {"timestamps-changed"}),
    "list-duplicate-job": ("batch", {"list-duplicate-job"}),
    "time-filter-ignored": ("batch", {"list-filter-ignored"}),
    "position-end-past-text": ("batch", {"prediction-mismatch"}),
    "face-box-outside-image": ("batch", {"face-box-outside-image"}),
    "error-message-empty": ("batch", {"error-message-empty"}),
    "artifacts-path-traversal": ("batch", {"artifacts-unsafe-path"}),
    "stream-reply-binary": ("stream", {"stream-binary-frame"}),
    "stream-position-outside-text": ("stream", {"stream-position-mismatch"}),
    "stream-double-reply": ("stream", {"stream-extra-reply"}),
    "stream-reply-dropped": ("stream", {"stream-no-reply"}),
}


def fuzz(part: str, drifts: frozenset[str] = frozenset()) -> set[str]:
    # Strict judgements: a drift caught by a judgement-graded check counts too, and the clean mock must give no
    # warning either.
    options = FuzzOptions(
        max_examples=6,
        max_jobs=2,
        time_budget=12.0,
        seed=7,
        only=part,
        drifts=drifts,
        request_timeout=5.0,
        strict_judgements=True,
    )
    result = run_fuzz(options, progress=lambda _line: None)
    return {failure.code for failure in result.ledger.failures.values()}


def test_every_drift_of_the_catalogue_has_an_expectation() -> None:
    assert set(EXPECTED) == set(CATALOGUE)


@pytest.mark.parametrize("part", ["batch", "stream"])
def test_the_clean_mock_passes(part: str) -> None:
    assert fuzz(part) == set()


@pytest.mark.parametrize("drift", sorted(EXPECTED))
def test_each_drift_is_detected_and_named(drift: str) -> None:
    part, codes = EXPECTED[drift]
    found = fuzz(part, frozenset({drift}))
    assert found & codes, f"{drift}: expected one of {sorted(codes)}, found {sorted(found)}"
