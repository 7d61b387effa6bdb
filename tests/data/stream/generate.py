"""Regenerate the example stream frames in this folder (run from the repository root).

    .venv/bin/python tests/data/stream/generate.py

No verbatim stream frame is public, so these are synthesized: client frames are produced by the official SDK
(hume 0.13.13) itself, through a fake WebSocket that records what it sends; server frames follow the AsyncAPI
contract (`openapi/stream.asyncapi.yaml`) with the real label names (ground truth NAMES.md) and seeded random
scores. The output is deterministic; `tests/test_stream_contract.py` checks the client frames against the SDK
again.
"""

from __future__ import annotations

import base64
import io
import json
import math
import random
import struct
import tempfile
import wave
from pathlib import Path
from typing import Any

from hume.expression_measurement.stream.stream.socket_client import StreamSocketClient
from hume.expression_measurement.stream.stream.types import Config, StreamModelsEndpointPayload
from PIL import Image, ImageDraw

HERE = Path(__file__).parent
JOB_ID = "0f3a9c1e5b7d4a2f8e6c1b0a9d8e7f6a"  # stream job ids: 32 lowercase hex characters, no dashes

EXPRESSION_EMOTIONS = [
    "Admiration",
    "Adoration",
    "Aesthetic Appreciation",
    "Amusement",
    "Anger",
    "Anxiety",
    "Awe",
    "Awkwardness",
    "Boredom",
    "Calmness",
    "Concentration",
    "Confusion",
    "Contemplation",
    "Contempt",
    "Contentment",
    "Craving",
    "Desire",
    "Determination",
    "Disappointment",
    "Disgust",
    "Distress",
    "Doubt",
    "Ecstasy",
    "Embarrassment",
    "Empathic Pain",
    "Entrancement",
    "Envy",
    "Excitement",
    "Fear",
    "Guilt",
    "Horror",
    "Interest",
    "Joy",
    "Love",
    "Nostalgia",
    "Pain",
    "Pride",
    "Realization",
    "Relief",
    "Romance",
    "Sadness",
    "Satisfaction",
    "Shame",
    "Surprise (negative)",
    "Surprise (positive)",
    "Sympathy",
    "Tiredness",
    "Triumph",
]
LANGUAGE_EMOTIONS = sorted([*EXPRESSION_EMOTIONS, "Annoyance", "Disapproval", "Enthusiasm", "Gratitude", "Sarcasm"])
FACS = [
    "AU1 Inner Brow Raise",
    "AU2 Outer Brow Raise",
    "AU4 Brow Lowerer",
    "AU5 Upper Lid Raise",
    "AU6 Cheek Raise",
    "AU7 Lids Tight",
    "AU9 Nose Wrinkle",
    "AU10 Upper Lip Raiser",
    "AU11 Nasolabial Furrow Deepener",
    "AU12 Lip Corner Puller",
    "AU14 Dimpler",
    "AU15 Lip Corner Depressor",
    "AU16 Lower Lip Depress",
    "AU17 Chin Raiser",
    "AU18 Lip Pucker",
    "AU19 Tongue Show",
    "AU20 Lip Stretch",
    "AU22 Lip Funneler",
    "AU23 Lip Tightener",
    "AU24 Lip Presser",
    "AU25 Lips Part",
    "AU26 Jaw Drop",
    "AU27 Mouth Stretch",
    "AU28 Lips Suck",
    "AU32 Bite",
    "AU34 Puff",
    "AU37 Lip Wipe",
    "AU38 Nostril Dilate",
    "AU43 Eye Closure",
    "AU53 Head Up",
    "AU54 Head Down",
]
DESCRIPTIONS = [
    "Beaming",
    "Biting lip",
    "Cheering",
    "Cringe",
    "Cry",
    "Eyes closed",
    "Face in hands",
    "Frown",
    "Gasp",
    "Glare",
    "Glaring",
    "Grimace",
    "Grin",
    "Jaw drop",
    "Laugh",
    "Licking lip",
    "Pout",
    "Scowl",
    "Smile",
    "Smirk",
    "Snarl",
    "Squint",
    "Sulking",
    "Tongue out",
    "Wide-eyed",
    "Wince",
    "Wrinkled nose",
]
E0102_TEXT = (
    "Streaming payload configured with model type 'prosody', which is not supported for the detected file type 'image'."
)

