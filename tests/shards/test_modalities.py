"""The card's modality table and the gallery's one-record-per-modality pick."""

from __future__ import annotations

from collections import Counter

from schemas.records import ImageRef, record_images
from shards.card import CardData, render_card
from shards.gallery import pick_records
from tests.schemas.test_arrow import grounding_record


def _records() -> list:
    modalities = ["XR"] * 6 + ["ES", "MR", "XR", "DMS"]
    return [
        grounding_record(record_id=f"rec-{i:04d}", image=ImageRef(f"study-{i}", 64, 64, m))
        for i, m in enumerate(modalities)
    ]


def test_gallery_starts_with_one_record_per_modality() -> None:
    picked = pick_records(_records(), n=4)
    assert [r.record_id for r in picked] == ["rec-0000", "rec-0006", "rec-0007", "rec-0009"]
    assert [record_images(r)[0].modality for r in picked] == ["XR", "ES", "MR", "DMS"]


def test_card_lists_modalities_with_images_and_records() -> None:
    card = render_card(
        CardData(
            name="t",
            version="1",
            code_version="0",
            dataset_configs={"grounding": {"train": 10}},
            shard_counts={"grounding": {"train": 1}},
            records_by_modality=Counter({("XR", "grounding"): 7, ("ES", "grounding"): 1}),
            images_by_modality=Counter({"XR": 4, "ES": 1, "MR": 2}),
        )
    )
    section = card.split("## Modalities", 1)[1].split("##", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[1:] == [
        "| ES | endoscopy image | 1 | 1 |",
        "| MR | MR image | 2 | 0 |",
        "| XR | chest X-ray | 4 | 7 |",
    ]
