"""The fast paths judge every body exactly as the detailed validator does, and report identically.

``contracts.fast`` answers "valid" with a compiled validator and leaves every other body to the detailed
one. That is only sound if the compiled validator never accepts a body the detailed validator rejects, so
the verdicts are compared on generated bodies of every kind (valid ones, bodies broken in one known way,
and corpus bodies broken by generic random mutations) and on every corpus file and stream example. The
accelerated detailed validator (``SkippingContract``) must give the very same violations as the plain one,
and a file read item by item (``contracts.incremental``) the same violations as the whole body.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import ijson
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contracts.fast
import contracts.incremental
from contracts import validate_command
from contracts.fast import (
    PATTERN_KEYWORD,
    FastContract,
    contract_documents,
    detailed_contract,
    fast_contract,
    reaches_cycle,
    rewrite_documents,
    schema_violations,
)
from contracts.incremental import Index, UnreadableJson, build, item_schema_ref, validate_file
from contracts.schema import default_contract
from contracts.validation import KIND_SCHEMAS, detect_kind, validate_body
from contracts.violations import pointer
from strategies.invalid import broken_inputs
from strategies.mutations import mutated
from strategies.requests import job_requests
from strategies.responses import RESPONSE_KINDS, build_predictions_body, valid_responses
from strategies.stream import stream_payloads

DATA = Path(__file__).parent / "data"
CORPUS_FILES = sorted((DATA / "corpus").glob("*/*.json"))
STREAM_FILES = sorted((DATA / "stream").glob("**/*.json"))
# The plain detailed validator is slow Python: keep example counts modest. too_slow is suppressed because
# a full predictions body (48 scores per item, every model) is slow to draw by design, not by accident.
EXAMPLES = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def detailed_verdict(body: Any, kind: str) -> bool:
    return not default_contract().violations(body, KIND_SCHEMAS[kind])


def assert_same_judgement(body: Any, kind: str) -> None:
    """Fast verdict == detailed verdict, and the skipping detailed report == the plain detailed report."""
    ref = KIND_SCHEMAS[kind]
    plain = default_contract().violations(body, ref)
    fast = fast_contract().is_valid(body, ref)
    assert fast is not None, f"the fast validator could not judge a JSON body of kind {kind}"
    assert fast == (not plain), f"fast says {'valid' if fast else 'invalid'}; detailed found {plain}"
    assert detailed_contract().violations(body, ref) == plain


# -- the corpus and the stream examples ------------------------------------------------------------------


def _kinded(path: Path) -> tuple[Any, str] | None:
    body = json.loads(path.read_text(encoding="utf-8"))
    if path.parent.name == "invalid":  # named sent__/received__: the schema the frame must fail
        return body, "stream-payload" if path.name.startswith("sent__") else "stream-message"
    kind = detect_kind(body)
    return None if kind is None else (body, kind)


@pytest.mark.parametrize("path", CORPUS_FILES + STREAM_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_and_stream_examples_are_judged_alike(path: Path) -> None:
    kinded = _kinded(path)
    if kinded is None:  # a WireMock mappings file, an empty reset reply: judged as every kind
        body = json.loads(path.read_text(encoding="utf-8"))
        for kind in KIND_SCHEMAS:
            assert_same_judgement(body, kind)
        return
    assert_same_judgement(*kinded)


def test_every_stream_line_of_the_session_is_judged_alike() -> None:
    for line in (DATA / "stream" / "session.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        kind = "stream-payload" if entry["direction"] == "sent" else "stream-message"
        assert_same_judgement(entry["frame"], kind)


# -- generated bodies -------------------------------------------------------------------------------------


@EXAMPLES
@given(data=st.data(), kind=st.sampled_from(RESPONSE_KINDS))
def test_valid_responses_are_judged_alike(data: st.DataObject, kind: str) -> None:
    body = data.draw(valid_responses(kind, full=data.draw(st.booleans())))
    assert_same_judgement(body, kind)


@EXAMPLES
@given(data=st.data(), kind=st.sampled_from(RESPONSE_KINDS))
def test_responses_broken_one_known_way_are_judged_alike(data: st.DataObject, kind: str) -> None:
    assert_same_judgement(data.draw(mutated(kind)).body, kind)


@EXAMPLES
@given(body=st.one_of(job_requests(), stream_payloads()))
def test_valid_requests_and_client_frames_are_judged_alike(body: dict[str, Any]) -> None:
    kind = "stream-payload" if detect_kind(body) == "stream-payload" else "job-request"
    assert_same_judgement(body, kind)


@EXAMPLES
@given(broken=broken_inputs().filter(lambda broken: broken.kind in KIND_SCHEMAS))
def test_broken_requests_and_client_frames_are_judged_alike(broken: Any) -> None:
    assert_same_judgement(broken.value, broken.kind)


# -- generic random mutations of real bodies --------------------------------------------------------------

OTHER_VALUES = (None, 0, -1, 2.5, 10**20, "", "x", "E0101\n", True, [], {}, [1], {"a": None})


def _small(body: Any) -> Any:
    """A real body with its long lists cut to three items, so that the plain detailed validator is quick."""
    if isinstance(body, list):
        return [_small(item) for item in body[:3]]
    if isinstance(body, dict):
        return {key: _small(value) for key, value in body.items()}
    return body


def _places(body: Any, limit: int = 4000) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(body, ())]
    while stack and len(found) < limit:
        node, at = stack.pop()
        found.append(at)
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        stack.extend((child, (*at, key)) for key, child in children)
    return found


@st.composite
def randomly_mutated(draw: st.DrawFn, body: Any, changes: int = 3) -> Any:
    """``body`` with 1..``changes`` random edits: a key deleted, a value replaced by one of another type."""
    body = copy.deepcopy(body)
    for _ in range(draw(st.integers(1, changes))):
        at = draw(st.sampled_from(_places(body)))
        if not at:
            return draw(st.sampled_from(OTHER_VALUES))
        parent = body
        for key in at[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[at[-1]]
        else:
            parent[at[-1]] = copy.deepcopy(draw(st.sampled_from(OTHER_VALUES)))
    return body


def _corpus_bodies() -> list[tuple[Any, str]]:
    bodies = [kinded for path in CORPUS_FILES + STREAM_FILES if (kinded := _kinded(path)) is not None]
    return [(_small(body), kind) for body, kind in bodies]


CORPUS_BODIES = _corpus_bodies()


def test_the_corpus_holds_both_verdicts() -> None:
    """The file-by-file comparison above means something only if both answers occur."""
    assert {detailed_verdict(body, kind) for body, kind in CORPUS_BODIES} == {True, False}


@settings(max_examples=300, deadline=None)
@given(data=st.data(), index=st.integers(0, len(CORPUS_BODIES) - 1))
def test_randomly_mutated_corpus_bodies_are_judged_alike(data: st.DataObject, index: int) -> None:
    body, kind = CORPUS_BODIES[index]
    assert_same_judgement(data.draw(randomly_mutated(body)), kind)


# -- the wiring ---------------------------------------------------------------------------------------------


def test_a_valid_body_never_reaches_the_detailed_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("the detailed validator ran on a valid body")

    monkeypatch.setattr(contracts.fast, "detailed_contract", refuse)
    body = json.loads((DATA / "stream" / "received__face_predictions.json").read_text(encoding="utf-8"))
    assert validate_body(body, "stream-message") == []


def test_a_big_body_with_a_few_faults_gets_the_full_detailed_report() -> None:
    """The skipping validator on a realistic body: the same violations as the plain detailed validator."""
    body = build_predictions_body(300_000, seed=7)
    models = body[0]["results"]["predictions"][0]["models"]
    faces = models["face"]["grouped_predictions"][0]["predictions"]
    del faces[len(faces) // 2]["box"]
    faces[1]["time"] = "0.32"
    models["language"]["grouped_predictions"][0]["predictions"][-1]["position"] = None
    ref = KIND_SCHEMAS["predictions"]
    plain = default_contract().violations(body, ref)
    assert len(plain) == 3
    assert schema_violations(body, ref) == plain
    assert validate_body(body, "predictions")[:3] == plain


# -- the rewrite's three differences, one by one ------------------------------------------------------------


def test_a_discriminated_union_dispatches_on_its_value_not_on_oneof() -> None:
    """Two variants accept the body: plain oneOf rejects it, the discriminator (and the fast path) accept it."""
    schemas = {
        "Union": {
            "oneOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}],
            "discriminator": {"propertyName": "type", "mapping": {"a": "#/components/schemas/A"}},
        },
        "A": {"type": "object", "properties": {"type": {"type": "string"}}},
        "B": {"type": "object", "properties": {"type": {"const": "b"}, "n": {"type": "integer"}}},
    }
    fast = FastContract({"urn:test": {"components": {"schemas": schemas}}})
    union = "urn:test#/components/schemas/Union"
    assert fast.is_valid({"type": "a"}, union) is True  # B accepts it too
    assert fast.is_valid({"type": "b", "n": 1}, union) is True  # by B's const
    assert fast.is_valid({"type": "b", "n": "x"}, union) is False
    assert fast.is_valid({"type": "c"}, union) is False  # no variant for "c"
    assert fast.is_valid({"n": 1}, union) is False  # the discriminator is missing
    assert fast.is_valid("not an object", union) is False  # plain oneOf: no variant takes a string


def test_patterns_are_python_patterns() -> None:
    """Python's ``$`` matches before a final newline, as the detailed validator's ``re.search`` does."""
    fast = FastContract({"urn:test": {"$defs": {"Code": {"type": "string", "pattern": "^[EW][0-9]{4}$"}}}})
    code = "urn:test#/$defs/Code"
    assert fast.is_valid("E0101\n", code) is True
    assert fast.is_valid("E0101 ", code) is False
    assert PATTERN_KEYWORD in rewrite_documents({"urn:test": {"pattern": "a"}})["urn:test"]


def test_a_property_named_like_a_keyword_is_not_rewritten() -> None:
    documents = {"urn:test": {"properties": {"pattern": {"type": "string"}, "example": {"pattern": "^a"}}}}
    rewritten = rewrite_documents(documents)["urn:test"]["properties"]
    assert rewritten["pattern"] == {"type": "string"}
    assert rewritten["example"] == {PATTERN_KEYWORD: "^a"}


def test_formats_are_not_asserted() -> None:
    body = {"job_id": "not-a-uuid"}  # JobId.job_id has format: uuid (the rule job-id-uuid checks it instead)
    assert fast_contract().is_valid(body, KIND_SCHEMAS["job-id"]) is True
    assert default_contract().violations(body, KIND_SCHEMAS["job-id"]) == []


def test_recursive_schemas_are_left_to_the_detailed_validator() -> None:
    """jsonschema-rs recurses with the body; a hostile depth would overflow its stack and kill the process."""
    documents = {"urn:test": {"$defs": {"Tree": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}}}}
    assert reaches_cycle(documents, "urn:test", "/$defs/Tree")
    assert FastContract(documents).is_valid([[[]]], "urn:test#/$defs/Tree") is None


def test_every_kind_of_the_shipped_contract_has_a_fast_validator() -> None:
    fast = fast_contract()
    assert fast is not None
    for kind, ref in KIND_SCHEMAS.items():
        assert fast.validator_for(ref) is not None, kind


# -- values the compiled validator cannot take ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"job_id": "\ud800"},  # a lone surrogate: json.loads makes one, UTF-8 cannot encode it
        {"job_id": {1, 2}},  # not JSON at all
        [{"source": {"type": "text"}, "results": {"predictions": [], "errors": [{"file": float("nan")}]}}],
        [{"source": {"type": "url", "url": "x"}, "results": {"predictions": [{"file": float("nan")}]}}],
    ],
    ids=["lone-surrogate", "set", "nan-where-a-string-goes", "nan-where-a-number-goes"],
)
def test_values_the_fast_validator_cannot_take_get_the_detailed_report(body: Any) -> None:
    """NaN, lone surrogates, Python-only types: the fast validator never accepts what the detailed one rejects."""
    kind = "predictions" if isinstance(body, list) else "job-id"
    ref = KIND_SCHEMAS[kind]
    detailed = default_contract().violations(body, ref)
    assert not (fast_contract().is_valid(body, ref) and detailed)
    assert schema_violations(body, ref) == detailed


def test_nan_is_a_number_to_the_detailed_validator_and_cannot_tell_to_the_fast_one() -> None:
    """jsonschema-rs rejects NaN as a number where jsonschema accepts it: the detailed validator decides."""
    fast = FastContract({"urn:test": {"$defs": {"N": {"type": "number"}}}})
    assert fast.is_valid(float("nan"), "urn:test#/$defs/N") is False


def test_a_deeply_nested_body_does_not_crash_the_compiled_validator() -> None:
    """jsonschema-rs reads the body lazily, so depth where the schema does not look costs nothing."""
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    original = CORPUS_BODIES[0][0]  # a schema-valid job (doc example)
    body = {**original, "x-extra": deep}
    assert fast_contract().is_valid(body, KIND_SCHEMAS["job"]) is True
    assert validate_body(body, "job") == validate_body(original, "job")


# -- reading a large body item by item (contracts.incremental) ----------------------------------------------


def _streamed(body: Any, kind: str) -> list[Any]:
    return validate_file(io.BytesIO(json.dumps(body).encode()), kind)


def _read_whole(body: Any, kind: str) -> list[Any]:
    """The body as the reader gets it (orjson: an integer beyond 64 bits becomes a float), validated whole."""
    return validate_body(orjson.loads(json.dumps(body)), kind)


def _same_violations(streamed: list[Any], whole: list[Any]) -> bool:
    return sorted(streamed, key=repr) == sorted(whole, key=repr)


@pytest.mark.parametrize("path", CORPUS_FILES + STREAM_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_file_read_item_by_item_gets_the_whole_body_report(path: Path) -> None:
    kinded = _kinded(path)
    if kinded is None:
        return
    body, kind = kinded
    with path.open("rb") as handle:
        assert _same_violations(validate_file(handle, kind), validate_body(body, kind))


def test_a_big_body_with_faults_read_item_by_item_gets_the_whole_body_report() -> None:
    body = build_predictions_body(300_000, seed=11)
    models = body[0]["results"]["predictions"][0]["models"]
    faces = models["face"]["grouped_predictions"][0]["predictions"]
    del faces[3]["box"]
    faces[4]["emotions"][0]["name"] = "Zest"
    faces[5] = "not an object"
    models["language"]["grouped_predictions"][0]["predictions"][0]["position"]["begin"] = 10**6
    models["face"]["metadata"] = {"confidence": 7}
    streamed, whole = _streamed(body, "predictions"), validate_body(body, "predictions")
    assert len(whole) >= 5
    assert _same_violations(streamed, whole)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), index=st.sampled_from([i for i, (_, k) in enumerate(CORPUS_BODIES) if k == "predictions"]))
def test_randomly_mutated_predictions_read_item_by_item_get_the_whole_body_report(
    data: st.DataObject, index: int
) -> None:
    body = data.draw(randomly_mutated(CORPUS_BODIES[index][0]))
    assert _same_violations(_streamed(body, "predictions"), _read_whole(body, "predictions"))


def test_items_are_handed_over_and_not_kept() -> None:
    events = ijson.basic_parse(io.BytesIO(b'{"a": [1, {"b": [2, 3]}, [4]], "c": [5]}'))
    seen: list[tuple[str, Any]] = []
    skeleton = build(events, lambda path: path == ["a"], lambda path, item: seen.append((pointer(path), item)))
    assert skeleton == {"a": [], "c": [5]}
    assert seen == [("/a/0", 1), ("/a/1", {"b": [2, 3]}), ("/a/2", [4])]


PREDICTION_ITEMS = [
    Index,
    "results",
    "predictions",
    Index,
    "models",
    "face",
    "grouped_predictions",
    Index,
    "predictions",
]


def test_the_item_schema_is_the_one_the_whole_body_validation_applies() -> None:
    ref = item_schema_ref(contract_documents(), KIND_SCHEMAS["predictions"], PREDICTION_ITEMS)
    assert ref is not None and ref.endswith("/GroupedPredictionsFacePrediction/properties/predictions/items")


@pytest.mark.parametrize(
    ("schema", "streamed"),
    [
        ({"type": "object", "properties": {"l": {"type": "array", "items": {}}}}, True),
        ({"type": "object", "properties": {"l": {"type": "array", "items": {}, "minItems": 1}}}, False),
        ({"type": "object", "properties": {"l": {"type": "array", "items": {}}}, "allOf": [{}]}, False),
        ({"type": "object", "properties": {"l": {"type": "array", "items": {}}}, "enum": [{}]}, False),
        ({"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Holder"}]}, True),  # settled by the value's type
        ({"anyOf": [{"type": "object"}, {"$ref": "#/$defs/Holder"}]}, False),  # two objects: cannot settle
        ({"$ref": "#/$defs/Holder", "required": ["l"]}, False),  # $ref beside another keyword
    ],
)
def test_lists_are_streamed_only_where_emptying_them_is_exact(schema: dict[str, Any], streamed: bool) -> None:
    holder = {"type": "object", "properties": {"l": {"type": "array", "items": {"type": "integer"}}}}
    documents = {"urn:test": {"$defs": {"Root": schema, "Holder": holder}}}
    found = item_schema_ref(documents, "urn:test#/$defs/Root", ["l"])
    assert (found is not None) == streamed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "not valid JSON"),
        (b'[{"source": ', "not valid JSON"),
        (b"[1] [2]", "not valid JSON"),
        (b"{'a': 1}", "not valid JSON"),
        (b"\xff\xfe[]", "not valid JSON"),
        (b"[" * 300 + b"]" * 300, "nested more than"),
    ],
    ids=["empty", "truncated", "two-documents", "not-json", "not-utf8", "too-deep"],
)
def test_unreadable_files_are_refused_with_a_reason(text: bytes, message: str) -> None:
    with pytest.raises(UnreadableJson, match=message):
        validate_file(io.BytesIO(text), "predictions")


def test_a_file_of_a_kind_without_items_to_stream_is_read_whole() -> None:
    body = json.loads((DATA / "corpus" / "legacy" / "legacy-pysdk_details-response-failed.json").read_text())
    assert _same_violations(_streamed(body, "job"), validate_body(body, "job"))
    assert _streamed("a string", "job") == validate_body("a string", "job")


class _RecordedReads(io.BytesIO):
    """A file that remembers the size of every read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.sizes: list[int | None] = []

    def read(self, size: int | None = -1) -> bytes:
        self.sizes.append(size)
        return super().read(size)


