"""PET/CT volumes in one canonical orientation, and how report slice numbers map onto them.

Canonical orientation: the project's one (``extractors.ct.volume.CANONICAL_AXCODES``, nibabel
codes ``("L", "P", "S")``): a numpy array indexed ``[x, y, z]`` whose x runs from the
patient's right to the left, y from anterior to posterior, z from the feet to the head.
``affine`` maps voxel indices to RAS millimetres (nibabel's world). Only flips and axis
permutations get there; an oblique or tilted grid is refused. Display rules (radiological
convention) live in ``extractors.pet.render``.

Report slice numbers are in the exam's own convention (a DICOM series' InstanceNumber, or
the stored slice order of a NIfTI file counted from ``slice_base``); ``SliceNumbering`` keeps
the number of every canonical z so a report's "image 145" finds its slice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from nibabel.orientations import (
    apply_orientation,
    axcodes2ornt,
    inv_ornt_aff,
    io_orientation,
    ornt_transform,
)
from scipy import ndimage

from extractors.ct.volume import CANONICAL_AXCODES, GeometryError, check_axis_aligned
from schemas.enums import Reason
from schemas.errors import ItemError

CANONICAL = CANONICAL_AXCODES
AFFINE_ATOL_MM = 1e-2  # two grids are the same grid when their affines agree this closely


@dataclass(frozen=True)
class SliceNumbering:
    """The number a report uses for each canonical axial slice: ``numbers[z]``."""

    numbers: tuple[int, ...]
    convention: str  # how the numbers were made, for messages

    def index_of(self, number: int) -> int | None:
        """The canonical z of a reported slice number, None when the volume has no such slice."""
        try:
            return self.numbers.index(int(number))
        except ValueError:
            return None

    def number_of(self, z: int) -> int:
        return self.numbers[z]

    @property
    def span(self) -> tuple[int, int]:
        return (min(self.numbers), max(self.numbers))


@dataclass
class OrganMasks:
    """Organ masks on the exam grid as one label map (0 = none) and the name of each label
    (TotalSegmentator "total" class names)."""

    labels: np.ndarray  # integer, canonical grid
    names: dict[int, str]

    def mask(self, name: str) -> np.ndarray:
        ids = [i for i, n in self.names.items() if n == name]
        return np.isin(self.labels, ids) if ids else np.zeros(self.labels.shape, dtype=bool)


@dataclass
class PetVolume:
    """One PET/CT exam on one canonical grid: SUV (always), CT in HU, a lesion segmentation
    (autoPET SEG) and organ masks when the exam has them."""

    suv: np.ndarray  # float32 [x: right->left, y: anterior->posterior, z: feet->head]
    affine: np.ndarray  # 4x4, voxel -> RAS mm (nibabel world)
    numbering: SliceNumbering
    ct: np.ndarray | None = None  # HU, same grid
    seg: np.ndarray | None = None  # integer lesion labels, same grid
    organs: OrganMasks | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.suv.shape)  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        return voxel_spacing(self.affine)

    @property
    def voxel_ml(self) -> float:
        sx, sy, sz = self.spacing
        return sx * sy * sz / 1000.0


def voxel_spacing(affine: np.ndarray) -> tuple[float, float, float]:
    return tuple(float(v) for v in np.sqrt((np.asarray(affine)[:3, :3] ** 2).sum(axis=0)))  # type: ignore[return-value]


# ---- reorientation --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reoriented:
    """An array in canonical orientation, its affine, and where canonical z came from."""

    data: np.ndarray
    affine: np.ndarray
    z_source_axis: int  # the input axis that became canonical z
    z_flipped: bool  # canonical z runs against that input axis


def to_canonical(data: np.ndarray, affine: np.ndarray, what: str = "volume") -> Reoriented:
    """Reorient a 3D array and its affine to the canonical orientation (axis swaps and flips
    only); an oblique or tilted grid raises CT_GEOMETRY naming ``what``."""
    affine = np.asarray(affine, dtype=np.float64)
    try:
        check_axis_aligned(affine, what)
    except GeometryError as exc:
        raise ItemError(Reason.CT_GEOMETRY, str(exc)) from None
    current = io_orientation(affine)
    transform = ornt_transform(current, axcodes2ornt(CANONICAL))
    out = apply_orientation(np.asarray(data), transform)
    new_affine = affine @ inv_ornt_aff(transform, data.shape)
    z_axis = next(i for i in range(3) if int(transform[i, 0]) == 2)
    return Reoriented(np.ascontiguousarray(out), new_affine, z_axis, bool(transform[z_axis, 1] < 0))


def file_axis_numbering(reoriented: Reoriented, n_in_file: int, base: int) -> SliceNumbering:
    """Numbers of canonical slices when a report counts the file's stored slices from
    ``base`` along the axis that became canonical z."""
    file_index = np.arange(n_in_file)
    if reoriented.z_flipped:
        file_index = file_index[::-1]
    return SliceNumbering(
        tuple(int(i) + base for i in file_index),
        f"stored slice order along file axis {reoriented.z_source_axis + 1}, from {base}",
    )


# ---- grids ----------------------------------------------------------------------------------


def same_grid(
    shape_a: Sequence[int], affine_a: np.ndarray, shape_b: Sequence[int], affine_b: np.ndarray
) -> bool:
    return tuple(shape_a) == tuple(shape_b) and bool(
        np.allclose(affine_a, affine_b, atol=AFFINE_ATOL_MM)
    )


def resample_to_grid(
    data: np.ndarray,
    affine: np.ndarray,
    shape: Sequence[int],
    target_affine: np.ndarray,
    *,
    order: int,
    cval: float,
) -> np.ndarray:
    """``data`` (on its own grid) sampled on the target grid: linear (order 1) for images,
    nearest (order 0) for labels; outside the source field of view takes ``cval``."""
    mapping = np.linalg.inv(np.asarray(affine, dtype=np.float64)) @ np.asarray(
        target_affine, dtype=np.float64
    )
    return ndimage.affine_transform(
        np.asarray(data, dtype=np.float32 if order else data.dtype),
        mapping[:3, :3],
        offset=mapping[:3, 3],
        output_shape=tuple(int(n) for n in shape),
        order=order,
        mode="constant",
        cval=cval,
        prefilter=False,
    )


def overlap_fraction(
    shape: Sequence[int], affine: np.ndarray, target_shape: Sequence[int], target_affine: np.ndarray
) -> float:
    """Share of the target grid's voxel centres that fall inside the source grid."""
    grid = np.stack(
        np.meshgrid(*[np.linspace(0, n - 1, min(n, 12)) for n in target_shape], indexing="ij"),
        axis=-1,
    ).reshape(-1, 3)
    world = grid @ np.asarray(target_affine)[:3, :3].T + np.asarray(target_affine)[:3, 3]
    inv = np.linalg.inv(np.asarray(affine))
    idx = world @ inv[:3, :3].T + inv[:3, 3]
    inside = np.all((idx > -0.5) & (idx < np.asarray(shape) - 0.5), axis=1)
    return float(inside.mean())


