"""MS-CXR (``sources.radiograph.ms_cxr``) on a fixture written from the published layout (no
public sample): the real column names, MIMIC-CXR-JPG folders and metadata CSV, JPEGs made
with PIL. Boxes are xywh pixels of the JPEG and come back in source pixels within 1 px; the
radiologist's phrase is quoted verbatim; MS-CXR's own split is kept and a subject on two
sides of it is set aside; each bad input is one quarantine row."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from engine.config import load_config
from engine.pipeline import run_build
from schemas.boxes import Box
from schemas.identity import Pseudonymizer
from sources.base import PlanContext
from sources.radiograph.csv_labels import SourceError
from sources.radiograph.ms_cxr import Settings, labels_file, plan
from sources.registry import licences, source_for
from tests.helpers import write_config

SALT = "ms-cxr-tests"
IDS = Pseudonymizer(SALT)
HEADER = "dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height,split"

# dicom_id -> (subject, study, (width, height) on disk)
IMAGES = {
    "a1b2c3d4-11111111-22222222-33333333-44444444": ("10000032", "50414267", (320, 256)),
    "b1b2c3d4-11111111-22222222-33333333-44444444": ("10000033", "50414268", (240, 300)),
    "c1b2c3d4-11111111-22222222-33333333-44444444": ("10000034", "50414269", (300, 300)),
    "d1b2c3d4-11111111-22222222-33333333-44444444": ("10000035", "50414270", (200, 200)),
    "e1b2c3d4-11111111-22222222-33333333-44444444": ("10000035", "50414271", (200, 200)),
    "f1b2c3d4-11111111-22222222-33333333-44444444": ("10000036", "50414272", (260, 200)),
}
MISSING = "99b2c3d4-11111111-22222222-33333333-44444444"
A, B, C, D, E, F = sorted(IMAGES)
PNEUMONIA = "Patchy opacities in the right lower lobe, concerning for pneumonia"
EFFUSION = "Small left pleural effusion"
HEART = "Enlarged cardiac silhouette"

# (dicom_id, category, phrase, x, y, w, h, stated width, stated height, split)
ROWS = [
    (A, "Pneumonia", PNEUMONIA, 180, 120, 60, 50, 320, 256, "train"),
    (A, "Pneumonia", PNEUMONIA, 200.5, 180, 40, 30.5, 320, 256, "train"),
    (A, "Pleural Effusion", EFFUSION, 20, 190, 70, 40, 320, 256, "train"),
    (B, "Cardiomegaly", HEART, 60, 140, 120, 100, 240, 300, "test"),
    (B, "Fibrosis", "Reticular markings at the bases", 10, 10, 20, 20, 240, 300, "test"),
    (C, "Edema", "Mild pulmonary edema", 30, 40, 200, 150, 300, 300, "val"),
    (C, "Edema", "Mild pulmonary edema", 250, 250, 80, 20, 300, 300, "val"),  # past the edge
    (D, "Atelectasis", "Bibasilar atelectasis", 10, 10, 50, 50, 200, 200, "train"),
    (E, "Atelectasis", "Bibasilar atelectasis", 10, 10, 50, 50, 200, 200, "test"),
    (F, "Pneumothorax", "Small right apical pneumothorax", 30, 10, 40, 30, 520, 400, "train"),
    (MISSING, "Consolidation", "Left lower lobe consolidation", 5, 5, 10, 10, 64, 64, "val"),
]


def _image_path(dicom_id: str, subject: str, study: str) -> str:
    return f"files/p{subject[:2]}/p{subject}/s{study}/{dicom_id}.jpg"


def _fixture(root: Path) -> Path:
    rng = np.random.default_rng(0)
    meta = [("dicom_id", "subject_id", "study_id", "ViewPosition", "Rows", "Columns")]
    for dicom_id, (subject, study, (w, h)) in IMAGES.items():
        path = root / _image_path(dicom_id, subject, study)
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = np.add.outer(np.arange(h), np.arange(w)) % 200 + rng.integers(0, 40, (h, w))
        Image.fromarray(pixels.astype(np.uint8)).save(path, format="JPEG", quality=95)
        meta.append((dicom_id, subject, study, "PA", str(h), str(w)))
    meta.append((MISSING, "10000099", "50414299", "AP", "64", "64"))
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(meta)
    (root / "mimic-cxr-2.0.0-metadata.csv.gz").write_bytes(gzip.compress(text.getvalue().encode()))
    subject_of = {d: v[:2] for d, v in IMAGES.items()} | {MISSING: ("10000099", "50414299")}
    lines = [HEADER]
    for dicom_id, cat, phrase, x, y, w, h, iw, ih, split in ROWS:
        path = _image_path(dicom_id, *subject_of[dicom_id])
        lines.append(f'{dicom_id},{cat},"{phrase}",{path},{x},{y},{w},{h},{iw},{ih},{split}')
    (root / "MS_CXR_Local_Alignment_v1.1.0.csv").write_text("\n".join(lines) + "\n")
    (root / "MS_CXR_Local_Alignment_v1.0.0.csv").write_text(HEADER + "\n")  # older, empty
    return root


def test_the_newest_label_file_is_read_unless_one_is_named(tmp_path: Path) -> None:
    root = _fixture(tmp_path / "ms-cxr")
    assert labels_file(Settings(kind="ms_cxr", root=root)).name.endswith("v1.1.0.csv")
    named = Settings(kind="ms_cxr", root=root, labels_csv="MS_CXR_Local_Alignment_v1.0.0.csv")
    assert plan(named, PlanContext(IDS, tmp_path)).items == []
    with pytest.raises(SourceError, match="set labels_csv"):
        labels_file(Settings(kind="ms_cxr", root=tmp_path))


def test_plan_keeps_the_split_and_reads_the_subject(tmp_path: Path) -> None:
    root = _fixture(tmp_path / "ms-cxr")
    out = plan(Settings(kind="ms_cxr", root=root), PlanContext(IDS, tmp_path))
    assert out.n_label_rows == len(ROWS)
    items = {i.item_id: i for i in out.items}
    assert set(items) == {A, B, C, F}
    assert {k: i.split for k, i in items.items()} == {
        A: "train",
        B: "test",
        C: "validation",
        F: "train",
    }
    assert items[A].patient_key == "10000032" and len(items[A].rows) == 3
    assert {r.phrase for r in items[A].rows} == {PNEUMONIA, EFFUSION}
    conflicts = [q for q in out.quarantine if q.reason == "split_conflict"]
    assert {q.item_id for q in conflicts} == {IDS.study("ms_cxr", D), IDS.study("ms_cxr", E)}
    assert all("test, train splits" in q.message for q in conflicts)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("mscxr")
    root = _fixture(tmp / "ms-cxr")
    cfg = write_config(
        tmp / "build.yaml", [{"kind": "ms_cxr", "root": str(root)}], privacy={"salt": SALT}
    )
    out = tmp / "out"
    run_build(load_config(cfg), out)
    return out


def test_xywh_pixel_boxes_come_back_within_1px(built) -> None:
    tables = built / "_build" / "tables"
    studies = {s["study_id"]: s for s in pq.read_table(tables / "studies.parquet").to_pylist()}
    findings = pq.read_table(tables / "findings.parquet").to_pylist()
    expected = [r for r in ROWS if r[0] in (A, B) and r[1] != "Fibrosis"] + [ROWS[5]]
    got = []
    for f in findings:
        study = studies[f["study_id"]]
        b = f["box"]
        x1, y1, x2, y2 = Box(b["x1"], b["y1"], b["x2"], b["y2"]).to_pixels(
            study["source_width"], study["source_height"]
        )
        got.append((f["study_id"], f["phrase"], x1, y1, x2, y2))
        assert f["language"] == "en"
    assert len(got) == len(expected)
    for dicom_id, _, phrase, x, y, w, h, *_ in expected:
        match = [
            g for g in got if g[:2] == (IDS.study("ms_cxr", dicom_id), phrase) and abs(g[2] - x) < 1
        ]
        assert len(match) == 1, (dicom_id, phrase, x)
        assert np.allclose(match[0][2:], (x, y, x + w, y + h), atol=1.0)
    assert {s["split"] for s in studies.values() if s["study_id"] == IDS.study("ms_cxr", C)} == {
        "validation"
    }


def test_records_quote_the_phrase_and_keep_the_split(built) -> None:
    records = pq.read_table(built / "_build" / "tables" / "records_grounding.parquet").to_pylist()
    assert records and all(r["provenance"]["language"] == "en" for r in records)
    pneumonia = [r for r in records if PNEUMONIA in r["question"]]
    assert len(pneumonia) == 1  # one record per phrase, with every box of it
    assert len(pneumonia[0]["answer_boxes"]) == 2 and pneumonia[0]["label"] == "pneumonia"
    assert pneumonia[0]["split"] == "train" and pneumonia[0]["task"] == "phrase_grounding"
    heart = [r for r in records if HEART in r["question"]]
    assert len(heart) == 1 and heart[0]["split"] == "test"
    assert {r["image"]["study_id"] for r in records} == {IDS.study("ms_cxr", d) for d in (A, B, C)}


def test_bad_inputs_are_one_quarantine_row_each(built) -> None:
    rows = pq.read_table(built / "_build" / "tables" / "quarantine.parquet").to_pylist()
    reasons = sorted(r["reason"] for r in rows)
    assert reasons == [
        "box_out_of_bounds",
        "file_missing",
        "image_size_mismatch",
        "label_unmapped",
        "split_conflict",
        "split_conflict",
    ]
    by = {r["reason"]: r for r in rows}
    assert "Fibrosis" in by["label_unmapped"]["message"] and by["label_unmapped"]["row_number"] == 5
    assert by["box_out_of_bounds"]["row_number"] == 7
    assert "260 x 200" in by["image_size_mismatch"]["message"]
    assert "520 x 400" in by["image_size_mismatch"]["message"]
    assert by["file_missing"]["item_id"] == IDS.study("ms_cxr", MISSING)


def test_registered() -> None:
    source = source_for("ms_cxr")
    assert "label_text" in source.layout and "image_width" in source.layout
    assert "Boecking" in licences()["MS-CXR"].citation
