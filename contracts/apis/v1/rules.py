"""v1's promises about single bodies, each a small named rule with its code (grades in ``codes.py``).

Rules read bodies defensively: a body that breaks its schema is reported by the schema; a rule looks only at
values of the right type and says nothing about the rest. The session rules are in ``session.py``; the
checks both use (a measurement window, a speech_ended measurement) are here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from operator import neg
from typing import Any

from contracts.apis.v1.scores import face_lists, four_decimals, probabilities, score_lists
from contracts.violations import Violation

MAX_WINDOW_MS = 10_000  # "each covers at most the latest 10 s of the utterance"
SPEECH_ENDED_GAP_MS = 1_000  # "unless the previous measurement ended less than one second earlier"
VOICE_ATTRIBUTE_MIN = 0.725  # voice attributes "at 0.725 or above"
FACE_SCORE_ABOVE = 0.1  # face expressions and descriptions "above 0.1"
DECIMALS = 4

Rule = Callable[[Any, str], Iterator[Violation]]
SOURCE_SCORES = "docs:docs/scores; sdk:types/audio_measurement_result.py, types/face.py (docstrings)"
SOURCE_AUDIO = "docs:reference/audio/stream-audio, reference/audio/measure (SDK docstrings)"
SOURCE_VIDEO = "docs:reference/video/stream-images, reference/video/measure (SDK docstrings)"
SOURCE_RUNS = "docs:reference/runs/get, reference/runs/list, reference/runs/list-events"
SOURCE_BILLING = "docs:docs/billing; sdk:types/run_summary.py (metered_seconds)"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ------------------------------------------------------------------------------------------------- scores


def scores_order(body: Any, kind: str) -> Iterator[Violation]:
    """Every score list by probability, descending (rounding keeps that order)."""
    for where, _, scores in score_lists(body, kind):
        values = probabilities(scores)
        if values is not None and values == sorted(values, reverse=True):
            continue  # the fast path, in C
        yield from _first_out_of_order(scores, where, by_name=False)


def scores_tie_order(body: Any, kind: str) -> Iterator[Violation]:
    """Face lists break ties by name. A judgement: the docs ("sorted descending then by name") do not say whether
    a tie is of the rounded probabilities the body shows or of the underlying ones (audio's are, explicitly)."""
    for where, array, scores in score_lists(body, kind):
        if not array.startswith("face-") or _sorted_by_name(scores):
            continue
        yield from _first_out_of_order(scores, where, by_name=True)


def _first_out_of_order(scores: list[Any], where: str, by_name: bool) -> Iterator[Violation]:
    previous: tuple[float, str] | None = None
    for index, score in enumerate(scores):
        if not (isinstance(score, dict) and _number(score.get("probability"))):
            previous = None
            continue
        key = (score["probability"], str(score.get("name", "")))
        if previous is not None and (
            key[0] > previous[0] or (by_name and key[0] == previous[0] and key[1] < previous[1])
        ):
            code = "v1-scores-tie-order" if by_name and key[0] == previous[0] else "v1-scores-order"
            order = "ties by name" if code == "v1-scores-tie-order" else "by descending probability"
            found = f"{key[1]!r} {key[0]} after {previous[1]!r} {previous[0]}"
            if by_name and code == "v1-scores-order":
                return  # the order itself is scores_order's to report
            yield Violation(code, f"{where}/{index}", order, found, SOURCE_SCORES)
            return
        previous = key


def _sorted_by_name(scores: list[Any]) -> bool:
    """The fast path: well-formed scores by descending probability, then by name (judged by ``sorted``, in C)."""
    values, labels = probabilities(scores), names_in_order(scores)
    if values is None or labels is None:
        return False
    keys = list(zip(map(neg, values), labels, strict=True))
    return keys == sorted(keys)


def names_in_order(scores: list[Any]) -> list[str] | None:
    labels = [score.get("name") for score in scores]
    return labels if set(map(type, labels)) <= {str} else None


def probability_decimals(body: Any, kind: str) -> Iterator[Violation]:
    """Probabilities are "rounded to four decimal places"."""
    for where, _, scores in score_lists(body, kind):
        values = probabilities(scores)
        if values is not None and four_decimals(values):
            continue
        for index, score in enumerate(scores):
            value = score.get("probability") if isinstance(score, dict) else None
            if _number(value) and _decimals(value) > DECIMALS:
                yield Violation(
                    "v1-probability-decimals",
                    f"{where}/{index}/probability",
                    "at most 4 decimals",
                    repr(value),
                    SOURCE_SCORES,
                )


def _decimals(value: float) -> int:
    if four_decimals([value]):
        return 0
    try:
        exponent = Decimal(repr(value)).as_tuple().exponent
    except InvalidOperation:
        return 0
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def voice_attribute_threshold(body: Any, kind: str) -> Iterator[Violation]:
    """Voice attributes are listed only at 0.725 or above."""
    yield from _threshold(
        body,
        kind,
        ("voice-attributes",),
        "v1-voice-attribute-threshold",
        lambda p: p >= VOICE_ATTRIBUTE_MIN,
        f">= {VOICE_ATTRIBUTE_MIN}",
    )


def face_score_threshold(body: Any, kind: str) -> Iterator[Violation]:
    """Face expressions and descriptions are listed only above 0.1."""
    yield from _threshold(
        body,
        kind,
        ("face-expressions", "face-descriptions"),
        "v1-face-score-threshold",
        lambda p: p >= FACE_SCORE_ABOVE,  # above 0.1 underlying: 0.1 or more once rounded to four decimals
        f"> {FACE_SCORE_ABOVE} (0.1 once rounded)",
    )


def _threshold(
    body: Any, kind: str, arrays: tuple[str, ...], code: str, passes: Callable[[float], bool], expected: str
) -> Iterator[Violation]:
    for where, array, scores in score_lists(body, kind):
        if array not in arrays:
            continue
        values = probabilities(scores)
        if values is not None and (not values or passes(min(values))):
            continue  # the lowest passes: all do
        for index, score in enumerate(scores):
            value = score.get("probability") if isinstance(score, dict) else None
            if _number(value) and not passes(value):
                yield Violation(code, f"{where}/{index}/probability", expected, repr(value), SOURCE_SCORES)


# -------------------------------------------------------------------------------------------------- faces


def face_order(body: Any, kind: str) -> Iterator[Violation]:
    """Measured faces first, then the unmeasured ones, most confident first."""
    for where, faces in face_lists(body, kind):
        seen_unmeasured, last_confidence = False, None
        for index, face in enumerate(faces):
            if not isinstance(face, dict):
                continue
            measured = face.get("face_id") is not None
            if measured and seen_unmeasured:
                yield Violation(
                    "v1-face-order",
                    f"{where}/{index}",
                    "measured faces first",
                    "a measured face after an unmeasured one",
                    SOURCE_VIDEO,
                )
                break
            if measured:
                continue
            seen_unmeasured = True
            confidence = face.get("confidence")
            if _number(confidence) and last_confidence is not None and confidence > last_confidence:
                yield Violation(
                    "v1-face-order",
                    f"{where}/{index}/confidence",
                    "unmeasured faces by descending confidence",
                    f"{confidence} after {last_confidence}",
                    SOURCE_VIDEO,
                )
                break
            last_confidence = confidence if _number(confidence) else last_confidence


def face_size_order(body: Any, kind: str) -> Iterator[Violation]:
    """Measured faces largest first ("largest" read as bbox area: a judgement)."""
    for where, faces in face_lists(body, kind):
        last_area = None
        for index, face in enumerate(faces):
            if not isinstance(face, dict) or face.get("face_id") is None:
                continue
            area = bbox_area(face.get("bbox"))
            if area is not None and last_area is not None and area > last_area:
                yield Violation(
                    "v1-face-size-order",
                    f"{where}/{index}/bbox",
                    "measured faces largest first",
                    f"area {area:g} after {last_area:g}",
                    SOURCE_VIDEO,
                )
                break
            last_area = area if area is not None else last_area


def bbox_area(bbox: Any) -> float | None:
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_number(v) for v in bbox)):
        return None
    return max(bbox[2] - bbox[0], 0) * max(bbox[3] - bbox[1], 0)