def require_same_grid(
    what: str, shape: Sequence[int], affine: np.ndarray, pet: PetVolume | tuple, source: str
) -> None:
    """Raise GRID_MISMATCH, naming the file, unless ``what`` lies on the PET grid."""
    if isinstance(pet, PetVolume):
        pet_shape, pet_affine = pet.shape, pet.affine
    else:
        pet_shape, pet_affine = pet
    if not same_grid(shape, affine, pet_shape, pet_affine):
        raise ItemError(
            Reason.GRID_MISMATCH,
            f"{source}: the {what} grid {tuple(shape)} with voxel size "
            f"{_fmt(voxel_spacing(affine))} mm does not match the PET grid {tuple(pet_shape)} "
            f"with {_fmt(voxel_spacing(pet_affine))} mm (or their positions differ)",
        )


def _fmt(values: Sequence[float]) -> str:
    return "x".join(f"{v:.3g}" for v in values)


# ---- DICOM series -> volume -----------------------------------------------------------------


def _name(ds: Any) -> str:
    name = getattr(ds, "filename", None)
    return Path(str(name)).name if name else "<dataset>"


def _vector(ds: Any, keyword: str, n: int, tag: str) -> np.ndarray:
    value = ds.get(keyword)
    if value is None or len(value) != n:
        raise ItemError(
            Reason.SERIES_INCONSISTENT, f"{_name(ds)}: {keyword} {tag} is missing or malformed"
        )
    return np.asarray([float(v) for v in value], dtype=np.float64)


def _size(ds: Any) -> tuple[int, int]:
    try:
        return int(ds.get("Rows")), int(ds.get("Columns"))
    except (TypeError, ValueError):
        raise ItemError(
            Reason.SERIES_INCONSISTENT,
            f"{_name(ds)}: Rows (0028,0010) / Columns (0028,0011) missing or not numbers",
        ) from None


def _instance_number(ds: Any, default: int) -> int:
    try:
        return int(ds.get("InstanceNumber") or default)
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class SliceStack:
    """A DICOM series' slices sorted along their normal, as an array ``[column, row, slice]``
    in file order and its RAS affine."""

    data: np.ndarray
    affine: np.ndarray
    instance_numbers: tuple[int, ...]


