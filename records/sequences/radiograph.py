"""Sequence records made from one 2D image: an edited copy (Registered_Diff), an edited and
misaligned copy (Non_Registered_Diff), and a crop (patch). The edits come from
``extractors.edits``, so every answer box is the box of a known changed region."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from extractors.edits import (
    Affine,
    Edit,
    crop,
    insert_lesion,
    misalign,
    remove_region,
)
from extractors.masks import mask_box
from records.sequences.common import Publisher, image_box, make_sequence, pixel_box
from schemas.enums import MedSGTask
from schemas.records import Finding, Provenance, SequenceRecord, Study

EXTRACTOR = "records.sequences"
VERSION = "1"


def item_rng(seed: int, study_id: str, task: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}/{task}/{study_id}".encode()).hexdigest()
    return np.random.default_rng(int(digest[:16], 16))


def provenance_of(study: Study, confidence: float = 1.0) -> Provenance:
    return Provenance.of(study, EXTRACTOR, VERSION, confidence)


def _finding_box_px(f: Finding, width: int, height: int) -> tuple[int, int, int, int] | None:
    if f.box is None or not f.present:
        return None
    box = f.box.box.to_enclosing_pixels(width, height)
    return box if box[2] - box[0] >= 2 and box[3] - box[1] >= 2 else None


def local_edit(
    pixels: np.ndarray, findings: Sequence[Finding], rng: np.random.Generator
) -> Edit | None:
    """Remove a boxed finding (half the time, when the image has one) or insert a lesion
    somewhere in the middle of the image; None when the edit would change nothing."""
    h, w = pixels.shape[:2]
    boxes = [b for f in findings if (b := _finding_box_px(f, w, h)) is not None]
    if boxes and rng.random() < 0.5:
        edit = remove_region(pixels, boxes[int(rng.integers(len(boxes)))])
        if np.count_nonzero(edit.changed) >= 4:
            return edit
    radius = rng.uniform(0.025, 0.06) * min(h, w)
    centre = (rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w)
    edit = insert_lesion(pixels, centre, radius, rng.uniform(45, 90))
    return edit if np.count_nonzero(edit.changed) >= 4 else None


def random_affine(rng: np.random.Generator, shape: tuple[int, int]) -> Affine:
    h, w = shape
    return Affine(
        degrees=float(rng.uniform(-8, 8)),
        scale=float(rng.uniform(0.92, 1.08)),
        dx=float(rng.uniform(-0.06, 0.06) * w),
        dy=float(rng.uniform(-0.06, 0.06) * h),
    )


def radiograph_sequences(
    base: Study,
    pixels: np.ndarray,
    findings: Sequence[Finding],
    publish: Publisher,
    *,
    seed: int,
) -> list[SequenceRecord]:
    """Registered_Diff, Non_Registered_Diff and patch records for one published image."""
    h, w = pixels.shape[:2]
    prov = provenance_of(base)
    records: list[SequenceRecord] = []

    def diff(task: MedSGTask, key: str, view: str, result: Edit, kind: str) -> None:
        """One difference record: the base image and the copy, the changed region's box."""
        box = mask_box(result.changed)
        if box is None:
            return
        copy = publish(key, result.pixels, view)
        records.append(
            make_sequence(
                task,
                [base, copy],
                answer=[image_box(1, pixel_box(box, w, h), kind)],
                id_parts=(kind,),
                seed=seed,
                provenance=prov,
            )
        )

    edit = local_edit(pixels, findings, item_rng(seed, base.study_id, "registered"))
    if edit is not None:
        diff(MedSGTask.REGISTERED_DIFF, "registered-diff", "edited", edit, edit.kind)

    rng = item_rng(seed, base.study_id, "non-registered")
    edit = local_edit(pixels, findings, rng)
    if edit is not None:
        moved = misalign(edit.pixels, edit.changed, random_affine(rng, (h, w)))
        diff(
            MedSGTask.NON_REGISTERED_DIFF,
            "non-registered-diff",
            "edited, misaligned",
            moved,
            edit.kind,
        )

    rng = item_rng(seed, base.study_id, "patch")
    cw, ch = (max(8, int(rng.uniform(0.25, 0.45) * n)) for n in (w, h))
    x1, y1 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    box = (x1, y1, x1 + cw, y1 + ch)
    patch = publish("patch", crop(pixels, box), "crop")
    records.append(
        make_sequence(
            MedSGTask.PATCH,
            [base, patch],
            answer=[image_box(0, pixel_box(box, w, h), "patch")],
            id_parts=("patch",),
            seed=seed,
            provenance=prov,
        )
    )
    return records
