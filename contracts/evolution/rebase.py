"""Re-apply the repairs (``openapi/overlay.yaml``) to a new upstream document, and judge each one.

A repair is one ``x-defect`` of the overlay (one or more actions). On a new upstream each repair is:

- **applied**: its targets are there, applying it changes the document, and its evidence (when the
  repair cites a vendored body or declares enum values) fails without it and passes with it;
- **redundant**: upstream already says the same thing, either because applying it changes nothing (arrays
  compared as sets: Overlay's ``update`` appends to arrays, so re-applying ``type: [string, 'null']`` to a
  fixed document would duplicate items, not change meaning), or because the document without the repair
  already accepts all of its evidence. A redundant repair is left out of the rebased document;
- **needs review**: a target is gone or has changed shape (each name of a multi-name target is checked, and
  the report shows what the document holds there now), the repair would point at a schema or security scheme
  the upstream does not have, or the repair applies but its evidence still fails. It is left out too.

Evidence is re-checked where the document says what a body is judged by: its operation (the 200 answer of
``GET /v0/batch/jobs/{id}/predictions``, ...), so it works whatever the upstream calls its schemas.
Then the generated names overlay is applied, the result is checked with openapi-spec-validator, and every
vendored real recording is validated against it.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonpath_rfc9535 as jsonpath

import openapi
from contracts.evolution.documents import body_schema_pointer, json_pointer, resolve_pointer, walk_size
from contracts.evolution.targets import Gap, locations, target_gaps
from contracts.fast import FastContract, SkippingContract, UnsupportedSchema
from contracts.local_refs import REFUSING_HANDLERS, describe_all, external_refs
from contracts.safe_text import printable
from contracts.schema import OPENAPI_URI, Contract
from contracts.validation import detect_kind
from contracts.violations import Violation
from openapi.names import legal_name, names_overlay, renamed_refs
from openapi.overlay import Action, OverlayError, apply_action, evidence_items, parse_actions

Status = Literal["applied", "redundant", "needs-review"]
NAMES_DEFECT = "component-names"
MAX_SHOWN = 3
# Nodes openapi-spec-validator may visit following $refs (it does not remember what it walked): real upstreams
# need ~10,000; a document built to fan out needs 2**40.
MAX_SPEC_WALK = 1_000_000
_EVIDENCE = re.compile(r"^(corpus/[^\s()]+\.json)\s*(?:\(([^)]*)\))?")


@dataclass(frozen=True)
class Repair:
    defect: str
    actions: tuple[tuple[int, Action], ...]  # (index in the overlay, action)


@dataclass(frozen=True)
class BodyWitness:
    """A cited corpus body: the repair is about the values at ``pointers`` (the whole body when empty)."""

    source: str
    pointers: tuple[str, ...]

    def label(self) -> str:
        return f"{self.source} ({', '.join(self.pointers)})" if self.pointers else self.source


@dataclass(frozen=True)
class EnumWitness:
    """Values the repair declares an enum to hold: the schemas at ``target`` must accept each."""

    target: str
    values: tuple[Any, ...]

    def label(self) -> str:
        return f"enum values {', '.join(map(str, self.values[:4]))}{', ...' if len(self.values) > 4 else ''}"


Witness = BodyWitness | EnumWitness


@dataclass
class RepairOutcome:
    defect: str
    status: Status
    reason: str
    details: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"defect": self.defect, "status": self.status, "reason": self.reason, "details": self.details}


@dataclass
class RecordingOutcome:
    name: str
    problems: list[str]  # empty: the recording passes

    def to_dict(self) -> dict[str, Any]:
        return {"recording": self.name, "passes": not self.problems, "problems": self.problems}


@dataclass
class RebaseReport:
    source: str
    repairs: list[RepairOutcome]
    document: dict[str, Any]
    spec_problems: list[str]
    recordings: list[RecordingOutcome]
    upstream_spec_problems: list[str] = field(default_factory=list)
    external_refs: list[str] = field(default_factory=list)  # references outside the document: named, not followed

    def counts(self) -> dict[str, int]:
        return {
            status: sum(r.status == status for r in self.repairs) for status in ("applied", "redundant", "needs-review")
        }

    @property
    def exit_code(self) -> int:
        failing = any(r.problems for r in self.recordings)
        incomplete = self.spec_problems or self.external_refs
        return 1 if self.counts()["needs-review"] or incomplete or failing else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "upstream": self.source,
            "repairs": [r.to_dict() for r in self.repairs],
            "counts": self.counts(),
            "openapi_spec_validator": {
                "valid": not self.spec_problems,
                "problems": self.spec_problems,
                "upstream_problems": self.upstream_spec_problems,
            },
            "recordings": [r.to_dict() for r in self.recordings],
            "external_refs": self.external_refs,
        }

    def to_text(self) -> str:
        width = max((len(r.defect) for r in self.repairs), default=10)
        lines = [f"Repairs rebased onto {self.source}:"]
        if self.external_refs:
            lines.append("The upstream refers outside itself; nothing it names is opened or fetched (exit 1):")
            lines.extend(f"  {ref}" for ref in self.external_refs)
        for repair in self.repairs:
            lines.append(f"  {repair.status:<12} {repair.defect:<{width}}  {repair.reason}")
            lines.extend(f"  {'':<12} {'':<{width}}    {detail}" for detail in repair.details)
        counts = self.counts()
        lines.append(
            f"{counts['applied']} applied, {counts['redundant']} redundant, {counts['needs-review']} need review."
        )
        if self.spec_problems:
            lines.append("The rebased document is NOT valid OpenAPI (openapi-spec-validator):")
            lines.extend(f"  {problem}" for problem in self.spec_problems)
            if self.upstream_spec_problems:
                lines.append("  (the upstream itself, before any repair, already fails it:")
                lines.extend(f"   {problem})" for problem in self.upstream_spec_problems)
        else:
            lines.append("The rebased document is valid OpenAPI (openapi-spec-validator).")
        passing = [r for r in self.recordings if not r.problems]
        lines.append(f"Real recordings against the rebased document: {len(passing)} of {len(self.recordings)} pass.")
        for recording in self.recordings:
            if recording.problems:
                lines.append(f"  FAILS {recording.name}")
                lines.extend(f"    {problem}" for problem in recording.problems)
        return "\n".join(lines)


# -- the repairs and their evidence ---------------------------------------------------------------------------


def repairs_of(overlay: dict[str, Any]) -> list[Repair]:
    """The overlay's actions grouped by ``x-defect``, in order of first appearance."""
    grouped: dict[str, list[tuple[int, Action]]] = {}
    for index, action in enumerate(parse_actions(overlay)):
        defect = (action.extensions or {}).get("x-defect", f"actions[{index}]")
        grouped.setdefault(defect, []).append((index, action))
    return [Repair(defect, tuple(actions)) for defect, actions in grouped.items()]


