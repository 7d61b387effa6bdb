"""What a stream reply must repeat of the frame it answers: judged alike by ``fuzz`` and ``proxy``.

Hume answers every frame of a connection with exactly one reply frame, in order. Given a frame a client sent
and the reply that answered it, each check below returns None when the promise holds, or a short text that
says what was found instead. Only promises that hold for every valid frame are here: whether a frame should
have been refused at all is the fuzzer's business (it knows how it built the frame), not a bystander's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contracts.evidence import Grade, register_grades
from contracts.text_positions import indexes

register_grades(
    {
        "stream-position-mismatch": Grade.DOCUMENTED,  # Fern TextPosition: "measured in characters"
        "stream-extra-reply": Grade.SDK,  # each SDK send waits for exactly one reply frame
        "stream-binary-frame": Grade.JUDGEMENT,  # the Python SDK parses a binary JSON frame (json.loads takes bytes)
    }
)

STREAM_MODELS = ("burst", "face", "facemesh", "language", "prosody")


@dataclass(frozen=True)
class ReplyCheck:
    """One promise of a reply to a frame: its failure code, title, what must hold, and its judge."""

    code: str
    title: str
    expected: str
    problem: Callable[[dict[str, Any], dict[str, Any]], str | None]


def clip(text: str, limit: int = 160) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reply_kind(reply: Any) -> str:
    """What a reply is: error, warning, predictions, job_details or ack (anything else)."""
    if not isinstance(reply, dict):
        return "unexpected"
    if "error" in reply:
        return "error"
    if "warning" in reply:
        return "warning"
    if any(model in reply for model in STREAM_MODELS):
        return "predictions"
    return "job_details" if "job_details" in reply else "ack"


def model_answered(slot: Any) -> bool:
    """A model's slot in a reply holds its predictions or its warning."""
    return isinstance(slot, dict) and ("predictions" in slot or "warning" in slot)


def payload_id_problem(frame: dict[str, Any], reply: dict[str, Any]) -> str | None:
    """A reply echoes the frame's ``payload_id``; an error need not echo it, but may not echo another one."""
    sent = frame.get("payload_id")
    if not isinstance(sent, str):
        return None
    echoed = reply.get("payload_id")
    if echoed == sent or ("error" in reply and echoed is None):
        return None
    return f"payload_id {clip(repr(echoed), 80)}"


def models_problem(frame: dict[str, Any], reply: dict[str, Any]) -> str | None:
    """Every model a data frame asked for answers with predictions or a per-model warning."""
    if "data" not in frame or "error" in reply or "warning" in reply or not isinstance(frame.get("models"), dict):
        return None
    missing = [name for name in frame["models"] if name in STREAM_MODELS and not model_answered(reply.get(name))]
    return f"no answer for {', '.join(missing)}" if missing else None


def job_details_problem(frame: dict[str, Any], reply: dict[str, Any]) -> str | None:
    """``job_details: true`` brings ``job_details`` with the stream job's id (errors included: they carry it too)."""
    if frame.get("job_details") is not True or "error" in reply:
        return None
    details = reply.get("job_details")
    return None if isinstance(details, dict) and "job_id" in details else "no job_details in the reply"


# The documented warning codes; W0104 and later were never confirmed, so other codes pass.
WARNING_CODES = {"face": "W0103", "burst": "W0101", "facemesh": "W0102"}


def own_warning(model: str, code: Any) -> bool:
    """A model's warning code is its own documented one; a model without one may not borrow another's."""
    own = WARNING_CODES.get(model)
    return code == own if own is not None else code not in WARNING_CODES.values()


def warning_codes_problem(frame: dict[str, Any], reply: dict[str, Any]) -> str | None:
    """Every per-model warning carries its model's code (W0103 face, W0101 burst, W0102 facemesh)."""
    warned = {
        m: slot.get("code") for m in STREAM_MODELS if isinstance(slot := reply.get(m), dict) and "warning" in slot
    }
    wrong = [f"{model}: {clip(repr(code), 40)}" for model, code in warned.items() if not own_warning(model, code)]
    return "; ".join(wrong) or None


def positions_problem(frame: dict[str, Any], reply: dict[str, Any]) -> str | None:
    """Each language position of a reply to a raw-text frame indexes that text ("measured in characters"),
    read as the batch side reads it (``contracts.text_positions``), its end within the text."""
    text = frame.get("data")
    language = reply.get("language")
    items = language.get("predictions") if isinstance(language, dict) else None
    if frame.get("raw_text") is not True or not isinstance(text, str) or not isinstance(items, list):
        return None
    for item in items:
        position = item.get("position") if isinstance(item, dict) else None
        if not isinstance(position, dict) or not isinstance(item.get("text"), str):
            continue  # a missing or mistyped position is the schema's business
        begin, end = position.get("begin"), position.get("end")
        if not indexes(text, begin, end, item["text"]):
            return f"[{begin}:{end}] for {clip(repr(item['text']), 40)} in {clip(repr(text), 80)}"
    return None


def frame_text(text: str | None, data: bytes | None) -> tuple[str | None, bool]:
    """A received frame's text and whether it came as a binary frame. A binary frame holding UTF-8 is read
    as text (the Python SDK's ``json.loads`` takes bytes), so its content is judged as well; one that is not
    UTF-8 has no text (None: unparsable)."""
    if text is not None:
        return text, False
    try:
        return (data or b"").decode("utf-8"), True
    except UnicodeDecodeError:
        return None, True


# A reply frame's opcode, judged on its own (no frame pair needed). A judgement: the SDKs send JSON text frames
# and Hume's examples read replies as text, but the Python SDK parses a binary JSON frame just as well.
BINARY_REPLY = (
    "stream-binary-frame",
    "a reply came as a binary frame",
    "a JSON text frame (as the SDKs send and Hume's examples read)",
)
# The bystander's view of "one reply per frame": a reply with no frame waiting for it.
EXTRA_REPLY = (
    "stream-extra-reply",
    "a reply answers no frame",
    "exactly one reply per frame, in order",
)


PAYLOAD_ID_ECHOED = ReplyCheck(
    "stream-payload-id", "the reply did not echo payload_id", "the payload_id sent", payload_id_problem
)
MODELS_ANSWERED = ReplyCheck(
    "stream-model-missing",
    "a requested model is missing from the reply",
    "predictions or a per-model warning for every requested model",
    models_problem,
)
JOB_DETAILS_GIVEN = ReplyCheck(
    "stream-wrong-reply",
    "job_details was asked for but not returned",
    'job_details {"job_id": ...}',
    job_details_problem,
)
WARNING_CODE_OWN = ReplyCheck(
    "stream-warning-code",
    "a model's warning carries a code that is not its own",
    "W0103 (no faces) for face, W0101 (no vocal bursts) for burst, W0102 (no facemeshes) for facemesh",
    warning_codes_problem,
)
POSITIONS_INDEX_TEXT = ReplyCheck(
    "stream-position-mismatch",
    "a language position does not index the text sent",
    "text[begin:end] is the item's text, end within the text (code points or UTF-8 bytes)",
    positions_problem,
)
REPLY_CHECKS = (PAYLOAD_ID_ECHOED, MODELS_ANSWERED, JOB_DETAILS_GIVEN, WARNING_CODE_OWN, POSITIONS_INDEX_TEXT)
