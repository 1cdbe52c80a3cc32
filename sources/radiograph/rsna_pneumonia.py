"""RSNA Pneumonia Detection Challenge: ``stage_2_train_labels.csv`` (one row per box, or one
row with Target 0 for an image without pneumonia) and DICOM images named ``<patientId>.dcm``.

Target 0 is an expert statement that no pneumonia opacity is present: it becomes an absent
finding, and records ask about it ("Is there pneumonia?" -> "No.").
"""

from __future__ import annotations

from typing import Literal

from schemas.vocab import RSNA_PNEUMONIA_LABEL
from shards.label_methods import LabelMethod
from shards.licences import Licence
from sources.base import LabelRow, Source
from sources.radiograph.csv_labels import (
    CsvFormat,
    CsvSettings,
    ParsedRow,
    RowError,
    csv_planner,
    parse_box,
)
from sources.radiograph.process import process_radiograph

KIND = "rsna_pneumonia"
EXTRACTOR = "sources.rsna_pneumonia"  # a stable label-method id (published)
VERSION = "1"
LICENCE = "RSNA-Pneumonia-Challenge"  # competition terms (shards.licences)
COLUMNS = ("patientId", "x", "y", "width", "height", "Target")


def parse_row(fields: dict[str, str], row_number: int) -> ParsedRow:
    patient = fields["patientId"]
    if not patient or "/" in patient or "\\" in patient:
        raise RowError(f"field 'patientId': {patient!r} is not an id")
    target = fields["Target"]
    if target not in ("0", "1"):
        raise RowError(f"field 'Target': {target!r} is not 0 or 1")
    box_fields = ("x", "y", "width", "height")
    if target == "0":
        if any(fields[n] for n in box_fields):
            raise RowError("Target is 0 but the row has a box")
        return ParsedRow(patient, patient, LabelRow(row_number, RSNA_PNEUMONIA_LABEL, False, None))
    if not all(fields[n] for n in box_fields):
        raise RowError("Target is 1 but the box is incomplete")
    box = parse_box(fields, box_fields)
    return ParsedRow(patient, patient, LabelRow(row_number, RSNA_PNEUMONIA_LABEL, True, box))


def file_name(patient_id: str) -> str:
    return f"{patient_id}.dcm"


FORMAT = CsvFormat(
    kind=KIND,
    columns=COLUMNS,
    parse_row=parse_row,
    file_name=file_name,
    file_suffixes=(".dcm",),
    reader="dicom",
    licence=LICENCE,
    extractor=EXTRACTOR,
    extractor_version=VERSION,
    modality="XR",
    exhaustive=True,  # every opacity of an image has its box, Target 0 means none
)


class Settings(CsvSettings):
    """RSNA Pneumonia: ``stage_2_train_labels.csv`` plus ``<patientId>.dcm`` images."""

    kind: Literal["rsna_pneumonia"]


LABEL_METHOD = LabelMethod(
    "sources.rsna_pneumonia",
    "expert",
    "RSNA Pneumonia Detection Challenge boxes and negatives by radiologists",
    "reference labels (not re-measured); boxes reproduced within 1 px of the CSV (tests)",
)

SOURCE = Source(
    settings=Settings,
    plan=csv_planner(FORMAT),
    process=process_radiograph,
    layout="labels_csv (stage_2_train_labels.csv: patientId, x, y, width, height, Target) + "
    "<patientId>.dcm under images_dir",
    licences=(
        Licence(
            "RSNA-Pneumonia-Challenge",
            "RSNA Pneumonia Detection Challenge data terms (non-commercial research use; "
            "derived from NIH ChestX-ray14)",
            "https://www.kaggle.com/competitions/rsna-pneumonia-detection-challenge/rules",
            "Shih G, Wu CC, Halabi SS, et al. Augmenting the National Institutes of Health "
            "Chest Radiograph Dataset with Expert Annotations of Possible Pneumonia. "
            "Radiology: Artificial Intelligence 2019;1(1):e180041.",
        ),
    ),
    label_methods=(LABEL_METHOD,),
)
