"""Any scalar image volume on disk, one or more channels, as canonical ``Volume``s: NIfTI
(nibabel; a 4D file's last axis is its channels, the Medical Segmentation Decathlon's way),
NRRD, MetaImage (``.mha`` / ``.mhd``) and the other formats SimpleITK reads (a vector-pixel
image's components are its channels). nnU-Net's one-file-per-channel layout
(``_0000``, ``_0001``...) is one call per file.

SimpleITK holds geometry in LPS and arrays as (z, y, x); both are turned into this package's
convention (an (x, y, z) array and a RAS affine) before ``to_canonical``, so every format ends
in the one canonical orientation with its affine kept. Label maps (``read_label_map``) are read
the same way and must lie on their image's grid (``extractors.volume.grid``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from extractors.volume.grid import require_same_grid
from extractors.volume.nifti import is_nifti
from extractors.volume.orientation import Volume, reorientation_of, to_canonical
from schemas.enums import Reason
from schemas.errors import ItemError

ITK_SUFFIXES = (".nrrd", ".nhdr", ".mha", ".mhd", ".nii", ".nii.gz")
VOLUME_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def is_volume_file(path: Path) -> bool:
    return path.name.lower().endswith(VOLUME_SUFFIXES)


def _read_nifti_4d(path: Path, reason: Reason) -> tuple[list[np.ndarray], np.ndarray]:
    import nibabel as nib

    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
        affine = np.asarray(img.affine, dtype=np.float64)
    except FileNotFoundError:
        raise ItemError(Reason.FILE_MISSING, f"{path.name}: file not found") from None
    except Exception as exc:  # nibabel / gzip raise many types for broken files
        raise ItemError(reason, f"{path.name}: not a readable NIfTI volume: {exc}") from None
    while data.ndim > 4 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim == 3:
        return [data], affine
    if data.ndim == 4:
        return [data[..., c] for c in range(data.shape[3])], affine
    raise ItemError(reason, f"{path.name}: expected a 3D or 4D volume, got shape {data.shape}")


def _read_itk(path: Path, reason: Reason) -> tuple[list[np.ndarray], np.ndarray]:
    import SimpleITK as sitk

    if not path.exists():
        raise ItemError(Reason.FILE_MISSING, f"{path.name}: file not found")
    try:
        img = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise ItemError(reason, f"{path.name}: not a readable image volume: {first}") from None
    dim = img.GetDimension()
    if dim not in (2, 3):
        raise ItemError(reason, f"{path.name}: a {dim}D image; expected 3D (or one 2D slice)")
    arr = sitk.GetArrayFromImage(img)  # (z, y, x[, c]) or (y, x[, c])
    n_comp = img.GetNumberOfComponentsPerPixel()
    if dim == 2:
        arr = arr[None]
    spacing = list(img.GetSpacing()) + ([1.0] if dim == 2 else [])
    origin = list(img.GetOrigin()) + ([0.0] if dim == 2 else [])
    direction = np.asarray(img.GetDirection(), dtype=np.float64).reshape(dim, dim)
    if dim == 2:
        direction = np.block([[direction, np.zeros((2, 1))], [np.zeros((1, 2)), np.ones((1, 1))]])
    lps = np.eye(4)
    lps[:3, :3] = direction @ np.diag(spacing)
    lps[:3, 3] = origin
    arr = np.moveaxis(arr, (0, 1, 2), (2, 1, 0))  # -> (x, y, z[, c])
    channels = [arr] if n_comp == 1 else [arr[..., c] for c in range(n_comp)]
    return channels, _LPS_TO_RAS @ lps


def read_channels(
    path: str | Path,
    *,
    reason: Reason = Reason.VOLUME_READ_ERROR,
    geometry: Reason = Reason.VOLUME_GEOMETRY,
) -> list[Volume]:
    """The channels of one image file, each a canonical Volume (one for a 3D scalar file).
    A file that is not there is ``file_missing``; one that does not read gets ``reason``;
    an oblique or degenerate grid gets ``geometry``."""
    p = Path(path)
    if not p.exists():
        raise ItemError(Reason.FILE_MISSING, f"{p.name}: file not found")
    if is_nifti(p):
        channels, affine = _read_nifti_4d(p, reason)
        kind = "nifti"
    elif p.name.lower().endswith(ITK_SUFFIXES):
        channels, affine = _read_itk(p, reason)
        kind = "itk"
    else:
        raise ItemError(
            reason, f"{p.name}: not an image volume (expected one of {', '.join(VOLUME_SUFFIXES)})"
        )
    for c in channels:
        if c.dtype.kind not in "iufb":
            raise ItemError(reason, f"{p.name}: voxel type {c.dtype} is not numeric")
    return [to_canonical(c, affine, p.name, kind=kind, reason=geometry) for c in channels]


def read_label_map(
    path: str | Path,
    image: Volume,
    *,
    ref: str,
    reason: Reason = Reason.MASK_READ_ERROR,
    grid: Reason = Reason.MASK_MISMATCH,
    geometry: Reason = Reason.VOLUME_GEOMETRY,
) -> np.ndarray:
    """An integer label map on ``image``'s canonical grid (int32). A map off that grid is
    ``grid`` (naming both grids); fractional values are ``reason``."""
    p = Path(path)
    if not p.exists():
        raise ItemError(Reason.FILE_MISSING, f"{p.name}: label file not found")
    if is_nifti(p):
        channels, affine = _read_nifti_4d(p, reason)
    else:
        channels, affine = _read_itk(p, reason)
    if len(channels) != 1:
        raise ItemError(reason, f"{p.name}: a label map must have one channel, not {len(channels)}")
    data = channels[0]
    transform = reorientation_of(affine, p.name, geometry)
    require_same_grid(
        p.name,
        "label map",
        (transform.shape(data.shape), transform.affine(affine, data.shape)),
        ref,
        (image.shape, image.affine),
        grid,
    )
    if data.dtype.kind == "f":
        if not np.allclose(data, np.rint(data)):
            raise ItemError(
                reason, f"{p.name}: a label map must hold integer values, found fractions"
            )
        data = np.rint(data)
    return transform.apply(data.astype(np.int32))
