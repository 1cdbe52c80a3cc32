"""2D mask files as Findings: read a mask (PNG or JPEG, grey, palette or colour), split it into
labels (by value, or one label per file), combine observers, and take boxes from it
(``extractors.masks.mask_boxes``).

- Values: ``exact`` (lossless masks): a pixel's value names its label; a value ``labels``
  does not name is set aside (``label_unmapped``, its pixel count in the message).
  ``nearest`` (JPEG masks, interpolated edges): each pixel goes to the closest of 0 and
  the label values, so a 0/255 mask is thresholded at 128.
- Observers (several mask files of one label, one per observer): the boxes are those of
  the majority mask (pixels at least half of the observers marked); every observer's own
  box is kept on the Finding and in the records' provenance (``readers``), and the
  mean pairwise mask IoU (``extractors.masks.mask_iou``) is the weak-label confidence.
- Components under ``min_component_pixels`` are not boxed: one ``mask_component_small``
  row per mask and label says how many and their sizes (nothing is lost silently).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image

from extractors.masks import mask_box, mask_boxes, mask_iou
from schemas.boxes import Box
from schemas.enums import Reason, Stage, Unit
from schemas.errors import ItemError
from schemas.identity import stable_id
from schemas.records import Finding, NamedBox, QuarantineRow, ReaderBox, Study
from sources.base import SourceItem

LOSSY_SUFFIXES = (".jpg", ".jpeg")


def mask_quarantine(
    item: SourceItem, study_id: str, reason: Reason, message: str, ref: str
) -> QuarantineRow:
    """A row for one mask file, one label value of it, or its small components."""
    return QuarantineRow(
        stage=Stage.FINDINGS.value,
        reason=reason.value,
        unit=Unit.MASK.value,
        message=message,
        source_dataset=item.dataset,
        source_ref=ref,
        item_id=study_id,
    )


def read_mask(path: str) -> np.ndarray:
    """A mask file as a 2D integer array: grey and 16-bit values as stored, palette images
    as their indices, colour masks as their luminance."""
    name = Path(path).name
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("P", "L", "I", "I;16", "I;16B", "I;16L", "1"):
                arr = np.asarray(img)
            else:
                arr = np.asarray(img.convert("L"))
    except FileNotFoundError:
        raise ItemError(Reason.FILE_MISSING, f"mask {name}: file not found") from None
    except Exception as exc:  # Pillow raises many types for a broken file
        raise ItemError(Reason.MASK_READ_ERROR, f"mask {name}: does not decode: {exc}") from None
    if arr.ndim != 2:
        raise ItemError(Reason.MASK_READ_ERROR, f"mask {name}: not a 2D mask ({arr.shape})")
    return arr.astype(np.int64)


def check_size(arr: np.ndarray, shape: tuple[int, int], path: str, image: str) -> None:
    if arr.shape != shape:
        raise ItemError(
            Reason.MASK_MISMATCH,
            f"mask {Path(path).name} is {arr.shape[1]} x {arr.shape[0]} pixels, its image "
            f"{Path(image).name} is {shape[1]} x {shape[0]}: not used (the item's labels "
            "would be incomplete)",
        )


def values_mode(mode: str, path: str) -> str:
    """``exact`` or ``nearest`` for a file (``auto``: nearest for JPEG, else exact)."""
    if mode != "auto":
        return mode
    return "nearest" if Path(path).suffix.lower() in LOSSY_SUFFIXES else "exact"


def split_values(
    arr: np.ndarray, values: dict[int, str], mode: str
) -> tuple[dict[str, np.ndarray], dict[int, int]]:
    """Per label, its pixels in a value mask; and the unnamed values with their pixel counts
    (``exact`` only: ``nearest`` assigns every pixel)."""
    out: dict[str, np.ndarray] = {}
    if mode == "nearest":
        levels = np.array([0, *values], dtype=np.int64)
        nearest = levels[np.abs(arr[..., None] - levels).argmin(axis=-1)]
        for value, label in values.items():
            out[label] = out.get(label, np.zeros(arr.shape, bool)) | (nearest == value)
        return out, {}
    found, counts = np.unique(arr, return_counts=True)
    unnamed = {int(v): int(n) for v, n in zip(found, counts, strict=True) if v and v not in values}
    for value, label in values.items():
        out[label] = out.get(label, np.zeros(arr.shape, bool)) | (arr == value)
    return out, unnamed


def foreground(arr: np.ndarray, mode: str) -> np.ndarray:
    """The marked pixels of a one-label mask: non-zero (``exact``), or nearer the file's
    full value than 0 (``nearest``: at least 128 in an 8-bit file)."""
    if mode == "nearest":
        top = 255 if arr.max() <= 255 else 65535
        return arr * 2 >= top
    return arr != 0


@dataclass
class LabelMasks:
    """One label (and instance) of an item: each observer's mask (None when that observer
    drew none) and the files they came from."""

    label: str
    instance: str
    masks: list[np.ndarray | None]
    refs: list[str]

    def consensus(self) -> np.ndarray:
        drawn = [m for m in self.masks if m is not None]
        votes = np.sum(drawn, axis=0)
        return votes * 2 >= len(self.masks)

    def agreement(self) -> float:
        """Mean pairwise mask IoU of the observers (1.0 with one observer)."""
        if len(self.masks) < 2:
            return 1.0
        shape = next(m.shape for m in self.masks if m is not None)
        full = [m if m is not None else np.zeros(shape, bool) for m in self.masks]
        pairs = [mask_iou(a, b) for a, b in combinations(full, 2)]
        return float(np.mean(pairs))


def findings_from_masks(
    item: SourceItem,
    study: Study,
    labels: list[LabelMasks],
    *,
    boxes: str,
    min_pixels: int,
    absent: list[str],
) -> tuple[list[Finding], list[QuarantineRow]]:
    """Findings of an item's label masks on its published study: one per box (source pixel
    edges normalised on the source grid), and one absence per label of ``absent``."""
    width, height = study.source_width, study.source_height
    findings: list[Finding] = []
    rejected: list[QuarantineRow] = []
    for lm in labels:
        mask = lm.consensus()
        result = mask_boxes(mask, "whole" if boxes == "whole" else "components", min_pixels)
        if result.dropped:
            sizes = ", ".join(str(c.pixels) for c in result.dropped[:10])
            rejected.append(
                mask_quarantine(
                    item,
                    study.study_id,
                    Reason.MASK_COMPONENT_SMALL,
                    f"{', '.join(Path(r).name for r in lm.refs)}: {len(result.dropped)} "
                    f"component(s) of {lm.label} under min_component_pixels={min_pixels} "
                    f"not boxed (sizes {sizes})",
                    lm.refs[0],
                )
            )
        confidence = lm.agreement()
        for comp in result.kept:
            region = _region(mask, comp.box) if boxes != "whole" else None
            observers = [
                _observer_box(m, region, comp.box, k, width, height, lm.label)
                for k, m in enumerate(lm.masks)
            ]
            box = Box.from_pixels(*comp.box, width, height)
            findings.append(
                Finding(
                    finding_id=stable_id(
                        "finding", study.study_id, lm.label, True, lm.instance, comp.box
                    ),
                    study_id=study.study_id,
                    patient_id=study.patient_id,
                    label=lm.label,
                    present=True,
                    box=NamedBox.of(box, lm.label),
                    source_row=None,
                    extractor=item.extractor,
                    extractor_version=item.extractor_version,
                    confidence=confidence,
                    readers=[b for b in observers if b is not None] if len(lm.masks) > 1 else [],
                )
            )
    for label in absent:
        findings.append(
            Finding(
                finding_id=stable_id("finding", study.study_id, label, False, None),
                study_id=study.study_id,
                patient_id=study.patient_id,
                label=label,
                present=False,
                box=None,
                source_row=None,
                extractor=item.extractor,
                extractor_version=item.extractor_version,
                confidence=1.0,
            )
        )
    return findings, rejected


def _region(mask: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The pixels of the component's box (observer boxes are looked for inside it)."""
    region = np.zeros(mask.shape, bool)
    x1, y1, x2, y2 = box
    region[y1:y2, x1:x2] = True
    return region


def _observer_box(
    mask: np.ndarray | None,
    region: np.ndarray | None,
    box: tuple[int, int, int, int],
    observer: int,
    width: int,
    height: int,
    label: str,
) -> ReaderBox | None:
    """Observer ``observer``'s own box of one consensus component: its mask's box where it
    overlaps the component's box (``whole``: its mask's box), as reader ``observer <n>``."""
    if mask is None:
        return None
    own = mask_box(mask if region is None else _grow(mask, region))
    if own is None:
        return None
    b = Box.from_pixels(*own, width, height)
    return ReaderBox(f"observer {observer + 1}", b.x1, b.y1, b.x2, b.y2, label)


def _grow(mask: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The observer's connected pieces that touch the region, whole."""
    from scipy import ndimage

    pieces, _ = ndimage.label(mask, structure=np.ones((3, 3), bool))
    touching = np.unique(pieces[region & mask])
    return np.isin(pieces, touching[touching > 0])
