"""A CT volume in the one canonical orientation of the project, and the reorientation that
gets it there whatever the file's axis order (RAS, LAS, LPS, permuted axes...).

Canonical orientation (nibabel axis codes): ``("L", "P", "S")``: array axis 0 runs from the
patient's right to the patient's left, axis 1 from anterior to posterior, axis 2 from feet to
head. It is DICOM's patient frame (LPS) as array axes, so the two radiographic views are plain
sums: frontal along axis 1, lateral along axis 0 (``extractors.ct.projection``).

Only flips and axis permutations are applied (exact, no interpolation): a file whose axes are
not aligned with the patient's axes (an oblique or gantry-tilted acquisition) is refused with a
``GeometryError`` instead of being silently resampled."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from nibabel import orientations as nio

CANONICAL_AXCODES: tuple[str, str, str] = ("L", "P", "S")
# How far (degrees) a voxel axis may deviate from the nearest patient axis before the volume
# counts as oblique / tilted. Scanner round-off in headers is far below this.
MAX_OBLIQUITY_DEG = 0.5


class GeometryError(ValueError):
    """A volume whose grid cannot be put in the canonical orientation by flips and
    permutations (oblique, tilted, degenerate)."""


@dataclass(frozen=True)
class Reorientation:
    """The exact flips and permutation that take an array from its file's axis order to the
    canonical one. The same transform is applied to the CT and to each of its masks."""

    ornt: np.ndarray  # nibabel orientation transform (axis, flip) per input axis
    source_axcodes: tuple[str, str, str]

    def apply(self, array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(nio.apply_orientation(array, self.ornt))

    def shape(self, shape: tuple[int, ...]) -> tuple[int, int, int]:
        """The canonical shape of an array of ``shape`` in the file's axis order."""
        out = [0, 0, 0]
        for axis, (target, _flip) in enumerate(self.ornt):
            out[int(target)] = int(shape[axis])
        return (out[0], out[1], out[2])

    def affine(self, affine: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The affine of the reoriented array (same world coordinates)."""
        return affine @ nio.inv_ornt_aff(self.ornt, shape[:3])


@dataclass(frozen=True)
class CtVolume:
    """Hounsfield units on the canonical grid, with voxel spacing in mm (per canonical axis)
    and the canonical affine (RAS world, as nibabel). ``source_axcodes`` records the file's
    own orientation for reports; no header value other than geometry is kept."""

    hu: np.ndarray  # int16 or float32, shape (x: R->L, y: A->P, z: I->S)
    spacing: tuple[float, float, float]
    affine: np.ndarray
    source_axcodes: tuple[str, str, str] = CANONICAL_AXCODES

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.hu.shape)  # type: ignore[return-value]


def axis_obliquity_deg(affine: np.ndarray) -> list[float]:
    """For each voxel axis, its angle (degrees) to the nearest patient axis."""
    cols = np.asarray(affine, dtype=np.float64)[:3, :3]
    norms = np.linalg.norm(cols, axis=0)
    if np.any(norms <= 0) or not np.all(np.isfinite(cols)):
        raise GeometryError(f"degenerate affine (zero or non-finite voxel axis): {cols.tolist()}")
    cosines = np.abs(cols / norms).max(axis=0)
    return [float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))) for c in cosines]


def check_axis_aligned(affine: np.ndarray, what: str) -> None:
    """Raise GeometryError when a voxel axis of ``affine`` is tilted from the patient axes or
    two voxel axes point along the same patient axis."""
    angles = axis_obliquity_deg(affine)
    worst = max(angles)
    if worst > MAX_OBLIQUITY_DEG:
        axis = angles.index(worst)
        raise GeometryError(
            f"{what}: voxel axis {axis} is tilted {worst:.1f} degrees from the nearest patient "
            f"axis (oblique or gantry-tilted acquisition; at most {MAX_OBLIQUITY_DEG} accepted): "
            "resample it to an axis-aligned grid first"
        )
    dominant = np.abs(np.asarray(affine)[:3, :3]).argmax(axis=0)
    if len(set(dominant.tolist())) != 3:
        raise GeometryError(f"{what}: two voxel axes point along the same patient axis")


def reorientation_of(affine: np.ndarray, what: str = "volume") -> Reorientation:
    """The exact transform from an axis-aligned file grid to the canonical orientation."""
    check_axis_aligned(affine, what)
    source = nio.io_orientation(affine)
    target = nio.axcodes2ornt(CANONICAL_AXCODES)
    return Reorientation(
        ornt=nio.ornt_transform(source, target),
        source_axcodes=tuple(nio.ornt2axcodes(source)),  # type: ignore[arg-type]
    )


def voxel_spacing(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel size (mm) along each array axis of an affine."""
    norms = np.linalg.norm(np.asarray(affine, dtype=np.float64)[:3, :3], axis=0)
    return (float(norms[0]), float(norms[1]), float(norms[2]))


def canonical_volume(hu: np.ndarray, affine: np.ndarray, what: str = "volume") -> CtVolume:
    """A 3D HU array with its file affine (RAS world) as a canonical CtVolume."""
    if hu.ndim != 3:
        raise GeometryError(f"{what}: expected a 3D volume, got shape {hu.shape}")
    transform = reorientation_of(affine, what)
    data = transform.apply(hu)
    new_affine = transform.affine(np.asarray(affine, dtype=np.float64), hu.shape)
    return CtVolume(
        hu=data,
        spacing=voxel_spacing(new_affine),
        affine=new_affine,
        source_axcodes=transform.source_axcodes,
    )


def same_grid(a_shape, a_affine, b_shape, b_affine, tol_mm: float = 1e-2) -> str | None:
    """Why two grids differ (shape, or affine beyond ``tol_mm``), or None when they match."""
    if tuple(a_shape)[:3] != tuple(b_shape)[:3]:
        return f"shape {tuple(b_shape)[:3]} does not match the CT's {tuple(a_shape)[:3]}"
    diff = float(np.abs(np.asarray(a_affine, float) - np.asarray(b_affine, float)).max())
    if diff > tol_mm:
        return f"affine differs from the CT's by up to {diff:.3g} mm (tolerance {tol_mm} mm)"
    return None
