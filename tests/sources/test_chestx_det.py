"""ChestX-Det / ChestX-Det10 (``sources.radiograph.chestx_det``): the real label files planned
and counted against the JSON itself, the settings a bare ``{kind, root}`` gets, and a whole
build of two generated PNGs whose published boxes map back onto the JSON boxes."""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image
from pydantic import ValidationError

from engine.config import load_config
from engine.pipeline import run_build
from schemas.boxes import Box
from schemas.identity import Pseudonymizer
from schemas.vocab import CHESTX_DET_LABELS
from shards.layout import BuildLayout
from sources.base import InputFile, PlanContext
from sources.context import ItemContext
from sources.radiograph.chestx_det import (
    EDITIONS,
    LesionPolygons,
    Settings,
    lesion_masks,
    plan,
    process_chestx_det,
)
from sources.radiograph.csv_labels import SourceError
from sources.radiograph.process import OrganLabels
from sources.registry import licences, source_for
from tests.helpers import gradient_png, record_shards, write_config

IDS = Pseudonymizer("test-salt")
SALT = "chestx-det-tests"


def _plan(settings: Settings, tmp_path: Path):
    return plan(settings, PlanContext(IDS, tmp_path / "generated"))


# ---- the real label files ----------------------------------------------------------------

# edition -> (train file, test file, images, boxes, classes) as PROVENANCE.md lists them
REAL = {
    "ChestX-Det": ("ChestX_Det_train.json", "ChestX_Det_test.json", 3025 + 553, 7905 + 1734, 13),
    "ChestX-Det10": (
        "ChestX_Det10_train.json",
        "ChestX_Det10_test.json",
        3001 + 542,
        6863 + 1476,
        10,
    ),
}


def _independent_counts(files: list[Path]) -> dict:
    """What the JSON itself says, read without the connector."""
    entries = [e for f in files for e in json.loads(f.read_text())]
    pairs = [
        (e["file_name"], sym, tuple(box))
        for e in entries
        for sym, box in zip(e["syms"], e["boxes"], strict=True)
    ]
    return {
        "entries": len(entries),
        "images": {e["file_name"] for e in entries},
        "boxes": len(pairs),
        "distinct_boxes": len(set(pairs)),
        "classes": {sym for _, sym, _ in pairs},
        "per_image_labels": {
            e["file_name"]: {CHESTX_DET_LABELS[s] for s in e["syms"]} for e in entries
        },
        "pairs": Counter((name, CHESTX_DET_LABELS[sym], box) for name, sym, box in set(pairs)),
    }


@pytest.mark.realdata
@pytest.mark.parametrize("edition", sorted(REAL))
def test_real_label_files_without_images(realdata: Path, tmp_path: Path, edition: str) -> None:
    train, test, n_images, n_boxes, n_classes = REAL[edition]
    root = realdata / "cxr" / "chestx_det"
    want = _independent_counts([root / train, root / test])
    assert (len(want["images"]), want["boxes"], len(want["classes"])) == (
        n_images,
        n_boxes,
        n_classes,
    )
    assert want["classes"] <= set(CHESTX_DET_LABELS)  # every spelling has a mapping
    settings = Settings(
        kind="chestx_det", root=root, edition=edition, train_json=train, test_json=test
    )
    got = _plan(settings, tmp_path)
    # no image is there: each one named is a file_missing row, and still counted
    assert got.items == [] and got.n_label_rows == want["entries"] == n_images
    reasons = Counter(q.reason for q in got.quarantine)
    repeats = want["boxes"] - want["distinct_boxes"]
    assert reasons == {"file_missing": n_images, "duplicate_row": repeats}
    assert repeats == 1  # 57467.png has one Fracture box (and its polygon) twice
    missing = {Path(q.source_ref).name for q in got.quarantine if q.reason == "file_missing"}
    assert missing == want["images"]


