"""Record the v1 flows of a running mock as a HAR 1.2 document (HTTP entries, and WebSocket sessions as
``_webSocketMessages``), for ``hume-contracts validate``: the clean mock's recording must conform, a drifted
mock's must not. The API key is never written (its header is left out)."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from typing import Any

import httpx
from mock_v1_media import face_jpeg, faces_jpeg, pcm, plain_jpeg, wav
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mockserver import MockHandle
from strategies.media import make_png

CLOSE = json.dumps({"type": "session.close"})
THREE_FACES = faces_jpeg([(10, 10, 200, 200), (300, 50, 410, 160), (450, 200, 530, 300)])
SECRET_HEADERS = ("x-hume-api-key", "authorization")


def _headers(headers: httpx.Headers) -> list[dict]:
    return [{"name": k, "value": v} for k, v in headers.items() if k.lower() not in SECRET_HEADERS]


def _entry(method: str, url: str, status: int, **extra: Any) -> dict:
    return {
        "startedDateTime": "2026-12-02T00:00:00.000Z",
        "time": 1,
        "request": {"method": method, "url": url, "httpVersion": "HTTP/1.1", "headers": [], "queryString": [],
                    "cookies": [], "headersSize": -1, "bodySize": 0},
        "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                     "content": {"size": 0, "mimeType": ""}, "redirectURL": "", "headersSize": -1, "bodySize": 0},
        "cache": {},
        "timings": {"send": 0, "wait": 1, "receive": 0},
        **extra,
    }  # fmt: skip


def http_entry(response: httpx.Response) -> dict:
    request = response.request
    body = request.read()
    entry = _entry(request.method, str(request.url), response.status_code)
    query = [{"name": k, "value": v} for k, v in request.url.params.multi_items()]
    entry["request"].update(headers=_headers(request.headers), bodySize=len(body), queryString=query)
    if body:
        entry["request"]["postData"] = {"mimeType": request.headers.get("content-type", ""),
                                        "text": body.decode("latin-1")}  # fmt: skip
    entry["response"].update(headers=_headers(response.headers), bodySize=len(response.content))
    entry["response"]["content"] = {"size": len(response.content), "mimeType": response.headers.get("content-type", ""),
                                    "text": response.text}  # fmt: skip
    return entry


def session_entry(mock: MockHandle, api_key: str, endpoint: str, items: list[bytes | str | float]) -> dict:
    """One session: ``items`` are binary frames, text messages, or pauses (floats, seconds)."""
    url = f"{mock.ws_base}/v1/expression/{endpoint}/realtime"
    frames: list[dict] = []

    def note(kind: str, opcode: int, data: str, **extra: Any) -> None:
        frames.append({"type": kind, "time": time.time(), "opcode": opcode, "data": data, **extra})

    with connect(url, additional_headers={"X-Hume-Api-Key": api_key}, max_size=2**22) as ws:

        def receive(timeout: float) -> None:
            while True:
                note("receive", 1, ws.recv(timeout=timeout))

        try:
            for item in items:
                if isinstance(item, float):
                    time.sleep(item)
                elif isinstance(item, bytes):
                    note("send", 2, base64.b64encode(item).decode())
                    ws.send(item)
                else:
                    note("send", 1, item)
                    ws.send(item)
                with contextlib.suppress(TimeoutError):
                    receive(0.05)  # what the server answered so far
            receive(15)
        except (ConnectionClosed, TimeoutError):
            pass
    note("receive", 8, "", code=ws.close_code)
    return _entry("GET", url.replace("ws://", "http://", 1), 101, _resourceType="websocket", _webSocketMessages=frames)


def record_v1_flows(mock: MockHandle, api_key: str) -> dict:
    """A HAR of every v1 operation and both session kinds, with the refusals a client meets most."""
    entries = []
    session = [json.dumps({"type": "session.update", "measurement_timer_ms": 3000}), b"\x01",
               pcm((300, False), (4000, True), (700, False)), 0.2, CLOSE]  # fmt: skip
    entries.append(session_entry(mock, api_key, "audio", session))
    entries.append(session_entry(mock, api_key, "audio", [pcm((100, False)), json.dumps({"type": "session.update"})]))
    entries.append(session_entry(mock, api_key, "audio", [bytes(32_000)] * 20 + [CLOSE]))
    video = [json.dumps({"type": "session.update", "face": {"threshold": 0.8}}), face_jpeg(), 0.34,
             make_png(64, 64).data, 0.34, THREE_FACES, 0.34, CLOSE]  # fmt: skip
    entries.append(session_entry(mock, api_key, "video", video))
    entries.append(session_entry(mock, api_key, "video", [plain_jpeg()] * 12 + [0.3, CLOSE]))
    entries.append(session_entry(mock, api_key, "audio", [bytes(1_048_578)]))
    with httpx.Client(base_url=mock.base_url, headers={"X-Hume-Api-Key": api_key}, timeout=60) as client:
        config = ("config", (None, '{"measurement_timer_ms": 3000}', "application/json"))
        speech = wav(pcm((300, False), (14_000, True), (800, False), (3000, True), (700, False)))
        responses = [
            client.post("/v1/expression/audio/file", files=[config, ("file", ("a.wav", speech, "audio/wav"))]),
            client.post("/v1/expression/video/file", files=[
                ("config", (None, '{"face": {"return_face_state": true}}', "application/json")),
                ("file", ("a.jpg", THREE_FACES, "image/jpeg")), ("file", ("b.jpg", plain_jpeg(), "image/jpeg"))]),
            client.post("/v1/expression/audio/file", files=[("file", ("a", b"\x01", "audio/wav"))]),
            client.post("/v1/expression/video/file", files=[("file", ("a.png", make_png(64, 64).data, "image/png"))]),
            client.post("/v1/expression/video/file", files=[("file", ("big.jpg", _over_pixel_limit(), "image/jpeg"))]),
            httpx.get(mock.base_url + "/v1/expression/run"),
        ]  # fmt: skip
        state = responses[1].json().get("face_state", "")
        later = ("config", (None, json.dumps({"face_state": state}), "application/json"))
        moved = faces_jpeg([(400, 100, 600, 300)])  # a face the first request did not have: the next id
        responses.append(
            client.post("/v1/expression/video/file", files=[later, ("file", ("c.jpg", moved, "image/jpeg"))])
        )
        pages = _all_pages(client)
        run_id = pages[0].json()["runs"][0]["run_id"]
        responses += [
            *pages,
            client.get("/v1/expression/run", params={"status": "errored", "mode": "realtime"}),
            client.get(f"/v1/expression/run/{run_id}"),
            client.get(f"/v1/expression/run/{run_id}/events", params={"page_size": 1}),
            client.get("/v1/expression/run/00000000-0000-4000-8000-000000000000"),
            client.get("/v1/expression/run", params={"page_size": 0}),
        ]
    entries += [http_entry(response) for response in responses]
    return {"log": {"version": "1.2", "creator": {"name": "hume-contracts v1 mock flows", "version": "1"},
                    "entries": entries}}  # fmt: skip


def _over_pixel_limit() -> bytes:
    """A small plain JPEG of 3841 x 2160 pixels: one pixel column over the documented 8,294,400."""
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (3841, 2160), (10, 20, 30)).save(out, "JPEG")
    return out.getvalue()


def _all_pages(client: httpx.Client, page_size: int = 3, most: int = 20) -> list[httpx.Response]:
    """The run list page by page to its last (at most ``most`` pages: a cursor that never ends stops there)."""
    pages = [client.get("/v1/expression/run", params={"page_size": page_size})]
    while len(pages) < most and pages[-1].status_code == 200 and "next_cursor" in pages[-1].json():
        cursor = pages[-1].json()["next_cursor"]
        pages.append(client.get("/v1/expression/run", params={"page_size": page_size, "cursor": cursor}))
    return pages
