"""Fixtures in the published MIMIC-CXR-JPG and Chest ImaGenome layouts (no public sample of
either exists): JPEG images at ``files/pXX/p<subject>/s<study>/<dicom_id>.jpg``, reports at
``files/pXX/p<subject>/s<study>.txt``, the metadata CSV, split CSVs and scene graphs with
both box spaces (``x1..y2`` on the 224 x 224 resize, ``original_x1..`` on the JPG)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from sources.radiograph.mimic import image_path, report_path


def write_jpeg(path: Path, width: int, height: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    pixels = np.add.outer(np.arange(height), np.arange(width)) + rng.integers(0, 9, (height, width))
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.fromarray((pixels % 256).astype(np.uint8)).save(buf, format="JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


def mimic_image(root: Path, subject: str, study: str, dicom: str, size=(200, 160), seed=0):
    return write_jpeg(image_path(root, subject, study, dicom), *size, seed=seed)


def mimic_report(root: Path, subject: str, study: str, text: str) -> Path:
    path = report_path(root, subject, study)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


METADATA_HEADER = [
    "dicom_id",
    "subject_id",
    "study_id",
    "PerformedProcedureStepDescription",
    "ViewPosition",
    "Rows",
    "Columns",
    "StudyDate",
    "StudyTime",
    "ProcedureCodeSequence_CodeMeaning",
    "ViewCodeSequence_CodeMeaning",
    "PatientOrientationCodeSequence_CodeMeaning",
]


def write_metadata(path: Path, rows: list[dict]) -> Path:
    """The metadata CSV: rows give dicom_id, subject_id, study_id, ViewPosition, Rows,
    Columns, StudyDate, StudyTime (the rest blank)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, METADATA_HEADER, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in METADATA_HEADER})
    return path


def write_split(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A split CSV (``dicom_id, subject_id, study_id`` and the path column ImaGenome adds)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["dicom_id", "subject_id", "study_id", "path"])
        for dicom, subject, study in rows:
            w.writerow([dicom, subject, study, f"files/p{subject[:2]}/p{subject}/s{study}"])
    return path


def scene_object(name: str, box: tuple[float, float, float, float], size=(200, 160)) -> dict:
    """An ``objects`` entry: ``original_*`` in JPG pixels, ``x1..`` on the 224 resize (a
    different space: the fixture's image is not 224 px)."""
    w, h = size
    x1, y1, x2, y2 = box
    sx, sy = 224 / w, 224 / h
    return {
        "object_id": f"obj_{name}",
        "bbox_name": name,
        "name": name.title(),
        "synsets": ["C0000000"],
        "x1": round(x1 * sx),
        "y1": round(y1 * sy),
        "x2": round(x2 * sx),
        "y2": round(y2 * sy),
        "width": round((x2 - x1) * sx),
        "height": round((y2 - y1) * sy),
        "original_x1": x1,
        "original_y1": y1,
        "original_x2": x2,
        "original_y2": y2,
        "original_width": x2 - x1,
        "original_height": y2 - y1,
    }


def scene_attributes(name: str, phrases: list[str], labels: list[list[str]]) -> dict:
    return {
        "name": name.title(),
        "bbox_name": name,
        "synsets": ["C0000000"],
        name: True,
        "attributes": labels,
        "attributes_ids": [[f"CL{i}" for i, _ in enumerate(group)] for group in labels],
        "phrases": phrases,
        "phrase_IDs": [f"p{i}" for i, _ in enumerate(phrases)],
        "sections": ["finalreport"] * len(phrases),
        "comparison_cues": [[] for _ in phrases],
        "temporal_cues": [[] for _ in phrases],
        "severity_cues": [[] for _ in phrases],
        "texture_cues": [[] for _ in phrases],
        "object_id": f"obj_{name}",
    }


def write_scene_graph(
    folder: Path, dicom: str, subject: str, study: str, objects: list[dict], attributes: list[dict]
) -> Path:
    path = folder / f"{dicom}_SceneGraph.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    graph = {
        "image_id": dicom,
        "viewpoint": "PA",
        "patient_id": int(subject),
        "study_id": int(study),
        "gender": "F",
        "age_decile": "50-60",
        "reason_for_exam": "___",
        "StudyOrder": 1,
        "StudyDateTime": "2150-01-01 10:00:00 UTC",
        "objects": objects,
        "attributes": attributes,
        "relationships": [],
    }
    path.write_text(json.dumps(graph))
    return path
