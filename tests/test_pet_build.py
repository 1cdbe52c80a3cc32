"""PET/CT exams through the whole build: records published as grounding and CoT shards that
``datasets.load_dataset`` reads, boxes that land on the inserted lesions, every report
mention accounted for (a lesion label or a quarantine row with its reason), bad exams set
aside with theirs, and no identifying header value or report date in any output byte."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import datasets
import nibabel as nib
import numpy as np
import pyarrow.parquet as pq
import pytest

from engine.config import load_config
from engine.pipeline import run_build
from extractors.pet.render import axial_box, coronal_box
from extractors.volume import to_canonical
from schemas.boxes import Box
from shards.load_release import load_records
from shards.manifest import verify
from sources.pet.synthetic import TRUTH
from tests.helpers import write_config
from tests.pet_helpers import PET_SECRETS, blob_volume, write_series

SALT = "pet-build-tests"


def _load(out: Path, config: str, split: str) -> datasets.Dataset:
    """load_dataset with a cache of this release's own: datasets keys its cache by the
    folder's name, so two releases both called "out" would share one."""
    return load_records(str(out), config, split, cache_dir=str(out.parent / "hf"))


def _build(tmp_path: Path, sources: list[dict]) -> tuple[dict, list[dict], Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg = write_config(tmp_path / "build.yaml", sources, privacy={"salt": SALT})
    out = tmp_path / "out"
    report = run_build(load_config(cfg), out)
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    assert verify(out) == []
    return report.stats, quarantine, out


@pytest.fixture(scope="module")
def synthetic_build(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("pet")
    return _build(tmp, [{"kind": "synthetic_pet", "n_exams": 2, "n_lesions": 4, "seed": 3}])


def test_every_mention_is_a_label_or_a_quarantine_row(synthetic_build) -> None:
    stats, quarantine, out = synthetic_build
    corpus = out / "_build" / "generated" / "synthetic_pet"
    truths = [json.loads(p.read_text()) for p in sorted(corpus.rglob(TRUTH))]
    expected = Counter(m["expected_reason"] for t in truths for m in t["mentions"])
    got = Counter(q["reason"] for q in quarantine if q["unit"] == "mention")
    assert got == Counter({k: v for k, v in expected.items() if k is not None})
    findings = pq.read_table(out / "_build" / "tables" / "findings.parquet").to_pylist()
    assert len(findings) == 2 * expected[None]  # each label: its axial and its MIP box
    assert stats["flow"]["items_read"] == 2 and stats["flow"]["records_published"] > 0
    assert stats["flow"]["records_published"] == stats["flow"]["records_built"]


def test_records_load_and_boxes_land_on_the_inserted_lesions(synthetic_build) -> None:
    _, _, out = synthetic_build
    corpus = out / "_build" / "generated" / "synthetic_pet"
    truth: dict[str, list[Box]] = {"axial": [], "coronal_mip": []}
    for t in sorted(corpus.rglob(TRUTH)):
        seg_img = nib.load(t.parent / "SEG.nii.gz")
        seg = to_canonical(np.asarray(seg_img.dataobj), seg_img.affine).data
        for les in json.loads(t.read_text())["lesions"]:
            mask = seg == les["lesion_id"]
            truth["coronal_mip"].append(coronal_box(mask, (0, 0, 0), seg.shape))
            for z in np.nonzero(mask.any(axis=(0, 1)))[0]:
                truth["axial"].append(axial_box(mask, (0, 0, 0), int(z), seg.shape))
    checked = 0
    for split in ("train", "validation", "test"):
        if not (out / "grounding" / split).is_dir():
            continue
        for row in _load(out, "grounding", split):
            rec = row["json"]
            assert row["png"].size == (rec["image"]["width"], rec["image"]["height"])
            assert rec["provenance"]["extractor"] == "extractors.pet"
            for b in rec["answer_boxes"]:  # every box sits on an inserted lesion
                box = Box(b["x1"], b["y1"], b["x2"], b["y2"])
                assert max(box.iou(t) for t in truth[rec["image"]["view"]]) > 0.3, rec["question"]
                checked += 1
    assert checked >= 16
    cot = [row["json"] for row in _load(out, "cot", "train")]
    by_level = {
        level: [r for r in cot if r["curriculum_level"] == level]
        for level in ("easy", "medium", "hard")
    }
    assert len(by_level["easy"]) == len(by_level["medium"]) == len(by_level["hard"]) > 0
    for r in by_level["medium"]:
        steps = [s["kind"] for s in r["steps"]]
        assert steps[0] == "locate" and steps[-1] == "conclude" and "measure" in steps
        assert "compare" in steps and r["question_boxes"] == []  # the liver reference
        assert r["image"]["view"] == "coronal_mip"
    assert all(r["question_boxes"] for r in by_level["easy"])
    assert all([s["kind"] for s in r["steps"]] == ["conclude"] for r in by_level["hard"])


def _autopet_exam(folder: Path, report: str | None, *, ct_shape_off: bool = False) -> None:
    volume = blob_volume(shape=(48, 48, 40), spots=[(34, 24, 20, 3, 7.0)])
    folder.mkdir(parents=True)
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    nib.save(nib.Nifti1Image(volume.suv, affine), folder / "SUV.nii.gz")
    ct = np.where(volume.suv > 0, 40, -1000).astype(np.int16)
    nib.save(
        nib.Nifti1Image(ct[:, :, :-1] if ct_shape_off else ct, affine), folder / "CTres.nii.gz"
    )
    if report is not None:
        (folder / "report.txt").write_text(report)


def test_bad_exams_are_set_aside_and_the_rest_published(tmp_path: Path) -> None:
    root = tmp_path / "autopet"
    good = "Right adrenal mass SUV max 7.0 (image 21). Left node SUV max 4.4 on image 400."
    _autopet_exam(root / "P1" / "s1", good)
    _autopet_exam(root / "P2" / "s1", None)  # no report
    _autopet_exam(root / "P3" / "s1", "No abnormal FDG uptake.")  # a report with no numbers
    _autopet_exam(root / "P4" / "s1", good, ct_shape_off=True)  # CT and PET grids disagree
    stats, quarantine, _ = _build(
        tmp_path, [{"kind": "autopet_nifti", "root": str(root), "organ_masks": None}]
    )
    reasons = sorted((q["stage"], q["reason"], q["unit"]) for q in quarantine)
    assert reasons == [
        ("findings", "mention_slice_outside", "mention"),  # P1: image 400 of 40 slices
        ("findings", "no_suv_mention", "item"),  # P3
        ("plan", "report_missing", "item"),  # P2
        ("read", "grid_mismatch", "item"),  # P4
    ]
    grid = next(q for q in quarantine if q["reason"] == "grid_mismatch")
    assert "CTres.nii.gz" in grid["message"] and grid["source_ref"].endswith("P4/s1")
    assert stats["flow"]["items_read"] == 1 and stats["flow"]["records_published"] >= 4


def _dicom_exam(folder: Path, report: str, header=None) -> None:
    volume = blob_volume(shape=(64, 64, 40), spots=[(20, 30, 30, 3, 8.0), (44, 34, 12, 2, 4.0)])
    write_series(folder / "PET", volume.suv, modality="PT", header=header)
    (folder / "report.txt").write_text(report)


def test_dicom_exams_and_privacy(tmp_path: Path) -> None:
    root = tmp_path / "dicom"
    report = (
        "Compared with the PET/CT of 11/09/2023 read by Dr. Zanzibar Quokka (MRN 90210777), the "
        "right lung mass now measures SUV max 8.0 (image 11), previously 6.5. "
        "Left adrenal nodule SUVmax 4.0 (image 29)."
    )
    _dicom_exam(root / "exam_a", report)
    _dicom_exam(root / "exam_b", report, header={"PatientWeight": None})
    stats, quarantine, out = _build(tmp_path, [{"kind": "pet_dicom", "root": str(root)}])
    assert [q["reason"] for q in quarantine if q["unit"] == "item"] == ["suv_missing_tag"]
    assert "PatientWeight (0010,1030)" in next(
        q["message"] for q in quarantine if q["unit"] == "item"
    )
    assert [q["reason"] for q in quarantine if q["unit"] == "mention"] == ["mention_prior"]
    assert stats["flow"]["items_read"] == 1
    secrets = [
        *PET_SECRETS.values(),
        "20240102",
        "2024-01-02",
        "11/09/2023",
        "Zanzibar",
        "Quokka",
        "90210777",
    ]
    for path in (p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, (secret, path)
    for table in (out / "_build" / "tables").glob("*.parquet"):
        text = str(pq.read_table(table).to_pylist())
        assert not [s for s in secrets if s in text], table
    questions = [row["json"]["question"] for row in _load(out, "grounding", _split(out))]
    assert any("[date]" in q and "[name]" in q for q in questions)


def _split(out: Path) -> str:
    return next(s for s in ("train", "validation", "test") if (out / "grounding" / s).is_dir())


def test_same_inputs_same_release(tmp_path: Path) -> None:
    sources = [{"kind": "synthetic_pet", "n_exams": 1, "n_lesions": 3, "seed": 9}]
    first = _build(tmp_path / "a", sources)[2]
    second = _build(tmp_path / "b", sources)[2]
    assert (first / "manifest.json").read_text() == (second / "manifest.json").read_text()
    shutil.rmtree(first)


def test_pet_source_configs_are_validated(tmp_path: Path) -> None:
    from engine.config import ConfigError

    cfg = write_config(
        tmp_path / "bad.yaml", [{"kind": "autopet_nifti", "root": str(tmp_path), "slice_base": 2}]
    )
    with pytest.raises(ConfigError, match=r"sources\.0\.autopet_nifti\.slice_base"):
        load_config(cfg)
    cfg = write_config(tmp_path / "ok.yaml", [{"kind": "pet_dicom", "root": "exams"}])
    (source,) = load_config(cfg).sources
    assert source.dataset == "pet_dicom" and source.root == tmp_path / "exams"
    assert source.report_name == "report.txt"


def test_chains_switch_leaves_out_pet_chains_of_thought(tmp_path: Path) -> None:
    sources = [{"kind": "synthetic_pet", "n_exams": 1, "n_lesions": 3, "seed": 4}]
    cfg = write_config(
        tmp_path / "c.yaml", sources, privacy={"salt": SALT}, records={"chains": False}
    )
    report = run_build(load_config(cfg), tmp_path / "out")
    assert "cot" not in report.configs and report.configs["grounding"]