def stack_slices(
    series: Sequence[Any], pixels: Callable[[Any], np.ndarray], *, what: str
) -> SliceStack:
    """Sort one series' slices by position along the slice normal and stack them.

    ``pixels(ds)`` returns a slice's values (rows x columns, after rescale). Slices that
    disagree in size, orientation or pixel spacing, share a position, or leave a gap raise
    SERIES_INCONSISTENT naming the file.
    """
    first = series[0]
    iop = _vector(first, "ImageOrientationPatient", 6, "(0020,0037)")
    spacing = _vector(first, "PixelSpacing", 2, "(0028,0030)")
    row_dir, col_dir = iop[:3], iop[3:]
    normal = np.cross(row_dir, col_dir)
    size = _size(first)
    located = []
    for ds in series:
        if _size(ds) != size:
            raise ItemError(
                Reason.SERIES_INCONSISTENT,
                f"{_name(ds)}: {ds.Rows}x{ds.Columns} pixels, the {what} series has "
                f"{size[0]}x{size[1]} (Rows (0028,0010) / Columns (0028,0011))",
            )
        if not np.allclose(
            _vector(ds, "ImageOrientationPatient", 6, "(0020,0037)"), iop, atol=1e-4
        ):
            raise ItemError(
                Reason.SERIES_INCONSISTENT,
                f"{_name(ds)}: ImageOrientationPatient (0020,0037) differs from the rest of "
                f"the {what} series",
            )
        if not np.allclose(_vector(ds, "PixelSpacing", 2, "(0028,0030)"), spacing, atol=1e-4):
            raise ItemError(
                Reason.SERIES_INCONSISTENT,
                f"{_name(ds)}: PixelSpacing (0028,0030) differs from the rest of the {what} series",
            )
        position = _vector(ds, "ImagePositionPatient", 3, "(0020,0032)")
        located.append((float(position @ normal), position, ds))
    located.sort(key=lambda t: t[0])
    offsets = np.asarray([t[0] for t in located])
    if len(located) > 1:
        steps = np.diff(offsets)
        if np.any(steps < 1e-3):
            i = int(np.argmin(steps))
            raise ItemError(
                Reason.SERIES_INCONSISTENT,
                f"{_name(located[i + 1][2])}: the same ImagePositionPatient (0020,0032) as "
                f"{_name(located[i][2])} in the {what} series",
            )
        step = float(np.median(steps))
        if np.any(np.abs(steps - step) > 0.05 * step + 1e-3):
            i = int(np.argmax(np.abs(steps - step)))
            raise ItemError(
                Reason.SERIES_INCONSISTENT,
                f"{_name(located[i + 1][2])}: {steps[i]:.2f} mm from the previous slice where "
                f"the {what} series steps {step:.2f} mm (a missing slice?)",
            )
    else:
        step = float(first.get("SpacingBetweenSlices") or first.get("SliceThickness") or 1.0)
    data = np.empty((size[1], size[0], len(located)), dtype=np.float32)
    for k, (_, _, ds) in enumerate(located):
        data[:, :, k] = np.asarray(pixels(ds), dtype=np.float32).T
    lps = np.eye(4)
    lps[:3, 0] = row_dir * spacing[1]
    lps[:3, 1] = col_dir * spacing[0]
    lps[:3, 2] = normal * step
    lps[:3, 3] = located[0][1]
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    numbers = tuple(_instance_number(ds, k + 1) for k, (_, _, ds) in enumerate(located))
    return SliceStack(data, ras, numbers)


def canonical_stack(stack: SliceStack) -> tuple[Reoriented, SliceNumbering]:
    """A stacked series in canonical orientation and its InstanceNumber numbering."""
    reoriented = to_canonical(stack.data, stack.affine, "the PET series")
    if reoriented.z_source_axis != 2:
        raise ItemError(
            Reason.SERIES_INCONSISTENT,
            "the series is not axial (its slices are not stacked head to foot), so report "
            "image numbers cannot be axial slices",
        )
    numbers = list(stack.instance_numbers)
    if reoriented.z_flipped:
        numbers.reverse()
    if len(set(numbers)) != len(numbers):  # repeated or missing numbers: count from 1 instead
        numbers = list(range(1, len(numbers) + 1))
        if reoriented.z_flipped:
            numbers.reverse()
        convention = "slice order from 1 (InstanceNumber repeats)"
    else:
        convention = "DICOM InstanceNumber (0020,0013)"
    return reoriented, SliceNumbering(tuple(numbers), convention)
