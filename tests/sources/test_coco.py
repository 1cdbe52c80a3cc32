"""``coco``: a COCO instance-segmentation file written here in the published layout (real key
names: images / annotations / categories, bbox [x, y, w, h] pixels, polygon and RLE
segmentation, iscrowd): boxes back in source pixels within 1 px, mask boxes where bbox is
absent, negatives for images without annotations, and one quarantine row per bad
annotation (a missing image id, an unknown category, a missing file)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as coco_mask

from schemas.identity import Pseudonymizer
from shards.layout import BuildLayout
from sources.base import PlanContext
from sources.context import ItemContext
from sources.radiograph.process import process_radiograph
from sources.segmentation.coco import Settings, plan

SALT = "coco-tests"
W, H = 64, 48


def _dataset(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "neg.png"):
        (root / "imgs").mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (H, W), dtype=np.uint8)).save(root / "imgs" / name)
    rle_mask = np.zeros((H, W), np.uint8, order="F")
    rle_mask[30:40, 5:20] = 1
    rle = coco_mask.encode(np.asfortranarray(rle_mask))
    rle["counts"] = rle["counts"].decode("ascii")
    coco = {
        "info": {"description": "test"},
        "images": [
            {"id": 1, "file_name": "a.png", "width": W, "height": H},
            {"id": 2, "file_name": "b.png", "width": W, "height": H},
            {"id": 3, "file_name": "neg.png", "width": W, "height": H},
            {"id": 4, "file_name": "gone.png", "width": W, "height": H},
        ],
        "categories": [
            {"id": 1, "name": "ActiveTuberculosis", "supercategory": "TB"},
            {"id": 2, "name": "Nodule", "supercategory": "lesion"},
        ],
        "annotations": [
            {
                "id": 10,
                "image_id": 1,
                "category_id": 1,
                "bbox": [10.5, 4.0, 20.0, 12.0],
                "area": 240.0,
                "iscrowd": 0,
                "segmentation": [[10.5, 4, 30.5, 4, 30.5, 16, 10.5, 16]],
            },
            {
                "id": 11,
                "image_id": 1,
                "category_id": 2,
                "bbox": [40, 30, 8, 6],
                "area": 48,
                "iscrowd": 0,
            },
            {
                "id": 12,
                "image_id": 2,
                "category_id": 2,
                "iscrowd": 0,
                "area": 0,
                "segmentation": [[20, 10, 36, 10, 36, 26, 20, 26]],
            },  # no bbox: polygon's box
            {"id": 13, "image_id": 2, "category_id": 1, "iscrowd": 1, "segmentation": rle},
            {"id": 14, "image_id": 99, "category_id": 1, "bbox": [1, 1, 5, 5], "iscrowd": 0},
            {"id": 15, "image_id": 1, "category_id": 7, "bbox": [1, 1, 5, 5], "iscrowd": 0},
        ],
    }
    (root / "annotations").mkdir()
    path = root / "annotations" / "train.json"
    path.write_text(json.dumps(coco))
    return path


def _ctx(out: Path) -> ItemContext:
    return ItemContext(BuildLayout(out), Pseudonymizer(SALT), (80, 10, 10), None, 0)


def test_coco_boxes_negatives_and_bad_annotations(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _dataset(root)
    settings = Settings(
        kind="coco",
        root=root,
        annotations="annotations/train.json",
        images_dir="imgs",
        modality="xray",
        licence="CC0-1.0",
    )
    planned = plan(settings, PlanContext(Pseudonymizer(SALT), tmp_path / "gen"))
    reasons = sorted((q.reason, q.row_number) for q in planned.quarantine)
    assert reasons == [("file_missing", None), ("image_id_unknown", 5), ("label_unmapped", 6)]
    assert planned.n_label_rows == 6
    items = {i.item_id: i for i in planned.items}
    assert sorted(items) == ["a.png", "b.png", "neg.png"]
    assert items["a.png"].exhaustive and not items["b.png"].exhaustive  # b has a crowd region
    ctx = _ctx(tmp_path / "out")
    outs = {k: process_radiograph(i, ctx) for k, i in items.items()}

    def px(f):
        return (f.box.x1 * W, f.box.y1 * H, f.box.x2 * W, f.box.y2 * H)

    a = {f.label: px(f) for f in outs["a.png"].findings if f.present}
    assert a["tuberculosis"] == pytest.approx((10.5, 4.0, 30.5, 16.0))
    assert a["nodule"] == pytest.approx((40, 30, 48, 36))
    b = {f.label: px(f) for f in outs["b.png"].findings if f.present}
    assert np.allclose(b["nodule"], (20, 10, 36, 26), atol=1.0)  # the polygon's box
    assert b["tuberculosis"] == pytest.approx((5, 30, 20, 40))  # the crowd RLE's box
    neg = outs["neg.png"]
    assert not [f for f in neg.findings if f.present]
    no = [r for r in neg.records if r.task == "presence"]
    assert sorted(r.label for r in no) == ["nodule", "tuberculosis"]
    assert all(r.answer.startswith("No") for r in no)
    counting_b = [r for r in outs["b.png"].records if r.task == "counting"]
    assert not counting_b  # a crowd region: no counts
    assert [r for r in outs["a.png"].records if r.task == "counting"]
    assert outs["a.png"].studies[0].modality == "XR"
