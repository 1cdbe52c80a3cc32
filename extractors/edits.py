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
INPAINT_COARSE_SIDE = 32  # a box's shorter side filled at full size, at most


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
    # Beyond the distance where the profile adds under half a grey level no pixel changes
    # (it rounds back to itself): only the window inside it is computed, as on the full grid.
    reach = radius * np.sqrt(2.0 * np.log(max(2.0 * abs(contrast), 1.0))) + 2.0
    r1, r2 = max(0, int(centre[0] - reach)), min(h, int(np.ceil(centre[0] + reach)) + 1)
    c1, c2 = max(0, int(centre[1] - reach)), min(w, int(np.ceil(centre[1] + reach)) + 1)
    out_pixels = np.array(pixels, copy=True)
    changed = np.zeros((h, w), dtype=bool)
    if r1 < r2 and c1 < c2:
        dy2 = ((np.arange(r1, r2) - centre[0]) ** 2)[:, None]  # each pixel's value as on
        dx2 = ((np.arange(c1, c2) - centre[1]) ** 2)[None, :]  # the full grid, by broadcasting
        # exp(-((dy2 + dx2) / (2 r^2))) * contrast, computed in place (the same operations)
        profile = np.asarray(dy2 + dx2, dtype=np.float64)
        profile /= 2 * radius**2
        np.negative(profile, out=profile)
        np.exp(profile, out=profile)
        profile *= contrast
        window = pixels[r1:r2, c1:c2]
        out = window.astype(np.float64)
        out += _plane(profile, window)
        np.clip(out, 0, 255, out=out)
        rounded = np.round(out, out=out).astype(np.uint8)
        step = np.abs(rounded.astype(np.int16) - window)
        changed[r1:r2, c1:c2] = _per_pixel(step >= 8)
        out_pixels[r1:r2, c1:c2] = rounded
    return Edit(out_pixels, changed, "inserted")


