"""Each v1 drift changes what the mock does, observably, for the one promise it names.

A probe per surface records what a client sees; each drift's symptom must be absent from the clean mock's
observation and present in the drifted one's. (Which contract check catches each drift is wired elsewhere.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import API_KEY, fast_config
from mock_v1_media import face_jpeg, faces_jpeg, pcm, plain_jpeg
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mockserver import MockHandle, running_mock
from mockserver.drifts import VERSION_CATALOGUES
from mockserver.v1.drifts import V1_CATALOGUE
from strategies.media import make_png

KEY = {"X-Hume-Api-Key": API_KEY}
Observed = dict[str, Any]


def _client(mock: MockHandle) -> httpx.Client:
    return httpx.Client(base_url=mock.base_url, headers=KEY, timeout=60)


def _audio(client: httpx.Client, data: bytes) -> httpx.Response:
    return client.post("/v1/expression/audio/file", files=[("file", ("a", data, "audio/wav"))])


def _video(client: httpx.Client, images: list[bytes], config: dict | None = None) -> httpx.Response:
    files = [("file", ("i.jpg", data, "image/jpeg")) for data in images]
    if config is not None:
        files.insert(0, ("config", (None, json.dumps(config), "application/json")))
    return client.post("/v1/expression/video/file", files=files)


def _session(mock: MockHandle, endpoint: str, send: list[bytes | str | float]) -> list[dict]:
    """Every message of one session: ``send`` items are frames, text, or pauses (floats, seconds)."""
    url = f"ws://{mock.host}:{mock.port}/v1/expression/{endpoint}/realtime"
    out = []
    with connect(url, additional_headers=KEY, max_size=2**22) as ws:
        try:
            for item in send:
                if isinstance(item, float):
                    time.sleep(item)
                else:
                    ws.send(item)
        except ConnectionClosed:
            pass  # the server ended the session: what it sent before is still read below
        try:
            while True:
                out.append(json.loads(ws.recv(timeout=4)))  # the mock answers at once; a drift may never
        except (ConnectionClosed, TimeoutError):
            return out


CLOSE = json.dumps({"type": "session.close"})
TWO_UTTERANCES = pcm((14_000, True), (700, False), (3000, True), (700, False))
THREE_FACES = faces_jpeg([(10, 10, 200, 200), (300, 50, 410, 160), (450, 200, 530, 300)])


def probe_uploads(mock: MockHandle) -> Observed:
    with _client(mock) as client:
        audio = _audio(client, TWO_UTTERANCES).json()
        faces = _video(client, [THREE_FACES]).json()
        first = _video(client, [faces_jpeg([(10, 10, 200, 200)])], {"face": {"return_face_state": True}}).json()
        later = _video(client, [faces_jpeg([(400, 100, 600, 300)])], {"face_state": first["face_state"]}).json()
    return {"audio": audio, "faces": faces["measurements"][0]["faces"], "later": later["measurements"][0]["faces"]}


def probe_sessions(mock: MockHandle) -> Observed:
    speech = pcm((300, False), (4000, True), (700, False))
    return {
        "audio": _session(mock, "audio", [json.dumps({"type": "session.update"}), b"\x01", speech, CLOSE]),
        "late_update": _session(mock, "audio", [pcm((100, False)), json.dumps({"type": "session.update"})]),
        "video": _session(mock, "video", [face_jpeg(), 0.34, make_png(64, 64).data, 0.34, face_jpeg(), CLOSE]),
    }


def probe_limits(mock: MockHandle) -> Observed:
    with _client(mock) as client:
        upload = client.post("/v1/expression/audio/file", content=bytes(25_000_001),
                             headers={"Content-Type": "multipart/form-data; boundary=x"})  # fmt: skip
        pixels = _video(client, [make_big_jpeg()])
    return {
        "rate": _session(mock, "audio", [bytes(32_000)] * 20 + [CLOSE]),
        "size": _session(mock, "audio", [bytes(1_048_578), CLOSE]),
        "video_rate": _session(mock, "video", [plain_jpeg()] * 12 + [0.2, CLOSE]),
        "upload": upload.status_code,
        "pixels": pixels.status_code,
    }


def make_big_jpeg() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (3841, 2160), (10, 20, 30)).save(out, "JPEG")
    return out.getvalue()


def probe_errors(mock: MockHandle) -> Observed:
    with _client(mock) as client:
        return {"error": _audio(client, b"\x01").json()}


def probe_runs(mock: MockHandle) -> Observed:
    mock.app.state.v1.settings.run_flush_interval_s = 0
    with _client(mock) as client:
        for _ in range(2):
            _audio(client, pcm((1000, True)))
        _audio(client, b"\x01")  # errored
        session = _session(mock, "audio", [b"\x01", pcm((500, True)), CLOSE])
        run_id = session[0]["session_id"]
        first = client.get("/v1/expression/run", params={"page_size": 2}).json()
        last = client.get("/v1/expression/run", params={"page_size": 200}).json()  # the whole list: one page
        return {
            "first": first,
            "last": last,
            "errored": client.get("/v1/expression/run", params={"status": "errored"}).json()["runs"],
            "zero": client.get("/v1/expression/run", params={"page_size": 0}).status_code,
            "session_run": client.get(f"/v1/expression/run/{run_id}").json(),
            "events": client.get(f"/v1/expression/run/{run_id}/events").json()["events"],
        }


PROBES: dict[str, Callable[[MockHandle], Observed]] = {
    "v1-scores": probe_uploads,
    "v1-counters": probe_uploads,
    "v1-faces": probe_uploads,
    "v1-session": probe_sessions,
    "v1-limits": probe_limits,
    "v1-errors": probe_errors,
    "v1-runs": probe_runs,
}
# frame_id is a session counter: its probe is the session one.
PROBE_OF = {"v1-frame-id-counts-frames": "v1-session"}


def _measurements(o: Observed) -> list[dict]:
    return o["audio"]["measurements"]


def _measured(o: Observed) -> list[dict]:
    return [face for face in o["faces"] if face["expressions"] is not None]


def _desc(values: list[float]) -> bool:
    return values == sorted(values, reverse=True)


def _of(messages: list[dict], kind: str) -> list[dict]:
    return [m for m in messages if m["type"] == kind]


SYMPTOMS: dict[str, Callable[[Observed], bool]] = {
    "v1-expressions-ascending": lambda o: any(
        not _desc([s["probability"] for s in m["expressions"]]) for m in _measurements(o)
    ),
    "v1-voice-attribute-below-cutoff": lambda o: any(
        s["probability"] < 0.725 for m in _measurements(o) for s in m["voice_attributes"]
    ),
    "v1-face-score-at-cutoff": lambda o: any(s["probability"] <= 0.1 for f in _measured(o) for s in f["expressions"]),
    "v1-probability-five-decimals": lambda o: any(
        round(s["probability"], 4) != s["probability"] for m in _measurements(o) for s in m["expressions"]
    ),
    "v1-descriptions-ascending": lambda o: any(
        not _desc([s["probability"] for s in f["descriptions"]]) for f in _measured(o)
    ),
    "v1-measurement-id-from-one": lambda o: _measurements(o)[0]["measurement_id"] != 0,
    "v1-utterance-id-from-one": lambda o: o["audio"]["utterances"][0]["utterance_id"] != 0,
    "v1-window-over-10s": lambda o: any(m["audio_end_ms"] - m["audio_start_ms"] > 10_000 for m in _measurements(o)),
    "v1-speech-ended-too-close": lambda o: any(
        a["utterance_id"] == b["utterance_id"]
        and b["trigger"] == "speech_ended"
        and b["audio_end_ms"] - a["audio_end_ms"] < 1000
        for a, b in zip(_measurements(o), _measurements(o)[1:], strict=False)
    ),  # fmt: skip
    "v1-frame-id-counts-frames": lambda o: [m["frame_id"] for m in _of(o["video"], "measurement.result")] != [0, 1],
    "v1-bbox-outside-image": lambda o: any(f["bbox"][2] > 640 for f in o["faces"]),
    "v1-measured-face-id-null": lambda o: o["faces"][0]["face_id"] is None,
    "v1-faces-smallest-first": lambda o: o["faces"][0]["face_id"] is None,
    "v1-face-state-ignored": lambda o: o["later"][0]["face_id"] != 1,
    "v1-session-created-missing-id": lambda o: "session_id" not in o["audio"][0],
    "v1-update-after-media-accepted": lambda o: (
        [m["type"] for m in o["late_update"]][1:] != ["error", "session.closed"]
    ),
    "v1-closed-counts-wrong": lambda o: (
        _of(o["audio"], "session.closed")[0]["produced"]["measurements"] != len(_of(o["audio"], "measurement.result"))
    ),
    "v1-no-session-closed-on-error": lambda o: not _of(o["late_update"], "session.closed"),
    "v1-invalid-frame-ends-session": lambda o: not _of(o["audio"], "utterance.start"),
    "v1-retryable-inverted": lambda o: _of(o["audio"], "error")[0]["retryable"] is not True,
    "v1-utterance-end-mismatch": lambda o: (
        _of(o["audio"], "utterance.end")[0]["audio_start_ms"] != _of(o["audio"], "utterance.start")[0]["audio_start_ms"]
    ),
    "v1-rate-limit-ignored": lambda o: not any(m.get("code") == "rate_limited" for m in o["rate"] + o["video_rate"]),
    "v1-message-size-unchecked": lambda o: not any(m.get("code") == "message_too_large" for m in o["size"]),
    "v1-upload-size-unchecked": lambda o: o["upload"] != 413,
    "v1-pixel-limit-unchecked": lambda o: o["pixels"] != 413,
    "v1-error-without-request-id": lambda o: "request_id" not in o["error"],
    "v1-error-code-unknown": lambda o: o["error"]["code"] != "audio_decode_failed",
    "v1-next-cursor-on-last-page": lambda o: "next_cursor" in o["last"],
    "v1-runs-oldest-first": lambda o: (
        o["first"]["runs"][0]["started_at"] < o["first"]["runs"][1]["started_at"]
        or o["first"]["runs"][0]["mode"] != "realtime"
    ),
    "v1-page-size-unchecked": lambda o: o["zero"] != 400,
    "v1-runs-status-filter-ignored": lambda o: any(run["status"] != "errored" for run in o["errored"]),
    "v1-run-status-unknown": lambda o: any(
        run["status"] not in ("live", "ended", "errored") for run in o["first"]["runs"] + o["last"]["runs"]
    ),  # fmt: skip
    "v1-event-seq-from-zero": lambda o: o["events"][0]["seq"] != 1,
    "v1-metered-below-minimum": lambda o: o["session_run"]["metered_seconds"] < 10,
}


def test_at_least_twenty_v1_drifts_each_with_a_symptom() -> None:
    assert len(V1_CATALOGUE) >= 20
    assert set(SYMPTOMS) == set(V1_CATALOGUE)
    assert VERSION_CATALOGUES["v1"] is V1_CATALOGUE
    assert {drift.surface for drift in V1_CATALOGUE.values()} <= set(PROBES)


@pytest.fixture(scope="module")
def clean() -> dict[str, Observed]:
    with running_mock(fast_config()) as mock:
        return {surface: probe(mock) for surface, probe in PROBES.items() if surface != "v1-counters"}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(V1_CATALOGUE))
def test_each_v1_drift_breaks_its_promise_observably(name: str, clean: dict[str, Observed]) -> None:
    surface = PROBE_OF.get(name, V1_CATALOGUE[name].surface)
    surface = "v1-scores" if surface in ("v1-counters", "v1-faces") else surface  # one uploads probe
    before = clean[surface]
    with running_mock(fast_config(drifts=frozenset({name}))) as mock:
        after = PROBES[surface](mock)
    assert not SYMPTOMS[name](before), f"the clean mock already shows the symptom of {name}"
    assert SYMPTOMS[name](after), f"{name} did not change the output: {V1_CATALOGUE[name].description}"
