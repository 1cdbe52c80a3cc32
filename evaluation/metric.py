"""The MedSG-Bench metric: IoU per item (0 when no box can be read), accuracy at IoU 0.3,
0.5 and 0.7, and mean IoU, overall and per task. Predictions are free text; boxes are read
with ``schemas.boxes.parse_box_text``."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from schemas.boxes import Box, parse_box_text

THRESHOLDS = (0.3, 0.5, 0.7)
PREDICTION_KEYS = ("prediction", "predict", "text", "answer", "response", "output")


@dataclass(frozen=True)
class ItemScore:
    id: str
    task: str
    iou: float
    parsed: bool


def summarize(scores: list[ItemScore]) -> dict:
    n = len(scores)
    out = {"n": n, "unreadable": sum(not s.parsed for s in scores)}
    for t in THRESHOLDS:
        out[f"acc@{t}"] = sum(s.iou >= t for s in scores) / n if n else 0.0
    out["mean_iou"] = sum(s.iou for s in scores) / n if n else 0.0
    return out


def score_item(gold: dict, prediction: str | None, fmt: str = "auto") -> ItemScore:
    width, height = gold["width"], gold["height"]
    truth = Box.from_pixels(*gold["answer"], width, height)
    box = parse_box_text(prediction, width, height, fmt) if prediction else None
    return ItemScore(gold["id"], gold["task"], truth.iou(box) if box else 0.0, box is not None)


def evaluate(gold: list[dict], predictions: dict[str, str], fmt: str = "auto") -> dict:
    """Scores of every gold item (a missing prediction scores 0), overall and per task."""
    scores = [score_item(g, predictions.get(g["id"]), fmt) for g in gold]
    by_task: dict[str, list[ItemScore]] = defaultdict(list)
    for s in scores:
        by_task[s.task].append(s)
    return {
        "overall": summarize(scores),
        "per_task": {task: summarize(v) for task, v in sorted(by_task.items())},
        "missing_predictions": sum(1 for g in gold if g["id"] not in predictions),
    }


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
            for key in ("id", "task", "answer", "width", "height"):
                if key not in item:
                    raise ValueError(f"{f}: item without {key!r} (export with medsg export)")
            gold.append(item)
    return gold
