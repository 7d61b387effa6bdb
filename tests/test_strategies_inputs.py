"""The input strategies make what they claim: decodable media, well-formed requests and stream frames,
and invalid inputs broken in exactly the way (code, pointer) they declare."""

from __future__ import annotations

import base64
import io
import json
import tarfile
import types
import typing
import uuid
import wave
import zipfile
from typing import Any

import httpx
import pydantic
import pytest
from hume.expression_measurement.batch.types import (
    Bcp47Tag,
    Direction,
    Granularity,
    InferenceBaseRequest,
    SortBy,
    Status,
    When,
)
from hume.expression_measurement.stream.stream.types import StreamModelsEndpointPayload
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from contracts.codes import ALL_CODES
from contracts.violations import pointer
from strategies import invalid, media, requests, stream
from strategies.invalid import Broken
from strategies.media import MediaFile

# Media and frames do real encoding work: keep example counts small and allow slow examples.
FAST = settings(max_examples=25, deadline=None)
FEW = settings(max_examples=12, deadline=None)


# ---------------------------------------------------------------- helpers


def known_key_violations(value: Any, model: type[pydantic.BaseModel], where: str = "") -> list[str]:
    """Keys of ``value`` the official SDK model (or a nested one) does not declare."""
    if not isinstance(value, dict):
        return []
    fields = {(field.alias or name): field for name, field in model.model_fields.items()}
    problems = [f"{where}/{key}" for key in value if key not in fields]
    for key, item in value.items():
        nested = _nested_model(fields[key].annotation) if key in fields else None
        if nested is not None:
            problems += known_key_violations(item, nested, f"{where}/{key}")
    return problems


def _nested_model(annotation: Any) -> type[pydantic.BaseModel] | None:
    """The pydantic model inside ``Optional[Model]`` (None for scalars, lists, dicts)."""
    is_union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    for candidate in typing.get_args(annotation) if is_union else (annotation,):
        if isinstance(candidate, type) and issubclass(candidate, pydantic.BaseModel):
            return candidate
    return None


def test_known_key_check_finds_unknown_keys_at_any_depth() -> None:
    body = {"models": {"face": {"fps_pred": 3, "bogus": 1}}, "extra": True}
    assert known_key_violations(body, InferenceBaseRequest) == ["/extra", "/models/face/bogus"]


def literal_values(sdk_enum: Any) -> set[str]:
    """The values of an SDK enum, typed ``Union[Literal[...], Any]``."""
    literal = typing.get_args(sdk_enum)[0]
    return set(typing.get_args(literal))


def strict_json(value: Any) -> str:
    return json.dumps(value, allow_nan=False)


