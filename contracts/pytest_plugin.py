"""pytest plugin (registered as `hume_contracts`): the contract tests of a Hume-compatible server as test items.

    pytest --hume-base-url URL --hume-api-key KEY     # a server (key also from env HUME_API_KEY)
    pytest --hume-contracts                           # the embedded mock
    pytest --hume-contracts -n auto                   # with pytest-xdist: items spread over CPUs

It adds one item per batch operation (`hume-contracts::batch[GET /v0/batch/jobs]`, ...), one for the job
lifecycle and one for the stream. Each runs the same checks as `hume-contracts fuzz` and fails with the
distinct contract failures it found. Every process (each xdist worker) uses one target: the mock is started
once per process and stopped at the end of the session.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import pytest

from contracts.fuzz.context import FuzzContext
from contracts.fuzz.ledger import Ledger
from contracts.fuzz.report import failure_text, table
from contracts.fuzz.runner import FuzzOptions, probe, run_part, target


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hume-contracts", "Hume contract testing")
    group.addoption(
        "--hume-contracts", action="store_true", help="add the contract tests (against the mock by default)"
    )
    group.addoption("--hume-base-url", default=None, help="server under test (default: the embedded mock)")
    group.addoption("--hume-api-key", default=None, help="API key (default: env HUME_API_KEY); never printed")
    group.addoption("--hume-max-examples", type=int, default=25, help="examples per operation and mode")
    group.addoption("--hume-max-jobs", type=int, default=3, help="jobs the lifecycle item may create")
    group.addoption("--hume-seed", type=int, default=0, help="seed for generation (default 0)")


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("--hume-contracts") or config.getoption("--hume-base-url"))


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if _enabled(config):
        items.extend(HumeContracts.from_parent(session, name="hume-contracts").collect())


class HumeContracts(pytest.Collector):
    def collect(self) -> list[pytest.Item]:
        from contracts.fuzz.batch import operation_labels

        parts = [("lifecycle", "lifecycle", None)]
        parts += [(f"batch[{label}]", "batch", label) for label in operation_labels()]
        parts += [("stream", "stream", None)]
        return [ContractItem.from_parent(self, name=name, part=part, operation=op) for name, part, op in parts]


class ContractFailures(AssertionError):
    def __init__(self, ledger: Ledger) -> None:
        super().__init__(f"{len(ledger.failures)} contract failures")
        self.ledger = ledger


class ContractItem(pytest.Item):
    def __init__(self, *, part: str, operation: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.part = part
        self.operation = operation

    def runtest(self) -> None:
        base_url, stream_url, api_key = _shared_target(self.config)
        ctx = FuzzContext(
            base_url=base_url,
            stream_url=stream_url,
            api_key=api_key,
            ledger=Ledger(),
            max_examples=self.config.getoption("--hume-max-examples"),
            max_jobs=self.config.getoption("--hume-max-jobs"),
            seed=self.config.getoption("--hume-seed"),
        )
        if self.part == "batch":
            from contracts.fuzz.batch import run_batch

            run_batch(ctx, only={self.operation})
        else:
            run_part(ctx, self.part)
        if ctx.ledger.has_failures:
            raise ContractFailures(ctx.ledger)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ContractFailures):
            ledger = excinfo.value.ledger
            failures = [
                failure_text(i, f, ledger.occurrences[k]) for i, (k, f) in enumerate(ledger.failures.items(), 1)
            ]
            return "\n\n".join([table(ledger), *failures])
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "hume-contracts", None, f"hume-contracts::{self.name}"


def _shared_target(config: pytest.Config) -> tuple[str, str, str]:
    """One target per process, started on first use and stopped when the session ends."""
    cached = getattr(config, "_hume_target", None)
    if cached is None:
        stack = contextlib.ExitStack()
        options = FuzzOptions(
            base_url=config.getoption("--hume-base-url"),
            api_key=config.getoption("--hume-api-key") or os.environ.get("HUME_API_KEY"),
        )
        base_url, stream_url, api_key, _ = stack.enter_context(target(options))
        config.add_cleanup(stack.close)
        probe(base_url, api_key, 10.0)
        cached = config._hume_target = (base_url, stream_url, api_key)
    return cached
