"""Steps between the voxels of a C-order 3D grid, for the compiled flood fills and
morphology (``seeded_components``, ``morphology``): a voxel's face neighbours by flat index,
and a stack that grows as a walk pushes onto it."""

from __future__ import annotations

import numpy as np

from extractors.jit import kernel


@kernel
def face_neighbour(k, d, nx, ny, nz):  # -> (inside, index)
    """The ``d``-th (0-5: x-1, x+1, y-1, y+1, z-1, z+1) face neighbour of flat index ``k``
    in an (nx, ny, nz) C-order grid: whether it lies in the grid, and its flat index (a
    2D grid of rows is the grid (nx, ny, 1) with d in 0-3)."""
    x, rest = k // (ny * nz), k % (ny * nz)
    y, z = rest // nz, rest % nz
    if d == 0:
        return x > 0, k - ny * nz
    if d == 1:
        return x < nx - 1, k + ny * nz
    if d == 2:
        return y > 0, k - nz
    if d == 3:
        return y < ny - 1, k + nz
    if d == 4:
        return z > 0, k - 1
    return z < nz - 1, k + 1


@kernel
def pushed(stack, top, value):  # -> the stack (a new, twice larger one when it was full)
    """``stack[top] = value``, growing ``stack`` (int64) by doubling when it is full."""
    if top == stack.shape[0]:
        grown = np.empty(2 * top, dtype=np.int64)
        grown[:top] = stack
        stack = grown
    stack[top] = value
    return stack