def unmeasured_face_nulls(body: Any, kind: str) -> Iterator[Violation]:
    """An unmeasured face has face_id, expressions and descriptions all null; a measured one none of them."""
    for where, faces in face_lists(body, kind):
        for index, face in enumerate(faces):
            if not isinstance(face, dict):
                continue
            nulls = [key for key in ("face_id", "expressions", "descriptions") if face.get(key) is None]
            if nulls and len(nulls) < 3:
                yield Violation(
                    "v1-unmeasured-face-nulls",
                    f"{where}/{index}",
                    "face_id, expressions and descriptions null together",
                    f"null: {', '.join(nulls)}",
                    SOURCE_VIDEO,
                )


def bbox_order(body: Any, kind: str) -> Iterator[Violation]:
    """``[x0, y0, x1, y1]``: the second corner is not left of or above the first."""
    for where, faces in face_lists(body, kind):
        for index, face in enumerate(faces):
            bbox = face.get("bbox") if isinstance(face, dict) else None
            corners = bbox if isinstance(bbox, list) and len(bbox) == 4 and all(_number(v) for v in bbox) else None
            if corners is not None and (corners[2] < corners[0] or corners[3] < corners[1]):
                yield Violation(
                    "v1-bbox-order", f"{where}/{index}/bbox", "x0 <= x1 and y0 <= y1", str(bbox), SOURCE_VIDEO
                )


