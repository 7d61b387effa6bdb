"""The artifacts zip of a completed job: the predictions JSON plus one CSV of scores per model."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from collections.abc import Iterator
from typing import Any


def build_artifacts(predictions: list[dict[str, Any]], ended_ms: int, traversal: bool = False) -> bytes:
    """``predictions.json`` (the GET .../predictions body) and ``csv/<model>.csv`` for every model present.

    Every entry is dated when the job ended (UTC), never by the clock, so the same job gives the same bytes.
    ``traversal`` (drift ``artifacts-path-traversal``) adds a member named ``../predictions.json``.
    """
    when = time.gmtime(max(ended_ms // 1000, ZIP_EPOCH))[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_entry("predictions.json", when), json.dumps(predictions, indent=2))
        if traversal:
            archive.writestr(_entry("../predictions.json", when), "[]")
        for model, rows in _rows_by_model(predictions).items():
            archive.writestr(_entry(f"csv/{model}.csv", when), _csv(rows))
    return buffer.getvalue()


ZIP_EPOCH = 315532800  # 1980-01-01: zip cannot date anything earlier


def _entry(name: str, when: tuple[int, ...]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when)  # type: ignore[arg-type]
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _rows_by_model(predictions: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = {}
    for file, model, group, item in _items(predictions):
        row: dict[str, Any] = {"file": file, "id": group}
        row.update(_where(item))
        row.update({e["name"]: e["score"] for e in item.get("emotions") or []})
        tables.setdefault(model, []).append(row)
    return tables


def _items(predictions: list[dict[str, Any]]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for source in predictions:
        for prediction in (source.get("results") or {}).get("predictions", []):
            for model, output in prediction.get("models", {}).items():
                for group in output.get("grouped_predictions", []):
                    for item in group.get("predictions", []):
                        yield prediction["file"], model, group["id"], item


def _where(item: dict[str, Any]) -> dict[str, Any]:
    """Frame/time for faces, begin/end for intervals, text for language and entities."""
    where: dict[str, Any] = {}
    if "frame" in item:
        where.update(frame=item["frame"], time=item["time"])
    elif isinstance(item.get("time"), dict):
        where.update(begin=item["time"]["begin"], end=item["time"]["end"])
    if "text" in item or "entity" in item:
        where["text"] = item.get("text", item.get("entity"))
    return where


def _csv(rows: list[dict[str, Any]]) -> str:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
