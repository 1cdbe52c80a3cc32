"""Phrase-grounding examples of a release, read through ``datasets.load_dataset``: an image
resized to a square grid, the finding label, and its one answer box (canonical, 0-1). The
records are joined to their images by ``shards.load_release.load_records`` (the code every
release of layout ``once`` carries as ``load_release.py``), so either layout reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

GROUNDING_TASK = "phrase_grounding"


@dataclass(frozen=True)
class Example:
    record_id: str
    image: np.ndarray  # float32 (size, size) in [0, 1]
    label: str
    boxes: tuple[tuple[float, float, float, float], ...]  # x1, y1, x2, y2 in [0, 1]

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The answer box of a single-box example (the ones the metric scores)."""
        (only,) = self.boxes
        return only


def load_examples(
    release: Path, config: str, split: str, size: int, *, single_box: bool
) -> list[Example]:
    """Phrase-grounding records of one split; ``single_box`` keeps only answers of exactly
    one box (what the MedSG-Bench metric scores), else every answer is a training target."""
    from PIL import Image

    from shards.load_release import load_records

    try:
        ds = load_records(str(release), config, split)
    except ValueError as exc:  # the split does not exist in this release
        if "split" in str(exc).lower():
            return []
        raise
    examples = []
    for row in ds:
        record = row["json"]
        n_boxes = len(record["answer_boxes"])
        if record["task"] != GROUNDING_TASK or not n_boxes or (single_box and n_boxes != 1):
            continue
        image = row["png"].convert("L").resize((size, size), Image.Resampling.BILINEAR)
        examples.append(
            Example(
                record_id=record["record_id"],
                image=np.asarray(image, dtype=np.float32) / 255.0,
                label=record["label"],
                boxes=tuple((b["x1"], b["y1"], b["x2"], b["y2"]) for b in record["answer_boxes"]),
            )
        )
    examples.sort(key=lambda e: e.record_id)
    return examples
