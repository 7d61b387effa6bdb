"""What a batch job's answers must keep across reads, and what one list-jobs answer must hold.

Judged alike by ``fuzz`` (which knows what it sent) and by the proxy's per-job memory (which saw what a client
sent). Each function returns None / an empty list when the promise holds, else short texts saying what was found.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

from contracts.evidence import Grade, register_grades
from contracts.violations import shorten

# Each code these judgements report, with the evidence that backs it (README: "What each check observes").
register_grades(
    {
        "job-not-found": Grade.DOCUMENTED,  # Fern: POST answers the job id that GET /v0/batch/jobs/{id} takes
        "predictions-not-found": Grade.DOCUMENTED,  # Fern: "Get the JSON predictions of a completed inference job"
        "timestamp-unit": Grade.DOCUMENTED,  # Fern: "timestamp in milliseconds"; every real state has 13 digits
        "retry-after-missing": Grade.JUDGEMENT,  # the repaired contract requires it; no Hume document says so
        "list-duplicate-job": Grade.JUDGEMENT,  # no document says a list holds each job once
    }
)

STATUS_RANK = {"QUEUED": 0, "IN_PROGRESS": 1, "COMPLETED": 2, "FAILED": 2}
TERMINAL = ("COMPLETED", "FAILED")
TIMESTAMP_KEYS = ("created_timestamp_ms", "started_timestamp_ms", "ended_timestamp_ms")
# A millisecond timestamp below 10^12 is before 2001-09-09: Hume's batch API did not exist. A timestamp in
# seconds (about 1.7 x 10^9 today) is always below it; one in microseconds lies far past the answer's Date.
MS_FLOOR = 10**12
MAX_AHEAD_OF_DATE_MS = 24 * 3600 * 1000


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- one job across reads --------------------------------------------------------------------------------------


def transition_problem(before: str | None, status: Any) -> str | None:
    """What is wrong with going from ``before`` (None: first read) to ``status``, or None."""
    if status not in STATUS_RANK:
        return f"status {shorten(status)} is not a job status"
    if before is None or before not in STATUS_RANK:
        return None
    if STATUS_RANK[status] < STATUS_RANK[before] or (before in TERMINAL and status != before):
        return f"{before} -> {status}"
    return None


def timestamp_changes(seen: dict[str, int], state: dict[str, Any]) -> str | None:
    """Timestamps of ``state`` that differ from those in ``seen`` (which learns the new ones), or None.

    A timestamp absent from a later read is no change (a list item may carry fewer fields)."""
    changed = []
    for key in TIMESTAMP_KEYS:
        value, known = state.get(key), seen.get(key)
        if known is not None and value is not None and value != known:
            changed.append(f"{key} {known} -> {shorten(value)}")
        elif known is None and _integer(value):
            seen[key] = value
    return "; ".join(changed) or None


# -- units ---------------------------------------------------------------------------------------------------


def date_ms(date_header: str | None) -> int | None:
    """The answer's ``Date`` header in Unix milliseconds, or None when absent or unreadable."""
    if not date_header:
        return None
    try:
        return int(parsedate_to_datetime(date_header).timestamp() * 1000)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _timestamps(node: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(pointer, value) of every ``*_timestamp_ms`` key below ``node`` (bounded depth: bodies are hostile)."""
    if depth > 8:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}/{key}"
            if isinstance(key, str) and key.endswith("_timestamp_ms") and _integer(value):
                yield here, value
            else:
                yield from _timestamps(value, here, depth + 1)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _timestamps(item, f"{path}/{index}", depth + 1)


def timestamp_unit_problems(body: Any, date_header: str | None) -> list[tuple[str, str]]:
    """(pointer, found) for each ``*_timestamp_ms`` that cannot be milliseconds: below 10^12 (before 2001: a
    timestamp in seconds), or more than a day past the answer's ``Date`` (microseconds, or a clock far off)."""
    now = date_ms(date_header)
    problems = []
    for pointer, value in _timestamps(body):
        if value < MS_FLOOR:
            problems.append((pointer, f"{value} (before 2001 in milliseconds: seconds?)"))
        elif now is not None and value > now + MAX_AHEAD_OF_DATE_MS:
            problems.append((pointer, f"{value}, more than a day after the answer's Date ({now} ms)"))
    return problems


# -- rate limiting -------------------------------------------------------------------------------------------


def retry_after_problem(status: int | None, retry_after: str | None) -> str | None:
    """A 429 carries ``Retry-After`` with a whole number of seconds (the contract's TooManyRequests)."""
    if status != 429:
        return None
    if retry_after is None:
        return "a 429 without Retry-After"
    if not retry_after.strip().isdigit():
        return f"Retry-After {shorten(retry_after, 40)} is not a whole number of seconds"
    return None


# -- one list answer ------------------------------------------------------------------------------------------


def _state(item: dict[str, Any], key: str) -> Any:
    state = item.get("state")
    return state.get(key) if isinstance(state, dict) else None


def list_problems(params: Sequence[tuple[str, str]], items: Sequence[Any]) -> list[tuple[str, str, str]]:
    """(code, title, found) for each way one list-jobs answer breaks its own query: more jobs than ``limit``,
    a job outside the ``status`` or ``when``/``timestamp_ms`` filter, the same job twice."""
    jobs = [item for item in items if isinstance(item, dict)]
    problems: list[tuple[str, str, str]] = []
    limit = next((value for key, value in params if key == "limit"), None)
    if limit is not None and limit.isdigit() and len(jobs) > int(limit):
        problems.append(("list-limit-ignored", "more jobs than limit", f"limit={limit} gave {len(jobs)} jobs"))
    statuses = {value for key, value in params if key == "status"}
    outside = [job for job in jobs if statuses and _state(job, "status") not in statuses]
    if outside:
        found = f"asked for {'|'.join(sorted(statuses))}; {shorten(outside[0].get('job_id'))} is "
        problems.append(
            ("list-filter-ignored", "a job outside the status filter", found + str(_state(outside[0], "status")))
        )
    problems += _window_problems(dict(params), jobs)
    counts = Counter(str(job.get("job_id")) for job in jobs if isinstance(job.get("job_id"), str))
    twice = [job_id for job_id, n in counts.items() if n > 1]
    if twice:
        problems.append(
            ("list-duplicate-job", "the same job listed twice", f"{len(twice)} job(s) twice, e.g. {twice[0]}")
        )
    return problems


def _window_problems(params: dict[str, str], jobs: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    when, at = params.get("when"), params.get("timestamp_ms")
    if when not in ("created_before", "created_after") or at is None or not at.isdigit():
        return []  # without timestamp_ms the server's "now" is unknown to a bystander
    bound = int(at)
    outside = [
        created
        for job in jobs
        if _integer(created := _state(job, "created_timestamp_ms"))
        and (created > bound if when == "created_before" else created < bound)
    ]
    if not outside:
        return []
    return [
        (
            "list-filter-ignored",
            "a job outside the when/timestamp_ms window",
            f"{when} {bound}: a job created {outside[0]}",
        )
    ]


# -- the request echo -----------------------------------------------------------------------------------------


def echo_problems(sent: dict[str, Any], uploaded_md5s: Counter[str], echo: Any) -> list[tuple[str, str]]:
    """How the details' ``request`` fails to repeat what was sent, as (title, found) pairs.

    Defaults may be filled in and models not asked for may be listed (as null or with defaults: the real
    examples list all six), so only what was sent is compared: each requested model and every setting
    given for it, each other setting, the urls and texts (order aside), one file per upload by md5sum.
    """
    if not isinstance(echo, dict):
        return [("job details carry no request", f"request {shorten(echo)}")]
    settings = {key: sent[key] for key in ("models", "callback_url", "notify", "transcription") if key in sent}
    unrepeated = _unrepeated(settings, echo, "")
    problems = [(f"{'.'.join(path.split('.')[:2])} is not repeated", found) for path, found in unrepeated]
    for key in ("urls", "text"):
        given = [str(value) for value in sent.get(key) or []] if isinstance(sent.get(key), list) else []
        echoed = echo.get(key)
        if not (isinstance(echoed, list) and Counter(map(str, echoed)) == Counter(given)) and (given or echoed):
            problems.append((f"{key} is not repeated", f"sent {len(given)}, echoed {shorten(echoed)}"))
    files = echo.get("files") if isinstance(echo.get("files"), list) else []
    md5s = Counter(str(f.get("md5sum")) for f in files if isinstance(f, dict))
    if md5s != uploaded_md5s:
        problems.append(
            ("files are not repeated", f"uploaded {sorted(uploaded_md5s)}, echoed {sorted(md5s.elements())}")
        )
    return [(title, " ".join(found.split())[:300]) for title, found in problems]


def _unrepeated(sent: Any, echoed: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, found) for each part of ``sent`` that ``echoed`` does not hold: objects key by key (extra keys
    allowed), other values equal (a boolean only to a boolean)."""
    if isinstance(sent, dict) and isinstance(echoed, dict):
        for key, value in sent.items():
            yield from _unrepeated(value, echoed.get(key), f"{path}.{key}" if path else key)
        return
    same_kind = isinstance(sent, bool) == isinstance(echoed, bool) and isinstance(sent, dict) == isinstance(
        echoed, dict
    )
    if not (same_kind and sent == echoed):
        yield path, f"{path}: sent {json.dumps(sent)}, echoed {shorten(echoed)}"
