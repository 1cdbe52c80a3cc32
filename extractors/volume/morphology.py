"""Binary dilation of a 3D mask through its 6 face neighbours, ``iterations`` times, outside
the array counting as background: ``scipy.ndimage.binary_dilation(mask, iterations=n)``
with its default structure. Computed as a breadth-first walk from the mask's voxels, level
by level, so the cost follows the mask and its few added layers (PET localisation dilates
small lesion regions inside larger crops; scipy passes the structure over every voxel of
the crop at every iteration)."""

from __future__ import annotations

import numpy as np

from extractors.jit import kernel


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
    front = np.flatnonzero(flat)
    for _ in range(iterations):
        nxt = np.empty(6 * front.shape[0], dtype=np.int64)
        m = 0
        for k in front:
            x, rest = k // (ny * nz), k % (ny * nz)
            y, z = rest // nz, rest % nz
            for d in range(6):
                if d == 0:
                    ok, j = x > 0, k - ny * nz
                elif d == 1:
                    ok, j = x < nx - 1, k + ny * nz
                elif d == 2:
                    ok, j = y > 0, k - nz
                elif d == 3:
                    ok, j = y < ny - 1, k + nz
                elif d == 4:
                    ok, j = z > 0, k - 1
                else:
                    ok, j = z < nz - 1, k + 1
                if ok and not flat[j]:
                    flat[j] = True
                    nxt[m] = j
                    m += 1
        front = nxt[:m]
        if m == 0:
            break
    return out
