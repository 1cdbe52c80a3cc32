"""Organ masks of a CT, on the CT's canonical grid, as ``extractors.ct.masks.ClassMasks``:

- a multilabel NIfTI whose values are TotalSegmentator "total" class ids
  (``example_seg.nii.gz``, TotalSegmentator's ``--ml`` output);
- a folder with one binary NIfTI per class, named ``<class>.nii.gz``
  (TotalSegmentator's default output, ``example_ct_organ_masks/``);
- a single ``<class>.nii.gz`` file;
- or, with neither, TotalSegmentator run on the CT when its weights are on disk
  (``extractors.ct.totalseg``).

Every mask is brought to the canonical orientation with its own affine, then must lie on the
CT's grid (same shape, affine within 0.01 mm): otherwise ``mask_mismatch``. Masks in which no
structure has a voxel end as ``mask_empty``; single empty classes are listed, not errors
(an organ outside the field of view is normal)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from extractors.ct.masks import ClassMasks
from extractors.ct.taxonomy import source_classes
from extractors.ct.volume import GeometryError, reorientation_of, same_grid
from schemas.enums import Reason
from sources.base import ItemError
from sources.ct.volume_io import NIFTI_SUFFIXES, LoadedCt, is_nifti, read_nifti


def totalseg_class_names() -> dict[int, str]:
    """TotalSegmentator's "total" class ids -> names, from the installed package."""
    from totalsegmentator.map_to_binary import class_map

    return dict(class_map["total"])


def _class_of(path: Path) -> str:
    name = path.name
    for suffix in NIFTI_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _on_ct_grid(path: Path, ct: LoadedCt, what: str) -> np.ndarray:
    """The mask file's array in canonical orientation, checked against the CT's grid."""
    data, affine = read_nifti(path, what, Reason.MASK_READ_ERROR)
    try:
        transform = reorientation_of(affine, what)
    except GeometryError as exc:
        raise ItemError(Reason.MASK_MISMATCH, f"{what}: {exc}") from None
    problem = same_grid(
        ct.volume.shape,
        ct.volume.affine,
        transform.shape(data.shape),
        transform.affine(affine, data.shape),
    )
    if problem:
        raise ItemError(Reason.MASK_MISMATCH, f"{what}: {problem}")
    return transform.apply(np.asarray(data))


def load_masks(path: str | Path, ct: LoadedCt) -> ClassMasks:
    """The masks at ``path`` (multilabel file, one-class file or per-class folder)."""
    p = Path(path)
    if not p.exists():
        raise ItemError(Reason.FILE_MISSING, f"{p.name}: masks not found")
    names = totalseg_class_names()
    known = set(names.values())
    if p.is_dir():
        masks = _load_folder(p, ct, known)
    elif is_nifti(p) and _class_of(p) in known:
        data = _on_ct_grid(p, ct, p.name)
        masks = ClassMasks.from_dense(ct.volume.shape, {_class_of(p): data > 0.5})
    elif is_nifti(p):
        data = _on_ct_grid(p, ct, p.name)
        if data.dtype.kind == "f" and not np.allclose(data, np.rint(data)):
            raise ItemError(
                Reason.MASK_READ_ERROR,
                f"{p.name}: a multilabel mask must hold integer class ids, found fractions",
            )
        top = int(np.max(data)) if data.size else 0
        if top > max(names):
            raise ItemError(
                Reason.MASK_READ_ERROR,
                f"{p.name}: value {top} is not a TotalSegmentator 'total' class id "
                f"(1..{max(names)})",
            )
        masks = ClassMasks.from_label_volume(data, names)
    else:
        raise ItemError(
            Reason.MASK_READ_ERROR,
            f"{p.name}: masks must be a NIfTI file or a folder of <class>.nii.gz files",
        )
    if not masks.masks:
        raise ItemError(
            Reason.MASK_EMPTY,
            f"{p.name}: every mask is empty ({len(masks.empty)} class(es) without a voxel)",
        )
    return masks


def _load_folder(folder: Path, ct: LoadedCt, known: set[str]) -> ClassMasks:
    wanted = source_classes()
    files = {
        _class_of(f): f
        for f in sorted(folder.iterdir())
        if f.is_file() and is_nifti(f) and _class_of(f) in known
    }
    if not files:
        raise ItemError(
            Reason.MASK_READ_ERROR,
            f"{folder.name}: no <class>.nii.gz file named after a TotalSegmentator class",
        )
    dense = {
        name: _on_ct_grid(path, ct, f"{folder.name}/{path.name}") > 0.5
        for name, path in files.items()
        if name in wanted
    }
    masks = ClassMasks.from_dense(ct.volume.shape, dense)
    if not masks.masks:
        masks.empty = sorted(files)  # every class file, used or not, is empty of structures
    return masks
