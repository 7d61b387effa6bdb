"""Batch API, per operation, through schemathesis: generated requests, its built-in checks and ours.

Each operation is fuzzed in positive mode (valid requests: the server must accept them and answer by the
contract) and negative mode (invalid requests: the server must reject them with a 4xx). Every check runs
separately on every response, so the report can count passes and failures per check.

`POST /v0/batch/jobs` is fuzzed in negative mode only: a valid body creates a job, and jobs on a real service
cost money. Valid job creation is the lifecycle's business, under ``--max-jobs``; a negative body the server
accepts still creates a job, so those count against the same budget and stop the operation when it is spent.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Collection, Iterator
from typing import Any
from unittest import mock

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.transport import requests as schemathesis_requests

import contracts.checks  # noqa: F401  (registers the hume_* checks with schemathesis)
import openapi
from contracts.checks import ContractViolation, response_violations
from contracts.evidence import Grade, register_grades
from contracts.fuzz.bounded import MAX_REDIRECTS, RequestsBodyTooLarge
from contracts.fuzz.context import API_KEY_HEADER, BudgetExhausted, FuzzContext
from contracts.fuzz.echoes import ANY_VALUE, json_body, pointer_path
from contracts.fuzz.ledger import CheckFailure
from contracts.validation import validate_body
from contracts.violations import Violation
from contracts.wire import WireRequest, contract_breach

COMMON_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "hume_response_conformance",
    "hume_semantic_rules",
)
MODE_CHECKS = {
    GenerationMode.POSITIVE: ("positive_data_acceptance", "ignored_auth"),
    GenerationMode.NEGATIVE: ("negative_data_rejection",),
}
JOB_CREATION = "POST /v0/batch/jobs"
KEY_PLACEHOLDER = "$HUME_API_KEY"

# schemathesis's codes are graded by what backs them here: the contract documents every status, content type,
# header and body (DOCUMENTED, the default). That a server refuses a request the contract does not allow
# (ST201, negative_data_rejection) is our reading: Hume documents what clients send, not that it refuses the rest.
register_grades({"ST201": Grade.JUDGEMENT})


def operation_labels() -> list[str]:
    """`METHOD /path` of every operation of the repaired contract, in document order."""
    paths = openapi.load_repaired()["paths"]
    return [f"{method.upper()} {path}" for path, item in paths.items() for method in item if method != "parameters"]


def run_batch(ctx: FuzzContext, only: Collection[str] | None = None) -> None:
    """Fuzz every operation of the repaired contract (or those labelled in ``only``) against the target."""
    schema = schemathesis.openapi.from_dict(openapi.load_repaired(), config=_config(ctx))
    with _bounded_auth_probes(ctx):
        _run_operations(ctx, schema, only)


@contextlib.contextmanager
def _bounded_auth_probes(ctx: FuzzContext) -> Iterator[None]:
    """schemathesis's auth probes (``ignored_auth``) drop the session they were given and open a new one:
    while the batch part runs, that new one is bounded like ``ctx.session``."""
    with mock.patch.object(schemathesis_requests, "SameHostRedirectsSession", ctx.new_session):
        yield


def _run_operations(ctx: FuzzContext, schema: Any, only: Collection[str] | None) -> None:
    for result in schema.get_all_operations():
        operation = result.ok()
        if only is not None and operation.label not in only:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if operation.label == JOB_CREATION and mode is GenerationMode.POSITIVE:
                ctx.ledger.note("POST /v0/batch/jobs: valid bodies are sent by the lifecycle only (--max-jobs)")
                continue
            try:
                _fuzz_operation(ctx, operation, mode)
            except BudgetExhausted:
                ctx.ledger.note(f"time budget spent during {operation.label} ({mode.value}); later operations skipped")
                ctx.ledger.skip("batch", f"cut short: the time budget ran out during {operation.label} ({mode.value})")
                return


def _config(ctx: FuzzContext) -> schemathesis.Config:
    """The key goes in through the security scheme, so negative mode can also generate requests without it.

    Unknown query parameters are not generated: servers ignore them by convention, and Hume's does too.
    """
    return schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"api_key": {"api_key": ctx.api_key}}},
            "generation": {"allow-extra-parameters": False},
        }
    )


def _fuzz_operation(
    ctx: FuzzContext,
    operation: Any,
    mode: GenerationMode,
    check_names: tuple[str, ...] = COMMON_CHECKS,
    known: tuple[str, list[str]] | None = None,
    wire_source: tuple[str, Any] | None = None,
) -> None:
    """``check_names``: the response checks besides the mode's; ``known``: (path parameter, ids that exist) to read
    every other example (default: the lifecycle's jobs); ``wire_source``: where the document's schemas resolve
    (``contracts.wire.contract_breach``), for a document other than v0's."""
    param, ids = known or ("id", ctx.known_job_ids)
    checks = [CHECKS.get_one(name) for name in (*check_names, *MODE_CHECKS[mode])]
    state = {"examples": 0, "failures": 0, "stopped": None, "valid_on_wire": 0}
    document = operation.schema.raw_schema

    # Network I/O happens inside the test, so Hypothesis's timing health checks say nothing useful here;
    # schemathesis's strategies filter by design (e.g. negative data must really violate the schema).
    @hypothesis.seed(ctx.seed)
    @settings(
        max_examples=ctx.max_examples,
        deadline=None,
        database=None,  # nothing of a run is written to disk, so no secret can be either
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every example costs a request
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case: Any) -> None:
        if state["stopped"]:
            return
        if ctx.remaining() <= 0:
            state["stopped"] = "time"
            return
        reads_a_job = mode is GenerationMode.POSITIVE and param in (case.path_parameters or {})
        if reads_a_job and ids and state["examples"] % 2 == 0:
            # Random UUIDs only ever meet 404s; every other example reads a job that exists instead.
            case.path_parameters[param] = ids[state["examples"] // 2 % len(ids)]
        if mode is GenerationMode.NEGATIVE and _valid_on_the_wire(ctx, document, case, wire_source):
            state["valid_on_wire"] += 1
            return
        response = _call(ctx, case)
        if response is None:
            return
        state["examples"] += 1
        accepted_job = operation.label == JOB_CREATION and 200 <= response.status_code < 300
        if accepted_job and not ctx.take_job():
            state["stopped"] = "jobs"
        for check in checks:
            state["failures"] += _run_check(ctx, case, response, check, mode)
        if accepted_job:
            _remember_echoes(ctx, case, response)

    exercise()
    line = f"batch  {operation.label:<40} {mode.value:<8} {state['examples']:>3} examples, {state['failures']} failures"
    ctx.progress(line)
    if state["valid_on_wire"]:
        ctx.ledger.note(
            f"{operation.label} ({mode.value}): {state['valid_on_wire']} generated cases not sent, "
            "valid on the wire (typed otherwise, same bytes)"
        )
    if state["stopped"] == "time":
        raise BudgetExhausted
    if state["stopped"] == "jobs":
        ctx.ledger.note(f"{operation.label}: stopped, the job budget (--max-jobs {ctx.max_jobs}) is spent")


def _valid_on_the_wire(
    ctx: FuzzContext, document: dict[str, Any], case: Any, source: tuple[str, Any] | None = None
) -> bool:
    """Whether the request ``case`` serializes to is one the contract accepts (so no negative case)."""
    try:
        request = WireRequest.of_case(case, ctx.base_url)
    except (requests.RequestException, ValueError):  # cannot be prepared: sending it says why (see _call)
        return False
    return contract_breach(document, case.operation.path, request, api_key=ctx.api_key, source=source) is None


def _call(ctx: FuzzContext, case: Any) -> Any:
    """Send one case under the budgets: rate limit and 429s (inside ``ctx.session``, as for every request of
    the run), bounded retries of network errors; None if no answer.

    Bodies are read through the cap and exchanges end by their deadline (``ctx.session``); a body over the
    cap and a redirect loop are failures of the target, not retried.
    """
    for attempt in range(ctx.max_retries + 1):
        if ctx.remaining() <= 0:
            return None
        try:
            response = case.call(base_url=ctx.base_url, session=ctx.session, timeout=ctx.request_timeout)
        except RequestsBodyTooLarge as error:
            ctx.body_too_large(case.operation.label, _curl(ctx, case), error)
            return None
        except requests.TooManyRedirects:
            _redirect_loop(ctx, case)
            return None
        except requests.RequestException as error:
            if attempt == ctx.max_retries or ctx.remaining() <= 0:
                label, reason = case.operation.label, type(error).__name__
                ctx.ledger.note(f"{label}: network error after {attempt + 1} tries: {reason}")
                return None
            time.sleep(min(0.2 * 2**attempt, 2.0))
            continue
        if ctx.recorder is not None:
            ctx.recorder.requests_response(response)
        return response
    return None


def _redirect_loop(ctx: FuzzContext, case: Any) -> None:
    expected = f"an answer within {MAX_REDIRECTS} redirects"
    found = f"more than {MAX_REDIRECTS} redirects"
    failure = CheckFailure(
        case.operation.label, "redirects", "redirect-loop", "redirect loop", expected, found, _curl(ctx, case)
    )
    ctx.ledger.fail(failure)


def _curl(ctx: FuzzContext, case: Any) -> str:
    return ctx.redactor.text(case.as_curl_command(headers={API_KEY_HEADER: KEY_PLACEHOLDER}, base_url=ctx.base_url))


def _run_check(ctx: FuzzContext, case: Any, response: Any, check: Any, mode: GenerationMode) -> int:
    """Run one check; record the outcome; return 1 on failure."""
    where = case.operation.label
    try:
        case.validate_response(
            response,
            checks=[check],
            headers=dict(case.headers or {}),
            transport_kwargs={"base_url": ctx.base_url, "timeout": ctx.request_timeout, "session": ctx.session},
        )
    except (AssertionError, FailureGroup) as error:
        failures = [f for f in (_unexplained(ctx, case, response, f) for f in _failures_of(error)) if f is not None]
        if not failures:  # only echoes of values the run sent out of bounds: counted on the finding that caused them
            ctx.ledger.ok(where, check.__name__)
            return 0
        for failure in failures:
            for finding in _describe(ctx, case, check.__name__, failure, mode):
                ctx.ledger.fail(finding)
        return 1
    except requests.RequestException:  # a check that re-sends the request (ignored_auth) met a network error
        ctx.ledger.note(f"{where}: {check.__name__} could not re-send its request")
        return 0
    ctx.ledger.ok(where, check.__name__)
    return 0


def _remember_echoes(ctx: FuzzContext, case: Any, response: Any) -> None:
    """A job a server made from a JSON body the run sent out of bounds: what its later reads echo of that body
    is the accepted request's finding (ST201), not a finding of its own."""
    if not isinstance(case.body, dict):
        return
    cause = next(
        (
            key
            for key in reversed([*ctx.ledger.warnings, *ctx.ledger.failures])
            if key[:1] == (JOB_CREATION,) and key[2] == "ST201"
        ),
        None,
    )
    body = json_body(response.content.decode("utf-8", errors="replace"))
    if cause is None or not isinstance(body, dict):
        return
    sent = {}
    for violation in validate_body(case.body, "job-request"):
        path = tuple(pointer_path(violation.pointer))
        value = _at(case.body, path)
        sent[path] = value if value is not _ABSENT else ANY_VALUE
    ctx.echoes.accepted(body.get("job_id"), sent, cause)


_ABSENT = object()


def _at(node: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return _ABSENT
    return node


def _unexplained(ctx: FuzzContext, case: Any, response: Any, failure: AssertionError) -> AssertionError | None:
    """``failure`` less what echoes a value this run sent out of bounds (``contracts.fuzz.echoes``); None when
    nothing is left. Each echo counts as another occurrence of the finding that caused it."""
    if not ctx.echoes:
        return failure
    body = json_body(response.content.decode("utf-8", errors="replace"))
    if isinstance(failure, ContractViolation):
        kept = []
        for violation in failure.violations:
            cause = ctx.echoes.cause_of(body, pointer_path(violation.pointer))
            if cause is None:
                kept.append(violation)
            else:
                ctx.ledger.echoed(cause)
        if len(kept) == len(failure.violations):
            return failure
        return type(failure)(operation=failure.operation, violations=kept) if kept else None
    if not isinstance(failure, JsonSchemaError):
        return failure
    # schemathesis's ST108 points at the union that failed (a whole job of a list), not at the value: it is an
    # echo when this suite's discriminator-aware validation of the same body finds nothing but echoes.
    content_type = (response.headers.get("content-type") or [None])[0]  # lowercase keys, list values
    status, url = response.status_code, response.request.url
    violations = response_violations(
        case.method, url, status, content_type, response.content.decode("utf-8", "replace")
    )
    causes = [ctx.echoes.cause_of(body, pointer_path(v.pointer)) for v in violations]
    if not causes or None in causes:
        return failure
    ctx.ledger.echoed(causes[0])
    return None


def _failures_of(error: AssertionError | FailureGroup) -> list[AssertionError]:
    nested = getattr(error, "exceptions", None)
    return list(nested) if nested else [error]


def _describe(
    ctx: FuzzContext, case: Any, check: str, failure: AssertionError, mode: GenerationMode
) -> list[CheckFailure]:
    """One finding per failure; a contract violation gives one per code and grade (each is judged on its own)."""
    redact = ctx.redactor.text
    curl = _curl(ctx, case)
    if isinstance(failure, ContractViolation):
        distinct: dict[tuple[str, str], Violation] = {}
        for violation in failure.violations:
            distinct.setdefault((violation.code, violation.grade), violation)
        return [
            CheckFailure(
                case.operation.label,
                check,
                v.code,
                redact(f"{v.code} at {v.pointer or '(root)'}"),
                redact(v.expected or v.message),
                redact(v.found or v.message),
                redact(curl),
                v.grade,
            )
            for v in distinct.values()
        ]
    if isinstance(failure, Failure):
        code, title = failure.code, failure.title
        expected = f"{check} ({mode.value} request)"
        found = " ".join(str(failure.message).split())[:300]
    else:
        code, title, expected, found = "assertion", str(failure)[:120], check, str(failure)[:300]
    where = case.operation.label
    return [CheckFailure(where, check, code, redact(title), redact(expected), redact(found), redact(curl))]
