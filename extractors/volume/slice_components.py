"""Connected components within each axial slice of a 3D boolean crop (8-connected in the
(x, y) plane, never across z), numbered as ``scipy.ndimage.label`` numbers them (by their
first voxel in C order), with each component's voxel count, y sum and slice. The crop is
read slice by slice from a (z, x, y) copy, as runs along y joined between rows
(``extractors.volume.components``); masks of chosen components are written from the runs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from extractors.jit import kernel
from extractors.volume.components import bool_runs, run_components


@dataclass(frozen=True)
class SliceComponents:
    """The in-slice components of an (x, y, z) crop; component k is label k + 1."""

    shape: tuple[int, int, int]
    n: int
    size: np.ndarray  # voxels per component
    y_sum: np.ndarray  # sum of its voxels' y (float64)
    z: np.ndarray  # its slice
    _runs: tuple[np.ndarray, np.ndarray, np.ndarray]  # (first, start, stop) of the (z, x) rows
    _component: np.ndarray  # per run

    def masks(self, *chosen: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per boolean table over labels 0..n (entry 0: background), the (x, y, z) mask of
        the components it marks."""
        table = np.stack([np.asarray(c, dtype=bool)[1:] for c in chosen])
        first, start, stop = self._runs
        return tuple(_paint(first, start, stop, self._component, table, self.shape))


def slice_components(data: np.ndarray) -> SliceComponents:
    """The in-slice components of a 3D (x, y, z) boolean crop."""
    nx, ny, nz = data.shape
    by_slice = np.ascontiguousarray(np.asarray(data, dtype=bool).transpose(2, 0, 1))
    first, start, stop = bool_runs(by_slice)
    root = run_components(first, start, stop, nx, False, True)
    component, size, y_sum, z = _number(first, start, stop, root, nx, ny, nz)
    return SliceComponents(
        (nx, ny, nz), int(size.shape[0]), size, y_sum, z, (first, start, stop), component
    )


@kernel
def _number(first, start, stop, root, nx, ny, nz):  # -> (component, size, y_sum, z)
    """Number the components by first voxel in (x, y, z) C order; per run its component;
    per component its voxel count, y sum and slice."""
    n_runs = start.shape[0]
    is_root = np.zeros(n_runs, dtype=np.bool_)
    key = np.full(n_runs, np.iinfo(np.int64).max, dtype=np.int64)
    zk = np.zeros(n_runs, dtype=np.int64)
    for r in range(first.shape[0] - 1):  # row r = (z, x)
        z, x = r // nx, r % nx
        for k in range(first[r], first[r + 1]):
            c = root[k]
            is_root[c] = True
            key[c] = min(key[c], (x * ny + start[k]))  # same slice: (x, y) decides
            zk[c] = z
    roots = np.flatnonzero(is_root)
    order = np.argsort(key[roots] * nz + zk[roots])
    number = np.empty(n_runs, dtype=np.int64)
    n = roots.shape[0]
    z_out = np.empty(n, dtype=np.int64)
    for i in range(n):
        number[roots[order[i]]] = i
        z_out[i] = zk[roots[order[i]]]
    component = np.empty(n_runs, dtype=np.int64)
    size = np.zeros(n, dtype=np.int64)
    y_sum = np.zeros(n, dtype=np.float64)
    for k in range(n_runs):
        c = number[root[k]]
        component[k] = c
        length = stop[k] - start[k]
        size[c] += length
        y_sum[c] += (start[k] + stop[k] - 1) * length // 2  # the y of its voxels
    return component, size, y_sum, z_out


@kernel
def _paint(first, start, stop, component, table, shape):  # -> one mask per table row
    """Per row of ``table`` (a flag per component), the (x, y, z) mask of the flagged
    components' runs."""
    nx = shape[0]
    out = np.zeros((table.shape[0], shape[0], shape[1], shape[2]), dtype=np.bool_)
    for r in range(first.shape[0] - 1):
        z, x = r // nx, r % nx
        for k in range(first[r], first[r + 1]):
            for t in range(table.shape[0]):
                if table[t, component[k]]:
                    for y in range(start[k], stop[k]):
                        out[t, x, y, z] = True
    return out