def wav_duration_ms(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as reader:
        assert reader.getnchannels() == 1
        assert reader.getsampwidth() == 2
        assert 8000 <= reader.getframerate() <= 16000
        return reader.getnframes() * 1000 / reader.getframerate()


def safe_member_name(name: str) -> bool:
    return not name.startswith("/") and "\\" not in name and ".." not in name.split("/") and "/" not in name


# ---------------------------------------------------------------- media


@pytest.mark.parametrize(("build", "fmt"), [(media.make_png, "PNG"), (media.make_jpeg, "JPEG")])
@pytest.mark.parametrize(("width", "height"), [(64, 64), (200, 90), (256, 256)])
def test_image_builders_decode_with_the_requested_size(build, fmt, width, height) -> None:
    made = build(width, height, face=True)
    with Image.open(io.BytesIO(made.data)) as image:
        assert image.format == fmt
        assert image.size == (width, height)
    assert made.content_type == Image.MIME[fmt]


@given(media.images())
@FAST
def test_generated_images_decode_and_flag_their_face(made: MediaFile) -> None:
    with Image.open(io.BytesIO(made.data)) as image:
        image.load()
        width, height = image.size
        if made.has_face:
            x, y, w, h = made.face_box
            assert min(w, h) >= 60
            assert 0 <= x <= x + w <= width and 0 <= y <= y + h <= height
        assert made.filename.endswith({"PNG": ".png", "JPEG": ".jpg"}[image.format])


def test_face_image_has_a_light_face_with_dark_eyes_on_the_background() -> None:
    background = (40, 90, 140)
    made = media.make_png(128, 128, face=True, background=background)
    x, y, w, h = made.face_box
    with Image.open(io.BytesIO(made.data)) as image:
        rgb = image.convert("RGB")
        assert rgb.getpixel((0, 0)) == background
        cheek = rgb.getpixel((x + w // 2, y + int(h * 0.6)))
        eye = rgb.getpixel((int(x + w * 0.33), int(y + h * 0.4)))
    assert sum(cheek) > 500 and sum(eye) < 100


def test_image_without_a_face_is_plain() -> None:
    made = media.make_png(40, 30, face=False, background=(10, 20, 30))
    assert not made.has_face and made.face_box is None
    with Image.open(io.BytesIO(made.data)) as image:
        assert image.convert("RGB").getcolors() == [(40 * 30, (10, 20, 30))]


def test_face_image_smaller_than_a_detectable_face_is_refused() -> None:
    with pytest.raises(ValueError, match="64 px"):
        media.make_png(50, 200, face=True)


@given(media.wav_audio())
@FAST
def test_wav_duration_reads_back_within_1_ms(made: MediaFile) -> None:
    assert made.content_type == "audio/wav"
    assert abs(wav_duration_ms(made.data) - made.duration_ms) <= 1
    assert made.duration_ms <= media.MAX_AUDIO_MS


@pytest.mark.parametrize("duration_ms", [0, -5, 60_001])
def test_wav_with_impossible_duration_is_refused(duration_ms: int) -> None:
    with pytest.raises(ValueError, match="duration_ms"):
        media.make_wav(duration_ms)


@given(media.text_files())
@FAST
def test_text_files_are_utf8(made: MediaFile) -> None:
    assert made.data.decode("utf-8").strip()
    assert made.filename.endswith(".txt")


@given(media.zip_archives())
@FEW
def test_zip_archives_hold_exactly_their_members(made: MediaFile) -> None:
    with zipfile.ZipFile(io.BytesIO(made.data)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [member.filename for member in made.members]
        for member in made.members:
            assert safe_member_name(member.filename)
            assert archive.read(member.filename) == member.data


@given(media.tar_gz_archives())
@FEW
def test_tar_gz_archives_hold_exactly_their_members(made: MediaFile) -> None:
    with tarfile.open(fileobj=io.BytesIO(made.data), mode="r:gz") as archive:
        entries = archive.getmembers()
        assert [entry.name for entry in entries] == [member.filename for member in made.members]
        for entry, member in zip(entries, made.members, strict=True):
            assert entry.isfile() and safe_member_name(entry.name)
            assert archive.extractfile(entry).read() == member.data


@pytest.mark.parametrize("bad_name", ["../evil.txt", "/etc/passwd", "dir/file.txt", "..", ""])
@pytest.mark.parametrize("build", [media.make_zip, media.make_tar_gz])
def test_archives_refuse_member_names_that_escape(build, bad_name: str) -> None:
    with pytest.raises(ValueError, match="archive member name"):
        build([media.make_text("x", filename=bad_name)])


def test_archives_refuse_duplicate_member_names() -> None:
    with pytest.raises(ValueError, match="unique"):
        media.make_zip([media.make_text("a"), media.make_text("b")])


# ---------------------------------------------------------------- batch requests


def test_enum_constants_match_the_official_sdk() -> None:
    assert set(requests.GRANULARITIES) == literal_values(Granularity)
    assert set(requests.BCP47_TAGS) == literal_values(Bcp47Tag) and len(requests.BCP47_TAGS) == 29
    assert set(requests.STATUSES) == literal_values(Status)
    assert set(requests.WHEN) == literal_values(When)
    assert set(requests.SORT_BY) == literal_values(SortBy)
    assert set(requests.DIRECTIONS) == literal_values(Direction)


@given(requests.job_requests())
@settings(max_examples=60, deadline=None)
def test_job_requests_are_json_with_known_keys_only(body: dict[str, Any]) -> None:
    assert json.loads(strict_json(body)) == body
    assert known_key_violations(body, InferenceBaseRequest) == []
    InferenceBaseRequest.model_validate(body)
    assert all(url.startswith("https://example.com/") for url in body.get("urls", []))


@given(requests.job_requests(callback_url="http://127.0.0.1:8765/callback"))
@settings(max_examples=20, deadline=None)
def test_job_requests_use_the_callback_url_given(body: dict[str, Any]) -> None:
    assert body.get("callback_url", "http://127.0.0.1:8765/callback") == "http://127.0.0.1:8765/callback"


@given(requests.multipart_uploads())
@FEW
def test_multipart_uploads_carry_files_then_a_json_string(upload: requests.MultipartUpload) -> None:
    parts = upload.httpx_files()
    file_parts = [part for name, part in parts if name == "file"]
    assert file_parts == [media_file.as_upload() for media_file in upload.files] and file_parts
    if upload.json_part is not None:
        parsed = json.loads(upload.json_part)
        assert isinstance(parsed, dict) and known_key_violations(parsed, InferenceBaseRequest) == []
        sent_as_file = [part for name, part in parts if name == "json"]
        assert (sent_as_file == [("upload", upload.json_part.encode(), "application/octet-stream")]) is (
            upload.json_as_file
        )
        assert (upload.httpx_data() == {"json": upload.json_part}) is (not upload.json_as_file)
    request = httpx.Request("POST", "http://127.0.0.1/v0/batch/jobs", files=parts, data=upload.httpx_data())
    body = request.read()
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert body.count(b'name="file"') == len(upload.files)
    assert (b'name="json"' in body) is (upload.json_part is not None)


def test_multipart_json_part_is_written_as_the_sdk_writes_it() -> None:
    assert requests.sdk_json_text({"models": {"prosody": {"granularity": "utterance"}}}) == (
        '{"models": {"prosody": {"granularity": "utterance"}}}'
    )


LIST_JOBS_VALUES = {
    "status": set(requests.STATUSES),
    "when": set(requests.WHEN),
    "sort_by": set(requests.SORT_BY),
    "direction": set(requests.DIRECTIONS),
}


@given(requests.list_jobs_queries())
@settings(max_examples=60, deadline=None)
def test_list_jobs_queries_repeat_status_and_use_known_values(pairs: requests.QueryPairs) -> None:
    names = [name for name, _ in pairs]
    assert set(names) <= {"limit", "status", "when", "timestamp_ms", "sort_by", "direction"}
    assert all(names.count(name) == 1 for name in set(names) - {"status"})
    for name, value in pairs:
        if name in LIST_JOBS_VALUES:
            assert value in LIST_JOBS_VALUES[name]
        else:
            assert int(value) >= (1 if name == "limit" else 0)
    statuses = requests.query_values(pairs, "status")
    query = httpx.URL("http://127.0.0.1/v0/batch/jobs", params=pairs).query.decode()
    assert query.count("status=") == len(statuses) and "%2C" not in query


def test_list_jobs_queries_can_repeat_status() -> None:
    from hypothesis import find

    pairs = find(requests.list_jobs_queries(), lambda q: len(requests.query_values(q, "status")) >= 2)
    assert [name for name, _ in pairs].count("status") >= 2


@given(requests.job_ids())
@settings(max_examples=30)
def test_job_ids_are_dashed_uuids(job_id: str) -> None:
    assert str(uuid.UUID(job_id)) == job_id


# ---------------------------------------------------------------- stream payloads


def assert_valid_frame_shape(frame: dict[str, Any]) -> None:
    assert json.loads(strict_json(frame)) == frame
    assert known_key_violations(frame, StreamModelsEndpointPayload) == []
    StreamModelsEndpointPayload.model_validate(frame)
    if "stream_window_ms" in frame:
        assert 500 <= frame["stream_window_ms"] <= 10_000


@given(stream.stream_payloads())
@FAST
def test_stream_payloads_are_json_with_known_keys_only(frame: dict[str, Any]) -> None:
    assert_valid_frame_shape(frame)
    assert "data" in frame or frame.get("job_details") is True or frame.get("reset_stream") is True


@given(stream.image_payloads(face=None))
@FEW
def test_image_frames_hold_a_base64_image(frame: dict[str, Any]) -> None:
    assert_valid_frame_shape(frame)
    assert frame["raw_text"] is False and set(frame["models"]) == {"face"}
    with Image.open(io.BytesIO(base64.b64decode(frame["data"], validate=True))) as image:
        assert image.format in {"PNG", "JPEG"} and max(image.size) <= 128


@given(stream.audio_payloads())
@FEW
def test_audio_frames_hold_base64_wav_within_5000_ms(frame: dict[str, Any]) -> None:
    assert_valid_frame_shape(frame)
    assert frame["raw_text"] is False
    assert set(frame["models"]) <= {"prosody", "burst"} and all(cfg == {} for cfg in frame["models"].values())
    assert wav_duration_ms(base64.b64decode(frame["data"], validate=True)) <= stream.MAX_STREAM_AUDIO_MS


@given(stream.text_payloads())
@FAST
def test_text_frames_are_raw_text_for_the_language_model(frame: dict[str, Any]) -> None:
    assert_valid_frame_shape(frame)
    assert frame["raw_text"] is True and set(frame["models"]) == {"language"}
    assert frame["models"]["language"].get("granularity", "word") in stream.STREAM_GRANULARITIES


@given(st.booleans().flatmap(lambda b64: st.tuples(st.just(b64), stream.facemesh_payloads(base64_encoded=b64))))
@FEW
def test_facemesh_frames_hold_1_to_2_faces_of_478_landmarks(case: tuple[bool, dict[str, Any]]) -> None:
    base64_encoded, frame = case
    assert_valid_frame_shape(frame)
    text = base64.b64decode(frame["data"], validate=True).decode() if base64_encoded else frame["data"]
    landmarks = json.loads(text)
    assert 1 <= len(landmarks) <= 2
    assert all(len(face) == 478 and all(len(point) == 3 for point in face) for face in landmarks)


@given(st.one_of(stream.job_details_payloads(), stream.reset_stream_payloads()))
@settings(max_examples=20)
def test_control_frames_carry_one_flag_and_maybe_a_payload_id(frame: dict[str, Any]) -> None:
    assert_valid_frame_shape(frame)
    flags = set(frame) - {"payload_id"}
    assert flags in ({"job_details"}, {"reset_stream"}) and frame[flags.pop()] is True


def test_audio_frames_refuse_a_limit_above_5000_ms() -> None:
    with pytest.raises(ValueError, match="max_ms"):
        stream.audio_payloads(max_ms=6000)


# ---------------------------------------------------------------- invalid inputs (no validator needed)

BREAKS_BY_KIND = {"job-request": invalid.JOB_REQUEST_BREAKS, "stream-payload": invalid.STREAM_PAYLOAD_BREAKS}
ALL_BREAKS = [(kind, change) for kind, changes in BREAKS_BY_KIND.items() for change in changes]
BREAK_IDS = [f"{kind}: {change.label}" for kind, change in ALL_BREAKS]


@pytest.mark.parametrize(("kind", "change"), ALL_BREAKS, ids=BREAK_IDS)
def test_each_break_names_a_real_code_and_its_pointer(kind: str, change: invalid.Break) -> None:
    assert change.expected_code in ALL_CODES
    assert change.pointer == pointer(change.path + change.at)


@pytest.mark.parametrize("code", sorted({code for *_, code in invalid.QUERY_BREAKS} | {"unparsable-body"}))
def test_query_and_multipart_codes_are_real(code: str) -> None:
    assert code in ALL_CODES


def test_apply_break_changes_one_place_and_leaves_the_input_alone() -> None:
    valid = {"models": {"face": {"fps_pred": 3}}, "notify": True}
    change = invalid.Break("t", ("models", "face", "prob_threshold"), 1.5, "schema-range")
    broken = invalid.apply_break(valid, change)
    assert valid == {"models": {"face": {"fps_pred": 3}}, "notify": True}
    assert broken == {"models": {"face": {"fps_pred": 3, "prob_threshold": 1.5}}, "notify": True}
    assert invalid.apply_break({}, change) == {"models": {"face": {"prob_threshold": 1.5}}}


def value_at(body: Any, json_pointer: str) -> Any:
    for part in json_pointer.split("/")[1:]:
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


@given(st.one_of(invalid.broken_job_requests(), invalid.broken_stream_payloads()))
@FAST
def test_broken_bodies_hold_the_bad_value_at_their_pointer(broken: Broken) -> None:
    change = next(c for c in BREAKS_BY_KIND[broken.kind] if c.label == broken.label)
    assert value_at(broken.value, broken.pointer) == value_at(change.value, invalid.json_pointer(change.at))
    strict_json(broken.value)


@given(invalid.broken_multipart_json_parts())
@FAST
def test_broken_multipart_json_parts_are_strings_that_parse_only_when_they_should(broken: Broken) -> None:
    assert isinstance(broken.value, str) and broken.kind == "multipart-json"
    if broken.expected_code == "unparsable-body":
        with pytest.raises(json.JSONDecodeError):
            json.loads(broken.value)
    else:
        json.loads(broken.value)


def is_valid_query_pair(name: str, value: str) -> bool:
    if name in LIST_JOBS_VALUES:
        return value in LIST_JOBS_VALUES[name]
    return value.isdigit() and int(value) >= (1 if name == "limit" else 0)


@given(invalid.broken_list_jobs_queries())
@settings(max_examples=60, deadline=None)
def test_broken_list_jobs_queries_have_exactly_one_bad_pair(broken: Broken) -> None:
    name = broken.pointer.split("/")[1]
    bad = [(key, value) for key, value in broken.value if not is_valid_query_pair(key, value)]
    assert len(bad) == 1 and bad[0][0] == name
    if name == "status":
        index = int(broken.pointer.split("/")[2])
        assert requests.query_values(broken.value, "status")[index] == bad[0][1]
    else:
        assert requests.query_values(broken.value, name) == [bad[0][1]]


# ---------------------------------------------------------------- against the contract's validator


@pytest.fixture(scope="module")
def validate_body():
    """The lead's validator. These tests FAIL (not skip) while ``contracts.validation`` is missing."""
    from contracts.validation import validate_body

    return validate_body


def described(violations: list[Any]) -> list[tuple[str, str]]:
    return [(violation.code, violation.pointer) for violation in violations]


@given(body=requests.job_requests())
@settings(max_examples=60, deadline=None)
def test_valid_job_requests_pass_the_contract(validate_body, body: dict[str, Any]) -> None:
    assert described(validate_body(body, "job-request")) == []


STREAM_VARIANTS = {
    "image": stream.image_payloads(face=None),
    "audio": stream.audio_payloads(),
    "text": stream.text_payloads(),
    "facemesh": stream.facemesh_payloads(),
    "facemesh-base64": stream.facemesh_payloads(base64_encoded=True),
    "job_details": stream.job_details_payloads(),
    "reset_stream": stream.reset_stream_payloads(),
}


@pytest.mark.parametrize("variant", STREAM_VARIANTS)
def test_valid_stream_payloads_pass_the_contract(validate_body, variant: str) -> None:
    @given(frame=STREAM_VARIANTS[variant])
    @settings(max_examples=8, deadline=None)
    def check(frame: dict[str, Any]) -> None:
        assert described(validate_body(frame, "stream-payload")) == []

    check()


def assert_reported(violations: list[Any], broken: Broken) -> None:
    found = described(violations)
    assert (broken.expected_code, broken.pointer) in found, f"{broken.label}: {found}"
    # One thing is broken, so every report is about that place (or inside it).
    assert all(place == broken.pointer or place.startswith(broken.pointer + "/") for _, place in found), found


@given(broken=st.one_of(invalid.broken_job_requests(), invalid.broken_stream_payloads()))
@settings(max_examples=80, deadline=None)
def test_broken_bodies_fail_with_their_code_at_their_pointer(validate_body, broken: Broken) -> None:
    assert_reported(validate_body(broken.value, broken.kind), broken)


@given(broken=invalid.broken_multipart_json_parts().filter(lambda b: b.expected_code != "unparsable-body"))
@settings(max_examples=30, deadline=None)
def test_broken_multipart_json_parts_fail_as_job_requests(validate_body, broken: Broken) -> None:
    assert_reported(validate_body(json.loads(broken.value), "job-request"), broken)


@pytest.mark.parametrize(("kind", "change"), ALL_BREAKS, ids=BREAK_IDS)
def test_every_break_is_reported_on_a_minimal_body(validate_body, kind: str, change: invalid.Break) -> None:
    broken = Broken(change.label, kind, change.expected_code, change.pointer, invalid.apply_break({}, change))
    assert_reported(validate_body(broken.value, kind), broken)
