"""Slices of a canonical volume for people, and its masks on the same pixel grid, in the
three planes.

Radiological convention: axial slices with the patient's right on the image's left and
anterior at the top; coronal slices with the head up and the patient's right on the left;
sagittal slices with the head up and anterior on the left. Slices are resampled to square
pixels of the finer in-plane spacing (images linearly, masks by nearest neighbour with the
very same output shape), so a mask's box lines up with the image. Pixel values are the
caller's (``extractors.display`` turns them into grey levels)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from extractors.masks import mask_box
from extractors.volume.orientation import OnGrid
from extractors.volume.sparse import SparseMask

PLANES = ("axial", "coronal", "sagittal")
# the canonical axis a plane holds fixed, and the two it shows as (rows, cols)
FIXED_AXIS = {"axial": 2, "coronal": 1, "sagittal": 0}
SHOWN_AXES = {"axial": (1, 0), "coronal": (2, 0), "sagittal": (2, 1)}


@dataclass(frozen=True)
class SliceGrid:
    """How a plane of the volume maps to image pixels: which axes, flips and zoom."""

    plane: str  # "axial" (z fixed), "coronal" (y fixed) or "sagittal" (x fixed)
    zoom: tuple[float, float]  # output rows / input rows, output cols / input cols

    @classmethod
    def of(cls, volume: OnGrid, plane: str) -> SliceGrid:
        rows_axis, cols_axis = SHOWN_AXES[plane]
        rows_mm, cols_mm = volume.spacing[rows_axis], volume.spacing[cols_axis]
        pixel = min(rows_mm, cols_mm)
        return cls(plane, (rows_mm / pixel, cols_mm / pixel))

    def orient(self, plane2d: np.ndarray) -> np.ndarray:
        """A plane (the two remaining canonical axes, in order) as (rows, cols) in display
        order."""
        if self.plane == "axial":  # rows: y (anterior first), cols: x (patient right first)
            return plane2d.T
        return plane2d.T[::-1]  # coronal / sagittal rows: z from the head down

    def image(self, plane2d: np.ndarray) -> np.ndarray:
        return _zoom(self.orient(plane2d).astype(np.float32), self.zoom, 1)

    def mask(self, plane2d: np.ndarray) -> np.ndarray:
        return _zoom(self.orient(plane2d).astype(np.uint8), self.zoom, 0) > 0


def _zoom(plane: np.ndarray, zoom: tuple[float, float], order: int) -> np.ndarray:
    """Resample with pixel edges kept (``grid_mode``): output pixel i covers the same mm as
    the input pixels under it, so a mask's box maps back to voxel edges within half a pixel."""
    if zoom == (1.0, 1.0):
        return plane
    return ndimage.zoom(plane, zoom, order=order, grid_mode=True, mode="nearest")


def plane_values(volume_data: np.ndarray, plane: str, index: int) -> np.ndarray:
    """The volume's values on one plane (the two remaining axes, in order)."""
    return np.asarray(volume_data, dtype=np.float32).take(index, axis=FIXED_AXIS[plane])


def slice_values(volume: OnGrid, plane: str, index: int) -> np.ndarray:
    """One plane of the volume in display order and square pixels (float32 values)."""
    return SliceGrid.of(volume, plane).image(plane_values(volume.grid_data, plane, index))


def mask_plane(mask: SparseMask, plane: str, index: int) -> np.ndarray | None:
    """The mask on one plane (``index`` along the plane's fixed axis), as a dense array of
    the two remaining axes, or None when the plane misses it."""
    axis = FIXED_AXIS[plane]
    lo, hi = mask.offset[axis], mask.hi[axis]
    if not lo <= index < hi:
        return None
    local = mask.data.take(index - lo, axis=axis)
    if not local.any():
        return None
    a, b = (i for i in range(3) if i != axis)
    dense = np.zeros((mask.shape[a], mask.shape[b]), dtype=bool)
    dense[mask.offset[a] : mask.hi[a], mask.offset[b] : mask.hi[b]] = local
    return dense


def mask_image(volume: OnGrid, mask: SparseMask, plane: str, index: int) -> np.ndarray | None:
    """The mask on that slice image (display order, square pixels), or None."""
    dense = mask_plane(mask, plane, index)
    return None if dense is None else SliceGrid.of(volume, plane).mask(dense)


def mask_box_on(
    volume: OnGrid, mask: SparseMask, plane: str, index: int
) -> tuple[int, int, int, int] | None:
    """``(x1, y1, x2, y2)`` pixel edges of the mask on that slice image, or None."""
    shown = mask_image(volume, mask, plane, index)
    return None if shown is None else mask_box(shown)
