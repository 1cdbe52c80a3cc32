"""Compiled passes over a multilabel volume (class ids, 0 background). One pass reads the
volume axial row by axial row (the last axis, contiguous) and lists its runs (a row's
maximal stretches of one non-zero label), skipping 16 voxels at a time where the row keeps
its value; every label's box and every wanted label's binary crop then come from the runs
(a few hundred thousand for a CT's organs, against tens of millions of voxels)."""

from __future__ import annotations

import numpy as np

from extractors.jit import kernel

_ONES = np.uint64(0x0101010101010101)  # a byte repeated over a 64-bit word


def label_runs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The runs of a 3D label volume: ``(where, value)``; ``where[i] = (x, y, z0, z1)``, int64,
    the run covering z0 <= z < z1 of row (x, y), ``value[i]`` its label; in C order. A uint8
    volume is read eight voxels at a time where it keeps its value."""
    labels = np.ascontiguousarray(labels)
    flat = labels.reshape(-1)
    words = np.zeros(0, dtype=np.uint64)
    if labels.dtype == np.uint8 and flat.size >= 8:
        words = flat[: flat.size // 8 * 8].view(np.uint64)
    room = max(4096, flat.size // 64)  # untouched pages of np.empty cost nothing
    while True:
        where = np.empty((room, 4), dtype=np.int64)
        value = np.empty(room, dtype=np.int64)
        k = _scan_runs(flat, words, labels.shape[1], labels.shape[2], where, value)
        if k <= room:
            return where[:k], value[:k]
        room = k  # scan again with room for every run


@kernel
def _scan_runs(
    flat: np.ndarray, words: np.ndarray, ny: int, nz: int, where: np.ndarray, value: np.ndarray
) -> int:
    """The runs of the C-order voxels ``flat`` (``words``: the same bytes as 64-bit words, or
    empty), split at row ends, stored while there is room; returns how many there are."""
    room = value.shape[0]
    k = 0
    n = flat.shape[0]
    if n == 0:
        return 0
    cur = flat[0] - flat[0]  # zero, of the labels' type
    pattern = np.uint64(0)
    begin = 0
    i = 0
    n_words = words.shape[0]
    while i <= n:
        if i < n:
            if (i & 7) == 0:  # skip the words that continue the current run
                w = i >> 3
                while w < n_words and words[w] == pattern:
                    w += 1
                if w << 3 != i:
                    i = min(w << 3, n)
                    continue
            v = flat[i]
            if v == cur:
                i += 1
                continue
        else:
            v = cur - cur  # the stream's end closes the last run
        a = begin
        while cur != 0 and a < i:  # the run [begin, i) of cur, one run per row it spans
            row = a // nz
            end = min(i, (row + 1) * nz)
            if k < room:
                where[k, 0], where[k, 1] = row // ny, row % ny
                where[k, 2], where[k, 3] = a - row * nz, end - row * nz
                value[k] = cur
            k += 1
            a = end
        cur, begin = v, i
        pattern = np.uint64(v) * _ONES
        i += 1
    return k


@kernel
def run_boxes(where: np.ndarray, value: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)``, each ``(n, 3)`` int64: label v's runs lie in [lo[v], hi[v]); hi[v, 0] is
    -1 for a label without runs. Labels >= n are ignored."""
    lo = np.full((n, 3), np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full((n, 3), -1, dtype=np.int64)
    for i in range(value.shape[0]):
        v = value[i]
        if v >= n:
            continue
        lo[v, 0] = min(lo[v, 0], where[i, 0])
        lo[v, 1] = min(lo[v, 1], where[i, 1])
        lo[v, 2] = min(lo[v, 2], where[i, 2])
        hi[v, 0] = max(hi[v, 0], where[i, 0] + 1)
        hi[v, 1] = max(hi[v, 1], where[i, 1] + 1)
        hi[v, 2] = max(hi[v, 2], where[i, 3])
    return lo, hi


@kernel
def group_runs(where: np.ndarray, value: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(grouped, first)``: the runs ``where`` regrouped by label (a counting sort, C order
    kept within a label), label v < n's being ``grouped[first[v]:first[v + 1]]``; labels
    >= n are left out."""
    first = np.zeros(n + 1, dtype=np.int64)
    for i in range(value.shape[0]):
        if value[i] < n:
            first[value[i] + 1] += 1
    for v in range(n):
        first[v + 1] += first[v]
    fill = first[:n].copy()
    grouped = np.empty((first[n], 4), dtype=np.int64)
    for i in range(value.shape[0]):
        v = value[i]
        if v < n:
            grouped[fill[v]] = where[i]
            fill[v] += 1
    return grouped, first


@kernel
def runs_crop(where: np.ndarray, lo: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The boolean crop of shape ``size`` at ``lo`` that is True on the runs ``where``."""
    out = np.zeros((size[0], size[1], size[2]), dtype=np.bool_)
    paint_runs(out, where, lo)
    return out


@kernel
def paint_runs(out: np.ndarray, where: np.ndarray, origin: np.ndarray) -> None:
    """Set the runs ``where`` (inside it) in the crop ``out`` whose voxel 0 is ``origin``."""
    for i in range(where.shape[0]):
        x, y = where[i, 0] - origin[0], where[i, 1] - origin[1]
        out[x, y, where[i, 2] - origin[2] : where[i, 3] - origin[2]] = True


@kernel
def runs_plane(where: np.ndarray, lo: np.ndarray, size: np.ndarray, axis: int) -> np.ndarray:
    """The any-voxel projection along ``axis`` of the crop ``runs_crop(where, lo, size)``:
    the 2D crop over the two other axes, in order."""
    if axis == 2:
        out = np.zeros((size[0], size[1]), dtype=np.bool_)
        for i in range(where.shape[0]):
            out[where[i, 0] - lo[0], where[i, 1] - lo[1]] = True
        return out
    keep = 1 - axis  # the in-plane axis that stays: y for axis 0, x for axis 1
    out = np.zeros((size[keep], size[2]), dtype=np.bool_)
    for i in range(where.shape[0]):
        out[where[i, keep] - lo[keep], where[i, 2] - lo[2] : where[i, 3] - lo[2]] = True
    return out


def labels_box(labels: np.ndarray, ids: list[int]) -> tuple[tuple[slice, slice, slice] | None, int]:
    """The box of the voxels of a 3D label volume whose label is one of ``ids`` (None when
    there are none) and how many they are: one pass over the labels, no boolean volume."""
    ids = [int(i) for i in ids if int(i) >= 0]
    wanted = np.zeros(max(ids, default=0) + 1, dtype=np.bool_)
    wanted[ids] = True
    lo, hi, count = _labels_box(np.ascontiguousarray(labels), wanted)
    if count == 0:
        return None, 0
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True)), int(count)  # type: ignore[return-value]


