"""Every command block of README.md runs here, as written, so a stale command fails CI.

Each fenced block is one test (its id: the README line it starts on). ```sh blocks run command by command, each
with `bash -e -c`, in a temporary directory laid out like a checkout (`openapi/` and `tests/data/` of this one,
`../shared` beside it where the repository has it), with this virtualenv's `bin` first on PATH (the README's
bare `hume-contracts`, `st` and `pytest` are the activated virtualenv's). Each command must exit as the README
says (0 unless `EXIT` states otherwise, with the README's reason). ```python blocks are executed. Every other
block (the layout, sample output, the CI workflow) is listed in `NOT_COMMANDS` with what is checked instead.
A block that is neither run nor listed fails `test_every_readme_block_is_run_or_listed_with_a_reason`.

What is filled in, and why (the only changes to what the README says):
- the documented placeholders: `https://staging.example.com`, `https://api.hume.ai` and `127.0.0.1:8787` are a
  mock started for the block (key `dev-key`, the README's key for the mock, also `$HUME_API_KEY`); `...` as a
  key is `dev-key`; `recordings/`, `tests/cassettes/` and `nightly/report.json` (your own recordings and an
  earlier run's report) are made before the block;
- ports 8787 and 8788 are free ports and `/tmp/` is the test's own directory: parallel test processes and
  other runs on the machine must not meet on fixed ports or files;
- commands that generate traffic (`fuzz`, `st run`, `pytest --hume-*`) get a smaller example count appended
  (`MORE_EXAMPLES_THAN_A_TEST`): as written they run 100 examples per operation, minutes of CPU in all (the
  suite must stay within CI's time); their flags are still the README's, so a stale one fails here.
  `python bench/seed_sweep.py` runs the default `hume-contracts fuzz` in full.
- a foreground server (`hume-contracts mock --port ...`, `hume-contracts proxy ...`) is started, answered one
  request, and stopped with Ctrl-C (SIGINT), as a user stops it; it must exit 0 and write what it promises.
pytest-markdown-docs runs ```python blocks unchanged, so it cannot give them the free ports above; and the
blocks need a running mock. So the python blocks are executed here too, with the same substitutions.

Whatever a block leaves in its directory must be ignored by the checkout's .gitignore (following the README
leaves no untracked file).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import v1_samples
import yaml

from mockserver import MockConfig, running_mock

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHARED = ROOT.parent / "shared"
BIN = Path(sys.executable).parent
KEY = "dev-key"  # the README's key for the mock
FAST = {"queued_seconds": 0.05, "in_progress_seconds": 0.05, "tick_seconds": 0.01}


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int  # the README line of the opening fence

    @property
    def first(self) -> str:
        return next((line for line in self.text.splitlines() if line.strip()), "")


def readme_blocks() -> list[Block]:
    blocks, lines, index = [], README.read_text(encoding="utf-8").splitlines(), 0
    while index < len(lines):
        fence = re.match(r"^```(\S*)\s*$", lines[index])
        if not fence:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        blocks.append(Block(fence.group(1), "\n".join(lines[index + 1 : end]), index + 1))
        index = end + 1
    return blocks


def commands(block: Block) -> list[str]:
    """The block's commands: comment lines dropped, `\\` continuations joined (trailing comments stay: bash
    ignores them)."""
    found: list[str] = []
    pending = ""
    for line in block.text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        found.append(pending.strip())
        pending = ""
    return found


# -- what is not a command, and what is checked instead --------------------------------------------------------

NOT_COMMANDS = {  # a block's first line -> why it is not run
    "openapi/      spec        upstream document (vendored byte-for-byte), repair overlays, repaired document, "
    "stream AsyncAPI": "the layout of the repository, not a command",
    "/state/ended_timestamp_ms: required field 'ended_timestamp_ms' is missing   [schema-required  "
    "openapi#/components/schemas/StateInference_Completed/required]": "sample output of `validate`",
    "validated 562 bodies in 1 file: 562 conform, none with violations; 300 invalid requests correctly rejected": (
        "sample output of `validate`"
    ),
    "# .github/workflows/hume-contract.yml": "a CI workflow: test_the_ci_recipe_commands checks its commands",
}
SYNOPSES = {  # a usage synopsis: each option it shows must be one the command takes
    "hume-contracts validate [--kind KIND] [--format text|json|junit] [--output FILE] [--disable CODE] [--jobs N]",
}
ELSEWHERE = {  # run as written, with more assertions, by another test
    "HUME_API_KEY=... pytest tests/test_realtime.py             # records cassettes/test_realtime/test_silence."
    "session1.jsonl": "tests/test_session_recording.py records the README's test_realtime.py against the mock with a "
    "key, then replays it with the mock stopped and no key, and with --hume-record-mode",
    "# The v1 SDK against `hume-contracts mock`, with a WAV of speech as speech.wav": "tests/test_mock_v1_sdk.py::"
    "test_the_readme_snippet_runs_unchanged runs this block as written against the mock, with a WAV of speech",
    "hume-contracts spec > repaired.yaml": "tests/test_schemathesis_cli.py::test_st_run_as_the_readme_shows_passes_"
    "against_the_mock runs this block as written against the mock",
}
FRESH_MACHINE = ["python3 -m venv .venv", ".venv/bin/pip install -q -e .", ".venv/bin/hume-contracts fuzz"]

# Commands that exit non-zero, by what the README says of them.
EXIT = {
    "hume-contracts spec --rebase ../shared/hume/reference/hume-openapi-2023/": 1,  # "most repairs need review"
    "hume-contracts diff ../shared/hume/reference/hume-openapi-2023/": 1,  # 2023 -> today breaks someone
    "st --config-file st-auth.toml run ": (0, 1),  # "st run's own exit status reports its own checks" (with this
    # minimal configuration, st's ST202 on job bodies the mock refuses: see the schemathesis.toml section); the
    # verdict on the recording is the next command's, `validate`'s, which must be 0
    "hume-contracts fuzz --api v1 --drift ": 1,  # "the suite testing itself on a drifted mock": the drift is caught
    "hume-contracts validate --min-coverage 40 recordings/": 1,  # "exit 1 when under 40%": the filled-in
    # recordings (two real bodies and a cassette) cover far less
}

MORE_EXAMPLES_THAN_A_TEST = {  # a command's start -> what is appended to it
    "hume-contracts fuzz": ["--max-examples", "5"],
    ".venv/bin/hume-contracts fuzz": ["--max-examples", "5"],
    "HUME_API_KEY=... hume-contracts fuzz": ["--max-examples", "5"],
    "st ": ["--max-examples", "3"],
    "pytest --hume-": ["--hume-max-examples", "3"],
}
SERVERS = ("hume-contracts mock --port", "hume-contracts proxy ")


def _listed(block: Block) -> str | None:
    """Why a block is not run as commands here, or None."""
    if block.first in NOT_COMMANDS:
        return NOT_COMMANDS[block.first]
    if block.first in SYNOPSES:
        return "a usage synopsis: test_the_validate_synopsis_names_real_options"
    if block.first in ELSEWHERE:
        return ELSEWHERE[block.first]
    return None


RUN = [b for b in readme_blocks() if b.lang in ("sh", "python") and _listed(b) is None]


def test_every_readme_block_is_run_or_listed_with_a_reason() -> None:
    blocks = readme_blocks()
    assert len(blocks) >= 20
    unhandled = [f"README.md:{b.line} ```{b.lang} {b.first!r}" for b in blocks if b not in RUN and not _listed(b)]
    assert not unhandled, "run these blocks here, or list them with a reason: " + "; ".join(unhandled)
    listed = set(NOT_COMMANDS) | SYNOPSES | set(ELSEWHERE)
    assert listed <= {b.first for b in blocks}, "a listed block is no longer in the README"


# -- the checkout-like directory ----------------------------------------------------------------------------------

VCRPY_CASSETTE = """interactions:
- request:
    body: null
    headers:
      Accept: ['*/*']
    method: GET
    uri: http://127.0.0.1:8787/v0/batch/jobs?limit=1
  response:
    body:
      string: '[]'
    headers:
      Content-Type: [application/json]
    status: {code: 200, message: OK}
