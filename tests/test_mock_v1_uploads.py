"""The v1 mock's uploads: the documented speech, measurement, face and limit rules, and the error bodies."""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import API_KEY
from mock_v1_media import face_jpeg, faces_jpeg, pcm, plain_jpeg, wav

from mockserver import MockHandle
from mockserver.v1.scores import labels
from strategies.media import make_png

AUDIO = "/v1/expression/audio/file"
VIDEO = "/v1/expression/video/file"
KEY = {"X-Hume-Api-Key": API_KEY}
ERROR_KEYS = {"type", "code", "message", "request_id"}


@pytest.fixture(scope="module")
def http(mock_server: MockHandle):
    with httpx.Client(base_url=mock_server.base_url, headers=KEY, timeout=30) as client:
        yield client


def audio_upload(http: httpx.Client, data: bytes, config: dict | None = None, **kw) -> httpx.Response:
    files = [("file", ("a.wav", data, "audio/wav"))]
    if config is not None:
        files.insert(0, ("config", (None, json.dumps(config), "application/json")))
    return http.post(AUDIO, files=files, **kw)


def video_upload(http: httpx.Client, images: list[bytes], config: dict | None = None) -> httpx.Response:
    files = [("file", (f"{i}.jpg", data, "image/jpeg")) for i, data in enumerate(images)]
    if config is not None:
        files.insert(0, ("config", (None, json.dumps(config), "application/json")))
    return http.post(VIDEO, files=files)


def refused(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS and body["type"] == "error" and body["code"] == code, body
    assert len(body["request_id"]) == 32
    return body


# ---------------------------------------------------------------- audio: the speech rule


TWO_UTTERANCES = pcm((300, False), (7000, True), (800, False), (1500, True), (700, False))


def test_audio_utterances_and_measurements_follow_the_energy_rule(http: httpx.Client) -> None:
    body = audio_upload(http, wav(TWO_UTTERANCES)).json()
    assert body["received"] == {"audio_duration_ms": 10_300}
    assert body["utterances"] == [
        {"utterance_id": 0, "audio_start_ms": 300, "audio_end_ms": 7300},
        {"utterance_id": 1, "audio_start_ms": 8100, "audio_end_ms": 9600},
    ]
    spans = [(m["measurement_id"], m["utterance_id"], m["audio_start_ms"], m["audio_end_ms"], m["trigger"])
             for m in body["measurements"]]  # fmt: skip
    assert spans == [
        (0, 0, 300, 3300, "interval"),
        (1, 0, 300, 6300, "interval"),
        (2, 0, 300, 7300, "speech_ended"),
        (3, 1, 8100, 9600, "speech_ended"),
    ]


def test_headerless_pcm_measures_like_the_same_wav(http: httpx.Client) -> None:
    from_wav = audio_upload(http, wav(TWO_UTTERANCES)).json()
    raw = audio_upload(http, TWO_UTTERANCES).json()
    assert raw["measurements"] == from_wav["measurements"] and raw["utterances"] == from_wav["utterances"]


@pytest.mark.parametrize(("speech_ms", "triggers"), [(3400, ["interval"]), (4200, ["interval", "speech_ended"]),
                                                     (2000, ["speech_ended"])])  # fmt: skip
def test_speech_ended_only_a_second_after_the_previous_measurement(
    http: httpx.Client, speech_ms: int, triggers: list[str]
) -> None:
    body = audio_upload(http, pcm((speech_ms, True), (600, False))).json()
    assert [m["trigger"] for m in body["measurements"]] == triggers


@pytest.mark.parametrize("timer", [3000, 4000, 10_000])
def test_windows_cover_at_most_ten_seconds(http: httpx.Client, timer: int) -> None:
    body = audio_upload(http, pcm((25_000, True)), {"measurement_timer_ms": timer}).json()
    ends = [m["audio_end_ms"] for m in body["measurements"]]
    assert ends[:-1] == list(range(timer, 25_000, timer))[: len(ends) - 1]
    for measurement in body["measurements"]:
        assert measurement["audio_end_ms"] - measurement["audio_start_ms"] == min(10_000, measurement["audio_end_ms"])
    if timer == 10_000:  # windows meet end to end
        spans = [(m["audio_start_ms"], m["audio_end_ms"]) for m in body["measurements"][:2]]
        assert spans == [(0, 10_000), (10_000, 20_000)]


def test_silence_has_no_utterance(http: httpx.Client) -> None:
    body = audio_upload(http, pcm((2000, False))).json()
    assert body["utterances"] == [] and body["measurements"] == []


def test_scores_are_documented_names_sorted_thresholded_rounded(http: httpx.Client) -> None:
    body = audio_upload(http, pcm((30_000, True)), {"measurement_timer_ms": 3000}).json()
    known = labels()
    seen_voice = 0
    for measurement in body["measurements"]:
        for key, names in (("expressions", known.audio_expressions), ("voice_attributes", known.voice_attributes)):
            scores = measurement[key]
            probabilities = [score["probability"] for score in scores]
            assert probabilities == sorted(probabilities, reverse=True)
            assert all(score["name"] in names for score in scores)
            assert all(round(p, 4) == p and 0 <= p <= 1 for p in probabilities)
        assert all(score["probability"] >= 0.725 for score in measurement["voice_attributes"])
        seen_voice += len(measurement["voice_attributes"])
    assert seen_voice > 0


def test_same_audio_same_scores(http: httpx.Client) -> None:
    first = audio_upload(http, TWO_UTTERANCES).json()["measurements"]
    assert audio_upload(http, TWO_UTTERANCES).json()["measurements"] == first


# ---------------------------------------------------------------- audio: refusals


def _extensible(data: bytes) -> bytes:
    """The same WAV with the extensible format tag (documented: refused)."""
    return data[:20] + (0xFFFE).to_bytes(2, "little") + data[22:]


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"ID3\x04" + bytes(100), 415, "unsupported_media_type"),
        (b"fLaC" + bytes(100), 415, "unsupported_media_type"),
        (b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(64), 415, "unsupported_media_type"),
        (wav(pcm((500, True)), rate=8000), 400, "audio_decode_failed"),
        (wav(pcm((500, True)) * 2, channels=2), 400, "audio_decode_failed"),
        (wav(pcm((500, True)))[:-101], 400, "audio_decode_failed"),
        (_extensible(wav(pcm((500, True)))), 400, "audio_decode_failed"),
        (b"\x01\x02\x03", 400, "audio_decode_failed"),
        (b"", 400, "audio_decode_failed"),
    ],
    ids=["mp3", "flac", "avi", "8khz-wav", "stereo-wav", "truncated-wav", "extensible-wav", "odd-pcm", "empty"],
)
def test_audio_formats_refused_as_documented(http: httpx.Client, data: bytes, status: int, code: str) -> None:
    refused(audio_upload(http, data), status, code)