@kernel
def _labels_box(labels: np.ndarray, wanted: np.ndarray):  # -> (lo, hi, count)
    """Box (``lo`` inclusive, ``hi`` exclusive) and count of the voxels whose label v has
    ``wanted[v]`` (labels outside the table are not wanted). A row is first counted (a
    loop the compiler vectorises), and only a row with hits is searched for its ends."""
    nx, ny, nz = labels.shape
    lo = np.array([nx, ny, nz], dtype=np.int64)
    hi = np.zeros(3, dtype=np.int64)
    n_wanted = wanted.shape[0]
    ids = np.flatnonzero(wanted)
    single = ids.shape[0] == 1
    target = ids[0] if ids.shape[0] else -1
    count = 0
    for x in range(nx):
        for y in range(ny):
            row = labels[x, y]
            c = 0
            if single:
                for z in range(nz):
                    c += row[z] == target
            else:
                for z in range(nz):
                    v = row[z]
                    c += 0 <= v < n_wanted and wanted[v]
            if c == 0:
                continue
            count += c
            first, last = 0, nz - 1
            while not (0 <= row[first] < n_wanted and wanted[row[first]]):
                first += 1
            while not (0 <= row[last] < n_wanted and wanted[row[last]]):
                last -= 1
            lo[0], lo[1], lo[2] = min(lo[0], x), min(lo[1], y), min(lo[2], first)
            hi[0], hi[1], hi[2] = max(hi[0], x + 1), max(hi[1], y + 1), max(hi[2], last + 1)
    return lo, hi, count
