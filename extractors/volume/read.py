"""One entry point for a volume on disk: a NIfTI file or a folder holding one DICOM series,
read into the canonical orientation with the modality's codes for bad input. A CT is this
with HU as int16 (``read_ct``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from extractors.volume.dicom import (
    one_series,
    read_headers,
    series_volume,
    slice_values,
    stack_series,
)
from extractors.volume.nifti import is_nifti, read_nifti
from extractors.volume.orientation import Volume, to_canonical
from extractors.volume.reasons import CT_INPUT, InputRules
from schemas.enums import Reason
from schemas.errors import ItemError

Cast = Callable[[np.ndarray], np.ndarray]


def to_hu_int16(values: np.ndarray) -> np.ndarray:
    """HU as int16 (rounded, clipped to int16's range; NaN as air)."""
    values = np.asarray(values)
    if values.dtype == np.int16:
        return values
    if values.dtype.kind in "iu" and values.min() >= -32768 and values.max() <= 32767:
        return values.astype(np.int16)
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=-1024.0)
    return np.clip(np.rint(values), -32768, 32767).astype(np.int16)


def read_volume(
    path: str | Path,
    rules: InputRules,
    *,
    modality: str,
    cast: Cast,
    dtype: type,
    what: str = "volume",
) -> Volume:
    """A volume from a NIfTI file or a folder with one DICOM series of ``modality``; voxel
    values go through ``cast`` (NIfTI array, or each DICOM slice after its rescale)."""
    p = Path(path)
    if not p.exists():
        raise ItemError(Reason.FILE_MISSING, f"{p.name}: {what} not found")
    if p.is_dir():
        headers = one_series(read_headers(p, rules), modality, rules, p.name)
        stack = stack_series(
            headers,
            lambda ds: cast(slice_values(ds, rules, p.name)),
            rules=rules,
            what=p.name,
            dtype=dtype,
        )
        volume = series_volume(stack, rules, p.name)
    elif is_nifti(p):
        data, affine = read_nifti(p, p.name, rules.read)
        volume = to_canonical(cast(data), affine, p.name, kind="nifti", reason=rules.geometry)
    else:
        raise ItemError(
            rules.read,
            f"{p.name}: not a {what} input (expected a .nii / .nii.gz file or a DICOM "
            "series folder)",
        )
    if volume.shape[2] < rules.min_slices:
        raise ItemError(
            rules.too_few,
            f"{p.name}: {volume.shape[2]} axial slice(s); a {what} needs at least "
            f"{rules.min_slices}",
        )
    if min(volume.shape) < 1:
        raise ItemError(rules.read, f"{p.name}: empty volume of shape {volume.shape}")
    return volume


def read_ct(path: str | Path) -> Volume:
    """A CT (HU, int16) from a NIfTI file or a DICOM series folder, with CT's codes."""
    return read_volume(path, CT_INPUT, modality="CT", cast=to_hu_int16, dtype=np.int16, what="CT")
