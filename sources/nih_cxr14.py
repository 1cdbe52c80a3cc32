"""NIH ChestX-ray14 (Wang et al. 2017): ``BBox_List_2017.csv`` expert boxes on PNG images.

The box list covers only the boxed findings of 880 images; an image's other findings may be
unboxed, so this reader never states that a finding is absent.
"""

from __future__ import annotations

from schemas.vocab import NIH_CXR14_LABELS
from sources.base import LabelRow
from sources.csv_labels import CsvFormat, ParsedRow, RowError, parse_box

KIND = "nih_cxr14"
EXTRACTOR = "sources.nih_cxr14"
VERSION = "1"
LICENCE = "NIH-CXR14"  # "no restrictions on use", cite the paper (shards.licences)
COLUMNS = ("Image Index", "Finding Label", "x", "y", "w", "h")


def parse_row(fields: dict[str, str], row_number: int) -> ParsedRow:
    image_id = fields["Image Index"]
    if not image_id:
        raise RowError("field 'Image Index' is empty")
    if "/" in image_id or "\\" in image_id:
        raise RowError(f"field 'Image Index': {image_id!r} is a path, expected a file name")
    raw_label = fields["Finding Label"]
    label = NIH_CXR14_LABELS.get(raw_label)
    if label is None:
        raise RowError(
            f"field 'Finding Label': {raw_label!r} is not one of {sorted(NIH_CXR14_LABELS)}"
        )
    box = parse_box(fields, ("x", "y", "w", "h"))
    # NIH file names are <8-digit patient>_<3-digit follow-up>.png
    patient_key = image_id.rsplit("_", 1)[0] if "_" in image_id else image_id
    return ParsedRow(image_id, patient_key, LabelRow(row_number, label, True, box))


def file_name(image_id: str) -> str:
    return image_id


FORMAT = CsvFormat(
    kind=KIND,
    columns=COLUMNS,
    parse_row=parse_row,
    file_name=file_name,
    file_suffixes=(".png",),
    reader="png",
    licence=LICENCE,
    extractor=EXTRACTOR,
    extractor_version=VERSION,
    modality="XR",
)
