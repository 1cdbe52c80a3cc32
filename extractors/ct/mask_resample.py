"""The compiled resampling of a projected mask crop to image pixels: ``_Axis.apply`` on the
crop along the column axis, then along z, with the same float64 arithmetic in the same order
(``(1 - w1) * near + w1 * far``), so the thresholded pixels equal the numpy route's."""

from __future__ import annotations

import numpy as np

from extractors.jit import kernel


@kernel
def touched(i0: np.ndarray, i1: np.ndarray, start: int, n: int) -> tuple[int, int]:
    """``[j0, j1)``: the output samples whose inputs reach the crop ``[start, start + n)``
    (the maps are non-decreasing, so they are one range; empty as j0 == j1)."""
    j0 = 0
    while j0 < i1.shape[0] and i1[j0] < start:
        j0 += 1
    j1 = j0
    while j1 < i0.shape[0] and i0[j1] <= start + n - 1:
        j1 += 1
    return j0, j1


@kernel
def resample_crop(
    crop: np.ndarray, start: tuple[int, int], cols: tuple[np.ndarray, np.ndarray, np.ndarray],
    rows: tuple[np.ndarray, np.ndarray, np.ndarray], threshold: float,
) -> tuple[int, int, np.ndarray]:  # fmt: skip
    """``(j0, k0, hit)``: the boolean crop ``crop`` (column axis, z) at ``start`` resampled by
    the maps ``cols`` and ``rows`` (each ``(i0, i1, w1)``), at least ``threshold``, on the
    output samples [j0, j0 + hit.shape[0]) x [k0, k0 + hit.shape[1]) it touches."""
    n0, n1 = crop.shape
    ci0, ci1, cw1 = cols
    ri0, ri1, rw1 = rows
    j0, j1 = touched(ci0, ci1, start[0], n0)
    k0, k1 = touched(ri0, ri1, start[1], n1)
    a = np.empty((j1 - j0, n1), dtype=np.float64)
    for j in range(j0, j1):
        p, q, w = ci0[j] - start[0], ci1[j] - start[0], cw1[j]
        for z in range(n1):
            near = 1.0 if 0 <= p < n0 and crop[p, z] else 0.0
            far = 1.0 if 0 <= q < n0 and crop[q, z] else 0.0
            a[j - j0, z] = near * (1.0 - w) + far * w
    hit = np.zeros((j1 - j0, k1 - k0), dtype=np.bool_)
    for k in range(k0, k1):
        p, q, w = ri0[k] - start[1], ri1[k] - start[1], rw1[k]
        for j in range(j1 - j0):
            near = a[j, p] if 0 <= p < n1 else 0.0
            far = a[j, q] if 0 <= q < n1 else 0.0
            hit[j, k - k0] = near * (1.0 - w) + far * w >= threshold
    return j0, k0, hit
