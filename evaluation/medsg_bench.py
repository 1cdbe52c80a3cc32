"""``medsg eval --compat medsg-bench``: MedSG-Bench's own scoring rules (its ``eval/``
scripts), reimplemented from their published behaviour so that a score here is the score
the benchmark's code gives, item by item, quirks included.

The benchmark scores a model's text on one of two paths:

- **pixel path** (Qwen2.5-VL, MedSG models; ``extract_bbox_strong``): the first four
  numbers in the text, read as absolute pixels and compared with the answer as they are.
  Numbers are unsigned (``-15`` reads 15: the minus sign is not part of the pattern), a
  number may carry a decimal part, and the separators are ASCII or full-width commas; the
  four numbers may be written ``(x1,y1),(x2,y2)``, ``[x1, y1, x2, y2]``, ``x1,y1 x2,y2``...
  Only when no such group exists, four signed numbers separated by spaces or commas
  (``10 20 30 40``) are read. Nothing readable: the box ``[0, 0, 0, 0]``.
- **normalized path** (Qwen2-VL, InternVL, LLaVA...; ``extract_bbox_old``): the first of
  these patterns that occurs anywhere in the text wins, in this order: ``(i,i),(i,i)``
  integers, ``[f, f, f, f]`` decimals, ``(f,f),(f,f)`` decimals, ``(f, f, f, f)``
  decimals, ``[i, i, i, i]`` integers, ``<box>i i i i</box>``; its first occurrence is the
  box. When its largest number is above 1 it is read as 0-1000, else as 0-1, and scaled by
  the image size the benchmark assumes: ``item["size"]`` for ``multi_view``, 336 x 336 for
  every other task (so only an export with ``--image-size 336`` is scored right on this
  path). Nothing readable: IoU 0.

IoU (``calculate_iou``): on the boxes as read, no clipping; boxes that do not overlap (or
only touch) score 0; areas are signed products, so an inverted box gives what the formula
gives. Accuracy at a threshold is ``iou >= t`` with no tolerance.
"""

from __future__ import annotations

import re

from schemas.boxes import Box

BENCHMARK_SIZE = (336, 336)
PATHS = ("pixels", "normalized")

_U = r"(\d+\.?\d*)"  # unsigned number, optional decimal part
_C = r"\s*[,\uff0c]\s*"  # comma, ASCII or full-width
_PAIRED = re.compile(
    rf"\(?\s*{_U}{_C}{_U}\s*\)?\s*[,\uff0c]?\s*\(?\s*{_U}{_C}{_U}\s*\)?",
)
_S = r"(-?\d+\.?\d*)"
_LOOSE = re.compile(rf"{_S}[ ,\uff0c]+{_S}[ ,\uff0c]+{_S}[ ,\uff0c]+{_S}")

_I, _F = r"(\d+)", r"(\d+\.\d+)"
_NORMALIZED_PATTERNS = tuple(
    re.compile(p)
    for p in (
        rf"\({_I},\s*{_I}\),\s*\({_I},\s*{_I}\)",
        rf"\[{_F},\s*{_F},\s*{_F},\s*{_F}\]",
        rf"\({_F},{_F}\),\({_F},{_F}\)",
        rf"\({_F},\s*{_F},\s*{_F},\s*{_F}\)",
        rf"\[{_I},\s*{_I},\s*{_I},\s*{_I}\]",
        rf"<box>{_I}\s+{_I}\s+{_I}\s+{_I}</box>",
    )
)


def read_pixels(text: str) -> list[float]:
    """The pixel path's box: four floats (``[0, 0, 0, 0]`` when nothing is readable)."""
    match = _PAIRED.search(text) or _LOOSE.search(text)
    if match is None:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(g) for g in match.groups()]


def read_normalized(text: str, width: float, height: float) -> list[float] | None:
    """The normalized path's box in pixels of a width x height image, or None."""
    for pattern in _NORMALIZED_PATTERNS:
        match = pattern.search(text)
        if match is None:
            continue
        v = [float(g) for g in match.groups()]
        # the benchmark's arithmetic, v / 1000 * size or v * size: the same float operations
        # as schemas.boxes' from_thousand / to_pixels, so results are identical
        box = Box.from_thousand(*v) if max(v) > 1 else Box(*v)
        return list(box.to_pixels(width, height))
    return None


def benchmark_size(item: dict) -> tuple[float, float]:
    """The image size the benchmark's normalized path assumes for an item."""
    if item["task"] == "multi_view":
        w, h = item["size"]
        return w, h
    return BENCHMARK_SIZE


def iou(truth: list[float], pred: list[float] | None) -> float:
    """The benchmark's IoU of two boxes as read (see the module docstring)."""
    if not pred:
        return 0.0
    left, top = max(truth[0], pred[0]), max(truth[1], pred[1])
    right, bottom = min(truth[2], pred[2]), min(truth[3], pred[3])
    if right < left or bottom < top:
        return 0.0
    inter = (right - left) * (bottom - top)
    union = (
        (truth[2] - truth[0]) * (truth[3] - truth[1])
        + (pred[2] - pred[0]) * (pred[3] - pred[1])
        - inter
    )
    return inter / union if union else 0.0


def score(item: dict, prediction: str | None, path: str = "pixels") -> tuple[float, bool]:
    """(IoU, whether a box was read) of one gold item and a model's text."""
    if path not in PATHS:
        raise ValueError(f"medsg-bench path {path!r} is not one of {PATHS}")
    truth = [float(v) for v in item["answer"]]
    text = prediction or ""
    if path == "pixels":
        box = read_pixels(text)
        return iou(truth, box), bool(_PAIRED.search(text) or _LOOSE.search(text))
    box = read_normalized(text, *benchmark_size(item))
    return iou(truth, box), box is not None
