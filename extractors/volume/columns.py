"""Compiled per-column (along z) reads and writes of 3D boolean crops: the first voxel of
each column, and a crop filled with one z range per column."""

from __future__ import annotations

import numpy as np

from extractors.jit import kernel


@kernel
def first_along_z(data: np.ndarray) -> np.ndarray:
    """Per (x, y) column of a 3D boolean crop, the z of its first True voxel; -1 if none."""
    nx, ny, nz = data.shape
    out = np.full((nx, ny), -1, dtype=np.int64)
    for x in range(nx):
        for y in range(ny):
            for z in range(nz):
                if data[x, y, z]:
                    out[x, y] = z
                    break
    return out


@kernel
def fill_z_ranges(z_lo: np.ndarray, z_hi: np.ndarray, depth: int) -> np.ndarray:
    """A (nx, ny, depth) boolean crop, column (x, y) True on ``z_lo <= z < z_hi``."""
    nx, ny = z_lo.shape
    out = np.zeros((nx, ny, depth), dtype=np.bool_)
    for x in range(nx):
        for y in range(ny):
            for z in range(max(z_lo[x, y], 0), min(z_hi[x, y], depth)):
                out[x, y, z] = True
    return out
