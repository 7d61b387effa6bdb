"""The suite installs from a checkout or its Git URL, as the README's CI recipe does (it is not on PyPI).

`pip install <checkout>` and `pip install "hume-contracts @ git+<url>"` (a local repository standing in for the
remote one) run offline (no index, no build isolation, no dependencies: they are this venv's) into a fresh
target, and the installed copy, not the checkout, serves the contract and the CLI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SOURCES = ("pyproject.toml", "README.md", "openapi", "contracts", "strategies", "mockserver")


def git_repository(checkout: Path) -> str:
    """Commit the copy to a fresh repository; the requirement that installs it by Git URL."""
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "copy"]):
        subprocess.run([*git, *command], check=True, capture_output=True, timeout=60)
    return f"hume-contracts @ git+file://localhost{checkout.as_posix()}"  # old pips want a host in git URLs


@pytest.mark.parametrize("form", ["checkout", "git-url"])
def test_the_suite_installs_with_pip_and_carries_the_contract(tmp_path: Path, form: str) -> None:
    checkout = tmp_path / "hume-contracts"
    checkout.mkdir()
    for name in SOURCES:  # a clean copy: building writes build/ into the source tree
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, checkout / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, checkout / name)
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-build-isolation"]
    requirement = str(checkout) if form == "checkout" else git_repository(checkout)
    done = subprocess.run([*pip, "--target", str(target), requirement], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (target / "bin" / "hume-contracts").is_file()

    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = (
        "import openapi, contracts.cli, sys; "
        "assert openapi.__file__.startswith(sys.argv[1]), openapi.__file__; "
        "assert openapi.SCHEMATHESIS_CONFIG_PATH.is_file(); "
        "sys.exit(contracts.cli.main(['spec', '--check']))"
    )
    checked = subprocess.run(
        [sys.executable, "-c", probe, str(target)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]