@pytest.mark.parametrize(
    "config",
    [{"measurement_timer_ms": 2999}, {"measurement_timer_ms": 10_001}, {"timer_ms": 3000},
     {"measurement_timer_ms": "3000"}, [1]],
)  # fmt: skip
def test_audio_config_invalid(http: httpx.Client, config: object) -> None:
    refused(audio_upload(http, pcm((500, True)), config), 400, "config_invalid")  # type: ignore[arg-type]


def test_config_not_json_refused(http: httpx.Client) -> None:
    files = [("config", (None, b'{"measurement_timer_ms": NaN}', "application/json")), ("file", ("a", b"\0\0"))]
    refused(http.post(AUDIO, files=files), 400, "config_invalid")


def test_body_without_file_part_or_not_multipart(http: httpx.Client) -> None:
    refused(http.post(AUDIO, files=[("config", (None, b"{}", "application/json"))]), 400, "message_invalid")
    refused(http.post(AUDIO, content=b"\0\0", headers={"Content-Type": "audio/wav"}), 400, "message_invalid")


def test_upload_over_25_mb_refused(http: httpx.Client) -> None:
    big = bytes(25_000_001)
    refused(http.post(AUDIO, content=big, headers={"Content-Type": "multipart/form-data; boundary=x"}), 413,
            "audio_too_long")  # fmt: skip
    refused(http.post(VIDEO, content=big, headers={"Content-Type": "multipart/form-data; boundary=x"}), 413,
            "image_too_large")  # fmt: skip


def test_a_full_work_gate_is_429_server_busy_with_retry_after(mock_server: MockHandle, http: httpx.Client) -> None:
    gate = mock_server.app.state.mock.gate
    gate._admitted += 1000  # every slot and queue place taken (v0's gate, shared)
    try:
        response = audio_upload(http, pcm((500, True)))
    finally:
        gate._admitted -= 1000
    refused(response, 429, "server_busy")
    assert response.headers["retry-after"] == "1"


def test_unknown_v1_path_is_404_with_a_v1_body(http: httpx.Client) -> None:
    refused(http.get("/v1/expression/text/file"), 404, "not_found")


