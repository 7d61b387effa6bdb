"""Runs in SQLite (``<data_dir>/runs.sqlite3``, next to v0's jobs and covered by the same data-dir lock).

Every upload and every realtime session is a run. A session writes its run when it opens, its counters at
most once per ``run_flush_interval_s`` while it lasts, and everything when it ends, so a mock that dies loses
at most the last second of counters and never a finished run. On start-up, runs still ``live`` belong to a
mock that died: they are ended as ``errored`` with close code 1011 (documented for a connection lost without a
close frame). A live run not heard from for five minutes reads ``errored``, and ``live`` again when heard from.
The damage rule is v0's: a file that fails ``quick_check`` is reported and never changed.
"""

from __future__ import annotations

import base64
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mockserver import wire
from mockserver.store import StoreError
from mockserver.v1.protocol import EVENTS_PER_KIND_CAP, LOST_CLOSE_CODE, METERED_MINIMUM_S

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,        -- start order: newest first = seq descending
    user_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,             -- audio | video
    mode TEXT NOT NULL,                 -- realtime | file
    status TEXT NOT NULL,               -- live | ended | errored (live may read errored when silent)
    started_ms INTEGER NOT NULL,
    ended_ms INTEGER,
    heard_ms INTEGER NOT NULL,          -- when the session last received anything
    bytes_received INTEGER,
    metered_seconds REAL NOT NULL,
    config_json TEXT NOT NULL,
    close_code INTEGER,
    close_reason TEXT,
    capped_json TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_ms);
CREATE TABLE IF NOT EXISTS run_events (
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    seq INTEGER NOT NULL,               -- from 1, per run
    at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    detail_json TEXT,
    PRIMARY KEY (run_id, seq)
);
"""
# The organisation's one user: the mock has one API key.
USER_ID = "5b0e0c3a-7f1d-4d2b-9a61-3c4e5f607182"
CURSOR_PREFIX = "r1:"


def now_ms() -> int:
    return int(time.time() * 1000)


def rfc3339(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position a cursor of ours carries; ValueError for anything else."""
    if len(cursor) > 64:
        raise ValueError("cursor too long")
    text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    if not text.startswith(CURSOR_PREFIX) or not text[len(CURSOR_PREFIX) :].isdigit():
        raise ValueError("not a cursor of this server")
    return int(text[len(CURSOR_PREFIX) :])


@dataclass(frozen=True)
class RunFilter:
    status: str | None = None
    mode: str | None = None
    endpoint: str | None = None
    user_id: str | None = None
    started_before_ms: int | None = None
    started_after_ms: int | None = None
    after_seq: int | None = None  # from the cursor
    page_size: int = 50
    oldest_first: bool = False  # only a drift turns this on


def metered(seconds: float, *, final: bool) -> float:
    """Billable seconds: the media taken in; at least 10 s at the end once any was."""
    seconds = round(seconds, 3)
    return max(seconds, METERED_MINIMUM_S) if final and seconds > 0 else seconds


class RunStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "runs.sqlite3"
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            with self._lock:
                verdict = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]
                if verdict != "ok":
                    raise sqlite3.DatabaseError(" ".join(str(verdict).split())[:200])
                self._db.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: a commit survives the process dying (SIGKILL), only an OS crash can undo the last
                # ones; sessions write from the event loop, so no fsync on every counter flush.
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(
                f"{self.path}: the run database is damaged ({exc}). The mock has not changed it: move it aside "
                "(with any runs.sqlite3-wal and -shm next to it) to start afresh, or use another --data-dir."
            ) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _execute(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def recover(self) -> int:
        """End the runs a dead mock left ``live``: errored, closed as lost (1011). Returns how many."""
        rows = self._execute("SELECT run_id, metered_seconds FROM runs WHERE status = 'live'")
        for row in rows:
            self._execute(
                "UPDATE runs SET status = 'errored', ended_ms = heard_ms, close_code = ?, close_reason = 'error', "
                "metered_seconds = ? WHERE run_id = ?",
                (LOST_CLOSE_CODE, metered(row["metered_seconds"], final=True), row["run_id"]),
            )
        return len(rows)

    def create(self, endpoint: str, mode: str, config: dict, *, status: str = "live") -> str:
        run_id = str(uuid.uuid4())
        started = now_ms()
        with self._lock:
            self._db.execute(
                "INSERT INTO runs (run_id, seq, user_id, endpoint, mode, status, started_ms, heard_ms, "
                "bytes_received, metered_seconds, config_json) VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 "
                "FROM runs), ?, ?, ?, ?, ?, ?, 0, 0, ?)",
                (run_id, USER_ID, endpoint, mode, status, started, started, wire.dumps(config).decode()),
            )
        return run_id

    def update(self, run_id: str, **fields: Any) -> None:
        """Set columns of a run (``config`` is stored as JSON); ``heard_ms`` defaults to now."""
        fields.setdefault("heard_ms", now_ms())
        if "config" in fields:
            fields["config_json"] = wire.dumps(fields.pop("config")).decode()
        assignments = ", ".join(f"{name} = :{name}" for name in fields)
        self._execute(f"UPDATE runs SET {assignments} WHERE run_id = :run_id", {**fields, "run_id": run_id})

    def finish(self, run_id: str, status: str, *, close_code: int | None, close_reason: str | None, **fields: Any):
        at = now_ms()
        self.update(run_id, status=status, ended_ms=at, close_code=close_code, close_reason=close_reason, **fields)

    def add_event(self, run_id: str, kind: str, detail: dict | None, kind_count: int) -> bool:
        """Log one event (``kind_count`` = how many of this kind the run had before); False once capped."""
        if kind_count >= EVENTS_PER_KIND_CAP:
            capped = wire.loads(self._execute("SELECT capped_json FROM runs WHERE run_id = ?", (run_id,))[0][0])
            if kind not in capped:
                self.update(run_id, capped_json=wire.dumps([*capped, kind]).decode())
            return False
        with self._lock:
            self._db.execute(
                "INSERT INTO run_events (run_id, seq, at_ms, kind, detail_json) VALUES (?, (SELECT COALESCE("
                "MAX(seq), 0) + 1 FROM run_events WHERE run_id = ?), ?, ?, ?)",
                (run_id, run_id, now_ms(), kind, wire.dumps(detail).decode() if detail is not None else None),
            )
        return True

    def get(self, run_id: str, silent_ms: int) -> dict | None:
        rows = self._execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        return _run(rows[0], silent_ms, full=True) if rows else None

    def list(self, query: RunFilter, silent_ms: int) -> tuple[list[dict], int | None]:
        """One page of run summaries and the seq to continue after (None on the last page)."""
        where, params = ["1 = 1"], []
        silent_before = now_ms() - silent_ms
        if query.status == "live":
            where.append("status = 'live' AND heard_ms >= ?")
            params.append(silent_before)
        elif query.status == "errored":
            where.append("(status = 'errored' OR (status = 'live' AND heard_ms < ?))")
            params.append(silent_before)
        elif query.status is not None:
            where.append("status = ?")
            params.append(query.status)
        for column in ("mode", "endpoint", "user_id"):
            if getattr(query, column) is not None:
                where.append(f"{column} = ?")
                params.append(getattr(query, column))
        if query.started_before_ms is not None:
            where.append("started_ms < ?")
            params.append(query.started_before_ms)
        if query.started_after_ms is not None:
            where.append("started_ms >= ?")
            params.append(query.started_after_ms)
        order = "ASC" if query.oldest_first else "DESC"
        if query.after_seq is not None:
            where.append("seq > ?" if query.oldest_first else "seq < ?")
            params.append(query.after_seq)
        sql = f"SELECT * FROM runs WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT ?"
        rows = self._execute(sql, (*params, query.page_size + 1))
        page = rows[: query.page_size]
        more = len(rows) > query.page_size
        return [_run(row, silent_ms, full=False) for row in page], (page[-1]["seq"] if more else None)

    def events(self, run_id: str, after_seq: int, page_size: int) -> tuple[list[dict], int | None, list[str]]:
        rows = self._execute(
            "SELECT seq, at_ms, kind, detail_json FROM run_events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, after_seq, page_size + 1),
        )
        capped = self._execute("SELECT capped_json FROM runs WHERE run_id = ?", (run_id,))
        events = []
        for row in rows[:page_size]:
            event = {"seq": row["seq"], "at": rfc3339(row["at_ms"]), "kind": row["kind"]}
            if row["detail_json"] is not None:
                event["detail"] = wire.loads(row["detail_json"])
            events.append(event)
        more = len(rows) > page_size
        return events, (rows[page_size - 1]["seq"] if more else None), wire.loads(capped[0][0]) if capped else []


def _run(row: sqlite3.Row, silent_ms: int, *, full: bool) -> dict:
    status = row["status"]
    if status == "live" and now_ms() - row["heard_ms"] > silent_ms:
        status = "errored"  # documented: not heard from for five minutes
    run = {
        "run_id": row["run_id"],
        "user_id": row["user_id"],
        "status": status,
        "endpoint": row["endpoint"],
        "mode": row["mode"],
        "started_at": rfc3339(row["started_ms"]),
        "ended_at": rfc3339(row["ended_ms"]),
        "bytes_received": row["bytes_received"],
        "bytes_recorded": None,  # the mock records no media
        "metered_seconds": row["metered_seconds"],
    }
    if full:
        run["config"] = wire.loads(row["config_json"])
        if row["close_code"] is not None:
            run["close_code"] = row["close_code"]
        if row["close_reason"] is not None:
            run["close_reason"] = row["close_reason"]
    return run
