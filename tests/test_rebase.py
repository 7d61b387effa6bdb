"""`spec --rebase`: the repairs re-applied to other upstreams, each judged applied / redundant / needs review.

Real upstream history: the 2023 Hume batch OpenAPI (two copies: the original and a reformatted one). Synthetic
upstreams: the vendored one with one defect fixed (by applying that repair alone: upstream "now says the same
thing"), which must show that repair as redundant and every other as applied; and the vendored one with a schema
renamed, which must show the repairs that target it as needing review, with what is there now.
"""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest

import openapi
from contracts.cli import main
from contracts.evolution.documents import load_openapi
from contracts.evolution.rebase import NAMES_DEFECT, RebaseReport, rebase, repairs_of
from openapi.overlay import OverlayError, apply_overlay

SHARED = Path(__file__).parents[2] / "shared" / "hume"
HUME_2023 = SHARED / "reference" / "hume-openapi-2023"
GOLDEN = Path(__file__).parent / "data" / "rebase"
needs_shared = pytest.mark.skipif(not HUME_2023.is_dir(), reason="the ground truth (../shared) is not checked out")

FIXABLE = [repair.defect for repair in repairs_of(openapi.load_overlay())]
DEFECTS = [*FIXABLE, NAMES_DEFECT]  # the names overlay is generated from the result, and judged last


def statuses(report: RebaseReport) -> dict[str, str]:
    return {repair.defect: repair.status for repair in report.repairs}


def only(*defects: str) -> dict:
    overlay = openapi.load_overlay()
    return {**overlay, "actions": [a for a in overlay["actions"] if a.get("x-defect") in defects]}


def fixed_upstream(defect: str) -> tuple[dict, list[str]]:
    """The vendored upstream with ``defect`` fixed, and the repairs that fix it: its own, plus the earlier ones its
    targets need (a repair of the JSON request body needs the JSON variant that an earlier repair adds)."""
    chosen = [defect]
    while True:
        try:
            return apply_overlay(openapi.load_upstream(), only(*chosen)), chosen
        except OverlayError:
            earlier = [d for d in FIXABLE[: FIXABLE.index(defect)] if d not in chosen]
            needed = next(d for d in earlier if _applies(only(d, *chosen)))
            chosen.insert(0, needed)


def _applies(overlay: dict) -> bool:
    try:
        apply_overlay(openapi.load_upstream(), overlay)
    except OverlayError:
        return False
    return True


def test_the_vendored_upstream_takes_every_repair_and_gives_the_committed_contract() -> None:
    report = rebase(openapi.load_upstream(), "vendored")
    assert statuses(report) == dict.fromkeys(DEFECTS, "applied")
    assert report.document == openapi.load_repaired()
    assert report.spec_problems == []
    assert [r.problems for r in report.recordings] == [[]] * 8
    assert report.exit_code == 0


@pytest.mark.parametrize("defect", FIXABLE)
def test_an_upstream_that_fixed_one_defect_shows_that_repair_as_redundant(defect: str) -> None:
    fixed, fixing = fixed_upstream(defect)
    report = rebase(fixed, f"upstream with {defect} fixed")
    assert statuses(report) == {**dict.fromkeys(DEFECTS, "applied"), **dict.fromkeys(fixing, "redundant")}
    outcome = next(r for r in report.repairs if r.defect == defect)
    assert outcome.reason in ("applying it changes nothing", "upstream already accepts its evidence")
    assert report.spec_problems == [] and all(not r.problems for r in report.recordings)
    assert report.exit_code == 0


def renamed_schema(document: dict, old: str, new: str) -> dict:
    text = json.dumps(document).replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    result = json.loads(text)
    schemas = result["components"]["schemas"]
    result["components"]["schemas"] = {new if name == old else name: body for name, body in schemas.items()}
    return result