def witnesses_of(repair: Repair) -> list[Witness]:
    found: list[Witness] = []
    for _, action in repair.actions:
        for source in _evidence_items((action.extensions or {}).get("x-evidence", [])):
            match = _EVIDENCE.match(source)
            if match:
                pointers = tuple(p.strip() for p in (match.group(2) or "").split(",") if p.strip().startswith("/"))
                witness = BodyWitness(match.group(1), pointers)
                if witness not in found:
                    found.append(witness)
        if not action.remove and isinstance(action.update, dict) and isinstance(action.update.get("enum"), list):
            found.append(EnumWitness(action.target, tuple(action.update["enum"])))
    return found


def _evidence_items(evidence: Any) -> list[str]:
    """The cited sources, with a pointer list that YAML's flow syntax split at its commas joined back.

    ``[corpus/x.json (/a, /b)]`` is read by YAML as two items, ``corpus/x.json (/a`` and ``/b)``.
    """
    items: list[str] = []
    for raw in evidence_items(evidence):  # a mapping YAML read from "a: b" comes back as its text
        text = raw.strip()
        if items and items[-1].count("(") > items[-1].count(")") and text.startswith("/"):
            items[-1] += f", {text}"
        else:
            items.append(text)
    return items


# -- building documents ---------------------------------------------------------------------------------------


def _selects(document: Any, target: str) -> bool:
    return bool(jsonpath.find(target, document))


