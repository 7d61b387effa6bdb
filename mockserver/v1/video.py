"""Images of the v1 mock: JPEG checks, the face finder, face ordering and ids, and ``face_state``.

The face finder (the mock's documented rule): the image is shrunk to at most 128 px a side; a pixel differs
from the background when its grey level is more than 24 away from the top-left corner's; each 8-connected
region of such pixels is one face, its bounding box scaled back to the image. So a plain one-colour image has
no face and an image from the suite's face drawer (``strategies.media.make_jpeg``) has one. Confidence is
0.93-0.99, fixed by the region; a face below ``face.threshold`` or under ``face.min_size`` px on its shorter
side is not listed. Measured faces (the 2 largest) come first, largest first; then unmeasured faces by
descending confidence with ``face_id``/``expressions``/``descriptions`` null; at most 32 in all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import time
from collections import deque
from dataclasses import dataclass, field

import orjson
from PIL import Image

from mockserver.v1.errors import Refused
from mockserver.v1.protocol import (
    DECIMALS,
    FACE_MATCH_IOU,
    FACE_MEMORY,
    FACE_STATE_TTL_S,
    FACES_LISTED,
    FACES_MEASURED,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
)
from mockserver.v1.scores import face_scores, rng_for

ANALYSIS_SIDE = 128
BACKGROUND_DIFFERENCE = 24
JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass(frozen=True)
class FoundFace:
    bbox: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels
    confidence: float
    seed: str

    @property
    def shorter_side(self) -> float:
        return min(self.bbox[2] - self.bbox[0], self.bbox[3] - self.bbox[1])

    @property
    def area(self) -> float:
        return (self.bbox[2] - self.bbox[0]) * (self.bbox[3] - self.bbox[1])


def check_jpeg(data: bytes, *, pixel_limit: bool = True) -> tuple[int, int]:
    """Width and height of a JPEG within the limits, read from its header only (no decoding yet)."""
    if pixel_limit and len(data) > MAX_IMAGE_BYTES:
        raise Refused("image_too_large", f"an image of {len(data)} bytes is over the 2 MB limit")
    if not data.startswith(JPEG_MAGIC):
        raise Refused("unsupported_media_type", "only JPEG images are accepted")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError:  # Pillow refuses absurd declared sizes before we can
        raise Refused("image_too_large", "the image is over the 8,294,400-pixel limit") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise Refused("image_decode_failed", f"the JPEG cannot be decoded: {exc}") from None
    if pixel_limit and width * height > MAX_IMAGE_PIXELS:
        raise Refused("image_too_large", f"an image of {width}x{height} pixels is over the 8,294,400-pixel limit")
    return width, height


def find_faces(data: bytes) -> list[FoundFace]:
    """The faces of a JPEG already passed by ``check_jpeg`` (Refused image_decode_failed if it breaks)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            image.draft("L", (ANALYSIS_SIDE, ANALYSIS_SIDE))  # decode at reduced size: bounded work
            gray = image.convert("L")
            gray.thumbnail((ANALYSIS_SIDE, ANALYSIS_SIDE))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise Refused("image_decode_failed", f"the JPEG cannot be decoded: {exc}") from None
    digest = hashlib.md5(data).hexdigest()
    regions = _regions(gray)
    sx, sy = width / gray.width, height / gray.height
    faces = []
    for index, (left, top, right, bottom) in enumerate(regions):
        rng = rng_for("confidence", digest, index)
        bbox = (round(left * sx, 1), round(top * sy, 1), round(right * sx, 1), round(bottom * sy, 1))
        faces.append(FoundFace(bbox, round(0.93 + 0.06 * rng.random(), DECIMALS), f"{digest}:{index}"))
    return faces


