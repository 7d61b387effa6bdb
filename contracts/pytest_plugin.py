"""pytest plugin (registered as `hume_contracts`): contract tests and recorded traffic as test items.

    pytest --hume-base-url URL --hume-api-key KEY     # a server (key also from env HUME_API_KEY)
    pytest --hume-contracts                           # the embedded mock
    pytest --hume-contracts -n auto                   # with pytest-xdist: items spread over CPUs
    pytest --hume-recordings tests/cassettes          # one item per recorded file (or ini hume_recordings)

It adds one item per batch operation (`hume-contracts::batch[GET /v0/batch/jobs]`, ...), one for the job
lifecycle and one for the stream. Each runs the same checks as `hume-contracts fuzz` and fails with the
distinct contract failures it found. Every process (each xdist worker) uses one target: the mock is started
once per process and stopped at the end of the session.

The ``hume_sessions`` fixture (or ``@pytest.mark.hume_sessions``) records a test's stream sessions into
transcripts beside its cassettes and replays them offline (``contracts.session_recording``).

With recordings, it adds one item per file that `hume-contracts validate` reads under the given paths
(`hume-recordings::tests/cassettes/test_api/test_get.yaml`), failing with the report `validate` prints for
that file. Without any of its options the plugin adds nothing and imports nothing beyond pytest.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pytest

from contracts import session_recording
from contracts.session_recording import _hume_sessions_marker, hume_sessions, pytest_runtest_makereport  # noqa: F401


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
    group.addoption(
        "--hume-recordings",
        nargs="+",
        action="extend",
        default=None,
        metavar="PATH",
        help="add one item per recorded file (cassette, HAR, transcript, body) under PATH, checked like "
        "`hume-contracts validate`",
    )
    group.addoption(
        "--hume-strict-requests",
        action="store_true",
        help="recordings: every request that breaks the contract is a failure (validate --strict-requests)",
    )
    group.addoption(
        "--hume-disable",
        action="append",
        default=[],
        metavar="CODE",
        help="recordings: switch off a rule or traffic check (validate --disable)",
    )
    group.addoption(
        "--hume-strict-judgements",
        action="store_true",
        help="fail on findings graded a judgement of this suite (by default they are warnings and pass)",
    )
    session_recording.add_options(group)
    parser.addini("hume_recordings", type="paths", default=[], help="recorded files or directories to check")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "hume_sessions(record_mode=None): record the test's stream sessions, or replay them"
    )


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("--hume-contracts") or config.getoption("--hume-base-url"))


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect, so they apply to these items too
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if _enabled(config):
        items.extend(HumeContracts.from_parent(session, name="hume-contracts").collect())
    recordings = _recording_paths(config)
    if recordings:
        items.extend(HumeRecordings.from_parent(session, name="hume-recordings", paths=recordings).collect())


def _recording_paths(config: pytest.Config) -> list[str]:
    """The paths given on the command line, else those of the ini option (relative to the rootdir)."""
    given = config.getoption("--hume-recordings") or []
    if given:
        return list(given)
    return [_shown(Path(path), config.rootpath) for path in config.getini("hume_recordings")]


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


class HumeRecordings(pytest.Collector):
    """One item per file under the given paths, in the order `validate` reads them (so every xdist
    worker collects the same items); a path that cannot be read is an item that fails saying so."""

    def __init__(self, *, paths: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.paths = paths

    def collect(self) -> list[pytest.Item]:
        from contracts.readers import Note, ReadError, walk_inputs

        items: list[pytest.Item] = []
        seen: set[Path] = set()
        for given in self.paths:
            for entry in walk_inputs(Path(given), given):
                if isinstance(entry, Note):
                    continue
                if isinstance(entry, ReadError):
                    items.append(RecordingItem.from_parent(self, name=entry.source, path_=None, error=entry))
                    continue
                path, shown = entry
                if path.resolve() not in seen:
                    seen.add(path.resolve())
                    items.append(RecordingItem.from_parent(self, name=shown, path_=path, error=None))
        return items


class RecordingFailed(AssertionError):
    """A recorded file with violations or unreadable parts; the message is `validate`'s report."""


