"""The command line of a careful tool: no silent abbreviations, "did you mean", --version, NO_COLOR.

Every command's parser is built as the CLI builds it, so an option added later is covered by the same tests.
"""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from importlib import metadata

import pytest
from rich.console import Console

from contracts import validate_command
from contracts.cli import COMMANDS, build_parser, main
from contracts.cli_parsing import CarefulParser, closest
from mockserver import server as mock_server_command

COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")  # SGR colours only


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def long_options(command: str) -> list[str]:
    """Every long option of ``command``'s parser, as the CLI builds it."""
    parser = build_parser(command)
    sub = parser._commands.choices[command]  # type: ignore[attr-defined]
    return sorted(option for option in sub._option_string_actions if option.startswith("--") and option != "--help")


def abbreviations() -> list[tuple[str, str, str]]:
    """(command, option, a prefix of it that is no option of that command) for every long option."""
    cases = []
    for command in COMMANDS:
        options = long_options(command)
        for option in options:
            prefix = option[: max(4, len(option) - 2)]
            if prefix != option and prefix not in options:
                cases.append((command, option, prefix))
    return cases


@pytest.mark.parametrize(("command", "option", "prefix"), abbreviations())
def test_no_option_of_any_command_may_be_abbreviated(
    capsys: pytest.CaptureFixture[str], command: str, option: str, prefix: str
) -> None:
    code, out, err = run(capsys, command, prefix, "x")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"unrecognized option '{prefix}'; did you mean {option}?" in err, err
    assert f"(see 'hume-contracts {command} --help')" in err


def test_the_abbreviation_cases_cover_every_command() -> None:
    assert {command for command, _, _ in abbreviations()} == set(COMMANDS)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["fuzzz"], "invalid choice: 'fuzzz'; did you mean 'fuzz'?"),
        (["valdiate", "x.json"], "invalid choice: 'valdiate'; did you mean 'validate'?"),
        (["fuzz", "--max-exmaples", "3"], "unrecognized option '--max-exmaples'; did you mean --max-examples?"),
        (["fuzz", "--only", "strem"], "invalid choice: 'strem'; did you mean 'stream'?"),
        (["--verison"], "unrecognized option '--verison'; did you mean --version?"),
        # a missing required option is reported as the mistyped option it most likely is
        (["proxy", "--targt", "http://127.0.0.1:9"], "unrecognized option '--targt'; did you mean --target?"),
        (["validate", "--disabel=schema-type", "x.json"], "unrecognized option '--disabel=schema-type'; did you"),
    ],
)
def test_a_mistyped_word_is_one_line_with_the_closest_known_one(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and expected in err, err


def test_nothing_close_is_suggested_when_nothing_is_close(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "zzzzzz")
    assert code == 2 and "did you mean" not in err and "choose from fuzz, validate" in err
    code, _, err = run(capsys, "fuzz", "--qqqqqq")
    assert code == 2 and "did you mean" not in err and "unrecognized option '--qqqqqq'" in err


def test_a_stray_argument_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fuzz", "stray")
    assert code == 2 and "unrecognized argument 'stray'" in err


def test_closest_compares_names_without_their_dashes() -> None:
    assert closest("--lsit", ["--write", "--check", "--rebase"]) is None  # every option starts with "--"
    assert closest("--rebsae", ["--write", "--check", "--rebase"]) == "--rebase"


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--version")
    assert code == 0 and err == "" and out == f"hume-contracts {metadata.version('hume-contracts')}\n"


def test_the_mock_entry_point_refuses_abbreviations_too(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        mock_server_command.main(["--por", "0"])
    assert exited.value.code == 2 and "unrecognized arguments: --por" in capsys.readouterr().err


def test_the_validate_entry_point_is_careful(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        validate_command.main(["--max-file", "1", "x.json"])
    assert exited.value.code == 2 and "did you mean --max-file-mib?" in capsys.readouterr().err
    assert isinstance(build_parser("validate")._commands.choices["validate"], CarefulParser)  # type: ignore[attr-defined]


# -- NO_COLOR ----------------------------------------------------------------------------------------------


def test_rich_consoles_drop_colour_under_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress and tables come from rich (issue 20): on a colour terminal, NO_COLOR must still win."""
    monkeypatch.setenv("NO_COLOR", "1")
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    console.print("[red]failed[/red] [green]passed[/green]")
    assert not COLOUR.search(console.file.getvalue())  # type: ignore[attr-defined]
    monkeypatch.delenv("NO_COLOR")
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    console.print("[red]failed[/red]")
    assert COLOUR.search(console.file.getvalue())  # type: ignore[attr-defined]  # the pattern sees colour


def in_a_terminal(argv: list[str], env: dict[str, str], timeout: float = 120.0) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdout and stderr (where colour would be printed)."""
    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "contracts.cli", *argv],
        stdout=follower,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(follower)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the terminal closed with the child
                break
            if not data:
                break
            chunks.append(data)
        elif child.poll() is not None:
            break
    os.close(leader)
    code = child.wait(timeout=10)
    return code, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["fuzz", "--help"],
        ["fuzzz"],
        ["fuzz", "--only", "stream", "--max-examples", "2", "--time-budget", "20", "--seed", "1"],
    ],
)
def test_no_colour_reaches_a_terminal_under_no_color(argv: list[str]) -> None:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm-256color"}
    env.pop("FORCE_COLOR", None)
    code, output = in_a_terminal(argv, env)
    assert code in (0, 1, 2) and output.strip(), output
    assert not COLOUR.search(output), repr(output[:500])
