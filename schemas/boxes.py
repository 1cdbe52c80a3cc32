"""The one box module: the canonical box and every conversion the project needs.

Canonical form (docs: ARCHITECTURE.md, "Boxes"): ``[x1, y1, x2, y2]`` floats in [0, 1] of the
published image, origin top-left, x to the right, y down; the image's width and height travel
beside it. Pixel coordinates are continuous: pixel column ``i`` spans ``[i, i + 1)``, so a box
covering the whole image is ``(0, 0, width, height)``.
Never convert boxes by hand anywhere else.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

QWEN_BOX_START = "<|box_start|>"
QWEN_BOX_END = "<|box_end|>"
QWEN_REF_START = "<|object_ref_start|>"
QWEN_REF_END = "<|object_ref_end|>"

_NUM = r"(-?\d+(?:\.\d+)?)"
_QWEN_RE = re.compile(
    re.escape(QWEN_BOX_START)
    + rf"\(\s*{_NUM}\s*,\s*{_NUM}\s*\)\s*,\s*\(\s*{_NUM}\s*,\s*{_NUM}\s*\)"
    + re.escape(QWEN_BOX_END)
)


class BoxError(ValueError):
    """A box that violates the convention (outside the image, inverted or empty)."""


class BoxOutsideImage(BoxError):
    """A source box that lies outside its image by more than the edge tolerance."""


@dataclass(frozen=True, slots=True)
class Box:
    """A normalized box ``[x1, y1, x2, y2]`` in [0, 1] of the image it belongs to."""

    x1: float
    y1: float
    x2: float
    y2: float

    # ---- checks -------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Why this box breaks the convention; empty when it is valid."""
        out = []
        for name in ("x1", "y1", "x2", "y2"):
            v = getattr(self, name)
            if not (0.0 <= v <= 1.0):
                out.append(f"{name}={v:.6g} outside [0, 1]")
        if not self.x1 < self.x2:
            out.append(f"x1={self.x1:.6g} is not left of x2={self.x2:.6g}")
        if not self.y1 < self.y2:
            out.append(f"y1={self.y1:.6g} is not above y2={self.y2:.6g}")
        return out

    @property
    def is_valid(self) -> bool:
        return not self.problems()

    def checked(self) -> Box:
        """Return self, or raise BoxError naming every problem."""
        problems = self.problems()
        if problems:
            raise BoxError("; ".join(problems))
        return self

    # ---- geometry -----------------------------------------------------------------------
    @property
    def area(self) -> float:
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)

    def iou(self, other: Box) -> float:
        """Intersection over union with another box in the same frame."""
        ix = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def clipped(self) -> Box:
        """The box cut to the image (drawing tools leave float noise just past an edge)."""
        return Box(*(min(1.0, max(0.0, v)) for v in self.as_list()))

    def as_list(self) -> list[float]:
        return [self.x1, self.y1, self.x2, self.y2]

    # ---- absolute pixels (MedSG-Bench, source CSVs) -------------------------------------
    @classmethod
    def from_pixels(
        cls, x1: float, y1: float, x2: float, y2: float, width: int, height: int
    ) -> Box:
        _check_size(width, height)
        return cls(x1 / width, y1 / height, x2 / width, y2 / height)

    @classmethod
    def from_xywh_pixels(
        cls, x: float, y: float, w: float, h: float, width: int, height: int
    ) -> Box:
        """From a top-left corner plus size in pixels (NIH, RSNA, MS-CXR CSVs)."""
        return cls.from_pixels(x, y, x + w, y + h, width, height)

    @classmethod
    def from_source_xywh(
        cls,
        x: float,
        y: float,
        w: float,
        h: float,
        width: int,
        height: int,
        *,
        tolerance_px: float,
    ) -> Box:
        """From a label file's top-left corner plus size in pixels of a width x height source
        image: an overhang of up to ``tolerance_px`` past an edge (rounding in the source) is
        clipped (top-left corner at 0 at least, bottom-right at the image size at most);
        BoxOutsideImage when the box lies further outside."""
        x2, y2 = x + w, y + h
        tol = tolerance_px
        if x < -tol or y < -tol or x2 > width + tol or y2 > height + tol:
            raise BoxOutsideImage(
                f"box x={x:g} y={y:g} w={w:g} h={h:g} (to x={x2:g}, y={y2:g}) lies outside "
                f"the {width}x{height} image"
            )
        return cls.from_pixels(
            max(0.0, x), max(0.0, y), min(float(width), x2), min(float(height), y2), width, height
        )

    def to_pixels(self, width: int, height: int) -> tuple[float, float, float, float]:
        _check_size(width, height)
        return (self.x1 * width, self.y1 * height, self.x2 * width, self.y2 * height)

    def to_int_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Pixels rounded to the nearest integer (what text formats print)."""
        return tuple(round(v) for v in self.to_pixels(width, height))  # type: ignore[return-value]

    def to_enclosing_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The smallest whole-pixel box that covers the box: corners rounded outwards."""
        x1, y1, x2, y2 = self.to_pixels(width, height)
        return (math.floor(x1), math.floor(y1), math.ceil(x2), math.ceil(y2))

    def size_pixels(self, width: int, height: int) -> tuple[float, float]:
        """Width and height of the box in pixels of a width x height image."""
        _check_size(width, height)
        return ((self.x2 - self.x1) * width, (self.y2 - self.y1) * height)

    def to_xywh_pixels(self, width: int, height: int) -> tuple[float, float, float, float]:
        x1, y1, x2, y2 = self.to_pixels(width, height)
        return (x1, y1, x2 - x1, y2 - y1)

    # ---- Label Studio percent -----------------------------------------------------------
    def to_label_studio(self) -> dict[str, float]:
        """Label Studio rectangle value: top-left ``x, y`` and ``width, height`` in percent."""
        return {
            "x": self.x1 * 100.0,
            "y": self.y1 * 100.0,
            "width": (self.x2 - self.x1) * 100.0,
            "height": (self.y2 - self.y1) * 100.0,
            "rotation": 0.0,
        }

    @classmethod
    def from_label_studio(cls, value: dict[str, float]) -> Box:
        if float(value.get("rotation", 0.0) or 0.0) != 0.0:
            raise BoxError(f"rotated Label Studio rectangles are not supported: {value!r}")
        x, y = float(value["x"]) / 100.0, float(value["y"]) / 100.0
        return cls(x, y, x + float(value["width"]) / 100.0, y + float(value["height"]) / 100.0)

    # ---- 0-1000 integers (Qwen2-VL, many grounding models) ------------------------------
    def to_thousand(self) -> tuple[int, int, int, int]:
        return tuple(round(v * 1000) for v in self.as_list())  # type: ignore[return-value]

    @classmethod
    def from_thousand(cls, x1: float, y1: float, x2: float, y2: float) -> Box:
        return cls(x1 / 1000.0, y1 / 1000.0, x2 / 1000.0, y2 / 1000.0)

    def to_text(self) -> str:
        """How record text writes a box: ``[x1, y1, x2, y2]`` in 0-1000 integers."""
        return "[{}, {}, {}, {}]".format(*self.to_thousand())

    # ---- Qwen box tokens (absolute pixels, as MedSG-188K / Qwen2.5-VL) ------------------
    def to_qwen_tokens(self, width: int, height: int) -> str:
        x1, y1, x2, y2 = self.to_int_pixels(width, height)
        return f"{QWEN_BOX_START}({x1},{y1}),({x2},{y2}){QWEN_BOX_END}"

    @classmethod
    def from_qwen_tokens(cls, text: str, width: int, height: int) -> Box:
        """Parse the first ``<|box_start|>(x1,y1),(x2,y2)<|box_end|>`` in text (pixels)."""
        boxes = qwen_boxes_in(text, width, height)
        if not boxes:
            raise BoxError(f"no Qwen box tokens in {text[:80]!r}")
        return boxes[0]


