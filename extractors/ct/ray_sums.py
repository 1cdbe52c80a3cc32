"""The compiled pass of the line integrals: one read of the HU volume, axial row by axial
row (contiguous), adding each body voxel's attenuation term to both views' planes at once
(float32; the terms are multiples of a quarter, so their sums are exact and any order gives
the same planes)."""

from __future__ import annotations

import numpy as np

from extractors.jit import kernel


@kernel
def ray_sums(
    hu: np.ndarray, body: np.ndarray, steps: tuple[int, int, int], air: int, bone: int,
    boost: np.float32, const: np.float32, frontal: np.ndarray, lateral: np.ndarray,
) -> None:  # fmt: skip
    """Add ``max(HU, air) + boost * max(HU, bone) + const`` of every voxel inside the coarse
    ``body`` mask (voxel (x, y, z) in block (x // sx, y // sy, z // sz)) to
    ``frontal[x, z]`` (the sum along y) and ``lateral[y, z]`` (along x)."""
    nx, ny, nz = hu.shape
    sx, sy, sz = steps
    air_f, bone_f = np.float32(air), np.float32(bone)
    cy, cz = body.shape[1], body.shape[2]
    runs = np.zeros((cy, cz + 1, 2), dtype=np.int64)  # per coarse row: body z runs
    for x in range(nx):
        if x % sx == 0:
            _slab_runs(body[x // sx], sz, nz, runs)
        front = frontal[x]
        for y in range(ny):
            ky = y // sy
            side = lateral[y]
            row = hu[x, y]
            for k in range(1, runs[ky, 0, 0] + 1):
                z0, z1 = runs[ky, k, 0], runs[ky, k, 1]
                # slices: indices from 0 to their length, which the compiler vectorises
                _add_terms(row[z0:z1], air_f, bone_f, boost, const, front[z0:z1], side[z0:z1])


@kernel
def _add_terms(hu_run, air, bone, boost, const, front, side):
    """Add each voxel's term ``max(h, air) + boost * max(h, bone) + const`` to both views."""
    for j in range(hu_run.shape[0]):
        h = np.float32(hu_run[j])
        v = max(h, air) + boost * max(h, bone) + const
        front[j] += v
        side[j] += v


@kernel
def _slab_runs(mask, sz, nz, runs):
    """For each coarse row ky of a slab's (ky, kz) body mask, the z runs of its body blocks
    at full resolution: ``runs[ky, 0, 0]`` of them, run k covering
    ``runs[ky, k, 0] <= z < runs[ky, k, 1]``."""
    for ky in range(mask.shape[0]):
        n = 0
        kz = 0
        while kz < mask.shape[1]:
            if not mask[ky, kz]:
                kz += 1
                continue
            start = kz
            while kz < mask.shape[1] and mask[ky, kz]:
                kz += 1
            n += 1
            runs[ky, n, 0], runs[ky, n, 1] = start * sz, min(nz, kz * sz)
        runs[ky, 0, 0] = n
