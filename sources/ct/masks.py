"""Organ masks of a CT case, on the CT's canonical grid, as ``extractors.volume.sparse.ClassMasks``:
the masks the dataset ships (``extractors.volume.masks``: a multilabel NIfTI of
TotalSegmentator "total" ids, a folder of ``<class>.nii.gz`` files, or one such file), or,
with none, TotalSegmentator run on the CT when its weights are on disk
(``extractors.ct.totalseg``).

A mask off the CT's grid is ``mask_mismatch``. Masks in which no structure has a voxel end as
``mask_empty``; single empty classes are listed, not errors (an organ outside the field of
view is normal)."""

from __future__ import annotations

from pathlib import Path

from extractors.ct.taxonomy import source_classes
from extractors.volume import CT_MASKS, Volume, read_organ_masks, totalseg_classes
from extractors.volume.sparse import ClassMasks
from schemas.enums import Reason
from schemas.errors import ItemError


def load_masks(path: str | Path, ct: Volume) -> ClassMasks:
    """The masks at ``path`` (multilabel file, one-class file or per-class folder); a
    folder's classes the anatomy taxonomy does not use are not read."""
    p = Path(path)
    found = read_organ_masks(p, CT_MASKS, (ct.shape, ct.affine), ref="CT", classes=source_classes())
    if found.labels is not None:
        masks = ClassMasks.from_label_volume(found.labels, totalseg_classes())
    else:
        masks = ClassMasks.from_dense(ct.shape, found.per_class)
        if found.class_files and not masks.masks:
            masks.empty = list(found.class_files)  # every class file, used or not, is empty
    if not masks.masks:
        raise ItemError(
            Reason.MASK_EMPTY,
            f"{p.name}: every mask is empty ({len(masks.empty)} class(es) without a voxel)",
        )
    return masks
