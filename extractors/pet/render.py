"""Images for people and the boxes on them, in radiological convention.

Displayed images: patient's right on the image's LEFT, anterior up on axial slices, head up
on coronal projections. Volumes are canonical (``extractors.volume``: x from the
patient's right to left, y from anterior to posterior, z from feet to head), so an axial
slice ``v[:, :, z]`` is shown as ``v[:, :, z].T`` (rows: y, columns: x) and the coronal
maximum-intensity projection over y as ``mip[:, ::-1].T`` (rows: z from the head down).
Boxes are normalised by the volume grid's own width and height, so resizing the image
(square pixels, a minimum size) leaves them unchanged; every box goes through
``schemas.boxes``.

Windows: PET in an SUV window (0 to 10, inverted grey on the MIP as nuclear medicine shows
it), CT in a soft-tissue window (level 40, width 400 HU), fused axial slices with PET in a
hot colour scale over the CT.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from extractors.display import CT_WINDOWS
from extractors.pet.volume import PetVolume
from schemas.boxes import Box

SUV_WINDOW = (0.0, 10.0)
FUSION_FLOOR_SUV = 1.0  # PET below this stays transparent on fused images
CT_LEVEL, CT_WIDTH = CT_WINDOWS["soft_tissue"]
MIN_SIDE = 256  # smaller renderings are enlarged by a whole factor (nearest neighbour)


def _window(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((np.asarray(values, dtype=np.float64) - lo) / (hi - lo), 0.0, 1.0)


def _axial_display(plane_xy: np.ndarray) -> np.ndarray:
    """An axial plane [x, y] as rows (anterior at the top) x columns (the patient's right on
    the left)."""
    return np.ascontiguousarray(plane_xy.T)


def _coronal_display(plane_xz: np.ndarray) -> np.ndarray:
    """A coronal plane [x, z] as rows (the head at the top) x columns (right on the left)."""
    return np.ascontiguousarray(plane_xz[:, ::-1].T)


def _hot(t: np.ndarray) -> np.ndarray:
    """Black-red-yellow-white colour scale for t in [0, 1], as RGB in [0, 1]."""
    return np.stack([np.clip(3 * t, 0, 1), np.clip(3 * t - 1, 0, 1), np.clip(3 * t - 2, 0, 1)], -1)


def _finish(pixels: np.ndarray, width_mm: float, height_mm: float) -> np.ndarray:
    """Square pixels and a minimum size: resize to the physical aspect, at least MIN_SIDE."""
    h, w = pixels.shape[:2]
    mm_per_px = min(width_mm / w, height_mm / h)
    out_w, out_h = max(1, round(width_mm / mm_per_px)), max(1, round(height_mm / mm_per_px))
    scale = max(1, math.ceil(MIN_SIDE / min(out_w, out_h)))
    size = (out_w * scale, out_h * scale)
    if size == (w, h):
        return pixels
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.NEAREST))


def _axial_ct(volume: PetVolume, z: int) -> np.ndarray:
    assert volume.ct is not None
    return _window(
        _axial_display(volume.ct[:, :, z]), CT_LEVEL - CT_WIDTH / 2, CT_LEVEL + CT_WIDTH / 2
    )


def axial_ct_image(volume: PetVolume, z: int) -> np.ndarray:
    """Axial slice z of the exam's CT alone, soft-tissue window, grey (same grid and size as
    ``axial_image``, so the same boxes apply)."""
    sx, sy, _ = volume.spacing
    nx, ny, _ = volume.shape
    return _finish(np.round(_axial_ct(volume, z) * 255).astype(np.uint8), nx * sx, ny * sy)


def axial_pet_image(volume: PetVolume, z: int) -> np.ndarray:
    """Axial slice z of PET alone, inverted grey in the SUV window (same grid and size)."""
    sx, sy, _ = volume.spacing
    nx, ny, _ = volume.shape
    pet = _window(_axial_display(volume.suv[:, :, z]), *SUV_WINDOW)
    return _finish(np.round((1.0 - pet) * 255).astype(np.uint8), nx * sx, ny * sy)


def axial_image(volume: PetVolume, z: int) -> np.ndarray:
    """Axial slice z: fused (CT soft-tissue window, PET hot scale) when the exam has CT, else
    PET alone in an inverted SUV window. uint8, RGB or grey."""
    if volume.ct is None:
        return axial_pet_image(volume, z)
    sx, sy, _ = volume.spacing
    nx, ny, _ = volume.shape
    suv = _axial_display(volume.suv[:, :, z])
    alpha = np.clip((suv - FUSION_FLOOR_SUV) / FUSION_FLOOR_SUV, 0.0, 0.7)[..., None]
    rgb = _axial_ct(volume, z)[..., None] * (1 - alpha) + _hot(_window(suv, *SUV_WINDOW)) * alpha
    return _finish(np.round(rgb * 255).astype(np.uint8), nx * sx, ny * sy)


def coronal_mip(volume: PetVolume) -> np.ndarray:
    """The coronal maximum-intensity projection of SUV (over anterior-posterior), inverted
    grey in the SUV window, head up, patient's right on the left. uint8 grey."""
    sx, _, sz = volume.spacing
    nx, _, nz = volume.shape
    mip = _window(_coronal_display(volume.suv.max(axis=1)), *SUV_WINDOW)
    return _finish(np.round((1.0 - mip) * 255).astype(np.uint8), nx * sx, nz * sz)


def axial_box(mask: np.ndarray, offset: tuple[int, int, int], z: int, shape) -> Box | None:
    """The box of a (cropped) 3D mask's cross-section on axial slice z, on ``axial_image``."""
    local = z - offset[2]
    if not 0 <= local < mask.shape[2] or not mask[:, :, local].any():
        return None
    xs, ys = np.nonzero(mask[:, :, local])
    x0, x1 = offset[0] + int(xs.min()), offset[0] + int(xs.max()) + 1
    y0, y1 = offset[1] + int(ys.min()), offset[1] + int(ys.max()) + 1
    return Box.from_pixels(x0, y0, x1, y1, shape[0], shape[1]).checked()


def coronal_box(mask: np.ndarray, offset: tuple[int, int, int], shape) -> Box | None:
    """The box of a (cropped) 3D mask projected over anterior-posterior, on ``coronal_mip``."""
    if not mask.any():
        return None
    xs, zs = np.nonzero(mask.any(axis=1))
    x0, x1 = offset[0] + int(xs.min()), offset[0] + int(xs.max()) + 1
    z0, z1 = offset[2] + int(zs.min()), offset[2] + int(zs.max()) + 1
    nz = shape[2]
    return Box.from_pixels(x0, nz - z1, x1, nz - z0, shape[0], nz).checked()
