"""v1 HTTP: each response judged by the v1 contract (the same code path as ``validate``), and every v1
operation through schemathesis with openapi/v1/openapi.yaml, positive and negative, with the wire-form
judgement of the v0 part and the v1 rules as checks.

Uploads are fuzzed in negative mode only: a valid upload carries media, and media is billed (the probes send
valid uploads, under ``--max-media-seconds``).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import schemathesis
from schemathesis import GenerationMode

from contracts.apis import get_api
from contracts.apis.v1.codes import BODY_RULE_CODES, SESSION_RULE_CODES
from contracts.checks import ContractViolation
from contracts.fuzz.context import BudgetExhausted, FuzzContext
from contracts.fuzz.ledger import CheckFailure
from contracts.readers import HttpInteraction, HttpMessage
from contracts.violations import Finding, Violation

V1_RULE_CODES = frozenset(BODY_RULE_CODES) | frozenset(SESSION_RULE_CODES)
UPLOADS = ("POST /v1/expression/audio/file", "POST /v1/expression/video/file")
RESPONSE_CHECK = "v1 response contract"


def v1_violations(
    method: str, url: str, status: int, content_type: str | None, text: str, state: Any = None
) -> list[Violation]:
    """Every violation of one v1 HTTP response (additions are notes, as in ``validate``)."""
    parts = urlsplit(url)
    interaction = HttpInteraction(
        source="fuzz",
        location="",
        method=method.upper(),
        path=parts.path or "/",
        response=HttpMessage(content_type=content_type, text=text, status=status),
        query=parts.query,
    )
    found: list[Violation] = []
    for result in get_api("v1").adapter().check_interaction(interaction, state=state):
        if isinstance(result, Finding):
            found.extend(result.violations)
    return found


def judge_response(ctx: FuzzContext, where: str, response: httpx.Response, reproduce: str, state: Any = None) -> bool:
    """Judge an httpx response by the v1 contract into the ledger; True when it conforms."""
    content_type = response.headers.get("content-type")
    request = response.request
    violations = v1_violations(request.method, str(request.url), response.status_code, content_type,
                               response.text, state)  # fmt: skip
    if not violations:
        ctx.ledger.ok(where, RESPONSE_CHECK)
        return True
    for violation in violations[:20]:
        ctx.ledger.fail(
            CheckFailure(
                where,
                RESPONSE_CHECK,
                violation.code,
                f"{violation.code} at {violation.pointer or '(root)'}",
                ctx.redactor.text(violation.expected or violation.message)[:300],
                ctx.redactor.text(violation.found or violation.message)[:300],
                reproduce,
            )
        )
    return False


# ---- schemathesis checks: the v1 contract, split as the v0 checks are (schema, then rules)
def _violations_of(response: Any, case: Any) -> list[Violation]:
    content_type = (response.headers.get("content-type") or [None])[0]
    text = response.content.decode("utf-8", errors="replace")
    return v1_violations(case.method, response.request.url, response.status_code, content_type, text)


class V1RuleViolation(ContractViolation):
    code: ClassVar[str] = "ST903"
    checks: ClassVar[tuple[str, ...]] = ("hume_v1_rules",)
    kind_title: ClassVar[str] = "Response breaks a v1 rule"


@schemathesis.check
def hume_v1_response_conformance(ctx: Any, response: Any, case: Any) -> None:
    """The response matches the v1 contract: status, content type, schema (additions are notes)."""
    violations = [v for v in _violations_of(response, case) if v.code not in V1_RULE_CODES]
    if violations:
        raise ContractViolation(operation=case.operation.label, violations=violations)


@schemathesis.check
def hume_v1_rules(ctx: Any, response: Any, case: Any) -> None:
    """The response obeys the v1 body rules (order, thresholds, counters, runs)."""
    violations = [v for v in _violations_of(response, case) if v.code in V1_RULE_CODES]
    if violations:
        raise V1RuleViolation(operation=case.operation.label, violations=violations)


V1_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "hume_v1_response_conformance",
    "hume_v1_rules",
)


def wire_source() -> tuple[str, Any]:
    """Where the v1 OpenAPI document's schemas resolve, for the wire-form judgement (``contracts.wire``)."""
    from contracts.apis.v1.contract import OPENAPI_URI, detailed_contract

    return OPENAPI_URI, detailed_contract().registry


def examples_per_operation(max_examples: int) -> int:
    """A tenth of ``--max-examples`` (at least 3): v1's five operations are small (most of v1 is its sessions),
    and the default run must stay well under a minute with v0 beside it."""
    return max(3, max_examples // 10)


def run_operations(ctx: FuzzContext, run_ids: list[str]) -> None:
    """Every v1 operation through schemathesis (uploads negative only), reading known runs half the time."""
    whole = ctx.max_examples
    ctx.max_examples = examples_per_operation(whole)
    try:
        _run_operations(ctx, run_ids)
    finally:
        ctx.max_examples = whole


def _run_operations(ctx: FuzzContext, run_ids: list[str]) -> None:
    from contracts.fuzz import batch

    document = get_api("v1").load_openapi()
    schema = schemathesis.openapi.from_dict(document, config=batch._config(ctx))
    source = wire_source()
    with batch._bounded_auth_probes(ctx):
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if operation.label in UPLOADS and mode is GenerationMode.POSITIVE:
                    ctx.ledger.note(f"{operation.label}: valid uploads are sent by the v1 probes only (media budget)")
                    continue
                try:
                    batch._fuzz_operation(
                        ctx, operation, mode, check_names=V1_CHECKS, known=("run_id", run_ids), wire_source=source
                    )
                except BudgetExhausted:
                    ctx.ledger.note(f"time budget spent during {operation.label} ({mode.value})")
                    return
