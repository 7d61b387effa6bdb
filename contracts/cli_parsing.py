"""argparse as a careful tool uses it: no silent abbreviations, "did you mean", a usage error in one line.

- ``allow_abbrev=False`` on every parser (subparsers are made of the same class): ``--max-ex`` is an error,
  never quietly ``--max-examples``, so a later option that shares the prefix cannot change what a script means;
- a mistyped option, command or choice is named with the closest known one (``difflib``): the unknown option is
  looked up among the options of the command it was given to, not the top level's;
- a usage error is one line on stderr naming the command and where its help is, and exit status 2.

Python 3.14's ``suggest_on_error`` does part of this; the suite supports 3.11. Option names come from
argparse's ``_option_string_actions`` (stable since 2.7; groups share it with their parser).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import Any, NoReturn

EXIT_USAGE = 2
DISTRIBUTION = "hume-contracts"


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known name ``word`` most likely misspells, if one is close enough (dashes aside: every option has them)."""
    names = {name.lstrip("-"): name for name in known}
    matches = difflib.get_close_matches(word.lstrip("-"), list(names), n=1, cutoff=0.6)
    return names[matches[0]] if matches else None


def package_version() -> str:
    """The installed distribution's version (what ``--version`` prints)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


class CarefulParser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
        self._commands: argparse.Action | None = None
        self._words: list[str] = []  # what the last parse read, to find an unknown option behind another error

    def add_subparsers(self, **kwargs: Any) -> Any:
        self._commands = super().add_subparsers(**kwargs)
        return self._commands

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        self._words = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = self.chosen(parsed)
            command.error(command.unrecognized(extras))
        return parsed

    def chosen(self, parsed: argparse.Namespace) -> CarefulParser:
        """The (sub)command parser that read the arguments: the innermost one named in ``parsed``."""
        if self._commands is None or not isinstance(self._commands.choices, dict):
            return self
        sub = self._commands.choices.get(getattr(parsed, self._commands.dest, None))
        return sub.chosen(parsed) if isinstance(sub, CarefulParser) else self

    def unrecognized(self, extras: list[str]) -> str:
        first = extras[0]
        if not first.startswith("-"):
            return f"unrecognized argument {first!r}"
        match = closest(first.split("=", 1)[0], self._option_string_actions)
        return f"unrecognized option {first!r}" + (f"; did you mean {match}?" if match else "")

    def _unknown_option(self) -> str | None:
        """The first word of the last parse that looks like an option this parser does not know."""
        for word in self._words:
            if word == "--":
                return None
            name = word.split("=", 1)[0]
            looks_like_option = name.startswith("--") or (name.startswith("-") and name[1:2].isalpha())
            if looks_like_option and name not in self._option_string_actions:
                return word
        return None

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """An invalid choice (a command included) with the closest valid one."""
        if action.choices is not None and value not in action.choices:
            names = [str(choice) for choice in action.choices]
            match = closest(str(value), names)
            hint = f"; did you mean {match!r}?" if match else ""
            raise argparse.ArgumentError(action, f"invalid choice: {value!r}{hint} (choose from {', '.join(names)})")
        super()._check_value(action, value)

    def error(self, message: str) -> NoReturn:
        """One line: the command, what was wrong, where the help is; exit 2.

        A missing required option is often a mistyped one: then the mistyped one is named instead."""
        unknown = self._unknown_option()
        if unknown is not None and message.startswith("the following arguments are required"):
            message = self.unrecognized([unknown])
        line = " ".join(f"{self.prog}: error: {message}".split())  # argparse's messages may hold newlines
        self.exit(EXIT_USAGE, f"{line} (see '{self.prog} --help')\n")
