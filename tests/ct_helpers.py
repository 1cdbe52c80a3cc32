"""CT test helpers: NIfTI files of a volume stored in another orientation, the anatomical
facts the projections must show, and a small phantom case on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sources.ct.synthetic import Phantom, make_phantom, write_case, write_nifti


def reoriented(data: np.ndarray, affine: np.ndarray, flips=(), perm=(0, 1, 2)):
    """The same image stored another way: array axes flipped and/or permuted, with the
    affine that keeps every voxel at its place in the world."""
    data = np.asarray(data)
    affine = np.asarray(affine, dtype=np.float64).copy()
    for axis in flips:
        n = data.shape[axis]
        data = np.flip(data, axis)
        affine[:3, 3] = affine[:3, 3] + affine[:3, axis] * (n - 1)
        affine[:3, axis] = -affine[:3, axis]
    data = np.transpose(data, perm)
    new = affine.copy()
    new[:3, :3] = affine[:3, list(perm)]
    return np.ascontiguousarray(data), new


def write_reoriented(src: Path, dst: Path, flips=(), perm=(0, 1, 2)) -> Path:
    import nibabel as nib

    img = nib.load(str(src))
    data, affine = reoriented(np.asanyarray(img.dataobj), img.affine, flips, perm)
    return write_nifti(dst, data, affine)


def centre(box) -> tuple[float, float]:
    x1, y1, x2, y2 = box
    return ((x1 + x2) / 2.0, (y1 + y2) / 2.0)


def chest_facts(boxes: dict, frontal_width: int) -> dict[str, bool]:
    """The anatomical facts of issue 4 that the structures present allow to check."""
    f, lat = boxes["frontal"], boxes["lateral"]
    facts: dict[str, bool] = {}

    def c(view, sid):
        return centre(view[sid]["box"])

    if {"right_lung", "left_lung"} <= f.keys():
        facts["right lung left of left lung (frontal)"] = (
            c(f, "right_lung")[0] < c(f, "left_lung")[0]
        )
    if {"liver", "right_lung"} <= f.keys():
        facts["liver below right lung"] = c(f, "liver")[1] > c(f, "right_lung")[1]
        facts["liver on the image's left half"] = c(f, "liver")[0] < frontal_width / 2
    if {"trachea", "heart"} <= f.keys():
        facts["trachea above heart"] = c(f, "trachea")[1] < c(f, "heart")[1]
    if {"clavicles", "lungs"} <= f.keys():
        facts["clavicles above lungs"] = c(f, "clavicles")[1] < c(f, "lungs")[1]
    if {"spine", "heart"} <= lat.keys():
        facts["spine posterior to heart (lateral)"] = c(lat, "spine")[0] > c(lat, "heart")[0]
    return facts


ALL_FACTS = {
    "right lung left of left lung (frontal)",
    "liver below right lung",
    "liver on the image's left half",
    "trachea above heart",
    "clavicles above lungs",
    "spine posterior to heart (lateral)",
}


def phantom_case(
    folder: Path, finding: str | None = "pleural_effusion", **kw
) -> tuple[Phantom, dict]:
    phantom = make_phantom(finding=finding, **kw)
    return phantom, write_case(folder, phantom)