@pytest.mark.realdata
@pytest.mark.parametrize("edition", sorted(REAL))
def test_real_label_files_with_placeholder_images(
    realdata: Path, tmp_path: Path, edition: str
) -> None:
    """Planning only lists files: empty placeholders stand for the images, so every row of
    the real files reaches an item, and its boxes equal the JSON's."""
    train, test, n_images, n_boxes, n_classes = REAL[edition]
    root = realdata / "cxr" / "chestx_det"
    want = _independent_counts([root / train, root / test])
    images = tmp_path / "images"
    for i, name in enumerate(sorted(want["images"])):
        folder = images / ("train" if i % 2 else "test")  # searched recursively
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).touch()
    settings = Settings(
        kind="chestx_det",
        root=root,
        edition=edition,
        train_json=train,
        test_json=test,
        images_dir=str(images),
    )
    got = _plan(settings, tmp_path)
    assert [q.reason for q in got.quarantine] == ["duplicate_row"]
    assert len(got.items) == n_images and {i.item_id for i in got.items} == want["images"]
    boxes = Counter(
        (
            i.item_id,
            r.label,
            (
                r.box_xywh[0],
                r.box_xywh[1],
                r.box_xywh[0] + r.box_xywh[2],
                r.box_xywh[1] + r.box_xywh[3],
            ),
        )
        for i in got.items
        for r in i.rows
        if r.present and r.box_xywh is not None
    )
    assert sum(boxes.values()) == n_boxes - 1 and boxes == want["pairs"]
    categories = set(EDITIONS[edition].categories)
    assert len(categories) == n_classes
    assert {r.label for i in got.items for r in i.rows if r.present} == categories
    for item in got.items:  # every category without a box is stated absent, once
        absent = [r.label for r in item.rows if not r.present]
        assert sorted(absent) == sorted(categories - want["per_image_labels"][item.item_id])
        assert item.exhaustive and item.reader == "png" and item.licence == edition
    n_absent = sum(len(categories - labels) for labels in want["per_image_labels"].values())
    assert sum(not r.present for i in got.items for r in i.rows) == n_absent


# ---- settings ----------------------------------------------------------------------------


def test_kind_and_root_are_a_complete_config(tmp_path: Path) -> None:
    cfg = load_config(
        write_config(tmp_path / "build.yaml", [{"kind": "chestx_det", "root": "cxd"}])
    )
    (settings,) = cfg.sources
    assert (settings.train_json, settings.test_json, settings.images_dir) == (
        "ChestX_Det_train.json",
        "ChestX_Det_test.json",
        ".",
    )
    assert settings.root == tmp_path / "cxd" and settings.dataset == "chestx_det"
    det10 = Settings(kind="chestx_det", root=tmp_path, edition="ChestX-Det10")
    assert (det10.train_json, det10.test_json) == ("train.json", "test.json")
    only_test = Settings(kind="chestx_det", root=tmp_path, train_json=None)
    assert (only_test.train_json, only_test.test_json) == (None, "ChestX_Det_test.json")
    with pytest.raises(ValidationError, match="edition"):
        Settings(kind="chestx_det", root=tmp_path, edition="ChestX-Det14")
    with pytest.raises(ValidationError, match="labels_json"):
        Settings(kind="chestx_det", root=tmp_path, labels_json="x.json")


def test_declared_licences_and_layout() -> None:
    source = source_for("chestx_det")
    known = licences()
    assert "Lian J" in known["ChestX-Det"].citation and "2042" in known["ChestX-Det"].citation
    assert "Apache" in known["ChestX-Det"].name
    assert "2006.10550" in known["ChestX-Det10"].citation
    assert all("ChestX-ray8" in lic.citation for lic in source.licences)
    assert "ChestX_Det_{train,test}.json" in source.layout


