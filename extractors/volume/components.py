"""Connected components of a 3D boolean volume, by runs: the volume's maximal stretches of
True along its last axis are joined (union-find) with the overlapping runs of the rows before
them along the first two axes, so the work is per run, not per voxel. Components are numbered
by their first voxel in C order, as ``scipy.ndimage.label`` numbers them."""

from __future__ import annotations

import numpy as np

from extractors.jit import kernel


@kernel
def bool_runs(mask: np.ndarray, value: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(first, start, stop)``: the runs of voxels equal to ``value`` along the last axis;
    row r = ``(i, j)`` (r = i * n1 + j) has runs ``first[r] <= k < first[r + 1]``, each
    covering ``start[k] <= z < stop[k]``."""
    n0, n1, n2 = mask.shape
    first = np.zeros(n0 * n1 + 1, dtype=np.int64)
    room = n0 * n1 * ((n2 + 1) // 2)  # at most every other voxel starts a run
    start = np.empty(room, dtype=np.int64)
    stop = np.empty(room, dtype=np.int64)
    k = 0
    for i in range(n0):
        for j in range(n1):
            first[i * n1 + j] = k
            z = 0
            while z < n2:
                if mask[i, j, z] != value:
                    z += 1
                    continue
                start[k] = z
                while z < n2 and mask[i, j, z] == value:
                    z += 1
                stop[k] = z
                k += 1
    first[n0 * n1] = k
    return first, start[:k], stop[:k]


@kernel
def _root(parent: np.ndarray, k: int) -> int:
    """Union-find root of run k, halving the path on the way."""
    while parent[k] != k:
        parent[k] = parent[parent[k]]
        k = parent[k]
    return k


@kernel
def run_components(
    first: np.ndarray, start: np.ndarray, stop: np.ndarray, n1: int, across_first: bool,
    diagonal: bool = False, along_second: bool = True,
) -> np.ndarray:  # fmt: skip
    """Per run, the index of its component's first run: runs on rows next to each other
    along axis 1 (when ``along_second``) and along axis 0 (when ``across_first``) are joined
    when they share a z (6-connectivity; 4 in a plane), or when they share or touch one with
    ``diagonal`` (8-connectivity in the plane of the last axis and the one joined along)."""
    n_rows = first.shape[0] - 1
    parent = np.arange(start.shape[0])
    for r in range(n_rows):
        j = r % n1
        reach = 1 if diagonal else 0
        if along_second and j > 0:
            _join_rows(parent, first, start, stop, r - 1, r, reach)
        if across_first and r >= n1:
            _join_rows(parent, first, start, stop, r - n1, r, reach)
    for k in range(start.shape[0]):
        parent[k] = _root(parent, k)
    return parent


@kernel
def _join_rows(parent, first, start, stop, ra, rb, reach):
    """Join the runs of rows ra and rb that overlap, or touch when ``reach`` is 1 (a merge
    walk of their sorted runs); the root kept is the lower run index."""
    a, a_end = first[ra], first[ra + 1]
    b, b_end = first[rb], first[rb + 1]
    while a < a_end and b < b_end:
        if start[a] < stop[b] + reach and start[b] < stop[a] + reach:
            x, y = _root(parent, a), _root(parent, b)
            if x < y:
                parent[y] = x
            elif y < x:
                parent[x] = y
        if stop[a] <= stop[b]:
            a += 1
        else:
            b += 1


@kernel
def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 6-connected component of a 3D boolean volume (the first in C order among
    equally large ones; all False when the volume is)."""
    n0, n1 = mask.shape[0], mask.shape[1]
    first, start, stop = bool_runs(mask)
    out = np.zeros(mask.shape, dtype=np.bool_)
    if start.shape[0] == 0:
        return out
    root = run_components(first, start, stop, n1, True)
    size = np.zeros(start.shape[0], dtype=np.int64)
    for k in range(start.shape[0]):
        size[root[k]] += stop[k] - start[k]
    best = 0
    for k in range(start.shape[0]):
        if size[k] > size[best]:
            best = k
    for r in range(n0 * n1):
        for k in range(first[r], first[r + 1]):
            if root[k] == best:
                out[r // n1, r % n1, start[k] : stop[k]] = True
    return out


@kernel
def fill_holes_per_slice(mask: np.ndarray) -> None:
    """Fill, in place, the holes of each 2D slice ``mask[:, :, z]`` (background regions,
    4-connected in the slice, that do not reach the slice's edge). Read as the (x, z, y)
    view: background runs along y, joined between rows of consecutive x on one slice."""
    n0, n1, n2 = mask.shape
    view = mask.transpose(0, 2, 1)  # (x, z, y): row (i, z) is slice z's line x = i
    first, start, stop = bool_runs(view, False)
    root = run_components(first, start, stop, n2, True, False, False)
    edge = np.zeros(start.shape[0], dtype=np.bool_)
    for r in range(n0 * n2):
        i = r // n2
        for k in range(first[r], first[r + 1]):
            if i == 0 or i == n0 - 1 or start[k] == 0 or stop[k] == n1:
                edge[root[k]] = True
    for r in range(n0 * n2):
        i, z = r // n2, r % n2
        for k in range(first[r], first[r + 1]):
            if not edge[root[k]]:
                for j in range(start[k], stop[k]):
                    mask[i, j, z] = True
