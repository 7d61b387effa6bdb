"""The batch job lifecycle: submission, QUEUED -> IN_PROGRESS -> COMPLETED/FAILED, views (callbacks: callbacks.py).

``JobRunner.advance`` moves every due job along; the app calls it from a background ticker and before
every read (lazy catch-up), so a job is never seen late. Transitions are conditional UPDATEs, so the two
callers never race. Timestamps are the scheduled times, so created <= started <= ended always holds.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from mockserver import wire
from mockserver.config import MockConfig
from mockserver.inference import ItemBudget, SourceInput, predict_source
from mockserver.job_request import echo_request
from mockserver.media import digest
from mockserver.store import JobRecord, Store


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str | None
    data: bytes


class JobRunner:
    def __init__(self, store: Store, config: MockConfig) -> None:
        self.store = store
        self.config = config

    # -- submission ------------------------------------------------------------------------------------

    def submit(self, request: dict[str, Any], files: list[UploadedFile]) -> str:
        """Store a new QUEUED job with its predictions (computed now, revealed when it completes)."""
        sources = _sources(request, files)
        budget = ItemBudget()
        # Each source's predictions are serialised as soon as they are made: memory holds one source's objects.
        body, num_predictions, errors = bytearray(b"["), 0, []
        for index, source in enumerate(sources):
            result = predict_source(source, request["models"], budget)
            num_predictions += len(result["results"]["predictions"])
            errors += result["results"]["errors"]
            body += b"," if index else b""
            body += wire.dumps(result)
        body += b"]"
        failed = num_predictions == 0
        message = _failure_message(errors) if failed else None
        files_echo = [
            {"filename": s.name, "md5sum": s.md5sum, "content_type": s.content_type}
            for s in sources
            if s.type == "file"
        ]
        record = JobRecord(
            job_id=str(uuid.uuid4()),
            seq=0,
            status="QUEUED",
            created_ms=now_ms(),
            started_ms=None,
            ended_ms=None,
            queued_ms=round(self.config.queued_seconds * 1000),
            in_progress_ms=round(self.config.in_progress_seconds * 1000),
            request=echo_request(request, files_echo),
            inputs=[_input_summary(s) for s in sources],
            outcome="FAILED" if failed else "COMPLETED",
            num_predictions=num_predictions,
            num_errors=len(errors),
            message=message,
            callback_url=request.get("callback_url"),
            callback=None,
        )
        self.store.insert(record, body)
        return record.job_id

    # -- lifecycle -------------------------------------------------------------------------------------

    def advance(self, at_ms: int | None = None) -> None:
        """Move every job whose time has come: QUEUED -> IN_PROGRESS -> its outcome."""
        if self.config.drifted("never-leaves-queued"):
            return
        current = now_ms() if at_ms is None else at_ms
        for job in self.store.unfinished():
            started = job.started_ms
            if started is None and current >= job.created_ms + job.queued_ms:
                started = job.created_ms + job.queued_ms
                self.store.start(job.job_id, started)
            if started is not None and current >= started + job.in_progress_ms:
                self.store.finish(job.job_id, started + job.in_progress_ms)

    def recover(self) -> None:
        """At start-up: finish every job a previous run left QUEUED or IN_PROGRESS (its predictions are stored)."""
        if self.config.drifted("never-leaves-queued"):
            return
        current = now_ms()
        for job in self.store.unfinished():
            started = job.started_ms if job.started_ms is not None else min(current, job.created_ms + job.queued_ms)
            self.store.start(job.job_id, started)
            self.store.finish(job.job_id, max(started, current))


def _sources(request: dict[str, Any], files: list[UploadedFile]) -> list[SourceInput]:
    """Files first, then URLs, then texts: one source each."""
    sources = [
        SourceInput(type="file", name=f.filename, data=f.data, content_type=f.content_type, md5sum=digest(f.data))
        for f in files
    ]
    sources += [SourceInput(type="url", name=url, url=url) for url in request["urls"]]
    sources += [SourceInput(type="text", name=str(i), data=text.encode()) for i, text in enumerate(request["text"])]
    return sources


def _input_summary(source: SourceInput) -> dict[str, Any]:
    summary: dict[str, Any] = {"type": source.type, "name": source.name}
    if source.type == "file":
        summary.update(md5sum=source.md5sum, content_type=source.content_type, size=len(source.data))
    elif source.type == "url":
        summary["url"] = source.url
    else:
        summary["text"] = source.data.decode()
    return summary


def _failure_message(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return "The job produced no predictions."
    first = errors[0]
    return f"Every input failed; first error: {first['file']}: {first['message']}"[:500]


# -- views ----------------------------------------------------------------------------------------------


def state_view(job: JobRecord) -> dict[str, Any]:
    """The ``state`` object for the job's status, keys sorted as the API sends them."""
    state: dict[str, Any] = {"created_timestamp_ms": job.created_ms}
    if job.status in ("COMPLETED", "FAILED"):
        state["ended_timestamp_ms"] = job.ended_ms
    if job.status == "FAILED":
        state["message"] = job.message
    if job.status == "COMPLETED":
        state["num_errors"] = job.num_errors
        state["num_predictions"] = job.num_predictions
    if job.status != "QUEUED":
        state["started_timestamp_ms"] = job.started_ms
    state["status"] = job.status
    return state


def details_view(job: JobRecord) -> dict[str, Any]:
    """GET /v0/batch/jobs/{id}: keys in the order of Hume's job-details examples."""
    return {"type": "INFERENCE", "job_id": job.job_id, "request": job.request, "state": state_view(job)}


def list_item_view(job: JobRecord) -> dict[str, Any]:
    """One item of GET /v0/batch/jobs: keys in the order of Hume's list-jobs examples."""
    return {"job_id": job.job_id, "request": job.request, "state": state_view(job), "type": "INFERENCE"}