def build(upstream: dict[str, Any], repairs: list[Repair]) -> dict[str, Any]:
    """``upstream`` with these repairs' actions applied in overlay order; an action that selects nothing is skipped."""
    ordered = sorted((index, action) for repair in repairs for index, action in repair.actions)
    document = copy.deepcopy(upstream)
    for index, action in ordered:
        try:
            document = apply_action(document, action, index)
        except OverlayError:
            continue  # selects nothing here: already judged (a no-op, or the repair is not in this build)
    return document


def with_legal_names(document: dict[str, Any]) -> dict[str, Any]:
    """The generated names overlay applied (a no-op when every name is already legal)."""
    if not isinstance(document.get("components", {}).get("schemas"), dict):
        return document
    result = copy.deepcopy(document)
    for index, action in enumerate(parse_actions(names_overlay(result))):
        result = apply_action(result, action, index)
    return result


def canonical(node: Any) -> Any:
    """``node`` with every array deduplicated (first occurrence kept): how "changes nothing" is judged."""
    if isinstance(node, dict):
        return {key: canonical(value) for key, value in node.items()}
    if isinstance(node, list):
        seen: dict[str, Any] = {}
        for item in node:
            item = canonical(item)
            seen.setdefault(json.dumps(item, sort_keys=True, default=str), item)
        return list(seen.values())
    return node