class RecordingItem(pytest.Item):
    def __init__(self, *, path_: Path | None, error: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recording = path_
        self.error = error

    def runtest(self) -> None:
        from contracts import report
        from contracts.validate_command import file_results

        results = report.Results()
        if self.recording is None:
            results.add(self.error)
        else:
            strict = self.config.getoption("--hume-strict-judgements")
            try:
                results = file_results(
                    self.recording, self.name, _shared_checker(self.config), strict_judgements=strict
                )
            except MemoryError as error:  # a file too big for memory: said so, not a bare MemoryError
                detail = f" ({error})" if str(error) else ""
                raise RecordingFailed(f"{self.name}: unreadable: out of memory checking it{detail}") from None
        if results.exit_code != 0:
            raise RecordingFailed(report.render_text(results))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, RecordingFailed):
            return str(excinfo.value).rstrip("\n")
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return self.name, None, f"hume-recordings::{self.name}"


def _shared_checker(config: pytest.Config) -> Any:
    """One checker per process (it imports the contract's validators once)."""
    checker = getattr(config, "_hume_checker", None)
    if checker is None:
        from contracts.validate_command import BodyChecker

        disabled = frozenset(config.getoption("--hume-disable"))
        checker = config._hume_checker = BodyChecker(disabled, config.getoption("--hume-strict-requests"))
    return checker


class HumeContracts(pytest.Collector):
    def collect(self) -> list[pytest.Item]:
        from contracts.fuzz.batch import operation_labels

        parts = [("lifecycle", "lifecycle", None)]
        parts += [(f"batch[{label}]", "batch", label) for label in operation_labels()]
        parts += [("stream", "stream", None)]
        return [ContractItem.from_parent(self, name=name, part=part, operation=op) for name, part, op in parts]


class ContractFailures(AssertionError):
    def __init__(self, ledger: Any) -> None:
        super().__init__(f"{len(ledger.failures)} contract failures")
        self.ledger = ledger


class ContractItem(pytest.Item):
    def __init__(self, *, part: str, operation: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.part = part
        self.operation = operation

    def runtest(self) -> None:
        from contracts.fuzz.context import FuzzContext
        from contracts.fuzz.ledger import Ledger
        from contracts.fuzz.runner import run_part

        base_url, stream_url, api_key = _shared_target(self.config)
        ctx = FuzzContext(
            base_url=base_url,
            stream_url=stream_url,
            api_key=api_key,
            ledger=Ledger(strict_judgements=self.config.getoption("--hume-strict-judgements")),
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
            from contracts.fuzz.report import failure_text, table

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
        from contracts.fuzz.runner import FuzzOptions, target

        stack = contextlib.ExitStack()
        options = FuzzOptions(
            base_url=config.getoption("--hume-base-url"),
            api_key=config.getoption("--hume-api-key") or os.environ.get("HUME_API_KEY"),
        )
        base_url, stream_url, api_key, _ = stack.enter_context(target(options))
        config.add_cleanup(stack.close)
        _probe(base_url, stream_url, api_key)
        cached = config._hume_target = (base_url, stream_url, api_key)
    return cached


def _probe(base_url: str, stream_url: str, api_key: str) -> None:
    """Fail every item with one clear line, not a traceback, when nothing answers at the base URL."""
    from contracts.fuzz.context import FuzzContext
    from contracts.fuzz.ledger import Ledger
    from contracts.fuzz.runner import TargetUnreachable, probe

    try:
        probe(FuzzContext(base_url=base_url, stream_url=stream_url, api_key=api_key, ledger=Ledger()))
    except TargetUnreachable as error:
        pytest.fail(str(error), pytrace=False)