version: 1
"""


def checkout(tmp_path: Path) -> Path:
    """A directory laid out like the README's checkout, with the placeholders' files made."""
    work = tmp_path / "hume-contracts"
    work.mkdir()
    (work / "openapi").symlink_to(ROOT / "openapi")
    (work / ".venv").symlink_to(Path(sys.prefix))  # the README's `.venv`: the environment running this suite
    if SHARED.is_dir():
        (tmp_path / "shared").symlink_to(SHARED)
    cassettes = work / "tests" / "cassettes" / "test_api"
    cassettes.mkdir(parents=True)
    (cassettes / "test_get.yaml").write_text(VCRPY_CASSETTE, encoding="utf-8")
    recordings = work / "recordings"
    recordings.mkdir()
    for body in sorted((ROOT / "tests" / "data" / "corpus" / "recorded").glob("*.json"))[:2]:
        shutil.copy(body, recordings / body.name)
    (recordings / "cassette.yaml").write_text(VCRPY_CASSETTE, encoding="utf-8")
    v1_recordings(work)
    return work


def v1_recordings(work: Path) -> None:
    """The v1 placeholders: a saved body, a session transcript, a HAR of a session, and Hume's own v1 documents
    (which cannot be fetched here: ours stand in for them, so their diff is empty)."""
    (work / "response.json").write_text(json.dumps(v1_samples.audio_file_response()), encoding="utf-8")
    lines = [json.dumps(record) for record in v1_samples.har_records(v1_samples.audio_session())]
    (work / "session.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    har = v1_samples.har("/v1/expression/audio/realtime", v1_samples.audio_session())
    (work / "traffic.har").write_text(json.dumps(har), encoding="utf-8")
    for name, document in (("hume-openapi.json", "openapi.yaml"), ("hume-asyncapi.json", "asyncapi.yaml")):
        text = (ROOT / "openapi" / "v1" / document).read_text(encoding="utf-8")
        (work / name).write_text(json.dumps(yaml.safe_load(text)), encoding="utf-8")


def nightly_report(work: Path, env: dict[str, str]) -> None:
    """`nightly/report.json`: an earlier run's report with its coverage map (here, of the cassettes)."""
    (work / "nightly").mkdir()
    report = ["hume-contracts", "validate", "--coverage", "--format", "json", "--output", "nightly/report.json"]
    subprocess.run([*report, "tests/cassettes/"], cwd=work, env=env, check=True, capture_output=True, timeout=120)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    env.update(HUME_API_KEY=KEY, HOME=str(tmp_path / "home"), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


@dataclass
class Substitutions:
    mock_url: str
    proxy_port: int
    mock_port: int
    tmp: Path

    def apply(self, text: str) -> str:
        text = text.replace("http://127.0.0.1:8787", self.mock_url).replace("ws://127.0.0.1:8787", "ws://" + self.host)
        text = text.replace("https://staging.example.com", self.mock_url).replace("https://api.hume.ai", self.mock_url)
        text = text.replace("https://api.example.com", self.mock_url)  # the v1 fuzz's Hume-compatible server
        text = text.replace("127.0.0.1:8788", f"127.0.0.1:{self.proxy_port}").replace("8788", str(self.proxy_port))
        text = text.replace("--port 8787", f"--port {self.mock_port}").replace("/tmp/", f"{self.tmp}/")
        return text.replace("HUME_API_KEY=...", f"HUME_API_KEY={KEY}")

    @property
    def host(self) -> str:
        return self.mock_url.removeprefix("http://")


def shrunk(command: str) -> str:
    for start, extra in MORE_EXAMPLES_THAN_A_TEST.items():
        if command.startswith(start):
            head, hash_, comment = command.partition(" #")
            return f"{head.rstrip()} {shlex.join(extra)}" + (f"  #{comment}" if hash_ else "")
    return command


def expected_exits(command: str) -> tuple[int, ...]:
    code = next((code for start, code in EXIT.items() if command.startswith(start)), 0)
    return code if isinstance(code, tuple) else (code,)


def run_command(command: str, work: Path, env: dict[str, str], shown: str) -> None:
    done = subprocess.run(["bash", "-e", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    expected = expected_exits(shown)
    assert done.returncode in expected, (
        f"README command `{shown}` exited {done.returncode}, expected {expected}:\n{done.stdout[-3000:]}\n"
        f"{done.stderr[-3000:]}"
    )


def wait_for_port(port: int, process: subprocess.Popen[str], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited {process.returncode}: {process.communicate()}"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port} after {seconds} s")


def run_server(command: str, work: Path, env: dict[str, str], port: int, shown: str) -> None:
    """Start a foreground server as written, have it answer one request, stop it with Ctrl-C: exit 0."""
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command}"], cwd=work, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_for_port(port, process)
        answer = httpx.get(f"http://127.0.0.1:{port}/v0/batch/jobs", headers={"X-Hume-Api-Key": KEY}, timeout=30)
        assert answer.status_code == 200, answer.text
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, f"`{shown}` stopped with Ctrl-C exited {process.returncode}:\n{out}\n{err}"
    assert KEY not in out + err


def written_by(command: str) -> list[str]:
    """What a server command promises to leave behind (its --record, --report and --data-dir)."""
    words = shlex.split(command.partition(" #")[0])
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word in ("--record", "--report", "--data-dir")]


# -- .gitignore ---------------------------------------------------------------------------------------------------


def ignored(name: str, is_dir: bool) -> bool:
    """Whether the checkout's .gitignore ignores a top-level entry (the patterns this repository uses)."""
    for raw in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith(("#", "!")):
            continue
        dir_only = pattern.endswith("/")
        pattern = pattern.strip("/")
        if "/" in pattern or (dir_only and not is_dir):
            continue
        if fnmatch.fnmatchcase(name, pattern):
            return True
    return False


def untracked(work: Path, before: set[str]) -> list[str]:
    return [p.name for p in sorted(work.iterdir()) if p.name not in before and not ignored(p.name, p.is_dir())]


# -- running a block ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def background(command: str, work: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """A command the README ends with `&`: started as written, ended with its process group after the block."""
    process = subprocess.Popen(
        ["bash", "-c", command], cwd=work, env=env, start_new_session=True, stdout=subprocess.DEVNULL, text=True
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def needs_shared(block: Block) -> bool:
    return "../shared/" in block.text


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in RUN if b.lang == "sh"], ids=lambda b: f"README.md:{b.line}")
def test_readme_shell_block_runs(block: Block, tmp_path: Path) -> None:
    if needs_shared(block) and not SHARED.is_dir():
        pytest.skip(f"the block reads ../shared, which is not beside this checkout ({SHARED})")
    work = checkout(tmp_path)
    env = environment(tmp_path)
    if "nightly/report.json" in block.text:
        nightly_report(work, env)
    before = {p.name for p in work.iterdir()}
    with running_mock(MockConfig(api_key=KEY, **FAST)) as mock, contextlib.ExitStack() as stack:
        mock_port = free_port()
        # a block that starts its own mock on 8787 talks to that one; the others to the mock started here
        own_mock = re.search(r"^hume-contracts mock --port 8787 .*&$", block.text, re.M) is not None
        mock_url = f"http://127.0.0.1:{mock_port}" if own_mock else mock.base_url
        subs = Substitutions(mock_url, free_port(), mock_port, tmp_path)
        for index, shown in enumerate(commands(block)):
            if block == readme_blocks()[0]:  # the fresh-machine block: see fresh_machine and the test after it
                if index == 0:
                    fresh_machine(shown, work, env)
                continue
            command = subs.apply(shrunk(shown))
            if command.endswith("&"):
                process = stack.enter_context(background(command.rstrip("&"), work, env))
                wait_for_port(mock_port, process)  # the one addition: st must not start before the mock
            elif shown.startswith(SERVERS):
                port = subs.proxy_port if shown.split()[1] == "proxy" else subs.mock_port
                run_server(command, work, env, port, shown)
                missing = [path for path in written_by(command) if not (work / path).exists()]
                assert not missing, f"`{shown}` did not write {missing}"
            else:
                run_command(command, work, env, shown)
    assert not untracked(work, before), f"left untracked in the checkout: {untracked(work, before)}"


