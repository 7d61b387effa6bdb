"""Readers of recorded traffic: turn files into items to check, one generator per file.

Every reader yields, lazily and in file order, any of:

- ``BodyItem``: one JSON body (a whole-file body, or one frame of a stream transcript);
- ``HttpInteraction``: one recorded HTTP request/response pair (HAR entry, VCR cassette interaction,
  WireMock stub), its bodies kept as recorded text and parsed only when the check needs them;
- ``ReadError``: a place in the input that could not be read, naming the file, the place and what was
  expected. Reading goes on after it: one bad line or entry does not stop the rest;
- ``Note``: something skipped on purpose (shown in verbose mode only).

Input formats, chosen by extension (``read_path``):

- ``.json``: a HAR document (top-level ``log.entries``), a WireMock stub-mappings file (top-level
  ``mappings`` list, or one mapping with ``request`` and ``response``), or else one body;
- ``.jsonl`` / ``.ndjson``: a stream transcript, one frame per line (see ``frame_direction``);
- ``.har``: HAR 1.2; ``.yaml`` / ``.yml``: a schemathesis VCR cassette (``--report-vcr-path``) or a vcrpy
  cassette (``interactions``; also as ``.json``, vcrpy's JSON serializer: see ``contracts.vcrpy_cassettes``).

Hostile input is refused with a ``ReadError``, never a traceback: files over a size cap, nesting
deeper than ``MAX_DEPTH``, truncated or non-JSON text, non-UTF-8 bytes, YAML that is not a cassette.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import orjson

from contracts import safe_yaml
from contracts.forms import FormPart

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
UTF8_BOM = b"\xef\xbb\xbf"
# The deepest real body (predictions) nests 13 levels; validators recurse per level, so a bound far
# above real data and far below Python's recursion limit keeps hostile input harmless.
MAX_DEPTH = 64

JSON_EXTENSIONS = (".json",)
TRANSCRIPT_EXTENSIONS = (".jsonl", ".ndjson")
HAR_EXTENSIONS = (".har",)
CASSETTE_EXTENSIONS = (".yaml", ".yml")
KNOWN_EXTENSIONS = JSON_EXTENSIONS + TRANSCRIPT_EXTENSIONS + HAR_EXTENSIONS + CASSETTE_EXTENSIONS

# Keys only a client->server stream payload has (``job_details: true`` is checked separately: a server
# message carries ``job_details`` as an object).
SENT_FRAME_KEYS = frozenset({"data", "models", "raw_text", "reset_stream"})


@dataclass(frozen=True)
class _Remark:
    """A message about a place in the input. ``location`` is "" when it concerns the whole file."""

    source: str
    location: str
    message: str

    def describe(self) -> str:
        where = f"{self.source}: {self.location}" if self.location else self.source
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ReadError(_Remark):
    """A place in the input that could not be read."""


@dataclass(frozen=True)
class Note(_Remark):
    """Something skipped on purpose (a file with an unknown extension, a stub with a regex URL)."""


@dataclass(frozen=True)
class BodyItem:
    """One JSON body to check; ``kind`` is a hint (``stream-payload`` for a sent frame) or None."""

    source: str
    location: str
    kind: str | None
    body: Any


@dataclass(frozen=True)
class HttpMessage:
    """One side of an HTTP interaction, its body as recorded (``text`` None: no body)."""

    content_type: str | None
    text: str | None = None
    is_base64: bool = False
    status: int | None = None  # responses only
    truncated: bool = False  # the recorder kept only a prefix of the body
    form: tuple[FormPart, ...] | None = None  # a form recorded as its fields (HAR ``postData.params``)
    raw: bytes | None = None  # the body as bytes, when the recording holds bytes (vcrpy's ``!!binary``)

    @property
    def has_body(self) -> bool:
        return bool(self.text) or bool(self.form) or bool(self.raw)

    def body_bytes(self) -> bytes:
        """The body's bytes (decoded from base64 when so recorded); raises ``ValueError`` if undecodable."""
        if self.raw is not None:
            return self.raw
        if not self.text:
            return b""
        if self.is_base64:
            try:
                return base64.b64decode(self.text, validate=False)
            except (binascii.Error, ValueError) as error:
                raise ValueError(f"body is not valid base64 ({error})") from None
        return self.text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class HttpInteraction:
    """One recorded request/response pair; ``path`` has no host and no query."""

    source: str
    location: str  # "entries[3]", "http_interactions[0]", "mappings[2]"
    method: str
    path: str
    request: HttpMessage | None = None
    response: HttpMessage | None = None
    query: str = ""  # the raw query string, as sent
    origin: RecordedOrigin | None = None  # what the recorder says produced the request (schemathesis)


@dataclass(frozen=True)
class RecordedOrigin:
    """How a fuzzer labelled a recorded request: its generation mode and phase, for reports only.

    A "negative" label is not evidence that the request breaks the contract (a case generated as
    negative can be valid on the wire): requests are judged by their bytes.
    """

    mode: str  # "positive" | "negative"
    phase: str = ""
    description: str = ""

    def describe(self) -> str:
        text = f"generated as a {self.mode} case"
        if self.phase:
            text += f" in schemathesis's {self.phase} phase"
        return text + (f" ({self.description})" if self.description else "")