def test_wrong_method_is_405_with_a_v1_body(http: httpx.Client) -> None:
    response = http.get(AUDIO)
    refused(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


def test_401_bodies_and_one_key_for_both_versions(mock_server: MockHandle) -> None:
    missing = httpx.post(mock_server.base_url + AUDIO, content=b"")
    assert missing.status_code == 401 and missing.json() == {"message": "Missing API key"}
    wrong = httpx.get(mock_server.base_url + "/v1/expression/run", headers={"X-Hume-Api-Key": "nope"})
    assert wrong.status_code == 401 and set(wrong.json()) == {"message", "request_id"}
    bearer = httpx.get(mock_server.base_url + "/v1/expression/run", headers={"Authorization": f"Bearer {API_KEY}"})
    assert bearer.status_code == 200
    both = httpx.get(mock_server.base_url + "/v1/expression/run", headers={**KEY, "Authorization": f"Bearer {API_KEY}"})
    assert both.status_code == 401
    assert httpx.get(mock_server.base_url + "/v0/batch/jobs", headers=KEY).status_code == 200


# ---------------------------------------------------------------- video


def test_face_drawer_image_has_one_face_plain_image_none(http: httpx.Client) -> None:
    body = video_upload(http, [face_jpeg(256, 200), plain_jpeg()]).json()
    assert body["received"] == {"frames": 2}
    with_face, plain = body["measurements"]
    assert plain == {"frame_id": 1, "faces": []}
    (face,) = with_face["faces"]
    x0, y0, x1, y1 = face["bbox"]
    assert 0 <= x0 < x1 <= 256 and 0 <= y0 < y1 <= 200
    assert face["face_id"] == 0 and 0.9 <= face["confidence"] <= 1
    for key, names in (("expressions", labels().face_expressions), ("descriptions", labels().face_descriptions)):
        probabilities = [score["probability"] for score in face[key]]
        assert probabilities == sorted(probabilities, reverse=True) and all(p > 0.1 for p in probabilities)
        assert all(score["name"] in names for score in face[key])


def test_two_largest_measured_first_then_unmeasured_with_nulls(http: httpx.Client) -> None:
    image = faces_jpeg([(450, 200, 530, 300), (10, 10, 200, 200), (300, 50, 410, 160), (540, 20, 620, 100)])
    faces = video_upload(http, [image]).json()["measurements"][0]["faces"]
    assert len(faces) == 4
    measured, unmeasured = faces[:2], faces[2:]
    assert [f["face_id"] for f in measured] == [0, 1]
    assert measured[0]["bbox"][0] == 10 and measured[1]["bbox"][0] == 300  # largest first
    for face in unmeasured:
        assert face["face_id"] is None and face["expressions"] is None and face["descriptions"] is None
    assert [f["confidence"] for f in unmeasured] == sorted((f["confidence"] for f in unmeasured), reverse=True)


def test_threshold_and_min_size_skip_faces(http: httpx.Client) -> None:
    image = face_jpeg(256, 256)
    assert video_upload(http, [image], {"face": {"threshold": 0.999}}).json()["measurements"][0]["faces"] == []
    assert video_upload(http, [image], {"face": {"min_size": 250}}).json()["measurements"][0]["faces"] == []


def test_face_state_continues_ids_across_requests(http: httpx.Client) -> None:
    left, right = faces_jpeg([(10, 10, 200, 200)]), faces_jpeg([(400, 100, 600, 300)])
    first = video_upload(http, [left], {"face": {"return_face_state": True}}).json()
    state = first["face_state"]
    assert first["measurements"][0]["faces"][0]["face_id"] == 0
    continued = video_upload(http, [right, left], {"face_state": state}).json()["measurements"]
    assert [m["faces"][0]["face_id"] for m in continued] == [1, 0]
    fresh = video_upload(http, [right], {"face_state": state[:-2] + "00"}).json()["measurements"]  # altered
    assert fresh[0]["faces"][0]["face_id"] == 0
    assert "face_state" not in video_upload(http, [left]).json()


def _bomb() -> bytes:
    """A small JPEG whose SOF header claims 65,000 x 65,000 pixels."""
    data = bytearray(face_jpeg(128, 128))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (65_000).to_bytes(2, "big") * 2
    return bytes(data)


@pytest.mark.parametrize(
    ("image", "status", "code"),
    [
        (make_png(128, 128).data, 415, "unsupported_media_type"),
        (_bomb(), 413, "image_too_large"),
        (face_jpeg() + bytes(2_000_000), 413, "image_too_large"),
        (b"\xff\xd8\xff\xe0" + b"junk" * 10, 400, "image_decode_failed"),
    ],
    ids=["png", "jpeg-bomb", "over-2mb", "undecodable"],
)
def test_images_refused_as_documented(http: httpx.Client, image: bytes, status: int, code: str) -> None:
    # One bad image fails the whole request, whatever its position.
    refused(video_upload(http, [face_jpeg(), image]), status, code)
