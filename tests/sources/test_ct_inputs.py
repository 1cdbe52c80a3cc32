"""Reading CT inputs: DICOM series (sorted, rescaled to HU, compressed) and NIfTI, and every
kind of bad input as a clear error naming the file: tilted / non-axial series, missing
slices, a mask whose shape or affine does not match, an empty mask, a one-slice CT, no masks
and no TotalSegmentator weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from extractors.ct.totalseg import MasksUnavailable, TotalSegSettings, missing_weights, segment
from extractors.volume import read_ct
from schemas.enums import Reason
from schemas.errors import ItemError
from sources.ct.masks import load_masks
from sources.ct.synthetic import make_phantom, write_dicom_series, write_nifti

SHAPE, SPACING = (48, 40, 24), (8.0, 8.0, 12.0)


@pytest.fixture(scope="module")
def phantom():
    return make_phantom(SHAPE, SPACING, seed=1, finding=None)


def reason_of(fn, *args) -> tuple[str, str]:
    with pytest.raises(ItemError) as info:
        fn(*args)
    return info.value.reason, info.value.message


def test_dicom_series_equals_the_volume(tmp_path: Path, phantom) -> None:
    folder = write_dicom_series(tmp_path / "series", phantom.hu, SPACING)
    # a stray non-DICOM file and shuffled names do not matter
    (folder / "notes.txt").write_text("not dicom")
    for i, f in enumerate(sorted(folder.glob("*.dcm"), reverse=True)):
        f.rename(folder / f"x{i:03d}.dcm")
    ct = read_ct(folder)
    # DICOM arrays are (rows: anterior -> posterior, columns: right -> left, slices)
    assert ct.kind == "dicom" and ct.source_axcodes == ("P", "L", "S")
    assert ct.shape == SHAPE
    assert np.allclose(ct.spacing, SPACING)
    assert np.array_equal(ct.data, phantom.hu)


@pytest.mark.parametrize("syntax", ["RLELossless", "JPEG2000Lossless"])
def test_compressed_dicom_series(tmp_path: Path, phantom, syntax: str) -> None:
    folder = write_dicom_series(
        tmp_path / syntax, phantom.hu[:, :, :4], SPACING, transfer_syntax=syntax
    )
    import pydicom

    ds = pydicom.dcmread(next(folder.glob("*.dcm")))
    assert ds.file_meta.TransferSyntaxUID.is_compressed
    ct = read_ct(folder)
    assert np.array_equal(ct.data, phantom.hu[:, :, :4])


def test_nifti_and_dicom_give_the_same_volume(tmp_path: Path, phantom) -> None:
    nifti = read_ct(write_nifti(tmp_path / "ct.nii.gz", phantom.hu, phantom.affine))
    dicom = read_ct(write_dicom_series(tmp_path / "s", phantom.hu, SPACING))
    assert np.array_equal(nifti.data, dicom.data)
    assert np.allclose(nifti.spacing, dicom.spacing)


@pytest.mark.parametrize(
    ("kwargs", "reason", "words"),
    [
        ({"tilt_deg": 12.0}, Reason.CT_GEOMETRY, "tilted"),
        ({"gantry_shift_mm": 2.0}, Reason.CT_GEOMETRY, "gantry tilt"),
        ({"orientation": "coronal"}, Reason.CT_GEOMETRY, "non-axial"),
        ({"skip_slices": (9, 10)}, Reason.CT_SLICE_GAP, "missing slices"),
    ],
)
def test_bad_dicom_series(tmp_path: Path, phantom, kwargs, reason, words) -> None:
    folder = write_dicom_series(tmp_path / "bad", phantom.hu, SPACING, **kwargs)
    got, message = reason_of(read_ct, folder)
    assert got == reason and words in message and "bad" in message, message


def test_one_slice_ct(tmp_path: Path, phantom) -> None:
    folder = write_dicom_series(tmp_path / "one", phantom.hu[:, :, 10:11], SPACING)
    assert reason_of(read_ct, folder)[0] == Reason.CT_TOO_FEW_SLICES
    nifti = write_nifti(tmp_path / "one.nii.gz", phantom.hu[:, :, 10:11], phantom.affine)
    reason, message = reason_of(read_ct, nifti)
    assert reason == Reason.CT_TOO_FEW_SLICES and "one.nii.gz" in message


def test_duplicate_slices_and_empty_folder(tmp_path: Path, phantom) -> None:
    folder = write_dicom_series(tmp_path / "dup", phantom.hu[:, :, :5], SPACING)
    shutil.copy(folder / "slice0002.dcm", folder / "copy.dcm")
    reason, message = reason_of(read_ct, folder)
    assert reason == Reason.CT_SLICE_GAP and "same position" in message
    (tmp_path / "empty").mkdir()
    assert reason_of(read_ct, tmp_path / "empty")[0] == Reason.CT_READ_ERROR


def test_oblique_nifti(tmp_path: Path, phantom) -> None:
    t = np.radians(10)
    rot = np.array(
        [[np.cos(t), -np.sin(t), 0, 0], [np.sin(t), np.cos(t), 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    )
    path = write_nifti(tmp_path / "oblique.nii.gz", phantom.hu, rot @ phantom.affine)
    reason, message = reason_of(read_ct, path)
    assert reason == Reason.CT_GEOMETRY and "tilted 10.0 degrees" in message


def test_corrupt_nifti(tmp_path: Path) -> None:
    (tmp_path / "cut.nii.gz").write_bytes(b"\x1f\x8b not really")
    reason, message = reason_of(read_ct, tmp_path / "cut.nii.gz")
    assert reason == Reason.CT_READ_ERROR and "cut.nii.gz" in message


def test_masks_must_match_the_ct(tmp_path: Path, phantom) -> None:
    ct = read_ct(write_nifti(tmp_path / "ct.nii.gz", phantom.hu, phantom.affine))
    short = write_nifti(tmp_path / "short.nii.gz", phantom.labels[:, :, :-2], phantom.affine)
    reason, message = reason_of(load_masks, short, ct)
    assert reason == Reason.MASK_MISMATCH and "short.nii.gz" in message and "shape" in message
    moved = phantom.affine.copy()
    moved[0, 3] += 5.0
    shifted = write_nifti(tmp_path / "shifted.nii.gz", phantom.labels, moved)
    reason, message = reason_of(load_masks, shifted, ct)
    assert reason == Reason.MASK_MISMATCH and "affine" in message and "shifted.nii.gz" in message


def test_empty_masks(tmp_path: Path, phantom) -> None:
    ct = read_ct(write_nifti(tmp_path / "ct.nii.gz", phantom.hu, phantom.affine))
    zeros = np.zeros(phantom.labels.shape, np.uint8)
    reason, message = reason_of(
        load_masks, write_nifti(tmp_path / "seg.nii.gz", zeros, phantom.affine), ct
    )
    assert reason == Reason.MASK_EMPTY and "seg.nii.gz" in message
    one = write_nifti(tmp_path / "heart.nii.gz", zeros, phantom.affine)  # one class, empty
    assert reason_of(load_masks, one, ct)[0] == Reason.MASK_EMPTY
    folder = tmp_path / "masks"
    for name in ("liver", "heart"):
        write_nifti(folder / f"{name}.nii.gz", zeros, phantom.affine)
    assert reason_of(load_masks, folder, ct)[0] == Reason.MASK_EMPTY
    # one empty class among others is normal (an organ out of the field of view)
    write_nifti(folder / "spleen.nii.gz", (phantom.labels == 1).astype(np.uint8), phantom.affine)
    masks = load_masks(folder, ct)
    assert set(masks.masks) == {"spleen"} and set(masks.empty) == {"heart", "liver"}


def test_no_masks_and_no_weights_names_both_fixes(tmp_path: Path, phantom, monkeypatch) -> None:
    monkeypatch.delenv("TOTALSEG_WEIGHTS_PATH", raising=False)
    ct = read_ct(write_nifti(tmp_path / "ct.nii.gz", phantom.hu, phantom.affine))
    with pytest.raises(MasksUnavailable) as info:
        segment(ct, TotalSegSettings(), "ct.nii.gz")
    message = str(info.value)
    assert "--masks" in message and "weights" in message and "--totalseg-weights" in message
    assert "Dataset291_TotalSegmentator_part1_organs_1559subj" in message
    # a weights folder without the model's checkpoints is named as such
    (tmp_path / "w" / "Dataset297_TotalSegmentator_total_3mm_1559subj").mkdir(parents=True)
    folder = tmp_path / "w" / "Dataset297_TotalSegmentator_total_3mm_1559subj"
    missing = missing_weights(TotalSegSettings(tmp_path / "w", fast=True))
    assert missing == [f"{folder} holds no checkpoint_final.pth"]
    monkeypatch.setenv("TOTALSEG_WEIGHTS_PATH", str(tmp_path / "w"))
    assert TotalSegSettings(fast=True).resolved_weights_dir() == tmp_path / "w"


def test_weights_on_disk_reach_the_real_totalsegmentator(tmp_path: Path, phantom) -> None:
    """With a checkpoint in place, the real TotalSegmentator API runs (and here fails on the
    placeholder weights: its own error comes back, named)."""
    fold = (
        tmp_path
        / "w"
        / "Dataset297_TotalSegmentator_total_3mm_1559subj"
        / "nnUNetTrainer_4000epochs_NoMirroring__nnUNetPlans__3d_fullres"
        / "fold_0"
    )
    fold.mkdir(parents=True)
    (fold / "checkpoint_final.pth").write_bytes(b"")
    ct = read_ct(write_nifti(tmp_path / "ct.nii.gz", phantom.hu, phantom.affine))
    settings = TotalSegSettings(tmp_path / "w", fast=True, home_dir=tmp_path / "home")
    with pytest.raises(MasksUnavailable) as info:
        segment(ct, settings, "ct.nii.gz")
    assert "TotalSegmentator failed on ct.nii.gz" in str(info.value)
    assert "dataset.json" in str(info.value)  # nnU-Net looked for the model's files there
    import json

    config = json.loads((tmp_path / "home" / "config.json").read_text())
    assert config["send_usage_stats"] is False


def test_cases_csv(tmp_path: Path) -> None:
    from schemas.identity import Pseudonymizer
    from sources.ct.projection import CaseSettings, plan_cases, read_cases_csv
    from sources.radiograph.csv_labels import SourceError

    (tmp_path / "a.nii.gz").write_bytes(b"x")
    csv_path = tmp_path / "cases.csv"
    csv_path.write_text(
        "case_id,patient_id,ct,masks,report\n"
        "c1,p1,a.nii.gz,,\n"
        "c2,p1,,,\n"  # no CT: a bad row
        "c1,p2,a.nii.gz,,\n"  # the same case twice
        "c3,p3,a.nii.gz,gone.nii.gz,\n"  # masks named but missing
    )
    cases, plan = read_cases_csv(csv_path, tmp_path, "ds")
    assert [c.case_id for c in cases] == ["c1", "c3"] and plan.n_label_rows == 4
    assert [(q.reason, q.row_number) for q in plan.quarantine] == [
        ("bad_csv_row", 2),
        ("duplicate_image_id", 3),
    ]
    items = plan_cases(
        cases, dataset="ds", licence="CC0-1.0", settings=CaseSettings(), ids=Pseudonymizer("s")
    )
    assert [i.item_id for i in items.items] == ["c1"]
    assert [(q.reason, q.source_ref) for q in items.quarantine] == [
        ("file_missing", str(tmp_path / "gone.nii.gz"))
    ]
    csv_path.write_text("id,ct\nc1,a.nii.gz\n")
    with pytest.raises(SourceError, match="missing column"):
        read_cases_csv(csv_path, tmp_path, "ds")