def test_unreadable_label_files_name_the_file_and_key(tmp_path: Path) -> None:
    settings = Settings(kind="chestx_det", root=tmp_path, test_json=None)
    with pytest.raises(SourceError, match=r"ChestX_Det_train\.json \(set train_json"):
        _plan(settings, tmp_path)
    (tmp_path / "ChestX_Det_train.json").write_text('{"file_name": "1.png"}')
    with pytest.raises(SourceError, match="expected a JSON list"):
        _plan(settings, tmp_path)
    (tmp_path / "ChestX_Det_train.json").write_text("[{")
    with pytest.raises(SourceError, match="not readable as JSON"):
        _plan(settings, tmp_path)


def test_bad_entries_are_rows_with_reasons(tmp_path: Path) -> None:
    entries = [
        {"file_name": "1.png", "syms": ["Nodule", "Mass"], "boxes": [[1, 2, 3, 4]]},
        {"file_name": "a/2.png", "syms": [], "boxes": []},
        {"syms": [], "boxes": []},
        {
            "file_name": "3.png",
            "syms": ["Nodule", "Mass", "Nodule", "Mass"],
            "boxes": [[5, 5, 1, 9], [1, 2, "x", 4], [1, 1, 2, 2], [1, 2, 3]],
        },
        {"file_name": "3.png", "syms": [], "boxes": []},
    ]
    (tmp_path / "ChestX_Det_train.json").write_text(json.dumps(entries))
    gradient_png(tmp_path / "3.png")
    got = _plan(Settings(kind="chestx_det", root=tmp_path, test_json=None), tmp_path)
    rows = [(q.reason, q.row_number) for q in got.quarantine]
    assert rows == [
        ("bad_csv_row", 1),  # 2 syms, 1 box
        ("bad_csv_row", 2),  # a path
        ("bad_csv_row", 3),  # no file_name
        ("box_invalid", 4),
        ("bad_csv_row", 4),
        ("bad_csv_row", 4),
        ("duplicate_row", 5),
    ]
    assert "box 1 of 4" in got.quarantine[3].message
    assert "names 3.png again (entry 4" in got.quarantine[-1].message
    (item,) = got.items
    assert [(r.label, r.box_xywh) for r in item.rows if r.present] == [("nodule", (1, 1, 1, 1))]
    absent = {r.label for r in item.rows if not r.present}
    assert "mass" not in absent and "nodule" not in absent and len(absent) == 11


def test_absences_off(tmp_path: Path) -> None:
    entries = [{"file_name": "1.png", "syms": ["Cardiomegaly"], "boxes": [[1, 2, 30, 40]]}]
    (tmp_path / "train.json").write_text(json.dumps(entries))
    gradient_png(tmp_path / "1.png")
    settings = Settings(
        kind="chestx_det", root=tmp_path, train_json="train.json", test_json=None, absences=False
    )
    (item,) = _plan(settings, tmp_path).items
    assert [(r.label, r.present) for r in item.rows] == [("cardiomegaly", True)]


# ---- a whole build -----------------------------------------------------------------------

SIZE = 128
TRAIN = [
    {
        "file_name": "36200.png",
        "syms": ["Nodule", "Effusion", "Nodule"],
        "boxes": [[10, 12, 30, 40], [60, 70, 120, 125], [80, 20, 95, 33]],
        "polygons": [[[10, 12], [30, 12], [30, 40]], [[60, 70], [120, 125]], [[80, 20]]],
    },
    {
        "file_name": "36201.png",
        "syms": ["Mass", "Fracture", "Tumour"],
        "boxes": [[5, 6, 50, 61], [100, 100, 140, 120], [1, 1, 20, 20]],
        "polygons": [[], [], []],
    },
]
TEST = [{"file_name": "36299.png", "syms": ["Mass"], "boxes": [[1, 1, 9, 9]], "polygons": [[]]}]


def _records(out: Path) -> list[dict]:
    records = []
    for tar_path in record_shards(out):
        if "_build" in tar_path.parts:
            continue
        with tarfile.open(tar_path) as tar:
            for m in tar.getmembers():
                if m.name.endswith(".json"):
                    records.append(json.loads(tar.extractfile(m).read()))
    return records


