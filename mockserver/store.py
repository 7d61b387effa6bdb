"""Jobs in an embedded SQLite database (``<data_dir>/jobs.sqlite3``): the mock's only state.

One connection, guarded by a lock, is shared by the event loop and worker threads; WAL journaling keeps
readers and the writer out of each other's way. A new store on the same directory sees every job.
Predictions are computed when the job is submitted and stored with it; the lifecycle only reveals them.

One mock at a time owns a data directory (an advisory lock on ``<data_dir>/jobs.lock``, released by the OS
when the process ends, however it ends), so a second mock never "recovers" the first one's queued jobs. A
damaged database is reported, never repaired or overwritten. Everything stored goes through
``wire.dumps``; a job an older mock stored with values JSON cannot carry fails alone when read.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mockserver import wire

try:
    import fcntl
except ImportError:  # not POSIX: no data-dir lock
    fcntl = None  # type: ignore[assignment]

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
    predictions_json BLOB NOT NULL      -- the GET .../predictions body, stored apart to keep listings light
);
CREATE TABLE IF NOT EXISTS artifacts (
    job_id TEXT PRIMARY KEY REFERENCES jobs (job_id),
    archive BLOB NOT NULL               -- the artifacts zip, built once: the same bytes on every download
);
"""
# Rows written through `wire.dumps` are served as stored; older rows (checked = 0) are checked when read.
CHECKED_COLUMN = "ALTER TABLE predictions ADD COLUMN checked INTEGER NOT NULL DEFAULT 0"
LOCK_NAME = "jobs.lock"

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
    unservable: str | None = None  # why this stored job cannot be served (written by an older mock)


@dataclass(frozen=True)
class ListQuery:
    """The list-jobs filters, already validated."""

    limit: int | None = 50
    statuses: tuple[str, ...] = ()
    created_before_ms: int | None = None
    created_after_ms: int | None = None
    sort_by: str = "created"
    descending: bool = True


class StoreError(Exception):
    """The data directory cannot be used; the message names it and says what to do."""


class UnservableJob(Exception):
    """A stored job whose JSON cannot be sent back (NaN, lone surrogates: written by an older mock)."""

    def __init__(self, job_id: str, reason: str) -> None:
        super().__init__(f"job {job_id} is stored in a form the mock cannot serve ({reason})")
        self.job_id = job_id
        self.reason = reason


