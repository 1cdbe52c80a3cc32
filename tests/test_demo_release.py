"""Acceptance on the embedded demo built by the flow: boxes loaded with
``datasets.load_dataset`` map back to the NIH and RSNA expert boxes within 1 px, every input
is accounted for, and the card and manifest hold."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from schemas.identity import Pseudonymizer
from shards.load_release import load_records
from shards.manifest import verify
from tests.accounting import Inputs, account, published_study_ids
from tests.conftest import DEMO_SALT

pytestmark = [pytest.mark.realdata, pytest.mark.prefect]
IDS = Pseudonymizer(DEMO_SALT)
CT_CASES = 1 + 3  # the demo's CT sources (tests/test_demo_ct.py)
CT_STUDIES = 2 * CT_CASES
PET_EXAMS = 3  # the demo's synthetic_pet exams (tests/test_demo_pet.py)
# the demo's segmentation volumes: 4 MSD Hippocampus cases, 2 pyradiomics NRRD pairs, and of
# the first 6 highdicom SEGs the CR one (image absent) and the two CT series they reference
VOLUME_ITEMS = 4 + 2 + 3
# SIIM-ACR: the real RLE file names 12,047 images, one DICOM is there (tests/sources/
# test_siim_pneumothorax.py counts the file itself)
SIIM_IMAGES, SIIM_PUBLISHED = 12_047, 1
CHEXLOCALIZE_IMAGES = 2  # the real CheXlocalize sample (tests/sources/test_chexlocalize.py)
# 2D segmentation samples (image_masks): Kvasir-SEG 5, ISIC 12, Montgomery/Shenzhen 10,
# v7labs 1, SAM-Med2D 5 images (one of them, amos_0507_31, has no mask: file_missing)
SEG2D_IMAGES = 5 + 12 + 10 + 1 + 5
SEG2D_NO_MASK = 1


def expert_boxes(realdata: Path) -> dict[str, list[tuple[float, float, float, float]]]:
    """study id -> expert boxes (x1, y1, x2, y2) in source pixels, for images on disk."""
    boxes: dict[str, list] = defaultdict(list)
    nih = realdata / "cxr" / "nih_cxr14"
    present = {p.name for p in (nih / "images").glob("*.png")}
    with (nih / "BBox_List_2017.csv").open() as f:
        for row in list(csv.reader(f))[1:]:
            if row[0] in present:
                x, y, w, h = map(float, row[2:6])
                boxes[IDS.study("nih_cxr14", row[0])].append((x, y, x + w, y + h))
    rsna = realdata / "cxr" / "rsna_pneumonia"
    with (rsna / "stage_2_train_labels_sample.csv").open() as f:
        for row in csv.DictReader(f):
            if row["Target"] == "1":
                x, y, w, h = (float(row[k]) for k in ("x", "y", "width", "height"))
                boxes[IDS.study("rsna_pneumonia", row["patientId"])].append((x, y, x + w, y + h))
    return boxes


def load_all_splits(out: str) -> dict[str, datasets.Dataset]:
    """The grounding records of each split, their images joined (the per-record view)."""
    return {s: load_records(out, "grounding", s) for s in ("train", "validation", "test")}


def test_loaded_boxes_equal_expert_boxes_within_1px(demo_release: dict, realdata: Path) -> None:
    expected = expert_boxes(realdata)
    assert len(expected) == 4 + 3  # 4 NIH images on disk, 3 RSNA images with boxes
    assert sum(len(v) for v in expected.values()) == 4 + 6
    found: dict[str, list] = defaultdict(list)
    real_in_train = 0
    for split, ds in load_all_splits(demo_release["out"]).items():
        for row in ds:
            rec = row["json"]
            if rec["provenance"]["source_dataset"] not in ("nih_cxr14", "rsna_pneumonia"):
                continue
            real_in_train += split == "train"
            if rec["task"] != "phrase_grounding":
                continue
            width, height = row["png"].size
            assert (
                (width, height) == (rec["image"]["width"], rec["image"]["height"]) == (1024, 1024)
            )
            for b in rec["answer_boxes"]:
                found[rec["image"]["study_id"]].append(
                    (b["x1"] * 1024, b["y1"] * 1024, b["x2"] * 1024, b["y2"] * 1024)
                )
    assert real_in_train > 0
    assert set(found) == set(expected)
    for study_id, boxes in expected.items():
        got = sorted(found[study_id])
        assert len(got) == len(boxes)
        for g, e in zip(got, sorted(boxes), strict=True):
            assert max(abs(a - b) for a, b in zip(g, e, strict=True)) <= 1.0, (study_id, g, e)


def test_rsna_negatives_are_presence_no(demo_release: dict) -> None:
    answers = [
        row["json"]
        for ds in load_all_splits(demo_release["out"]).values()
        for row in ds
        if row["json"]["provenance"]["source_dataset"] == "rsna_pneumonia"
        and row["json"]["task"] == "presence"
    ]
    no = [r for r in answers if r["answer"].startswith("No")]
    assert len(no) == 5 and all(r["answer_boxes"] == [] for r in no)
    assert len(answers) - len(no) == 3


def test_every_input_is_accounted_for(demo_release: dict, realdata: Path) -> None:
    out = Path(demo_release["out"])
    generated = out / "_build" / "generated" / "synthetic_cxr"
    acc = account(
        out,
        [
            Inputs("nih_cxr14", realdata / "cxr/nih_cxr14/BBox_List_2017.csv", "Image Index"),
            Inputs(
                "rsna_pneumonia",
                realdata / "cxr/rsna_pneumonia/stage_2_train_labels_sample.csv",
                "patientId",
            ),
            Inputs("synthetic_cxr", generated / "nih_format/BBox_List.csv", "Image Index"),
            Inputs("synthetic_cxr", generated / "rsna_format/labels.csv", "patientId"),
        ],
        DEMO_SALT,
    )
    assert acc.lost_images == [] and acc.lost_rows == []
    assert acc.images_named == 880 + 8 + 300
    # published studies also hold the demo's CT cases: 1 real + 3 synthetic, 2 views each
    # (tests/test_demo_ct.py accounts for them)
    assert len(acc.published & acc.named) == 4 + 8 + 300
    assert len(acc.quarantined_items & acc.named) == 876
    # the rest are the CT cases' views, the PET exams' renderings (tests/test_demo_pet.py)
    # and the images sequence records are made of
    assert len(acc.published - acc.named) > CT_STUDIES
    pet_studies = published_study_ids(out, {"synthetic_pet"})  # a MIP + the reported slices
    assert len(pet_studies) >= 2 * PET_EXAMS
    flow = demo_release["stats"]["flow"]
    assert flow["items_named"] == (
        acc.images_named
        + CT_CASES
        + PET_EXAMS
        + VOLUME_ITEMS
        + SIIM_IMAGES
        + CHEXLOCALIZE_IMAGES
        + SEG2D_IMAGES
    )
    # one status row per named input (_build/tables/items.parquet), checked against the files
    items = pq.read_table(out / "_build" / "tables" / "items.parquet").to_pylist()
    status = Counter(i["status"] for i in items)
    assert status["published"] + status["quarantined"] == len(items) == flow["items_named"]
    radiographs = {"nih_cxr14", "rsna_pneumonia", "synthetic_cxr"}
    assert {i["item_id"] for i in items if i["dataset"] in radiographs} == acc.named
    siim = Counter(i["status"] for i in items if i["dataset"] == "siim_pneumothorax")
    assert siim == {"published": SIIM_PUBLISHED, "quarantined": SIIM_IMAGES - SIIM_PUBLISHED}
    others = radiographs | {"siim_pneumothorax"}
    expected = CT_CASES + PET_EXAMS + VOLUME_ITEMS + CHEXLOCALIZE_IMAGES + SEG2D_IMAGES
    assert sum(i["dataset"] not in others for i in items) == expected
    published = [i for i in items if i["status"] == "published"]
    assert len(published) >= 4 + 8 + 300 and all(i["n_records"] > 0 for i in published)
    reasons = Counter(i["reason"] for i in items if i["status"] == "quarantined")
    assert reasons["file_missing"] == 876 + SIIM_IMAGES - SIIM_PUBLISHED + SEG2D_NO_MASK
    # every valid record is published, but for the copies of identical pixels set aside
    duplicates = demo_release["stats"]["quarantine"].get("publish", {}).get("duplicate_image", 0)
    assert flow["records_published"] + duplicates == flow["records_valid"] == flow["records_built"]


def test_card_and_manifest(demo_release: dict) -> None:
    out = Path(demo_release["out"])
    assert verify(out) == []
    card = (out / "README.md").read_text()
    assert "config_name: grounding" in card and "| nih_cxr14 | plan | file_missing | 876 |" in card
    assert "_build" not in card and "/work" not in card
    builder = datasets.load_dataset_builder(str(out), "grounding")
    assert set(builder.info.features) == {"json"}  # layout once: images in their config
    assert set(datasets.load_dataset_builder(str(out), "images").info.features) == {"png", "json"}
    assert (out / "load_release.py").is_file() and "from load_release import" in card


def test_each_image_is_stored_once_and_the_release_size_is_printed(demo_release: dict) -> None:
    """Issue 16: shard bytes at most 1.3x the unique published image bytes (printed in the
    build summary and the card); one PNG member per published image and split."""
    import tarfile

    out = Path(demo_release["out"])
    size = demo_release["release_size"]
    tars = sorted(out.glob("*/*/*.tar"))
    assert size["shard_bytes"] == sum(p.stat().st_size for p in tars)
    pngs = []
    for path in tars:
        with tarfile.open(path) as tar:
            pngs += [(path.parent.parent.name, m.name) for m in tar if m.name.endswith(".png")]
    assert {config for config, _ in pngs} == {"images"}  # record samples carry no image
    assert len(pngs) == len(set(pngs)) == size["unique_images"]  # one split per image
    assert size["ratio"] <= 1.3, size
    assert f"Release size: shards {size['shard_bytes']} bytes" in (out / "README.md").read_text()


def test_every_medsg_task_has_50_records_that_decode(demo_release: dict) -> None:
    from collections import Counter

    from schemas.enums import MedSGTask

    out = demo_release["out"]
    counts: Counter = Counter()
    for config in ("sequence_2img", "sequence_3img"):
        for split in ("train", "validation", "test"):
            for row in load_records(out, config, split):
                rec = row["json"]
                counts[rec["task"]] += 1
                sizes = [
                    row[f"img{i}.png"].size for i in range(len(rec["images"]))
                ]  # every image decodes
                assert sizes == [(im["width"], im["height"]) for im in rec["images"]]
                for b in rec["answer_boxes"] + rec["question_boxes"]:
                    assert 0 <= b["x1"] < b["x2"] <= 1 and 0 <= b["y1"] < b["y2"] <= 1
    assert {t.value for t in MedSGTask} <= set(counts)
    assert min(counts[t.value] for t in MedSGTask) >= 50, counts


def test_ids_unique_and_patients_in_one_split(demo_release: dict) -> None:
    import pyarrow.parquet as pq

    tables = sorted((Path(demo_release["out"]) / "_build" / "tables").glob("records_*.parquet"))
    rows = [r for t in tables for r in pq.read_table(t).to_pylist()]
    ids = [r["record_id"] for r in rows]
    assert len(ids) == len(set(ids)) > 1000
    split_of: dict[str, set[str]] = {}
    for r in rows:
        for patient in r.get("patient_ids") or [r["patient_id"]]:
            split_of.setdefault(patient, set()).add(r["split"])
    assert all(len(splits) == 1 for splits in split_of.values())
