"""``--record``: the session as HAR 1.2 (frames in ``_webSocketMessages``), spooled to disk as it happens.

Holding the session until stop cost 4 GiB for a long stream (issue 15). Each entry and each frame is
written, redacted, to a spool file next to the HAR as it ends; at stop the HAR is assembled from the
spool line by line (a stream session's frames found again by their offsets: 8 bytes each in memory),
re-redacted with every key the session has seen by then. Bodies the proxy did not keep are recorded empty.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from array import array
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from contracts.fuzz.recorder import Recorder
from contracts.proxy.flows import HttpFlow, StreamFlow, StreamMessage, header
from contracts.proxy.sessions import judged_as_session
from contracts.stream_judging import frame_text

HEAD = '{"log": {"version": "1.2", "creator": {"name": "hume-contracts", "version": "0.1.0"}, "entries": [\n'
TAIL = "\n]}}\n"


class HarRecorder:
    """Spools the session to ``<path>.partial`` from the start (so an unwritable path fails at once)."""

    def __init__(self, path: Path, secrets: Any, decode: Any) -> None:
        self.path = path
        self.secrets = secrets
        self.decode = decode  # (body, content-encoding) -> bytes, within the decoding cap
        path.parent.mkdir(parents=True, exist_ok=True)
        self.spool_path = path.with_name(path.name + ".partial")
        self._spool: IO[bytes] = self.spool_path.open("w+b")
        self._frames: dict[int, array] = {}  # per stream session: offsets of its frame lines in the spool
        self._lock = threading.Lock()
        self.entries = 0

    # ---- hooks

    def response(self, flow: HttpFlow) -> None:
        try:
            body = self.decode(flow.response_body or b"", header(flow.response_headers, "content-encoding"))
        except ValueError:
            body = b""
        recoded = ("content-encoding", "content-length")  # the HAR holds the decoded body
        headers = {k: v for k, v in flow.response_headers if k.lower() not in recoded}
        har = Recorder(self.secrets.redactor)
        har.add_http(
            flow.method,
            f"http://proxy{flow.path}",
            dict(flow.request_headers),
            flow.request_body or b"",
            flow.status or 0,
            flow.reason,
            headers,
            body,
        )
        self._spool_entries(har)

    def error(self, flow: HttpFlow | StreamFlow) -> None:
        """An exchange the target answered but the proxy could not pass on whole: recorded, its body empty."""
        if isinstance(flow, HttpFlow) and flow.status is not None and 100 <= flow.status <= 599:
            flow.response_body = b""
            self.response(flow)

    def websocket_start(self, flow: StreamFlow) -> None:
        with self._lock:
            self._frames[flow.number] = array("q")

    def websocket_message(self, flow: StreamFlow, message: StreamMessage) -> None:
        frame = {"type": "send" if message.from_client else "receive", "time": message.at, **self._frame(flow, message)}
        self._spool_frame(flow, frame)

    def _spool_frame(self, flow: StreamFlow, frame: dict[str, Any]) -> None:
        line = json.dumps(frame, ensure_ascii=False)
        with self._lock:
            if self._spool.closed:
                return  # a check the stop abandoned, finishing after the HAR was written
            offset = self._spool.seek(0, 2)
            self._spool.write(line.encode() + b"\n")
            self._frames.setdefault(flow.number, array("q")).append(offset)

    def _frame(self, flow: StreamFlow, message: StreamMessage) -> dict[str, Any]:
        """A session's binary frame (v1 media) as a binary frame, base64; v0's as fuzz records them (a UTF-8
        binary frame as text, so ``validate`` judges its content, the rest base64 text)."""
        redactor = self.secrets.redactor
        if message.data is not None and judged_as_session(flow.path):  # base64 would hide a key from the re-redaction
            return {"opcode": 2, "data": base64.b64encode(redactor.binary(message.data)).decode("ascii")}
        text, _binary = frame_text(message.text, message.data)
        text = text if text is not None else base64.b64encode(redactor.binary(message.data or b"")).decode("ascii")
        return {"opcode": 1, "data": redactor.json_text(text)}

    def websocket_end(self, flow: StreamFlow) -> None:
        if flow.closed_by == "target" and judged_as_session(flow.path):  # the session's end, as the live judge saw it
            self._spool_frame(flow, {"type": "receive", "time": time.time(), "opcode": 8, "code": flow.close_code})
        har = Recorder(self.secrets.redactor)
        har.stream_session(f"ws://proxy{flow.path}", [], status=flow.status or 0)
        [entry] = har.drain()
        entry["startedDateTime"] = datetime.fromtimestamp(flow.started, UTC).isoformat().replace("+00:00", "Z")
        entry["_webSocketMessages"] = {"session": flow.number}  # filled from the spool when written
        with self._lock:
            if self._spool.closed:
                return
            self._spool.seek(0, 2)
            self._spool.write(json.dumps({"entry": entry}, ensure_ascii=False).encode() + b"\n")

    def _spool_entries(self, har: Recorder) -> None:
        lines = "".join(json.dumps({"entry": entry}, ensure_ascii=False) + "\n" for entry in har.drain())
        with self._lock:
            if self._spool.closed:
                return
            self._spool.seek(0, 2)
            self._spool.write(lines.encode())

    # ---- at stop

    def write(self) -> int:
        """The HAR from the spool; the number of entries. OSError when it cannot be written."""
        redact = self.secrets.redactor.json_text
        with self._lock:
            self._spool.flush()
            frames, self._frames = self._frames, {}
            reader = self.spool_path.open("rb")
            try:
                with self.path.open("w", encoding="utf-8") as out:
                    out.write(HEAD)
                    self.entries = 0
                    for line in reader:
                        entry = json.loads(line).get("entry")
                        if entry is None:
                            continue  # a frame: written with its session
                        if self.entries:
                            out.write(",\n")
                        self.entries += 1
                        self._write_entry(out, entry, frames, redact)
                    out.write(TAIL)
            finally:
                reader.close()
        return self.entries

    def _write_entry(self, out: IO[str], entry: dict[str, Any], frames: dict[int, array], redact: Any) -> None:
        messages = entry.get("_webSocketMessages")
        if not isinstance(messages, dict):
            out.write(redact(json.dumps(entry, ensure_ascii=False)))
            return
        entry["_webSocketMessages"] = []  # the entry's last key: its frames go in at its last "[]"
        opening = redact(json.dumps(entry, ensure_ascii=False))
        cut = opening.rindex("[]")
        out.write(opening[: cut + 1])
        with self.spool_path.open("rb") as frames_file:
            for index, offset in enumerate(frames.get(messages["session"], ())):
                frames_file.seek(offset)
                frame = frames_file.readline().decode().rstrip("\n")
                out.write(("," if index else "") + "\n" + redact(frame))
        out.write(opening[cut + 1 :])

    def close(self) -> None:
        """The spool removed (after ``write``, or when there is nothing to write)."""
        with self._lock:
            self._spool.close()
            self.spool_path.unlink(missing_ok=True)
