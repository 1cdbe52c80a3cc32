"""The frame a model sees: how the target tool resizes an image before the model reads it,
so that exported box coordinates are written in that frame and not in the file's pixels.

Three rules (``medsg export --resize``):

- ``none``: the file's own pixels (models that see images unresized).
- ``qwen2.5-vl``: what LLaMA-Factory does to an image for Qwen2.5-VL. LLaMA-Factory first
  scales an image whose pixel count is above ``image_max_pixels`` (or below
  ``image_min_pixels``) by ``sqrt(limit / (w * h))``, truncating each side to an integer;
  then the Qwen2.5-VL image processor applies ``smart_resize`` (sides rounded to multiples
  of 28, pixel count kept within the processor's own min/max pixels). The image is
  stretched, not padded, so a box keeps its normalized coordinates and only the pixel frame
  changes: images are written as they are and boxes in the resized frame.
- ``square`` (``--image-size 336``, the MedSG-Bench convention): every image written as a
  size x size PNG, resized (stretched) or letterboxed (scaled to fit, centred, black
  padding); boxes in that frame.

Box conversions themselves live in ``schemas.boxes`` (``letterboxed``, ``to_int_pixels``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image

from schemas.boxes import Box, letterbox_geometry, letterboxed

QWEN_FACTOR = 28
# LLaMA-Factory's defaults are image_max_pixels 768*768 and image_min_pixels 32*32; the
# shipped training config sets image_max_pixels to this value (tests check they agree).
LLAMAFACTORY_MAX_PIXELS = 1280 * 28 * 28  # 1,003,520
LLAMAFACTORY_MIN_PIXELS = 32 * 32
# Qwen2.5-VL-7B-Instruct's preprocessor_config.json: min_pixels 3136, max_pixels 12845056.
QWEN_PROCESSOR_MIN_PIXELS = 56 * 56
QWEN_PROCESSOR_MAX_PIXELS = 28 * 28 * 16384
RESIZE_RULES = ("none", "qwen2.5-vl", "square")


def smart_resize(
    height: int,
    width: int,
    factor: int = QWEN_FACTOR,
    min_pixels: int = QWEN_PROCESSOR_MIN_PIXELS,
    max_pixels: int = QWEN_PROCESSOR_MAX_PIXELS,
) -> tuple[int, int]:
    """Qwen2-VL / Qwen2.5-VL's published resize rule: ``(height, width)`` the processor
    feeds the vision tower. Sides become multiples of ``factor``; the pixel count is brought
    within ``[min_pixels, max_pixels]`` keeping the aspect ratio."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def llamafactory_preresize(
    width: int, height: int, max_pixels: int, min_pixels: int
) -> tuple[int, int]:
    """LLaMA-Factory's own scaling before the processor (``image_max_pixels`` /
    ``image_min_pixels``): ``(width, height)`` after it."""
    if width * height > max_pixels:
        f = math.sqrt(max_pixels / (width * height))
        width, height = int(width * f), int(height * f)
    if width * height < min_pixels:
        f = math.sqrt(min_pixels / (width * height))
        width, height = int(width * f), int(height * f)
    return width, height


@dataclass(frozen=True)
class Frame:
    """A resize rule (see the module docstring) and its parameters."""

    rule: str = "none"
    max_pixels: int = LLAMAFACTORY_MAX_PIXELS  # qwen2.5-vl: LLaMA-Factory image_max_pixels
    min_pixels: int = LLAMAFACTORY_MIN_PIXELS  # qwen2.5-vl: LLaMA-Factory image_min_pixels
    size: int = 336  # square
    letterbox: bool = False  # square: letterbox instead of stretching

    def __post_init__(self) -> None:
        if self.rule not in RESIZE_RULES:
            raise ValueError(f"resize rule {self.rule!r} is not one of {RESIZE_RULES}")
        if min(self.max_pixels, self.min_pixels, self.size) <= 0:
            raise ValueError("max_pixels, min_pixels and size must be positive")

    @property
    def writes_images(self) -> bool:
        """True when exported images are rewritten in the frame (square); else the files
        are copied as published and only the boxes are in the frame."""
        return self.rule == "square"

    def target_size(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` of the frame the model sees for a width x height image."""
        if self.rule == "square":
            return self.size, self.size
        if self.rule == "qwen2.5-vl":
            w, h = llamafactory_preresize(width, height, self.max_pixels, self.min_pixels)
            h_bar, w_bar = smart_resize(h, w)
            return w_bar, h_bar
        return width, height

    def box(self, box: Box, width: int, height: int) -> Box:
        """The normalized box in the frame (changes only when letterboxing)."""
        if self.rule == "square" and self.letterbox:
            return letterboxed(box, width, height, self.size)
        return box

    def image_bytes(self, png: bytes) -> bytes:
        """The PNG to write: unchanged, or resized / letterboxed to the square frame
        (bicubic; grayscale padding 0). Deterministic for a given Pillow."""
        if not self.writes_images:
            return png
        with Image.open(io.BytesIO(png)) as im:
            im.load()
            if im.size == (self.size, self.size):
                return png
            if self.letterbox:
                cw, ch, left, top = letterbox_geometry(im.width, im.height, self.size)
                canvas = Image.new(im.mode, (self.size, self.size), 0)
                canvas.paste(im.resize((cw, ch), Image.Resampling.BICUBIC), (left, top))
                out = canvas
            else:
                out = im.resize((self.size, self.size), Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        out.save(buf, format="PNG", optimize=False)
        return buf.getvalue()

    def describe(self) -> dict:
        """What the export's README and dataset_info.json say about the frame."""
        if self.rule == "qwen2.5-vl":
            return {
                "rule": "qwen2.5-vl",
                "images": "as published (the processor resizes them)",
                "boxes": "absolute pixels of the frame Qwen2.5-VL sees after LLaMA-Factory's "
                "image_max_pixels / image_min_pixels and the processor's smart_resize",
                "image_max_pixels": self.max_pixels,
                "image_min_pixels": self.min_pixels,
                "processor_min_pixels": QWEN_PROCESSOR_MIN_PIXELS,
                "processor_max_pixels": QWEN_PROCESSOR_MAX_PIXELS,
                "factor": QWEN_FACTOR,
            }
        if self.rule == "square":
            how = (
                "letterboxed (scaled to fit, centred, black padding)"
                if self.letterbox
                else ("resized (stretched)")
            )
            return {
                "rule": "square",
                "images": f"written as {self.size}x{self.size} PNG, {how}",
                "boxes": f"absolute pixels of the {self.size}x{self.size} image",
                "size": self.size,
                "letterbox": self.letterbox,
            }
        return {
            "rule": "none",
            "images": "as published",
            "boxes": "absolute pixels of the published image",
        }
