"""The reference mock under hostile input and faults (issue 9): what it accepts it can store and serve, and
what it cannot do it says in one line.

Classes covered, each with the instance that was found and a property over the class:
- values JSON cannot carry and text UTF-8 cannot encode, anywhere in a job body or stream frame: refused at
  the door (400 / an E0100 error frame), so every later answer still works;
- a stored job that cannot be served (written by an older mock) fails alone;
- faults of the process around the app (client hang-ups, a taken port, a damaged or shared data dir);
- unbounded concurrent work; artifacts that change between downloads.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import logging
import signal
import socket
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from conftest import API_KEY, fast_config
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mockserver import MockConfig, MockHandle, running_mock
from mockserver import server as mock_cli
from mockserver import stream as mock_stream
from mockserver.artifacts import build_artifacts
from mockserver.store import Store, StoreError

JOBS = "/v0/batch/jobs"
HEADERS = {"X-Hume-Api-Key": API_KEY}
HYPOTHESIS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def client(mock_server: MockHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mock_server.base_url, headers=HEADERS, timeout=10.0) as http:
        yield http


@contextlib.contextmanager
def serving(config: MockConfig) -> Iterator[tuple[MockHandle, httpx.Client]]:
    """A mock of its own and a client with the key."""
    with running_mock(config) as mock, httpx.Client(base_url=mock.base_url, headers=HEADERS, timeout=10) as http:
        yield mock, http


def post_json_text(http: httpx.Client, text: str) -> httpx.Response:
    return http.post(JOBS, content=text.encode(), headers={"content-type": "application/json"})


def wait_ended(http: httpx.Client, job_id: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (details := http.get(f"{JOBS}/{job_id}").json())["state"]["status"] not in ("COMPLETED", "FAILED"):
        assert time.monotonic() < deadline, details
        time.sleep(0.02)
    return details


def assert_everything_still_answers(http: httpx.Client) -> None:
    """The list and every listed job's details answer 200 with strict JSON (what one bad job used to break)."""
    listed = http.get(JOBS, params={"limit": 20})
    assert listed.status_code == 200, listed.text
    for job in orjson.loads(listed.content):
        details = http.get(f"{JOBS}/{job['job_id']}")
        assert details.status_code == 200, details.text
        orjson.loads(details.content)


# -- values JSON cannot carry, text that cannot be encoded -------------------------------------------------


def _with_escape(before: str, code_point: int, after: str) -> str:
    """A JSON string literal holding ``\\uXXXX`` for a lone surrogate between two ordinary texts."""
    return json.dumps(before)[:-1] + f"\\u{code_point:04x}" + json.dumps(after)[1:]


LONE_SURROGATE_STRINGS = st.builds(_with_escape, st.text(max_size=5), st.integers(0xD800, 0xDFFF), st.text(max_size=5))
NON_FINITE_NUMBERS = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1E999", "9" * 400, "-0.5e309"])
NOT_WIRE_JSON = st.one_of(LONE_SURROGATE_STRINGS, NON_FINITE_NUMBERS)
# Every place of a job body a value can reach the store, the echo or an error message.
JOB_PLACES = [
    '{"text": ["hi"], "models": {"face": {"facs": {"x": %s}}}}',
    '{"text": ["hi"], "models": {"language": {"sentiment": {"level": [%s]}}}}',
    '{"text": [%s]}',
    '{"text": ["hi", %s]}',
    '{"urls": [%s]}',
    '{"text": ["hi"], "callback_url": %s}',
    '{"text": ["hi"], "models": {"face": {"fps_pred": %s}}}',
    '{"text": ["hi"], "models": {"language": {"granularity": %s}}}',
    '{"text": ["hi"], "transcription": {"language": %s}}',
    '{"text": ["hi"], %s: 1}',
]


@pytest.mark.parametrize(
    "body",
    [
        '{"text": ["hi"], "models": {"face": {"facs": {"x": NaN}}}}',
        '{"text": ["hi"], "models": {"language": {"sentiment": {"x": "\\udfff"}}}}',
        '{"text": ["\\ud800"]}',
        '{"\\ud800": 1}',
        '{"text": ["hi"], "models": {"face": {"fps_pred": ' + "9" * 400 + "}}}",
    ],
    ids=["nan-in-facs", "surrogate-in-sentiment", "surrogate-text", "surrogate-key", "huge-integer"],
)
def test_the_reported_bodies_are_refused_and_break_nothing(client: httpx.Client, body: str) -> None:
    response = post_json_text(client, body)
    assert response.status_code == 400
    assert orjson.loads(response.content)["status_code"] == 400
    assert_everything_still_answers(client)


