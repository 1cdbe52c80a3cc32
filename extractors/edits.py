"""Image edits with known geometry, for the MedSG difference and patch tasks: a lesion
inserted or removed, a region's intensity changed, a copy misaligned by a known affine
transform, a crop. Every edit returns the new pixels and the boolean mask of what changed
(in the output image's frame), so the answer box is the mask's box, never a guess.

Pixels are 8-bit grey ``(h, w)`` or RGB ``(h, w, 3)``; the changed mask is always ``(h, w)``
(a pixel changed when any of its channels did)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Edit:
    pixels: np.ndarray  # uint8 (height, width) or (height, width, 3)
    changed: np.ndarray  # bool (height, width): the region the edit touched
    kind: str  # inserted, removed, intensity, crop...


INPAINT_MAX_RADIUS = 8


def _per_pixel(changed: np.ndarray) -> np.ndarray:
    """A channel-wise change mask reduced to one flag per pixel."""
    return changed.any(axis=-1) if changed.ndim == 3 else changed


def _plane(weight: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """A (h, w) weight shaped to broadcast over the pixels' channels."""
    return weight[..., None] if pixels.ndim == 3 else weight


def insert_lesion(
    pixels: np.ndarray, centre: tuple[float, float], radius: float, contrast: float
) -> Edit:
    """A smooth round lesion (Gaussian profile, ``contrast`` grey levels at its centre)
    added at ``centre`` (row, col); the changed region is where it adds at least 8 levels."""
    h, w = pixels.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    profile = np.exp(-(((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / (2 * radius**2)))
    added = _plane(contrast * profile, pixels)
    out = np.clip(pixels.astype(np.float64) + added, 0, 255)
    changed = _per_pixel(np.abs(np.round(out) - pixels) >= 8)
    return Edit(np.round(out).astype(np.uint8), changed, "inserted")


def remove_region(pixels: np.ndarray, box: tuple[int, int, int, int]) -> Edit:
    """A finding erased: the box filled from its surroundings (OpenCV's Telea inpainting),
    then lightly textured with the image's own fine noise so the fill does not look flat."""
    import cv2

    x1, y1, x2, y2 = box
    mask = np.zeros(pixels.shape[:2], dtype=np.uint8)
    mask[y1:y2, x1:x2] = 1
    # Telea's cost grows with the area times the radius squared: a radius over 8 px makes
    # a large region (a polyp, a lung) take minutes and fills no better.
    radius = min(INPAINT_MAX_RADIUS, max(3, min(x2 - x1, y2 - y1) // 4))
    filled = cv2.inpaint(np.ascontiguousarray(pixels), mask, radius, cv2.INPAINT_TELEA)
    changed = (mask > 0) & _per_pixel(filled != pixels)
    return Edit(filled, changed, "removed")


def change_intensity(pixels: np.ndarray, region: np.ndarray, factor: float) -> Edit:
    """A region (an organ's mask) made brighter or darker by ``factor``, edges feathered."""
    weight = ndimage.gaussian_filter(region.astype(np.float64), 1.0)
    out = pixels.astype(np.float64) * (1 + (factor - 1) * _plane(weight, pixels))
    out = np.round(np.clip(out, 0, 255)).astype(np.uint8)
    changed = _per_pixel(out != pixels) & (weight > 0.5)
    return Edit(out, changed, "intensity")


@dataclass(frozen=True)
class Affine:
    """A rigid-plus-scale transform about the image centre: rotate ``degrees``, scale, then
    shift by ``(dx, dy)`` pixels. Maps input (col, row) to output (col, row)."""

    degrees: float
    scale: float
    dx: float
    dy: float

    def matrix(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Forward 2x2 matrix and offset in (row, col) coordinates: out = A @ in + b."""
        h, w = shape
        t = np.deg2rad(self.degrees)
        rot = self.scale * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        centre = np.array([(h - 1) / 2, (w - 1) / 2])
        offset = centre - rot @ centre + np.array([self.dy, self.dx])
        return rot, offset

    def apply_points(self, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]):
        rot, offset = self.matrix(shape)
        pts = rot @ np.vstack([rows, cols]) + offset[:, None]
        return pts[0], pts[1]


def misalign(pixels: np.ndarray, changed: np.ndarray, transform: Affine) -> Edit:
    """The image and its changed region moved by ``transform`` (linear interpolation for
    the image, nearest for the mask); pixels that come from outside are black."""
    rot, offset = transform.matrix(pixels.shape[:2])
    inverse = np.linalg.inv(rot)
    inv_offset = -inverse @ offset

    def move(plane: np.ndarray) -> np.ndarray:
        return ndimage.affine_transform(
            plane.astype(np.float64), inverse, inv_offset, order=1, mode="constant", cval=0.0
        )

    if pixels.ndim == 3:
        moved = np.stack([move(pixels[..., c]) for c in range(pixels.shape[2])], axis=-1)
    else:
        moved = move(pixels)
    moved_mask = ndimage.affine_transform(
        changed.astype(np.float64), inverse, inv_offset, order=0, mode="constant", cval=0.0
    )
    return Edit(np.round(moved).astype(np.uint8), moved_mask > 0.5, "misaligned")


def crop(pixels: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x1, y1, x2, y2 = box
    return np.ascontiguousarray(pixels[y1:y2, x1:x2])
