"""The reference mock's batch API over real HTTP on loopback: lifecycle, shapes, filters, errors, safety."""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import http.server
import io
import json
import tarfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import API_KEY, fast_config
from PIL import Image
from websockets.sync.client import connect

from contracts.validation import validate_body
from mockserver import INVALID_KEY_BODY, MockHandle, running_mock
from mockserver import archives as safe_archives
from mockserver import server as mock_cli
from mockserver.drifts import CATALOGUE
from mockserver.inference import ItemBudget, SourceInput, predict_source
from mockserver.jobs import JobRunner
from mockserver.media import MediaError, read_media
from mockserver.names import EXPRESSION_EMOTIONS, LANGUAGE_EMOTIONS
from strategies.media import MediaFile, make_jpeg, make_png, make_tar_gz, make_text, make_wav, make_zip

JOBS = "/v0/batch/jobs"
TEXT = "I met Maria in Paris. It was lovely!"


def client_for(handle: MockHandle, key: str | None = API_KEY) -> httpx.Client:
    headers = {"X-Hume-Api-Key": key} if key is not None else {}
    return httpx.Client(base_url=handle.base_url, headers=headers, timeout=10.0)


@pytest.fixture
def client(mock_server: MockHandle) -> Iterator[httpx.Client]:
    with client_for(mock_server) as http:
        yield http


