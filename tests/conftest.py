"""Shared fixtures: a running reference mock on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockserver import MockConfig, MockHandle, running_mock

# Jobs finish in ~0.1 s so lifecycle tests stay fast; the ticker checks every 10 ms.
FAST_TIMINGS = {"queued_seconds": 0.05, "in_progress_seconds": 0.05, "tick_seconds": 0.01}
API_KEY = "test-key-not-secret"


def fast_config(**overrides: object) -> MockConfig:
    """A MockConfig with fast job timings and the test key; ``overrides`` replace any field."""
    return MockConfig(**{"api_key": API_KEY, **FAST_TIMINGS, **overrides})  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def mock_server() -> Iterator[MockHandle]:
    """One clean mock shared by the tests that only read its behaviour (each creates its own jobs)."""
    with running_mock(fast_config()) as handle:
        yield handle
