"""Mismatches the fuzzer found between the mock and the contract, kept fixed."""

from __future__ import annotations

import httpx
import pytest
from conftest import API_KEY

from mockserver import MockHandle


@pytest.fixture
def client(mock_server: MockHandle) -> httpx.Client:
    with httpx.Client(base_url=mock_server.base_url, headers={"X-Hume-Api-Key": API_KEY}, timeout=10) as c:
        yield c


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"limit": 65535}, 200),
        ({"limit": 65536}, 400),  # the contract's maximum
        ({"limit": 0}, 400),
        ({"timestamp_ms": 2**63 - 1, "when": "created_before"}, 200),  # a valid int64
        ({"timestamp_ms": -1}, 400),
    ],
)
def test_list_jobs_honours_the_contract_bounds(client: httpx.Client, query: dict, status: int) -> None:
    assert client.get("/v0/batch/jobs", params=query).status_code == status


@pytest.mark.parametrize("json_part", ["null", "[]", '"text"', "3"])
def test_a_multipart_json_part_that_is_not_an_object_is_rejected(client: httpx.Client, json_part: str) -> None:
    files = [("file", ("a.txt", b"hello", "text/plain")), ("json", ("upload", json_part, "application/json"))]
    response = client.post("/v0/batch/jobs", files=files)
    assert response.status_code == 400
    assert "JSON object" in response.json()["message"]