def fresh_machine(shown: str, work: Path, env: dict[str, str]) -> None:
    """The first command sets up a virtualenv, installs, and fuzzes. The set-up is what .ci/run did before this
    suite started (with the test extras, which include `.`): running it again would reinstall the package into the
    environment running this test. So the set-up is checked to be exactly the README's, `.venv` is this
    environment, and the fuzz runs as written (with fewer examples, see the module docstring)."""
    parts = [part.strip() for part in shown.split("&&")]
    assert parts == FRESH_MACHINE, parts
    run_command(shrunk(parts[-1]), work, env, parts[-1])


def test_the_readme_test_command_is_what_ci_runs() -> None:
    """The second fresh-machine command would run this suite inside itself: it must be exactly .ci/run's."""
    ci_command = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert commands(readme_blocks()[0])[1] == ci_command


@pytest.mark.parametrize("block", [b for b in RUN if b.lang == "python"], ids=lambda b: f"README.md:{b.line}")
def test_readme_python_block_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUME_API_KEY", KEY)
    with running_mock(MockConfig(api_key=KEY, **FAST)) as mock:
        code = Substitutions(mock.base_url, free_port(), free_port(), tmp_path).apply(block.text)
        namespace: dict[str, object] = {"__name__": "readme"}
        exec(compile(code, f"README.md:{block.line}", "exec"), namespace)  # noqa: S102 - the README's own code


