"""Exports peer tools read, and the MedSG-Bench metric: sharegpt shaped like MedSG-188K's
Task8_mini.json, gold scored as predictions gives IoU 1, a shifted box scores its IoU."""

from __future__ import annotations

import json
import re
from itertools import pairwise
from pathlib import Path

import pytest

from evaluation.metric import evaluate, read_gold, read_predictions
from exports.write import export_release
from schemas.boxes import Box, parse_box_text

BOX_TOKENS = re.compile(r"<\|box_start\|>\(\d+,\d+\),\(\d+,\d+\)<\|box_end\|>")


def _all(path: Path, fmt: str) -> list[dict]:
    return [item for f in sorted(path.glob(f"{fmt}_*.json")) for item in json.loads(f.read_text())]


def test_sharegpt_matches_task8_structure(release: Path, tmp_path: Path, realdata: Path) -> None:
    report = export_release(release, tmp_path, "sharegpt")
    items = _all(tmp_path, "sharegpt")
    assert len(items) == sum(report.written.values()) > 0
    reference = json.loads((realdata / "formats/medsg_bench/Task8_mini.json").read_text())
    ref_keys = {k for r in reference for k in r}
    ref_roles = {m["from"] for r in reference for m in r["conversations"]}
    assert {k for i in items for k in i} == ref_keys
    for item in items:
        roles = [m["from"] for m in item["conversations"]]
        assert roles[0] == "human" and set(roles) <= ref_roles
        assert all(a != b for a, b in pairwise(roles))  # alternating turns
        placeholders = sum(m["value"].count("<image>") for m in item["conversations"])
        assert placeholders == len(item["images"])
        for path in item["images"]:
            assert (tmp_path / path).is_file()
    texts = [m["value"] for i in items for m in i["conversations"]]
    boxes = [t for t in texts if "<|box_start|>" in t]
    assert boxes and all(BOX_TOKENS.search(t) for t in boxes)
    assert not [t for t in texts if re.search(r"\[\d+, \d+, \d+, \d+\]", t)]  # no 0-1000 left
    assert any("<|object_ref_start|>" in m["value"] for i in items for m in i["conversations"])
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert all(
        v["formatting"] == "sharegpt"
        and v["columns"] == {"messages": "conversations", "images": "images"}
        for v in info.values()
    )
    assert {v["file_name"] for v in info.values()} <= {p.name for p in tmp_path.glob("*.json")}


def test_qwen_boxes_equal_record_boxes_in_pixels(release: Path, tmp_path: Path) -> None:
    export_release(release, tmp_path / "sg", "sharegpt")
    export_release(release, tmp_path / "m", "medsg")
    gold = {g["id"]: g for g in _all(tmp_path / "m", "medsg")}
    checked = 0
    for item in _all(tmp_path / "sg", "sharegpt"):
        if item["id"] in gold:
            g = gold[item["id"]]
            box = Box.from_qwen_tokens(item["conversations"][1]["value"], g["width"], g["height"])
            assert list(box.to_int_pixels(g["width"], g["height"])) == g["answer"]
            checked += 1
    assert checked > 5


def test_gold_as_predictions_scores_one_and_shift_scores_its_iou(
    release: Path, tmp_path: Path
) -> None:
    export_release(release, tmp_path, "medsg")
    gold = read_gold(tmp_path)
    assert gold and all(set(g) >= {"task", "images", "question", "answer"} for g in gold)
    pred = tmp_path / "pred.jsonl"
    pred.write_text(
        "".join(
            json.dumps({"id": g["id"], "prediction": "[{}, {}, {}, {}]".format(*g["answer"])})
            + "\n"
            for g in gold
        )
    )
    result = evaluate(gold, read_predictions(pred))
    assert result["overall"]["mean_iou"] == pytest.approx(1.0)
    assert result["overall"]["acc@0.5"] == 1.0 and result["overall"]["unreadable"] == 0

    g = gold[0]
    x1, y1, x2, y2 = g["answer"]
    w, h = x2 - x1, y2 - y1
    dx = max(1, w // 3)
    shifted = {g["id"]: f"<|box_start|>({x1 + dx},{y1}),({x2 + dx},{y2})<|box_end|>"}
    expected = (w - dx) * h / (2 * w * h - (w - dx) * h)
    one = evaluate([g], shifted)
    assert one["overall"]["mean_iou"] == pytest.approx(expected)
    assert one["overall"]["acc@0.3"] == float(expected >= 0.3)
    assert evaluate([g], {})["overall"]["mean_iou"] == 0.0


def test_box_text_formats() -> None:
    assert parse_box_text(
        "<|box_start|>(10,20),(30,40)<|box_end|>", 100, 200
    ).as_list() == pytest.approx([0.1, 0.1, 0.3, 0.2])
    assert parse_box_text(
        "box: [100, 200, 300, 400]", 50, 50, "thousand"
    ).as_list() == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert parse_box_text("(0.1, 0.2, 0.3, 0.4)", 999, 999).as_list() == pytest.approx(
        [0.1, 0.2, 0.3, 0.4]
    )
    assert parse_box_text("[10, 20, 30, 40]", 100, 100).as_list() == pytest.approx(
        [0.1, 0.2, 0.3, 0.4]
    )
    assert parse_box_text("(10,20),(30,40)", 100, 100).as_list() == pytest.approx(
        [0.1, 0.2, 0.3, 0.4]
    )
    assert parse_box_text("I cannot tell", 100, 100) is None
    with pytest.raises(ValueError, match="box text format"):
        parse_box_text("[1, 2, 3, 4]", 10, 10, "inches")


def test_bad_prediction_file_names_line(tmp_path: Path) -> None:
    p = tmp_path / "p.jsonl"
    p.write_text('{"id": "a", "prediction": "x"}\n{"oops": 1}\n')
    with pytest.raises(ValueError, match=r"p\.jsonl:2: no 'id' field"):
        read_predictions(p)


def test_llamafactory_config_matches_the_sharegpt_export(release: Path, tmp_path: Path) -> None:
    import yaml

    from shards.layout import REPO_ROOT

    cfg = yaml.safe_load(
        (REPO_ROOT / "training/llamafactory/qwen2_5vl_7b_lora_sft.yaml").read_text()
    )
    export_release(release, tmp_path, "sharegpt")
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert cfg["dataset"] in info and cfg["eval_dataset"] in info
    assert (
        cfg["template"] == "qwen2_vl" and cfg["model_name_or_path"] == "Qwen/Qwen2.5-VL-7B-Instruct"
    )
    assert cfg["stage"] == "sft" and cfg["finetuning_type"] == "lora"
