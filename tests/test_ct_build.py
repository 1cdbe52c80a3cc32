"""CT cases through the whole build: projected radiographs and their records published as
shards that ``datasets.load_dataset`` reads (grounding and CoT); each kind of bad CT input
ends as one quarantine row with its reason while the rest is published; no DICOM header
value reaches any output byte."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from engine.config import load_config
from engine.pipeline import run_build
from schemas.identity import Pseudonymizer
from shards.load_release import load_records
from shards.manifest import verify
from sources.ct.synthetic import make_phantom, write_case, write_dicom_series, write_nifti
from tests.helpers import write_config

SALT = "ct-build-tests"
SHAPE, SPACING = (48, 40, 30), (8.0, 8.0, 10.0)
PHI = {
    "patient_name": "ZZCTMADEUP^OPHELIA",
    "patient_id": "MRN-CT-55501-SECRET",
    "birth_date": "19310807",
    "study_date": "20221130",
    "institution": "Quokka Island Imaging",
    "accession": "ACCCT9921",
}


def _cases(root: Path) -> dict[str, dict]:
    """A good NIfTI case, a good DICOM case with identifying headers, and one case per bad
    input; returns case id -> {ct, masks}."""
    ph = make_phantom(SHAPE, SPACING, seed=3, finding="nodule")
    write_case(root / "good", ph)
    other = make_phantom(SHAPE, SPACING, seed=4, finding="atelectasis")
    write_dicom_series(
        root / "dicom", other.hu, SPACING, header=PHI, uid_seed="phi", affine=other.affine
    )
    write_nifti(root / "dicom_masks.nii.gz", other.labels, other.affine)
    write_dicom_series(root / "tilted", ph.hu, SPACING, tilt_deg=15)
    write_dicom_series(root / "gap", ph.hu, SPACING, skip_slices=(12,))
    write_nifti(root / "one.nii.gz", ph.hu[:, :, 5:6], ph.affine)
    write_nifti(root / "short_masks.nii.gz", ph.labels[:, :, 2:], ph.affine)
    write_nifti(root / "empty_masks.nii.gz", np.zeros_like(ph.labels), ph.affine)
    return {
        "good": {"ct": "good/ct.nii.gz", "masks": "good/masks.nii.gz", "report": "good/report.txt"},
        "dicom": {"ct": "dicom", "masks": "dicom_masks.nii.gz"},
        "tilted": {"ct": "tilted", "masks": "good/masks.nii.gz"},
        "gap": {"ct": "gap", "masks": "good/masks.nii.gz"},
        "one_slice": {"ct": "one.nii.gz", "masks": "good/masks.nii.gz"},
        "mismatch": {"ct": "good/ct.nii.gz", "masks": "short_masks.nii.gz"},
        "empty": {"ct": "good/ct.nii.gz", "masks": "empty_masks.nii.gz"},
        "no_masks": {"ct": "good/ct.nii.gz"},
        "missing": {"ct": "nowhere.nii.gz", "masks": "good/masks.nii.gz"},
    }


EXPECTED = {
    "tilted": "ct_geometry",
    "gap": "ct_slice_gap",
    "one_slice": "ct_too_few_slices",
    "mismatch": "mask_mismatch",
    "empty": "mask_empty",
    "no_masks": "masks_unavailable",
    "missing": "file_missing",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("ctcases")
    cases = _cases(root)
    cfg = write_config(
        root / "build.yaml",
        [
            {
                "kind": "ct_projection",
                "name": "ct_cases",
                "root": str(root),
                "licence": "CC0-1.0",
                "cases": [{"id": k, **v} for k, v in cases.items()],
            },
            {"kind": "synthetic_ct", "n_cases": 2, "shape": list(SHAPE), "spacing": list(SPACING)},
        ],
        privacy={"salt": SALT},
    )
    out = root / "out"
    report = run_build(load_config(cfg), out)
    return report, out, cases


def test_bad_inputs_are_quarantined_and_the_rest_published(built) -> None:
    report, out, cases = built
    ids = Pseudonymizer(SALT)
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    by_item = {q["item_id"]: q for q in quarantine if q["source_dataset"] == "ct_cases"}
    for case, reason in EXPECTED.items():
        row = by_item[ids.study("ct_cases", case)]
        assert row["reason"] == reason, (case, row)
        assert row["unit"] == "item" and row["message"]
    studies = pq.read_table(out / "_build" / "tables" / "studies.parquet").to_pylist()
    published = {(s["source_dataset"], s["view"]) for s in studies}
    assert ("ct_cases", "frontal") in published and ("synthetic_ct", "lateral") in published
    flow = report.stats["flow"]
    assert flow["items_planned"] + 1 == len(cases) + 2  # "missing" is set aside at plan
    assert flow["items_read"] == 2 + 2  # good, dicom, two synthetic cases
    # nothing lost: every case is published or quarantined
    case_studies = {s["study_id"] for s in studies if s["source_dataset"] == "ct_cases"}
    for case in cases:
        sid = ids.study("ct_cases", case)
        assert (sid in case_studies) != (sid in by_item), case
    assert flow["records_published"] == flow["records_valid"] == flow["records_built"]
    projections = {s["study_id"] for s in studies if s["modality"] == "DRR"} & case_studies
    assert {s["view"] for s in studies if s["study_id"] in projections} == {"frontal", "lateral"}
    assert len(projections) == 2 * 2  # good and dicom, two views each (plus CT slices)


def test_shards_load_with_datasets(built) -> None:
    _, out, _ = built
    assert verify(out) == []
    rows = [
        row
        for split in ("train", "validation", "test")
        for config in ("grounding", "cot")
        if (out / config / split).is_dir()
        for row in load_records(str(out), config, split)
    ]
    cot = [r for r in rows if r["json"]["family"] == "cot"]
    assert cot, "a chain of thought from the report of a projected CT"
    for r in cot:
        assert [s["kind"] for s in r["json"]["steps"]] == ["locate", "conclude"]
        assert r["json"]["image"]["modality"] == "DRR" and r["json"]["image"]["view"] == "frontal"
        assert r["png"].size == (r["json"]["image"]["width"], r["json"]["image"]["height"])
    grounding = [r for r in rows if r["json"]["family"] == "grounding"]
    nodule = [r for r in grounding if r["json"]["label"] == "nodule"]
    assert {r["json"]["image"]["view"] for r in nodule} == {"frontal", "lateral"}
    assert all(r["json"]["answer_boxes"][0]["label"] == "right lower lobe" for r in nodule)
    lungs = [r for r in grounding if r["json"]["label"] == "anatomy:right_lung"]
    assert len(lungs) >= 2 * 3  # both views of the good case and of both synthetic cases
    for r in lungs:
        b = r["json"]["answer_boxes"][0]
        if r["json"]["image"]["view"] == "frontal":  # patient's right: the image's left half
            assert (b["x1"] + b["x2"]) / 2 < 0.5


def test_dicom_headers_never_reach_the_output(built) -> None:
    _, out, _ = built
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 20
    secrets = [v for v in PHI.values()] + ["1931-08-07", "2022-11-30"]
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, (secret, path)
    for table in (out / "_build" / "tables").glob("*.parquet"):
        text = str(pq.read_table(table).to_pylist())
        assert not [s for s in secrets if s in text], table


def test_totalsegmentator_settings_reach_the_case(tmp_path: Path) -> None:
    """A source's totalsegmentator.weights_dir (relative to the config file) is what the
    case without masks looks in; without weights there the case is quarantined, naming the
    folder and both ways to fix it."""
    ph = make_phantom(SHAPE, SPACING, seed=5, finding=None)
    write_nifti(tmp_path / "ct.nii.gz", ph.hu, ph.affine)
    cfg = write_config(
        tmp_path / "build.yaml",
        [
            {
                "kind": "ct_projection",
                "root": ".",
                "licence": "CC0-1.0",
                "cases": [{"id": "c1", "ct": "ct.nii.gz"}],
                "totalsegmentator": {"weights_dir": "weights", "fast": True},
            }
        ],
        privacy={"salt": SALT},
    )
    loaded = load_config(cfg)
    assert loaded.sources[0].totalsegmentator.weights_dir == tmp_path / "weights"
    run_build(loaded, tmp_path / "out")
    rows = pq.read_table(tmp_path / "out" / "_build" / "tables" / "quarantine.parquet").to_pylist()
    assert [r["reason"] for r in rows] == ["masks_unavailable"]
    message = rows[0]["message"]
    assert str(tmp_path / "weights" / "Dataset297_TotalSegmentator_total_3mm_1559subj") in message
    assert "--masks" in message and "weights_dir" in message
