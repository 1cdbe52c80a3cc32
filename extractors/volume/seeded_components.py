"""Connected components found by flood fill from where they are wanted, not by labelling a
whole volume: the 6-connected components of ``values >= t`` inside a box that reach given
axial slices (PET localisation asks only for the hot spots on a report's slice), and the
component of a boolean mask holding a seed voxel. The fill visits the wanted components'
voxels only, so the cost follows the components, not the volume (``scipy.ndimage.label``
over a slab of a 200x200x300 exam numbers every component in it, on the slices or not)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from extractors.jit import kernel
from extractors.volume.neighbours import face_neighbour, pushed


@dataclass(frozen=True)
class SliceReach:
    """The components reaching the slices, in no particular order: per component its box
    (``lo`` inclusive, ``hi`` exclusive, volume voxel coordinates), its maximum value and
    where that is (the first maximal voxel in C order)."""

    lo: np.ndarray  # (n, 3) int64
    hi: np.ndarray  # (n, 3) int64
    maximum: np.ndarray  # (n,) float64
    argmax: np.ndarray  # (n, 3) int64

    @property
    def n(self) -> int:
        return int(self.maximum.shape[0])

    def box(self, k: int) -> tuple[slice, slice, slice]:
        return tuple(slice(int(a), int(b)) for a, b in zip(self.lo[k], self.hi[k], strict=True))  # type: ignore[return-value]


def components_reaching_slices(
    values: np.ndarray,
    t: float,
    z0: int,
    z1: int,
    box: tuple[slice, slice, slice] | None = None,
) -> SliceReach:
    """The 6-connected components of ``values >= t`` within ``box`` (the whole volume when
    None) that have a voxel on slices z0..z1 (those of them inside the box). ``t`` is
    compared as numpy compares an array with a Python float (cast to a float array's own
    type), so the components are those of ``values[box] >= t``."""
    if box is None:
        box = (slice(0, values.shape[0]), slice(0, values.shape[1]), slice(0, values.shape[2]))
    bounds = np.array(
        [[sl.indices(n)[0], sl.indices(n)[1]] for sl, n in zip(box, values.shape, strict=True)],
        dtype=np.int64,
    )
    thr = values.dtype.type(t) if values.dtype.kind == "f" else float(t)
    size = [max(0, int(b - a)) for a, b in bounds]
    origin = bounds[:, 0].copy()
    if np.prod(size) * 4 < values.size:  # a small box: fill a compact copy (rows adjacent)
        values = np.ascontiguousarray(values[tuple(slice(a, b) for a, b in bounds)])
        bounds = np.array([[0, n] for n in size], dtype=np.int64)
        z0, z1 = z0 - int(origin[2]), z1 - int(origin[2])
    else:
        origin[:] = 0
    visited = np.zeros(int(np.prod(size)), dtype=np.uint8)  # calloc: untouched pages stay free
    lo, hi, maximum, argmax = _reach(values, thr, int(z0), int(z1), bounds, visited)
    return SliceReach(lo + origin, hi + origin, maximum, argmax + origin)


@kernel
def _reach(values, thr, z0, z1, bounds, visited):  # -> (lo, hi, maximum, argmax)
    """Flood fill (6-neighbours, inside ``bounds``) from every voxel >= thr on slices z0..z1
    not yet reached; per component its box, maximum and first maximal voxel in C order.
    The fill goes by runs along z (the contiguous axis): a popped voxel's run is extended
    both ways and marked, and the start of every qualifying stretch of the four rows beside
    it is pushed."""
    x0, x1 = bounds[0, 0], bounds[0, 1]
    y0, y1 = bounds[1, 0], bounds[1, 1]
    za, zb = bounds[2, 0], bounds[2, 1]
    nx, ny, nz = x1 - x0, y1 - y0, zb - za
    stats = np.empty((64, 9), dtype=np.int64)  # per component: lo, hi, argmax
    maxima = np.empty(64, dtype=np.float64)
    n = 0
    stack = np.empty(4096, dtype=np.int64)  # (row, z) as row * nz + z, row = x * ny + y
    lo = np.empty(3, dtype=np.int64)
    hi = np.empty(3, dtype=np.int64)
    at = np.empty(3, dtype=np.int64)
    for z in range(max(z0, za), min(z1 + 1, zb)):
        for x in range(x0, x1):
            for y in range(y0, y1):
                first = ((x - x0) * ny + (y - y0)) * nz + (z - za)
                if visited[first] or not values[x, y, z] >= thr:
                    continue
                stack[0] = first
                top = 1
                lo[0], lo[1], lo[2] = x, y, z
                hi[0], hi[1], hi[2] = x + 1, y + 1, z + 1
                at[0], at[1], at[2] = x, y, z
                best = np.float64(values[x, y, z])
                while top:
                    top -= 1
                    k = stack[top]
                    if visited[k]:
                        continue
                    row, cz = k // nz, k % nz
                    cx, cy = row // ny, row % ny
                    gx, gy = cx + x0, cy + y0
                    a = cz  # the run [a, b) through cz
                    while (
                        a > 0
                        and not visited[row * nz + a - 1]
                        and values[gx, gy, a - 1 + za] >= thr
                    ):
                        a -= 1
                    b = cz + 1
                    while b < nz and not visited[row * nz + b] and values[gx, gy, b + za] >= thr:
                        b += 1
                    for zz in range(a, b):
                        visited[row * nz + zz] = 1
                        v = np.float64(values[gx, gy, zz + za])
                        if v > best or (v == best and _before(gx, gy, zz + za, at)):
                            best = v
                            at[0], at[1], at[2] = gx, gy, zz + za
                    lo[0], lo[1], lo[2] = min(lo[0], gx), min(lo[1], gy), min(lo[2], a + za)
                    hi[0], hi[1] = max(hi[0], gx + 1), max(hi[1], gy + 1)
                    hi[2] = max(hi[2], b + za)
                    for d in range(4):  # the rows beside this one
                        ok, other = face_neighbour(row, d, nx, ny, 1)
                        if not ok:
                            continue
                        ox, oy = other // ny + x0, other % ny + y0
                        inside = False
                        for zz in range(a, b):
                            j = other * nz + zz
                            good = not visited[j] and values[ox, oy, zz + za] >= thr
                            if good and not inside:
                                stack = pushed(stack, top, j)
                                top += 1
                            inside = good
                if n == maxima.shape[0]:
                    more, more_max = np.empty((2 * n, 9), dtype=np.int64), np.empty(2 * n)
                    more[:n], more_max[:n] = stats, maxima
                    stats, maxima = more, more_max
                stats[n, 0:3], stats[n, 3:6], stats[n, 6:9] = lo, hi, at
                maxima[n] = best
                n += 1
    return stats[:n, 0:3].copy(), stats[:n, 3:6].copy(), maxima[:n].copy(), stats[:n, 6:9].copy()


@kernel
def _before(x, y, z, at) -> bool:
    """Whether voxel (x, y, z) comes before ``at`` in C order."""
    if x != at[0]:
        return x < at[0]
    if y != at[1]:
        return y < at[1]
    return z < at[2]


def component_of(mask: np.ndarray, seed: tuple[int, ...]) -> np.ndarray | None:
    """The 6-connected component of a 3D boolean mask that holds ``seed`` (None when the seed
    is not in the mask): ``labels == labels[seed]`` of ``scipy.ndimage.label`` with the
    6-neighbour structure, without numbering the mask's other components."""
    if not mask[seed]:
        return None
    mask = np.ascontiguousarray(mask, dtype=bool)
    return _fill(mask, int(np.ravel_multi_index(seed, mask.shape)))


@kernel
def _fill(mask, first):  # -> the component of ``first`` (a C-order index), as a mask
    """Flood fill of a C-contiguous 3D boolean mask from one voxel, 6-neighbours."""
    nx, ny, nz = mask.shape
    flat = mask.reshape(-1)
    out = np.zeros(mask.shape, dtype=np.bool_)
    seen = out.reshape(-1)
    stack = np.empty(1024, dtype=np.int64)
    stack[0] = first
    seen[first] = True
    top = 1
    while top:
        top -= 1
        k = stack[top]
        for d in range(6):
            ok, j = face_neighbour(k, d, nx, ny, nz)
            if not ok or seen[j] or not flat[j]:
                continue
            seen[j] = True
            stack = pushed(stack, top, j)
            top += 1
    return out
