"""SIIM-ACR Pneumothorax Segmentation (Kaggle 2019): pneumothorax masks drawn by radiologists
on NIH ChestX-ray14 radiographs re-issued as DICOM.

Read as the challenge published it: ``train-rle.csv`` with ``ImageId, EncodedPixels`` (the
real header has a space before ``EncodedPixels``; a ``.gz`` file is read as well), and the
DICOMs named ``<SOP Instance UID>.dcm`` anywhere under ``images_dir`` (the download nests
them as ``dicom-images-train/<study>/<series>/<uid>.dcm``). ``EncodedPixels`` is the
challenge's relative run-length code (start offsets counted from the end of the previous
run, over the image read column by column: ``extractors.masks.decode_relative_rle``);
``-1`` says the image has no pneumothorax, and an image with several pneumothoraces has one
row per instance. Each row's mask gives one box per connected component
(``extractors.masks.mask_boxes``), in pixels of the DICOM (its rows x columns, known only
once it is decoded); a ``-1`` row is a presence "no". Every pneumothorax was segmented, so
the labels are exhaustive (counts). A code that runs past the image's last pixel is a
``rle_out_of_bounds`` row; a row whose DICOM is not on disk makes a ``file_missing`` item.
Each image is its own patient key (the RLE file names no patient).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from extractors.masks import MaskError, decode_relative_rle, mask_boxes
from schemas.enums import Reason, Stage
from schemas.records import QuarantineRow, Study
from schemas.vocab import SIIM_PNEUMOTHORAX_LABEL
from shards.label_methods import LabelMethod
from shards.licences import Licence
from sources.base import (
    LabelRow,
    Plan,
    PlanContext,
    Source,
    SourceItem,
    SourceSettings,
    index_files,
    pick_indexed_file,
    quarantine_row,
)
from sources.context import ItemContext, ItemOutput
from sources.radiograph.csv_labels import SourceError, read_label_rows
from sources.radiograph.findings import findings_of
from sources.radiograph.process import Labels, process_image

KIND = "siim_pneumothorax"
EXTRACTOR = "sources.siim_pneumothorax"  # a stable label-method id (published)
VERSION = "1"
NEGATIVE = "-1"
COLUMNS = ("ImageId", "EncodedPixels")

LICENCE = Licence(
    "SIIM-ACR-Pneumothorax",
    "SIIM-ACR Pneumothorax Segmentation competition data terms (Kaggle competition rules: "
    "non-commercial research use); images from NIH ChestX-ray14 (no restrictions on use; "
    "acknowledge the NIH Clinical Center)",
    "https://www.kaggle.com/competitions/siim-acr-pneumothorax-segmentation/rules",
    "Zawacki A, Wu C, Shih G, Elliott J, Fomitchev M, Hussain M, Lakhani P, Culliton P, Bao S. "
    "SIIM-ACR Pneumothorax Segmentation. Kaggle, 2019. Images: Wang X, Peng Y, Lu L, Lu Z, "
    "Bagheri M, Summers RM. ChestX-ray8: Hospital-scale Chest X-ray Database and Benchmarks "
    "on Weakly-Supervised Classification and Localization of Common Thorax Diseases. "
    "CVPR 2017.",
)


class Settings(SourceSettings):
    """SIIM-ACR as downloaded: ``{kind: siim_pneumothorax, root: <folder>}`` reads
    ``train-rle.csv`` and the DICOMs below root."""

    kind: Literal["siim_pneumothorax"]
    root: Path
    rle_csv: str = "train-rle.csv"  # relative to root
    images_dir: str = "."  # relative to root, searched recursively for <ImageId>.dcm
    licence: str | None = None  # default: the competition's terms
    optional: bool = False  # when root is absent: skip with a warning instead of failing
    burned_in_annotation_clean: bool = False


@dataclass(frozen=True)
class Codes:
    """Per-item settings: the image's run-length codes (row number, code), one per
    pneumothorax, or the row that says it has none."""

    codes: tuple[tuple[int, str], ...]
    negative_row: int | None


def _syntax(code: str) -> str | None:
    """Why a code cannot be a run-length code at all (before the image size is known)."""
    values = code.split()
    if not all(v.isdigit() for v in values):
        return "has a value that is not a non-negative integer"
    if not values or len(values) % 2:
        return f"has an odd number of values ({len(values)})"
    return None


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """An item per image the RLE file names, and quarantine rows for rows and files that
    cannot be used (malformed, repeated, contradicting, image missing or duplicated)."""
    dataset = settings.dataset
    path = settings.root / settings.rle_csv
    if not path.is_file():
        raise SourceError(f"label file not found: {path} (set rle_csv)")
    rows = read_label_rows(path, COLUMNS)
    out = Plan(n_label_rows=len(rows))
    codes: dict[str, list[tuple[int, str]]] = {}
    negatives: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    for row_number, fields in enumerate(rows, start=1):
        image_id, code = fields["ImageId"], fields["EncodedPixels"]
        item_id = ctx.ids.study(dataset, image_id) if image_id else None

        def reject(reason: Reason, message: str, n: int = row_number, i=item_id) -> None:
            out.quarantine.append(
                quarantine_row(dataset, reason, message, str(path), n, stage=Stage.PLAN, item_id=i)
            )

        if not image_id or "/" in image_id or "\\" in image_id:
            reject(Reason.BAD_CSV_ROW, f"row {row_number}: field 'ImageId' {image_id!r} is no id")
            continue
        if (image_id, code) in seen:
            reject(Reason.DUPLICATE_ROW, f"row {row_number} repeats an earlier row of {image_id}")
            continue
        seen.add((image_id, code))
        if code == NEGATIVE:
            negatives[image_id] = row_number
            codes.setdefault(image_id, [])
            continue
        problem = _syntax(code)
        if problem:
            reject(Reason.BAD_CSV_ROW, f"row {row_number} ({image_id}): EncodedPixels {problem}")
            continue
        codes.setdefault(image_id, []).append((row_number, code))
    for image_id, row_number in sorted(negatives.items()):
        if codes[image_id]:  # "-1" and a mask for one image: the mask is kept
            out.quarantine.append(
                quarantine_row(
                    dataset,
                    Reason.BAD_CSV_ROW,
                    f"row {row_number} says {image_id} has no pneumothorax; another row gives "
                    "its mask: this row is not used",
                    str(path),
                    row_number,
                    stage=Stage.PLAN,
                    item_id=ctx.ids.study(dataset, image_id),
                )
            )
            del negatives[image_id]

    images_dir = settings.root / settings.images_dir
    files = index_files(images_dir, (".dcm",))
    unlabelled = sorted(n for n in files if Path(n).stem not in codes)
    if unlabelled:
        out.notes.append(
            f"{dataset}: {len(unlabelled)} DICOM file(s) under {images_dir} have no row in "
            f"{path.name} and are not inputs (e.g. {unlabelled[0]})"
        )
    licence = settings.licence or LICENCE.id
    for image_id in sorted(codes):
        study_id = ctx.ids.study(dataset, image_id)
        name = f"{image_id}.dcm"
        n_rows = len(codes[image_id]) + (image_id in negatives)
        found, rows = pick_indexed_file(
            dataset,
            name,
            files.get(name, []),
            images_dir,
            item_id=study_id,
            missing=f"{path.name} names {image_id}, whose {name} is not under {images_dir} "
            f"({n_rows} label row(s) unused)",
        )
        out.quarantine += rows
        if found is None:
            continue
        paths = [found]
        stat = paths[0].stat()
        out.items.append(
            SourceItem(
                dataset=dataset,
                kind=KIND,
                reader="dicom",
                item_id=image_id,
                patient_key=image_id,
                path=str(paths[0]),
                labels_file=str(path),
                rows=(),  # the boxes need the image size: made from settings in process
                licence=licence,
                extractor=EXTRACTOR,
                extractor_version=VERSION,
                modality="XR",
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
                exhaustive=True,
                burned_in_clean=settings.burned_in_annotation_clean,
                settings=Codes(tuple(codes[image_id]), negatives.get(image_id)),
            )
        )
    return out


def labels(item: SourceItem, study: Study) -> Labels:
    """Each code decoded on the DICOM's grid, a box per component; a code that runs past
    the image is a quarantine row."""
    info: Codes = item.settings
    width, height = study.source_width, study.source_height
    rows: list[LabelRow] = []
    rejected: list[QuarantineRow] = []
    for row_number, code in info.codes:
        try:
            mask = decode_relative_rle(code, width, height)
        except MaskError as exc:
            past = "past the image" in str(exc)
            rejected.append(
                quarantine_row(
                    item.dataset,
                    Reason.RLE_OUT_OF_BOUNDS if past else Reason.BAD_CSV_ROW,
                    f"row {row_number}: EncodedPixels {exc}",
                    item.labels_file,
                    row_number,
                    stage=Stage.FINDINGS,
                    item_id=study.study_id,
                )
            )
            continue
        for comp in mask_boxes(mask).kept:
            x1, y1, x2, y2 = comp.box
            box = (x1, y1, x2 - x1, y2 - y1)
            rows.append(LabelRow(row_number, SIIM_PNEUMOTHORAX_LABEL, True, box))
    if info.negative_row is not None:
        rows.append(LabelRow(info.negative_row, SIIM_PNEUMOTHORAX_LABEL, False, None))
    findings, more = findings_of(dataclasses.replace(item, rows=tuple(rows)), study)
    return Labels(findings, rejected + more)


def process(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    return process_image(item, ctx, labels)


LABEL_METHOD = LabelMethod(
    EXTRACTOR,
    "expert",
    "SIIM-ACR pneumothorax masks by radiologists (run-length codes); one box per connected "
    "component of each mask, '-1' rows as stated absences",
    "reference labels (not re-measured); boxes equal the decoded masks' components (tests)",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process,
    layout="rle_csv (train-rle.csv: ImageId, EncodedPixels; relative column-major RLE, -1 = "
    "none, a row per pneumothorax) + <ImageId>.dcm (SOP Instance UID) under images_dir",
    licences=(LICENCE,),
    label_methods=(LABEL_METHOD,),
)
