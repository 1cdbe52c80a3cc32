"""RSNA Pneumonia Detection Challenge: ``stage_2_train_labels.csv`` (one row per box, or one
row with Target 0 for an image without pneumonia) and DICOM images named ``<patientId>.dcm``.

Target 0 is an expert statement that no pneumonia opacity is present: it becomes an absent
finding, and records ask about it ("Is there pneumonia?" -> "No.").
"""

from __future__ import annotations

from schemas.vocab import RSNA_PNEUMONIA_LABEL
from sources.base import LabelRow
from sources.csv_labels import CsvFormat, ParsedRow, RowError, parse_box

KIND = "rsna_pneumonia"
EXTRACTOR = "sources.rsna_pneumonia"
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