BOX_TEXT_FORMATS = ("auto", "pixels", "thousand", "unit")
_FOUR_RE = re.compile(
    rf"[\[(]\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*[\])]"
    rf"|\(\s*{_NUM}\s*,\s*{_NUM}\s*\)\s*,\s*\(\s*{_NUM}\s*,\s*{_NUM}\s*\)"
)


def parse_box_pixels(
    text: str, width: int, height: int, fmt: str = "auto"
) -> tuple[float, float, float, float] | None:
    """The first box a model wrote in free text, in absolute pixels of a width x height
    image, or None. ``medsg eval``'s parsing rules (README, "Scoring"):

    1. Qwen box tokens ``<|box_start|>(x1,y1),(x2,y2)<|box_end|>`` first: absolute pixels
       (Qwen2.5-VL, MedSG-188K), or 0-1000 with ``fmt="thousand"`` (Qwen2-VL).
    2. Else the first four numbers written as ``[x1, y1, x2, y2]``, ``(x1, y1, x2, y2)`` or
       ``(x1,y1),(x2,y2)`` (so ``{"bbox_2d": [..]}`` JSON is read too), taken as ``fmt``
       says: ``unit`` (0-1 floats), ``thousand`` (0-1000), ``pixels``; ``auto`` reads 0-1
       floats when every number is at most 1 and one has a decimal point, else pixels.
    3. A minus sign belongs to its number: ``-15`` is -15 (a box written past the image's
       edge stays there; dropping the sign would move it into the image). MedSG-Bench's own
       parser drops it; ``evaluation.medsg_bench`` reproduces that for ``--compat``.

    Pixel values are returned exactly as written (no rounding, no clipping), so integer
    boxes give exact pixel IoUs."""
    if fmt not in BOX_TEXT_FORMATS:
        raise ValueError(f"box text format {fmt!r} is not one of {BOX_TEXT_FORMATS}")
    _check_size(width, height)
    match = _QWEN_RE.search(text)
    if match:
        values = [float(g) for g in match.groups()]
        scale = "thousand" if fmt == "thousand" else "pixels"
    else:
        match = _FOUR_RE.search(text)
        if not match:
            return None
        raw = [g for g in match.groups() if g is not None]
        values = [float(g) for g in raw]
        scale = fmt
        if fmt == "auto":
            unit = max(abs(v) for v in values) <= 1.0 and any("." in g for g in raw)
            scale = "unit" if unit else "pixels"
    x1, y1, x2, y2 = values
    if scale == "unit":
        return (x1 * width, y1 * height, x2 * width, y2 * height)
    if scale == "thousand":
        return (
            x1 * width / 1000.0,
            y1 * height / 1000.0,
            x2 * width / 1000.0,
            y2 * height / 1000.0,
        )
    return (x1, y1, x2, y2)


