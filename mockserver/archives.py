"""Safe expansion of uploaded archives (.zip, .tar.gz): members are read into memory, never extracted.

An archive is refused as a whole, with one clear message, if any member is unsafe: a path that escapes
(``../``, absolute, drive letters), a link or device, more than ``MAX_MEMBERS`` members, or more bytes than
the caps allow. Sizes are measured while reading, with a limit; the sizes headers claim are not trusted.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO

MAX_MEMBERS = 100
MAX_TOTAL_BYTES = 32 * 1024 * 1024
MAX_RATIO = 100  # expanded bytes per archive byte, beyond a small floor
RATIO_FLOOR_BYTES = 1024 * 1024
CHUNK = 64 * 1024


class ArchiveError(Exception):
    """The archive is unsafe or unreadable; the message says why."""


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes


def expand(data: bytes, kind: str) -> list[Member]:
    """The regular-file members of a zip (``kind="zip"``) or gzip-compressed tar (``kind="gzip"``)."""
    budget = _Budget(limit=min(MAX_TOTAL_BYTES, max(RATIO_FLOOR_BYTES, MAX_RATIO * len(data))))
    try:
        return _expand_zip(data, budget) if kind == "zip" else _expand_tar(data, budget)
    except ArchiveError:
        raise
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as e:
        raise ArchiveError(f"unreadable archive: {e}") from None


class _Budget:
    """Counts expanded bytes across all members; refuses past ``limit`` (zip-bomb guard)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def read_all(self, stream: IO[bytes], name: str) -> bytes:
        parts = []
        while chunk := stream.read(CHUNK):
            self.used += len(chunk)
            if self.used > self.limit:
                raise ArchiveError(
                    f"archive expands to more than {self.limit} bytes (at member '{name}'): refused as a "
                    f"possible zip bomb (limit: {MAX_RATIO}x the archive size, at most {MAX_TOTAL_BYTES} bytes)"
                )
            parts.append(chunk)
        return b"".join(parts)


def safe_name(name: str) -> str:
    """The member name, normalised; ArchiveError if it could escape an extraction directory."""
    cleaned = name.replace("\\", "/")
    if cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        raise ArchiveError(f"archive member '{name}' has an absolute path: refused")
    if ".." in cleaned.split("/"):
        raise ArchiveError(f"archive member '{name}' escapes the archive with '..': refused")
    return posixpath.normpath(cleaned)


def _check_count(count: int) -> None:
    if count > MAX_MEMBERS:
        raise ArchiveError(f"archive has more than {MAX_MEMBERS} members: refused")


def _expand_zip(data: bytes, budget: _Budget) -> list[Member]:
    members = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        _check_count(len(infos))
        for info in infos:
            name = safe_name(info.filename)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise ArchiveError(f"archive member '{info.filename}' is a symbolic link: refused")
            if info.is_dir():
                continue
            with archive.open(info) as stream:
                members.append(Member(name, budget.read_all(stream, name)))
    return members


def _expand_tar(data: bytes, budget: _Budget) -> list[Member]:
    members = []
    # Names that are not UTF-8 get U+FFFD, not tarfile's default surrogate escapes, which no JSON answer can carry.
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz", encoding="utf-8", errors="replace") as archive:
        count = 0
        while (info := archive.next()) is not None:
            count += 1
            _check_count(count)
            name = safe_name(info.name)
            if info.issym() or info.islnk():
                raise ArchiveError(f"archive member '{info.name}' is a link: refused")
            if info.isdir():
                continue
            if not info.isfile():
                raise ArchiveError(f"archive member '{info.name}' is a device or special file: refused")
            if info.size > budget.limit - budget.used:  # refuse early; the read below is capped anyway
                raise ArchiveError(
                    f"archive member '{name}' claims {info.size} bytes, beyond the {budget.limit} byte limit: refused"
                )
            stream = archive.extractfile(info)
            members.append(Member(name, budget.read_all(stream, name) if stream else b""))
    return members