# ------------------------------------------------------------------------------- audio file responses


def measurement_id_sequence(body: Any, kind: str) -> Iterator[Violation]:
    """measurement_id counts from 0 without gaps (within the run)."""
    yield from _counts_from_zero(body, "measurement_id", "v1-measurement-id-sequence", SOURCE_AUDIO)


def _counts_from_zero(body: Any, key: str, code: str, source: str) -> Iterator[Violation]:
    """``measurements[i][key]`` is ``i``: the first that is not is reported."""
    for index, measurement in enumerate(_items(body, "measurements")):
        if _int(measurement.get(key)) and measurement[key] != index:
            yield Violation(code, f"/measurements/{index}/{key}", str(index), str(measurement[key]), source)
            return


def utterance_sequence(body: Any, kind: str) -> Iterator[Violation]:
    """utterance_id counts from 0; each utterance ends at or after it starts."""
    for index, utterance in enumerate(_items(body, "utterances")):
        if _int(utterance.get("utterance_id")) and utterance["utterance_id"] != index:
            yield Violation(
                "v1-utterance-sequence",
                f"/utterances/{index}/utterance_id",
                str(index),
                str(utterance["utterance_id"]),
                SOURCE_AUDIO,
            )
            return
        start, end = utterance.get("audio_start_ms"), utterance.get("audio_end_ms")
        if _int(start) and _int(end) and end < start:
            yield Violation(
                "v1-utterance-sequence",
                f"/utterances/{index}",
                "audio_end_ms >= audio_start_ms",
                f"{start}..{end}",
                SOURCE_AUDIO,
            )


def utterances_of_file(body: Any, kind: str) -> Iterator[Violation]:
    """Each measurement names a listed utterance, its window lies in it, speech_ended ends it, and every
    utterance has a measurement."""
    utterances = {u["utterance_id"]: u for u in _items(body, "utterances") if _int(u.get("utterance_id"))}
    last: dict[int, tuple[int, dict[str, Any]]] = {}  # utterance -> (index, its latest measurement)
    for index, measurement in enumerate(_items(body, "measurements")):
        where = f"/measurements/{index}"
        utterance_id = measurement.get("utterance_id")
        if not _int(utterance_id):
            continue
        utterance = utterances.get(utterance_id)
        if utterance is None:
            yield Violation(
                "v1-utterance-open", f"{where}/utterance_id", "a listed utterance", str(utterance_id), SOURCE_AUDIO
            )
            continue
        utterance_start, utterance_end = _window_limits(utterance)
        yield from window_violations(measurement, utterance_start, where, utterance_end)
        previous = last.get(utterance_id)
        yield from speech_ended_violations(previous[1] if previous else None, measurement, where)
        last[utterance_id] = (index, measurement)
    for utterance_id in utterances:
        if utterance_id not in last:
            yield Violation(
                "v1-utterance-measured", f"/utterances/{utterance_id}", "at least one measurement", "none", SOURCE_AUDIO
            )


