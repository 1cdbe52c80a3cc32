"""The card's preview gallery: a grid of sampled records with their boxes drawn and named.
Deterministic: the same records give the same PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageDraw

from schemas.records import Record, record_boxes, record_images

TILE = 256
COLUMNS = 4
COLOURS = ("#ff3b30", "#34c759", "#0a84ff", "#ffcc00", "#af52de", "#ff9500")


def pick_records(records: list[Record], n: int) -> list[Record]:
    """Up to n records with boxes, in record-id order: the first of each image modality,
    then the first of each (source, task), then the rest."""
    with_boxes = sorted((r for r in records if record_boxes(r)), key=lambda r: r.record_id)
    picked: list[Record] = []
    modalities: set[str] = set()
    for r in with_boxes:
        modality = record_images(r)[0].modality
        if modality not in modalities:
            modalities.add(modality)
            picked.append(r)
    seen = {(r.provenance.source_dataset, r.task) for r in picked}
    for r in with_boxes:
        key = (r.provenance.source_dataset, r.task)
        if key not in seen:
            seen.add(key)
            picked.append(r)
    for r in with_boxes:
        if len(picked) >= n:
            break
        if r not in picked:
            picked.append(r)
    return picked[:n]


def _tile(record: Record, read_image: Callable[[str], bytes]) -> Image.Image:
    ref = record_images(record)[0]
    with Image.open(io.BytesIO(read_image(ref.study_id))) as img:
        tile = img.convert("RGB").resize((TILE, TILE), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(tile)
    for i, nb in enumerate(b for b in record_boxes(record) if getattr(b, "image_index", 0) == 0):
        colour = COLOURS[i % len(COLOURS)]
        x1, y1, x2, y2 = nb.box.to_pixels(TILE, TILE)
        draw.rectangle([x1, y1, x2, y2], outline=colour, width=2)
        if nb.label:
            draw.text((x1 + 2, max(0, y1 - 11)), nb.label, fill=colour)
    draw.rectangle([0, TILE - 14, TILE, TILE], fill="black")
    caption = f"{ref.modality} | {record.provenance.source_dataset} | {record.task}"
    draw.text((3, TILE - 13), caption, fill="white")
    return tile


def render_gallery(
    records: list[Record], read_image: Callable[[str], bytes], n: int = 12
) -> bytes | None:
    """PNG bytes of the gallery, or None when no record has a box."""
    picked = pick_records(records, n)
    if not picked:
        return None
    rows = (len(picked) + COLUMNS - 1) // COLUMNS
    sheet = Image.new("RGB", (COLUMNS * TILE, rows * TILE), "white")
    for i, record in enumerate(picked):
        sheet.paste(_tile(record, read_image), ((i % COLUMNS) * TILE, (i // COLUMNS) * TILE))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()
