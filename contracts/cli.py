"""`hume-contracts`: the command line of the suite.

Exit codes, for every command: 0 everything conforms, 1 a contract violation was found, 2 usage error or
unreadable input / unreachable target.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from contracts.cli_parsing import CarefulParser, package_version

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
Contract testing for Hume AI's Expression Measurement API (batch REST and stream WebSocket).

The published OpenAPI document is broken; this suite ships a repaired contract (an OpenAPI Overlay with
the evidence for every repair), a stream contract (AsyncAPI), validators that explain themselves, a
faithful mock server, and a property-based fuzzer.

exit codes: 0 conforms, 1 contract violations found, 2 usage error or unreadable input/target
"""

# name -> (module, one-line help). Each module exposes add_arguments(parser) and run(args) -> int.
COMMANDS: dict[str, tuple[str, str]] = {
    "fuzz": (
        "contracts.fuzz_command",
        "fuzz a server (default: the embedded mock) and report contract failures",
    ),
    "validate": (
        "contracts.validate_command",
        "validate saved responses, cassettes, HAR files and stream transcripts",
    ),
    "coverage": (
        "contracts.coverage_command",
        "merge the contract coverage of several runs and name what is not covered",
    ),
    "mock": (
        "mockserver.server",
        "run the reference mock server of the API (HTTP and WebSocket on one port)",
    ),
    "proxy": (
        "contracts.proxy_command",
        "a live validating proxy: checks every response and stream frame your app exchanges",
    ),
    "spec": (
        "contracts.spec_command",
        "print the repaired contract, the upstream one, or the list of repairs; rebase them on a new upstream",
    ),
    "diff": (
        "contracts.diff_command",
        "compare two contract versions and say whom each change breaks",
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (each command's imports cost a startup to itself)."""
    parser = CarefulParser(
        prog="hume-contracts", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        if name != command:  # listed in the menu by its one-line help, not imported
            subparsers.add_parser(name, help=help_text, add_help=False)
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # a part not installed in this build: leave it out of the menu
            continue
        sub = subparsers.add_parser(
            name,
            help=help_text,
            description=(module.__doc__ or help_text).strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` (its first word that is one), if any."""
    return next((word for word in argv if word in COMMANDS), None) if argv else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command(argv[:1]))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on usage errors and 0 on --help
        return int(exit_.code or 0)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `hume-contracts ... | head` is not an error
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
