"""Read a CT volume from disk into the canonical orientation (``extractors.ct.volume``):
a DICOM series folder (pydicom; sorted by position along the slice normal; rescaled to HU;
compressed transfer syntaxes, JPEG 2000 included, through the pylibjpeg plugins) or a NIfTI
file (nibabel). Voxel spacing is kept.

Bad input raises ``ItemError`` with a reason code and a message naming the file and the
field: unreadable files, a tilted / oblique / non-axial series, slices with mixed
orientations, missing slices (a gap in positions) or duplicate positions, a one-slice CT.
Only geometry and pixel attributes are read from DICOM headers: no name, id, date or UID
leaves this module."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from extractors.ct.volume import (
    MAX_OBLIQUITY_DEG,
    CtVolume,
    GeometryError,
    Reorientation,
    canonical_volume,
    reorientation_of,
)
from schemas.enums import Reason
from sources.base import ItemError

MIN_SLICES = 2
# A step between neighbouring slices this many times the typical one means slices are missing.
GAP_FACTOR = 1.5
NIFTI_SUFFIXES = (".nii", ".nii.gz")
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class LoadedCt:
    """A CT on the canonical grid, and how its file's grid maps there (to check masks)."""

    volume: CtVolume
    reorientation: Reorientation
    kind: str  # "nifti" or "dicom"


def is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def load_ct(path: str | Path) -> LoadedCt:
    """A CT from a NIfTI file or a folder holding one DICOM series."""
    p = Path(path)
    if not p.exists():
        raise ItemError(Reason.FILE_MISSING, f"{p.name}: CT not found")
    if p.is_dir():
        return load_dicom_series(p)
    if is_nifti(p):
        return load_nifti_ct(p)
    raise ItemError(
        Reason.CT_READ_ERROR,
        f"{p.name}: not a CT input (expected a .nii / .nii.gz file or a DICOM series folder)",
    )


def _finish(hu: np.ndarray, affine: np.ndarray, what: str, kind: str) -> LoadedCt:
    try:
        transform = reorientation_of(affine, what)
        volume = canonical_volume(hu, affine, what)
    except GeometryError as exc:
        raise ItemError(Reason.CT_GEOMETRY, str(exc)) from None
    if volume.shape[2] < MIN_SLICES:
        raise ItemError(
            Reason.CT_TOO_FEW_SLICES,
            f"{what}: {volume.shape[2]} axial slice(s); a CT volume needs at least {MIN_SLICES}",
        )
    if min(volume.shape) < 1:
        raise ItemError(Reason.CT_READ_ERROR, f"{what}: empty volume of shape {volume.shape}")
    return LoadedCt(volume, transform, kind)


def to_hu_int16(values: np.ndarray) -> np.ndarray:
    """HU as int16 (rounded, clipped to int16's range)."""
    if values.dtype == np.int16:
        return values
    if values.dtype.kind in "iu" and values.min() >= -32768 and values.max() <= 32767:
        return values.astype(np.int16)
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=-1024.0)
    return np.clip(np.rint(values), -32768, 32767).astype(np.int16)


# ---- NIfTI ---------------------------------------------------------------------------------


def read_nifti(path: Path, what: str, reason: Reason) -> tuple[np.ndarray, np.ndarray]:
    """A 3D NIfTI array (scaled) and its affine; a trailing axis of size 1 is dropped."""
    import nibabel as nib

    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
        affine = np.asarray(img.affine, dtype=np.float64)
    except FileNotFoundError:
        raise ItemError(Reason.FILE_MISSING, f"{what}: file not found") from None
    except Exception as exc:  # nibabel raises many types for broken or truncated files
        raise ItemError(reason, f"{what}: not a readable NIfTI file: {exc}") from None
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim != 3:
        raise ItemError(reason, f"{what}: expected a 3D volume, got shape {data.shape}")
    return data, affine


def load_nifti_ct(path: Path) -> LoadedCt:
    data, affine = read_nifti(path, path.name, Reason.CT_READ_ERROR)
    if data.dtype.kind not in "iuf":
        raise ItemError(
            Reason.CT_READ_ERROR, f"{path.name}: voxel type {data.dtype} is not numeric"
        )
    return _finish(to_hu_int16(data), affine, path.name, "nifti")


