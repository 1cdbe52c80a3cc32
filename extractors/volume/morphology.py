"""Binary dilation and erosion of a 3D mask through its 6 face neighbours, ``iterations``
times, outside the array counting as background: ``scipy.ndimage.binary_dilation`` /
``binary_erosion(mask, iterations=n)`` with their default structure. Computed as a
breadth-first walk, level by level, from the mask's voxels (dilation) or from its boundary
voxels inwards (erosion), so the cost follows the mask and the few layers that change (PET
localisation dilates small lesion regions inside larger crops and erodes the liver by two
voxels; scipy passes the structure over every voxel of the crop at every iteration)."""

from __future__ import annotations

import numpy as np

from extractors.jit import kernel
from extractors.volume.neighbours import face_neighbour


def dilate6(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """The mask grown by ``iterations`` (at least 1) layers of 6-neighbours, a new bool
    array (scipy's ``iterations=0``, "until nothing changes", is not offered)."""
    if iterations < 1:
        raise ValueError(f"dilate6: iterations must be at least 1, got {iterations}")
    return _dilate(np.ascontiguousarray(mask, dtype=bool), int(iterations))


@kernel
def _dilate(mask, iterations):  # -> the dilated mask
    """Level by level from the voxels of a C-contiguous 3D boolean mask."""
    nx, ny, nz = mask.shape
    out = mask.copy()
    flat = out.reshape(-1)
    _walk(flat, np.flatnonzero(flat), iterations, nx, ny, nz, True)
    return out


def erode6(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """The mask less ``iterations`` (at least 1) layers: the voxels all of whose voxels within
    ``iterations`` 6-neighbour steps are in the mask and in the array, a new bool array."""
    if iterations < 1:
        raise ValueError(f"erode6: iterations must be at least 1, got {iterations}")
    return _erode(np.ascontiguousarray(mask, dtype=bool), int(iterations))


@kernel
def _erode(mask, iterations):  # -> the eroded mask
    """Remove the mask's boundary voxels (a face neighbour outside the mask or the array),
    then walk inwards through the mask ``iterations - 1`` more levels, removing as it goes:
    a voxel's nearest outside voxel is reached by a straight path through the mask, so the
    walk's steps are the L1 distances the iterated erosion removes by."""
    nx, ny, nz = mask.shape
    out = mask.copy()
    flat = out.reshape(-1)
    src = mask.reshape(-1)
    front = np.empty(flat.shape[0], dtype=np.int64)
    m = 0
    for x in range(nx):
        for y in range(ny):
            for z in range(nz):
                k = (x * ny + y) * nz + z
                if not src[k]:
                    continue
                if (
                    x == 0 or x == nx - 1 or y == 0 or y == ny - 1 or z == 0 or z == nz - 1
                    or not src[k - ny * nz] or not src[k + ny * nz]
                    or not src[k - nz] or not src[k + nz]
                    or not src[k - 1] or not src[k + 1]
                ):  # fmt: skip
                    flat[k] = False
                    front[m] = k
                    m += 1
    _walk(flat, front[:m], iterations - 1, nx, ny, nz, False)
    return out


@kernel
def _walk(flat, front, levels, nx, ny, nz, value):
    """Set to ``value``, level by level for ``levels`` levels, the face neighbours of the
    front (flat indices into the (nx, ny, nz) grid ``flat``) that are not yet ``value``;
    each level's changed voxels are the next front."""
    for _ in range(levels):
        nxt = np.empty(6 * front.shape[0], dtype=np.int64)
        m = 0
        for k in front:
            for d in range(6):
                ok, j = face_neighbour(k, d, nx, ny, nz)
                if ok and flat[j] != value:
                    flat[j] = value
                    nxt[m] = j
                    m += 1
        front = nxt[:m]
        if m == 0:
            break