def test_build_boxes_map_back_to_the_json(tmp_path: Path) -> None:
    root = tmp_path / "ChestX-Det"
    root.mkdir()
    (root / "ChestX_Det_train.json").write_text(json.dumps(TRAIN))
    (root / "ChestX_Det_test.json").write_text(json.dumps(TEST))
    gradient_png(root / "train_data" / "36200.png", SIZE, seed=1)
    gradient_png(root / "train_data" / "36201.png", SIZE, seed=2)
    cfg = write_config(
        tmp_path / "build.yaml",
        [{"kind": "chestx_det", "root": str(root)}],
        privacy={"salt": SALT},
        image_max_side=64,  # published at half size: boxes are normalized, not pixels
        records={"sequences": False},
    )
    out = tmp_path / "out"
    run_build(load_config(cfg), out)
    tables = out / "_build" / "tables"
    quarantine = pq.read_table(tables / "quarantine.parquet").to_pylist()
    assert sorted((q["stage"], q["reason"], q["unit"], q["row_number"]) for q in quarantine) == [
        ("findings", "box_out_of_bounds", "label_row", 2),
        ("plan", "file_missing", "item", None),
        ("plan", "label_unmapped", "label_row", 2),
    ]
    by_reason = {q["reason"]: q for q in quarantine}
    assert "outside the 128x128 image" in by_reason["box_out_of_bounds"]["message"]
    assert "'Tumour'" in by_reason["label_unmapped"]["message"]
    assert by_reason["label_unmapped"]["source_ref"].endswith("ChestX_Det_train.json")
    assert by_reason["file_missing"]["source_ref"].endswith("36299.png")

    ids = Pseudonymizer(SALT)
    study = {ids.study("chestx_det", e["file_name"]): e["file_name"] for e in TRAIN}
    records = _records(out)
    grounded: dict[tuple[str, str], list[tuple[float, ...]]] = {}
    for r in records:
        if r["task"] == "phrase_grounding":
            assert (r["image"]["width"], r["image"]["height"]) == (64, 64)
            name = study[r["image"]["study_id"]]
            grounded[(name, r["label"])] = sorted(
                Box(b["x1"], b["y1"], b["x2"], b["y2"]).to_pixels(SIZE, SIZE)
                for b in r["answer_boxes"]
            )
    assert set(grounded) == {
        ("36200.png", "nodule"),
        ("36200.png", "pleural_effusion"),
        ("36201.png", "mass"),
    }
    want = {
        ("36200.png", "nodule"): [[10, 12, 30, 40], [80, 20, 95, 33]],
        ("36200.png", "pleural_effusion"): [[60, 70, 120, 125]],
        ("36201.png", "mass"): [[5, 6, 50, 61]],
    }
    for key, boxes in want.items():
        assert len(grounded[key]) == len(boxes)
        for got, exp in zip(grounded[key], boxes, strict=True):
            assert max(abs(g - e) for g, e in zip(got, exp, strict=True)) <= 1.0, key
    counts = {
        study[r["image"]["study_id"]]: len(r["answer_boxes"])
        for r in records
        if r["task"] == "counting" and r["label"] == "nodule"
    }
    assert counts == {"36200.png": 2, "36201.png": 0}  # exhaustive: "none" is a count too
    absent = {
        (study[r["image"]["study_id"]], r["label"])
        for r in records
        if r["task"] == "presence" and not r["answer_boxes"]
    }
    assert ("36201.png", "nodule") in absent and ("36200.png", "mass") in absent
    assert ("36201.png", "fracture") not in absent  # boxed, though outside: not absent
    assert {(r["provenance"]["licence"], r["provenance"]["extractor"]) for r in records} == {
        ("ChestX-Det", "sources.chestx_det")
    }
    assert "Structure-Aware Relation Network" in (out / "LICENSES.md").read_text()

    items = pq.read_table(tables / "items.parquet").to_pylist()
    assert sorted((Path(i["source_file"]).name, i["status"]) for i in items) == [
        ("36200.png", "published"),
        ("36201.png", "published"),
        ("36299.png", "quarantined"),
    ]