# -- blocks that are not commands ---------------------------------------------------------------------------------


def options_of(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", text))


def test_the_validate_synopsis_names_real_options(tmp_path: Path) -> None:
    block = next(b for b in readme_blocks() if b.first in SYNOPSES)
    shown = options_of(block.text)
    help_text = subprocess.run(
        ["hume-contracts", "validate", "--help"], env=environment(tmp_path), capture_output=True, text=True, check=True
    ).stdout
    assert shown and shown <= options_of(help_text), shown - options_of(help_text)


def test_the_ci_recipe_commands(tmp_path: Path) -> None:
    """The workflow's `run:` steps: `pip install` from a Git URL cannot run offline (tests/test_packaging.py
    installs from a checkout and from a Git URL); `validate` runs on filled-in recordings; the nightly `fuzz` is
    rate-limited by design, so it takes its whole time budget: its options are checked against `fuzz --help`."""
    import yaml

    block = next(b for b in readme_blocks() if b.first == "# .github/workflows/hume-contract.yml")
    workflow = yaml.safe_load(block.text)
    steps = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    validate = [step for step in steps if step.startswith("hume-contracts validate")]
    fuzz = [step for step in steps if step.startswith("hume-contracts fuzz")]
    assert {step.split()[0] for step in steps} == {"pip", "hume-contracts"} and validate and fuzz, steps
    work, env = checkout(tmp_path), environment(tmp_path)
    before = {p.name for p in work.iterdir()}
    for step in validate:
        run_command(step, work, env, step)
    fuzz_help = subprocess.run(["hume-contracts", "fuzz", "--help"], env=env, capture_output=True, text=True).stdout
    for step in fuzz:
        assert options_of(step) <= options_of(fuzz_help), options_of(step) - options_of(fuzz_help)
    assert not untracked(work, before), untracked(work, before)
