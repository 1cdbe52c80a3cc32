"""NIfTI files (nibabel) as 3D arrays with their affines, and as canonical volumes.

Bad files raise ``ItemError`` with the caller's code and a message naming the file: a file
that is not there is ``file_missing``; one that does not load or is not 3D gets ``reason``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from extractors.volume.orientation import Volume, to_canonical
from schemas.enums import Reason
from schemas.errors import ItemError

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def nifti_stem(path: Path) -> str:
    """A NIfTI file's name without ``.nii`` / ``.nii.gz`` (a per-class mask's class)."""
    name = path.name
    for suffix in NIFTI_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def read_nifti(path: Path, what: str, reason: Reason) -> tuple[np.ndarray, np.ndarray]:
    """A 3D NIfTI array (scaled) and its affine; trailing axes of size 1 are dropped and a
    2D image is one slice."""
    import nibabel as nib

    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
        affine = np.asarray(img.affine, dtype=np.float64)
    except FileNotFoundError:
        raise ItemError(Reason.FILE_MISSING, f"{what}: file not found") from None
    except Exception as exc:  # nibabel / gzip / numpy raise many types for broken files
        raise ItemError(reason, f"{what}: not a readable NIfTI volume: {exc}") from None
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim != 3:
        raise ItemError(reason, f"{what}: expected a 3D volume, got shape {data.shape}")
    if data.dtype.kind not in "iufb":
        raise ItemError(reason, f"{what}: voxel type {data.dtype} is not numeric")
    return data, affine


def read_nifti_volume(
    path: Path,
    reason: Reason,
    *,
    dtype: type | None = None,
    geometry: Reason = Reason.CT_GEOMETRY,
) -> Volume:
    """A NIfTI file as a canonical Volume (cast to ``dtype`` first when given)."""
    data, affine = read_nifti(path, path.name, reason)
    if dtype is not None:
        data = data.astype(dtype)
    return to_canonical(data, affine, path.name, kind="nifti", reason=geometry)