def test_an_upstream_that_renamed_a_schema_shows_its_repair_as_needing_review() -> None:
    upstream = renamed_schema(openapi.load_upstream(), "batch:FacePrediction", "batch:FaceDetection")
    report = rebase(upstream, "renamed")
    assert statuses(report) == {**dict.fromkeys(DEFECTS, "applied"), "nullable-face-extras": "needs-review"}
    outcome = next(r for r in report.repairs if r.defect == "nullable-face-extras")
    assert outcome.reason == "target gone or changed shape"
    there = "`$['components']['schemas']` has no 'batch:FacePrediction' (66 keys; closest: 'batch:FaceDetection', {})"
    assert outcome.details == [
        "`$['components']['schemas']['batch:FacePrediction']['properties']['facs']` selects nothing: "
        + there.format("'batch:ModelsFace', 'batch:GroupedPredictions<FacePrediction>'"),
        "`$['components']['schemas']['batch:FacePrediction']['properties']['descriptions']` selects nothing: "
        + there.format("'batch:BurstPrediction', 'batch:ModelsFace'"),
    ]
    # Without the repair, every recording with face predictions fails on `"facs": null`; the others pass.
    failing = {r.name: r.problems[0] for r in report.recordings if r.problems}
    assert sorted(failing) == [
        "InterReviewer_video1124829211_face-prosody-language_predictions.json",
        "InterReviewer_video1318490298_face-prosody-language_predictions.json",
        "InterviewCoach_faces-zip_face_predictions.json",
        "InterviewIQ_url-video_face-prosody_predictions.json",
        "api-examples_visualization_face_predictions.json",
    ]
    assert all("/facs: expected array, found null" in problem for problem in failing.values())
    assert report.exit_code == 1


def test_a_repair_whose_target_changed_shape_and_no_longer_makes_its_evidence_pass_needs_review() -> None:
    """Upstream inlines language `time` as a plain object: the `$ref` the repair removes is gone (a no-op), its
    `anyOf` then lands next to `type: object`, and the text-source recording still fails: a person must look."""
    upstream = copy.deepcopy(openapi.load_upstream())
    time_interval = upstream["components"]["schemas"]["batch:TimeInterval"]
    for name in ("batch:LanguagePrediction", "batch:NerPrediction"):
        upstream["components"]["schemas"][name]["properties"]["time"] = copy.deepcopy(time_interval)
    report = rebase(upstream, "inlined time")
    outcome = next(r for r in report.repairs if r.defect == "nullable-text-time")
    assert (outcome.status, outcome.reason) == ("needs-review", "applies, but its evidence still fails")
    assert outcome.details[0].startswith("corpus/recorded/twilio-vintel_text-source_language_EXCERPT.json (")
    assert outcome.details[0].endswith("/time: expected object, found null")


# -- the 2023 Hume batch OpenAPI: pinned --------------------------------------------------------------------

STATUSES_2023 = {
    **dict.fromkeys(
        [
            "enum-empty-objects",
            "enum-when",
            "enum-sort-by",
            "enum-direction",
            "enum-granularity",
            "enum-bcp47",
            "unconfigurable-null",
            "null-metadata",
            "nullable-metadata-window",
            "nullable-callback-url",
            "nullable-face-extras",
            "nullable-confidences",
            "nullable-prosody-text",
            "nullable-sentiment-toxicity",
            "nullable-text-time",
            "nullable-transcription",
            "union-state-status",
            "union-source-type",
            "source-registry-file",
            "union-job-type",
            "registry-files",
            "prediction-file-type",
            "bounds",
        ],
        ("needs-review", "target gone or changed shape"),
    ),
    "post-json-variant": ("needs-review", "it would refer to what this upstream does not have"),
    "multipart-json-string": (
        "needs-review",
        "it uses OpenAPI 3.1 schema keywords this OpenAPI 3.0.0 document cannot have",
    ),
    "multipart-file-parts": ("applied", "applied"),
    "api-key-security": ("needs-review", "it would refer to what this upstream does not have"),
    "error-responses": ("needs-review", "it uses OpenAPI 3.1 schema keywords this OpenAPI 3.0.0 document cannot have"),
    "format-uri": ("applied", "applied"),
    "json-job-input": ("needs-review", "target gone or changed shape"),
    "predict-result-alias": ("needs-review", "target gone or changed shape"),
    "unused-multipart-json-schema": ("redundant", "applying it changes nothing"),
}


