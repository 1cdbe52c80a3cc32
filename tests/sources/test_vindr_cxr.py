"""VinDr-CXR (``sources.radiograph.vindr_cxr``): the real Kaggle train file planned and counted
against the file itself (15,000 images, 3 readers each); weighted boxes fusion on a
hand-checked example of 3 overlapping reads; whole builds of a Kaggle-layout and a
PhysioNet-layout fixture written here (real column names, DICOM-pixel boxes), whose fused
boxes, readers' boxes and agreement confidences map back onto the files; and bad rows (box
outside the image, unmapped label, missing DICOM), one quarantine row each."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from engine.config import load_config
from engine.pipeline import run_build
from schemas.boxes import Box
from schemas.identity import Pseudonymizer
from schemas.vocab import VINDR_CXR_LABELS
from shards.load_release import load_records
from sources.base import PlanContext
from sources.radiograph.csv_labels import SourceError
from sources.radiograph.synthetic_cxr import write_synthetic_dicom
from sources.radiograph.vindr_cxr import CATEGORIES, FUSION_IOU, Settings, edition_of, fuse, plan
from sources.registry import licences, source_for
from tests.helpers import phi, write_config

SALT = "vindr-tests"
IDS = Pseudonymizer(SALT)
REAL_CSV = "vinbigdata-train.csv.gz"
KAGGLE_COLUMNS = ["image_id", "class_name", "class_id", "rad_id", "x_min", "y_min", "x_max"]
KAGGLE_COLUMNS += ["y_max"]


def _plan(settings: Settings, tmp_path: Path):
    return plan(settings, PlanContext(IDS, tmp_path / "generated"))


def _px(b: dict, width: int, height: int) -> tuple[float, ...]:
    return Box(b["x1"], b["y1"], b["x2"], b["y2"]).to_pixels(width, height)


def _close(a, b, tol: float = 1.0) -> bool:
    return len(a) == len(b) and max(abs(x - y) for x, y in zip(a, b, strict=True)) <= tol


# ---- the real Kaggle train file ----------------------------------------------------------


@pytest.mark.realdata
def test_real_kaggle_file_counts(realdata: Path, tmp_path: Path) -> None:
    root = realdata / "cxr" / "vindr_cxr"
    frame = pl.read_csv(root / REAL_CSV, infer_schema_length=0)  # every cell a string
    n_rows = frame.height
    images = set(frame["image_id"].to_list())
    readers = frame.group_by("image_id").agg(pl.col("rad_id").unique().sort())
    readers_of = {r["image_id"]: tuple(r["rad_id"]) for r in readers.iter_rows(named=True)}
    boxed = frame.filter(pl.col("x_min").is_not_null() & (pl.col("x_min") != ""))
    classes = set(frame["class_name"].to_list())
    assert len(images) == 15_000 and {len(r) for r in readers_of.values()} == {3}
    assert (n_rows, boxed.height, len(classes), frame["rad_id"].n_unique()) == (
        67_914,
        36_096,
        15,
        17,
    )  # PROVENANCE.md
    assert classes - set(VINDR_CXR_LABELS) == {"No finding"}

    settings = Settings(kind="vindr_cxr", root=root, train_csv=REAL_CSV)
    assert edition_of(settings) == "kaggle"
    got = _plan(settings, tmp_path)  # no image is there: each one a file_missing row
    assert got.items == [] and got.n_label_rows == n_rows
    assert Counter(q.reason for q in got.quarantine) == {"file_missing": len(images)}

    folder = tmp_path / "train"
    folder.mkdir()
    for image_id in images:
        (folder / f"{image_id}.dicom").touch()  # planning only lists files
    full = _plan(settings.model_copy(update={"train_images": str(folder)}), tmp_path)
    assert full.quarantine == [] and len(full.items) == len(images)
    assert {i.item_id: i.settings.readers for i in full.items} == readers_of
    assert sum(len(i.settings.reads) for i in full.items) == n_rows
    want = Counter(
        (
            r["image_id"],
            r["rad_id"],
            VINDR_CXR_LABELS[r["class_name"]],
            *(float(r[k]) for k in ("x_min", "y_min", "x_max", "y_max")),
        )
        for r in boxed.iter_rows(named=True)
    )
    have = Counter(
        (i.item_id, r.reader, r.label, *r.box_xyxy)
        for i in full.items
        for r in i.settings.reads
        if r.box_xyxy
    )
    assert have == want  # every box in source pixels, as in the file
    n_no_finding = frame.filter(pl.col("class_name") == "No finding").height
    assert sum(r.label is None for i in full.items for r in i.settings.reads) == n_no_finding
    assert {r.label for i in full.items for r in i.settings.reads if r.label} == set(
        CATEGORIES["kaggle"]
    )
    assert all(not i.exhaustive and i.licence == "VinBigData-CXR-Kaggle" for i in full.items)


# ---- fusion ------------------------------------------------------------------------------


def test_fusion_of_three_overlapping_reads_by_hand() -> None:
    """WBF: a fused corner is the confidence-weighted mean of its cluster's corners; every
    read scores 1.0, so it is the plain mean. Worked by hand on a 1000 x 800 image:
    x1 = (100 + 110 + 90) / 3 = 100, y1 = (200 + 190 + 210) / 3 = 200,
    x2 = (300 + 310 + 290) / 3 = 300, y2 = (400 + 420 + 410) / 3 = 410."""
    w, h = 1000, 800
    reads = [
        ("R1", Box.from_pixels(100, 200, 300, 400, w, h)),
        ("R2", Box.from_pixels(110, 190, 310, 420, w, h)),
        ("R3", Box.from_pixels(90, 210, 290, 410, w, h)),
        ("R1", Box.from_pixels(600, 600, 700, 700, w, h)),  # a lesion only R1 boxed
    ]
    first, second = fuse(reads, n_readers=3)
    tol = 1e-3  # ensemble_boxes computes in float32
    assert _close(first.box.to_pixels(w, h), (100, 200, 300, 410), tol)
    assert first.confidence == 1.0 and [r for r, _ in first.members] == ["R1", "R2", "R3"]
    assert _close(second.box.to_pixels(w, h), (600, 600, 700, 700), tol)
    assert second.confidence == pytest.approx(1 / 3) and [r for r, _ in second.members] == ["R1"]
    # two readers of three agree: 2/3; below FUSION_IOU the reads stay apart
    apart = Box.from_pixels(100, 200, 300, 400, w, h)
    shifted = Box.from_pixels(100, 290, 300, 490, w, h)
    assert apart.iou(shifted) < FUSION_IOU
    assert len(fuse([("R1", apart), ("R2", shifted)], 3)) == 2
    (pair,) = fuse([("R1", apart), ("R2", Box.from_pixels(110, 200, 310, 400, w, h))], 3)
    assert pair.confidence == pytest.approx(2 / 3)
    assert _close(pair.box.to_pixels(w, h), (105, 200, 305, 400), tol)


# ---- a Kaggle-layout build ---------------------------------------------------------------

W, H = 500, 400  # DICOM columns x rows
A, B, C = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "ffff0000"
KAGGLE_ROWS = [
    [A, "Nodule/Mass", "8", "R1", "50", "100", "150", "200"],
    [A, "Nodule/Mass", "8", "R2", "55", "95", "155", "210"],
    [A, "Nodule/Mass", "8", "R3", "45", "105", "145", "205"],
    [A, "Cardiomegaly", "3", "R2", "200", "250", "400", "350"],
    [A, "Aortic enlargement", "0", "R3", "450", "10", "600", "60"],  # past x = 500
    [A, "Tumour", "99", "R1", "10", "10", "20", "20"],  # no map covers it
    [B, "No finding", "14", "R4", "", "", "", ""],
    [B, "No finding", "14", "R5", "", "", "", ""],
    [B, "No finding", "14", "R6", "", "", "", ""],
    [C, "No finding", "14", "R1", "", "", "", ""],  # its DICOM is not there
]


def _dicom(path: Path, seed: int, shape: tuple[int, int] = (H, W)) -> None:
    pixels = (np.add.outer(np.arange(shape[0]), np.arange(shape[1])) * (7 + seed)) % 4096
    write_synthetic_dicom(path, pixels, uid_seed=path.name, **phi(seed))


def _records(out: Path) -> list[dict]:
    rows = []
    for split in ("train", "validation", "test"):
        if (out / "grounding" / split).is_dir():
            for row in load_records(str(out), "grounding", split):
                assert row["png"].size == (
                    row["json"]["image"]["width"],
                    row["json"]["image"]["height"],
                )
                rows.append(row["json"])
    return rows


def _build(tmp_path: Path, root: Path) -> tuple[Path, list[dict], list[dict]]:
    cfg = write_config(
        tmp_path / "build.yaml",
        [{"kind": "vindr_cxr", "root": str(root)}],
        privacy={"salt": SALT},
        image_max_side=250,  # published at half size: boxes are normalised, not pixels
        records={"sequences": False},
    )
    out = tmp_path / "out"
    report = run_build(load_config(cfg), out)
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    assert report.stats["flow"]["label_rows_read"] > 0
    return out, _records(out), quarantine


def test_kaggle_build_fuses_readers_and_keeps_their_boxes(tmp_path: Path) -> None:
    root = tmp_path / "vinbigdata"
    (root / "train").mkdir(parents=True)
    with (root / "train.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(KAGGLE_COLUMNS)
        w.writerows(KAGGLE_ROWS)
    _dicom(root / "train" / f"{A}.dicom", 1)
    _dicom(root / "train" / f"{B}.dicom", 2)
    out, records, quarantine = _build(tmp_path, root)

    assert sorted((q["reason"], q["row_number"] or 0, q["stage"]) for q in quarantine) == [
        ("box_out_of_bounds", 5, "findings"),
        ("file_missing", 0, "plan"),
        ("label_unmapped", 6, "plan"),
    ]
    by_reason = {q["reason"]: q for q in quarantine}
    assert "'Tumour'" in by_reason["label_unmapped"]["message"]
    assert "outside the 500x400 image" in by_reason["box_out_of_bounds"]["message"]
    assert by_reason["file_missing"]["source_ref"].endswith(f"{C}.dicom")

    sa, sb = IDS.study("vindr_cxr", A), IDS.study("vindr_cxr", B)
    on_a = [r for r in records if r["image"]["study_id"] == sa]
    on_b = [r for r in records if r["image"]["study_id"] == sb]
    assert on_a and on_b and {r["image"]["width"] for r in on_a} == {250}

    (nodule,) = [
        r for r in on_a if r["task"] == "phrase_grounding" and r["label"] == "nodule_or_mass"
    ]
    (fused,) = nodule["answer_boxes"]
    assert _close(_px(fused, W, H), ((50 + 55 + 45) / 3, 100, (150 + 155 + 145) / 3, 205))
    assert nodule["provenance"]["confidence"] == 1.0
    reads = {r["reader"]: _px(r, W, H) for r in nodule["provenance"]["readers"]}
    assert set(reads) == {"R1", "R2", "R3"}
    for row in KAGGLE_ROWS[:3]:  # each reader's own box back in DICOM pixels
        assert _close(reads[row[3]], tuple(float(v) for v in row[4:])), row

    (cardio,) = [
        r for r in on_a if r["task"] == "phrase_grounding" and r["label"] == "cardiomegaly"
    ]
    assert cardio["provenance"]["confidence"] == pytest.approx(1 / 3)  # one reader of three
    assert [r["reader"] for r in cardio["provenance"]["readers"]] == ["R2"]
    assert _close(_px(cardio["answer_boxes"][0], W, H), (200, 250, 400, 350))

    absent_a = {r["label"] for r in on_a if r["task"] == "presence" and not r["answer_boxes"]}
    assert "aortic_enlargement" not in absent_a  # a reader named it (its box was outside)
    assert absent_a == set(CATEGORIES["kaggle"]) - {
        "nodule_or_mass",
        "cardiomegaly",
        "aortic_enlargement",
    }
    absent_b = {r["label"] for r in on_b if r["task"] == "presence" and not r["answer_boxes"]}
    assert absent_b == set(CATEGORIES["kaggle"]) and len(absent_b) == 14  # "No finding" x 3
    assert all(r["provenance"]["readers"] == [] for r in on_b)
    assert not [r for r in records if r["task"] == "counting"]  # fused counts are not exact
    assert {r["provenance"]["licence"] for r in records} == {"VinBigData-CXR-Kaggle"}
    assert "VinDr-CXR: An open dataset" in (out / "LICENSES.md").read_text()


# ---- a PhysioNet-layout build ------------------------------------------------------------

GLOBAL = ["COPD", "Lung tumor", "Pneumonia", "Tuberculosis", "Other diseases", "No finding"]
LOCAL = ["Aortic enlargement", "Atelectasis", "Calcification", "Cardiomegaly"]
LOCAL += ["Clavicle fracture", "Consolidation", "Edema", "Emphysema", "Enlarged PA", "ILD"]
LOCAL += ["Infiltration", "Lung Opacity", "Lung cavity", "Lung cyst", "Mediastinal shift"]
LOCAL += ["Nodule/Mass", "Pleural effusion", "Pleural thickening", "Pneumothorax"]
LOCAL += ["Pulmonary fibrosis", "Rib fracture", "Other lesion"]
T1, S1 = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d", "1234abcd5678ef901234abcd5678ef90"


def _labels_row(image_id: str, reader: str | None, ticked: set[str]) -> list[str]:
    cells = [image_id] + ([reader] if reader else [])
    return cells + ["1" if c in ticked else "0" for c in (*LOCAL, *GLOBAL, "Hernia")]


def test_physionet_build_train_readers_and_test_consensus(tmp_path: Path) -> None:
    root = tmp_path / "vindr-cxr" / "1.0.0"
    ann = root / "annotations"
    ann.mkdir(parents=True)
    header = ["image_id", "rad_id", "class_name", "x_min", "y_min", "x_max", "y_max"]
    with (ann / "annotations_train.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerow([T1, "R8", "Lung cavity", "100", "120", "180", "200"])
        w.writerow([T1, "R9", "Lung cavity", "104", "118", "184", "196"])
        w.writerow([T1, "R10", "No finding", "", "", "", ""])
    with (ann / "annotations_test.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerow([S1, "R11", "Nodule/Mass", "20", "30", "60", "70"])
        w.writerow([S1, "R11", "Nodule/Mass", "300", "200", "340", "250"])
    labels_header = ["image_id", "rad_id", *LOCAL, *GLOBAL, "Hernia"]
    with (ann / "image_labels_train.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(labels_header)
        w.writerow(_labels_row(T1, "R8", {"Lung cavity", "Pneumonia"}))
        w.writerow(_labels_row(T1, "R9", {"Lung cavity"}))
        w.writerow(_labels_row(T1, "R10", {"No finding"}))
    with (ann / "image_labels_test.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(labels_header[:1] + labels_header[2:])  # the consensus: no reader column
        w.writerow(_labels_row(S1, None, {"Nodule/Mass", "Lung tumor"}))
    _dicom(root / "train" / f"{T1}.dicom", 3)
    _dicom(root / "test" / f"{S1}.dicom", 4)
    assert edition_of(Settings(kind="vindr_cxr", root=root)) == "physionet"

    out, records, quarantine = _build(tmp_path, root)
    assert sorted((q["reason"], q["row_number"]) for q in quarantine) == [
        ("label_unmapped", 0),  # the Hernia column, once per file
        ("label_unmapped", 0),
    ]
    assert all("'Hernia'" in q["message"] for q in quarantine)
    st, ss = IDS.study("vindr_cxr", T1), IDS.study("vindr_cxr", S1)
    on_t = [r for r in records if r["image"]["study_id"] == st]
    on_s = [r for r in records if r["image"]["study_id"] == ss]

    (cavity,) = [r for r in on_t if r["task"] == "phrase_grounding"]
    assert cavity["label"] == "lung_cavity"
    assert _close(_px(cavity["answer_boxes"][0], W, H), (102, 119, 182, 198))
    assert cavity["provenance"]["confidence"] == pytest.approx(2 / 3)  # R8, R9 of 3
    assert sorted(r["reader"] for r in cavity["provenance"]["readers"]) == ["R8", "R9"]
    presence_t = {r["label"]: r for r in on_t if r["task"] == "presence"}
    # a global label one reader of three ticked: an image-level finding (no box, so no
    # grounding record: records.grounding never invents one), its confidence the share
    findings = pq.read_table(out / "_build" / "tables" / "findings.parquet").to_pylist()
    (pneumonia,) = [f for f in findings if f["study_id"] == st and f["label"] == "pneumonia"]
    assert pneumonia["present"] and pneumonia["box"] is None
    assert pneumonia["confidence"] == pytest.approx(1 / 3) and "pneumonia" not in presence_t
    assert presence_t["tuberculosis"]["answer"].startswith("No")
    assert presence_t["rib_fracture"]["answer"].startswith("No")  # local, no reader marked
    assert len(CATEGORIES["physionet"]) == 22

    nodules = [r for r in on_s if r["task"] == "phrase_grounding"]
    (nodule,) = nodules
    got = sorted(_px(b, W, H) for b in nodule["answer_boxes"])
    assert _close(got[0], (20, 30, 60, 70)) and _close(got[1], (300, 200, 340, 250))
    assert nodule["provenance"]["confidence"] == 1.0 and nodule["provenance"]["readers"] == []
    (count,) = [r for r in on_s if r["task"] == "counting" and r["label"] == "nodule_or_mass"]
    assert len(count["answer_boxes"]) == 2  # a consensus: exact counts
    tumour = [f for f in findings if f["study_id"] == ss and f["label"] == "lung_tumor"]
    assert [(f["present"], f["confidence"]) for f in tumour] == [(True, 1.0)]
    presence_s = {r["label"]: r for r in on_s if r["task"] == "presence"}
    assert presence_s["copd"]["answer"].startswith("No")
    assert {r["provenance"]["licence"] for r in records} == {"VinDr-CXR-PhysioNet"}


# ---- settings ----------------------------------------------------------------------------


def test_kind_and_root_are_a_complete_config(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path / "b.yaml", [{"kind": "vindr_cxr", "root": "v"}]))
    (settings,) = cfg.sources
    assert (settings.train_csv, settings.annotations_train, settings.train_images) == (
        "train.csv",
        "annotations/annotations_train.csv",
        "train",
    )
    with pytest.raises(SourceError, match="neither the Kaggle train_csv"):
        edition_of(settings)
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "train.csv").write_text(",".join(KAGGLE_COLUMNS) + "\n")
    assert edition_of(settings) == "kaggle"
    source = source_for("vindr_cxr")
    assert "train.csv" in source.layout and "annotations_{train,test}.csv" in source.layout
    known = licences()
    assert "Credentialed Health Data" in known["VinDr-CXR-PhysioNet"].name
    assert "vinbigdata" in known["VinBigData-CXR-Kaggle"].link
    assert all("Nguyen HQ" in lic.citation and "2022" in lic.citation for lic in source.licences)


def test_malformed_rows(tmp_path: Path) -> None:
    rows = [
        ["", "Nodule/Mass", "8", "R1", "1", "2", "3", "4"],
        [A, "Nodule/Mass", "8", "R1", "30", "2", "3", "4"],  # inverted
        [A, "Nodule/Mass", "8", "R1", "1", "2", "x", "4"],
        [A, "No finding", "14", "R2", "1", "2", "3", "4"],
        [A, "Cardiomegaly", "3", "R2", "", "", "", ""],
        [A, "Cardiomegaly", "3", "R2", "1", "2", "30", "40"],
        [A, "Cardiomegaly", "3", "R2", "1", "2", "30", "40"],
    ]
    with (tmp_path / "train.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(KAGGLE_COLUMNS)
        w.writerows(rows)
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / f"{A}.dicom").touch()
    got = _plan(Settings(kind="vindr_cxr", root=tmp_path), tmp_path)
    assert sorted((q.reason, q.row_number) for q in got.quarantine) == [
        ("bad_csv_row", 1),
        ("bad_csv_row", 3),
        ("bad_csv_row", 4),
        ("bad_csv_row", 5),
        ("box_invalid", 2),
        ("duplicate_row", 7),
    ]
    (item,) = got.items
    assert [(r.row_number, r.reader, r.label) for r in item.settings.reads] == [
        (6, "R2", "cardiomegaly")
    ]
