"""The v1 mock's runs: one per upload and session, filters, cursors, restart safety, the silent-run rule."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from conftest import API_KEY, fast_config
from mock_v1_media import face_jpeg, pcm

from mockserver import running_mock
from mockserver.store import StoreError

KEY = {"X-Hume-Api-Key": API_KEY}
RUNS = "/v1/expression/run"
RUN_KEYS = {"run_id", "user_id", "status", "endpoint", "mode", "started_at", "ended_at", "bytes_received",
            "bytes_recorded", "metered_seconds"}  # fmt: skip


def upload_audio(client: httpx.Client, data: bytes) -> httpx.Response:
    return client.post("/v1/expression/audio/file", files=[("file", ("a", data, "audio/wav"))])


def upload_image(client: httpx.Client, data: bytes) -> httpx.Response:
    return client.post("/v1/expression/video/file", files=[("file", ("a.jpg", data, "image/jpeg"))])


@pytest.fixture
def fresh(tmp_path: Path):
    with running_mock(fast_config(data_dir=tmp_path)) as mock, httpx.Client(base_url=mock.base_url, headers=KEY) as c:
        yield mock, c


def all_pages(client: httpx.Client, **params: object) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = client.get(RUNS, params=query).json()
        pages.append(body["runs"])
        cursor = body.get("next_cursor")
        if cursor is None:
            return pages
        assert len(pages) < 50


def test_each_upload_is_a_run_newest_first_paged_by_cursor(fresh) -> None:
    _mock, client = fresh
    ids = [upload_audio(client, pcm((1500, True))).json()["run_id"] for _ in range(3)]
    ids += [upload_image(client, face_jpeg()).json()["run_id"] for _ in range(2)]
    pages = all_pages(client, page_size=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [run["run_id"] for page in pages for run in page]
    assert listed == ids[::-1]
    run = pages[0][0]
    assert set(run) == RUN_KEYS and run["mode"] == "file" and run["endpoint"] == "video" and run["status"] == "ended"
    assert run["metered_seconds"] == 10.0  # 2/3 s of image, raised to the 10 s minimum
    assert run["started_at"].endswith("Z") and run["ended_at"] >= run["started_at"]


def test_filters_combine(fresh) -> None:
    _mock, client = fresh
    upload_audio(client, pcm((1500, True)))
    video_id = upload_image(client, face_jpeg()).json()["run_id"]
    upload_audio(client, b"\x01")  # refused media: an errored run, 0 metered seconds
    [[video]] = all_pages(client, endpoint="video", mode="file", status="ended")
    assert video["run_id"] == video_id
    [[errored]] = all_pages(client, status="errored")
    assert errored["endpoint"] == "audio" and errored["metered_seconds"] == 0
    assert all_pages(client, mode="realtime") == [[]]
    started = video["started_at"]
    after = [run["run_id"] for page in all_pages(client, started_after=started) for run in page]
    before = [run["run_id"] for page in all_pages(client, started_before=started) for run in page]
    assert video_id in after and video_id not in before and len(after) + len(before) == 3


@pytest.mark.parametrize(
    "params",
    [{"page_size": 0}, {"page_size": 201}, {"page_size": "x"}, {"cursor": "bogus"}, {"status": "done"},
     {"started_after": "yesterday"}, {"started_after": "2026-10-07T12:00:00"}, {"status": ["live", "ended"]},
     {"sort": "asc"}],
)  # fmt: skip
def test_bad_queries_are_invalid_request(fresh, params: dict) -> None:
    _mock, client = fresh
    response = client.get(RUNS, params=params)
    assert response.status_code == 400 and response.json()["code"] == "invalid_request", response.text


def test_get_run_and_not_found(fresh) -> None:
    _mock, client = fresh
    run_id = upload_audio(client, pcm((4000, True))).json()["run_id"]
    run = client.get(f"{RUNS}/{run_id}").json()
    assert run["config"] == {"schema": "v4", "audio": {"type": "audio/pcm", "encoding": "s16le", "sample_rate": 16000,
                             "channels": 1}, "measurement_timer_ms": 3000}  # fmt: skip
    assert "close_code" not in run and run["metered_seconds"] == 10.0
    missing = client.get(f"{RUNS}/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert client.get(f"{RUNS}/nope/events").status_code == 404
    events = client.get(f"{RUNS}/{run_id}/events").json()
    assert events == {"events": [], "at_cap": False, "capped_kinds": [], "gaps": False}


def test_runs_survive_a_restart_on_the_same_data_dir(tmp_path: Path) -> None:
    with running_mock(fast_config(data_dir=tmp_path)) as mock:
        run_id = upload_audio(httpx.Client(base_url=mock.base_url, headers=KEY), pcm((1500, True))).json()["run_id"]
    with running_mock(fast_config(data_dir=tmp_path)) as mock:
        body = httpx.get(mock.base_url + RUNS, headers=KEY).json()
    assert [run["run_id"] for run in body["runs"]] == [run_id]
    assert (tmp_path / "runs.sqlite3").exists() and (tmp_path / "jobs.sqlite3").exists()


def test_a_damaged_run_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    damaged = b"SQLite format 3\x00" + b"\xff" * 4096
    (tmp_path / "runs.sqlite3").write_bytes(damaged)
    with pytest.raises(StoreError, match="runs.sqlite3"), running_mock(fast_config(data_dir=tmp_path)):
        pass
    assert (tmp_path / "runs.sqlite3").read_bytes() == damaged
    with running_mock(fast_config(data_dir=tmp_path / "other")):  # the jobs lock was released
        pass


def test_rate_limit_answers_429_server_busy_with_retry_after(tmp_path: Path) -> None:
    with running_mock(fast_config(rate_limit_per_second=1)) as mock:
        responses = [httpx.get(mock.base_url + RUNS, headers=KEY) for _ in range(3)]
    busy = [r for r in responses if r.status_code == 429]
    assert busy and busy[0].headers["retry-after"] == "1" and busy[0].json()["code"] == "server_busy"


def test_a_silent_live_run_reads_errored_then_live_again(fresh) -> None:
    from websockets.sync.client import connect

    mock, client = fresh
    mock.app.state.v1.settings.silent_run_errored_ms = 300
    mock.app.state.v1.settings.run_flush_interval_s = 0
    with connect(f"ws://{mock.host}:{mock.port}/v1/expression/audio/realtime", additional_headers=KEY) as ws:
        run_id = json.loads(ws.recv())["session_id"]
        assert client.get(f"{RUNS}/{run_id}").json()["status"] == "live"
        time.sleep(0.6)
        assert client.get(f"{RUNS}/{run_id}").json()["status"] == "errored"
        assert [r["run_id"] for r in client.get(RUNS, params={"status": "errored"}).json()["runs"]] == [run_id]
        ws.send(pcm((100, False)))
        time.sleep(0.1)
        assert client.get(f"{RUNS}/{run_id}").json()["status"] == "live"
        assert [r["run_id"] for r in client.get(RUNS, params={"status": "live"}).json()["runs"]] == [run_id]
