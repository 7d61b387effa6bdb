"""Results files shared by several benchmarks: each bench rewrites only its own section of the file."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, heading: str, body: str) -> None:
    """Write ``heading`` and ``body`` into the markdown file ``path``.

    The section that starts with the line ``heading`` (up to the next top-level ``# `` heading) is replaced where
    it exists, otherwise appended: two benches that share a file keep each other's figures.
    """
    old = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    section = [heading, "", *body.strip("\n").splitlines(), ""]
    if heading in old:
        start = old.index(heading)
        end = next((i for i in range(start + 1, len(old)) if old[i].startswith("# ")), len(old))
        lines = old[:start] + section + old[end:]
    else:
        lines = old + ([""] if old and old[-1] else []) + section
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