@HYPOTHESIS
@given(place=st.sampled_from(JOB_PLACES), value=NOT_WIRE_JSON)
def test_no_value_json_cannot_carry_gets_into_a_job(client: httpx.Client, place: str, value: str) -> None:
    body = place % value
    as_json = post_json_text(client, body)
    as_multipart = client.post(JOBS, files={"json": (None, body.encode(), "application/json")})
    for response in (as_json, as_multipart):
        assert response.status_code == 400, response.text
        assert orjson.loads(response.content)["status_code"] == 400
    assert_everything_still_answers(client)


@HYPOTHESIS
@given(place=st.sampled_from(JOB_PLACES), text=st.text(max_size=30))
def test_any_encodable_text_anywhere_is_answered_and_stays_servable(
    client: httpx.Client, place: str, text: str
) -> None:
    """Ordinary Unicode (no surrogates: Hypothesis's text excludes them) is accepted or refused, never a 500."""
    response = post_json_text(client, place % json.dumps(text))
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        wait_ended(client, response.json()["job_id"])
    assert_everything_still_answers(client)


def test_a_tar_member_named_in_no_encoding_is_stored_and_served(client: httpx.Client) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT, encoding="latin-1") as archive:
        info = tarfile.TarInfo("caf\xe9.txt")  # written as the byte 0xE9: not UTF-8
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    job_id = client.post(JOBS, files={"file": ("names.tar.gz", buffer.getvalue())}).json()["job_id"]
    assert wait_ended(client, job_id)["state"]["status"] == "COMPLETED"
    predictions = client.get(f"{JOBS}/{job_id}/predictions")
    assert predictions.status_code == 200
    [prediction] = orjson.loads(predictions.content)[0]["results"]["predictions"]
    assert prediction["file"] == "caf\ufffd.txt"
    assert_everything_still_answers(client)


STREAM_PLACES = [
    '{"models": {"language": {}}, "raw_text": true, "data": %s}',
    '{"models": {"language": {}}, "raw_text": true, "data": "hi", "payload_id": %s}',
    '{"models": {"face": {"facs": {"x": %s}}}, "data": "aGk="}',
    '{"models": {"language": {}}, "raw_text": true, "data": "hi", "stream_window_ms": %s}',
]


def stream_replies(mock: MockHandle, frames: list[str]) -> list[dict[str, Any]]:
    with connect(mock.stream_url, additional_headers=HEADERS, open_timeout=5, close_timeout=2) as ws:
        replies = []
        for frame in frames:
            ws.send(frame)
            replies.append(orjson.loads(ws.recv(timeout=5)))
    return replies


def test_the_reported_stream_frame_gets_an_error_frame_and_the_session_goes_on(mock_server: MockHandle) -> None:
    bad = '{"models": {"language": {}}, "raw_text": true, "data": "\\ud800"}'
    good = '{"models": {"language": {}}, "raw_text": true, "data": "hi"}'
    error, reply = stream_replies(mock_server, [bad, good])
    assert error["code"] == "E0100" and error["error"]
    assert "language" in reply


@HYPOTHESIS
@given(place=st.sampled_from(STREAM_PLACES), value=NOT_WIRE_JSON)
def test_no_stream_frame_json_cannot_carry_drops_the_session(mock_server: MockHandle, place: str, value: str) -> None:
    good = '{"models": {"language": {}}, "raw_text": true, "data": "hi"}'
    error, reply = stream_replies(mock_server, [place % value, good])
    assert error["code"] == "E0100" and "payload_id" not in error
    assert "language" in reply