def test_an_integer_beyond_64_bits_is_still_read_item_by_item_as_the_reader_would() -> None:
    """The C event parser stops at such integers; the fallback (ijson's Python parser) streams on, and reads
    them as orjson (the reader's parser) does: as floats. Read whole, a 50 MB body took 517 MB."""
    body = build_predictions_body(300_000, seed=3)
    items = body[0]["results"]["predictions"][0]["models"]["face"]["grouped_predictions"][0]["predictions"]
    items[-1]["frame"] = 10**20  # an integer where one is expected, beyond 64 bits
    items[-2]["time"] = -(10**30)  # and one the schema refuses
    handle = _RecordedReads(json.dumps(body).encode())
    streamed = validate_file(handle, "predictions")
    assert _same_violations(streamed, _read_whole(body, "predictions")) and streamed
    assert all(size is not None and 0 < size <= contracts.incremental.MAX_CHUNK_BYTES for size in handle.sizes)
    assert max(handle.sizes) < len(handle.getvalue()) / 4  # never read whole
    unseekable = io.BufferedReader(io.BytesIO(json.dumps(body).encode()))
    unseekable.seekable = lambda: False  # type: ignore[method-assign]
    with pytest.raises(UnreadableJson, match="integer overflow"):
        validate_file(unseekable, "predictions")


