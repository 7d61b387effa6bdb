"""Promises about runs that span several interactions of one recording: a run that ended stays ended, and a
listing followed page by page lists no item twice and has a cursor that ends.

One ``RunsLedger`` per recorded file, fed each successful runs response in recorded order. Memory is bounded:
past ``MAX_TRACKED`` runs or items, the oldest knowledge is dropped (a check then says less, never more).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from contracts.apis.v1.rules import parse_time
from contracts.violations import Violation

MAX_TRACKED = 100_000
MAX_QUERY_FIELDS = 1000
SOURCE_STATUS = "docs:reference/runs/get (status)"
SOURCE_FILTERS = "docs:reference/runs/list (query parameters)"
SOURCE_PAGES = "docs:reference/runs/list, reference/runs/list-events (cursor, next_cursor)"


@dataclass
class _Listing:
    """One listing followed page by page: the items seen and the cursors already followed."""

    seen: set[Any] = field(default_factory=set)
    followed: set[str] = field(default_factory=set)


class RunsLedger:
    def __init__(self) -> None:
        self.status: OrderedDict[str, str] = OrderedDict()
        self.listings: OrderedDict[str, _Listing] = OrderedDict()  # a page's next_cursor -> its listing

    def observe(self, kind: str, query: str, body: Any) -> list[Violation]:
        """The cross-interaction violations of one successful response of ``kind``."""
        if not isinstance(body, dict):
            return []
        if kind == "v1-run":
            return self._statuses([("", body)])
        if kind not in ("v1-runs-page", "v1-run-events-page"):
            return []
        key, id_key = ("runs", "run_id") if kind == "v1-runs-page" else ("events", "seq")
        filtered = filter_violations(query, body) if kind == "v1-runs-page" else []
        items = (
            [item for item in body.get(key) or [] if isinstance(item, dict)] if isinstance(body.get(key), list) else []
        )
        found = self._statuses([(f"/runs/{i}", run) for i, run in enumerate(items)]) if key == "runs" else []
        return (
            filtered
            + found
            + self._page(
                query,
                body.get("next_cursor"),
                [(f"/{key}/{i}/{id_key}", item.get(id_key)) for i, item in enumerate(items)],
            )
        )

    def _statuses(self, runs: list[tuple[str, dict[str, Any]]]) -> list[Violation]:
        """A run that ended stays ended (live and errored may alternate: a live run unheard from for five minutes
        reads errored, and live again when heard from)."""
        found = []
        for where, run in runs:
            run_id, status = run.get("run_id"), run.get("status")
            if not (isinstance(run_id, str) and isinstance(status, str)):
                continue
            if self.status.get(run_id) == "ended" and status != "ended":
                found.append(
                    Violation(
                        "v1-run-status-transition",
                        f"{where}/status",
                        "ended (a run that ended stays ended)",
                        status,
                        SOURCE_STATUS,
                    )
                )
            self.status[run_id] = status
            self.status.move_to_end(run_id)
            if len(self.status) > MAX_TRACKED:
                self.status.popitem(last=False)
        return found

    def _page(self, query: str, next_cursor: Any, items: list[tuple[str, Any]]) -> list[Violation]:
        try:
            cursor = dict(parse_qsl(query, max_num_fields=MAX_QUERY_FIELDS)).get("cursor")
        except ValueError:  # more fields than any client sends: the traffic check has said so
            return []
        listing = self.listings.get(cursor) if cursor else None
        listing = listing or _Listing()
        found = []
        for where, item_id in items:
            if item_id is None or isinstance(item_id, dict | list):
                continue
            if item_id in listing.seen:
                found.append(
                    Violation(
                        "v1-page-duplicate", where, "each item once in a listing", f"{item_id} again", SOURCE_PAGES
                    )
                )
            elif len(listing.seen) < MAX_TRACKED:
                listing.seen.add(item_id)
        if cursor:
            listing.followed.add(cursor)
        if isinstance(next_cursor, str):
            if next_cursor in listing.followed:
                found.append(
                    Violation(
                        "v1-cursor-loop",
                        "/next_cursor",
                        "a cursor not followed before in this listing",
                        next_cursor[:60],
                        SOURCE_PAGES,
                    )
                )
            else:
                self.listings[next_cursor] = listing
                if len(self.listings) > MAX_TRACKED:
                    self.listings.popitem(last=False)
        return found


# Filters of GET /v1/expression/run and the field each one selects on ("Only runs with this status", ...).
_EQUAL_FILTERS = ("status", "mode", "endpoint", "user_id")


def filter_violations(query: str, body: dict[str, Any]) -> list[Violation]:
    """Every listed run matches every filter of the request ("The filters combine")."""
    try:
        asked = dict(parse_qsl(query, max_num_fields=MAX_QUERY_FIELDS))
    except ValueError:
        return []
    before, after = parse_time(asked.get("started_before")), parse_time(asked.get("started_after"))
    found = []
    for index, run in enumerate(body.get("runs") if isinstance(body.get("runs"), list) else []):
        if not isinstance(run, dict):
            continue
        for name in _EQUAL_FILTERS:
            if name in asked and isinstance(run.get(name), str) and run[name] != asked[name]:
                found.append(_filtered(index, name, f"{name} {asked[name]}", run[name]))
        started = parse_time(run.get("started_at"))
        if started is not None and before is not None and not started < before:
            found.append(_filtered(index, "started_at", f"before {asked['started_before']}", run["started_at"]))
        if started is not None and after is not None and not started >= after:
            found.append(_filtered(index, "started_at", f"at or after {asked['started_after']}", run["started_at"]))
    return found


def _filtered(index: int, field: str, expected: str, found: Any) -> Violation:
    return Violation(
        "v1-list-filter-ignored", f"/runs/{index}/{field}", f"a run with {expected}", str(found)[:60], SOURCE_FILTERS
    )
