"""``--report DIR`` of ``validate``, ``coverage`` and ``diff``: every report format a command has, side by side.

The files are named as ``fuzz --report`` and ``proxy --report`` name theirs, and each holds what ``--format X
--output FILE`` writes: the commands render with their own renderers and hand the texts here. Imports nothing
heavy: ``validate --help`` loads this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from contracts.safe_text import printable

FILE_NAMES = {"json": "report.json", "junit": "junit.xml", "markdown": "report.md", "html": "report.html"}


class UnwritableReport(Exception):
    """The directory, or a file in it, could not be written; the message is the one line to print."""


def write_report_dir(directory: Path, renderings: Mapping[str, str]) -> list[Path]:
    """Write each rendering (a key of ``FILE_NAMES`` -> its text) into ``directory``, made if missing, and return
    the files written. Stops at the first that cannot be written: ``UnwritableReport`` names it and why."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # exist_ok covers a directory only: something else has the name
        raise UnwritableReport(f"cannot write the report to {printable(str(directory))}: not a directory") from None
    except OSError as error:
        raise UnwritableReport(f"cannot write the report to {printable(str(directory))}: {_reason(error)}") from None
    written = []
    for report_format, text in renderings.items():
        path = directory / FILE_NAMES[report_format]
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            raise UnwritableReport(f"cannot write {printable(str(path))}: {_reason(error)}") from None
        written.append(path)
    return written


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
