"""Volume label names: a structure (liver, hippocampus) is anatomy and worded as one, a
lesion (tumour) is a finding and worded as one, in grounding and in sequence records; the
``label_kinds`` setting decides for a name; a case with both (liver + tumour) gives chains of
thought naming the liver as host, boxes from the masks. Fixture: a small MSD-Liver-like folder
(``dataset.json`` in the MSD spelling, labels liver and cancer as Task03_Liver names them),
written here."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pyarrow.parquet as pq
import pytest

from engine.config import load_config
from engine.pipeline import run_build
from sources.volume.files import label_names
from tests.helpers import write_config

# sequence templates (records/sequences/wording.yaml) that name what the target is ({kind})
KIND_TEMPLATES = {"mv-3", "ot-3", "co-2", "cm-2", "rf-2"}
SHAPE = (32, 32, 16)


def liver_case(shift: int) -> np.ndarray:
    """Label map: liver (1) a block, tumour (2) a smaller block inside it."""
    lab = np.zeros(SHAPE, np.uint8)
    lab[4 + shift : 24 + shift, 6:26, 2:14] = 1
    lab[8 + shift : 14 + shift, 10:17, 5:10] = 2
    return lab


def write_liver(root: Path, cases: int = 2) -> dict[str, np.ndarray]:
    """An MSD Task03_Liver-like folder: one CT channel, labels liver and tumour."""
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    rng = np.random.default_rng(3)
    labels = {}
    for k in range(cases):
        lab = liver_case(2 * k)
        ct = rng.normal(0, 20, SHAPE) + 60 * (lab == 1) + 120 * (lab == 2) - 60 * (lab == 0)
        affine = np.diag([1.0, 1.0, 1.0, 1.0])
        nib.save(
            nib.Nifti1Image(ct.astype(np.float32), affine), root / f"imagesTr/liver_{k}.nii.gz"
        )
        nib.save(nib.Nifti1Image(lab, affine), root / f"labelsTr/liver_{k}.nii.gz")
        labels[f"liver_{k}"] = lab
    (root / "dataset.json").write_text(
        json.dumps(
            {
                "modality": {"0": "CT"},
                "labels": {"0": "background", "1": "liver", "2": "cancer"},
                "training": [
                    {"image": f"./imagesTr/{c}.nii.gz", "label": f"./labelsTr/{c}.nii.gz"}
                    for c in labels
                ],
            }
        )
    )
    return labels


def _table(out: Path, name: str) -> list[dict]:
    path = out / "_build" / "tables" / f"{name}.parquet"
    return pq.read_table(path).to_pylist() if path.exists() else []


@pytest.fixture(scope="module")
def liver(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("liver")
    labels = write_liver(tmp / "Task03_Liver")
    cfg = write_config(
        tmp / "b.yaml", [{"kind": "nnunet", "name": "liver", "root": str(tmp / "Task03_Liver")}]
    )
    out = tmp / "out"
    run_build(load_config(cfg), out)
    return tmp / "Task03_Liver", labels, out


def assert_worded(records: list[dict], label: str, anatomy: bool) -> int:
    """Grounding records of ``label``: structure banks for anatomy, finding banks otherwise;
    returns how many were checked."""
    checked = 0
    for r in records:
        if r.get("label") != label:
            continue
        tid, q = r["template_id"], r["question"]
        if r["task"] == "referring":
            assert tid.startswith("ra-" if anatomy else "rf-"), r
            assert ("structure" in q) == anatomy, r
            checked += 1
        elif r["task"] == "presence":
            prefixes = ("pa-", "na-") if anatomy else ("py-", "pn-")
            assert tid.startswith(prefixes), r
            checked += 1
    return checked


def assert_sequence_kind(records: list[dict], label: str, word: str) -> int:
    """Sequence records about ``label`` worded with a {kind} template say ``word``."""
    checked = 0
    for r in records:
        labels = {b["label"] for b in r["answer_boxes"]}
        if labels != {label} or r["template_id"] not in KIND_TEMPLATES:
            continue
        other = "finding" if word == "structure" else "structure"
        assert word in r["question"] and other not in r["question"], r
        checked += 1
    return checked


def test_liver_is_a_structure_and_the_tumour_a_finding(liver) -> None:
    _, _, out = liver
    labels = {f["label"] for f in _table(out, "findings")}
    assert labels == {"anatomy:liver", "cancer"}  # "cancer": a lesion word, a finding
    grounding = _table(out, "records_grounding")
    assert assert_worded(grounding, "anatomy:liver", anatomy=True) > 0
    assert assert_worded(grounding, "cancer", anatomy=False) > 0
    assert not any("anatomy:" in r["question"] + r["answer"] for r in grounding)
    seq = _table(out, "records_sequence")
    assert not any("anatomy:" in r["question"] + r["answer"] for r in seq)
    assert assert_sequence_kind(seq, "anatomy:liver", "structure") > 0
    assert assert_sequence_kind(seq, "cancer", "finding") > 0


def test_label_kinds_decide_for_a_name() -> None:
    names = {1: "Cochlea", 2: "Tumor", 3: "liver", 4: "Left Kidney Cyst"}
    assert label_names(names) == (
        (1, "cochlea"),  # no anatomy word in the lists
        (2, "mass"),  # the vocabulary's finding
        (3, "anatomy:liver"),
        (4, "left_kidney_cyst"),  # a lesion word wins
    )
    kinds = {"Cochlea": "anatomy", "LIVER": "finding"}
    assert dict(label_names(names, kinds))[1] == "anatomy:cochlea"
    assert dict(label_names(names, kinds))[3] == "liver"


def test_chains_name_the_liver_as_host_with_boxes_from_the_masks(liver) -> None:
    """A case with a structure (liver) and a lesion (cancer): chains of thought on the
    published slices, the liver as host organ, organ and lesion boxes the boxes of the label
    file's masks on each slice, recomputed here with nibabel alone."""
    from schemas.identity import Pseudonymizer
    from tests.helpers import TEST_SALT
    from tests.sources.test_nnunet import expected_box, lps

    root, _, out = liver
    ids = Pseudonymizer(TEST_SALT)
    masks = {c: lps(root / f"labelsTr/{c}.nii.gz") for c in ("liver_0", "liver_1")}
    keys = {
        ids.study("liver", f"{case}#{plane}-{i}-CT"): (case, plane, i)
        for case in masks
        for plane, axis in (("axial", 2), ("coronal", 1), ("sagittal", 0))
        for i in range(SHAPE[axis])
    }
    studies = {s["study_id"]: s for s in _table(out, "studies")}
    cot = _table(out, "records_cot")
    assert cot
    lesion_slices = {
        f["study_id"] for f in _table(out, "findings") if f["label"] == "cancer" and f["present"]
    }
    assert {r["image"]["study_id"] for r in cot} == lesion_slices  # every lesion is in the liver
    assert {r["curriculum_level"] for r in cot} == {"easy", "medium", "hard"}
    assert len(cot) == 3 * len(lesion_slices)

    def close(box: dict, want, s: dict) -> bool:
        w, h = s["width"], s["height"]
        return all(
            abs(a - b) * n <= 1
            for a, b, n in zip(
                (box["x1"], box["y1"], box["x2"], box["y2"]),
                (want.x1, want.y1, want.x2, want.y2),
                (w, h, w, h),
                strict=True,
            )
        )

    checked = 0
    for r in cot:
        sid = r["image"]["study_id"]
        case, plane, index = keys[sid]
        organ = expected_box(masks[case] == 1, plane, index)
        lesion = expected_box(masks[case] == 2, plane, index)
        assert "liver" in r["answer"] and "cancer" in r["question"], r
        assert [b["label"] for b in r["answer_boxes"]] == ["cancer"]
        assert close(r["answer_boxes"][0], lesion, studies[sid])
        boxes = [b for step in r["steps"] for b in step["boxes"]] + r["question_boxes"]
        for b in boxes:
            want = organ if b["label"] == "anatomy:liver" else lesion
            assert b["label"] in ("anatomy:liver", "cancer") and close(b, want, studies[sid])
        if r["curriculum_level"] != "hard":
            assert any(b["label"] == "anatomy:liver" for b in boxes)
            assert "First, the liver" in r["steps"][0]["text"]
        checked += 1
    assert checked == len(cot)