@dataclass(frozen=True)
class WsFrame:
    """One recorded WebSocket message of a session judged as a whole (see ``SessionItem``)."""

    direction: Literal["sent", "received"]
    location: str
    opcode: int = 1  # 1 text, 2 binary, 8 close
    message: Any = None  # a text frame's JSON
    size: int = 0  # a binary frame's length in bytes
    head: bytes = b""  # its first bytes (what a media check needs: a JPEG's magic)
    close_code: int | None = None


@dataclass(frozen=True)
class SessionItem:
    """One recorded WebSocket session of an API whose sessions are judged as a whole (``contracts.apis``).

    ``frames`` is read lazily, in order, and only once: the session's file stays open until it is consumed.
    """

    source: str
    location: str
    api: str  # the registry's name of the API version
    path: str | None  # the channel's path when the recording has it (HAR), else None
    frames: Iterator[WsFrame | ReadError]


Item = BodyItem | HttpInteraction | SessionItem | ReadError | Note


@dataclass(frozen=True)
class ReadOptions:
    max_bytes: int = DEFAULT_MAX_BYTES
    force_kind: str | None = None  # --kind: treat every .json file as one body of this kind


class JsonProblem(ValueError):
    """Text that is not a usable JSON document; the message says where and why."""


# ---------------------------------------------------------------------------------------------- JSON


def parse_json(text: str | bytes) -> Any:
    """Parse one JSON document, bounded in nesting depth; raises ``JsonProblem`` with line and column.

    Bytes go to orjson as they are (it checks UTF-8 itself): decoding first would hold the text twice.
    """
    document: str | bytes | memoryview = text
    if isinstance(text, bytes):
        wide = _wide_text(text)
        if wide:
            raise JsonProblem(wide)
        document = memoryview(text)[len(UTF8_BOM) :] if text.startswith(UTF8_BOM) else text
    try:
        value = orjson.loads(document)
    except json.JSONDecodeError as error:
        if "memory" in error.msg.lower():  # orjson's way of saying MemoryError: not a fault of the body
            raise MemoryError(f"not enough memory to parse a {len(text)}-byte JSON body") from None
        if isinstance(text, bytes):
            text = decode_utf8(text)  # names a byte that is not UTF-8 by its offset and line
        if not text.strip():
            raise JsonProblem("empty, expected a JSON value") from None
        reason = "nested too deeply" if "depth" in error.msg else error.msg
        raise JsonProblem(f"not valid JSON at line {error.lineno} column {error.colno}: {reason}") from None
    if nesting_depth(value) > MAX_DEPTH:
        raise JsonProblem(f"nested more than {MAX_DEPTH} levels deep (no body of the API nests near that)")
    return value


def decode_utf8(data: bytes) -> str:
    """UTF-8 text (a leading BOM dropped); raises ``JsonProblem`` naming the first bad byte."""
    wide = _wide_text(data)
    if wide:
        raise JsonProblem(wide)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise JsonProblem(
            f"not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start} (line {line})"
        ) from None


def _wide_text(data: bytes) -> str | None:
    """What to say of UTF-16 or UTF-32 text (see ``_wide_encoding``); None for any other."""
    wide = _wide_encoding(data)
    return f"{wide} text, expected UTF-8 (convert it, e.g. with iconv -f {wide} -t UTF-8)" if wide else None


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16 or UTF-32, told by a byte order mark or, without one, by the zero bytes of ASCII text
    (JSON and YAML open with ASCII), as RFC 4627 section 3 does; else None."""
    for mark, name in ((b"\xff\xfe\x00\x00", "UTF-32LE"), (b"\x00\x00\xfe\xff", "UTF-32BE")):
        if data.startswith(mark):
            return name
    for mark, name in ((b"\xff\xfe", "UTF-16LE"), (b"\xfe\xff", "UTF-16BE")):
        if data.startswith(mark):
            return name
    head = data[:4]
    if len(head) == 4:
        zeros = tuple(byte == 0 for byte in head)
        patterns = {
            (False, True, True, True): "UTF-32LE",
            (True, True, True, False): "UTF-32BE",
            (False, True, False, True): "UTF-16LE",
            (True, False, True, False): "UTF-16BE",
        }
        return patterns.get(zeros)
    return None


def nesting_depth(value: Any) -> int:
    """Deepest container nesting, computed without recursion (so hostile depth cannot overflow)."""
    deepest = 0
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = list(node.values()) if isinstance(node, dict) else node
        stack.extend(zip(_containers(children), itertools.repeat(depth + 1)))
    return deepest


_CONTAINER_TYPES = frozenset({dict, list})
_PLAIN_TYPES = frozenset({dict, list, str, int, float, bool, type(None), bytes})


def _containers(children: list[Any]) -> Iterator[Any]:
    """The dicts and lists among ``children``, picked at C speed when every child is of a parser's plain type
    (a flat array of 32 million numbers took 40 s with a Python test per child)."""
    if _PLAIN_TYPES.issuperset(map(type, children)):
        return itertools.compress(children, map(_CONTAINER_TYPES.__contains__, map(type, children)))
    return (child for child in children if isinstance(child, dict | list))


# --------------------------------------------------------------------------------------------- files


def read_path(path: Path, source: str, options: ReadOptions) -> Iterator[Item]:
    """Items of one file, by its extension (an unknown extension is read as JSON)."""
    suffix = path.suffix.lower()
    if suffix in TRANSCRIPT_EXTENSIONS:
        yield from read_transcript(path, source, options)
    elif suffix in HAR_EXTENSIONS:
        yield from _read_loaded(path, source, options, _parse_json_file, read_har)
    elif suffix in CASSETTE_EXTENSIONS:
        yield from _read_loaded(path, source, options, _parse_yaml_file, read_cassette)
    else:
        yield from _read_loaded(path, source, options, _parse_json_file, _dispatch_json_document)


def _read_loaded(path: Path, source: str, options: ReadOptions, parse: Any, interpret: Any) -> Iterator[Item]:
    """Read a whole-document file, parse it, then interpret the document (errors become ReadErrors)."""
    try:
        document = parse(read_capped(path, options.max_bytes))  # the bytes are dropped once parsed
    except JsonProblem as problem:
        yield ReadError(source, "", str(problem))
        return
    except OSError as error:
        yield ReadError(source, "", f"cannot read: {error.strerror or error}")
        return
    if isinstance(document, _WithLoneSurrogates):
        yield from _refusing_lone_surrogates(interpret(document.document, source, options))
        return
    yield from interpret(document, source, options)


def read_capped(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; refuses (``JsonProblem``) a file over ``max_bytes`` before reading it."""
    size = path.stat().st_size
    if size > max_bytes:
        raise JsonProblem(f"file is {size} bytes, over the {max_bytes}-byte limit (see --max-file-mib)")
    with path.open("rb") as handle:
        data = handle.read(size + 1)  # a buffer of the file's size: one of max_bytes costs a copy to shrink
        if len(data) > size:  # the file grew while we looked
            data += handle.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise JsonProblem(f"file is over the {max_bytes}-byte limit (see --max-file-mib)")
    return data


