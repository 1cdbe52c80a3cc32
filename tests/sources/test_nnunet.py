"""nnU-Net / MSD folders and image + label-map pairs as grounding data: the real MSD
Hippocampus copy (nnU-Net layout without dataset.json, labels from the config) builds and
publishes every MedSG task; every box on its axial, coronal and sagittal slices is the box
of the label file's mask, recomputed here from the file with nibabel alone; NRRD pairs read
the same way; both dataset.json spellings plan; each bad input is one quarantine row."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import nibabel as nib
import numpy as np
import pyarrow.parquet as pq
import pytest

from engine.config import load_config
from engine.pipeline import run_build
from exports.write import export_release
from schemas.identity import Pseudonymizer
from schemas.records import Box
from tests.helpers import TEST_SALT, write_config

HIPPO = {1: "anterior hippocampus", 2: "posterior hippocampus"}
TASKS = {
    "multi_view",
    "object_tracking",
    "concept",
    "patch",
    "crossmodal",
    "referring",
    "Registered_Diff",
    "Non_Registered_Diff",
}


def lps(path: Path) -> np.ndarray:
    """A label file as an (L, P, S) array, by nibabel's own reorientation."""
    img = nib.as_closest_canonical(nib.load(str(path)))  # R->... as (R, A, S): flip x and y
    return np.asarray(img.dataobj)[::-1, ::-1, :]


def expected_box(mask: np.ndarray, plane: str, index: int) -> Box | None:
    """The mask's box on one slice image of a 1 mm isotropic volume (no zoom)."""
    if plane == "axial":
        shown = mask[:, :, index].T  # rows anterior first, cols patient right first
    elif plane == "coronal":
        shown = mask[:, index, :].T[::-1]  # rows head first
    else:
        shown = mask[index, :, :].T[::-1]  # rows head first, cols anterior first
    if not shown.any():
        return None
    rows, cols = np.flatnonzero(shown.any(axis=1)), np.flatnonzero(shown.any(axis=0))
    h, w = shown.shape
    return Box(cols[0] / w, rows[0] / h, (cols[-1] + 1) / w, (rows[-1] + 1) / h)