def test_a_stream_session_that_fails_inside_ends_with_a_close_frame(
    mock_server: MockHandle, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: Any) -> dict[str, Any]:
        raise RuntimeError("simulated mock bug")

    monkeypatch.setattr(mock_stream, "answer", broken)
    with (
        caplog.at_level(logging.ERROR, logger="mockserver"),
        connect(mock_server.stream_url, additional_headers=HEADERS, open_timeout=5) as ws,
    ):
        ws.send("{}")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == mock_stream.INTERNAL_ERROR
    assert [r for r in caplog.records if r.name == "mockserver" and r.exc_info is None]


# -- a stored job that cannot be served fails alone --------------------------------------------------------


def test_a_job_an_older_mock_stored_with_nan_or_surrogates_fails_alone(tmp_path: Path) -> None:
    with serving(fast_config(data_dir=tmp_path)) as (_, http):
        ids = [http.post(JOBS, json={"text": [f"job {n}"]}).json()["job_id"] for n in range(3)]
        for job_id in ids:
            wait_ended(http, job_id)
    # What an older mock wrote with Python's json: NaN tokens and lone-surrogate escapes, in a data dir
    # without the `checked` column.
    with sqlite3.connect(tmp_path / "jobs.sqlite3") as db:
        db.execute("ALTER TABLE predictions DROP COLUMN checked")
        db.execute("UPDATE jobs SET request_json = ? WHERE job_id = ?", ('{"models": {"x": NaN}}', ids[0]))
        db.execute("UPDATE predictions SET predictions_json = ? WHERE job_id = ?", ('[{"file": "\\udfff"}]', ids[1]))
    db.close()
    with serving(fast_config(data_dir=tmp_path)) as (_, http):
        listed = http.get(JOBS)
        assert listed.status_code == 200
        assert [job["job_id"] for job in listed.json()] == [ids[2], ids[1]]
        broken = http.get(f"{JOBS}/{ids[0]}")
        assert broken.status_code == 500 and ids[0] in broken.json()["message"]
        assert http.get(f"{JOBS}/{ids[1]}").status_code == 200
        for path in ("predictions", "artifacts"):
            unservable = http.get(f"{JOBS}/{ids[1]}/{path}")
            assert unservable.status_code == 500 and ids[1] in unservable.json()["message"]
        assert http.get(f"{JOBS}/{ids[2]}/predictions").json()[0]["results"]["predictions"]


# -- faults around the app ---------------------------------------------------------------------------------


PARTIAL_BODIES = {
    "application/json": b'{"text": [',
    "multipart/form-data; boundary=x": b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
    b"\r\n\x89PNG",
}


