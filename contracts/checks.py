"""This suite's checks, registered with schemathesis beside its built-in ones.

- ``hume_response_conformance``: the discriminator-aware schema validation of the response (and its
  declared status and content type), so a failure names the variant and the field;
- ``hume_semantic_rules``: the semantic rules (timestamps, intervals, probabilities, label sets, ids).

Each fails with a typed failure whose title names the check, whose message lists the violations, and whose
``violation_code`` is this suite's stable code (schemathesis's own ``code`` stays in its ST9xx custom range).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

import schemathesis
from schemathesis.core.failures import Failure

from contracts.codes import RULE_CODES
from contracts.readers import HttpInteraction, HttpMessage
from contracts.traffic import check_interaction
from contracts.violations import Finding, Violation


class ContractViolation(Failure):
    """The response breaks the repaired contract."""

    code: ClassVar[str] = "ST901"
    checks: ClassVar[tuple[str, ...]] = ("hume_response_conformance",)
    kind_title: ClassVar[str] = "Response violates the Hume contract"

    __slots__ = ("violations",)

    def __init__(self, *, operation: str, violations: list[Violation], title: str | None = None) -> None:
        first = violations[0]
        super().__init__(
            operation=operation,
            title=title or f"{self.kind_title}: {first.code} at {first.pointer or '(root)'}",
            message="\n".join(f"{v.code}  {v.describe()}" for v in violations[:20]),
        )
        self.violations = violations

    @property
    def violation_code(self) -> str:
        return self.violations[0].code


class SemanticRuleViolation(ContractViolation):
    """The response breaks a semantic rule of the contract."""

    code: ClassVar[str] = "ST902"
    checks: ClassVar[tuple[str, ...]] = ("hume_semantic_rules",)
    kind_title: ClassVar[str] = "Response breaks a semantic rule"


def response_violations(method: str, url: str, status: int, content_type: str | None, text: str) -> list[Violation]:
    """Every violation of one HTTP response, by the same code path as ``hume-contracts validate``."""
    interaction = HttpInteraction(
        source="fuzz",
        location="",
        method=method.upper(),
        path=urlsplit(url).path or "/",
        response=HttpMessage(content_type=content_type, text=text, status=status),
        query=urlsplit(url).query,
    )
    found: list[Violation] = []
    for result in check_interaction(interaction):
        if isinstance(result, Finding):
            found.extend(result.violations)
    return found


def _violations_of(response: Any, case: Any) -> list[Violation]:
    content_type = (response.headers.get("content-type") or [None])[0]  # lowercase keys, list values
    url, status = response.request.url, response.status_code
    text = response.content.decode("utf-8", errors="replace")  # a zip body is only checked for status and type
    return response_violations(case.method, url, status, content_type, text)


@schemathesis.check
def hume_response_conformance(ctx: Any, response: Any, case: Any) -> None:
    """The response matches the repaired contract: status, content type, and discriminator-aware schema."""
    violations = [v for v in _violations_of(response, case) if v.code not in RULE_CODES]
    if violations:
        raise ContractViolation(operation=case.operation.label, violations=violations)


@schemathesis.check
def hume_semantic_rules(ctx: Any, response: Any, case: Any) -> None:
    """The response obeys the semantic rules (timestamps, intervals, probabilities, label sets, ids)."""
    violations = [v for v in _violations_of(response, case) if v.code in RULE_CODES]
    if violations:
        raise SemanticRuleViolation(operation=case.operation.label, violations=violations)
