"""Grids: when two volumes lie on the same grid (one comparison, one tolerance), the error
that says they do not, and sampling one grid's data on another (PET/CT: a CT series onto the
PET grid).

A grid is a shape and an affine (voxel -> RAS mm). Two grids are the same when their shapes
are equal and no affine entry differs by more than ``GRID_TOL_MM``: far above the round-off
of headers written by scanners or by nibabel, far below a voxel."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from extractors.volume.orientation import voxel_spacing
from schemas.enums import Reason
from schemas.errors import ItemError

GRID_TOL_MM = 1e-2


def grid_difference(
    ref_shape: Sequence[int],
    ref_affine: np.ndarray,
    shape: Sequence[int],
    affine: np.ndarray,
) -> str | None:
    """How the second grid differs from the first (shape, or affine beyond ``GRID_TOL_MM``),
    or None when they are the same grid."""
    if tuple(int(n) for n in shape) != tuple(int(n) for n in ref_shape):
        return f"the shapes differ ({tuple(shape)} against {tuple(ref_shape)})"
    diff = float(np.abs(np.asarray(ref_affine, float) - np.asarray(affine, float)).max())
    if diff > GRID_TOL_MM:
        return f"the affines differ by up to {diff:.3g} mm (tolerance {GRID_TOL_MM} mm)"
    return None


def same_grid(
    ref_shape: Sequence[int], ref_affine: np.ndarray, shape: Sequence[int], affine: np.ndarray
) -> bool:
    return grid_difference(ref_shape, ref_affine, shape, affine) is None


def require_same_grid(
    source: str,
    what: str,
    grid: tuple[Sequence[int], np.ndarray],
    ref: str,
    ref_grid: tuple[Sequence[int], np.ndarray],
    reason: Reason,
) -> None:
    """Raise ItemError(``reason``), naming the file ``source``, unless the ``what`` grid lies
    on the ``ref`` grid (e.g. an organ mask on the CT's, a CT on the PET's)."""
    shape, affine = grid
    ref_shape, ref_affine = ref_grid
    problem = grid_difference(ref_shape, ref_affine, shape, affine)
    if problem:
        raise ItemError(
            reason,
            f"{source}: the {what} grid {tuple(shape)} with voxel size "
            f"{_fmt(voxel_spacing(affine))} mm does not match the {ref} grid "
            f"{tuple(ref_shape)} with {_fmt(voxel_spacing(ref_affine))} mm: {problem}",
        )


def _fmt(values: Sequence[float]) -> str:
    return "x".join(f"{v:.3g}" for v in values)


def resample_to_grid(
    data: np.ndarray,
    affine: np.ndarray,
    shape: Sequence[int],
    target_affine: np.ndarray,
    *,
    order: int,
    cval: float,
) -> np.ndarray:
    """``data`` (on its own grid) sampled on the target grid: linear (order 1) for images,
    nearest (order 0) for labels; outside the source field of view takes ``cval``."""
    mapping = np.linalg.inv(np.asarray(affine, dtype=np.float64)) @ np.asarray(
        target_affine, dtype=np.float64
    )
    return ndimage.affine_transform(
        np.asarray(data, dtype=np.float32 if order else data.dtype),
        mapping[:3, :3],
        offset=mapping[:3, 3],
        output_shape=tuple(int(n) for n in shape),
        order=order,
        mode="constant",
        cval=cval,
        prefilter=False,
    )


def overlap_fraction(
    shape: Sequence[int], affine: np.ndarray, target_shape: Sequence[int], target_affine: np.ndarray
) -> float:
    """Share of the target grid's voxel centres (sampled) that fall inside the source grid."""
    grid = np.stack(
        np.meshgrid(*[np.linspace(0, n - 1, min(n, 12)) for n in target_shape], indexing="ij"),
        axis=-1,
    ).reshape(-1, 3)
    world = grid @ np.asarray(target_affine)[:3, :3].T + np.asarray(target_affine)[:3, 3]
    inv = np.linalg.inv(np.asarray(affine))
    idx = world @ inv[:3, :3].T + inv[:3, 3]
    inside = np.all((idx > -0.5) & (idx < np.asarray(shape) - 0.5), axis=1)
    return float(inside.mean())