def parse_box_text(text: str, width: int, height: int, fmt: str = "auto") -> Box | None:
    """``parse_box_pixels`` as a normalized Box (returned as written: it may lie outside the
    image or be inverted)."""
    pixels = parse_box_pixels(text, width, height, fmt)
    if pixels is None:
        return None
    x1, y1, x2, y2 = pixels
    return Box(x1 / width, y1 / height, x2 / width, y2 / height)


def iou_xyxy(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """IoU of two ``(x1, y1, x2, y2)`` boxes in one pixel frame. Computed in the units given:
    integer pixel boxes give exact ratios (a pixel IoU of 1/2 is exactly 0.5, where the
    same boxes normalized to [0, 1] can give 0.49999999999999967). An inverted box has no
    area."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area_a = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    area_b = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


# ---- the frame a model sees: resized or letterboxed images -----------------------------
def letterbox_geometry(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """Where a width x height image lands when letterboxed into a size x size square (scaled
    to fit, centred, padded): ``(content_width, content_height, left, top)`` in pixels."""
    _check_size(width, height)
    scale = size / max(width, height)
    cw, ch = max(1, round(width * scale)), max(1, round(height * scale))
    return cw, ch, (size - cw) // 2, (size - ch) // 2


def letterboxed(box: Box, width: int, height: int, size: int) -> Box:
    """The box in the size x size letterboxed frame (normalized to that square)."""
    cw, ch, left, top = letterbox_geometry(width, height, size)
    return Box(
        (left + box.x1 * cw) / size,
        (top + box.y1 * ch) / size,
        (left + box.x2 * cw) / size,
        (top + box.y2 * ch) / size,
    )


def qwen_boxes_in(text: str, width: int, height: int) -> list[Box]:
    """Every Qwen box-token group in text, read as absolute pixels of a width x height image."""
    return [
        Box.from_pixels(*(float(g) for g in m.groups()), width, height)
        for m in _QWEN_RE.finditer(text)
    ]


def _check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise BoxError(f"image size must be positive, got {width}x{height}")
