"""The one canonical orientation of the project, and the ``Volume`` that is in it.

Canonical orientation (nibabel axis codes): ``("L", "P", "S")``: array axis 0 runs from the
patient's right to the patient's left, axis 1 from anterior to posterior, axis 2 from feet to
head. It is DICOM's patient frame (LPS) as array axes, so the radiographic views are plain
sums (frontal along axis 1, lateral along axis 0) and a CT, a PET and their masks share one
indexing. ``affine`` maps voxel indices to RAS millimetres (nibabel's world).

Only flips and axis permutations are applied (exact, no interpolation): a grid whose axes are
not aligned with the patient's axes (an oblique or gantry-tilted acquisition) is refused with
an ``ItemError`` (``ct_geometry`` unless the caller names another code) instead of being
silently resampled. The transform is kept with the volume (TorchIO keeps the affine with the
data in the same way), so masks and report slice numbers can follow the file's own order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from nibabel import orientations as nio

from schemas.enums import Reason
from schemas.errors import ItemError

CANONICAL_AXCODES: tuple[str, str, str] = ("L", "P", "S")
# How far (degrees) a voxel axis may deviate from the nearest patient axis before the volume
# counts as oblique / tilted. Scanner round-off in headers is far below this.
MAX_OBLIQUITY_DEG = 0.5


@dataclass(frozen=True)
class Reorientation:
    """The exact flips and permutation that take an array from its file's axis order to the
    canonical one. The same transform is applied to a volume and to each of its masks."""

    ornt: np.ndarray  # nibabel orientation transform (target axis, flip) per input axis
    source_axcodes: tuple[str, str, str]

    def apply(self, array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(nio.apply_orientation(np.asarray(array), self.ornt))

    def shape(self, shape: tuple[int, ...]) -> tuple[int, int, int]:
        """The canonical shape of an array of ``shape`` in the file's axis order."""
        out = [0, 0, 0]
        for axis, (target, _flip) in enumerate(self.ornt):
            out[int(target)] = int(shape[axis])
        return (out[0], out[1], out[2])

    def affine(self, affine: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The affine of the reoriented array (same world coordinates)."""
        return np.asarray(affine, dtype=np.float64) @ nio.inv_ornt_aff(self.ornt, shape[:3])

    @property
    def z_source_axis(self) -> int:
        """The file axis that became canonical z (feet -> head)."""
        return next(i for i in range(3) if int(self.ornt[i, 0]) == 2)

    @property
    def z_flipped(self) -> bool:
        """Canonical z runs against the file's order along that axis."""
        return bool(self.ornt[self.z_source_axis, 1] < 0)


IDENTITY = Reorientation(nio.axcodes2ornt(CANONICAL_AXCODES), CANONICAL_AXCODES)


class OnGrid:
    """Shape, voxel size and voxel volume of anything holding an array on the canonical grid
    (``grid_data``) with its ``affine``: a ``Volume``, a PET/CT exam."""

    affine: np.ndarray

    @property
    def grid_data(self) -> np.ndarray:
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.grid_data.shape)  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size (mm) along each canonical axis."""
        return voxel_spacing(self.affine)

    @property
    def voxel_ml(self) -> float:
        sx, sy, sz = self.spacing
        return sx * sy * sz / 1000.0


@dataclass(frozen=True)
class Volume(OnGrid):
    """A 3D array on the canonical grid with its affine (RAS mm), how the file's grid was
    turned to get there, and what kind of file it came from. HU for a CT, SUV for a PET,
    labels for a mask: the array's meaning is the caller's; no header value but geometry is
    kept."""

    data: np.ndarray  # [x: right->left, y: anterior->posterior, z: feet->head]
    affine: np.ndarray
    reorientation: Reorientation = IDENTITY
    kind: str = "array"  # "nifti", "dicom", "itk" (NRRD, MHA...) or "array"

    @property
    def grid_data(self) -> np.ndarray:
        return self.data

    @property
    def source_axcodes(self) -> tuple[str, str, str]:
        return self.reorientation.source_axcodes


def voxel_spacing(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel size (mm) along each array axis of an affine."""
    norms = np.linalg.norm(np.asarray(affine, dtype=np.float64)[:3, :3], axis=0)
    return (float(norms[0]), float(norms[1]), float(norms[2]))