LONG = 8 * 2**20


@pytest.mark.parametrize(
    "text",
    [
        b'"' + b"a" * LONG + b'"',  # the issue's file: one long string
        b'[{"source": {"url": "' + b"\\u00e9" * (LONG // 6) + b'"}, "results": null}]',  # escapes, in a body
        b'[{"' + b"k" * LONG + b'": 1}]',  # a long key
        b"[" + b"9" * LONG + b"]",  # a long number
        b"[" + b" " * LONG + b"]",  # a long run of blanks
    ],
    ids=["string", "escaped-string-in-predictions", "key", "number", "blanks"],
)
def test_a_long_token_is_read_in_a_few_growing_chunks_not_rescanned_per_chunk(text: bytes) -> None:
    # The parser rescans a token that spans chunks once per chunk: 64 KiB chunks made one 200 MB string 188 s.
    handle = _RecordedReads(text)
    with contextlib.suppress(UnreadableJson):  # the long number overflows: reading it is what is measured
        validate_file(handle, "predictions")
    assert len(handle.sizes) <= 24  # fixed 64 KiB chunks: 128 reads, each rescanning the token
    handle = _RecordedReads(text)
    assert contracts.incremental.streamable_kind(handle) in (None, "predictions") and handle.tell() == 0
    assert handle.sizes[-1] == contracts.incremental.PROBE_BYTES  # the kind probe reads a bounded prefix


# -- the validate command: big bodies item by item, files in parallel ---------------------------------------


def _validate_report(tmp_path: Path, *args: str) -> tuple[int, str]:
    report = tmp_path / f"report-{len(list(tmp_path.iterdir()))}.json"
    with contextlib.redirect_stdout(io.StringIO()):
        status = validate_command.main([*args, "--format", "json", "--output", str(report)])
    return status, report.read_text(encoding="utf-8")


def test_the_validate_command_reads_a_big_predictions_body_item_by_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = build_predictions_body(200_000, seed=5)
    body[0]["results"]["predictions"][0]["models"]["face"]["grouped_predictions"][0]["predictions"][2]["prob"] = 2
    path = tmp_path / "big.json"
    path.write_text("\ufeff" + json.dumps(body), encoding="utf-8")  # with a byte order mark, as editors write
    whole = _validate_report(tmp_path, str(path))
    calls: list[str] = []
    original = contracts.incremental.validate_file
    monkeypatch.setattr(validate_command, "STREAM_FROM_BYTES", 0)
    monkeypatch.setattr(
        contracts.incremental, "validate_file", lambda *a, **k: calls.append("streamed") or original(*a, **k)
    )
    streamed = _validate_report(tmp_path, str(path))
    assert calls == ["streamed"]
    assert streamed == whole
    assert whole[0] == 1 and "probability-range" in whole[1]


def test_the_validate_command_reports_a_truncated_big_body_as_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "truncated.json"
    path.write_bytes(json.dumps(build_predictions_body(50_000, seed=2)).encode()[:-100])
    monkeypatch.setattr(validate_command, "STREAM_FROM_BYTES", 0)
    status, report = _validate_report(tmp_path, str(path))
    assert status == 2 and "not valid JSON" in report


def test_files_checked_in_parallel_give_the_same_report_in_the_same_order(tmp_path: Path) -> None:
    inputs = [str(DATA / "stream"), str(DATA / "corpus" / "legacy"), str(DATA / "corpus" / "doc-examples")]
    one = _validate_report(tmp_path, *inputs)
    two = _validate_report(tmp_path, "--jobs", "2", *inputs)
    assert one == two
    assert one[0] == 2  # legacy shapes are violations, the mappings file has no detectable kind
