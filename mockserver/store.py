"""Jobs in an embedded SQLite database (``<data_dir>/jobs.sqlite3``): the mock's only state.

One connection, guarded by a lock, is shared by the event loop and worker threads; WAL journaling keeps
readers and the writer out of each other's way. A new store on the same directory sees every job.
Predictions are computed when the job is submitted and stored with it; the lifecycle only reveals them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,               -- submission order: the tie-break of every sort
    status TEXT NOT NULL,               -- QUEUED | IN_PROGRESS | COMPLETED | FAILED
    created_ms INTEGER NOT NULL,
    started_ms INTEGER,
    ended_ms INTEGER,
    queued_ms INTEGER NOT NULL,         -- how long this job stays QUEUED, then IN_PROGRESS
    in_progress_ms INTEGER NOT NULL,
    request_json TEXT NOT NULL,         -- the job details `request` echo
    inputs_json TEXT NOT NULL,          -- per source: type, name, md5sum, content_type, url or text
    outcome TEXT NOT NULL,              -- the status the job ends with: COMPLETED or FAILED
    num_predictions INTEGER NOT NULL,
    num_errors INTEGER NOT NULL,
    message TEXT,                       -- why a FAILED job failed
    callback_url TEXT,
    callback_json TEXT                  -- what happened to the callback; NULL until attempted
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE TABLE IF NOT EXISTS predictions (
    job_id TEXT PRIMARY KEY REFERENCES jobs (job_id),
    predictions_json TEXT NOT NULL      -- the GET .../predictions body, stored apart to keep listings light
);
"""

TERMINAL = ("COMPLETED", "FAILED")
SORT_COLUMNS = {"created": "created_ms", "started": "started_ms", "ended": "ended_ms"}


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    seq: int
    status: str
    created_ms: int
    started_ms: int | None
    ended_ms: int | None
    queued_ms: int
    in_progress_ms: int
    request: dict[str, Any]
    inputs: list[dict[str, Any]]
    outcome: str
    num_predictions: int
    num_errors: int
    message: str | None
    callback_url: str | None
    callback: dict[str, Any] | None


@dataclass(frozen=True)
class ListQuery:
    """The list-jobs filters, already validated."""

    limit: int | None = 50
    statuses: tuple[str, ...] = ()
    created_before_ms: int | None = None
    created_after_ms: int | None = None
    sort_by: str = "created"
    descending: bool = True


class Store:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "jobs.sqlite3"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def insert(self, record: JobRecord, predictions: list[dict[str, Any]]) -> None:
        row = {
            "job_id": record.job_id,
            "status": record.status,
            "created_ms": record.created_ms,
            "started_ms": record.started_ms,
            "ended_ms": record.ended_ms,
            "queued_ms": record.queued_ms,
            "in_progress_ms": record.in_progress_ms,
            "request_json": json.dumps(record.request),
            "inputs_json": json.dumps(record.inputs),
            "outcome": record.outcome,
            "num_predictions": record.num_predictions,
            "num_errors": record.num_errors,
            "message": record.message,
            "callback_url": record.callback_url,
        }
        columns = ", ".join(row)
        marks = ", ".join(f":{name}" for name in row)
        with self._lock, self._db:  # one transaction: a job never exists without its predictions
            self._db.execute("BEGIN")
            self._db.execute(
                f"INSERT INTO jobs (seq, {columns}) VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs), {marks})",
                row,
            )
            self._db.execute(
                "INSERT INTO predictions (job_id, predictions_json) VALUES (?, ?)",
                (record.job_id, json.dumps(predictions)),
            )

    def predictions(self, job_id: str) -> list[dict[str, Any]]:
        with self._lock:
            row = self._db.execute("SELECT predictions_json FROM predictions WHERE job_id = ?", (job_id,)).fetchone()
        return json.loads(row[0]) if row else []

    def get(self, job_id: str) -> JobRecord | None:
        rows = self._select("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
        return rows[0] if rows else None

    def unfinished(self) -> list[JobRecord]:
        return self._select("SELECT * FROM jobs WHERE status NOT IN (?, ?) ORDER BY seq", TERMINAL)

    def awaiting_callback(self) -> list[JobRecord]:
        return self._select(
            "SELECT * FROM jobs WHERE status IN (?, ?) AND callback_url IS NOT NULL AND callback_json IS NULL "
            "ORDER BY seq",
            TERMINAL,
        )

    def list(self, query: ListQuery) -> list[JobRecord]:
        where, params = ["1 = 1"], []
        if query.statuses:
            where.append(f"status IN ({', '.join('?' for _ in query.statuses)})")
            params.extend(query.statuses)
        if query.created_before_ms is not None:
            where.append("created_ms < ?")
            params.append(query.created_before_ms)
        if query.created_after_ms is not None:
            where.append("created_ms > ?")
            params.append(query.created_after_ms)
        column = SORT_COLUMNS[query.sort_by]
        order = "DESC" if query.descending else "ASC"
        # Jobs without the sort timestamp (not started / not ended yet) come last either way.
        sql = f"SELECT * FROM jobs WHERE {' AND '.join(where)} ORDER BY {column} IS NULL, {column} {order}, seq {order}"
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit)
        return self._select(sql, params)

    def start(self, job_id: str, started_ms: int) -> None:
        self._execute(
            "UPDATE jobs SET status = 'IN_PROGRESS', started_ms = ? WHERE job_id = ? AND status = 'QUEUED'",
            (started_ms, job_id),
        )

    def finish(self, job_id: str, ended_ms: int) -> None:
        self._execute(
            "UPDATE jobs SET status = outcome, ended_ms = ? WHERE job_id = ? AND status = 'IN_PROGRESS'",
            (ended_ms, job_id),
        )

    def record_callback(self, job_id: str, result: dict[str, Any]) -> None:
        self._execute("UPDATE jobs SET callback_json = ? WHERE job_id = ?", (json.dumps(result), job_id))

    def _execute(self, sql: str, params: Iterable[Any]) -> None:
        with self._lock:
            self._db.execute(sql, tuple(params))

    def _select(self, sql: str, params: Iterable[Any]) -> list[JobRecord]:
        with self._lock:
            rows = self._db.execute(sql, tuple(params)).fetchall()
        return [_record(row) for row in rows]


def _record(row: sqlite3.Row) -> JobRecord:
    return JobRecord(
        job_id=row["job_id"],
        seq=row["seq"],
        status=row["status"],
        created_ms=row["created_ms"],
        started_ms=row["started_ms"],
        ended_ms=row["ended_ms"],
        queued_ms=row["queued_ms"],
        in_progress_ms=row["in_progress_ms"],
        request=json.loads(row["request_json"]),
        inputs=json.loads(row["inputs_json"]),
        outcome=row["outcome"],
        num_predictions=row["num_predictions"],
        num_errors=row["num_errors"],
        message=row["message"],
        callback_url=row["callback_url"],
        callback=json.loads(row["callback_json"]) if row["callback_json"] else None,
    )