def unresolved(document: Any) -> set[str]:
    """Local ``$ref``s that point nowhere, and security requirements naming an undeclared scheme."""
    missing: set[str] = set()
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                try:
                    resolve_pointer(document, ref)
                except KeyError:
                    missing.add(f"$ref {ref}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    requirements = list(document.get("security") or [])
    for path in (document.get("paths") or {}).values():
        for operation in (path or {}).values() if isinstance(path, dict) else []:
            if isinstance(operation, dict):
                requirements.extend(operation.get("security") or [])
    for requirement in requirements:
        if isinstance(requirement, dict):
            missing.update(f"security scheme {name!r}" for name in requirement if name not in schemes)
    return missing


# -- judging evidence -----------------------------------------------------------------------------------------


class Judge:
    """Validates bodies against one OpenAPI document: the fast verdict first, the detailed report on failure."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        try:
            self._fast: FastContract | None = FastContract({OPENAPI_URI: document})
            self._detailed: Contract = SkippingContract(document, None, self._fast)
        except (UnsupportedSchema, ValueError, TypeError, KeyError):
            self._fast, self._detailed = None, Contract(document, None)

    def violations(self, body: Any, fragment: str, limit: int | None = None) -> list[Violation] | str:
        """The violations of ``body`` against the schema at ``fragment`` (the first ``limit`` of them); a string
        when it cannot be judged."""
        ref = f"{OPENAPI_URI}#{fragment}"
        try:
            if self._fast is not None and self._fast.is_valid(body, ref):
                return []
            return list(itertools.islice(self._detailed.iter_violations(body, ref), limit))
        except Exception as error:  # noqa: BLE001 - an upstream document can be broken in any way
            return f"cannot be judged by this document ({type(error).__name__}: {str(error)[:200]})"


def _related(violation: Violation, pointers: tuple[str, ...]) -> bool:
    """Whether a violation concerns the evidence: at, inside or above a cited pointer, or a union on its way."""
    if not pointers:
        return True
    at = violation.pointer
    parent = at.rsplit("/", 1)[0] if at else ""
    for cited in pointers:
        if at == cited or at.startswith(cited + "/") or cited.startswith(at + "/") or at == "":
            return True
        if violation.code.startswith(("discriminator", "union")) and (cited + "/").startswith(parent + "/"):
            return True
    return False


@functools.cache
def _evidence_body(source: str) -> Any:
    path = openapi.evidence_path(source)
    return None if path is None else openapi.load_evidence(path)


def excerpt(node: Any, paths: list[list[str]]) -> Any:
    """``node`` with every array cut after the last item a cited path goes through (at least one item kept).

    Every value left is the recording's own and every cited pointer still points at the same value, so the
    verdict on the cited values is the same; a 3 MB recording is judged in milliseconds, 30 times a rebase.
    """
    if isinstance(node, list):
        last = max([int(p[0]) for p in paths if p and p[0].isdigit()] + [0])
        return [
            excerpt(item, [p[1:] for p in paths if p and p[0] == str(i)]) for i, item in enumerate(node[: last + 1])
        ]
    if isinstance(node, dict):
        return {key: excerpt(value, [p[1:] for p in paths if p and p[0] == key]) for key, value in node.items()}
    return node


@functools.cache
def _cited_excerpt(witness: BodyWitness) -> Any:
    body = _evidence_body(witness.source)
    if body is None or not witness.pointers:
        return body
    paths = [[step.replace("~1", "/").replace("~0", "~") for step in p.split("/")[1:]] for p in witness.pointers]
    return excerpt(body, paths)


def _renamed(steps: tuple[Any, ...]) -> tuple[Any, ...]:
    """A location in the document before the names overlay, as it is after it."""
    if len(steps) > 2 and steps[:2] == ("components", "schemas"):
        return (*steps[:2], legal_name(str(steps[2])), *steps[3:])
    return steps


def witness_verdict(witness: Witness, before_names: dict[str, Any], judge: Judge) -> tuple[bool, str] | None:
    """(accepted, why not) for one piece of evidence; None when this document cannot be asked."""
    if isinstance(witness, EnumWitness):
        places = [json_pointer(_renamed(steps)) for steps in locations(before_names, witness.target)]
        if not places:
            return None
        for place in places:
            for value in witness.values:
                found = judge.violations(value, place)
                if found:
                    return False, f"{value!r} is rejected at {place}"
        return True, ""
    body = _cited_excerpt(witness)
    fragment = body_schema_pointer(judge.document, detect_kind(body) or "") if body is not None else None
    if fragment is None:
        return None
    found = judge.violations(body, fragment)
    if isinstance(found, str):
        return False, found
    related = [v for v in found if _related(v, witness.pointers)]
    return not related, "; ".join(v.describe() for v in related[:MAX_SHOWN])


# -- rebasing -------------------------------------------------------------------------------------------------


def _try(repair: Repair, working: dict[str, Any]) -> tuple[RepairOutcome, dict[str, Any] | None]:
    """Apply one repair to a copy of ``working``: its outcome, and the document when it applied."""
    document = copy.deepcopy(working)
    gaps: list[Gap] = []
    for index, action in repair.actions:
        for gap in target_gaps(document, action.target, working):
            if gap.leaf_only and (action.remove or gap.leaf_is_filter):
                continue  # nothing to remove, or nothing left to fix: a no-op, not a gap
            gaps.append(gap)
        if _selects(document, action.target):
            document = apply_action(document, action, index)
    if gaps:
        return RepairOutcome(repair.defect, "needs-review", "target gone or changed shape", _describe(gaps)), None
    if canonical(document) == canonical(working):
        return RepairOutcome(repair.defect, "redundant", "applying it changes nothing"), None
    newer = sorted({keyword for _, action in repair.actions for keyword in openapi_31_keywords(action.update)})
    if newer and str(working.get("openapi", "")).startswith("3.0"):
        reason = f"it uses OpenAPI 3.1 schema keywords this OpenAPI {working['openapi']} document cannot have"
        return RepairOutcome(repair.defect, "needs-review", reason, [", ".join(newer)]), None
    introduced = unresolved(document) - unresolved(working)
    if introduced:
        reason = "it would refer to what this upstream does not have"
        return RepairOutcome(repair.defect, "needs-review", reason, sorted(introduced)), None
    return RepairOutcome(repair.defect, "applied", "applied"), document


def openapi_31_keywords(update: Any) -> set[str]:
    """Schema constructs of OpenAPI 3.1 (JSON Schema 2020-12) that OpenAPI 3.0 does not have, used in ``update``."""
    found: set[str] = set()
    stack = [update]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("type"), list) or node.get("type") == "null":
                found.add("type: null" if node.get("type") == "null" else "type lists")
            found.update(
                key for key in ("const", "contentMediaType", "contentSchema", "prefixItems", "$defs") if key in node
            )
            if isinstance(node.get("examples"), list):
                found.add("examples (a list)")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _describe(gaps: list[Gap]) -> list[str]:
    return list(dict.fromkeys(gap.describe() for gap in gaps))


def evidence_verdicts(
    repair: Repair, witnesses: list[Witness], upstream: dict[str, Any], applied: list[Repair], final: tuple
) -> list[tuple[Witness, tuple[bool, str], tuple[bool, str]]]:
    """(witness, verdict without the repair, verdict with it) for each witness this document can be asked about."""
    if not witnesses:
        return []
    final_pre, final_judge = final
    without_pre = build(upstream, [r for r in applied if r is not repair])
    without_judge = Judge(_named_or_not(without_pre))
    verdicts = []
    for witness in witnesses:
        before = witness_verdict(witness, without_pre, without_judge)
        after = witness_verdict(witness, final_pre, final_judge)
        if before is not None and after is not None:
            verdicts.append((witness, before, after))
    return verdicts


def calibrated_witnesses(repairs: list[Repair]) -> dict[str, list[Witness]]:
    """Per repair, the evidence that shows its defect on the document it was written for (the vendored upstream).

    Evidence that the vendored upstream already accepts without the repair (a field the repair only declares,
    so that its type is checked) says nothing about whether a new upstream still needs it, so it is not used.
    """
    upstream = openapi.load_upstream()
    applied = [repair for repair in repairs if repair.defect != NAMES_DEFECT]
    final_pre = build(upstream, applied)
    final = (final_pre, Judge(_named_or_not(final_pre)))
    return {
        repair.defect: [
            witness
            for witness, before, after in evidence_verdicts(repair, witnesses_of(repair), upstream, applied, final)
            if not before[0] and after[0]
        ]
        for repair in applied
    }


@functools.cache
def _shipped_witnesses() -> dict[str, list[Witness]]:
    return calibrated_witnesses(repairs_of(openapi.load_overlay()))


def _judge_evidence(verdicts: list, outcome: RepairOutcome) -> None:
    """Update ``outcome`` from its evidence re-run without and with the repair."""
    if not verdicts:
        return
    if all(before[0] for _, before, _ in verdicts):
        outcome.status, outcome.reason = "redundant", "upstream already accepts its evidence"
        outcome.details = [witness.label() for witness, _, _ in verdicts]
    elif any(not after[0] for _, _, after in verdicts):
        outcome.status, outcome.reason = "needs-review", "applies, but its evidence still fails"
        outcome.details = [f"{w.label()}: {after[1]}" for w, _, after in verdicts if not after[0]]
    else:
        outcome.reason = "applied; its evidence fails without it and passes with it"


def _named_or_not(document: dict[str, Any]) -> dict[str, Any]:
    """The document with legal names for judging bodies: what the names overlay gives, without its JSONPath
    searches (one descendant search per reference: the slow part of a rebase). As is if names would collide."""
    schemas = (document.get("components") or {}).get("schemas")
    if not isinstance(schemas, dict):
        return document
    renames = {name: legal_name(name) for name in schemas if legal_name(name) != name}
    if len(set(map(legal_name, schemas))) != len(schemas):
        return document
    return renamed_refs(document, renames) | {
        "components": {
            **renamed_refs(document["components"], renames),
            "schemas": {renames.get(name, name): renamed_refs(body, renames) for name, body in schemas.items()},
        }
    }


def _names_outcome(document: dict[str, Any]) -> tuple[RepairOutcome, dict[str, Any]]:
    schemas = (document.get("components") or {}).get("schemas")
    illegal = [name for name in schemas or {} if legal_name(name) != name]
    if not illegal:
        return RepairOutcome(NAMES_DEFECT, "redundant", "every component name is already legal"), document
    try:
        renamed = with_legal_names(document)
    except ValueError as error:
        return RepairOutcome(NAMES_DEFECT, "needs-review", f"cannot rename: {error}"), document
    example = f"`{illegal[0]}` -> `{legal_name(illegal[0])}`"
    return RepairOutcome(NAMES_DEFECT, "applied", f"{len(illegal)} schemas given legal names ({example}, ...)"), renamed


def spec_problems(document: dict[str, Any]) -> list[str]:
    """What openapi-spec-validator says about ``document`` (empty: valid)."""
    from jsonschema_path import SchemaPath
    from openapi_spec_validator.shortcuts import get_validator_cls
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    if walk_size(document, MAX_SPEC_WALK) >= MAX_SPEC_WALK:
        return [
            f"(document): too large to check: following its $refs visits over {MAX_SPEC_WALK} schema nodes "
            "(openapi-spec-validator walks each path anew: exponential work for nested allOf/oneOf), not checked"
        ]
    try:
        # The validator's default handlers open file:// and fetch http(s):// references: refused here.
        cls = get_validator_cls(document)
        cls(SchemaPath.from_dict(document, handlers=REFUSING_HANDLERS)).validate()
    except OpenAPIValidationError as error:
        where = "/".join(str(step) for step in getattr(error, "path", ()) or ())
        message = str(getattr(error, "message", error))
        if len(message) > 200 and " is not " in message:  # drop the dump of the offending value
            message = "the value" + message[message.rindex(" is not ") :]
        shown = message.splitlines()[0][:300] if message else type(error).__name__
        return [printable(f"{where or '(document)'}: {shown}")]
    except Exception as error:  # noqa: BLE001 - the validator raises other types on malformed input
        return [printable(f"(document): {type(error).__name__}: {str(error)[:300]}")]
    return []


def _invalidating(upstream: dict[str, Any], applied: list[Repair]) -> list[Repair]:
    """The repairs that, applied alone to a valid upstream, make it invalid (an OpenAPI 3.1 construct in 3.0, ...)."""
    return [repair for repair in applied if spec_problems(_named_or_not(build(upstream, [repair])))]


def rerun_recordings(judge: Judge) -> list[RecordingOutcome]:
    outcomes = []
    for path in openapi.recorded_evidence():
        name = path.name.removesuffix(".gz")
        body = openapi.load_evidence(path)
        fragment = body_schema_pointer(judge.document, detect_kind(body) or "")
        if fragment is None:
            outcomes.append(RecordingOutcome(name, ["the document declares no JSON 200 answer for this body"]))
            continue
        found = judge.violations(body, fragment, limit=MAX_SHOWN + 1)
        if isinstance(found, str):
            outcomes.append(RecordingOutcome(name, [found]))
            continue
        problems = [v.describe() for v in found[:MAX_SHOWN]]
        if len(found) > MAX_SHOWN:
            problems.append("... and more")
        outcomes.append(RecordingOutcome(name, problems))
    return outcomes


def rebase(upstream: dict[str, Any], source: str, overlay: dict[str, Any] | None = None) -> RebaseReport:
    """Judge every repair of ``overlay`` (default: the shipped one) on ``upstream`` and build the result."""
    if overlay is None:
        repairs, witnesses = repairs_of(openapi.load_overlay()), _shipped_witnesses()
    else:
        repairs = repairs_of(overlay)
        witnesses = calibrated_witnesses(repairs)
    outcomes: dict[str, RepairOutcome] = {}
    applied: list[Repair] = []
    working = copy.deepcopy(upstream)
    for repair in repairs:
        if repair.defect == NAMES_DEFECT:
            continue  # generated from the result, below
        outcome, result = _try(repair, working)
        outcomes[repair.defect] = outcome
        if result is not None:
            applied.append(repair)
            working = result
    final_pre = build(upstream, applied)
    final = (final_pre, Judge(_named_or_not(final_pre)))
    for repair in applied:
        verdicts = evidence_verdicts(repair, witnesses.get(repair.defect, []), upstream, applied, final)
        _judge_evidence(verdicts, outcomes[repair.defect])
    applied = [repair for repair in applied if outcomes[repair.defect].status == "applied"]
    names, document = _names_outcome(build(upstream, applied))
    problems = spec_problems(document)
    upstream_problems = spec_problems(_named_or_not(upstream)) if problems else []
    if problems and not upstream_problems:
        for repair in _invalidating(upstream, applied):
            outcomes[repair.defect].status = "needs-review"
            outcomes[repair.defect].reason = "it makes the document invalid OpenAPI"
            outcomes[repair.defect].details = spec_problems(_named_or_not(build(upstream, [repair])))
        applied = [repair for repair in applied if outcomes[repair.defect].status == "applied"]
        names, document = _names_outcome(build(upstream, applied))
        problems = spec_problems(document)
    report_repairs = [*outcomes.values(), names]
    return RebaseReport(
        external_refs=describe_all(external_refs(upstream)),
        source=source,
        repairs=report_repairs,
        document=document,
        spec_problems=problems,
        upstream_spec_problems=upstream_problems,
        recordings=rerun_recordings(Judge(document)),
    )