def read_regular_file(path: Path, limit: int, what: str = "this input") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ``JsonProblem`` saying why not otherwise.

    Opened without blocking and checked on the open descriptor: a FIFO would block the read forever, and
    ``/dev/zero`` has no size to check and no end.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise JsonProblem(f"cannot read: {error.strerror or error}") from None
    with os.fdopen(fd, "rb") as file:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise JsonProblem(f"not a regular file ({what} is read from a file)")
            if info.st_size > limit:
                raise JsonProblem(f"{info.st_size} bytes, over the {limit}-byte limit for {what}")
            data = file.read(limit + 1)
        except OSError as error:
            raise JsonProblem(f"cannot read: {error.strerror or error}") from None
    if len(data) > limit:  # it grew while being read
        raise JsonProblem(f"over the {limit}-byte limit for {what}")
    return data


def _parse_json_file(data: bytes) -> Any:
    try:
        return parse_json(data)
    except JsonProblem:
        lenient = _parse_allowing_lone_surrogates(data)
        if lenient is None:
            raise
        return lenient


# ------------------------------------------------------------------------------ lone surrogates

# A JSON escape of half a UTF-16 pair ("\ud800") is JSON syntax but no Unicode text: orjson refuses the
# document. In a HAR or stub file, only the entries that hold one are unreadable; the rest are checked.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class _WithLoneSurrogates:
    """A document that parses only when lone surrogates are let through."""

    document: Any


def _parse_allowing_lone_surrogates(data: bytes) -> _WithLoneSurrogates | None:
    """The document as the standard parser reads it (lone surrogates kept), when that is orjson's only
    objection to it; None otherwise (the strict error stands)."""
    if not _SURROGATE_ESCAPE.search(data):
        return None
    try:
        document = json.loads(decode_utf8(data), parse_constant=_refuse, parse_float=_finite_float)
    except (ValueError, RecursionError, JsonProblem):
        return None
    if nesting_depth(document) > MAX_DEPTH:
        return None
    return _WithLoneSurrogates(document)


