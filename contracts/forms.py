"""Form bodies as they were on the wire: ``multipart/form-data`` parts and HAR's ``postData.params``.

Shared by the traffic checks (a recorded upload is judged by the parts it really carried) and the fuzz
recorder (which keeps an upload's parts, not its media bytes). Parsing is one linear pass over the body
and bounded in part count, so a hostile recording cannot make it quadratic or unbounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

MAX_PARTS = 10_000  # the API takes at most 100 files and one json part; far above, the body is refused

_BOUNDARY = re.compile(r"""boundary=(?:"([^"]+)"|([^;,\s]+))""", re.IGNORECASE)


@dataclass(frozen=True)
class FormPart:
    """One part of a form body; ``data`` is None when the recorder did not keep its content."""

    name: str
    data: bytes | None
    filename: str | None = None
    content_type: str | None = None


class FormProblem(ValueError):
    """A body that is not the form its content type says it is."""


def boundary_of(content_type: str) -> str | None:
    match = _BOUNDARY.search(content_type)
    return (match.group(1) or match.group(2)) if match else None


def parse_multipart(body: bytes, content_type: str) -> list[FormPart]:
    """The parts of a ``multipart/form-data`` body (RFC 7578); raises ``FormProblem`` when malformed."""
    boundary = boundary_of(content_type)
    if not boundary:
        raise FormProblem("multipart content type without a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter, MAX_PARTS + 2)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise FormProblem("no closing multipart boundary (truncated or not multipart)")
    if len(chunks) > MAX_PARTS + 2:
        raise FormProblem(f"more than {MAX_PARTS} multipart parts")
    return [_part(chunk, index) for index, chunk in enumerate(chunks[1:-1])]


def _part(chunk: bytes, index: int) -> FormPart:
    if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
        raise FormProblem(f"multipart part {index} is not framed by CRLF")
    head, separator, data = chunk[2:-2].partition(b"\r\n\r\n")
    if not separator:
        if chunk[2:-2].endswith(b"\r\n"):  # headers and an empty body
            head, data = chunk[2:-4], b""
        else:
            raise FormProblem(f"multipart part {index} has no blank line after its headers")
    headers = Message()
    for line in _header_text(head).split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon:
            raise FormProblem(f"multipart part {index} has a malformed header line")
        headers[name.strip()] = value.strip()
    if "content-disposition" not in headers:
        raise FormProblem(f"multipart part {index} has no Content-Disposition")
    disposition = Message()  # get_param parses the disposition's quoted parameters
    disposition["content-type"] = headers["content-disposition"]
    name = disposition.get_param("name")
    filename = disposition.get_param("filename")
    return FormPart(
        name=str(name) if name is not None else "",
        data=data,
        filename=str(filename) if filename is not None else None,
        content_type=headers.get("content-type"),
    )


def _header_text(head: bytes) -> str:
    """Part headers: UTF-8 (RFC 7578 allows it in names), else Latin-1, which reads any byte."""
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError:
        return head.decode("latin-1")