def wait_for(http: httpx.Client, job_id: str, status: str = "COMPLETED", timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        details = http.get(f"{JOBS}/{job_id}").json()
        if details["state"]["status"] == status or time.monotonic() > deadline:
            assert details["state"]["status"] == status, details["state"]
            return details
        time.sleep(0.02)


def upload(http: httpx.Client, files: list[MediaFile], request: dict[str, Any] | None = None) -> str:
    """POST files the way the SDK does: repeated `file` parts, then the json part as a file named upload."""
    parts = [("file", f.as_upload()) for f in files]
    if request is not None:
        parts.append(("json", ("upload", json.dumps(request).encode(), "application/octet-stream")))
    response = http.post(JOBS, files=parts)
    assert response.status_code == 200, response.text
    return response.json()["job_id"]


def completed_predictions(http: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    wait_for(http, job_id)
    response = http.get(f"{JOBS}/{job_id}/predictions")
    assert response.status_code == 200, response.text
    return response.json()


def model_items(predictions: list[dict[str, Any]], model: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(prediction, item) for every item of ``model`` in a predictions body."""
    for source in predictions:
        for prediction in source["results"]["predictions"]:
            for group in prediction["models"].get(model, {}).get("grouped_predictions", []):
                for item in group["predictions"]:
                    yield prediction, item


def assert_scores(scores: list[dict[str, Any]], names: tuple[str, ...]) -> None:
    assert [s["name"] for s in scores] == list(names)
    assert all(0.0 <= s["score"] <= 1.0 for s in scores)


# -- auth ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "wrong-key", ""])
@pytest.mark.parametrize("path", [JOBS, f"{JOBS}/00000000-0000-4000-8000-000000000000", f"{JOBS}/x/predictions"])
def test_missing_or_wrong_key_gets_the_gateway_401(mock_server: MockHandle, key: str | None, path: str) -> None:
    with client_for(mock_server, key) as http:
        response = http.get(path)
    assert response.status_code == 401
    assert response.json() == INVALID_KEY_BODY


def test_post_without_key_is_refused_before_the_body_is_read(mock_server: MockHandle) -> None:
    with client_for(mock_server, None) as http:
        response = http.post(JOBS, json={"text": ["hi"]})
    assert (response.status_code, response.json()) == (401, INVALID_KEY_BODY)


# -- lifecycle -------------------------------------------------------------------------------------------


def test_json_job_runs_to_completion_with_ordered_timestamps_and_counts(client: httpx.Client) -> None:
    response = client.post(JOBS, json={"text": [TEXT], "models": {"language": {}}})
    assert response.status_code == 200
    assert list(response.json()) == ["job_id"]
    details = wait_for(client, response.json()["job_id"])
    state = details["state"]
    assert state["created_timestamp_ms"] <= state["started_timestamp_ms"] <= state["ended_timestamp_ms"]
    assert (state["num_predictions"], state["num_errors"]) == (1, 0)
    assert list(details) == ["type", "job_id", "request", "state"]
    assert validate_body(details, "job") == []


def test_each_state_appears_in_turn_when_time_passes(tmp_path: Path) -> None:
    # Long timings so only explicit advances (at chosen instants) move the job: no race with the clock.
    with running_mock(fast_config(queued_seconds=60, in_progress_seconds=60)) as mock, client_for(mock) as http:
        job_id = http.post(JOBS, json={"text": ["hello"]}).json()["job_id"]
        runner = mock.app.state.mock.runner
        created = http.get(f"{JOBS}/{job_id}").json()["state"]
        assert created == {"created_timestamp_ms": created["created_timestamp_ms"], "status": "QUEUED"}
        not_yet = http.get(f"{JOBS}/{job_id}/predictions")
        assert not_yet.status_code == 400 and "QUEUED" in not_yet.json()["message"]
        assert http.get(f"{JOBS}/{job_id}/artifacts").status_code == 400

        runner.advance(at_ms=created["created_timestamp_ms"] + 60_000)
        running = http.get(f"{JOBS}/{job_id}").json()["state"]
        assert running["status"] == "IN_PROGRESS" and "ended_timestamp_ms" not in running

        runner.advance(at_ms=created["created_timestamp_ms"] + 120_000)
        done = http.get(f"{JOBS}/{job_id}").json()["state"]
        assert done["status"] == "COMPLETED"
        assert done["created_timestamp_ms"] < done["started_timestamp_ms"] < done["ended_timestamp_ms"]


def test_every_input_failing_makes_a_failed_job_with_a_message(client: httpx.Client) -> None:
    job_id = upload(client, [MediaFile("junk.bin", "application/octet-stream", b"\x00\x01\x02 not media")])
    state = wait_for(client, job_id, "FAILED")["state"]
    assert "junk.bin" in state["message"]
    assert set(state) == {"created_timestamp_ms", "started_timestamp_ms", "ended_timestamp_ms", "message", "status"}
    refused = client.get(f"{JOBS}/{job_id}/predictions")
    assert refused.status_code == 400 and "failed" in refused.json()["message"]


def test_a_restarted_mock_knows_every_job_and_finishes_interrupted_ones(tmp_path: Path) -> None:
    slow = fast_config(data_dir=tmp_path, queued_seconds=60, in_progress_seconds=60)
    with running_mock(slow) as first, client_for(first) as http:
        queued = http.post(JOBS, json={"text": ["first"]}).json()["job_id"]
        started = http.post(JOBS, json={"text": ["second"]}).json()["job_id"]
        created = http.get(f"{JOBS}/{started}").json()["state"]["created_timestamp_ms"]
        first.app.state.mock.runner.advance(at_ms=created + 60_000)  # `started` (and `queued`) now IN_PROGRESS
        before = {job["job_id"]: job for job in http.get(JOBS).json()}
    with running_mock(fast_config(data_dir=tmp_path)) as second, client_for(second) as http:
        after = {job["job_id"]: job for job in http.get(JOBS).json()}
        assert set(after) == set(before) == {queued, started}
        for job_id in (queued, started):
            state = after[job_id]["state"]
            assert state["status"] == "COMPLETED"
            assert state["created_timestamp_ms"] <= state["started_timestamp_ms"] <= state["ended_timestamp_ms"]
            assert after[job_id]["request"] == before[job_id]["request"]
            assert http.get(f"{JOBS}/{job_id}/predictions").status_code == 200


# -- uploads and predictions -----------------------------------------------------------------------------


def test_multipart_upload_echoes_files_and_predicts_per_file(client: httpx.Client) -> None:
    image, audio, text = make_png(160, 120), make_wav(1500), make_text(TEXT)
    request = {"models": {"face": {}, "prosody": {}, "burst": {}, "language": {}, "ner": {}}}
    job_id = upload(client, [image, audio, text], request)
    files = wait_for(client, job_id)["request"]["files"]
    assert files == [
        {"filename": f.filename, "md5sum": hashlib.md5(f.data).hexdigest(), "content_type": f.content_type}
        for f in (image, audio, text)
    ]
    predictions = completed_predictions(client, job_id)
    assert validate_body(predictions, "predictions") == []
    assert [p["source"]["md5sum"] for p in predictions] == [f["md5sum"] for f in files]
    file_types = [source["results"]["predictions"][0]["file_type"] for source in predictions]
    assert file_types == ["image", "audio", "text"]

    faces = [item for _, item in model_items(predictions, "face")]
    assert len(faces) == 1
    box = faces[0]["box"]
    assert box["x"] >= 0 and box["x"] + box["w"] <= 160 and box["y"] >= 0 and box["y"] + box["h"] <= 120
    assert (faces[0]["frame"], faces[0]["time"], faces[0]["facs"], faces[0]["descriptions"]) == (0, 0, None, None)
    assert_scores(faces[0]["emotions"], EXPRESSION_EMOTIONS)

    for _, item in model_items(predictions, "prosody"):
        assert 0 <= item["time"]["begin"] <= item["time"]["end"] <= 1.5
    for prediction, item in model_items(predictions, "burst"):
        assert prediction["file"] == audio.filename and item["time"]["end"] <= 1.5


def test_text_predictions_index_the_text(client: httpx.Client) -> None:
    request = {"text": [TEXT], "models": {"language": {"sentiment": {}}, "ner": {}}}
    predictions = completed_predictions(client, client.post(JOBS, json=request).json()["job_id"])
    assert predictions[0]["source"] == {"type": "text"}
    words = [item for _, item in model_items(predictions, "language")]
    assert [w["text"] for w in words] == TEXT.split()
    for word in words:
        assert TEXT[word["position"]["begin"] : word["position"]["end"]] == word["text"]
        assert_scores(word["emotions"], LANGUAGE_EMOTIONS)
        assert [s["name"] for s in word["sentiment"]] == [str(n) for n in range(1, 10)] and word["toxicity"] is None
    entities = [item for _, item in model_items(predictions, "ner")]
    assert [e["entity"] for e in entities] == ["Maria", "Paris"]
    for entity in entities:
        assert TEXT[entity["position"]["begin"] : entity["position"]["end"]] == entity["entity"]


def test_requested_face_extras_and_identified_faces(client: httpx.Client) -> None:
    request = {"models": {"face": {"facs": {}, "descriptions": {}, "identify_faces": True}}}
    job_id = upload(client, [make_jpeg()], request)
    predictions = completed_predictions(client, job_id)
    groups = predictions[0]["results"]["predictions"][0]["models"]["face"]["grouped_predictions"]
    assert [g["id"] for g in groups] == ["face_0"]
    face = groups[0]["predictions"][0]
    assert face["facs"] and face["descriptions"]
    assert client.get(f"{JOBS}/{job_id}").json()["request"]["models"] == {
        "face": {
            "descriptions": {}, "facs": {}, "fps_pred": 3, "identify_faces": True, "min_face_size": 60,
            "prob_threshold": 0.99, "save_faces": False,
        }
    }  # fmt: skip


def test_an_image_without_a_face_has_no_face_group(client: httpx.Client) -> None:
    predictions = completed_predictions(client, upload(client, [make_png(face=False)], {"models": {"face": {}}}))
    face = predictions[0]["results"]["predictions"][0]["models"]["face"]
    assert face == {"metadata": None, "grouped_predictions": []}


def test_predictions_are_deterministic_for_the_same_input(client: httpx.Client) -> None:
    request = {"models": {"face": {}, "prosody": {}}}
    first = completed_predictions(client, upload(client, [make_png(), make_wav(800)], request))
    second = completed_predictions(client, upload(client, [make_png(), make_wav(800)], request))
    assert first == second


def test_urls_are_never_fetched_but_give_stable_results_by_extension(client: httpx.Client) -> None:
    urls = ["https://example.invalid/talk.mp4", "https://example.invalid/faces.zip", "https://example.invalid/blob"]
    predictions = completed_predictions(client, client.post(JOBS, json={"urls": urls}).json()["job_id"])
    assert [p["source"] for p in predictions] == [{"type": "url", "url": url} for url in urls]
    video, archive, unknown = (p["results"] for p in predictions)
    assert video["predictions"][0]["file_type"] == "video" and not video["errors"]
    assert [p["file"] for p in archive["predictions"]] == ["faces/0.jpg", "faces/1.jpg", "faces/2.jpg"]
    assert unknown["predictions"] == [] and unknown["errors"][0]["file"] == urls[2]


def test_json_part_may_also_be_a_plain_form_field(client: httpx.Client) -> None:
    response = client.post(
        JOBS, files=[("file", make_text("hello").as_upload())], data={"json": '{"models": {"language": {}}}'}
    )
    assert response.status_code == 200
    assert list(wait_for(client, response.json()["job_id"])["request"]["models"]) == ["language"]


def test_artifacts_are_a_zip_of_the_predictions(client: httpx.Client) -> None:
    job_id = upload(client, [make_png(), make_text(TEXT)], {"models": {"face": {}, "language": {}}})
    predictions = completed_predictions(client, job_id)
    response = client.get(f"{JOBS}/{job_id}/artifacts")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert json.loads(archive.read("predictions.json")) == predictions
        assert {"csv/face.csv", "csv/language.csv"} <= set(archive.namelist())
        header = archive.read("csv/face.csv").decode().splitlines()[0].split(",")
        assert header[:4] == ["file", "id", "frame", "time"] and "Admiration" in header


# -- bad requests ----------------------------------------------------------------------------------------

BAD_JSON_BODIES = {
    "not an object": [1, 2],
    "unknown field": {"text": ["x"], "colour": "red"},
    "wrong type": {"text": ["x"], "notify": "yes"},
    "null where the contract has none": {"text": ["x"], "notify": None},
    "null models": {"text": ["x"], "models": None},
    "null nested field": {"text": ["x"], "transcription": {"language": None}},
    "nothing to analyse": {"models": {"face": {}}},
    "no model": {"text": ["x"], "models": {}},
    "unknown model": {"text": ["x"], "models": {"nerr": {}}},
    "threshold out of range": {"text": ["x"], "models": {"face": {"prob_threshold": 2}}},
    "fractional face size": {"text": ["x"], "models": {"face": {"min_face_size": 2.5}}},  # the contract: integer
    "bad granularity": {"text": ["x"], "models": {"language": {"granularity": "paragraph"}}},
    "not a url": {"urls": ["file:///etc/passwd"]},
    "too many texts": {"text": ["x"] * 101},
    "text too long": {"text": ["x" * 10_001]},
    "bad language tag": {"text": ["x"], "transcription": {"language": "xx"}},
}


@pytest.mark.parametrize("body", BAD_JSON_BODIES.values(), ids=BAD_JSON_BODIES.keys())
def test_bad_json_bodies_get_400_with_the_error_shape(client: httpx.Client, body: Any) -> None:
    response = client.post(JOBS, json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"status_code", "message"} and response.json()["status_code"] == 400


@pytest.mark.parametrize(
    "content, content_type",
    [
        (b"{not json", "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),  # nesting deeper than any parser recursion
        (b"\xff\xfe\x00", "application/json"),
        (b"text=hello", "application/x-www-form-urlencoded"),
        (b"", "multipart/form-data"),  # no boundary
    ],
    ids=["truncated", "deep", "binary", "form", "no-boundary"],
)
def test_unparsable_bodies_get_400(client: httpx.Client, content: bytes, content_type: str) -> None:
    response = client.post(JOBS, content=content, headers={"content-type": content_type})
    assert response.status_code == 400, response.text
    assert response.json()["status_code"] == 400


def test_multipart_parts_the_contract_does_not_name_are_ignored(client: httpx.Client) -> None:
    # The contract names `file` and `json` and forbids nothing else (schemathesis sends extra parts as valid data).
    response = client.post(JOBS, files=[("file", make_text("x").as_upload()), ("image", make_png().as_upload())])
    assert response.status_code == 200
    details = client.get(f"{JOBS}/{response.json()['job_id']}").json()
    assert [f["filename"] for f in details["request"]["files"]] == [make_text("x").filename]


def test_a_second_json_part_is_refused(client: httpx.Client) -> None:
    parts = [("file", make_text("x").as_upload()), ("json", (None, "{}")), ("json", (None, "{}"))]
    response = client.post(JOBS, files=parts)
    assert response.status_code == 400 and "more than one 'json' part" in response.json()["message"]
    broken = client.post(JOBS, files=[("file", make_text("x").as_upload())], data={"json": "{oops"})
    assert broken.status_code == 400 and "json part" in broken.json()["message"]


def test_more_than_100_files_are_refused(client: httpx.Client) -> None:
    parts = [("file", make_text(f"t{i}", filename=f"t{i}.txt").as_upload()) for i in range(101)]
    response = client.post(JOBS, files=parts)
    assert response.status_code == 400 and "100" in response.json()["message"]


def test_an_image_claiming_too_many_pixels_is_refused_before_decoding() -> None:
    buffer = io.BytesIO()
    Image.new("1", (6000, 6000)).save(buffer, "PNG")  # 36 Mpx in a few KB
    with pytest.raises(MediaError, match="pixel limit"):
        read_media(buffer.getvalue())


def test_long_text_files_and_oversized_jobs_become_per_file_errors(client: httpx.Client) -> None:
    long_text = make_text("word " * 2001, filename="long.txt")  # 10,005 characters
    predictions = completed_predictions(client, upload(client, [long_text, make_text(TEXT)], {"models": {"ner": {}}}))
    assert "10000 character limit" in predictions[0]["results"]["errors"][0]["message"]

    budget = ItemBudget(limit=5)
    five_words = SourceInput(type="text", name="0", data=b"one two three four five")
    six_words = SourceInput(type="text", name="1", data=b"one two three four five six")
    models = {"language": {"granularity": "word"}}
    assert predict_source(five_words, models, budget)["results"]["errors"] == []
    [error] = predict_source(six_words, models, budget)["results"]["errors"]
    assert "limit of 5 predicted items" in error["message"]


def test_label_names_match_the_ground_truth_when_present() -> None:
    names_md = Path("/work/shared/hume/NAMES.md")
    if not names_md.exists():
        pytest.skip("ground truth folder not available on this machine")
    lists = [json.loads(line.split("`")[1]) for line in names_md.read_text().splitlines() if line.startswith("JSON: `")]
    assert lists == [list(EXPRESSION_EMOTIONS), list(LANGUAGE_EMOTIONS)]


def test_oversized_bodies_are_refused_without_reading_them_whole() -> None:
    with running_mock(fast_config(max_json_bytes=1000, max_upload_bytes=5000)) as mock, client_for(mock) as http:
        assert http.post(JOBS, json={"text": ["x" * 2000]}).status_code == 400
        big = MediaFile("big.txt", "text/plain", b"x" * 10_000)
        response = http.post(JOBS, files=[("file", big.as_upload())])
        assert response.status_code == 400 and "limit" in response.json()["message"]


def test_job_ids_are_checked(client: httpx.Client) -> None:
    for suffix in ("", "/predictions", "/artifacts"):
        not_uuid = client.get(f"{JOBS}/not-a-uuid{suffix}")
        assert (not_uuid.status_code, not_uuid.json()["status_code"]) == (400, 400)
        unknown = client.get(f"{JOBS}/00000000-0000-4000-8000-000000000000{suffix}")
        assert (unknown.status_code, unknown.json()["status_code"]) == (404, 404)


def test_unknown_routes_and_methods_use_the_error_shape(client: httpx.Client) -> None:
    assert client.get("/v0/batch/nothing").json() == {"status_code": 404, "message": "Not Found"}
    response = client.delete(JOBS)
    assert response.status_code == 405 and response.json()["status_code"] == 405


def test_rate_limit_answers_429_with_retry_after() -> None:
    with running_mock(fast_config(rate_limit_per_second=2)) as mock, client_for(mock) as http:
        statuses = [http.get(JOBS) for _ in range(4)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert limited[0].headers["retry-after"] == "1" and limited[0].json()["status_code"] == 429


# -- list jobs -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listed() -> Iterator[tuple[httpx.Client, list[str]]]:
    """A mock holding three COMPLETED jobs and one QUEUED one (created in that order)."""
    with running_mock(fast_config()) as mock, client_for(mock) as http:
        done = [http.post(JOBS, json={"text": [f"job {i}"]}).json()["job_id"] for i in range(3)]
        for job_id in done:
            wait_for(http, job_id)
        yield http, [*done, _queued_job(mock)]


def _queued_job(mock: MockHandle) -> str:
    """A job that stays QUEUED for a minute: submitted by a slow runner sharing the mock's store.

    Each job keeps the timings it was submitted with, so the mock's own ticker leaves it alone.
    """
    slow = JobRunner(mock.app.state.mock.store, fast_config(queued_seconds=60))
    return slow.submit({"models": {"language": {}}, "urls": [], "text": ["queued"]}, [])


def test_list_defaults_to_newest_first(listed: tuple[httpx.Client, list[str]]) -> None:
    http, ids = listed
    body = http.get(JOBS).json()
    assert [job["job_id"] for job in body] == ids[::-1]
    assert list(body[0]) == ["job_id", "request", "state", "type"]
    assert validate_body(body, "jobs") == []


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"limit": 2}, [3, 2]),
        ({"direction": "asc"}, [0, 1, 2, 3]),
        ({"status": ["QUEUED"]}, [3]),
        ({"status": ["COMPLETED", "QUEUED"], "direction": "asc", "limit": 2}, [0, 1]),
        ({"sort_by": "ended", "direction": "asc"}, [0, 1, 2, 3]),  # not-yet-ended jobs come last
        ({"sort_by": "started", "status": "COMPLETED"}, [2, 1, 0]),
    ],
)
def test_list_filters_and_sorting(listed: tuple[httpx.Client, list[str]], params: dict, expected: list[int]) -> None:
    http, ids = listed
    assert [job["job_id"] for job in http.get(JOBS, params=params).json()] == [ids[i] for i in expected]


def test_list_time_filter_uses_created_timestamps(listed: tuple[httpx.Client, list[str]]) -> None:
    http, ids = listed
    jobs = {job["job_id"]: job for job in http.get(JOBS).json()}
    pivot = jobs[ids[1]]["state"]["created_timestamp_ms"]
    after = http.get(JOBS, params={"when": "created_after", "timestamp_ms": pivot, "direction": "asc"}).json()
    before = http.get(JOBS, params={"when": "created_before", "timestamp_ms": pivot}).json()
    assert all(job["state"]["created_timestamp_ms"] > pivot for job in after)
    assert all(job["state"]["created_timestamp_ms"] < pivot for job in before)
    assert ids[1] not in {job["job_id"] for job in after + before}
    assert ids[0] in {job["job_id"] for job in before}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": -3},
        {"limit": "ten"},
        {"limit": "9" * 40},
        {"status": "DONE"},
        {"when": "yesterday"},
        {"sort_by": "name"},
        {"direction": "up"},
        {"timestamp_ms": "soon", "when": "created_before"},
    ],
)
def test_bad_list_parameters_get_400(listed: tuple[httpx.Client, list[str]], params: dict) -> None:
    response = listed[0].get(JOBS, params=params)
    assert response.status_code == 400 and response.json()["status_code"] == 400


# -- callbacks -------------------------------------------------------------------------------------------


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        length = int(self.headers.get("content-length", 0))
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", _Receiver.received
    finally:
        server.shutdown()
        server.server_close()


def _callback_outcome(mock: MockHandle, job_id: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (record := mock.app.state.mock.store.get(job_id)).callback is None:
        assert time.monotonic() < deadline, "callback never attempted"
        time.sleep(0.02)
    return record.callback


def test_callback_posts_the_predictions_to_a_loopback_url(
    mock_server: MockHandle, client: httpx.Client, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    job_id = client.post(JOBS, json={"text": ["hello"], "callback_url": url}).json()["job_id"]
    assert _callback_outcome(mock_server, job_id) == {"url": url, "status_code": 204}
    assert received[0]["job_id"] == job_id and received[0]["status"] == "COMPLETED"
    assert received[0]["predictions"] == client.get(f"{JOBS}/{job_id}/predictions").json()


def test_callback_to_a_non_loopback_host_is_recorded_never_sent(mock_server: MockHandle, client: httpx.Client) -> None:
    job_id = client.post(JOBS, json={"text": ["hi"], "callback_url": "http://example.com/hook"}).json()["job_id"]
    outcome = _callback_outcome(mock_server, job_id)
    assert "not sent" in outcome["error"] and "status_code" not in outcome


def test_callback_to_a_closed_port_fails_quietly(mock_server: MockHandle, client: httpx.Client) -> None:
    job_id = client.post(JOBS, json={"text": ["hi"], "callback_url": "http://127.0.0.1:9/hook"}).json()["job_id"]
    assert "ConnectError" in _callback_outcome(mock_server, job_id)["error"]
    assert client.get(f"{JOBS}/{job_id}").status_code == 200


# -- archives --------------------------------------------------------------------------------------------


def _zip(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16) | 0x20
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _tar_gz(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if symlink:
            link = tarfile.TarInfo(symlink)
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            archive.addfile(link)
    return buffer.getvalue()


ZIP_BOMB = _zip({"zeros.txt": bytes(50 * 1024 * 1024)})  # 50 MB of zeros, about 50 KB on disk
UNSAFE_ARCHIVES = {
    "zip bomb": (ZIP_BOMB, "zip bomb"),
    "zip ../ member": (_zip({"ok.txt": b"fine", "../evil.txt": b"x"}), "'..'"),
    "zip absolute member": (_zip({"/etc/cron.d/evil": b"x"}), "absolute"),
    "zip symlink": (_zip({"ok.txt": b"fine"}, symlink="link"), "symbolic link"),
    "zip too many members": (_zip({f"m{i}.txt": b"x" for i in range(101)}), "more than 100"),
    "tar ../ member": (_tar_gz({"../../evil.txt": b"x"}), "'..'"),
    "tar symlink": (_tar_gz({"ok.txt": b"fine"}, symlink="link"), "link"),
    "tar bomb": (_tar_gz({"zeros.txt": bytes(40 * 1024 * 1024)}), "bytes"),
    "truncated zip": (_zip({"a.txt": b"hello" * 1000})[:-30], "unreadable archive"),
}


@pytest.mark.parametrize("data, reason", UNSAFE_ARCHIVES.values(), ids=UNSAFE_ARCHIVES.keys())
def test_unsafe_archives_are_refused_with_a_clear_reason(data: bytes, reason: str) -> None:
    kind = "zip" if data.startswith(b"PK") else "gzip"
    with pytest.raises(safe_archives.ArchiveError, match=reason):
        safe_archives.expand(data, kind)


def test_unsafe_archive_in_a_job_becomes_a_per_file_error(client: httpx.Client) -> None:
    bomb = MediaFile("bomb.zip", "application/zip", ZIP_BOMB)
    evil = MediaFile("evil.tar.gz", "application/gzip", UNSAFE_ARCHIVES["tar ../ member"][0])
    job_id = upload(client, [bomb, evil, make_png()], {"models": {"face": {}}})
    state = wait_for(client, job_id)["state"]
    assert (state["num_predictions"], state["num_errors"]) == (1, 2)
    predictions = completed_predictions(client, job_id)
    errors = [source["results"]["errors"] for source in predictions]
    assert errors[0][0]["file"] == "bomb.zip" and "zip bomb" in errors[0][0]["message"]
    assert errors[1][0]["file"] == "evil.tar.gz" and "'..'" in errors[1][0]["message"]
    assert errors[2] == []


def test_safe_archives_expand_into_one_prediction_per_member(client: httpx.Client) -> None:
    members = [make_png(filename="face.png"), make_text(TEXT, filename="note.txt")]
    job_id = upload(client, [make_zip(members), make_tar_gz(members)], {"models": {"face": {}, "language": {}}})
    for source in completed_predictions(client, job_id):
        assert [p["file"] for p in source["results"]["predictions"]] == ["face.png", "note.txt"]
        assert [p["file_type"] for p in source["results"]["predictions"]] == ["image", "text"]


# -- drifts ----------------------------------------------------------------------------------------------
# Each drift is checked the same way: a probe of its surface runs against a clean mock and a drifted one,
# and the drift's expected symptom holds for the drifted observation only.


@dataclass(frozen=True)
class Observed:
    status: int
    content_type: str
    body: Any
    second: Any = None  # a second body, when one request cannot show every drift of a surface
    extra: dict[str, Any] = field(default_factory=dict)  # more facts of the probe, by name


def _observe(response: httpx.Response) -> Observed:
    try:
        body = response.json()
    except ValueError:
        body = response.content
    return Observed(response.status_code, response.headers.get("content-type", ""), body)


def _probe_start(mock: MockHandle) -> Observed:
    with client_for(mock) as http:
        return _observe(http.post(JOBS, json={"text": ["hello"]}))


def _probe_details(mock: MockHandle) -> Observed:
    with client_for(mock) as http:
        request = {"text": ["hello"], "models": {"language": {"granularity": "sentence"}}}  # a setting to echo
        job_id = http.post(JOBS, json=request).json()["job_id"]
        _wait_ended(mock, job_id)
        observed = _observe(http.get(f"{JOBS}/{job_id}"))
        return Observed(observed.status, observed.content_type, observed.body, extra={"job_id": job_id})


def _probe_request(mock: MockHandle) -> Observed:
    with client_for(mock) as http:
        return _observe(http.post(JOBS, json={"text": ["hello"], "models": {"face": {"prob_threshold": 1.5}}}))


def _probe_list(mock: MockHandle) -> Observed:
    with client_for(mock) as http:
        for text in ("one", "two", "three"):
            _wait_ended(mock, http.post(JOBS, json={"text": [text]}).json()["job_id"])
        _queued_job(mock)
        first = _observe(http.get(JOBS, params={"limit": 2, "status": "COMPLETED", "direction": "asc"}))
        queued = http.get(JOBS, params={"status": "QUEUED"}).json()
        no_limit = http.get(JOBS, params={"limit": 0}).status_code
        before_1970 = http.get(JOBS, params={"when": "created_before", "timestamp_ms": 1}).json()
        store = mock.app.state.mock.store
        stored = {job["job_id"]: store.get(job["job_id"]).created_ms for job in first.body if isinstance(job, dict)}
        extra = {"limit=0": no_limit, "created_before=1": before_1970, "created": stored}
        return Observed(first.status, first.content_type, first.body, second=queued, extra=extra)


def _probe_predictions(mock: MockHandle) -> Observed:
    with client_for(mock) as http:
        job_id = upload(http, [make_png(), make_text(TEXT)], {"models": {"face": {}, "language": {}}})
        _wait_ended(mock, job_id)
        return _observe(http.get(f"{JOBS}/{job_id}/predictions"))


def _probe_artifacts(mock: MockHandle) -> Observed:
    with client_for(mock) as http:
        job_id = http.post(JOBS, json={"text": [TEXT]}).json()["job_id"]
        _wait_ended(mock, job_id)
        response = http.get(f"{JOBS}/{job_id}/artifacts")
        names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
        return Observed(response.status_code, response.headers.get("content-type", ""), names)


def _probe_auth(mock: MockHandle) -> Observed:
    with client_for(mock, key="wrong") as http:
        return _observe(http.get(JOBS))


def _probe_lifecycle(mock: MockHandle) -> Observed:
    with client_for(mock) as http:
        job_id = http.post(JOBS, json={"text": ["hello"]}).json()["job_id"]
        time.sleep(0.3)  # three times the job's whole lifetime
        return _observe(http.get(f"{JOBS}/{job_id}"))


def _probe_stream(mock: MockHandle) -> Observed:
    """One reply read per frame; then a frame without data, and every frame that still comes, counted."""
    from test_mock_stream import HEADERS

    frames = [
        {"data": b64(make_png().data), "models": {"face": {}}, "payload_id": "p-1", "job_details": True},
        {"data": "not base64!", "models": {"face": {}}},
        {"data": b64(make_png(face=False).data), "models": {"face": {}}},
        {"data": b64(make_png().data), "models": {"prosody": {}}},
        {"data": b64(make_wav(5100, sample_rate=8000).data), "models": {"prosody": {}}},
        {"data": TEXT, "models": {"language": {}}, "raw_text": True},
    ]
    replies, binary = [], False
    with connect(mock.stream_url, additional_headers=HEADERS, open_timeout=5, close_timeout=2) as ws:
        for frame in frames:
            ws.send(json.dumps(frame))
            reply = ws.recv(timeout=5)
            binary = binary or isinstance(reply, bytes)
            replies.append(json.loads(reply))
        ws.send(json.dumps({"job_details": True}))
        later = []
        with contextlib.suppress(TimeoutError):
            while len(later) < 50:
                later.append(ws.recv(timeout=0.5))
    return Observed(101, "", replies, extra={"binary": binary, "frames after": len(later)})


def _wait_ended(mock: MockHandle, job_id: str, timeout: float = 5.0) -> None:
    """Wait on the store itself, so drifted HTTP answers cannot confuse the wait."""
    deadline = time.monotonic() + timeout
    while mock.app.state.mock.store.get(job_id).status not in ("COMPLETED", "FAILED"):
        assert time.monotonic() < deadline, "job never ended"
        time.sleep(0.02)


PROBES = {
    "request": _probe_request,
    "start": _probe_start,
    "details": _probe_details,
    "list": _probe_list,
    "predictions": _probe_predictions,
    "artifacts": _probe_artifacts,
    "auth": _probe_auth,
    "lifecycle": _probe_lifecycle,
    "stream": _probe_stream,
}


def _first_face(body: Any) -> dict[str, Any]:
    return next(item for _, item in model_items(body, "face"))


def _first_word(body: Any) -> dict[str, Any]:
    return next(item for _, item in model_items(body, "language"))


def _state(observed: Observed) -> dict[str, Any]:
    return observed.body["state"]


def _created(job: dict[str, Any]) -> int:
    return job["state"]["created_timestamp_ms"]


def _stream_face(frames: list[dict[str, Any]]) -> dict[str, Any]:
    return frames[0].get("face", {}).get("predictions", [{}])[0]


SYMPTOMS: dict[str, Any] = {
    "job-id-missing": lambda o: "job_id" not in o.body,
    "job-id-not-uuid": lambda o: not _is_uuid(o.body["job_id"]),
    "state-missing": lambda o: "state" not in o.body,
    "status-unknown": lambda o: o.body["state"]["status"] == "DONE",
    "num-predictions-string": lambda o: isinstance(o.body["state"]["num_predictions"], str),
    "completed-without-ended": lambda o: "ended_timestamp_ms" not in o.body["state"],
    "timestamps-out-of-order": lambda o: (
        o.body["state"]["ended_timestamp_ms"] < o.body["state"]["started_timestamp_ms"]
    ),
    "details-status-418": lambda o: o.status == 418,
    "details-text-plain": lambda o: o.content_type.startswith("text/plain"),
    "auth-not-enforced": lambda o: o.status == 200,
    "limit-ignored": lambda o: len(o.body) > 2,
    "status-filter-ignored": lambda o: any(job["state"]["status"] != "QUEUED" for job in o.second),
    "sort-direction-ignored": lambda o: (
        o.body[0]["state"]["created_timestamp_ms"] > o.body[1]["state"]["created_timestamp_ms"]
    ),
    "list-not-array": lambda o: isinstance(o.body, dict),
    "never-leaves-queued": lambda o: o.body["state"]["status"] == "QUEUED",
    "emotions-null": lambda o: _first_face(o.body)["emotions"] is None,
    "score-out-of-range": lambda o: _first_face(o.body)["prob"] > 1,
    "emotion-missing": lambda o: len(_first_face(o.body)["emotions"]) < len(EXPRESSION_EMOTIONS),
    "unknown-emotion-label": lambda o: _first_face(o.body)["emotions"][0]["name"] not in EXPRESSION_EMOTIONS,
    "negative-box-size": lambda o: _first_face(o.body)["box"]["w"] < 0,
    "position-outside-text": lambda o: _first_word(o.body)["position"]["end"] > len(TEXT),
    "wrong-md5sum": lambda o: o.body[0]["source"]["md5sum"] != hashlib.md5(make_png().data).hexdigest(),
    "file-name-lost": lambda o: o.body[0]["source"]["filename"] == "upload",
    "source-type-unknown": lambda o: o.body[0]["source"]["type"] == "blob",
    "results-errors-missing": lambda o: all("errors" not in source["results"] for source in o.body),
    "stream-drop-payload-id": lambda o: "payload_id" not in o.body[0],
    "stream-missing-model": lambda o: "face" not in o.body[0],
    "stream-error-without-code": lambda o: "error" in o.body[1] and "code" not in o.body[1],
    "stream-job-id-dashed": lambda o: len(o.body[0]["job_details"]["job_id"]) == 36,
    "stream-bbox-as-box": lambda o: "box" in _stream_face(o.body) and "bbox" not in _stream_face(o.body),
    "details-job-id-other": lambda o: o.body["job_id"] != o.extra["job_id"],
    "echo-settings-defaulted": lambda o: o.body["request"]["models"]["language"]["granularity"] != "sentence",
    "prob-threshold-clamped": lambda o: o.status == 200,
    "limit-bounds-unchecked": lambda o: o.extra["limit=0"] == 200,
    "stream-warning-code-swapped": lambda o: o.body[2]["face"]["code"] != "W0103",
    "stream-mismatch-code": lambda o: o.body[3]["code"] != "E0102",
    "stream-audio-limit-ignored": lambda o: "error" not in o.body[4],
    "created-job-404": lambda o: o.status == 404,
    "completed-predictions-404": lambda o: o.status == 404,
    "rate-limit-without-retry-after": lambda o: o.status == 429,
    "timestamps-in-seconds": lambda o: _state(o)["created_timestamp_ms"] < 10**12,
    "list-status-stale": lambda o: any(job["state"]["status"] == "QUEUED" for job in o.body),
    "created-timestamp-shifts": lambda o: any(_created(job) != o.extra["created"][job["job_id"]] for job in o.body),
    "list-duplicate-job": lambda o: len({job["job_id"] for job in o.body}) < len(o.body),
    "time-filter-ignored": lambda o: len(o.extra["created_before=1"]) > 0,
    "position-end-past-text": lambda o: (
        max(item["position"]["end"] for _, item in model_items(o.body, "language")) > len(TEXT)
    ),
    "face-box-outside-image": lambda o: _first_face(o.body)["box"]["x"] > 1000,
    "error-message-empty": lambda o: any(e["message"] == "" for s in o.body for e in s["results"]["errors"]),
    "artifacts-path-traversal": lambda o: any(".." in name.split("/") for name in o.body),
    "stream-reply-binary": lambda o: o.extra["binary"],
    "stream-position-outside-text": lambda o: o.body[5]["language"]["predictions"][0]["position"]["end"] > len(TEXT),
    "stream-double-reply": lambda o: o.extra["frames after"] > 1,
    "stream-reply-dropped": lambda o: o.extra["frames after"] == 0,
}

# Which validator kind sees each surface's body; the clean body must pass it, drifted schema breaks must not.
SURFACE_KINDS = {"start": "job-id", "details": "job", "list": "jobs", "predictions": "predictions"}
NOT_VISIBLE_TO_VALIDATOR = {
    "details-status-418", "details-text-plain",  # status and content type are traffic checks, not body checks
    "limit-ignored", "status-filter-ignored", "sort-direction-ignored",  # behaviour, not shape
    "wrong-md5sum", "position-outside-text",  # need the input to be seen
    "details-job-id-other", "echo-settings-defaulted", "limit-bounds-unchecked", "file-name-lost",  # need the request
    "created-job-404", "completed-predictions-404", "rate-limit-without-retry-after",  # status, not shape
    "timestamps-in-seconds",  # needs the Date header
    "list-status-stale", "created-timestamp-shifts", "list-duplicate-job", "time-filter-ignored",  # behaviour
    "position-end-past-text", "face-box-outside-image",  # need the input to be seen
}  # fmt: skip


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_the_catalogue_has_a_symptom_for_every_drift() -> None:
    assert len(CATALOGUE) >= 20
    assert set(SYMPTOMS) == set(CATALOGUE)
    assert {drift.surface for drift in CATALOGUE.values()} <= set(PROBES)


@pytest.fixture(scope="module")
def clean_observations() -> Iterator[dict[str, Observed]]:
    with running_mock(fast_config()) as mock:
        yield {surface: probe(mock) for surface, probe in PROBES.items()}


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_each_drift_changes_its_surface_in_its_stated_way(name: str, clean_observations: dict[str, Observed]) -> None:
    surface = CATALOGUE[name].surface
    clean = clean_observations[surface]
    with running_mock(fast_config(drifts=frozenset({name}))) as mock:
        drifted = PROBES[surface](mock)
    assert not SYMPTOMS[name](clean), f"the clean mock already shows the symptom of {name}"
    assert SYMPTOMS[name](drifted), f"{name} did not change the output: {CATALOGUE[name].description}"
    kind = SURFACE_KINDS.get(surface)
    if kind and name not in NOT_VISIBLE_TO_VALIDATOR:
        assert validate_body(clean.body, kind) == []
        assert validate_body(drifted.body, kind) != [], f"the validator misses {name}"


def test_unknown_drifts_are_refused() -> None:
    with pytest.raises(ValueError, match="no-such-drift"):
        fast_config(drifts=frozenset({"no-such-drift"}))


# -- command line ----------------------------------------------------------------------------------------


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    mock_cli.add_arguments(parser)
    status = mock_cli.run(parser.parse_args(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_list_drifts_prints_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run_cli(["--list-drifts"], capsys)
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()] == list(CATALOGUE)


@pytest.mark.parametrize(
    "argv, complaint",
    [
        (["--host", "0.0.0.0"], "not loopback"),
        (["--drift", "nope"], "unknown drift"),
        (["--queued-seconds", "-1"], ">= 0"),
    ],
)
def test_cli_refuses_bad_settings(argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run_cli(argv, capsys)
    assert status == 2 and complaint in err


def test_serve_announces_urls_but_never_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "sk-live-do-not-print-0123456789"
    monkeypatch.setenv("HUME_API_KEY", secret)
    served: dict[str, Any] = {}
    monkeypatch.setattr(mock_cli.uvicorn.Server, "run", lambda self, **_: served.setdefault("config", self.config))
    with mock_cli.listen("127.0.0.1", 0) as probe:
        port = probe.getsockname()[1]
    status, out, err = _run_cli(["--port", str(port)], capsys)
    assert status == 0 and f"http://127.0.0.1:{port}" in out and "HUME_API_KEY" in out
    assert secret not in out + err
    assert served["config"].app.state.mock.config.api_key == secret
    assert secret not in repr(served["config"].app.state.mock.config)
