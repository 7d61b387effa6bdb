"""The plugin's contract items (`pytest --hume-contracts`, `--hume-base-url`) run against a server and judge it.

The runs go in this process (pytester's in-process run: the plugin is loaded here through its entry point, and
the imports are warm); tests/test_readme.py runs the README's `pytest --hume-contracts -n auto` as a user does,
in its own processes.
"""

from __future__ import annotations

# Kept loaded here: pytester's in-process runs drop the modules a run imported, and an httpcore imported anew by
# the next run has new error classes, which httpx (loaded here) no longer maps: a refused connection then escaped
# as httpcore.ConnectError instead of the one line of the unreachable-server test (when it ran after the others).
import httpcore  # noqa: F401
import pytest
from conftest import API_KEY, fast_config

import contracts.fuzz.runner  # noqa: F401  imported here, so the in-process runs below share its httpx classes
from contracts.fuzz.batch import operation_labels
from mockserver import running_mock

pytest_plugins = ["pytester"]

FEW = ("-p", "no:xdist", "-p", "no:randomly", "--hume-max-examples", "3", "--hume-seed", "1")


@pytest.mark.slow
def test_the_contract_items_pass_against_the_embedded_mock(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--hume-contracts", *FEW, "-v")
    result.assert_outcomes(passed=len(operation_labels()) + 2)  # one per operation, the lifecycle, the stream
    result.stdout.fnmatch_lines(["*hume-contracts::lifecycle PASSED*", "*hume-contracts::stream PASSED*"])


@pytest.mark.slow
def test_the_contract_items_fail_a_drifted_server_with_its_failures(pytester: pytest.Pytester) -> None:
    with running_mock(fast_config(drifts=frozenset({"job-id-not-uuid"}))) as mock:
        args = ("--hume-base-url", mock.base_url, "--hume-api-key", API_KEY, *FEW, "-k", "lifecycle")
        result = pytester.runpytest(*args)  # in this process: the imports are warm
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*job-id-uuid*"])
    assert "Traceback" not in result.stdout.str() and API_KEY not in result.stdout.str()


def test_an_unreachable_server_fails_each_item_with_one_line(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--hume-base-url", "http://127.0.0.1:9", *FEW, "-k", "lifecycle")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cannot reach http://127.0.0.1:9*"])
    assert "Traceback" not in result.stdout.str()
