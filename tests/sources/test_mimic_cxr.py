"""MIMIC-CXR reports with MIMIC-CXR-JPG images (``sources.radiograph.mimic_cxr``): no public
sample, so the layout is written here (metadata CSV, sectioned reports, JPGs, and a Chest
ImaGenome scene graph for one image). A whole build: presence and negation records on each
study's frontal image, report findings grounded on the ImaGenome regions (original-pixel
boxes), report sentences de-identified, and one quarantine row per unusable study."""

from __future__ import annotations

import gzip
import json
import shutil
import tarfile
from pathlib import Path

import pyarrow.parquet as pq

from engine.config import load_config
from engine.pipeline import run_build
from schemas.boxes import Box
from schemas.identity import Pseudonymizer
from sources.base import PlanContext
from sources.radiograph.mimic_cxr import Settings, plan
from sources.registry import licences, source_for
from tests.helpers import record_shards, write_config
from tests.sources.mimic_fixtures import (
    mimic_image,
    mimic_report,
    scene_object,
    write_metadata,
    write_scene_graph,
)

SALT = "mimic-tests"
SIZE = (200, 160)
REPORT = """                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)

 INDICATION:  ___F with cough  // ?pneumonia

 COMPARISON:  None.

 FINDINGS:

 A small left pleural effusion was discussed with Dr. John Smith on 03/04/2150.
 Left lower lobe opacity is seen, concerning for pneumonia.  No pneumothorax.

 IMPRESSION:

 Small left pleural effusion.
"""
BOXES = {
    "left lower lung zone": (110.4, 90.2, 180.7, 150.1),
    "left lung": (105.0, 10.0, 190.0, 152.0),
    "right lung": (10.0, 12.5, 95.0, 150.0),
}


def _meta(dicom, subject, study, view, date="21500101", time="101500"):
    return {
        "dicom_id": dicom,
        "subject_id": subject,
        "study_id": study,
        "ViewPosition": view,
        "Rows": SIZE[1],
        "Columns": SIZE[0],
        "StudyDate": date,
        "StudyTime": time,
    }


def mimic_root(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "mimic-cxr-jpg"
    write_metadata(
        root / "mimic-cxr-2.0.0-metadata.csv",
        [
            _meta("dcm-lat", "10000032", "50000001", "LATERAL"),
            _meta("dcm-pa", "10000032", "50000001", "PA"),
            _meta("dcm-ap", "10000032", "50000002", "AP", date="21500301"),  # no report
            _meta("dcm-ll", "10000040", "50000003", "LL"),  # no frontal image
            _meta("dcm-gone", "10000050", "50000004", "PA"),  # JPG missing
        ],
    )
    mimic_report(root, "10000032", "50000001", REPORT)
    mimic_report(root, "10000040", "50000003", "FINDINGS: No effusion.")
    mimic_report(root, "10000050", "50000004", "FINDINGS: No effusion.")
    for n, dicom in enumerate(["dcm-lat", "dcm-pa"]):
        mimic_image(root, "10000032", "50000001", dicom, SIZE, seed=n)
    mimic_image(root, "10000032", "50000002", "dcm-ap", SIZE, seed=3)
    mimic_image(root, "10000040", "50000003", "dcm-ll", SIZE, seed=4)
    imagenome = tmp_path / "chest-imagenome"
    write_scene_graph(
        imagenome / "silver_dataset" / "scene_graph",
        "dcm-pa",
        "10000032",
        "50000001",
        [scene_object(name, box, SIZE) for name, box in BOXES.items()],
        [],
    )
    return root, imagenome


def _records(out: Path) -> list[dict]:
    records = []
    for tar_path in record_shards(out):
        if "_build" not in tar_path.parts:
            with tarfile.open(tar_path) as tar:
                for m in tar.getmembers():
                    if m.name.endswith(".json"):
                        records.append(json.loads(tar.extractfile(m).read()))
    return records


def test_build_presence_grounding_and_deid(tmp_path: Path) -> None:
    root, imagenome = mimic_root(tmp_path)
    cfg = write_config(
        tmp_path / "build.yaml",
        [{"kind": "mimic_cxr", "root": str(root), "imagenome_root": str(imagenome)}],
        privacy={"salt": SALT},
        records={"sequences": False},
    )
    out = tmp_path / "out"
    run_build(load_config(cfg), out)
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    assert sorted((q["reason"], q["row_number"]) for q in quarantine) == [
        ("file_missing", 5),
        ("no_frontal_view", 4),
        ("report_missing", 3),
    ]
    records = _records(out)
    frontal = Pseudonymizer(SALT).study("mimic_cxr", "dcm-pa")
    assert {r["image"]["study_id"] for r in records} == {frontal}
    presence = sorted((r["label"], r["answer"][:2]) for r in records if r["task"] == "presence")
    # "concerning for pneumonia" is uncertain: no record
    assert presence == [("opacity", "Ye"), ("pleural_effusion", "Ye"), ("pneumothorax", "No")]
    grounded = {r["label"]: r for r in records if r["task"] == "phrase_grounding"}
    assert set(grounded) == {"pleural_effusion", "opacity"}
    for label in grounded:
        (b,) = grounded[label]["answer_boxes"]
        got = Box(b["x1"], b["y1"], b["x2"], b["y2"]).to_pixels(*SIZE)
        want = BOXES["left lower lung zone"]
        assert max(abs(g - e) for g, e in zip(got, want, strict=True)) <= 1.0
    text = json.dumps(records)
    assert "Smith" not in text and "03/04/2150" not in text  # de-identified
    assert "Dr. [name] on [date]" in grounded["pleural_effusion"]["question"]
    extractors = {r["provenance"]["extractor"] for r in records}
    assert extractors == {"extractors.reports", "extractors.reports+sources.mimic_cxr"}


def test_gzipped_metadata_and_no_imagenome(tmp_path: Path) -> None:
    root, _ = mimic_root(tmp_path)
    plain = root / "mimic-cxr-2.0.0-metadata.csv"
    with plain.open("rb") as src, gzip.open(plain.with_name(plain.name + ".gz"), "wb") as dst:
        shutil.copyfileobj(src, dst)
    plain.unlink()
    got = plan(Settings(kind="mimic_cxr", root=root), PlanContext(Pseudonymizer("x"), tmp_path))
    assert got.n_label_rows == 4  # studies
    (item,) = got.items
    assert item.item_id == "dcm-pa" and item.settings.frontal_rule == "ViewPosition PA"
    assert [f.role for f in item.inputs] == ["report"]
    assert len(got.quarantine) == 3 and "1 image(s) besides" in got.notes[0]


def test_declared_licence_and_layout() -> None:
    lic = licences()["MIMIC-CXR"]
    assert "Johnson AEW" in lic.citation and "Sci Data 2019" in lic.citation
    assert "Credentialed" in lic.name
    assert "ViewPosition" in source_for("mimic_cxr").layout
