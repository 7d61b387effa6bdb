"""The ``diff`` report: text, Markdown and JSON, from the same list of changes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from contracts.evolution.diff import Change

# Changes that say a part was NOT compared (too deep, past the comparison budget): a diff holding one could not
# check what it set out to check, so it is not green (INCOMPLETE, exit 1) even when nothing found breaks anyone.
NOT_COMPARED = frozenset({"too-deep", "comparison-too-large"})


@dataclass
class DiffReport:
    old: str
    new: str
    changes: list[Change]
    notes: list[str] = field(default_factory=list)  # e.g. a contract kind only one side has

    def shown(self, breaking_only: bool) -> list[Change]:
        if breaking_only:  # what was not compared is shown too: it is why the exit status is 1
            return [c for c in self.changes if c.breaking or c.code in NOT_COMPARED]
        return list(self.changes)

    def counts(self) -> dict[str, int]:
        return {
            "changes": len(self.changes),
            "breaking": sum(c.breaking for c in self.changes),
            "breaks_clients": sum("clients" in c.breaks for c in self.changes),
            "breaks_recordings": sum("recordings" in c.breaks for c in self.changes),
            "not_compared": sum(c.code in NOT_COMPARED for c in self.changes),
        }

    @property
    def exit_code(self) -> int:
        return 1 if any(c.breaking or c.code in NOT_COMPARED for c in self.changes) else 0

    def _summary(self) -> str:
        counts = self.counts()
        return (
            f"{counts['changes']} changes, {counts['breaking']} breaking "
            f"({counts['breaks_clients']} break clients, {counts['breaks_recordings']} break recordings)"
        ) + (f"; INCOMPLETE: {counts['not_compared']} places not compared" if counts["not_compared"] else "")

    def to_text(self, breaking_only: bool = False) -> str:
        lines = [f"Changes from {self.old} to {self.new}: {self._summary()}."]
        lines.extend(f"note: {note}" for note in self.notes)
        for change in self.shown(breaking_only):
            label = f"breaks {change.audience()}"
            lines.append(f"  {label:<26} {change.where}: {change.what}")
        return "\n".join(lines)

    def to_markdown(self, breaking_only: bool = False) -> str:
        lines = [f"## Changes from `{self.old}` to `{self.new}`", "", f"{self._summary()}.", ""]
        lines.extend(f"> {note}" for note in self.notes)
        if self.notes:
            lines.append("")
        lines += ["| breaks | where | change |", "|---|---|---|"]
        for change in self.shown(breaking_only):
            where, what = (text.replace("|", "\\|") for text in (change.where, change.what))
            lines.append(f"| {change.audience()} | {where} | {what} |")
        return "\n".join(lines)

    def to_dict(self, breaking_only: bool = False) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "counts": self.counts(),
            "notes": self.notes,
            "changes": [c.to_dict() for c in self.shown(breaking_only)],
        }

    def render(self, report_format: str, breaking_only: bool = False) -> str:
        if report_format == "json":
            return json.dumps(self.to_dict(breaking_only), indent=2, ensure_ascii=False)
        if report_format == "markdown":
            return self.to_markdown(breaking_only)
        if report_format == "html":
            from contracts.html_report import render_diff

            return render_diff(self.to_dict(breaking_only))
        return self.to_text(breaking_only)