@pytest.mark.parametrize("content_type", PARTIAL_BODIES)
def test_a_client_hanging_up_mid_body_is_one_quiet_line(
    mock_server: MockHandle, caplog: pytest.LogCaptureFixture, content_type: str
) -> None:
    caplog.set_level(logging.INFO)
    head = f"POST {JOBS} HTTP/1.1\r\nHost: x\r\nX-Hume-Api-Key: {API_KEY}\r\nContent-Type: {content_type}\r\n"
    with socket.create_connection((mock_server.host, mock_server.port), timeout=5) as raw:
        raw.sendall((head + "Content-Length: 100000\r\n\r\n").encode() + PARTIAL_BODIES[content_type])
    deadline = time.monotonic() + 5
    while not any("disconnected" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
        time.sleep(0.02)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    mock_cli.add_arguments(parser)
    status = mock_cli.run(parser.parse_args(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_clear_line(status: int, out: str, err: str, *expected: str) -> None:
    assert status == 2 and out == "", out  # no banner
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err


def test_a_taken_port_is_one_line_exit_2_and_no_banner(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_cli.listen("127.0.0.1", 0) as taken:
        taken.listen()
        port = str(taken.getsockname()[1])
        assert_one_clear_line(*run_cli(["--port", port], capsys), port)


def make_data_dir(path: Path, jobs: int = 3) -> Path:
    """A data dir with a few finished jobs (a database of several pages)."""
    with serving(fast_config(data_dir=path)) as (_, http):
        for n in range(jobs):
            wait_ended(http, http.post(JOBS, json={"text": [f"job {n} " * 40]}).json()["job_id"])
    with sqlite3.connect(path / "jobs.sqlite3") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, as after a clean stop
    db.close()
    return path / "jobs.sqlite3"


def corrupt(database: Path, offset: int, garbage: bytes) -> None:
    with database.open("r+b") as file:
        file.seek(offset)
        file.write(garbage)


@pytest.fixture(scope="module")
def pristine_database(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_data_dir(tmp_path_factory.mktemp("pristine")).read_bytes()


def test_the_reported_damage_is_named_with_what_to_do_and_the_file_is_left_alone(
    tmp_path: Path, pristine_database: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    damages = {
        "header": lambda db: corrupt(db, 0, b"\x00garbage" * 8),
        "truncated": lambda db: db.write_bytes(pristine_database[: len(pristine_database) // 2 + 7]),
        "page overwritten": lambda db: corrupt(db, 4096 + 20, b"\xff" * 2000),
    }
    for name, damage in damages.items():
        data_dir = tmp_path / name.replace(" ", "-")
        data_dir.mkdir()
        database = data_dir / "jobs.sqlite3"
        database.write_bytes(pristine_database)
        damage(database)
        before = hashlib.sha256(database.read_bytes()).hexdigest()
        assert_one_clear_line(*run_cli(["--port", "0", "--data-dir", str(data_dir)], capsys), str(database), "damaged")
        assert hashlib.sha256(database.read_bytes()).hexdigest() == before, name


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.floats(0.0, 0.999), garbage=st.binary(min_size=1, max_size=600))
@example(where=0.005, garbage=b"\x80")  # found by CI: SQLite's damage report quoted a row's text, not UTF-8
def test_any_damage_is_refused_cleanly_or_leaves_every_answer_working(
    tmp_path_factory: pytest.TempPathFactory, pristine_database: bytes, where: float, garbage: bytes
) -> None:
    data_dir = tmp_path_factory.mktemp("damaged")
    database = data_dir / "jobs.sqlite3"
    database.write_bytes(pristine_database)
    corrupt(database, int(where * len(pristine_database)), garbage)
    damaged = database.read_bytes()
    try:
        with serving(fast_config(data_dir=data_dir)) as (_, http):
            listed = http.get(JOBS)
            assert listed.status_code in (200, 500), listed.text  # 500: damage found while reading, named
            assert orjson.loads(listed.content) is not None
    except StoreError as exc:
        assert str(database) in str(exc)
        assert database.read_bytes() == damaged


def test_a_second_mock_on_a_data_dir_in_use_is_refused_and_touches_no_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(fast_config(data_dir=tmp_path, queued_seconds=60)) as (_, http):
        job_id = http.post(JOBS, json={"text": ["queued"]}).json()["job_id"]
        assert_one_clear_line(*run_cli(["--port", "0", "--data-dir", str(tmp_path)], capsys), "another mock")
        with pytest.raises(StoreError, match="another mock"):
            Store(tmp_path)
        assert http.get(f"{JOBS}/{job_id}").json()["state"]["status"] == "QUEUED"
    Store(tmp_path).close()  # free again once the owner has stopped


def test_the_data_dir_lock_dies_with_a_killed_mock(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "mockserver", "--port", "0", "--data-dir", str(tmp_path)]
    owner = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "Hume mock API on" in owner.stdout.readline()  # type: ignore[union-attr]
        with pytest.raises(StoreError):
            Store(tmp_path)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
    Store(tmp_path).close()


# -- bounded work ------------------------------------------------------------------------------------------


def test_heavy_work_beyond_the_slots_and_queue_gets_429_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    release, entered = threading.Event(), threading.Event()
    with running_mock(fast_config(concurrent_jobs=1, waiting_jobs=1)) as mock:
        runner = mock.app.state.mock.runner
        submit = runner.submit

        def slow_submit(*args: Any) -> str:
            entered.set()
            release.wait(10)
            return submit(*args)

        monkeypatch.setattr(runner, "submit", slow_submit)
        results: list[int] = []

        def post() -> None:
            with httpx.Client(base_url=mock.base_url, headers=HEADERS, timeout=10) as http:
                results.append(http.post(JOBS, json={"text": ["hi"]}).status_code)

        running, waiting = threading.Thread(target=post), threading.Thread(target=post)
        running.start()
        assert entered.wait(5)
        waiting.start()
        gate = mock.app.state.mock.gate
        deadline = time.monotonic() + 5
        while gate._admitted < 2:  # noqa: SLF001 - the second request is queued, not yet running
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with httpx.Client(base_url=mock.base_url, headers=HEADERS, timeout=10) as http:
            refused = http.post(JOBS, json={"text": ["hi"]})
        release.set()
        running.join(10)
        waiting.join(10)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["status_code"] == 429
    assert results == [200, 200]


# -- slow and greedy clients: the server bounds the mock shares with the proxy (serving.guard) -----------------


def raw_request(mock: MockHandle, head: bytes) -> bytes:
    """Send ``head`` as it is (no client library tidies it) and return everything the mock answers."""
    with socket.create_connection((mock.host, mock.port), timeout=10) as connection:
        connection.sendall(head)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_a_slowloris_head_is_cut_off_and_others_are_served() -> None:
    with serving(fast_config(head_timeout_seconds=0.5)) as (mock, http):
        slow = socket.create_connection((mock.host, mock.port), timeout=10)
        slow.sendall(b"GET /v0/batch/jobs HTTP/1.1\r\nx-a: 1\r\n")
        answer = http.get(JOBS)
        time.sleep(1.0)
        cut = slow.recv(1024)
        slow.close()
    assert answer.status_code == 200 and cut.startswith(b"HTTP/1.1 408")


def test_twenty_thousand_headers_are_refused_cheaply(mock_server: MockHandle, client: httpx.Client) -> None:
    head = b"GET /v0/batch/jobs HTTP/1.1\r\n" + b"".join(b"x-%d: y\r\n" % n for n in range(20000)) + b"\r\n"
    started = time.monotonic()
    answer = raw_request(mock_server, head)
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 431") and took < 2
    assert_everything_still_answers(client)


def test_connections_past_the_cap_are_refused_and_freed_later() -> None:
    with serving(fast_config(max_connections=5, head_timeout_seconds=1.0)) as (mock, http):
        idle = [socket.create_connection((mock.host, mock.port)) for _ in range(5)]
        time.sleep(0.2)
        try:
            refused = raw_request(mock, b"GET /v0/batch/jobs HTTP/1.1\r\nhost: x\r\n\r\n")
        except ConnectionResetError:  # closed at once to free the descriptor: the 503 may be lost to a reset
            refused = b"reset"
        time.sleep(3.0)  # the idle ones time out (1 s), and their lingering close ends (1 s)
        answer = http.get(JOBS)
        for connection in idle:
            connection.close()
    assert (refused.startswith(b"HTTP/1.1 503") or refused == b"reset") and answer.status_code == 200


def test_the_connection_cap_stays_below_the_descriptor_limit() -> None:
    # The case: 1,100 idle connections on a process allowed 1,024 descriptors stopped every accept.
    # The cap leaves room for the listening socket, files and one accept burst; the proxy needs two per connection.
    probe = (
        "import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024));"
        "from serving.guard import connection_cap;"
        "print(connection_cap(), connection_cap(fds_per_connection=2), connection_cap(100))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    mock_cap, proxy_cap, asked = map(int, out.split())
    assert 0 < mock_cap < 1024 - 128 and proxy_cap == mock_cap // 2 and asked == 100


# -- artifacts: one stored archive -------------------------------------------------------------------------


def test_artifacts_are_the_same_bytes_every_time_dated_when_the_job_ended(client: httpx.Client) -> None:
    job_id = client.post(JOBS, json={"text": ["I met Maria in Paris."]}).json()["job_id"]
    ended_ms = wait_ended(client, job_id)["state"]["ended_timestamp_ms"]
    first = client.get(f"{JOBS}/{job_id}/artifacts").content
    assert client.get(f"{JOBS}/{job_id}/artifacts").content == first
    year, month, day, hour, minute, second = time.gmtime(ended_ms // 1000)[:6]
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(year, month, day, hour, minute, second // 2 * 2)}


def test_building_artifacts_does_not_read_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    predictions = [{"source": {"type": "text"}, "results": {"predictions": [], "errors": []}}]
    first = build_artifacts(predictions, 1_700_000_000_000)
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)
    monkeypatch.setattr(time, "localtime", lambda *_: time.gmtime(2_000_000_000))
    assert build_artifacts(predictions, 1_700_000_000_000) == first
