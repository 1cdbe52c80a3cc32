"""The MedSG-Bench metric: IoU per item (0 when no box can be read), accuracy at IoU 0.3,
0.5 and 0.7, and mean IoU, overall and per task. Predictions are free text.

Default rules: boxes are read with ``schemas.boxes.parse_box_pixels`` (its docstring lists
the parsing rules; a minus sign is kept), IoU is computed in pixels of the gold image (an
integer box with IoU exactly 1/2 scores exactly 0.5), and an item passes a threshold when
``iou >= t - IOU_TOLERANCE`` (float noise from 0-1000 or 0-1 answers never flips a tie).
``compat="medsg-bench"`` scores with the benchmark's own rules instead
(``evaluation.medsg_bench``)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from evaluation import medsg_bench
from schemas.boxes import iou_xyxy, parse_box_pixels

THRESHOLDS = (0.3, 0.5, 0.7)
IOU_TOLERANCE = 1e-9
COMPAT_MODES = ("none", "medsg-bench")
PREDICTION_KEYS = ("prediction", "predict", "text", "answer", "response", "output")


@dataclass(frozen=True)
class ItemScore:
    id: str
    task: str
    iou: float
    parsed: bool


def summarize(scores: list[ItemScore], tolerance: float = IOU_TOLERANCE) -> dict:
    n = len(scores)
    out = {"n": n, "unreadable": sum(not s.parsed for s in scores)}
    for t in THRESHOLDS:
        out[f"acc@{t}"] = sum(s.iou >= t - tolerance for s in scores) / n if n else 0.0
    out["mean_iou"] = sum(s.iou for s in scores) / n if n else 0.0
    return out


def score_item(
    gold: dict, prediction: str | None, fmt: str = "auto", compat: str = "none"
) -> ItemScore:
    """One item's IoU. ``compat="medsg-bench"``: the benchmark's pixel path for ``fmt``
    ``auto`` / ``pixels``, its normalized path for ``thousand`` / ``unit``."""
    if compat == "medsg-bench":
        path = "normalized" if fmt in ("thousand", "unit") else "pixels"
        iou, parsed = medsg_bench.score(gold, prediction, path)
        return ItemScore(gold["id"], gold["task"], iou, parsed)
    if compat != "none":
        raise ValueError(f"compat mode {compat!r} is not one of {COMPAT_MODES}")
    width, height = gold["width"], gold["height"]
    box = parse_box_pixels(prediction, width, height, fmt) if prediction else None
    truth = tuple(float(v) for v in gold["answer"])
    return ItemScore(
        gold["id"], gold["task"], iou_xyxy(truth, box) if box else 0.0, box is not None
    )


def evaluate(
    gold: list[dict], predictions: dict[str, str], fmt: str = "auto", compat: str = "none"
) -> dict:
    """Scores of every gold item (a missing prediction scores 0), overall and per task.
    ``compat="medsg-bench"`` thresholds without tolerance, as the benchmark does."""
    tol = 0.0 if compat == "medsg-bench" else IOU_TOLERANCE
    scores = [score_item(g, predictions.get(g["id"]), fmt, compat) for g in gold]
    by_task: dict[str, list[ItemScore]] = defaultdict(list)
    for s in scores:
        by_task[s.task].append(s)
    out = {
        "overall": summarize(scores, tol),
        "per_task": {task: summarize(v, tol) for task, v in sorted(by_task.items())},
        "missing_predictions": sum(1 for g in gold if g["id"] not in predictions),
    }
    if compat == "medsg-bench" and fmt in ("thousand", "unit"):
        assumed = [g for g in gold if (g["width"], g["height"]) != _assumed(g)]
        out["items_not_in_assumed_size"] = len(assumed)  # scored wrong by the benchmark too
    return out


def _assumed(gold: dict) -> tuple[float, float]:
    return tuple(medsg_bench.benchmark_size(gold))  # type: ignore[return-value]


def read_predictions(path: Path) -> dict[str, str]:
    """``{"id": ..., "prediction": "..."}`` per line (or text under another common key)."""
    out = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: not JSON: {exc}") from None
        if "id" not in row:
            raise ValueError(f"{path}:{number}: no 'id' field")
        text = next((row[k] for k in PREDICTION_KEYS if k in row), None)
        if text is None:
            raise ValueError(f"{path}:{number}: no prediction field (one of {PREDICTION_KEYS})")
        out[str(row["id"])] = text if isinstance(text, str) else json.dumps(text)
    return out


def read_gold(path: Path) -> list[dict]:
    """A MedSG export file, or a folder holding medsg_*.json files."""
    files = sorted(path.glob("medsg_*.json")) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"{path}: no medsg_*.json export found")
    gold = []
    for f in files:
        for item in json.loads(f.read_text()):
            for key in ("id", "task", "answer", "width", "height", "size"):
                if key not in item:
                    raise ValueError(f"{f}: item without {key!r} (export with medsg export)")
            gold.append(item)
    return gold
