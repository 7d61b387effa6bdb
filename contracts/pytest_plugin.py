"""pytest plugin (registered as `hume_contracts`): contract tests of a Hume-compatible server as test items.

`pytest --hume-base-url URL --hume-api-key KEY` points the contract tests at a server; without
`--hume-base-url` they use the embedded mock.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hume-contracts", "Hume contract testing")
    group.addoption("--hume-base-url", default=None, help="server under test (default: the embedded mock)")
    group.addoption("--hume-api-key", default=None, help="API key (default: env HUME_API_KEY); never printed")