@needs_shared
@pytest.mark.parametrize("name", ["2023-05-03_original", "2023-05"])
def test_the_2023_document_report_is_pinned(name: str) -> None:
    path = HUME_2023 / f"fern-hume_hume-api_batch-openapi_{name}.yaml"
    report = rebase(load_openapi(path), path.name)  # named as the golden file names it
    found = {r.defect: (r.status, r.reason) for r in report.repairs if r.defect != NAMES_DEFECT}
    expected = dict(STATUSES_2023)
    if name == "2023-05":  # the reformatted copy lost the multipart request body
        expected["multipart-json-string"] = ("needs-review", "target gone or changed shape")
        expected["multipart-file-parts"] = ("needs-review", "target gone or changed shape")
    assert found == {defect: expected[defect] for defect in found}
    assert set(found) - set(expected) == set(), "a repair was added: pin its 2023 outcome here"
    assert report.upstream_spec_problems == ["(document): None for not nullable"]
    # Hume's 2023 document types every score as a string, has no null anywhere and no text source: no real
    # recording passes it, repaired or not.
    assert [r.name for r in report.recordings if r.problems] == [r.name for r in report.recordings]
    assert report.exit_code == 1
    assert report.to_text() == (GOLDEN / f"hume-{name}.txt").read_text(encoding="utf-8").rstrip("\n")


# -- evidence is vendored, byte for byte ----------------------------------------------------------------------


def test_every_cited_corpus_body_is_vendored() -> None:
    cited = {
        source.split(" ", 1)[0]
        for action in openapi.load_overlay()["actions"]
        for source in action.get("x-evidence", [])
        if str(source).startswith("corpus/")
    }
    assert cited and all(openapi.evidence_path(source) for source in cited), cited


@needs_shared
def test_vendored_recordings_are_the_ground_truth_unchanged() -> None:
    originals = sorted((SHARED / "corpus" / "recorded").glob("*.json"))
    vendored = openapi.recorded_evidence()
    assert [p.name for p in originals] == [p.name.removesuffix(".gz") for p in vendored]
    for original, copy_ in zip(originals, vendored, strict=True):
        assert gzip.decompress(copy_.read_bytes()) == original.read_bytes()


# -- the command ------------------------------------------------------------------------------------------------


def test_rebase_command_writes_the_document_and_exits_0_when_everything_applies(tmp_path: Path, capsys) -> None:
    out = tmp_path / "rebased.json"
    assert main(["spec", "--rebase", str(openapi.UPSTREAM_PATH), "--output", str(out)]) == 0
    assert json.loads(out.read_text()) == openapi.load_repaired()
    assert f"{len(DEFECTS)} applied, 0 redundant, 0 need review." in capsys.readouterr().out


def test_rebase_command_json_report(capsys) -> None:
    assert main(["spec", "--rebase", str(openapi.UPSTREAM_PATH), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"applied": len(DEFECTS), "redundant": 0, "needs-review": 0}
    assert report["openapi_spec_validator"]["valid"] is True


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a: [\n", "not valid YAML at line 2"),
        ("a: &x [1]\nb: *x\n", "aliases"),
        ("openapi: 3.1.0\ninfo: {}\n", "not an OpenAPI 3 document"),
        ("[" * 100 + "]" * 100, "nested more than"),
    ],
)
def test_rebase_command_refuses_bad_documents_with_exit_2(tmp_path: Path, capsys, content: str, message: str) -> None:
    path = tmp_path / "new.yaml"
    path.write_text(content)
    assert main(["spec", "--rebase", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and message in err and "Traceback" not in err


@pytest.mark.parametrize(
    "document",
    [
        {"openapi": "3.1.0", "paths": {}},
        {"openapi": "3.1.0", "paths": {}, "components": {"schemas": {"A": {"$ref": "#/components/schemas/A"}}}},
        {
            "openapi": "3.1.0",
            "paths": {
                "/v0/batch/jobs/{id}/predictions": {
                    "get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/x/y"}}}}}}
                }
            },
        },
    ],
)
def test_a_hostile_or_empty_upstream_is_judged_without_crashing(document: dict) -> None:
    report = rebase(document, "hostile")
    assert report.exit_code == 1 and report.counts()["needs-review"] > 0
    assert all(r.problems for r in report.recordings)


@pytest.mark.parametrize(
    ("content", "place"),
    [
        ('{"openapi": "3.1.0", "paths": {"/a": []}}', "paths['/a']: expected an object, found list"),
        ('{"openapi": "3.1.0", "paths": {}, "components": []}', "components: expected an object, found list"),
        ('{"openapi": "3.1.0", "paths": {"/a": {"get": {"responses": [1]}}}}', "paths['/a'].get.responses"),
    ],
)
def test_a_document_of_the_wrong_shape_is_refused_naming_the_place(tmp_path: Path, capsys, content: str, place: str):
    path = tmp_path / "new.json"
    path.write_text(content)
    assert main(["spec", "--rebase", str(path)]) == 2
    assert place in capsys.readouterr().err
