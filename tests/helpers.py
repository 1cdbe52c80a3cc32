"""Small builders shared by tests: configs on disk, NIH/RSNA-format mini datasets."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import yaml

from shards.writer import IMAGES_CONFIG
from sources.imaging import encode_png
from sources.radiograph.synthetic_cxr import write_synthetic_dicom

TEST_SALT = "medsg-public-demo-salt"  # the old default: test pseudonyms stay as they were


def write_config(path: Path, sources: list[dict], **extra) -> Path:
    data = {
        "name": "test-build",
        "version": "0.0.1",
        "sources": sources,
        "chunk_size": 4,
        "privacy": {"salt": TEST_SALT},
        **extra,
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def gradient_png(path: Path, size: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    pixels = np.add.outer(np.arange(size), np.arange(size)) * 2 + rng.integers(0, 9, (size, size))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_png((pixels % 256).astype(np.uint8)))
    return path


def nih_dataset(
    root: Path,
    rows: list[tuple[str, str, float, float, float, float]],
    images: list[str],
    size: int = 64,
) -> Path:
    """An NIH-format folder: BBox_List_2017.csv with rows, and PNGs for ``images``."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / "BBox_List_2017.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["Image Index", "Finding Label", "Bbox [x", "y", "w", "h]"])
        w.writerows([[r[0], r[1], *r[2:]] for r in rows])
    for i, name in enumerate(images):
        gradient_png(root / "images" / name, size, seed=i)
    return root


def rsna_dataset(
    root: Path, rows: list[list[str]], patients: dict[str, dict], size: int = 64
) -> Path:
    """An RSNA-format folder: labels.csv with rows, and a DICOM per patient with the given
    identifying headers (keys of write_synthetic_dicom)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / "labels.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["patientId", "x", "y", "width", "height", "Target"])
        w.writerows(rows)
    for i, (pid, header) in enumerate(patients.items()):
        pixels = (np.add.outer(np.arange(size), np.arange(size)) * (37 + i)) % 4096
        write_synthetic_dicom(root / "images" / f"{pid}.dcm", pixels, uid_seed=pid, **header)
    return root


def phi(i: int) -> dict:
    return {
        "patient_name": f"SYNTHETIC^PATIENT^{i:04d}",
        "patient_id": f"TEST-MRN-{i:06d}",
        "birth_date": "19600101",
        "study_date": "20200102",
    }


def record_shards(out: Path) -> list[Path]:
    """The record shards of a release, sorted: every ``*.tar`` outside ``_build`` and the
    ``images`` config (whose JSON members describe images, not records)."""
    return sorted(
        p
        for p in out.rglob("*.tar")
        if "_build" not in p.parts and p.relative_to(out).parts[0] != IMAGES_CONFIG
    )
