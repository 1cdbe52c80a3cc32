"""DICOM series (pydicom) as canonical volumes: headers of a folder, series grouped by
modality, slices sorted by position along the slice normal and checked, pixel values after
the modality rescale (compressed transfer syntaxes, JPEG 2000 included, through the
pylibjpeg plugins), stacked with their RAS affine.

Checks, each an ``ItemError`` whose code comes from the modality's ``InputRules`` and whose
message names the series and the file: missing geometry tags, slices that differ in size,
spacing or orientation, multi-frame files, a coronal / sagittal / tilted / gantry-tilted
series, duplicate positions, missing slices and uneven steps, too few slices, pixel data that
does not decode. Only geometry and pixel attributes are read for the volume: no name, id,
date or UID leaves this module (callers that need a tag, such as the SUV inputs of a PET
series, read it from the headers they hold)."""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from extractors.volume.orientation import MAX_OBLIQUITY_DEG, Volume, to_canonical
from extractors.volume.reasons import InputRules
from schemas.errors import ItemError

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
_HEADER_ERRORS = (EOFError, OSError, ValueError, KeyError, TypeError)


def file_name(ds: Any) -> str:
    """The file name of a header (for messages), or ``<dataset>``."""
    name = getattr(ds, "filename", None)
    return Path(str(name)).name if name else "<dataset>"


# ---- headers --------------------------------------------------------------------------------


