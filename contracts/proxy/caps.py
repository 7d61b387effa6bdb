"""How much of a long proxy session's results are kept in memory: every count, a bounded number of details.

A proxy runs for hours; a target that drifts on every answer would otherwise keep every finding until
stop. As ``validate`` keeps ``MAX_PER_CODE`` violations of a code per body, the session keeps the first
``MAX_PER_CODE`` failing findings per code, and the first ``MAX_NOTES`` notes; the counts (by code,
bodies, failing) stay exact, and the report says how many were left out.
"""

from __future__ import annotations

from collections import Counter

from contracts import report
from contracts.readers import Note
from contracts.validation import MAX_PER_CODE
from contracts.violations import Finding

MAX_NOTES = 1000


class KeptResults:
    """Adds findings and notes to ``results``, the details of each capped, the counts whole."""

    def __init__(self, results: report.Results) -> None:
        self.results = results
        self.kept_by_code: Counter[str] = Counter()
        self.notes = 0
        self.left_out = 0

    def add(self, result: Finding | Note) -> None:
        if isinstance(result, Note):
            self.notes += 1
            if self.notes <= MAX_NOTES:
                self.results.add(result)
            else:
                self.left_out += 1
            return
        codes = {violation.code for violation in result.violations}
        if not codes or any(self.kept_by_code[code] < MAX_PER_CODE for code in codes):
            self.kept_by_code.update(codes)
            self.results.add(result)
            return
        entry = self.results.file(result.source)  # counted as ``Results.add`` does, the details left out
        entry.bodies += 1
        entry.failing += 1
        entry.by_code.update(violation.code for violation in result.violations)
        self.left_out += 1