def remove_region(pixels: np.ndarray, box: tuple[int, int, int, int]) -> Edit:
    """A finding erased: the box filled from its surroundings (OpenCV's Telea inpainting).
    A box whose shorter side is over ``INPAINT_COARSE_SIDE`` pixels is filled on a coarser
    grid (blocks of ``scale`` pixels, so that side is at most that many blocks) and the fill
    enlarged into it: Telea's fill is smooth either way, and its cost grows with the area
    times the radius squared (a 95-pixel box at full size: about 25 ms; a lung: seconds)."""
    import cv2

    x1, y1, x2, y2 = box
    h, w = pixels.shape[:2]
    side = min(x2 - x1, y2 - y1)
    scale = max(1, -(-side // INPAINT_COARSE_SIDE))
    # a radius over 8 px makes a large region take minutes and fills no better
    radius = min(INPAINT_MAX_RADIUS, max(3, side // scale // 4))
    # Telea fills each pixel from known pixels within ``radius``: the box with a margin of
    # a few radii is all it reads, so only that window is inpainted.
    pad = (3 * radius + 2) * scale
    r1, r2, c1, c2 = max(0, y1 - pad), min(h, y2 + pad), max(0, x1 - pad), min(w, x2 + pad)
    window = np.ascontiguousarray(pixels[r1:r2, c1:c2])
    mask = np.zeros(window.shape[:2], dtype=np.uint8)
    mask[y1 - r1 : y2 - r1, x1 - c1 : x2 - c1] = 1
    if scale == 1:
        fill = cv2.inpaint(window, mask, radius, cv2.INPAINT_TELEA).reshape(window.shape)
    else:
        fill = _coarse_inpaint(window, mask, scale, radius)
    filled = np.array(pixels, copy=True)
    inside = (slice(y1, y2), slice(x1, x2))
    filled[inside] = fill[y1 - r1 : y2 - r1, x1 - c1 : x2 - c1]
    changed = np.zeros((h, w), dtype=bool)
    changed[inside] = _per_pixel(filled[inside] != pixels[inside])
    return Edit(filled, changed, "removed")


def _coarse_inpaint(window: np.ndarray, mask: np.ndarray, scale: int, radius: int) -> np.ndarray:
    """Telea's fill of ``mask`` (1 = fill) on ``window``, made on blocks of ``scale`` x
    ``scale`` pixels (the mean of each block's pixels; a block touching the mask is filled)
    and enlarged back with linear interpolation: the window's pixels where the mask is 0,
    the enlarged fill where it is 1."""
    import cv2

    h, w = mask.shape
    ph, pw = -(-h // scale) * scale, -(-w // scale) * scale
    pad = ((0, ph - h), (0, pw - w)) + ((0, 0),) * (window.ndim - 2)
    blocks = np.pad(window, pad, mode="edge").reshape(
        ph // scale, scale, pw // scale, scale, *window.shape[2:]
    )
    coarse = np.round(blocks.mean(axis=(1, 3))).astype(np.uint8)
    hit = np.pad(mask, pad[:2]).reshape(ph // scale, scale, pw // scale, scale).any(axis=(1, 3))
    coarse = cv2.inpaint(coarse, hit.astype(np.uint8), radius, cv2.INPAINT_TELEA)
    big = cv2.resize(coarse, (pw, ph), interpolation=cv2.INTER_LINEAR)[:h, :w]
    big = big.reshape(window.shape)
    return np.where(_plane(mask > 0, window), big, window)


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
    import cv2

    h, w = pixels.shape[:2]
    rot, offset = transform.matrix((h, w))
    inverse = np.linalg.inv(rot)
    inv_offset = -inverse @ offset
    # output (row, col) -> input (row, col) is inverse @ out + inv_offset; OpenCV's inverse
    # map takes (x = col, y = row)
    to_input = np.array(
        [
            [inverse[1, 1], inverse[1, 0], inv_offset[1]],
            [inverse[0, 1], inverse[0, 0], inv_offset[0]],
        ]
    )

    moved = cv2.warpAffine(
        np.ascontiguousarray(pixels, dtype=np.uint8),
        to_input,
        (w, h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    # The mask is moved only where it can land: its box's corners mapped forward, with a
    # margin of 2 px for the nearest pixel's rounding; elsewhere the moved mask is empty.
    moved_mask = np.zeros((h, w), dtype=bool)
    rows = np.flatnonzero(changed.any(axis=1))
    cols = np.flatnonzero(changed.any(axis=0))
    if rows.size:
        corner_rows = np.array([rows[0], rows[0], rows[-1], rows[-1]], dtype=np.float64)
        corner_cols = np.array([cols[0], cols[-1], cols[0], cols[-1]], dtype=np.float64)
        out_rows, out_cols = transform.apply_points(corner_rows, corner_cols, (h, w))
        r1, r2 = max(0, int(np.floor(out_rows.min())) - 2), min(h, int(out_rows.max()) + 3)
        c1, c2 = max(0, int(np.floor(out_cols.min())) - 2), min(w, int(out_cols.max()) + 3)
        if r1 < r2 and c1 < c2:
            moved_mask[r1:r2, c1:c2] = _nearest_window(changed, to_input, (r1, r2, c1, c2))
    return Edit(moved, moved_mask, "misaligned")


def _nearest_window(
    mask: np.ndarray, to_input: np.ndarray, window: tuple[int, int, int, int]
) -> np.ndarray:
    """The rows ``r1:r2``, columns ``c1:c2`` of ``cv2.warpAffine(mask, to_input, INTER_NEAREST
    | WARP_INVERSE_MAP)`` (0 outside), by OpenCV's own arithmetic (each output pixel's input
    position in 10-bit fixed point: a row's start plus a column's step, each rounded, then
    rounded down to a pixel), so the same pixels as warping the whole mask, in the window's
    time."""
    r1, r2, c1, c2 = window
    h, w = mask.shape
    scale = 1024.0  # OpenCV's AB_SCALE; + half of it rounds to the nearest pixel
    cols = np.arange(c1, c2, dtype=np.float64)
    rows = np.arange(r1, r2, dtype=np.float64)
    x_step = np.rint(to_input[0, 0] * cols * scale).astype(np.int32)
    y_step = np.rint(to_input[1, 0] * cols * scale).astype(np.int32)
    x_row = (np.rint((to_input[0, 1] * rows + to_input[0, 2]) * scale) + 512).astype(np.int32)
    y_row = (np.rint((to_input[1, 1] * rows + to_input[1, 2]) * scale) + 512).astype(np.int32)
    x = x_row[:, None] + x_step
    x >>= 10
    y = y_row[:, None] + y_step
    y >>= 10
    inside = (x.view(np.uint32) < w) & (y.view(np.uint32) < h)  # a negative one wraps high
    y *= w
    y += x
    out = np.zeros((r2 - r1, c2 - c1), dtype=bool)
    out[inside] = np.ascontiguousarray(mask, dtype=bool).ravel()[y[inside]]
    return out


def crop(pixels: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x1, y1, x2, y2 = box
    return np.ascontiguousarray(pixels[y1:y2, x1:x2])
