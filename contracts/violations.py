"""The one record every validator, rule, reader and check produces: a violation of the contract."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SHORT_LIMIT = 120


def shorten(value: Any, limit: int = SHORT_LIMIT) -> str:
    """A one-line, bounded rendering of any JSON value: a 10 MB body never reaches a report."""
    if isinstance(value, dict):
        text = "{" + ", ".join(f"{json.dumps(k)}: …" for k in list(value)[:8]) + (", …}" if len(value) > 8 else "}")
        text = text if value else "{}"
    elif isinstance(value, list):
        text = f"[… {len(value)} items]" if value else "[]"
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pointer(path: Any) -> str:
    """RFC 6901 JSON pointer for a sequence of keys and indices."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else ""


@dataclass(frozen=True)
class Violation:
    """One way a body breaks the contract.

    ``code`` is stable (see ``hume-contracts validate --list-codes``); ``pointer`` locates the offending
    value in the body; ``expected`` and ``found`` are short human texts; ``schema_path`` locates the rule
    in the repaired contract (or names the semantic rule); ``grade`` narrows the evidence grade of its code
    for this finding (a judgement is a warning unless strict judgements are asked for).
    """

    code: str
    pointer: str
    expected: str
    found: str
    schema_path: str = ""
    message: str = ""
    grade: str = ""  # a narrower evidence grade than its code's (contracts/evidence.py); "" for the code's

    def describe(self) -> str:
        where = self.pointer or "(root)"
        text = self.message or f"expected {self.expected}, found {self.found}"
        return f"{where}: {text}"

    def to_dict(self) -> dict[str, Any]:
        """The fields, with the grade that applies (its own, else its code's)."""
        from contracts.evidence import grade_of

        return {**asdict(self), "grade": grade_of(self.code, self.grade).value}


@dataclass
class Finding:
    """Violations found in one body of one input (a file, or one interaction or frame inside it)."""

    source: str  # file path as given by the user
    location: str  # where in the source: "" for a whole file, "entries[3].response", "line 17", ...
    kind: str  # body kind checked against: job, jobs, job-id, predictions, ...
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass
class RejectedRequest:
    """A recorded request that breaks the contract and that the server rightly refused: an HTTP 4xx, or a
    stream error frame answering an invalid payload.

    Not a violation (a fuzzer sends such requests on purpose); reports count and list them. ``answer`` is
    the refusal ("400", "error E0101"); ``violations`` say how the request breaks the contract; ``origin``
    what the recorder said produced it, if anything.
    """

    source: str
    location: str
    answer: str
    violations: list[Violation]
    origin: str = ""


@dataclass(frozen=True)
class ClientFinding:
    """A client's own protocol mistake, one the API's docs warn about (a live session seen by the proxy).

    Not a violation: never counted against the server, never in the exit status. ``code`` is its own
    (``client-...``), graded like every code (``contracts.evidence``); ``documented`` names the pages that warn
    about it.
    """

    source: str
    location: str
    code: str
    message: str
    documented: str = ""

    def describe(self) -> str:
        return f"[{self.code}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        from contracts.evidence import grade_of

        return {**asdict(self), "grade": grade_of(self.code).value}
