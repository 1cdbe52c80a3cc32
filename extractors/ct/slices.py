"""CT slices for people and their masks, on the same pixel grid.

Axial slices follow radiological convention: the patient's right on the image's left,
anterior at the top. Coronal slices: head up, the patient's right on the image's left.
Slices are resampled to square pixels of the finer in-plane spacing (images linearly, masks
by nearest neighbour with the very same output shape), so a mask's box lines up with the
image. Windows: soft tissue (level 40, width 400) or lung (level -600, width 1500)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from extractors.ct.masks import SparseMask
from extractors.masks import mask_box
from extractors.volume import Volume

WINDOWS = {"soft_tissue": (40.0, 400.0), "lung": (-600.0, 1500.0)}


def window(hu: np.ndarray, name: str) -> np.ndarray:
    level, width = WINDOWS[name]
    low = level - width / 2
    return np.round(np.clip((hu - low) / width, 0.0, 1.0) * 255).astype(np.uint8)


@dataclass(frozen=True)
class SliceGrid:
    """How a plane of the volume maps to image pixels: which axes, flips and zoom."""

    plane: str  # "axial" (z fixed) or "coronal" (y fixed)
    zoom: tuple[float, float]  # output rows / input rows, output cols / input cols

    @classmethod
    def of(cls, volume: Volume, plane: str) -> SliceGrid:
        sx, sy, sz = volume.spacing
        rows_mm = sy if plane == "axial" else sz
        pixel = min(sx, rows_mm)
        return cls(plane, (rows_mm / pixel, sx / pixel))

    def orient(self, plane2d: np.ndarray) -> np.ndarray:
        """A (x, other) plane as (rows, cols) in display order."""
        if self.plane == "axial":  # rows: y (anterior first), cols: x (patient right first)
            return plane2d.T
        return plane2d.T[::-1]  # coronal rows: z from the head down

    def image(self, plane2d: np.ndarray) -> np.ndarray:
        return ndimage.zoom(self.orient(plane2d).astype(np.float32), self.zoom, order=1)

    def mask(self, plane2d: np.ndarray) -> np.ndarray:
        return ndimage.zoom(self.orient(plane2d).astype(np.uint8), self.zoom, order=0) > 0


def axial_image(volume: Volume, z: int, window_name: str) -> np.ndarray:
    grid = SliceGrid.of(volume, "axial")
    return window(grid.image(np.asarray(volume.data[:, :, z], dtype=np.float32)), window_name)


def coronal_image(volume: Volume, y: int, window_name: str) -> np.ndarray:
    grid = SliceGrid.of(volume, "coronal")
    return window(grid.image(np.asarray(volume.data[:, y, :], dtype=np.float32)), window_name)


def mask_plane(mask: SparseMask, plane: str, index: int) -> np.ndarray | None:
    """The mask on one axial (z = index) or coronal (y = index) plane, as a dense (x, other)
    array, or None when the plane misses it."""
    axis = 2 if plane == "axial" else 1
    lo, hi = mask.offset[axis], mask.hi[axis]
    if not lo <= index < hi:
        return None
    local = mask.data.take(index - lo, axis=axis)
    if not local.any():
        return None
    other = 1 if plane == "axial" else 2
    dense = np.zeros((mask.shape[0], mask.shape[other]), dtype=bool)
    dense[mask.offset[0] : mask.hi[0], mask.offset[other] : mask.hi[other]] = local
    return dense


def mask_box_on(
    volume: Volume, mask: SparseMask, plane: str, index: int
) -> tuple[int, int, int, int] | None:
    """``(x1, y1, x2, y2)`` pixel edges of the mask on that slice image, or None."""
    dense = mask_plane(mask, plane, index)
    if dense is None:
        return None
    return mask_box(SliceGrid.of(volume, plane).mask(dense))
