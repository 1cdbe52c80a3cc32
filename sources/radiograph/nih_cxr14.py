"""NIH ChestX-ray14 (Wang et al. 2017): ``BBox_List_2017.csv`` expert boxes on PNG images.

The box list covers only the boxed findings of 880 images; an image's other findings may be
unboxed, so this reader never states that a finding is absent.
"""

from __future__ import annotations

from typing import Literal

from schemas.vocab import NIH_CXR14_LABELS
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

KIND = "nih_cxr14"
EXTRACTOR = "sources.nih_cxr14"  # a stable label-method id (published), not a module path
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


class Settings(CsvSettings):
    """NIH ChestX-ray14: ``BBox_List_2017.csv`` plus the PNG images (searched recursively)."""

    kind: Literal["nih_cxr14"]


LABEL_METHOD = LabelMethod(
    "sources.nih_cxr14",
    "expert",
    "NIH ChestX-ray14 bounding boxes drawn by radiologists (BBox_List_2017.csv)",
    "reference labels (not re-measured); boxes reproduced within 1 px of the CSV (tests)",
)

SOURCE = Source(
    settings=Settings,
    plan=csv_planner(FORMAT),
    process=process_radiograph,
    layout="labels_csv (BBox_List_2017.csv: Image Index, Finding Label, x, y, w, h) + PNGs "
    "under images_dir",
    licences=(
        Licence(
            "NIH-CXR14",
            "NIH ChestX-ray14 terms: no restrictions on use; acknowledge the NIH Clinical Center "
            "and cite the paper",
            "https://nihcc.app.box.com/v/ChestXray-NIHCC",
            "Wang X, Peng Y, Lu L, Lu Z, Bagheri M, Summers RM. ChestX-ray8: Hospital-scale "
            "Chest X-ray Database and Benchmarks on Weakly-Supervised Classification and "
            "Localization of Common Thorax Diseases. CVPR 2017.",
        ),
    ),
    label_methods=(LABEL_METHOD,),
)
