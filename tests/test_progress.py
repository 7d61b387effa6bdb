"""Live progress: on a terminal (a pseudo-terminal here) within a second of starting and every second or two
after; nothing of it when stderr is not a terminal or with --quiet."""

from __future__ import annotations

import contextlib
import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contracts.progress import LiveProgress, wanted

SCRIPT = Path(sys.executable).with_name("hume-contracts")
FUZZ = [str(SCRIPT), "fuzz", "--max-examples", "2", "--max-jobs", "1", "--time-budget", "8", "--only", "batch"]
FUZZ += ["--seed", "1", "--allow-incomplete"]  # a short budget may cut the run: its display is what is tested


class Terminal(io.StringIO):
    """What a terminal's stderr says of itself."""

    def isatty(self) -> bool:
        return True


def chunks_in_a_terminal(argv: list[str], cwd: Path, limit: float = 90.0) -> list[tuple[float, bytes]]:
    """Each chunk of output a terminal receives, with its time since the start."""
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, its stdout and stderr the terminal
        os.chdir(cwd)
        os.execv(argv[0], argv)
    chunks: list[tuple[float, bytes]] = []
    try:
        while time.monotonic() - started < limit:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child is gone: the terminal is closed
                break
            if not data:
                break
            chunks.append((time.monotonic() - started, data))
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    return chunks


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed next to this interpreter")
def test_fuzz_in_a_terminal_shows_progress_at_once_and_keeps_it_moving(tmp_path: Path) -> None:
    chunks = chunks_in_a_terminal(FUZZ, tmp_path)
    times = [at for at, _ in chunks]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    output = b"".join(data for _, data in chunks).decode("utf-8", "replace")
    # 1 s and 2 s are the promise (measured: first chunk at 0.8 s, widest gap 1.0 s); slack for a loaded machine
    assert times[0] < 2.5, times[:3]
    assert max(gaps) < 3.5, max(gaps)
    assert "s left" in output and "fuzz: starting" in output
    assert "no contract failures" in output  # the report still ends the run


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed next to this interpreter")
def test_not_a_terminal_stays_line_oriented(tmp_path: Path) -> None:
    done = subprocess.run(FUZZ, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout + done.stderr and "s left" not in done.stderr


def test_the_display_is_only_for_a_terminal_and_not_with_quiet() -> None:
    assert not wanted(io.StringIO()) and wanted(Terminal()) and not wanted(Terminal(), quiet=True)
    with LiveProgress("x", total=3, stream=io.StringIO()) as live:
        live.update("y", advance=1)  # nothing drawn, nothing raised
    terminal = Terminal()
    with LiveProgress("validate", total=2, stream=terminal) as live:
        live.update("one.json", advance=1)
        live.update("two.json", advance=1)
    assert "2/2" in terminal.getvalue()


def test_validate_of_a_directory_counts_files_on_a_terminal_only() -> None:
    corpus = Path(__file__).parent / "data" / "corpus"
    files = sum(1 for path in corpus.rglob("*") if path.is_file())
    for quiet, stderr in (([], Terminal()), (["--quiet"], Terminal()), ([], io.StringIO())):
        stdout = io.StringIO()
        _validate(corpus, quiet, stdout, stderr)
        shown = f"{files}/{files}" in stderr.getvalue()
        assert shown == (not quiet and isinstance(stderr, Terminal)), stderr.getvalue()[-300:]
        assert "validated" in stdout.getvalue()


def _validate(corpus: Path, extra: list[str], stdout: io.StringIO, stderr: io.StringIO) -> int:
    from contracts import validate_command
    from contracts.cli_parsing import CarefulParser

    parser = CarefulParser(prog="validate")
    validate_command.add_arguments(parser)
    return validate_command.run(parser.parse_args([str(corpus), *extra]), stdout, stderr)


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed next to this interpreter")
def test_the_proxy_in_a_terminal_shows_running_totals(tmp_path: Path) -> None:
    import signal
    import socket
    import urllib.request

    with socket.socket() as probe:  # a free loopback port; nothing listens on port 9 (the target)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(str(SCRIPT), [str(SCRIPT), "proxy", "--target", "http://127.0.0.1:9", "--port", str(port)])
    output = b""

    def read_for(seconds: float) -> None:
        nonlocal output
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    output += os.read(fd, 65536)
                except OSError:
                    return

    try:
        deadline = time.monotonic() + 60
        while b"proxy on http" not in output and time.monotonic() < deadline:
            read_for(0.5)
        with contextlib.suppress(OSError):  # a 502: the target does not answer
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v0/batch/jobs", timeout=10)
        read_for(1.5)
        os.kill(pid, signal.SIGINT)
        read_for(5)
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode("utf-8", "replace"))  # the terminal's codes
    assert "0 exchanges, 0 frames, 0 violations" in text and "1 answered by proxy" in text
    assert "answered by the proxy itself" in text  # the summary at stop, as before
