"""Values the run itself sent out of bounds, that the server accepted and now echoes back.

A server that takes a bound probe (``face.prob_threshold`` 1.01) instead of refusing it made a job whose details
repeat the value, as they should: every later read of that job, or of a list holding it, then breaks the
contract's bound at ``request/...``. That is the consequence of the one finding that the probe was accepted, not a
new defect: the lifecycle and the batch part (schemathesis's ST108 and this suite's ``schema-range``) ask here
first, and what is explained is counted as another occurrence of the finding that caused it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any

ANY_VALUE = object()  # a path whose echo is judged by its place alone (101 files come back as 101 file objects)
Key = tuple[str, str, str, str]  # a ledger key (contracts.fuzz.ledger.CheckFailure.key)


def leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) of every non-object value under ``node``."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from leaves(value, (*path, str(key)))
    elif path:
        yield path, node


class Echoes:
    """Per job id, the request paths (and values) the run sent out of bounds, and the finding that caused them."""

    def __init__(self) -> None:
        self._jobs: dict[str, tuple[dict[tuple[str, ...], Any], Key]] = {}
        self._lock = threading.Lock()

    def accepted(self, job_id: Any, sent: dict[tuple[str, ...], Any], cause: Key) -> None:
        """A job the server made from a request with the values ``sent`` out of bounds (``cause``: the finding)."""
        if isinstance(job_id, str) and job_id and sent:
            with self._lock:
                self._jobs[job_id] = (dict(sent), cause)

    def __bool__(self) -> bool:
        return bool(self._jobs)

    def cause_of(self, body: Any, path: Sequence[str | int]) -> Key | None:
        """The finding that explains a violation at ``path`` of ``body`` (a job, or a list of jobs): the path runs
        through a job this run made out of bounds, into its ``request`` at a path sent out of bounds, and the
        value there is the one sent. None when it is not such an echo."""
        if not self._jobs:
            return None
        node: Any = body
        for index, step in enumerate(path):
            if isinstance(node, dict) and node.get("job_id") in self._jobs and str(step) == "request":
                return self._explained(node, [str(part) for part in path[index:]])
            node = _step(node, step)
            if node is _MISSING:
                return None
        return None

    def _explained(self, job: dict[str, Any], path: list[str]) -> Key | None:
        sent, cause = self._jobs[job["job_id"]]
        rest = tuple(path[1:])  # below "request"
        value: Any = job
        for step in path:
            value = _step(value, step)
        for sent_path, sent_value in sent.items():
            if rest[: len(sent_path)] != sent_path:
                continue
            if sent_value is ANY_VALUE or (len(rest) == len(sent_path) and value == sent_value):
                return cause
        return None


_MISSING = object()


def _step(node: Any, step: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(str(step), _MISSING)
    if isinstance(node, list):
        try:
            return node[int(step)]
        except (ValueError, IndexError):
            return _MISSING
    return _MISSING


def json_body(text: str) -> Any:
    """The JSON value of a response text, or None when it is not JSON."""
    try:
        return json.loads(text) if text else None
    except (ValueError, RecursionError):
        return None


def pointer_path(pointer: str) -> list[str]:
    """The steps of an RFC 6901 JSON pointer."""
    if not pointer:
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer.lstrip("/").split("/")]
