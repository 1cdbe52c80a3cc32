"""``medsg project-ct`` writes the radiographs, anatomy.json, one mask per structure and
view, and a preview; bad input gives a clear message and exit code 2. ``medsg bench`` runs
(its timings are printed, never asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.ct_helpers import chest_facts, phantom_case
from tests.test_cli import medsg


def test_project_ct_writes_every_output(tmp_path: Path) -> None:
    phantom_case(tmp_path / "case")
    run = medsg(
        "project-ct",
        "--ct",
        "case/ct.nii.gz",
        "--masks",
        "case/masks.nii.gz",
        "--report",
        "case/report.txt",
        "--out",
        "out",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    out = tmp_path / "out"
    anatomy = json.loads((out / "anatomy.json").read_text())
    assert set(anatomy) == {"frontal", "lateral"}
    frontal = Image.open(out / "frontal.png")
    assert frontal.mode == "L"
    assert all(chest_facts(anatomy, frontal.width).values())
    for view, per_view in anatomy.items():
        image = Image.open(out / f"{view}.png")
        for sid, entry in per_view.items():
            assert set(entry) == {"box", "area"}
            mask = np.asarray(Image.open(out / "masks" / view / f"{sid}.png")) > 0
            assert mask.shape == (image.height, image.width)
            rows, cols = np.nonzero(mask)
            assert entry["box"] == [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]
            assert entry["area"] == int(mask.sum())
    assert Image.open(out / "preview.png").mode == "RGB"
    meta = json.loads((out / "meta.json").read_text())
    assert meta["input_orientation"] == "LPS" and meta["taxonomy_version"]
    findings = json.loads((out / "findings.json").read_text())
    effusion = [f for f in findings if f["finding"] == "pleural_effusion"]
    assert effusion and effusion[0]["anatomy"] == "left_lung_base"
    assert effusion[0]["boxes"]["frontal"] == anatomy["frontal"]["left_lung_base"]["box"]


def test_project_ct_without_masks_or_weights(tmp_path: Path) -> None:
    phantom_case(tmp_path / "case")
    run = medsg("project-ct", "--ct", "case/ct.nii.gz", "--out", "out", cwd=tmp_path)
    assert run.returncode == 2
    assert "masks_unavailable" in run.stderr and "--masks" in run.stderr
    assert "--totalseg-weights" in run.stderr and "Traceback" not in run.stderr


def test_project_ct_bad_mask(tmp_path: Path) -> None:
    from sources.ct.synthetic import write_nifti

    phantom, _ = phantom_case(tmp_path / "case")
    write_nifti(tmp_path / "short.nii.gz", phantom.labels[:, :, 3:], phantom.affine)
    run = medsg(
        "project-ct",
        "--ct",
        "case/ct.nii.gz",
        "--masks",
        "short.nii.gz",
        "--out",
        "o",
        cwd=tmp_path,
    )
    assert run.returncode == 2 and "mask_mismatch" in run.stderr and "short.nii.gz" in run.stderr


def test_bench_projection_runs(tmp_path: Path) -> None:
    run = medsg(
        "bench",
        "projection",
        "--shape",
        "64",
        "64",
        "40",
        "--spacing",
        "6",
        "6",
        "8",
        "--repeats",
        "1",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "projection of both views" in run.stdout and "class masks" in run.stdout
