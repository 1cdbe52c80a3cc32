"""Pictures of a projection: a mask as an image, and a preview with the boxes of the main
structures drawn and named on both views side by side. Deterministic (PIL's built-in font)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from extractors.ct.projection import VIEWS, CtProjection
from extractors.ct.taxonomy import BY_ID

# Structures drawn on the preview (the rest are in the mask PNGs and anatomy.json).
PREVIEW_STRUCTURES = (
    "right_lung",
    "left_lung",
    "heart",
    "mediastinum",
    "trachea",
    "aortic_arch",
    "spine",
    "clavicle_right",
    "clavicle_left",
    "right_hemidiaphragm",
    "left_hemidiaphragm",
    "liver",
    "stomach",
)
_COLOURS = (
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
    (220, 190, 255),
    (170, 110, 40),
)


def mask_image(mask: np.ndarray) -> np.ndarray:
    """A boolean mask as 8-bit pixels (255 inside)."""
    return np.where(mask, 255, 0).astype(np.uint8)


def preview(projection: CtProjection, structures=PREVIEW_STRUCTURES) -> Image.Image:
    """Both views side by side (frontal, then lateral), each box drawn and named."""
    scale = 2 if max(v.height for v in projection.views.values()) < 400 else 1
    font = ImageFont.load_default()
    panels = []
    for view in VIEWS:
        img = projection.views[view]
        panel = Image.fromarray(img.pixels).convert("RGB")
        if scale > 1:
            panel = panel.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
        draw = ImageDraw.Draw(panel)
        draw.text((4, 4), view, fill=(255, 255, 255), font=font)
        for colour, sid in zip(_COLOURS * 2, structures, strict=False):
            mask = projection.masks.get(view, {}).get(sid)
            if mask is None:
                continue
            x1, y1, x2, y2 = (v * scale for v in mask.box)
            draw.rectangle((x1, y1, x2 - 1, y2 - 1), outline=colour, width=1)
            draw.text((x1 + 2, y1 + 2), BY_ID[sid].name, fill=colour, font=font)
        panels.append(panel)
    gap = 8
    out = Image.new("RGB", (sum(p.width for p in panels) + gap, max(p.height for p in panels)))
    x = 0
    for p in panels:
        out.paste(p, (x, 0))
        x += p.width + gap
    return out
