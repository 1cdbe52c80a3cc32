"""Organ masks on disk, read onto a volume's canonical grid:

- a multilabel NIfTI whose values are TotalSegmentator "total" class ids (TotalSegmentator's
  ``--ml`` output);
- a folder with one binary NIfTI per class, named ``<class>.nii.gz`` (its default output;
  files not named after a class are passed over);
- a single ``<class>.nii.gz`` file.

Every file is put in the canonical orientation with its own affine, then must lie on the
given grid (``extractors.volume.grid``: same shape, affines within the one tolerance), or,
without a grid, on the first file's. The codes of bad masks come from ``MaskRules``; which
masks are too empty to use is the caller's rule."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from extractors.volume.classes import totalseg_classes
from extractors.volume.grid import require_same_grid
from extractors.volume.nifti import is_nifti, nifti_stem, read_nifti
from extractors.volume.orientation import reorientation_of
from extractors.volume.reasons import MaskRules
from schemas.enums import Reason
from schemas.errors import ItemError

Grid = tuple[Sequence[int], np.ndarray]


@dataclass
class MaskSet:
    """Masks on one canonical grid: a multilabel map (``labels``, TotalSegmentator ids) or
    one boolean array per class (``per_class``); ``class_files`` names every class file a
    folder held, loaded or not."""

    shape: tuple[int, int, int]
    affine: np.ndarray
    labels: np.ndarray | None = None
    per_class: dict[str, np.ndarray] = field(default_factory=dict)
    class_files: list[str] = field(default_factory=list)


@dataclass
class _Target:
    """The grid masks must lie on: given, or set by the first file read."""

    grid: Grid | None
    ref: str

    def place(self, path: Path, what: str, rules: MaskRules) -> np.ndarray:
        data, affine = read_nifti(path, what, rules.read)
        transform = reorientation_of(affine, what, rules.geometry)
        grid = (transform.shape(data.shape), transform.affine(affine, data.shape))
        if self.grid is None:
            self.grid, self.ref = grid, f"{what}'s"
        else:
            require_same_grid(what, "organ mask", grid, self.ref, self.grid, rules.grid)
        return transform.apply(data)


def read_organ_masks(
    path: Path,
    rules: MaskRules,
    grid: Grid | None = None,
    *,
    ref: str = "volume",
    classes: Collection[str] | None = None,
) -> MaskSet:
    """The masks at ``path`` on ``grid`` (the ``ref`` volume's). ``classes`` limits which
    class files of a folder are read (all named after a class when None)."""
    if not path.exists():
        raise ItemError(Reason.FILE_MISSING, f"{path.name}: masks not found")
    names = totalseg_classes()
    known = set(names.values())
    target = _Target(grid, ref)
    if path.is_dir():
        files = {
            nifti_stem(f): f
            for f in sorted(path.iterdir())
            if f.is_file() and is_nifti(f) and nifti_stem(f) in known
        }
        if not files:
            raise ItemError(
                rules.no_files,
                f"{path.name}: no <class>.nii.gz file named after a TotalSegmentator class",
            )
        per_class = {
            name: target.place(f, f"{path.name}/{f.name}", rules) > 0.5
            for name, f in files.items()
            if classes is None or name in classes
        }
        return _mask_set(target, per_class=per_class, class_files=sorted(files))
    if not is_nifti(path):
        raise ItemError(
            rules.read,
            f"{path.name}: masks must be a NIfTI file or a folder of <class>.nii.gz files",
        )
    data = target.place(path, path.name, rules)
    if nifti_stem(path) in known:
        return _mask_set(target, per_class={nifti_stem(path): data > 0.5})
    return _mask_set(target, labels=_class_ids(data, path.name, rules))


def _mask_set(target: _Target, **parts) -> MaskSet:
    assert target.grid is not None
    shape, affine = target.grid
    return MaskSet(tuple(int(n) for n in shape), np.asarray(affine), **parts)  # type: ignore[arg-type]


def _class_ids(data: np.ndarray, what: str, rules: MaskRules) -> np.ndarray:
    """A multilabel map whose values must all be TotalSegmentator "total" class ids."""
    if data.dtype.kind == "f":
        if not np.allclose(data, np.rint(data)):
            raise ItemError(
                rules.read,
                f"{what}: a multilabel mask must hold integer class ids, found fractions",
            )
        data = np.rint(data)
    if data.size == 0:
        return data.astype(np.int16)
    names = totalseg_classes()
    top, bottom = int(np.max(data)), int(np.min(data))
    unknown = [v for v in range(1, top + 1) if v not in names]
    unknown = [v for v in unknown if np.any(data == v)] if unknown else []
    if bottom < 0 or top > max(names) or unknown:
        bad = sorted({v for v in (bottom, top) if v < 0 or v > max(names)} | set(unknown))
        raise ItemError(
            rules.read,
            f"{what}: label values {bad[:5]} are not TotalSegmentator 'total' class ids "
            f"(1..{max(names)})",
        )
    return data.astype(np.int16)
