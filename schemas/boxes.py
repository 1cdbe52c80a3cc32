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


def parse_box_text(text: str, width: int, height: int, fmt: str = "auto") -> Box | None:
    """The first box a model wrote in free text, or None.

    Read in order: Qwen box tokens (absolute pixels, or 0-1000 with ``fmt="thousand"`` as
    Qwen2-VL emits); then four numbers as ``[x1, y1, x2, y2]`` or ``(x1,y1),(x2,y2)``, taken
    as ``fmt`` says: ``unit`` (0-1 floats), ``thousand`` (0-1000), ``pixels``; ``auto`` reads
    0-1 floats when every number is at most 1 and one has a decimal point, else pixels.
    The box is returned as written (it may lie outside the image or be inverted)."""
    if fmt not in BOX_TEXT_FORMATS:
        raise ValueError(f"box text format {fmt!r} is not one of {BOX_TEXT_FORMATS}")
    _check_size(width, height)
    match = _QWEN_RE.search(text)
    if match:
        values = [float(g) for g in match.groups()]
        if fmt == "thousand":
            return Box.from_thousand(*values)
        return Box(values[0] / width, values[1] / height, values[2] / width, values[3] / height)
    match = _FOUR_RE.search(text)
    if not match:
        return None
    raw = [g for g in match.groups() if g is not None]
    values = [float(g) for g in raw]
    if fmt == "unit" or (
        fmt == "auto" and max(abs(v) for v in values) <= 1.0 and any("." in g for g in raw)
    ):
        return Box(*values)
    if fmt == "thousand":
        return Box.from_thousand(*values)
    return Box(values[0] / width, values[1] / height, values[2] / width, values[3] / height)


def qwen_boxes_in(text: str, width: int, height: int) -> list[Box]:
    """Every Qwen box-token group in text, read as absolute pixels of a width x height image."""
    return [
        Box.from_pixels(*(float(g) for g in m.groups()), width, height)
        for m in _QWEN_RE.finditer(text)
    ]


def _check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise BoxError(f"image size must be positive, got {width}x{height}")