def _refuse(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is beyond a double")
    return value


def _refusing_lone_surrogates(items: Iterator[Item]) -> Iterator[Item]:
    for item in items:
        if isinstance(item, BodyItem | HttpInteraction) and _holds_lone_surrogate(item):
            yield ReadError(
                item.source, item.location, "holds a lone surrogate (a \\uD800-\\uDFFF escape), not Unicode text"
            )
        else:
            yield item


def _holds_lone_surrogate(item: BodyItem | HttpInteraction) -> bool:
    if isinstance(item, BodyItem):
        values: list[Any] = [item.body]
    else:
        messages = [message for message in (item.request, item.response) if message is not None]
        values = [item.method, item.path] + [[m.content_type, m.text] for m in messages]
    while values:  # no recursion: the depth is bounded, but a walk need not rely on it
        value = values.pop()
        if isinstance(value, str):
            if _LONE_SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            values.extend(value.keys())
            values.extend(value.values())
        elif isinstance(value, list):
            values.extend(value)
    return False


def _parse_yaml_file(data: bytes) -> Any:
    """A YAML document, loaded by the suite's one safe loader (``contracts.safe_yaml``)."""
    text = decode_utf8(data)
    if not text.strip():
        raise JsonProblem("empty, expected a VCR cassette (YAML with http_interactions)")
    try:
        return safe_yaml.load(text, max_depth=MAX_DEPTH)
    except safe_yaml.YamlProblem as problem:
        raise JsonProblem(str(problem)) from None


def _dispatch_json_document(document: Any, source: str, options: ReadOptions) -> Iterator[Item]:
    """A .json file is a HAR, a WireMock mappings file, or one body (always one body under --kind)."""
    from contracts.vcrpy_cassettes import is_vcrpy_cassette, read_vcrpy

    if options.force_kind is None and _is_har(document):
        yield from read_har(document, source, options)
    elif options.force_kind is None and is_vcrpy_cassette(document):
        yield from read_vcrpy(document, source, options)
    elif options.force_kind is None and _is_wiremock(document):
        yield from read_wiremock(document, source, options)
    else:
        yield BodyItem(source, "", options.force_kind, document)


def _is_har(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("log"), dict) and "entries" in document["log"]


def _is_wiremock(document: Any) -> bool:
    if not isinstance(document, dict):
        return False
    single = isinstance(document.get("request"), dict) and isinstance(document.get("response"), dict)
    return isinstance(document.get("mappings"), list) or single


# ------------------------------------------------------------------------------------ stream transcript


def read_transcript(path: Path, source: str, options: ReadOptions) -> Iterator[Item]:
    """One item per non-blank line of a JSONL stream transcript, read line by line (never whole)."""
    try:
        size = path.stat().st_size
        if size > options.max_bytes:
            yield ReadError(source, "", f"file is {size} bytes, over the {options.max_bytes}-byte limit")
            return
        handle = path.open("rb")
    except OSError as error:
        yield ReadError(source, "", f"cannot read: {error.strerror or error}")
        return
    with handle:
        wide = _wide_text(handle.read(4))
        if wide:
            yield ReadError(source, "", wide)
            return
        handle.seek(0)
        recorded_path = _transcript_header_path(handle)
        if recorded_path is not None:
            yield from _recorded_session(handle, source, recorded_path)
            return
        session_api = _transcript_session_api(handle)
        if session_api is not None:
            yield SessionItem(source, "", session_api, None, _transcript_frames(handle, source, session_api))
            return
        seen_any = False
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                seen_any = True
                yield _transcript_item(raw, source, number)
    if not seen_any:
        yield ReadError(source, "", "empty, expected one JSON stream frame per line")


TRANSCRIPT_HEADER = "_session"  # a transcript's first line naming its session: {"_session": {"url", "headers"}}


def is_transcript_header(line: Any) -> bool:
    """The first line of a recorded session's transcript (``contracts.session_recording``)."""
    header = line.get(TRANSCRIPT_HEADER) if isinstance(line, dict) and len(line) == 1 else None
    return isinstance(header, dict) and isinstance(header.get("url"), str)


def _first_line(handle: Any) -> Any:
    """A transcript's first non-blank line, parsed (None when it is not JSON); the handle is left at the start."""
    try:
        first = next((raw for raw in handle if raw.strip()), b"")
        line = parse_json(first.rstrip(b"\r\n")) if first else None
    except JsonProblem:
        line = None
    finally:
        handle.seek(0)
    return line


def _transcript_header_path(handle: Any) -> str | None:
    """The path of the session a transcript's header line names; None without one. The handle is left at
    the start."""
    line = _first_line(handle)
    if not is_transcript_header(line):
        return None
    try:
        return unquote(urlsplit(line[TRANSCRIPT_HEADER]["url"]).path)
    except ValueError:  # not a URL (a bracket left open): a session of no known endpoint, read frame by frame
        return ""


def _recorded_session(handle: Any, source: str, path: str) -> Iterator[Item]:
    """A transcript with a header: judged as a session by the API of its path (v1), else frame by frame (v0)."""
    from contracts import apis

    api = apis.session_api_for_path(path)
    if api is not None:
        yield SessionItem(source, "", api.name, path, _transcript_frames(handle, source, api.name))
        return
    for number, raw in enumerate(handle, start=1):
        if raw.strip():
            yield from _recorded_frame_body(raw, source, number)


def _recorded_frame_body(raw: bytes, source: str, number: int) -> Iterator[Item]:
    """One frame record of a v0 session as a body to check; close and control frames carry none."""
    where = f"line {number}"
    try:
        line = parse_json(raw.rstrip(b"\r\n"))
        if is_transcript_header(line):
            return
        if not is_ws_frame_record(line):
            raise JsonProblem('expected a frame record {"type": "send"|"receive", "opcode", "data"}')
        if line.get("opcode") == 2:
            raise JsonProblem("a binary frame, but this stream's frames are JSON text")
        if line.get("opcode") != 1:
            return
        data = line.get("data")
        if not isinstance(data, str):
            raise JsonProblem("expected a text frame's data as a string")
        body = parse_json(data.encode("utf-8", "surrogatepass"))
    except JsonProblem as problem:
        yield ReadError(source, where, str(problem).replace("at line 1 column", "at column"))
        return
    direction = "sent" if line["type"] == "send" else "received"
    kind = "stream-payload" if direction == "sent" else "stream-message"
    yield BodyItem(source, f"{where} ({direction})", kind, body)


def _transcript_session_api(handle: Any) -> str | None:
    """The API whose session a transcript records, judged as a whole (its first line says: WebSocket frames
    in the HAR ``_webSocketMessages`` form, or a bare message of an API with sessions); None for a v0
    transcript. The handle is left at the start."""
    from contracts import apis

    line = _first_line(handle)
    if is_ws_frame_record(line):
        return apis.default_session_api().name
    api = apis.api_for_message(line)
    return api.name if api is not None else None


def is_ws_frame_record(value: Any) -> bool:
    """A HAR ``_webSocketMessages`` entry: ``{"type": "send"|"receive", "opcode": ..., "data": ...}``."""
    return isinstance(value, dict) and value.get("type") in ("send", "receive") and "opcode" in value


def _transcript_frames(handle: Any, source: str, api_name: str) -> Iterator[WsFrame | ReadError]:
    from contracts import apis

    direction_of = apis.get_api(api_name).adapter().message_direction
    for number, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        where = f"line {number}"
        try:
            line = parse_json(raw.rstrip(b"\r\n"))
            if is_transcript_header(line):
                continue
            frame = ws_frame(line, where) if is_ws_frame_record(line) else _bare_frame(line, where, direction_of)
        except JsonProblem as problem:
            yield ReadError(source, where, str(problem).replace("at line 1 column", "at column"))
            continue
        if frame is not None:
            yield frame


def _bare_frame(message: Any, where: str, direction_of: Any) -> WsFrame:
    if not isinstance(message, dict):
        raise JsonProblem(
            f"expected a JSON object (a message, or a WebSocket frame record), found {_json_type(message)}"
        )
    direction = direction_of(message)
    return WsFrame(direction, f"{where} ({direction})", 1, message)


_FRAME_HEAD = 16


def ws_frame(record: dict[str, Any], where: str) -> WsFrame | None:
    """A HAR ``_webSocketMessages`` entry as a frame: text parsed as JSON, binary decoded from base64 (its
    size and first bytes kept), close with its code; None for a control frame (ping, pong)."""
    direction: Literal["sent", "received"] = "sent" if record.get("type") == "send" else "received"
    opcode = record.get("opcode", 1)
    located = f"{where} ({direction})"
    if opcode == 1:
        data = record.get("data")
        if not isinstance(data, str):
            raise JsonProblem("expected a text frame's data as a string")
        return WsFrame(direction, located, 1, parse_json(data.encode("utf-8", "surrogatepass")))
    if opcode == 2:
        return _binary_frame(record.get("data"), direction, located)
    if opcode == 8:
        code = record.get("code")
        return WsFrame(direction, located, 8, close_code=code if isinstance(code, int) else None)
    if opcode in (9, 10):
        return None
    raise JsonProblem(f"expected opcode 1 (text), 2 (binary) or 8 (close), found {str(opcode)[:20]}")


def _binary_frame(data: Any, direction: Literal["sent", "received"], where: str) -> WsFrame:
    if not isinstance(data, str):
        raise JsonProblem("expected a binary frame's data as a base64 string")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise JsonProblem("a binary frame's data is not valid base64") from None
    return WsFrame(direction, where, 2, size=len(raw), head=raw[:_FRAME_HEAD])


def _transcript_item(raw: bytes, source: str, number: int) -> Item:
    try:
        line = parse_json(raw.rstrip(b"\r\n"))  # with its line break, an error at its end was "line 2"
    except JsonProblem as problem:
        return ReadError(source, f"line {number}", str(problem).replace("at line 1 column", "at column"))
    try:
        direction, frame = split_transcript_line(line)
    except JsonProblem as problem:
        return ReadError(source, f"line {number}", str(problem))
    kind = "stream-payload" if direction == "sent" else "stream-message"
    return BodyItem(source, f"line {number} ({direction})", kind, frame)


def split_transcript_line(line: Any) -> tuple[Literal["sent", "received"], Any]:
    """(direction, frame) of one transcript line: an envelope ``{"direction", "frame"}`` or a bare frame.

    A ``frame`` given as a string is the raw text frame and is parsed as JSON.
    """
    if not isinstance(line, dict):
        raise JsonProblem(f"expected a JSON object (a frame, or {{direction, frame}}), found {_json_type(line)}")
    if "frame" not in line:
        return frame_direction(line), line
    frame = line["frame"]
    if isinstance(frame, str):
        frame = parse_json(frame)
    direction = line.get("direction")
    if direction is None:
        return frame_direction(frame), frame
    if direction not in ("sent", "received"):
        raise JsonProblem(f'expected "direction" to be "sent" or "received", found {json.dumps(direction)[:40]}')
    return direction, frame


def frame_direction(frame: Any) -> Literal["sent", "received"]:
    """The rule for bare frames: a frame with ``data``, ``models``, ``raw_text``, ``reset_stream`` or
    ``job_details: true`` was sent by the client; anything else was received from the server."""
    if isinstance(frame, dict) and (SENT_FRAME_KEYS & frame.keys() or frame.get("job_details") is True):
        return "sent"
    return "received"


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


# ----------------------------------------------------------------------------------------------- HAR


def read_har(document: Any, source: str, options: ReadOptions) -> Iterator[Item]:
    """One interaction per ``log.entries[i]`` of a HAR 1.2 document."""
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        yield ReadError(source, "", "expected a HAR document: an object with log.entries (a list)")
        return
    for index, entry in enumerate(entries):
        location = f"entries[{index}]"
        if isinstance(entry, dict) and isinstance(entry.get("_webSocketMessages"), list):
            session_api = _har_session_api(entry)
            if session_api is not None:
                path = _har_path(entry)
                frames = _har_session_frames(entry["_webSocketMessages"], source, location)
                yield SessionItem(source, location, session_api, path, frames)
                continue
            yield from _har_websocket_frames(entry["_webSocketMessages"], source, location)
            continue
        try:
            yield _har_interaction(entry, source, location)
        except JsonProblem as problem:
            yield ReadError(source, location, str(problem))


def _har_path(entry: dict[str, Any]) -> str | None:
    request = entry.get("request")
    url = request.get("url") if isinstance(request, dict) else None
    return unquote(urlsplit(url).path) if isinstance(url, str) and url else None


def _har_session_api(entry: dict[str, Any]) -> str | None:
    """The API judging this recorded WebSocket as a session, told by its URL's path (via the registry)."""
    from contracts import apis

    api = apis.session_api_for_path(_har_path(entry))
    return api.name if api is not None else None


def _har_frame_records(messages: list[Any], source: str, location: str) -> Iterator[tuple[str, Any] | ReadError]:
    """(place, record) of each ``_webSocketMessages`` entry that is a send/receive record; a ReadError otherwise."""
    for index, message in enumerate(messages):
        where = f"{location}._webSocketMessages[{index}]"
        if not isinstance(message, dict) or message.get("type") not in ("send", "receive"):
            yield ReadError(source, where, 'expected a frame with "type" "send" or "receive" and "data"')
        else:
            yield where, message


def _har_session_frames(messages: list[Any], source: str, location: str) -> Iterator[WsFrame | ReadError]:
    for record in _har_frame_records(messages, source, location):
        if isinstance(record, ReadError):
            yield record
            continue
        where, message = record
        try:
            frame = ws_frame(message, where)
        except JsonProblem as problem:
            yield ReadError(source, where, f"frame data: {problem}")
            continue
        if frame is not None:
            yield frame


def _har_websocket_frames(messages: list[Any], source: str, location: str) -> Iterator[Item]:
    """A WebSocket session recorded the browser way: ``_webSocketMessages`` of ``send``/``receive`` frames."""
    for record in _har_frame_records(messages, source, location):
        if isinstance(record, ReadError):
            yield record
            continue
        where, message = record
        try:
            frame = parse_json(str(message.get("data", "")).encode("utf-8"))
        except JsonProblem as problem:
            yield ReadError(source, where, f"frame data: {problem}")
            continue
        kind = "stream-payload" if message["type"] == "send" else "stream-message"
        yield BodyItem(source, f"{where} ({'sent' if kind == 'stream-payload' else 'received'})", kind, frame)


def _har_interaction(entry: Any, source: str, location: str) -> HttpInteraction:
    request = _require_dict(entry, "request", "a HAR entry with request and response")
    response = entry.get("response")
    method, path = _method_and_path(request.get("method"), request.get("url"))
    post = request.get("postData") if isinstance(request.get("postData"), dict) else {}
    request_type = _har_header(request, "content-type") or post.get("mimeType") or None
    sent = _har_request_body(post, request.get("bodySize"), request_type)
    received = _har_response(response) if isinstance(response, dict) else None
    return HttpInteraction(source, location, method, path, sent, received, query=_query_of(request.get("url")))


def _har_request_body(post: dict[str, Any], body_size: Any, content_type: str | None) -> HttpMessage:
    """A HAR request body: ``postData.text`` (plain, or base64 as some recorders write it), or its
    ``params`` when the recorder kept a form's fields instead of its bytes.

    HAR 1.2 gives ``postData`` no encoding. Recorders that keep exact bytes (schemathesis's
    ``--report-preserve-bytes``) write them base64 with no marker, so the text is read as base64 when
    it says so (``encoding``) or when only its base64 decoding has the recorded ``bodySize``.
    """
    text = _text_or_none(post.get("text"))
    if text is None and isinstance(post.get("params"), list):
        return HttpMessage(content_type=content_type, form=tuple(_har_form_fields(post["params"])))
    is_base64 = post.get("encoding") == "base64" or _only_base64_fits(text, body_size)
    return HttpMessage(content_type=content_type, text=text, is_base64=is_base64)


def _only_base64_fits(text: str | None, body_size: Any) -> bool:
    if not text or isinstance(body_size, bool) or not isinstance(body_size, int) or body_size < 0:
        return False
    if len(text.encode("utf-8", "surrogatepass")) == body_size or len(text) > 4 * (body_size // 3 + 1):
        return False
    try:
        return len(base64.b64decode(text, validate=True)) == body_size
    except (binascii.Error, ValueError):
        return False


def _har_form_fields(params: list[Any]) -> Iterator[FormPart]:
    for index, param in enumerate(params):
        if not isinstance(param, dict) or not isinstance(param.get("name"), str):
            raise JsonProblem(f"postData.params[{index}]: expected an object with a name")
        value = param.get("value")
        yield FormPart(
            name=param["name"],
            data=value.encode("utf-8", "surrogatepass") if isinstance(value, str) else None,
            filename=param.get("fileName") if isinstance(param.get("fileName"), str) else None,
            content_type=param.get("contentType") if isinstance(param.get("contentType"), str) else None,
        )


def _har_response(response: dict[str, Any]) -> HttpMessage | None:
    status = _status_code(response.get("status"))
    if status == 0:  # HAR's marker for "no response was received"
        return None
    content = response.get("content") if isinstance(response.get("content"), dict) else {}
    content_type = _har_header(response, "content-type") or content.get("mimeType") or None
    return HttpMessage(
        content_type=content_type,
        text=_text_or_none(content.get("text")),
        is_base64=content.get("encoding") == "base64",
        status=status,
    )


def _har_header(message: dict[str, Any], name: str) -> str | None:
    headers = message.get("headers")
    if not isinstance(headers, list):
        return None
    for header in headers:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == name:
            return str(header.get("value", ""))
    return None


# ----------------------------------------------------------------------------------- VCR cassette


def read_cassette(document: Any, source: str, options: ReadOptions) -> Iterator[Item]:
    """One interaction per ``http_interactions[i]`` of a schemathesis VCR cassette.

    Format (schemathesis ``reporting/vcr.py``): request {uri, method, headers: {name: [values]},
    body {encoding, string | base64_string}}; response {status {code (a string), message},
    headers, body {...}, truncated_from?} or ``response: null`` when the call failed.
    """
    from contracts.vcrpy_cassettes import is_vcrpy_cassette, read_vcrpy

    interactions = document.get("http_interactions") if isinstance(document, dict) else None
    if not isinstance(interactions, list) and is_vcrpy_cassette(document):
        yield from read_vcrpy(document, source, options)
        return
    if not isinstance(interactions, list):
        yield ReadError(
            source,
            "",
            "expected a VCR cassette: a YAML mapping with an http_interactions list (schemathesis) "
            "or an interactions list (vcrpy)",
        )
        return
    for index, interaction in enumerate(interactions):
        location = f"http_interactions[{index}]"
        try:
            yield _cassette_interaction(interaction, source, location)
        except JsonProblem as problem:
            yield ReadError(source, location, str(problem))


def _cassette_interaction(interaction: Any, source: str, location: str) -> HttpInteraction:
    request = _require_dict(interaction, "request", "an interaction with request and response")
    method, path = _method_and_path(request.get("method"), request.get("uri"))
    sent = _cassette_message(request, status=None)
    response = interaction.get("response")
    received = None
    if isinstance(response, dict):
        status = response.get("status")
        code = status.get("code") if isinstance(status, dict) else status
        received = _cassette_message(response, status=_status_code(code))
    query = _query_of(request.get("uri"))
    origin = _schemathesis_origin(interaction)
    return HttpInteraction(source, location, method, path, sent, received, query=query, origin=origin)


def _schemathesis_origin(interaction: dict[str, Any]) -> RecordedOrigin | None:
    """``generation.mode`` and ``phase`` of a schemathesis cassette's interaction (None when absent)."""
    generation = interaction.get("generation")
    mode = generation.get("mode") if isinstance(generation, dict) else None
    if mode not in ("positive", "negative"):
        return None
    phase = interaction.get("phase") if isinstance(interaction.get("phase"), dict) else {}
    data = phase.get("data") if isinstance(phase.get("data"), dict) else {}
    description = data.get("description") if isinstance(data.get("description"), str) else ""
    location = data.get("location")
    if description and isinstance(location, str) and location and location not in description:
        description += f" at {data.get('parameter_location') or 'body'} {location}"
    name = phase.get("name") if isinstance(phase.get("name"), str) else ""
    return RecordedOrigin(mode=mode, phase=name, description=description[:200])


def _cassette_message(message: dict[str, Any], status: int | None) -> HttpMessage:
    body = message.get("body") if isinstance(message.get("body"), dict) else {}
    is_base64 = "base64_string" in body
    text = body.get("base64_string") if is_base64 else body.get("string")
    return HttpMessage(
        content_type=_mapping_header(message.get("headers"), "content-type"),
        text=_text_or_none(text),
        is_base64=is_base64,
        status=status,
        truncated="truncated_from" in message,
    )


def _mapping_header(headers: Any, name: str) -> str | None:
    """A header from ``{name: value}`` or ``{name: [values]}`` (names compared case-insensitively)."""
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if str(key).lower() == name:
            if isinstance(value, list):
                return str(value[0]) if value else None
            return str(value)
    return None


# -------------------------------------------------------------------------------------------- WireMock


def read_wiremock(document: Any, source: str, options: ReadOptions) -> Iterator[Item]:
    """One interaction per stub of a WireMock mappings file (``{"mappings": [...]}`` or one mapping)."""
    mappings = document.get("mappings", [document]) if isinstance(document, dict) else None
    if not isinstance(mappings, list):
        yield ReadError(source, "", "expected WireMock stub mappings: an object with a mappings list")
        return
    for index, mapping in enumerate(mappings):
        location = f"mappings[{index}]" if "mappings" in document else "mapping"
        try:
            yield _wiremock_interaction(mapping, source, location)
        except JsonProblem as problem:
            yield ReadError(source, location, str(problem))
        except _Skip as skip:
            yield Note(source, location, str(skip))


class _Skip(Exception):
    """A stub that cannot be checked (a regex URL, method ANY, a body in an external file)."""


def _wiremock_interaction(mapping: Any, source: str, location: str) -> HttpInteraction:
    request = _require_dict(mapping, "request", "a stub mapping with request and response")
    response = _require_dict(mapping, "response", "a stub mapping with request and response")
    method = str(request.get("method", "ANY")).upper()
    url = request.get("url") or request.get("urlPath") or request.get("urlPathTemplate")
    if not isinstance(url, str):
        pattern = "urlPattern" if "urlPattern" in request else "urlPathPattern"
        raise _Skip(f"skipped: the stub matches URLs by a regular expression ({pattern}), not a path")
    if method == "ANY":
        raise _Skip("skipped: the stub matches ANY method, so no single operation applies")
    if "bodyFileName" in response:
        raise _Skip("skipped: the response body is in an external file (bodyFileName)")
    _, path = _method_and_path(method, url)
    return HttpInteraction(source, location, method, path, None, _wiremock_response(response))


def _wiremock_response(response: dict[str, Any]) -> HttpMessage:
    content_type = _mapping_header(response.get("headers"), "content-type")
    status = _status_code(response.get("status", 200))
    if "jsonBody" in response:
        text = json.dumps(response["jsonBody"])
        return HttpMessage(content_type=content_type, text=text, status=status)
    if "base64Body" in response:
        return HttpMessage(content_type, _text_or_none(response["base64Body"]), is_base64=True, status=status)
    return HttpMessage(content_type=content_type, text=_text_or_none(response.get("body")), status=status)


# ----------------------------------------------------------------------------------------- helpers


def _require_dict(container: Any, key: str, expected: str) -> dict[str, Any]:
    value = container.get(key) if isinstance(container, dict) else None
    if not isinstance(value, dict):
        raise JsonProblem(f"expected {expected}; {key!r} is missing or not an object")
    return value


def _method_and_path(method: Any, url: Any) -> tuple[str, str]:
    """Upper-case method and the URL's path (host, query and fragment dropped, %-escapes decoded)."""
    if not isinstance(method, str) or not method:
        raise JsonProblem("expected the request's method (a string)")
    if not isinstance(url, str) or not url:
        raise JsonProblem("expected the request's URL (a string)")
    path = unquote(urlsplit(url).path) or "/"
    return method.upper(), path


def _query_of(url: Any) -> str:
    return urlsplit(url).query if isinstance(url, str) else ""


def _status_code(value: Any) -> int:
    """A status code from an int or a digit string; raises ``JsonProblem`` otherwise."""
    if isinstance(value, bool):
        raise JsonProblem(f"expected an HTTP status code, found {value!r}")
    if isinstance(value, int) and 0 <= value <= 999:
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 3:
        return int(value)
    raise JsonProblem(f"expected an HTTP status code, found {str(value)[:40]!r}")


def _text_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise JsonProblem(f"expected a body recorded as a string, found {_json_type(value)}")
    return value


def walk_inputs(path: Path, source: str) -> Iterator[tuple[Path, str] | ReadError | Note]:
    """Files to read under a path given by the user: the file itself, or a directory's files
    (recursively, sorted, symlinked directories not followed) with a known extension.

    A directory that cannot be listed is an unreadable input (a ``ReadError`` naming it), never skipped.
    """
    if path.is_file():
        yield path, source
        return
    if not path.exists():
        yield ReadError(source, "", "no such file or directory")
        return
    if not path.is_dir():  # a FIFO or device would block or never end
        yield ReadError(source, "", "not a regular file or directory")
        return
    pending = [(path, source)]  # directories still to list, the next one last
    while pending:
        directory, shown = pending.pop()
        try:
            entries = _sorted_entries(directory)
        except OSError as error:
            yield ReadError(shown, "", f"cannot read directory: {error.strerror or error}")
            continue
        subdirectories = []
        for entry in entries:
            entry_path, entry_shown = Path(directory, entry.name), str(Path(shown, entry.name))
            kind = _entry_kind(entry)
            if kind == "directory":
                subdirectories.append((entry_path, entry_shown))
            elif kind == "symlinked directory":
                yield Note(entry_shown, "", "skipped: a symbolic link to a directory (not followed)")
            elif kind != "file":
                yield Note(entry_shown, "", "skipped: not a regular file")
            elif entry_path.suffix.lower() in KNOWN_EXTENSIONS:
                yield entry_path, entry_shown
            else:
                yield Note(entry_shown, "", f"skipped: extension not one of {' '.join(KNOWN_EXTENSIONS)}")
        pending.extend(reversed(subdirectories))


def _sorted_entries(directory: Path) -> list[os.DirEntry[str]]:
    with os.scandir(directory) as listing:
        return sorted(listing, key=lambda entry: entry.name)


def _entry_kind(entry: os.DirEntry[str]) -> str:
    """ "directory", "symlinked directory", "file" (a symlink to a file counts), or "other"."""
    try:
        if entry.is_dir(follow_symlinks=False):
            return "directory"
        if entry.is_dir():
            return "symlinked directory"
        return "file" if entry.is_file() else "other"
    except OSError:  # a dangling or looping link, or an entry gone since the listing
        return "other"