class Store:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "jobs.sqlite3"
        self._lock = threading.Lock()
        self._lock_file = _lock_data_dir(data_dir)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            self._lock_file.close()
            raise StoreError(f"{self.path}: cannot open the job database ({exc})") from None
        self._db.row_factory = sqlite3.Row
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(
                f"{self.path}: the job database is damaged ({exc}). The mock has not changed it: move it aside "
                "(with any jobs.sqlite3-wal and -shm next to it) to start afresh, or use another --data-dir."
            ) from None

    def _open(self) -> None:
        """Check the file before anything writes to it, then set it up."""
        with self._using_db():
            # The first problem only, as bytes: a damaged row's text in the verdict need not be UTF-8.
            self._db.text_factory = bytes
            try:
                verdict = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]
            finally:
                self._db.text_factory = str
            verdict = verdict.decode("utf-8", "replace") if isinstance(verdict, bytes) else verdict
            if verdict != "ok":
                raise sqlite3.DatabaseError(" ".join(str(verdict).split())[:200])
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
            columns = {row["name"] for row in self._db.execute("PRAGMA table_info(predictions)")}
            if "checked" not in columns:
                self._db.execute(CHECKED_COLUMN)

    def close(self) -> None:
        with self._lock:
            self._db.close()
        self._lock_file.close()

    def insert(self, record: JobRecord, predictions_body: bytes | bytearray) -> None:
        """Store a job and its predictions (``wire.dumps`` JSON); NotWireJSON if the job holds what JSON cannot."""
        row = {
            "job_id": record.job_id,
            "status": record.status,
            "created_ms": record.created_ms,
            "started_ms": record.started_ms,
            "ended_ms": record.ended_ms,
            "queued_ms": record.queued_ms,
            "in_progress_ms": record.in_progress_ms,
            "request_json": wire.dumps(record.request).decode(),
            "inputs_json": wire.dumps(record.inputs).decode(),
            "outcome": record.outcome,
            "num_predictions": record.num_predictions,
            "num_errors": record.num_errors,
            "message": record.message,
            "callback_url": record.callback_url,
        }
        columns = ", ".join(row)
        marks = ", ".join(f":{name}" for name in row)
        with self._using_db(), self._db:  # one transaction: a job never exists without its predictions
            self._db.execute("BEGIN")
            self._db.execute(
                f"INSERT INTO jobs (seq, {columns}) VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs), {marks})",
                row,
            )
            self._db.execute(
                "INSERT INTO predictions (job_id, predictions_json, checked) VALUES (?, ?, 1)",
                (record.job_id, predictions_body),
            )

    def predictions_body(self, job_id: str) -> bytes:
        """The stored GET .../predictions body (UTF-8 JSON); UnservableJob if it cannot be sent."""
        with self._using_db():
            row = self._db.execute(
                "SELECT predictions_json, checked FROM predictions WHERE job_id = ?", (job_id,)
            ).fetchone()
        if row is None:
            return b"[]"
        stored = row["predictions_json"]  # bytes; text in data dirs of older mocks
        if not row["checked"]:
            _loads(job_id, stored)
        return stored.encode() if isinstance(stored, str) else stored

    def predictions(self, job_id: str) -> list[dict[str, Any]]:
        return wire.loads(self.predictions_body(job_id))

    def artifacts(self, job_id: str) -> bytes | None:
        with self._using_db():
            row = self._db.execute("SELECT archive FROM artifacts WHERE job_id = ?", (job_id,)).fetchone()
        return row[0] if row else None

    def keep_artifacts(self, job_id: str, archive: bytes) -> bytes:
        """Store the job's archive unless one is stored already; the stored one is returned either way."""
        self._execute("INSERT OR IGNORE INTO artifacts (job_id, archive) VALUES (?, ?)", (job_id, archive))
        return self.artifacts(job_id) or archive

    def get(self, job_id: str) -> JobRecord | None:
        rows = self._select("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
        return rows[0] if rows else None

    def unfinished(self) -> list[JobRecord]:
        return self._select("SELECT * FROM jobs WHERE status NOT IN (?, ?) ORDER BY seq", TERMINAL)

    def awaiting_callback(self) -> list[tuple[str, str]]:
        """(job id, callback URL) of every ended job whose callback was not attempted yet, oldest first."""
        with self._using_db():
            rows = self._db.execute(
                "SELECT job_id, callback_url FROM jobs WHERE status IN (?, ?) AND callback_url IS NOT NULL "
                "AND callback_json IS NULL ORDER BY seq",
                TERMINAL,
            ).fetchall()
        return [(row[0], row[1]) for row in rows]

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
        self._execute("UPDATE jobs SET callback_json = ? WHERE job_id = ?", (wire.dumps(result).decode(), job_id))

    @contextlib.contextmanager
    def _using_db(self) -> Iterator[None]:
        """The connection, alone; damage SQLite describes in bytes that are not UTF-8 is damage all the same."""
        with self._lock:
            try:
                yield
            except UnicodeDecodeError:  # sqlite3 decodes its error messages strictly; a damaged row's text is in one
                raise sqlite3.DatabaseError("SQLite reported damage in a message that is not UTF-8") from None

    def _execute(self, sql: str, params: Iterable[Any]) -> None:
        with self._using_db():
            self._db.execute(sql, tuple(params))

    def _select(self, sql: str, params: Iterable[Any]) -> list[JobRecord]:
        with self._using_db():
            rows = self._db.execute(sql, tuple(params)).fetchall()
        return [_record(row) for row in rows]


def _loads(job_id: str, text: str) -> Any:
    try:
        return wire.loads(text)
    except wire.NotWireJSON as exc:
        raise UnservableJob(job_id, exc.reason) from None


def _record(row: sqlite3.Row) -> JobRecord:
    """The job of a row; one whose JSON cannot be served keeps its id and status and says why in ``unservable``."""
    job_id = row["job_id"]
    unservable = None
    try:
        request = _loads(job_id, row["request_json"])
        inputs = _loads(job_id, row["inputs_json"])
        callback = _loads(job_id, row["callback_json"]) if row["callback_json"] else None
    except UnservableJob as exc:
        request, inputs, callback, unservable = {}, [], None, exc.reason
    return JobRecord(
        job_id=job_id,
        seq=row["seq"],
        status=row["status"],
        created_ms=row["created_ms"],
        started_ms=row["started_ms"],
        ended_ms=row["ended_ms"],
        queued_ms=row["queued_ms"],
        in_progress_ms=row["in_progress_ms"],
        request=request,
        inputs=inputs,
        outcome=row["outcome"],
        num_predictions=row["num_predictions"],
        num_errors=row["num_errors"],
        message=row["message"],
        callback_url=row["callback_url"],
        callback=callback,
        unservable=unservable,
    )


def _lock_data_dir(data_dir: Path) -> IO[str]:
    """Hold ``<data_dir>/jobs.lock`` for this process; StoreError if another process holds it."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        lock_file = open(data_dir / LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115 - held as long as the store
    except OSError as exc:
        raise StoreError(f"{data_dir}: cannot use this data directory ({exc.strerror or exc})") from None
    if fcntl is None:
        return lock_file
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock_file.seek(0)
        owner = lock_file.read().strip() or "unknown"
        lock_file.close()
        raise StoreError(
            f"{data_dir}: another mock (pid {owner}) is using this data directory; stop it, or give this one "
            "another --data-dir"
        ) from None
    with contextlib.suppress(OSError):
        lock_file.truncate(0)
        lock_file.write(str(os.getpid()))
        lock_file.flush()
    return lock_file