# ---- DICOM series ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slice:
    path: Path
    position: np.ndarray  # ImagePositionPatient (LPS mm)
    orientation: np.ndarray  # ImageOrientationPatient (row cosines, column cosines)
    spacing: tuple[float, float]  # PixelSpacing: (between rows, between columns)
    shape: tuple[int, int]


def _float_list(ds, keyword: str, n: int, name: str) -> np.ndarray:
    value = ds.get(keyword)
    try:
        out = np.asarray([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        out = np.zeros(0)
    if out.size != n or not np.all(np.isfinite(out)):
        raise ItemError(Reason.CT_READ_ERROR, f"{name}: {keyword} is missing or malformed")
    return out


def _scan_series(folder: Path) -> list[_Slice]:
    import pydicom
    from pydicom.errors import InvalidDicomError

    slices: list[_Slice] = []
    series: set[str] = set()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name.upper() == "DICOMDIR" or path.name.startswith("."):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError):
            continue  # not a DICOM file: notes, thumbnails
        name = f"{folder.name}/{path.relative_to(folder).as_posix()}"
        modality = str(ds.get("Modality", "") or "").upper()
        if modality and modality != "CT":
            raise ItemError(Reason.CT_READ_ERROR, f"{name}: Modality is {modality}, not CT")
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        if frames != 1:
            raise ItemError(
                Reason.CT_READ_ERROR,
                f"{name}: multi-frame DICOM ({frames} frames) is not supported; "
                "export the series as one file per slice",
            )
        series.add(str(ds.get("SeriesInstanceUID", "")))
        rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        spacing = _float_list(ds, "PixelSpacing", 2, name)
        slices.append(
            _Slice(
                path=path,
                position=_float_list(ds, "ImagePositionPatient", 3, name),
                orientation=_float_list(ds, "ImageOrientationPatient", 6, name),
                spacing=(float(spacing[0]), float(spacing[1])),
                shape=(rows, cols),
            )
        )
    if not slices:
        raise ItemError(Reason.CT_READ_ERROR, f"{folder.name}: no DICOM image files in the folder")
    if len(series) > 1:
        raise ItemError(
            Reason.CT_READ_ERROR,
            f"{folder.name}: the folder holds {len(series)} series; put one series per folder",
        )
    return slices


def _check_orientation(
    slices: list[_Slice], what: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    first = slices[0].orientation
    for s in slices[1:]:
        if np.abs(s.orientation - first).max() > 1e-4:
            raise ItemError(
                Reason.CT_GEOMETRY,
                f"{what}: slices have different ImageOrientationPatient values "
                f"({s.path.name} differs from {slices[0].path.name})",
            )
    row, col = first[:3], first[3:]
    if abs(np.linalg.norm(row) - 1) > 1e-3 or abs(np.linalg.norm(col) - 1) > 1e-3:
        raise ItemError(Reason.CT_GEOMETRY, f"{what}: ImageOrientationPatient is not unit vectors")
    normal = np.cross(row, col)
    tilt = float(np.degrees(np.arccos(np.clip(abs(normal[2]), 0.0, 1.0))))
    if tilt > 45.0:
        raise ItemError(
            Reason.CT_GEOMETRY,
            f"{what}: non-axial series: the slice normal is {tilt:.0f} degrees from the "
            "head-feet axis (a coronal or sagittal acquisition); give an axial series",
        )
    if tilt > MAX_OBLIQUITY_DEG:
        raise ItemError(
            Reason.CT_GEOMETRY,
            f"{what}: tilted series: the slice plane is {tilt:.1f} degrees off axial "
            f"(at most {MAX_OBLIQUITY_DEG} accepted); resample it to an axial grid first",
        )
    return row, col, normal


def _check_positions(
    slices: list[_Slice], normal: np.ndarray, what: str
) -> tuple[list[_Slice], float]:
    depth = np.array([float(s.position @ normal) for s in slices])
    order = np.argsort(depth, kind="stable")
    slices = [slices[i] for i in order]
    depth = depth[order]
    if len(slices) < MIN_SLICES:
        raise ItemError(
            Reason.CT_TOO_FEW_SLICES,
            f"{what}: {len(slices)} slice(s); a CT volume needs at least {MIN_SLICES}",
        )
    steps = np.diff(depth)
    dup = np.nonzero(steps < 1e-3)[0]
    if dup.size:
        i = int(dup[0])
        raise ItemError(
            Reason.CT_SLICE_GAP,
            f"{what}: {slices[i].path.name} and {slices[i + 1].path.name} lie at the same "
            f"position ({depth[i]:.2f} mm along the slice normal): duplicate slices",
        )
    typical = float(np.median(steps))
    gaps = np.nonzero(steps > GAP_FACTOR * typical)[0]
    if gaps.size:
        i = int(gaps[0])
        missing = round(steps[i] / typical) - 1
        raise ItemError(
            Reason.CT_SLICE_GAP,
            f"{what}: missing slices: a gap of {steps[i]:.2f} mm between "
            f"{slices[i].path.name} ({depth[i]:.2f} mm) and {slices[i + 1].path.name} "
            f"({depth[i + 1]:.2f} mm) where slices are {typical:.2f} mm apart "
            f"(about {missing} slice(s) missing)",
        )
    if steps.min() < typical / GAP_FACTOR:
        raise ItemError(
            Reason.CT_SLICE_GAP,
            f"{what}: uneven slice spacing ({steps.min():.2f} to {steps.max():.2f} mm)",
        )
    # gantry tilt: slice positions must move along the slice normal
    travel = slices[-1].position - slices[0].position
    off_axis = float(
        np.degrees(np.arccos(np.clip(abs(travel @ normal) / np.linalg.norm(travel), 0, 1)))
    )
    if off_axis > MAX_OBLIQUITY_DEG:
        raise ItemError(
            Reason.CT_GEOMETRY,
            f"{what}: tilted series: slice positions move {off_axis:.1f} degrees off the slice "
            "normal (gantry tilt); resample it to an orthogonal grid first",
        )
    return slices, typical


def _pixels(s: _Slice, name: str) -> np.ndarray:
    import pydicom
    from pydicom.pixels import apply_modality_lut

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(s.path)
            raw = ds.pixel_array
            values = apply_modality_lut(raw, ds)
    except Exception as exc:  # decoders raise many types (truncated data, missing codec)
        raise ItemError(
            Reason.CT_READ_ERROR, f"{name}: pixel data does not decode: {exc}"
        ) from None
    if values.ndim != 2:
        raise ItemError(Reason.CT_READ_ERROR, f"{name}: not a single-frame grayscale slice")
    return values


def load_dicom_series(folder: Path) -> LoadedCt:
    """One axial DICOM series as a canonical CtVolume."""
    what = folder.name
    slices = _scan_series(folder)
    row, col, normal = _check_orientation(slices, what)
    slices, dz = _check_positions(slices, normal, what)
    shapes = {s.shape for s in slices}
    spacings = {s.spacing for s in slices}
    if len(shapes) != 1 or len(spacings) != 1:
        raise ItemError(
            Reason.CT_READ_ERROR,
            f"{what}: slices differ in Rows/Columns {sorted(shapes)} or PixelSpacing",
        )
    rows, cols = slices[0].shape
    hu = np.empty((rows, cols, len(slices)), dtype=np.int16)
    for k, s in enumerate(slices):
        values = _pixels(s, f"{what}/{s.path.name}")
        if values.shape != (rows, cols):
            raise ItemError(
                Reason.CT_READ_ERROR, f"{what}/{s.path.name}: pixel shape {values.shape}"
            )
        hu[:, :, k] = to_hu_int16(np.asarray(values))
    dr, dc = slices[0].spacing
    lps = np.eye(4)
    lps[:3, 0] = col * dr  # array axis 0 = row index: moves down a column
    lps[:3, 1] = row * dc  # array axis 1 = column index: moves along a row
    lps[:3, 2] = normal * dz
    lps[:3, 3] = slices[0].position
    return _finish(hu, _LPS_TO_RAS @ lps, what, "dicom")