def axis_obliquity_deg(affine: np.ndarray) -> list[float]:
    """For each voxel axis, its angle (degrees) to the nearest patient axis (ValueError for
    a degenerate affine)."""
    cols = np.asarray(affine, dtype=np.float64)[:3, :3]
    norms = np.linalg.norm(cols, axis=0)
    if np.any(norms <= 0) or not np.all(np.isfinite(cols)):
        raise ValueError(f"degenerate affine (zero or non-finite voxel axis): {cols.tolist()}")
    cosines = np.abs(cols / norms).max(axis=0)
    return [float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))) for c in cosines]


def check_axis_aligned(affine: np.ndarray, what: str, reason: Reason = Reason.CT_GEOMETRY) -> None:
    """Raise ItemError(``reason``) when a voxel axis of ``affine`` is tilted from the patient
    axes, degenerate, or two voxel axes point along the same patient axis."""
    try:
        angles = axis_obliquity_deg(affine)
    except ValueError as exc:
        raise ItemError(reason, f"{what}: {exc}") from None
    worst = max(angles)
    if worst > MAX_OBLIQUITY_DEG:
        axis = angles.index(worst)
        raise ItemError(
            reason,
            f"{what}: voxel axis {axis} is tilted {worst:.1f} degrees from the nearest patient "
            f"axis (oblique or gantry-tilted acquisition; at most {MAX_OBLIQUITY_DEG} accepted): "
            "resample it to an axis-aligned grid first",
        )
    dominant = np.abs(np.asarray(affine)[:3, :3]).argmax(axis=0)
    if len(set(dominant.tolist())) != 3:
        raise ItemError(reason, f"{what}: two voxel axes point along the same patient axis")


def reorientation_of(
    affine: np.ndarray, what: str = "volume", reason: Reason = Reason.CT_GEOMETRY
) -> Reorientation:
    """The exact transform from an axis-aligned file grid to the canonical orientation."""
    check_axis_aligned(affine, what, reason)
    source = nio.io_orientation(affine)
    return Reorientation(
        ornt=nio.ornt_transform(source, nio.axcodes2ornt(CANONICAL_AXCODES)),
        source_axcodes=tuple(nio.ornt2axcodes(source)),  # type: ignore[arg-type]
    )


def to_canonical(
    data: np.ndarray,
    affine: np.ndarray,
    what: str = "volume",
    *,
    kind: str = "array",
    reason: Reason = Reason.CT_GEOMETRY,
) -> Volume:
    """A 3D array with its file affine (RAS world) as a canonical ``Volume``; an oblique or
    tilted grid raises ItemError(``reason``) naming ``what``."""
    data = np.asarray(data)
    if data.ndim != 3:
        raise ItemError(reason, f"{what}: expected a 3D volume, got shape {data.shape}")
    transform = reorientation_of(affine, what, reason)
    return Volume(transform.apply(data), transform.affine(affine, data.shape), transform, kind)


def stored_as(
    data: np.ndarray, affine: np.ndarray, axcodes: tuple[str, ...] | str
) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of ``to_canonical``: a canonical array and its affine as a file stored
    in ``axcodes`` would hold them (synthetic corpora written in many orientations)."""
    transform = nio.ornt_transform(
        nio.axcodes2ornt(CANONICAL_AXCODES), nio.axcodes2ornt(tuple(axcodes))
    )
    out = nio.apply_orientation(np.asarray(data), transform)
    return np.ascontiguousarray(out), np.asarray(affine) @ nio.inv_ornt_aff(transform, data.shape)
