"""Boxes in the frame the model sees. The resize rules are written here again from their
published descriptions (Qwen2.5-VL's smart_resize; LLaMA-Factory's image_max_pixels /
image_min_pixels scaling), independently of ``exports.resize``, and every exported answer
box must land within 1 px of the record's box mapped to that frame."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import pytest
import yaml
from PIL import Image

from exports.formats import medsg_item, sharegpt_item
from exports.resize import Frame
from exports.write import export_release
from schemas.boxes import Box
from shards.layout import REPO_ROOT
from shards.reader import iter_release

TOKENS = re.compile(r"<\|box_start\|>\((\d+),(\d+)\),\((\d+),(\d+)\)<\|box_end\|>")


def published_smart_resize(h: int, w: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Qwen2.5-VL's rule as published (factor 28)."""
    factor = 28
    h_bar = max(factor, round(h / factor) * factor)
    w_bar = max(factor, round(w / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(h * w / max_pixels)
        h_bar = math.floor(h / beta / factor) * factor
        w_bar = math.floor(w / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (h * w))
        h_bar = math.ceil(h * beta / factor) * factor
        w_bar = math.ceil(w * beta / factor) * factor
    return h_bar, w_bar


def seen_by_qwen_in_llamafactory(w: int, h: int, image_max_pixels: int) -> tuple[int, int]:
    """(width, height) Qwen2.5-VL sees when LLaMA-Factory feeds it a w x h image: its own
    scaling past image_max_pixels (sides truncated), then the processor's smart_resize
    with Qwen2.5-VL-7B-Instruct's min_pixels 3136 and max_pixels 12845056."""
    if w * h > image_max_pixels:
        f = math.sqrt(image_max_pixels / (w * h))
        w, h = int(w * f), int(h * f)
    if w * h < 32 * 32:
        f = math.sqrt(32 * 32 / (w * h))
        w, h = int(w * f), int(h * f)
    h_bar, w_bar = published_smart_resize(h, w, 3136, 12845056)
    return w_bar, h_bar


def config_max_pixels() -> int:
    cfg = yaml.safe_load(
        (REPO_ROOT / "training/llamafactory/qwen2_5vl_7b_lora_sft.yaml").read_text()
    )
    return int(cfg["image_max_pixels"])


def test_frame_sizes_of_the_three_kinds_of_image() -> None:
    frame = Frame("qwen2.5-vl", max_pixels=config_max_pixels())
    assert frame.target_size(1024, 1024) == (1008, 1008)  # 1001x1001, then rounded to 28s
    assert frame.target_size(96, 80) == (84, 84)
    assert frame.target_size(336, 336) == (336, 336)
    for w, h in [(1024, 1024), (96, 80), (336, 336), (2048, 1500), (30, 17), (700, 90)]:
        assert frame.target_size(w, h) == seen_by_qwen_in_llamafactory(w, h, frame.max_pixels)
    assert Frame().target_size(96, 80) == (96, 80)
    assert Frame("square").target_size(96, 80) == (336, 336)
    with pytest.raises(ValueError, match="resize rule"):
        Frame("bilinear")


def _record(width: int, height: int, box: Box) -> dict:
    return {
        "record_id": f"rec-{width}x{height}",
        "task": "phrase_grounding",
        "image": {"study_id": "s", "width": width, "height": height},
        "question": "Where is the nodule?",
        "answer": f"The nodule is at {box.to_text()}.",
        "answer_boxes": [{"x1": box.x1, "y1": box.y1, "x2": box.x2, "y2": box.y2}],
        "label": "nodule",
    }


@pytest.mark.parametrize(("width", "height"), [(1024, 1024), (96, 80), (336, 336)])
def test_sharegpt_box_in_the_frame_qwen_sees(width: int, height: int) -> None:
    box = Box.from_pixels(
        101 * width / 1024, 37 * height / 80, 0.9 * width, 0.95 * height, width, height
    )
    frame = Frame("qwen2.5-vl", max_pixels=config_max_pixels())
    item = sharegpt_item(_record(width, height, box), ["images/s.png"], frame)
    got = [int(v) for v in TOKENS.search(item["conversations"][1]["value"]).groups()]
    fw, fh = seen_by_qwen_in_llamafactory(width, height, config_max_pixels())
    want = [box.x1 * fw, box.y1 * fh, box.x2 * fw, box.y2 * fh]
    assert all(abs(g - w) <= 1 for g, w in zip(got, want, strict=True)), (got, want)
    unresized = sharegpt_item(_record(width, height, box), ["images/s.png"])
    raw = [int(v) for v in TOKENS.search(unresized["conversations"][1]["value"]).groups()]
    if (fw, fh) != (width, height):  # the old export wrote file pixels: off by the resize
        assert raw != got


def _answer_boxes_px(record: dict, size_of) -> list[tuple[float, ...]]:
    sizes = [(i["width"], i["height"]) for i in record.get("images") or [record["image"]]]
    out = []
    for b in record["answer_boxes"]:
        if Box(b["x1"], b["y1"], b["x2"], b["y2"]).to_text() not in record["answer"]:
            continue
        fw, fh = size_of(*sizes[int(b.get("image_index", 0))])
        out.append((b["x1"] * fw, b["y1"] * fh, b["x2"] * fw, b["y2"] * fh))
    return sorted(out)


def test_every_exported_answer_box_is_in_the_qwen_frame(release: Path, tmp_path: Path) -> None:
    max_pixels = config_max_pixels()
    export_release(release, tmp_path, "sharegpt", frame=Frame("qwen2.5-vl", max_pixels=max_pixels))
    records = {s.record["record_id"]: s.record for s in iter_release(release)}
    items = [i for f in sorted(tmp_path.glob("sharegpt_*.json")) for i in json.loads(f.read_text())]
    checked = 0
    sizes = set()
    for item in items:
        record = records[item["id"]]
        want = _answer_boxes_px(record, lambda w, h: seen_by_qwen_in_llamafactory(w, h, max_pixels))
        got = sorted(
            tuple(int(v) for v in m) for m in TOKENS.findall(item["conversations"][1]["value"])
        )
        assert len(got) == len(want), item["id"]
        for g, w in zip(got, want, strict=True):
            assert max(abs(a - b) for a, b in zip(g, w, strict=True)) <= 1, (item["id"], g, w)
            checked += 1
        sizes |= {(i["width"], i["height"]) for i in record.get("images") or [record["image"]]}
    assert checked > 50 and len(sizes) > 1  # radiographs and crops of other sizes
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert {v["medsg_frame"]["image_max_pixels"] for v in info.values()} == {max_pixels}
    readme = (tmp_path / "README.md").read_text()
    assert f"image_max_pixels: {max_pixels}" in readme and "smart_resize" in readme


def test_square_export_writes_336_images_and_boxes_in_them(release: Path, tmp_path: Path) -> None:
    for letterbox in (False, True):
        out = tmp_path / f"lb{letterbox}"
        export_release(release, out, "medsg", frame=Frame("square", size=336, letterbox=letterbox))
        items = [i for f in sorted(out.glob("medsg_*.json")) for i in json.loads(f.read_text())]
        records = {s.record["record_id"]: s.record for s in iter_release(release)}
        assert items
        for item in items:
            assert item["size"] == [336, 336] == [item["width"], item["height"]]
            for path in item["images"]:
                with Image.open(out / path) as im:
                    assert im.size == (336, 336)
            record = records[item["id"]]
            (b,) = record["answer_boxes"]
            src = (record.get("images") or [record["image"]])[int(b.get("image_index", 0))]
            w, h = src["width"], src["height"]
            if letterbox:  # scaled to fit, centred
                s = 336 / max(w, h)
                cw, ch = round(w * s), round(h * s)
                ox, oy = (336 - cw) // 2, (336 - ch) // 2
                want = [ox + b["x1"] * cw, oy + b["y1"] * ch, ox + b["x2"] * cw, oy + b["y2"] * ch]
            else:
                want = [b["x1"] * 336, b["y1"] * 336, b["x2"] * 336, b["y2"] * 336]
            assert max(abs(g - x) for g, x in zip(item["answer"], want, strict=True)) <= 0.5 + 1e-9
        readme = (out / "README.md").read_text()
        assert ("letterboxed" in readme) == letterbox and "336x336" in readme


def test_letterboxed_image_keeps_content_inside_the_box() -> None:
    im = Image.new("L", (96, 48), 0)
    im.paste(255, (48, 0, 96, 48))  # right half white
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    out = Image.open(
        io.BytesIO(Frame("square", size=336, letterbox=True).image_bytes(buf.getvalue()))
    )
    assert out.size == (336, 336)
    # content 336x168 centred: rows 0..83 are padding, the white half spans x 168..335
    assert out.getpixel((250, 40)) == 0 and out.getpixel((250, 168)) == 255
    assert out.getpixel((80, 168)) == 0


def test_benchmark_task_names_and_size_key() -> None:
    from exports.formats import MEDSG_BENCH_TASKS
    from schemas.enums import MedSGTask

    # eval/MedSG_Bench.py's --task choices, each the value it filters item["task"] on
    published = {
        "Registered_Diff",
        "Non_Registered_Diff",
        "multi_view",
        "object_tracking",
        "concept",
        "patch",
        "crossmodal",
        "referring",
    }
    assert set(MEDSG_BENCH_TASKS) == published == {str(t) for t in MedSGTask}
    box = Box(0.1, 0.2, 0.5, 0.6)
    record = _record(200, 100, box)
    for task in published:
        item = medsg_item(record | {"task": task}, ["images/s.png"])
        assert item["task"] == task and item["size"] == [200, 100]
        assert item["answer"] == [20, 20, 100, 60]


def test_llamafactory_config_max_pixels_matches_the_export_default() -> None:
    from exports.resize import LLAMAFACTORY_MAX_PIXELS

    assert config_max_pixels() == LLAMAFACTORY_MAX_PIXELS == 1280 * 28 * 28


def test_llava_boxes_follow_the_letterbox_and_exports_are_deterministic(
    release: Path, tmp_path: Path
) -> None:
    from exports.formats import llava_item

    box = Box(0.0, 0.0, 1.0, 1.0)
    record = _record(200, 100, box)
    item = llava_item(record, ["images/s.png"], Frame("square", size=336, letterbox=True))
    assert "[0.000, 0.250, 1.000, 0.750]" in item["conversations"][1]["value"]  # padded frame
    assert (
        "[0.000, 0.000, 1.000, 1.000]"
        in llava_item(record, ["images/s.png"])["conversations"][1]["value"]
    )
    frame = Frame("square", size=336, letterbox=True)
    export_release(release, tmp_path / "a", "llava", frame=frame)
    export_release(release, tmp_path / "b", "llava", frame=Frame())  # same folder, other frame
    export_release(release, tmp_path / "b", "llava", frame=frame)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
