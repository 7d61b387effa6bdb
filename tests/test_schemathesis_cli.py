"""schemathesis's own CLI, run exactly as the README shows it, finds nothing wrong with the mock.

The README's commands write the repaired contract and the shipped `schemathesis.toml`, then `st run` with
every check and every phase. The only change here is the server's address: the test's mock listens on a free
port instead of the README's 8787 (with the README's key); NO_COLOR keeps the output plain.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import schemathesis
from conftest import fast_config
from schemathesis import GenerationMode

import openapi
import openapi.v1
from mockserver import running_mock

README = Path(__file__).parents[1] / "README.md"
HEADING = "### With schemathesis's own CLI"
README_URL = "http://127.0.0.1:8787"
KEY_HEADER = r'--header "X-Hume-Api-Key: ([^"$]+)"'


def readme_commands() -> list[str]:
    """The command lines of the first ```sh block under the heading."""
    section = README.read_text(encoding="utf-8").split(HEADING, 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, f"no sh block under {HEADING!r}"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_the_readme_runs_st_with_the_shipped_configuration() -> None:
    commands = readme_commands()
    assert any(" st run " in f" {line}" and "--checks all" in line for line in commands)
    assert any(line.startswith("hume-contracts spec --schemathesis-config") for line in commands)
    key = re.search(KEY_HEADER, " ".join(commands))
    assert key and key.group(1) not in openapi.SCHEMATHESIS_CONFIG_PATH.read_text()  # no key is shipped
    assert "${" not in openapi.SCHEMATHESIS_CONFIG_PATH.read_text()  # nor a variable st would demand at load


def test_the_shipped_configuration_loads_without_hume_api_key(tmp_path: Path) -> None:
    """st resolves `${VAR}` whenever it loads ./schemathesis.toml: even `st run --help` needs nothing set."""
    (tmp_path / "schemathesis.toml").write_text(openapi.SCHEMATHESIS_CONFIG_PATH.read_text())
    env = {k: v for k, v in os.environ.items() if k != "HUME_API_KEY"}
    st = str(Path(sys.executable).parent / "st")
    done = subprocess.run([st, "run", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Missing environment" not in done.stderr, done.stderr


def test_st_run_as_the_readme_shows_passes_against_the_mock(tmp_path: Path) -> None:
    commands = readme_commands()
    key = re.search(KEY_HEADER, " ".join(commands)).group(1)  # type: ignore[union-attr]
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    env.pop("HUME_API_KEY", None)
    with running_mock(fast_config(api_key=key)) as mock:
        script = "set -e\n" + "\n".join(line.replace(README_URL, mock.base_url) for line in commands) + "\n"
        done = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
        )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    # No failure; a warning may remain (some seeds read random job ids that only ever meet 404s: no contract fault)
    assert "FAILURES" not in done.stdout and " failed" not in done.stdout.rsplit("Test cases:", 1)[-1]
    assert "No issues found" in done.stdout or "Missing test data" in done.stdout
    assert "Stateful" in done.stdout and "Coverage" in done.stdout and "Fuzzing" in done.stdout
    assert (tmp_path / "schemathesis.toml").read_text() == openapi.SCHEMATHESIS_CONFIG_PATH.read_text()


class _Generated:
    """A case as schemathesis's generator hands it to ``filter_case``: the case, with its generation mode."""

    def __init__(self, case: Any, mode: GenerationMode) -> None:
        self._case = case
        self.meta = SimpleNamespace(generation=SimpleNamespace(mode=mode))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._case, name)


def test_the_shipped_hook_drops_only_negative_cases_whose_wire_form_is_valid() -> None:
    """A multipart `json` generated as an empty array is no part on the wire: a valid request, which a correct
    server accepts (st reported ST201 against the mock for it). Cases still invalid as bytes stay negative."""
    assert 'hooks = "contracts.st_hooks"' in openapi.SCHEMATHESIS_CONFIG_PATH.read_text()
    from contracts import st_hooks  # registers the hook with schemathesis, for this process: taken back below

    try:
        jobs = schemathesis.openapi.from_dict(openapi.load_repaired())["/v0/batch/jobs"]["POST"]

        def kept(json_part: Any, mode: GenerationMode = GenerationMode.NEGATIVE) -> bool:
            case = jobs.Case(body={"json": json_part, "file": [b"\x89PNG"]}, media_type="multipart/form-data")
            return st_hooks.filter_case(None, _Generated(case, mode))

        assert not kept([])  # no json part at all: valid
        assert kept("{not json") and kept([1, 2])  # a part that is no JSON object; two json parts
        assert kept([], GenerationMode.POSITIVE)  # positive cases are never dropped
        # a v1 operation is judged against the v1 contract's schemas (a document of its own resolves there)
        runs = schemathesis.openapi.from_dict(openapi.v1.load_openapi())["/v1/expression/run"]["GET"]
        assert st_hooks.filter_case(None, _Generated(runs.Case(query={"page_size": "0"}), GenerationMode.NEGATIVE))
    finally:
        schemathesis.hooks.GLOBAL_HOOK_DISPATCHER.unregister(st_hooks.filter_case)