@pytest.fixture(scope="module")
def hippo(realdata: Path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hippo")
    cfg = write_config(
        tmp / "build.yaml",
        [
            {
                "kind": "nnunet",
                "name": "msd_hippocampus",
                "root": str(realdata / "mri/msd_hippocampus"),
                "modality": "mri",
                "labels": HIPPO,
            }
        ],
    )
    out = tmp / "out"
    report = run_build(load_config(cfg), out)
    return realdata / "mri/msd_hippocampus", out, report


def _table(out: Path, name: str) -> list[dict]:
    return pq.read_table(out / "_build" / "tables" / f"{name}.parquet").to_pylist()


def _slice_keys(root: Path) -> dict[str, tuple[str, str, int]]:
    """study id -> (case, plane, index) for every slice a case could publish."""
    ids = Pseudonymizer(TEST_SALT)
    out = {}
    for f in sorted((root / "labelsTr").iterdir()):
        case = f.name.removesuffix(".nii.gz")
        shape = nib.load(str(f)).shape
        for plane, axis in (("axial", 2), ("coronal", 1), ("sagittal", 0)):
            for i in range(shape[axis]):
                out[ids.study("msd_hippocampus", f"{case}#{plane}-{i}-mri")] = (case, plane, i)
    return out


def test_every_box_is_the_label_files_mask(hippo) -> None:
    root, out, report = hippo
    assert report.stats["flow"]["items_read"] == 11  # every case on disk
    assert _table(out, "quarantine") == []
    keys = _slice_keys(root)
    masks = {f.name.removesuffix(".nii.gz"): lps(f) for f in sorted((root / "labelsTr").iterdir())}
    studies = {s["study_id"]: s for s in _table(out, "studies")}
    views = {s["view"] for s in studies.values()}
    assert {"axial", "coronal", "sagittal"} <= views
    assert {s["modality"] for s in studies.values()} == {"MR"}
    checked = absent = 0
    # structures: anatomy labels (schemas.vocab.label_of)
    value = {"anatomy:anterior_hippocampus": 1, "anatomy:posterior_hippocampus": 2}
    for f in _table(out, "findings"):
        case, plane, index = keys[f["study_id"]]
        want = expected_box(masks[case] == value[f["label"]], plane, index)
        if not f["present"]:
            assert want is None
            absent += 1
            continue
        got = f["box"]
        s = studies[f["study_id"]]
        for a, b, n in zip(
            (got["x1"], got["y1"], got["x2"], got["y2"]),
            (want.x1, want.y1, want.x2, want.y2),
            (s["width"], s["height"], s["width"], s["height"]),
            strict=True,
        ):
            assert abs(a - b) * n <= 1.0
        checked += 1
    assert checked >= 11 * 2 * 3 and absent > 0
    # sequence answers too: each answer box is the mask's box on its image
    for r in _table(out, "records_sequence"):
        for b in r["answer_boxes"]:
            sid = r["images"][b["image_index"]]["study_id"]
            if sid not in keys or b["label"] not in value:  # edits and crops: tested elsewhere
                continue
            case, plane, index = keys[sid]
            want = expected_box(masks[case] == value[b["label"]], plane, index)
            assert want is not None
            s = studies[sid]
            assert (
                abs(b["x1"] - want.x1) * s["width"] <= 1
                and abs(b["y2"] - want.y2) * s["height"] <= 1
            )


def test_all_medsg_tasks_and_the_exports(hippo, tmp_path: Path) -> None:
    _, out, _ = hippo
    seq = _table(out, "records_sequence")
    by_task = {t: sum(r["task"] == t for r in seq) for t in TASKS}
    assert all(n > 0 for t, n in by_task.items() if t != "crossmodal"), by_task
    grounding = _table(out, "records_grounding")
    assert {r["task"] for r in grounding} >= {"phrase_grounding", "presence", "counting"}
    assert any(r["task"] == "presence" and "No" in r["answer"] for r in grounding)
    for fmt in ("medsg", "sharegpt"):
        export_release(out, tmp_path / fmt, fmt)
        items = [
            i
            for f in sorted((tmp_path / fmt).glob(f"{fmt}_*.json"))
            for i in json.loads(f.read_text())
        ]
        text = json.dumps(items)
        assert len(items) > 100
        if fmt == "medsg":
            tasks = {i.get("task") or i.get("task_type") for i in items}
            assert tasks & TASKS
    rows = [
        row
        for split in ("train", "validation", "test")
        for config in ("grounding", "sequence_2img", "sequence_3img")
        if (out / config / split).is_dir()
        for row in datasets.load_dataset(str(out), config, split=split)
    ]
    assert {r["json"]["family"] for r in rows} == {"grounding", "sequence"}
    assert text


def test_crossmodal_between_channels_and_bad_inputs(tmp_path: Path) -> None:
    """A nnU-Net v2 folder (two channels, dataset.json in v2 spelling) and an MSD one (json
    naming an absent file): crossmodal between the channels; each bad case is one row."""
    rng = np.random.default_rng(0)
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    v2 = tmp_path / "Dataset001_Test"
    (v2 / "imagesTr").mkdir(parents=True)
    (v2 / "labelsTr").mkdir()
    lab = np.zeros((24, 24, 12), np.uint8)
    lab[4:10, 5:12, 2:9] = 1
    lab[14:20, 12:18, 3:10] = 2

    def save(arr, path):
        nib.save(nib.Nifti1Image(arr, affine), str(path))

    for case, labels in {
        "good": lab,
        "small": lab[:20],
        "unknown": np.where(lab == 2, 3, lab).astype(np.uint8),
        "empty": np.zeros_like(lab),
    }.items():
        for c in range(2):
            save(
                rng.normal(100 + 50 * c, 10, lab.shape).astype(np.float32),
                v2 / "imagesTr" / f"{case}_{c:04d}.nii.gz",
            )
        save(labels, v2 / "labelsTr" / f"{case}.nii.gz")
    (v2 / "dataset.json").write_text(
        json.dumps(
            {
                "channel_names": {"0": "T1", "1": "FLAIR"},
                "labels": {"background": 0, "Tumor": 1, "Edema": 2},
                "numTraining": 4,
                "file_ending": ".nii.gz",
            }
        )
    )
    msd = tmp_path / "Task01"
    (msd / "imagesTr").mkdir(parents=True)
    (msd / "labelsTr").mkdir()
    four_d = np.stack([rng.normal(100, 10, lab.shape), rng.normal(300, 10, lab.shape)], -1)
    save(four_d.astype(np.float32), msd / "imagesTr" / "case_1.nii.gz")
    save(lab, msd / "labelsTr" / "case_1.nii.gz")
    (msd / "dataset.json").write_text(
        json.dumps(
            {
                "modality": {"0": "FLAIR", "1": "T1w"},
                "labels": {"0": "background", "1": "edema", "2": "enhancing tumour"},
                "training": [
                    {"image": "./imagesTr/case_1.nii.gz", "label": "./labelsTr/case_1.nii.gz"},
                    {"image": "./imagesTr/case_2.nii.gz", "label": "./labelsTr/case_2.nii.gz"},
                ],
            }
        )
    )
    cfg = write_config(
        tmp_path / "b.yaml",
        [
            {"kind": "nnunet", "name": "v2", "root": str(v2)},
            {"kind": "nnunet", "name": "msd", "root": str(msd)},
        ],
    )
    out = tmp_path / "out"
    report = run_build(load_config(cfg), out)
    ids = Pseudonymizer(TEST_SALT)
    rows = {(q["source_dataset"], q["item_id"]): q for q in _table(out, "quarantine")}
    expected = {
        ("v2", "small"): "mask_mismatch",
        ("v2", "unknown"): "mask_value_unknown",
        ("v2", "empty"): "mask_empty",
        ("msd", "case_2"): "file_missing",
    }
    for (ds, case), reason in expected.items():
        row = rows[(ds, ids.study(ds, case))]
        assert row["reason"] == reason and row["message"], row
    assert len(rows) == len(expected)
    assert report.stats["flow"]["items_read"] == 2
    seq = _table(out, "records_sequence")
    cross = [r for r in seq if r["task"] == "crossmodal"]
    assert {r["images"][0]["modality"] for r in cross} == {"MR"}
    words = " ".join(r["question"] for r in cross)
    assert "FLAIR" in words and ("T1" in words or "T1w" in words)
    for r in cross:  # one grid: the same box on both channels
        q, a = r["question_boxes"][0], r["answer_boxes"][0]
        assert (q["x1"], q["y1"], q["x2"], q["y2"]) == (a["x1"], a["y1"], a["x2"], a["y2"])
    labels = {f["label"] for f in _table(out, "findings")}
    assert {"mass", "edema", "enhancing_tumour"} <= labels  # "Tumor" maps to the vocab's mass


def test_nrrd_pairs(realdata: Path, tmp_path: Path) -> None:
    import SimpleITK as sitk

    root = realdata / "mri/pyradiomics_nrrd"
    cfg = write_config(
        tmp_path / "b.yaml",
        [
            {
                "kind": "volume_masks",
                "name": "pyradiomics",
                "root": str(root),
                "labels": {1: "lesion"},
                "modality": "mri",
                "licence": "BSD-3-Clause",
            }
        ],
    )
    out = tmp_path / "out"
    report = run_build(load_config(cfg), out)
    assert report.stats["flow"]["items_read"] == 3  # brain1, brain2, breast1
    axial = [s for s in _table(out, "studies") if s["view"] == "axial"]
    ids = Pseudonymizer(TEST_SALT)
    found = 0
    for case in ("brain1", "brain2", "breast1"):
        arr = sitk.GetArrayFromImage(sitk.ReadImage(str(root / f"{case}_label.nrrd")))  # z,y,x
        direction = sitk.ReadImage(str(root / f"{case}_label.nrrd")).GetDirection()
        zs = np.flatnonzero(arr.any(axis=(1, 2)))
        for z in zs:
            sid = ids.study("pyradiomics", f"{case}#axial-{z}-mri")
            study = next((s for s in axial if s["study_id"] == sid), None)
            if study is None:
                continue
            plane = arr[z] > 0  # rows y, cols x in LPS index order
            if direction[4] < 0:  # y axis runs posterior->anterior: flip to anterior first
                plane = plane[::-1]
            rows, cols = np.flatnonzero(plane.any(1)), np.flatnonzero(plane.any(0))
            f = next(f for f in _table(out, "findings") if f["study_id"] == sid and f["present"])
            h, w = plane.shape
            assert abs(f["box"]["x1"] - cols[0] / w) * study["width"] <= 1
            assert abs(f["box"]["y1"] - rows[0] / h) * study["height"] <= 1
            assert abs(f["box"]["y2"] - (rows[-1] + 1) / h) * study["height"] <= 1
            found += 1
    assert found >= 3


def test_mha_pairs_an_oblique_volume_and_a_missing_label(tmp_path: Path) -> None:
    """MetaImage pairs by pattern: a good one (its box checked), an oblique one
    (``volume_geometry``) and an image without its label map (``file_missing``)."""
    import SimpleITK as sitk

    labels = np.zeros((10, 20, 30), np.uint8)  # SimpleITK arrays are (z, y, x)
    labels[2:8, 5:11, 4:19] = 1
    image = np.random.default_rng(1).normal(50, 5, labels.shape).astype(np.float32)

    def write(arr, path, direction=None):
        img = sitk.GetImageFromArray(arr)
        img.SetSpacing((1.0, 1.0, 2.0))
        if direction is not None:
            img.SetDirection(direction)
        sitk.WriteImage(img, str(path))

    write(image, tmp_path / "good.mha")
    write(labels, tmp_path / "good_seg.mha")
    c, s = np.cos(np.radians(20)), np.sin(np.radians(20))
    tilted = (c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0)
    write(image, tmp_path / "tilted.mha", tilted)
    write(labels, tmp_path / "tilted_seg.mha", tilted)
    write(image, tmp_path / "alone.mha")
    cfg = write_config(
        tmp_path / "b.yaml",
        [
            {
                "kind": "volume_masks",
                "name": "mha",
                "root": str(tmp_path),
                "images": "{id}.mha",
                "masks": "{id}_seg.mha",
                "labels": {1: "Nodule"},
                "modality": "ct",
                "licence": "CC0-1.0",
            }
        ],
    )
    out = tmp_path / "out"
    run_build(load_config(cfg), out)
    ids = Pseudonymizer(TEST_SALT)
    q = {r["item_id"]: r["reason"] for r in _table(out, "quarantine")}
    # label maps also match "{id}.mha", but a file of the masks pattern is never an image
    assert q == {
        ids.study("mha", "tilted"): "volume_geometry",
        ids.study("mha", "alone"): "file_missing",
    }
    # LPS identity direction: x -> patient left, y -> posterior, as the canonical axes
    sid = ids.study("mha", "good#axial-4-ct")
    f = next(f for f in _table(out, "findings") if f["study_id"] == sid)
    assert f["label"] == "nodule" and f["present"]  # "Nodule" is the vocabulary's nodule
    b = f["box"]
    assert (round(b["x1"] * 30), round(b["x2"] * 30)) == (4, 19)
    assert (round(b["y1"] * 20), round(b["y2"] * 20)) == (5, 11)
    studies = {s["study_id"]: s for s in _table(out, "studies")}
    assert studies[sid]["modality"] == "CT"


def test_hippocampus_is_worded_as_a_structure(hippo) -> None:
    """Both hippocampus labels are anatomy: structure wording in grounding (referring,
    presence) and in the sequence templates that say what the target is."""
    from tests.sources.test_volume_wording import assert_sequence_kind, assert_worded

    _, out, _ = hippo
    grounding, seq = _table(out, "records_grounding"), _table(out, "records_sequence")
    for label in ("anatomy:anterior_hippocampus", "anatomy:posterior_hippocampus"):
        assert assert_worded(grounding, label, anatomy=True) > 0
    checked = sum(
        assert_sequence_kind(seq, label, "structure")
        for label in ("anatomy:anterior_hippocampus", "anatomy:posterior_hippocampus")
    )
    assert checked > 0
    assert not any("anatomy:" in r["question"] + r["answer"] for r in grounding + seq)