def _regions(gray: Image.Image) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (right/bottom exclusive) of the 8-connected foreground regions, in scan order."""
    width, height = gray.size
    background = gray.getpixel((0, 0))
    pixels = gray.tobytes()
    foreground = bytearray(abs(value - background) > BACKGROUND_DIFFERENCE for value in pixels)
    boxes = []
    for start in range(width * height):
        if not foreground[start]:
            continue
        foreground[start] = 0
        queue = deque([start])
        left, top, right, bottom = width, height, -1, -1
        while queue:
            spot = queue.popleft()
            y, x = divmod(spot, width)
            left, right, top, bottom = min(left, x), max(right, x), min(top, y), max(bottom, y)
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    nx, ny = x + dx, y + dy
                    if 0 <= nx < width and 0 <= ny < height and foreground[ny * width + nx]:
                        foreground[ny * width + nx] = 0
                        queue.append(ny * width + nx)
        boxes.append((left, top, right + 1, bottom + 1))
    return boxes


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class FaceTracker:
    """Face ids of one request or session: a measured face keeps the id of the remembered box it overlaps most."""

    next_id: int = 0
    remembered: list[tuple[int, tuple[float, ...]]] = field(default_factory=list)  # newest last

    def assign(self, bbox: tuple[float, ...], taken: set[int]) -> int:
        best, best_iou = None, FACE_MATCH_IOU
        for face_id, seen in self.remembered:
            overlap = _iou(bbox, seen)
            if face_id not in taken and overlap >= best_iou:
                best, best_iou = face_id, overlap
        if best is None:
            best, self.next_id = self.next_id, self.next_id + 1
        self.remembered = [(i, b) for i, b in self.remembered if i != best] + [(best, tuple(bbox))]
        del self.remembered[:-FACE_MEMORY]
        return best


def measure_image(
    faces: list[FoundFace], tracker: FaceTracker, threshold: float, min_size: int
) -> tuple[list[dict], int]:
    """The ``faces`` array of one image and how many faces were measured."""
    listed = [face for face in faces if face.confidence >= threshold and face.shorter_side >= min_size]
    by_size = sorted(listed, key=lambda face: (-face.area, -face.confidence, face.bbox))
    measured = by_size[:FACES_MEASURED]
    unmeasured = sorted(by_size[FACES_MEASURED:], key=lambda face: (-face.confidence, -face.area, face.bbox))
    out, taken = [], set()
    for face in measured:
        face_id = tracker.assign(face.bbox, taken)
        taken.add(face_id)
        expressions, descriptions = face_scores(face.seed)
        out.append(_face(face, face_id, expressions, descriptions))
    out.extend(_face(face, None, None, None) for face in unmeasured)
    return out[:FACES_LISTED], len(measured)


def _face(face: FoundFace, face_id: int | None, expressions: list | None, descriptions: list | None) -> dict:
    return {
        "face_id": face_id,
        "bbox": list(face.bbox),
        "confidence": face.confidence,
        "expressions": expressions,
        "descriptions": descriptions,
    }


def dump_face_state(tracker: FaceTracker, secret: bytes) -> str:
    """An opaque, signed ``face_state`` (accepted for 24 h)."""
    body = orjson.dumps({"n": tracker.next_id, "r": tracker.remembered, "t": int(time.time())})
    token = base64.urlsafe_b64encode(body).decode().rstrip("=")
    return f"{token}.{_sign(token, secret)}"


def load_face_state(state: str | None, secret: bytes) -> FaceTracker:
    """The tracker a ``face_state`` carries; an expired, altered or foreign one is ignored (ids restart at 0)."""
    if not isinstance(state, str) or state.count(".") != 1 or len(state) > 64_000:
        return FaceTracker()
    token, signature = state.split(".")
    if not hmac.compare_digest(signature, _sign(token, secret)):
        return FaceTracker()
    try:
        body = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if time.time() - body["t"] > FACE_STATE_TTL_S:
            return FaceTracker()
        return FaceTracker(int(body["n"]), [(int(i), tuple(b)) for i, b in body["r"]][-FACE_MEMORY:])
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return FaceTracker()


def _sign(token: str, secret: bytes) -> str:
    return hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()[:32]