rng = random.Random(20260101)


class RecordingWebSocket:
    """Stands in for a websockets connection: records sent text, answers every recv() with `{}`."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, text: str) -> None:
        self.sent.append(text)

    def recv(self) -> str:
        return "{}"


def sdk_frame(call: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The JSON frame the official SDK sends for one socket-client call."""
    socket = RecordingWebSocket()
    getattr(StreamSocketClient(websocket=socket), call)(*args, **kwargs)
    (text,) = socket.sent
    return json.loads(text)


def scores(names: list[str], top: float = 0.6) -> list[dict[str, Any]]:
    return [{"name": name, "score": round(rng.random() * top, 6)} for name in names]


def distribution(names: list[str]) -> list[dict[str, Any]]:
    weights = [rng.random() ** 3 for _ in names]
    return [{"name": n, "score": round(w / sum(weights), 6)} for n, w in zip(names, weights, strict=True)]


def png(size: int, face: bool) -> bytes:
    image = Image.new("RGB", (size, size), (128, 128, 128))
    if face:
        draw = ImageDraw.Draw(image)
        draw.ellipse((size // 4, size // 6, 3 * size // 4, 5 * size // 6), fill=(224, 188, 160))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def wav(seconds: float = 0.1, rate: int = 8000) -> bytes:
    samples = [int(8000 * math.sin(2 * math.pi * 220 * i / rate)) for i in range(int(seconds * rate))]
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return out.getvalue()


def landmarks() -> list[list[list[float]]]:
    """One face of 478 (x, y, z) landmarks, the shape the legacy SDK checked."""
    return [[[round(rng.random(), 4), round(rng.random(), 4), round(rng.uniform(-0.1, 0.1), 4)] for _ in range(478)]]


def send_file_frame(media: bytes, config: Config, payload_id: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "media"
        path.write_bytes(media)
        return sdk_frame("send_file", str(path), config, payload_id)


def sent_frames() -> dict[str, dict[str, Any]]:
    language = Config(language={"granularity": "sentence", "sentiment": {}})
    face = Config(face={"identify_faces": True, "facs": {}, "descriptions": {}})
    return {
        "send_text": sdk_frame("send_text", "I am so happy to see you! This is wonderful.", language, "text-1"),
        "send_file_image": send_file_frame(png(64, face=True), face, "frame-1"),
        "send_file_image_prosody": send_file_frame(png(64, face=True), Config(prosody={}), "frame-2"),
        "send_file_image_no_face": send_file_frame(png(16, face=False), face, "frame-3"),
        "send_file_audio": send_file_frame(wav(), Config(prosody={}, burst={}), "audio-1"),
        "send_file_audio_burst": send_file_frame(wav(), Config(burst={}), "audio-3"),
        "publish_window": sdk_frame(
            "send_publish",
            StreamModelsEndpointPayload(
                data=base64.b64encode(wav()).decode(),
                models=Config(prosody={}),
                stream_window_ms=2000,
                job_details=True,
                payload_id="audio-2",
            ),
        ),
        "send_facemesh": sdk_frame("send_facemesh", landmarks(), Config(facemesh={}), "mesh-1"),
        "get_job_details": sdk_frame("get_job_details"),
        "reset": sdk_frame("reset"),
    }


def face_item(frame: int, face_id: str, x: float) -> dict[str, Any]:
    return {
        "frame": float(frame),
        "time": round(frame / 3, 6),
        "bbox": {"x": x, "y": 9.5, "w": 31.25, "h": 40.0},
        "prob": round(0.99 + rng.random() / 100, 6),
        "face_id": face_id,
        "emotions": scores(EXPRESSION_EMOTIONS),
        "facs": scores(FACS),
        "descriptions": scores(DESCRIPTIONS),
    }


def language_items(text: str) -> list[dict[str, Any]]:
    items, begin = [], 0
    for sentence in ("I am so happy to see you!", "This is wonderful."):
        begin = text.index(sentence, begin)
        item = {
            "text": sentence,
            "position": {"begin": float(begin), "end": float(begin + len(sentence))},
            "emotions": scores(LANGUAGE_EMOTIONS),
            "sentiment": distribution([str(level) for level in range(1, 10)]),
            "toxicity": None,
        }
        items.append(item)
        begin += len(sentence)
    return items


def time_items(begin: float, end: float) -> list[dict[str, Any]]:
    return [{"time": {"begin": begin, "end": end}, "emotions": scores(EXPRESSION_EMOTIONS)}]


def received_frames(sent: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        "job_details": {"job_details": {"job_id": JOB_ID}},
        "face_predictions": {
            "payload_id": "frame-1",
            "face": {"predictions": [face_item(0, "face_0", 12.0), face_item(0, "face_1", 40.5)]},
        },
        "error_E0102": {"error": E0102_TEXT, "code": "E0102", "payload_id": "frame-2"},
        "face_warning_W0103": {
            "payload_id": "frame-3",
            "face": {"warning": "No faces detected.", "code": "W0103"},
        },
        "language_predictions": {
            "payload_id": "text-1",
            "language": {"predictions": language_items(sent["send_text"]["data"])},
        },
        "prosody_burst_predictions": {
            "payload_id": "audio-1",
            "prosody": {"predictions": time_items(0.0, 0.1)},
            "burst": {"predictions": time_items(0.0, 0.1)},
        },
        "prosody_window_predictions": {
            "payload_id": "audio-2",
            "job_details": {"job_id": JOB_ID},
            "prosody": {"predictions": time_items(0.0, 0.2)},
        },
        "facemesh_predictions": {
            "payload_id": "mesh-1",
            "facemesh": {"predictions": [{"emotions": scores(EXPRESSION_EMOTIONS)}]},
        },
        # The reply to reset_stream is not documented anywhere; an empty predictions frame is assumed.
        "reset_reply": {},
        # A top-level warning (StreamWarningMessage); its real trigger is not documented, W0101 is assumed.
        "warning_message": {"warning": "No vocal bursts detected.", "code": "W0101", "payload_id": "audio-3"},
    }


# (sent example, received example, seconds after the session start): one reply per client frame.
SESSION = [
    ("get_job_details", "job_details", 0.0),
    ("send_file_image", "face_predictions", 0.4),
    ("send_file_image_prosody", "error_E0102", 0.9),
    ("send_file_image_no_face", "face_warning_W0103", 1.3),
    ("send_text", "language_predictions", 1.8),
    ("send_file_audio", "prosody_burst_predictions", 2.4),
    ("publish_window", "prosody_window_predictions", 3.1),
    ("send_facemesh", "facemesh_predictions", 3.7),
    ("send_file_audio_burst", "warning_message", 4.2),
    ("reset", "reset_reply", 4.6),
]


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> None:
    sent = sent_frames()
    received = received_frames(sent)
    for name, frame in sent.items():
        write_json(HERE / f"sent__{name}.json", frame)
    for name, frame in received.items():
        write_json(HERE / f"received__{name}.json", frame)
    lines = []
    for sent_name, received_name, start in SESSION:
        lines.append({"direction": "sent", "time": start, "frame": sent[sent_name]})
        lines.append({"direction": "received", "time": round(start + 0.25, 3), "frame": received[received_name]})
    session = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    (HERE / "session.jsonl").write_text(session, encoding="utf-8")


if __name__ == "__main__":
    main()
