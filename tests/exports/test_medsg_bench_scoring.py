"""``medsg eval`` against MedSG-Bench's own scorer. The scorer's behaviour is written here
from its published description (eval/utils.py of the benchmark: ``extract_bbox_strong``
for Qwen2.5-VL, ``extract_bbox_old`` for Qwen2-VL-style 0-1000 answers scaled by 336x336 or
``item["size"]`` for multi_view, ``calculate_iou``), as plain findall-based functions with
the benchmark's return shapes, independently of ``evaluation.medsg_bench``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evaluation.metric import evaluate, read_gold
from exports.resize import Frame
from exports.write import export_release
from medsg.cli import main

# --- the benchmark's published behaviour -------------------------------------------------
NUM = r"(\d+\.?\d*)"
STRONG = (
    r"[\w\W]*?\(?\s*"
    + NUM
    + r"\s*[,，]\s*"
    + NUM
    + r"\s*\)?\s*[,，]?\s*\(?\s*"
    + NUM
    + r"\s*[,，]\s*"
    + NUM
    + r"\s*\)?"
)
STRONG_FALLBACK = r"(-?\d+\.?\d*)[ ,，]+(-?\d+\.?\d*)[ ,，]+(-?\d+\.?\d*)[ ,，]+(-?\d+\.?\d*)"
OLD_PATTERNS = [
    r"\((\d+),\s*(\d+)\),\s*\((\d+),\s*(\d+)\)",
    r"\[(\d+\.\d+),\s*(\d+\.\d+),\s*(\d+\.\d+),\s*(\d+\.\d+)\]",
    r"\((\d+\.\d+),(\d+\.\d+)\),\((\d+\.\d+),(\d+\.\d+)\)",
    r"\((\d+\.\d+),\s*(\d+\.\d+),\s*(\d+\.\d+),\s*(\d+\.\d+)\)",
    r"\[(\d+),\s*(\d+),\s*(\d+),\s*(\d+)\]",
    r"<box>(\d+)\s+(\d+)\s+(\d+)\s+(\d+)</box>",
]


def official_strong(text: str):
    """One box as a list, several as a list of lists, nothing as [0, 0, 0, 0]."""
    for pattern in (STRONG, STRONG_FALLBACK):
        found = [[float(v) for v in m] for m in re.findall(pattern, text)]
        if found:
            return found[0] if len(found) == 1 else found
    return [0.0, 0.0, 0.0, 0.0]


def official_old(text: str, width: float, height: float):
    found: list = []
    for pattern in OLD_PATTERNS:
        found = re.findall(pattern, text)
        if found:
            break
    boxes = []
    for m in found:
        v = [float(x) for x in m]
        if max(v) > 1:
            boxes.append(
                [
                    v[0] / 1000 * width,
                    v[1] / 1000 * height,
                    v[2] / 1000 * width,
                    v[3] / 1000 * height,
                ]
            )
        else:
            boxes.append([v[0] * width, v[1] * height, v[2] * width, v[3] * height])
    return boxes[0] if len(boxes) == 1 else boxes


def official_iou(box1, box2) -> float:
    if box2 == []:
        return 0.0
    if isinstance(box2[0], list):
        box2 = box2[0]
    x_left, y_top = max(box1[0], box2[0]), max(box1[1], box2[1])
    x_right, y_bottom = min(box1[2], box2[2]), min(box1[3], box2[3])
    if x_right < x_left or y_bottom < y_top:
        return 0.0
    inter = (x_right - x_left) * (y_bottom - y_top)
    union = (
        (box1[2] - box1[0]) * (box1[3] - box1[1])
        + (box2[2] - box2[0]) * (box2[3] - box2[1])
        - inter
    )
    return inter / union


def official_score(item: dict, text: str, path: str) -> float:
    if path == "pixels":
        return official_iou(item["answer"], official_strong(text))
    size = item["size"] if item["task"] == "multi_view" else (336, 336)
    return official_iou(item["answer"], official_old(text, *size))


# --- fixed cases --------------------------------------------------------------------------
CASES = [
    "<|box_start|>(10,20),(30,40)<|box_end|>",
    "[-15, 20, 30, 40]",  # the benchmark reads 15
    "-15 20 30 40",  # no comma group: the signed fallback reads -15
    "Image 2, (10,20),(30,40)",
    "It is at 1,2 (10,20),(30,40)",  # the first comma pair starts the box
    '{"bbox_2d": [12, 22, 31, 44], "label": "nodule"}',
    "(12.5, 20.25), (30, 40)",
    "x1=10，y1=20，x2=30，y2=40",  # full-width commas
    "10 20 30",  # three numbers: nothing
    "no box here",
    "<box>100 200 300 400</box>",
    "[0.1, 0.2, 0.3, 0.4]",
    "(100,200),(300,400) and (1,2),(3,4)",
    "[40, 30, 20, 10]",  # inverted
]
ITEMS = [
    {"id": "a", "task": "patch", "answer": [10, 20, 30, 40], "size": [336, 336]},
    {"id": "b", "task": "multi_view", "answer": [30, 60, 100, 130], "size": [300, 200]},
]


@pytest.mark.parametrize("text", CASES)
@pytest.mark.parametrize("path", ["pixels", "normalized"])
def test_fixed_cases_score_like_the_benchmark(text: str, path: str) -> None:
    fmt = "pixels" if path == "pixels" else "thousand"
    for item in ITEMS:
        gold = item | {"width": item["size"][0], "height": item["size"][1]}
        ours = evaluate([gold], {gold["id"]: text}, fmt, compat="medsg-bench")
        assert ours["overall"]["mean_iou"] == official_score(item, text, path), (text, item)


def test_documented_quirks() -> None:
    assert official_strong("[-15, 20, 30, 40]") == [15.0, 20.0, 30.0, 40.0]
    # any two comma-separated numbers start a box: "1,2" before the real box is read first
    assert official_strong("It is at 1,2 (10,20),(30,40)") == [1.0, 2.0, 10.0, 20.0]
    gold = [
        {
            "id": "a",
            "task": "patch",
            "answer": [15, 20, 30, 40],
            "width": 336,
            "height": 336,
            "size": [336, 336],
        }
    ]
    pred = {"a": "[-15, 20, 30, 40]"}
    assert evaluate(gold, pred, "pixels", compat="medsg-bench")["overall"]["mean_iou"] == 1.0
    # medsg eval keeps the sign: the box reaches past the left edge, IoU 15/45
    assert evaluate(gold, pred, "pixels")["overall"]["mean_iou"] == pytest.approx(15 / 45)


# --- gold answers written the ways models write them --------------------------------------
def _styles(item: dict) -> dict[str, tuple[str, str]]:
    x1, y1, x2, y2 = item["answer"]
    w, h = item["size"]
    t = [round(x1 / w * 1000), round(y1 / h * 1000), round(x2 / w * 1000), round(y2 / h * 1000)]
    half = x1 + (x2 - x1) / 2  # same height, half the width: pixel IoU exactly 0.5
    return {
        "qwen_tokens": (f"<|box_start|>({x1},{y1}),({x2},{y2})<|box_end|>", "pixels"),
        "bbox_2d": (json.dumps([{"bbox_2d": [x1, y1, x2, y2], "label": "target"}]), "pixels"),
        "thousand": ("[{}, {}, {}, {}]".format(*t), "thousand"),
        "tie": (f"<|box_start|>({x1},{y1}),({half},{y2})<|box_end|>", "pixels"),
    }


def test_gold_as_predictions_agree_with_the_benchmark_item_by_item(
    release: Path, tmp_path: Path
) -> None:
    export_release(release, tmp_path, "medsg", frame=Frame("square", size=336))
    gold = read_gold(tmp_path)
    assert len(gold) > 20 and {g["task"] for g in gold} >= {"Registered_Diff", "patch"}
    for style in ("qwen_tokens", "bbox_2d", "thousand", "tie"):
        fmt = _styles(gold[0])[style][1]
        path = "pixels" if fmt == "pixels" else "normalized"
        preds = {g["id"]: _styles(g)[style][0] for g in gold}
        for g in gold:
            ours = evaluate([g], {g["id"]: preds[g["id"]]}, fmt, compat="medsg-bench")
            assert ours["overall"]["mean_iou"] == official_score(g, preds[g["id"]], path), (
                style,
                g["id"],
            )
        compat = evaluate(gold, preds, fmt, compat="medsg-bench")["overall"]
        default = evaluate(gold, preds, fmt)["overall"]
        if style in ("qwen_tokens", "bbox_2d"):
            assert compat["mean_iou"] == default["mean_iou"] == 1.0
        if style == "thousand":
            assert default["acc@0.7"] == compat["acc@0.7"] == 1.0
        if style == "tie":  # exactly 0.5 in pixels: passes at 0.5 in both modes
            assert compat["acc@0.5"] == default["acc@0.5"] == 1.0
            assert compat["acc@0.7"] == default["acc@0.7"] == 0.0


def test_cli_compat_flag(release: Path, tmp_path: Path, capsys) -> None:
    export_release(release, tmp_path / "gold", "medsg", frame=Frame("square", size=336))
    gold = read_gold(tmp_path / "gold")
    pred = tmp_path / "pred.jsonl"
    pred.write_text(
        "".join(
            json.dumps({"id": g["id"], "prediction": "[-1, {}, {}, {}]".format(*g["answer"][1:])})
            + "\n"
            for g in gold
        )
    )
    out = tmp_path / "scores.json"
    assert (
        main(
            [
                "eval",
                "--pred",
                str(pred),
                "--gold",
                str(tmp_path / "gold"),
                "--compat",
                "medsg-bench",
                "--box-format",
                "pixels",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    compat = json.loads(out.read_text())
    assert (
        main(
            [
                "eval",
                "--pred",
                str(pred),
                "--gold",
                str(tmp_path / "gold"),
                "--box-format",
                "pixels",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    default = json.loads(out.read_text())
    want = sum(
        official_iou(
            g["answer"],
            official_strong(f"[-1, {g['answer'][1]}, {g['answer'][2]}, {g['answer'][3]}]"),
        )
        for g in gold
    ) / len(gold)
    assert compat["overall"]["mean_iou"] == pytest.approx(want)
    assert default["overall"]["mean_iou"] != compat["overall"]["mean_iou"]
