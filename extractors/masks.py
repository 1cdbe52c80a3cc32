"""The one mask module: label masks as datasets ship them (run-length codes, polygons) decoded
to boolean arrays, and boxes taken from masks (one per connected component, or one per label).

Boxes are pixel edges ``(x1, y1, x2, y2)`` of the mask's own image (x2, y2 exclusive), the
form ``schemas.boxes.Box.from_pixels`` takes; nothing here normalises a box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage

PixelBox = tuple[int, int, int, int]

# 8-connectivity in 2D (a diagonal touch joins two pixels), 26 in 3D: what a reader sees as
# one region.
_FULL_2D = np.ones((3, 3), dtype=bool)


class MaskError(ValueError):
    """A mask code that cannot describe its image (runs past the end, odd run list...)."""


def mask_box(mask: np.ndarray) -> PixelBox | None:
    """``(x1, y1, x2, y2)`` pixel edges of a 2D mask (x2, y2 exclusive), or None if empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


@dataclass(frozen=True, slots=True)
class Component:
    """One connected region of a mask: its box and its size in pixels."""

    box: PixelBox
    pixels: int


@dataclass(frozen=True, slots=True)
class MaskBoxes:
    """The boxes of one mask, and the components left out for being under the size floor."""

    kept: tuple[Component, ...]
    dropped: tuple[Component, ...]


def mask_boxes(
    mask: np.ndarray,
    mode: Literal["components", "whole"] = "components",
    min_pixels: int = 1,
) -> MaskBoxes:
    """Boxes of a 2D boolean mask: one per 8-connected component (``components``), in
    reading order (top, then left), or one around all of it (``whole``, for vessels and
    other thin structures); components smaller than ``min_pixels`` are returned as dropped."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask_boxes: a 2D mask is needed, got shape {mask.shape}")
    if mode == "whole":
        box = mask_box(mask)
        if box is None:
            return MaskBoxes((), ())
        comp = Component(box, int(mask.sum()))
        return MaskBoxes((comp,), ()) if comp.pixels >= min_pixels else MaskBoxes((), (comp,))
    labels, n = ndimage.label(mask, structure=_FULL_2D)
    if n == 0:
        return MaskBoxes((), ())
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    comps = []
    for i, sl in enumerate(ndimage.find_objects(labels)):
        ys, xs = sl
        comps.append(Component((xs.start, ys.start, xs.stop, ys.stop), int(sizes[i])))
    comps.sort(key=lambda c: (c.box[1], c.box[0], c.box[3], c.box[2]))
    kept = tuple(c for c in comps if c.pixels >= min_pixels)
    dropped = tuple(c for c in comps if c.pixels < min_pixels)
    return MaskBoxes(kept, dropped)


def decode_relative_rle(code: str, width: int, height: int) -> np.ndarray:
    """The SIIM-ACR pneumothorax challenge's run-length code: ``start length`` pairs where
    each start is counted from the end of the previous run, over the image read column by
    column (the challenge's ``rle2mask(...).T``). ``-1`` (or empty) is an empty mask."""
    text = (code or "").strip()
    mask = np.zeros(width * height, dtype=bool)
    if text in ("", "-1"):
        return mask.reshape(width, height).T
    try:
        values = [int(v) for v in text.split()]
    except ValueError:
        raise MaskError("run-length code has a value that is not an integer") from None
    if len(values) % 2:
        raise MaskError(f"run-length code has an odd number of values ({len(values)})")
    pos = 0
    for start, length in zip(values[0::2], values[1::2], strict=True):
        if start < 0 or length < 0:
            raise MaskError("run-length code has a negative start or length")
        pos += start
        if pos + length > mask.size:
            raise MaskError(
                f"run-length code runs to pixel {pos + length}, past the image's "
                f"{mask.size} pixels ({width} x {height})"
            )
        mask[pos : pos + length] = True
        pos += length
    return mask.reshape(width, height).T


def decode_coco_rle(rle: dict, height: int, width: int) -> np.ndarray:
    """A COCO run-length mask (compressed ``counts`` string or uncompressed list) as a
    boolean ``(height, width)`` array; its own ``size`` must be ``[height, width]``."""
    from pycocotools import mask as coco_mask

    size = list(rle.get("size", []))
    if size != [height, width]:
        raise MaskError(f"RLE size {size} is not the image's [height, width] [{height}, {width}]")
    counts = rle.get("counts")
    if isinstance(counts, list):
        if sum(counts) != height * width:
            raise MaskError(
                f"RLE counts cover {sum(counts)} pixels, the image has {height * width}"
            )
        rle = coco_mask.frPyObjects({"size": size, "counts": counts}, height, width)
    elif isinstance(counts, str):
        rle = {"size": size, "counts": counts.encode("ascii")}
    elif not isinstance(counts, bytes):
        raise MaskError("RLE counts is neither a string nor a list")
    try:
        decoded = coco_mask.decode(rle)
    except Exception as exc:  # pycocotools raises bare exceptions on a bad code
        raise MaskError(f"RLE does not decode: {exc}") from None
    return np.asarray(decoded, dtype=bool).reshape(height, width)


def polygons_mask(
    polygons: Sequence[Sequence[float]] | Sequence[Sequence[Sequence[float]]],
    height: int,
    width: int,
) -> np.ndarray:
    """Polygons filled into a boolean ``(height, width)`` mask. Each polygon is a flat
    ``[x1, y1, x2, y2, ...]`` list (COCO) or a list of ``[x, y]`` points, in pixel
    coordinates of the image (continuous: pixel ``i`` spans ``[i, i + 1)``); a pixel is inside
    when its centre is."""
    from skimage.draw import polygon as fill_polygon

    mask = np.zeros((height, width), dtype=bool)
    for poly in polygons:
        pts = np.asarray(poly, dtype=np.float64)
        if pts.ndim == 1:
            if pts.size % 2:
                raise MaskError(f"polygon has an odd number of coordinates ({pts.size})")
            pts = pts.reshape(-1, 2)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
            raise MaskError(f"polygon needs at least 3 [x, y] points, got shape {pts.shape}")
        # skimage fills pixel centres at integer coordinates; ours sit at i + 0.5.
        rr, cc = fill_polygon(pts[:, 1] - 0.5, pts[:, 0] - 0.5, shape=(height, width))
        mask[rr, cc] = True
    return mask


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks of one image (0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0