def read_headers(folder: Path, rules: InputRules) -> list[Any]:
    """The headers (no pixels) of the DICOM files under ``folder``, in path order. A file
    that does not read is skipped or refused, as ``rules.dicom_header`` says."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    headers = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name.upper() == "DICOMDIR" or path.name.startswith("."):
            continue
        if rules.dicom_suffixes is not None and path.suffix.lower() not in rules.dicom_suffixes:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                headers.append(pydicom.dcmread(path, stop_before_pixels=True))
        except (InvalidDicomError, *_HEADER_ERRORS) as exc:
            if rules.dicom_header is None:
                continue  # not a DICOM file: notes, thumbnails
            raise ItemError(
                rules.dicom_header, f"{path.name}: not a readable DICOM file: {exc}"
            ) from None
    return headers


def modality_of(ds: Any) -> str:
    return str(ds.get("Modality", "") or "").upper()


def group_series(headers: Sequence[Any]) -> dict[str, list[list[Any]]]:
    """Headers grouped into series (SeriesInstanceUID), by modality ("CT", "PT", ...)."""
    by_series: dict[tuple[str, str], list] = defaultdict(list)
    for ds in headers:
        by_series[(modality_of(ds), str(ds.get("SeriesInstanceUID", "")))].append(ds)
    grouped: dict[str, list[list[Any]]] = defaultdict(list)
    for (modality, _), datasets in sorted(by_series.items()):
        grouped[modality].append(datasets)
    return dict(grouped)


def one_series(headers: Sequence[Any], modality: str, rules: InputRules, what: str) -> list[Any]:
    """The one series of ``modality`` a folder must hold (files without a Modality count as
    it); another modality or a second series is refused."""
    if not headers:
        raise ItemError(rules.read, f"{what}: no DICOM image files in the folder")
    for ds in headers:
        found = modality_of(ds)
        if found and found != modality:
            raise ItemError(
                rules.tags, f"{what}/{file_name(ds)}: Modality is {found}, not {modality}"
            )
    series = {str(ds.get("SeriesInstanceUID", "")) for ds in headers}
    if len(series) > 1:
        raise ItemError(
            rules.tags, f"{what}: the folder holds {len(series)} series; put one series per folder"
        )
    return list(headers)


# ---- geometry -------------------------------------------------------------------------------


def _vector(ds: Any, keyword: str, n: int, tag: str, rules: InputRules, what: str) -> np.ndarray:
    value = ds.get(keyword)
    try:
        out = np.asarray([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        out = np.zeros(0)
    if out.size != n or not np.all(np.isfinite(out)):
        raise ItemError(
            rules.tags, f"{what}: {file_name(ds)}: {keyword} {tag} is missing or malformed"
        )
    return out


def _size(ds: Any, rules: InputRules, what: str) -> tuple[int, int]:
    try:
        return int(ds.get("Rows")), int(ds.get("Columns"))
    except (TypeError, ValueError):
        raise ItemError(
            rules.tags,
            f"{what}: {file_name(ds)}: Rows (0028,0010) / Columns (0028,0011) missing or "
            "not numbers",
        ) from None


def _instance_number(ds: Any, default: int) -> int:
    try:
        return int(ds.get("InstanceNumber") or default)
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class _Located:
    depth: float  # position along the slice normal (mm)
    position: np.ndarray  # ImagePositionPatient (LPS mm)
    ds: Any


@dataclass(frozen=True)
class _Geometry:
    """What every slice of a series shares, and where each slice lies."""

    size: tuple[int, int]  # Rows, Columns
    spacing: np.ndarray  # PixelSpacing: between rows, between columns (mm)
    row: np.ndarray  # direction along a row (LPS)
    col: np.ndarray  # direction down a column (LPS)
    normal: np.ndarray
    slices: list[_Located]


def _check_slices(series: Sequence[Any], rules: InputRules, what: str) -> _Geometry:
    """Size, orientation, spacing and frames of every slice against the first one, and an
    axial, untilted slice plane."""
    first = series[0]
    iop = _vector(first, "ImageOrientationPatient", 6, "(0020,0037)", rules, what)
    spacing = _vector(first, "PixelSpacing", 2, "(0028,0030)", rules, what)
    size = _size(first, rules, what)
    located = []
    for ds in series:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        if frames != 1:
            raise ItemError(
                rules.tags,
                f"{what}: {file_name(ds)}: multi-frame DICOM ({frames} frames) is not "
                "supported; export the series as one file per slice",
            )
        own_iop = _vector(ds, "ImageOrientationPatient", 6, "(0020,0037)", rules, what)
        if np.abs(own_iop - iop).max() > 1e-4:
            raise ItemError(
                rules.orientation,
                f"{what}: {file_name(ds)}: ImageOrientationPatient (0020,0037) differs from "
                f"{file_name(first)}'s (slices with mixed orientations)",
            )
        rows, cols = _size(ds, rules, what)
        if (rows, cols) != size:
            raise ItemError(
                rules.tags,
                f"{what}: {file_name(ds)}: {rows}x{cols} pixels, the series has "
                f"{size[0]}x{size[1]} (Rows (0028,0010) / Columns (0028,0011))",
            )
        own_spacing = _vector(ds, "PixelSpacing", 2, "(0028,0030)", rules, what)
        if np.abs(own_spacing - spacing).max() > 1e-4:
            raise ItemError(
                rules.tags,
                f"{what}: {file_name(ds)}: PixelSpacing (0028,0030) differs from the rest of "
                "the series",
            )
        located.append(_vector(ds, "ImagePositionPatient", 3, "(0020,0032)", rules, what))
    row, col = iop[:3], iop[3:]
    if abs(np.linalg.norm(row) - 1) > 1e-3 or abs(np.linalg.norm(col) - 1) > 1e-3:
        raise ItemError(
            rules.geometry, f"{what}: ImageOrientationPatient (0020,0037) is not unit vectors"
        )
    normal = np.cross(row, col)
    tilt = float(np.degrees(np.arccos(np.clip(abs(normal[2]), 0.0, 1.0))))
    if tilt > 45.0:
        raise ItemError(
            rules.non_axial,
            f"{what}: non-axial series: the slice normal is {tilt:.0f} degrees from the "
            "head-feet axis (a coronal or sagittal acquisition); give an axial series",
        )
    if tilt > MAX_OBLIQUITY_DEG:
        raise ItemError(
            rules.geometry,
            f"{what}: tilted series: the slice plane is {tilt:.1f} degrees off axial "
            f"(at most {MAX_OBLIQUITY_DEG} accepted); resample it to an axial grid first",
        )
    slices = [_Located(float(p @ normal), p, ds) for p, ds in zip(located, series, strict=True)]
    return _Geometry(size, spacing, row, col, normal, slices)


def _sorted_positions(
    slices: list[_Located], normal: np.ndarray, rules: InputRules, what: str
) -> tuple[list[_Located], float]:
    """Slices sorted along the normal (stable), checked for count, duplicates, missing
    slices, uneven steps and gantry tilt; the slice step."""
    slices = sorted(slices, key=lambda s: s.depth)
    if len(slices) < rules.min_slices:
        raise ItemError(
            rules.too_few,
            f"{what}: {len(slices)} slice(s); a volume needs at least {rules.min_slices}",
        )
    if len(slices) == 1:
        ds = slices[0].ds
        return slices, float(ds.get("SpacingBetweenSlices") or ds.get("SliceThickness") or 1.0)
    depth = np.asarray([s.depth for s in slices])
    steps = np.diff(depth)
    typical = float(np.median(steps))
    for i, step in enumerate(steps):
        a, b = file_name(slices[i].ds), file_name(slices[i + 1].ds)
        if step < 1e-3:
            raise ItemError(
                rules.spacing,
                f"{what}: {b} lies at the same position as {a} ({depth[i]:.2f} mm along the "
                "slice normal; the same ImagePositionPatient (0020,0032)): duplicate slices",
            )
        if step > typical * rules.max_step_ratio or step < typical / rules.max_step_ratio:
            missing = round(step / typical) - 1
            problem = (
                f"missing slices (about {missing})" if missing >= 1 else "uneven slice spacing"
            )
            raise ItemError(
                rules.spacing,
                f"{what}: {b}: {step:.2f} mm from the previous slice {a} where slices are "
                f"{typical:.2f} mm apart: {problem}",
            )
    travel = slices[-1].position - slices[0].position
    off_axis = float(
        np.degrees(np.arccos(np.clip(abs(travel @ normal) / np.linalg.norm(travel), 0, 1)))
    )
    if off_axis > MAX_OBLIQUITY_DEG:
        raise ItemError(
            rules.geometry,
            f"{what}: tilted series: slice positions move {off_axis:.1f} degrees off the slice "
            "normal (gantry tilt); resample it to an orthogonal grid first",
        )
    return slices, typical


# ---- pixels and stacking --------------------------------------------------------------------


def slice_values(ds: Any, rules: InputRules, what: str) -> np.ndarray:
    """A slice's pixel values after its modality rescale (Modality LUT, or slope and
    intercept), read from the header's file."""
    import pydicom
    from pydicom.pixels import apply_modality_lut

    name = f"{what}: {file_name(ds)}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = pydicom.dcmread(ds.filename)
            raw = full.pixel_array
            if "ModalityLUTSequence" in full:
                values = apply_modality_lut(raw, full)
            else:
                slope = float(full.get("RescaleSlope", 1.0) or 1.0)
                intercept = float(full.get("RescaleIntercept", 0.0) or 0.0)
                values = raw.astype(np.float64) * slope + intercept
    except Exception as exc:  # decoders raise many types (truncated data, missing codec)
        raise ItemError(rules.dicom_pixels, f"{name}: pixel data does not decode: {exc}") from None
    if values.ndim != 2:
        raise ItemError(rules.tags, f"{name}: expected one 2D grayscale frame, got {values.shape}")
    return values