# ---- the publishers' split and the polygons -----------------------------------------------


@pytest.mark.realdata
def test_real_polygons_fill_to_their_boxes_and_the_split_is_the_files(
    realdata: Path, tmp_path: Path
) -> None:
    """Every kept box of the real ChestX-Det files has its polygon; filled, a polygon's mask
    spans its box (the contours trace the boxes' pixels); the train file's images are in
    train, the test file's in test."""
    root = realdata / "cxr" / "chestx_det"
    train, test, _, n_boxes, _ = REAL["ChestX-Det"]
    names = {
        key: {e["file_name"] for e in json.loads((root / f).read_text())}
        for key, f in (("train", train), ("test", test))
    }
    images = tmp_path / "images"
    images.mkdir()
    for name in names["train"] | names["test"]:
        (images / name).touch()
    settings = Settings(kind="chestx_det", root=root, images_dir=str(images))
    items = _plan(settings, tmp_path).items
    assert Counter(i.split for i in items) == {"train": 3025, "test": 553}
    assert all(i.item_id in names[i.split] for i in items)
    polygons = [(i, row, p) for i in items if i.settings for row, p in i.settings.polygons]
    assert len(polygons) == n_boxes - 1  # the repeated Fracture box is not kept
    off = []
    for item, row, poly in polygons[:200]:
        mask = lesion_masks(replace(item, settings=LesionPolygons(((row, poly),))), 1024, 1024)[row]
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        x, y, w, h = row.box_xywh
        # the mask's first and last pixels vs the JSON's corners
        got = (cols[0], rows[0], cols[-1], rows[-1])
        off.append(max(abs(a - b) for a, b in zip(got, (x, y, x + w, y + h), strict=True)))
    assert np.mean(np.array(off) <= 1) > 0.95 and max(off) <= 6


def test_a_polygon_not_its_box_decides_the_host_organ(tmp_path: Path) -> None:
    """A nodule box reaching over both halves, mostly the left one, whose polygon lies in
    the right half: the chain of thought puts it in the right half's organ; without the
    polygon, in the left half's."""
    entry = {
        "file_name": "40000.png",
        "syms": ["Nodule"],
        "boxes": [[10, 10, 100, 60]],
        "polygons": [[[70, 10], [100, 10], [100, 60]]],
    }
    (tmp_path / "train.json").write_text(json.dumps([entry]))
    gradient_png(tmp_path / "40000.png", SIZE)
    labels = np.ones((SIZE, SIZE), dtype=np.uint8)
    labels[:, SIZE // 2 :] = 2
    Image.fromarray(labels).save(tmp_path / "anatomy.png")
    settings = Settings(kind="chestx_det", root=tmp_path, train_json="train.json", test_json=None)
    (item,) = _plan(settings, tmp_path).items
    assert item.split == "train" and len(item.settings.polygons) == 1
    hashed = _plan(settings.model_copy(update={"split": "hash"}), tmp_path).items
    assert hashed[0].split is None  # the build's patient hash decides
    organs = OrganLabels(
        ((1, "left_half", "left-half organ"), (2, "right_half", "right-half organ"))
    )
    item = replace(
        item,
        inputs=(InputFile.of("anatomy_labels", tmp_path / "anatomy.png"),),
        settings=replace(item.settings, organ_labels=organs),
    )
    ctx = ItemContext(BuildLayout(tmp_path / "out"), IDS, (80, 10, 10), None, 0, sequences=False)

    def host(it) -> set[str]:
        cot = [r for r in process_chestx_det(it, ctx).records if r.family == "cot"]
        assert len(cot) == 3  # the three curriculum levels
        return {o for r in cot for o in ("left-half organ", "right-half organ") if o in r.answer}

    assert host(item) == {"right-half organ"}
    boxes_only = replace(item, settings=LesionPolygons((), organs))
    assert host(boxes_only) == {"left-half organ"}