def _window_limits(utterance: dict[str, Any]) -> tuple[Any, Any]:
    """The utterance's (start, end) its windows must lie in; none when it ends before it starts, since either
    bound may be the wrong one (that is v1-utterance-sequence's fault, reported once, not again per window)."""
    start, end = utterance.get("audio_start_ms"), utterance.get("audio_end_ms")
    return (None, None) if _int(start) and _int(end) and end < start else (start, end)


def window_violations(
    measurement: dict[str, Any], utterance_start: Any, where: str, utterance_end: Any = None
) -> Iterator[Violation]:
    """A window starts at or after its utterance, ends at or after it starts, within 10 s (and within the
    utterance when its end is known)."""
    start, end = measurement.get("audio_start_ms"), measurement.get("audio_end_ms")
    if not (_int(start) and _int(end)):
        return
    if _int(utterance_start) and start < utterance_start:
        yield Violation(
            "v1-window-bounds",
            f"{where}/audio_start_ms",
            f">= the utterance start {utterance_start}",
            str(start),
            SOURCE_AUDIO,
        )
    if end < start:
        yield Violation(
            "v1-window-bounds", f"{where}/audio_end_ms", f">= audio_start_ms {start}", str(end), SOURCE_AUDIO
        )
    elif end - start > MAX_WINDOW_MS:
        yield Violation("v1-window-bounds", where, "a window of at most 10000 ms", f"{end - start} ms", SOURCE_AUDIO)
    if _int(utterance_end) and end > utterance_end:
        yield Violation(
            "v1-window-bounds", f"{where}/audio_end_ms", f"<= the utterance end {utterance_end}", str(end), SOURCE_AUDIO
        )


def speech_ended_violations(
    previous: dict[str, Any] | None, measurement: dict[str, Any], where: str
) -> Iterator[Violation]:
    """Nothing follows a speech_ended measurement in its utterance; speech_ended is skipped when the previous
    measurement ended less than one second earlier."""
    if previous is not None and previous.get("trigger") == "speech_ended":
        yield Violation(
            "v1-speech-ended",
            where,
            "no measurement after speech_ended in the same utterance",
            "another measurement",
            SOURCE_AUDIO,
        )
        return
    if measurement.get("trigger") != "speech_ended" or previous is None:
        return
    before, now = previous.get("audio_end_ms"), measurement.get("audio_end_ms")
    if _int(before) and _int(now) and now - before < SPEECH_ENDED_GAP_MS:
        yield Violation(
            "v1-speech-ended",
            f"{where}/audio_end_ms",
            f"at least 1000 ms after the previous measurement's end {before}",
            str(now),
            SOURCE_AUDIO,
        )


# ------------------------------------------------------------------------------- video file responses


def frame_id_sequence(body: Any, kind: str) -> Iterator[Violation]:
    """frame_id is the position of the image's part, from 0."""
    yield from _counts_from_zero(body, "frame_id", "v1-frame-id-sequence", SOURCE_VIDEO)


# ------------------------------------------------------------------------------------------------- runs


def run_ended_at(body: Any, kind: str) -> Iterator[Violation]:
    """ended_at is null exactly while the run is live."""
    runs = [("", body)] if kind == "v1-run" else [(f"/runs/{i}", run) for i, run in enumerate(_items(body, "runs"))]
    for where, run in runs:
        if not isinstance(run, dict) or "status" not in run or run["status"] not in ("live", "ended", "errored"):
            continue
        live, ended_at = run["status"] == "live", run.get("ended_at")
        if live != (ended_at is None):
            expected = "ended_at null while live" if live else f"an ended_at for a run {run['status']}"
            yield Violation(
                "v1-run-ended-at",
                f"{where}/ended_at",
                expected,
                "null" if ended_at is None else str(ended_at)[:40],
                SOURCE_RUNS,
            )


MIN_METERED_SECONDS = 10  # "a run that is billed for any media is billed at least 10 seconds"


def metered_minimum(body: Any, kind: str) -> Iterator[Violation]:
    """A run that took in media is metered at least 10 s once it is over (the minimum is applied at the end;
    a failed file request reports 0)."""
    runs = [("", body)] if kind == "v1-run" else [(f"/runs/{i}", run) for i, run in enumerate(_items(body, "runs"))]
    for where, run in runs:
        if not isinstance(run, dict) or run.get("status") not in ("ended", "errored"):
            continue
        metered = run.get("metered_seconds")
        if _number(metered) and 0 < metered < MIN_METERED_SECONDS:
            expected = "0, or at least 10 once the run is over"
            yield Violation("v1-metered-minimum", f"{where}/metered_seconds", expected, str(metered), SOURCE_BILLING)