@dataclass(frozen=True)
class SeriesStack:
    """A series' slices sorted along their normal: the array ``[row, column, slice]`` in
    that order, its RAS affine, and each slice's InstanceNumber."""

    data: np.ndarray
    affine: np.ndarray
    instance_numbers: tuple[int, ...]


def stack_series(
    series: Sequence[Any],
    values: Callable[[Any], np.ndarray],
    *,
    rules: InputRules,
    what: str,
    dtype: type = np.float32,
) -> SeriesStack:
    """One series' headers checked, sorted and stacked; ``values(ds)`` gives a slice's
    values (rows x columns), cast to ``dtype``."""
    geo = _check_slices(series, rules, what)
    slices, step = _sorted_positions(geo.slices, geo.normal, rules, what)
    size = geo.size
    data = np.empty((size[0], size[1], len(slices)), dtype=dtype)
    for k, s in enumerate(slices):
        plane = np.asarray(values(s.ds))
        if plane.shape != size:
            raise ItemError(
                rules.tags, f"{what}: {file_name(s.ds)}: pixel shape {plane.shape}, not {size}"
            )
        data[:, :, k] = plane
    lps = np.eye(4)
    lps[:3, 0] = geo.col * geo.spacing[0]  # array axis 0 = row index: moves down a column
    lps[:3, 1] = geo.row * geo.spacing[1]  # array axis 1 = column index: moves along a row
    lps[:3, 2] = geo.normal * step
    lps[:3, 3] = slices[0].position
    numbers = tuple(_instance_number(s.ds, k + 1) for k, s in enumerate(slices))
    return SeriesStack(data, _LPS_TO_RAS @ lps, numbers)


def series_volume(stack: SeriesStack, rules: InputRules, what: str) -> Volume:
    """A stacked series on the canonical grid."""
    return to_canonical(stack.data, stack.affine, what, kind="dicom", reason=rules.geometry)
