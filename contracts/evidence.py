"""Evidence grades: what backs each check, so a report can tell a broken promise from a judgement of ours.

A check fails a run only on a promise (a real recording, Hume's written word, or the official SDK). A check
that rests on this suite's own judgement reports a warning unless the user asks for strict judgements
(``--strict-judgements``). Every code carries its grade here; a single finding may carry a narrower grade of
its own (one bound of a check documented, the other a judgement), which wins over the code's.
"""

from __future__ import annotations

from enum import StrEnum


class Grade(StrEnum):
    """Where a promise comes from, strongest first."""

    RECORDED = "recorded"  # real traffic recorded from Hume's API shows it
    DOCUMENTED = "documented"  # Hume's docs, published spec or definitions say it
    SDK = "sdk"  # the official SDK's types or code require it
    JUDGEMENT = "judgement"  # this suite's own reading: a warning unless strict judgements are asked for


PROMISES = frozenset({Grade.RECORDED, Grade.DOCUMENTED, Grade.SDK})

# Codes graded other than DOCUMENTED. Registered by the part that owns the code (v0, v1, fuzz, proxy) with
# ``register_grades``; a code nobody graded is DOCUMENTED, the grade of the contract documents themselves.
_GRADES: dict[str, Grade] = {}


def register_grades(grades: dict[str, Grade]) -> None:
    """Record the grade of each code (called at import by the module that defines the codes)."""
    _GRADES.update(grades)


def grade_of(code: str, override: Grade | str | None = None) -> Grade:
    """The grade of one finding: its own override if it has one, else its code's."""
    if override:
        return Grade(override)
    return _GRADES.get(code, Grade.DOCUMENTED)


def is_judgement(code: str, override: Grade | str | None = None) -> bool:
    return grade_of(code, override) is Grade.JUDGEMENT


def is_warning(code: str, override: Grade | str | None = None, strict_judgements: bool = False) -> bool:
    """Whether a finding is shown and counted as a warning rather than failing the run: a judgement of ours,
    unless the user asked for strict judgements."""
    return not strict_judgements and is_judgement(code, override)


def registered_grades() -> dict[str, Grade]:
    """Every code graded other than DOCUMENTED (for listings and tests)."""
    return dict(_GRADES)