def runs_order(body: Any, kind: str) -> Iterator[Violation]:
    """Runs are listed newest first (by started_at)."""
    previous = None
    for index, run in enumerate(_items(body, "runs")):
        started = parse_time(run.get("started_at"))
        if started is not None and previous is not None and started > previous:
            yield Violation(
                "v1-runs-order",
                f"/runs/{index}/started_at",
                "newest first",
                f"{run['started_at']} after an older run",
                SOURCE_RUNS,
            )
            return
        previous = started if started is not None else previous


def page_duplicates(body: Any, kind: str) -> Iterator[Violation]:
    """No run is listed twice in one page."""
    seen: set[str] = set()
    for index, run in enumerate(_items(body, "runs")):
        run_id = run.get("run_id")
        if isinstance(run_id, str):
            if run_id in seen:
                yield Violation("v1-page-duplicate", f"/runs/{index}/run_id", "each run once", run_id[:60], SOURCE_RUNS)
            seen.add(run_id)


def events_order(body: Any, kind: str) -> Iterator[Violation]:
    """Events are in seq order (strictly increasing: a seq is an entry's position in the log)."""
    previous = None
    for index, event in enumerate(_items(body, "events")):
        seq = event.get("seq")
        if _int(seq) and previous is not None and seq <= previous:
            yield Violation("v1-events-order", f"/events/{index}/seq", f"> {previous}", str(seq), SOURCE_RUNS)
            return
        previous = seq if _int(seq) else previous


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time (``Z`` accepted), or None; naive times are left out of comparisons."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _items(body: Any, key: str) -> list[dict[str, Any]]:
    value = body.get(key) if isinstance(body, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# ------------------------------------------------------------------------------------------- the table

_SCORED = ("v1-audio-file-response", "v1-video-file-response", "v1-audio-server-message", "v1-video-server-message")
_VIDEO = ("v1-video-file-response", "v1-video-server-message")

# code (the first it yields) -> (rule, the kinds it reads)
BODY_RULES: dict[str, tuple[Rule, tuple[str, ...]]] = {
    "v1-scores-order": (scores_order, _SCORED),
    "v1-scores-tie-order": (scores_tie_order, _VIDEO),
    "v1-probability-decimals": (probability_decimals, _SCORED),
    "v1-voice-attribute-threshold": (voice_attribute_threshold, ("v1-audio-file-response", "v1-audio-server-message")),
    "v1-face-score-threshold": (face_score_threshold, _VIDEO),
    "v1-face-order": (face_order, _VIDEO),
    "v1-face-size-order": (face_size_order, _VIDEO),
    "v1-unmeasured-face-nulls": (unmeasured_face_nulls, _VIDEO),
    "v1-bbox-order": (bbox_order, _VIDEO),
    "v1-measurement-id-sequence": (measurement_id_sequence, ("v1-audio-file-response",)),
    "v1-utterance-sequence": (utterance_sequence, ("v1-audio-file-response",)),
    "v1-utterance-open": (utterances_of_file, ("v1-audio-file-response",)),
    "v1-frame-id-sequence": (frame_id_sequence, ("v1-video-file-response",)),
    "v1-run-ended-at": (run_ended_at, ("v1-run", "v1-runs-page")),
    "v1-runs-order": (runs_order, ("v1-runs-page",)),
    "v1-metered-minimum": (metered_minimum, ("v1-run", "v1-runs-page")),
    "v1-page-duplicate": (page_duplicates, ("v1-runs-page",)),
    "v1-events-order": (events_order, ("v1-run-events-page",)),
}


def check_body_rules(body: Any, kind: str, disabled: Collection[str] = ()) -> list[Violation]:
    """Every body rule of ``kind``; a rule switched off by its code (or by a code it yields) says nothing."""
    found: list[Violation] = []
    for rule, kinds in BODY_RULES.values():
        if kind in kinds:  # a rule may yield several codes: each is switched off on its own
            found += [v for v in rule(body, kind) if v.code not in disabled]
    return found
