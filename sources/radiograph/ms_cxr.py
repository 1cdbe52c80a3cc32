"""MS-CXR (Boecking et al. 2022): radiologists' boxes for phrases of MIMIC-CXR reports (1,162
image-phrase pairs, 8 findings) on MIMIC-CXR-JPG images.

Read as PhysioNet publishes it: ``MS_CXR_Local_Alignment_v1.<minor>.<patch>.csv`` (the newest
version under root unless ``labels_csv`` names one), one row per box: ``dicom_id,
category_name, label_text, path, x, y, w, h, image_width, image_height, split``. Boxes are
top-left corner plus size in pixels of the JPEG (``image_width`` x ``image_height``, checked
against the image: ``image_size_mismatch``). ``path`` is the image under the MIMIC-CXR-JPG
root (``files/pXX/p<subject>/s<study>/<dicom_id>.jpg``, under ``images_dir``). The patient is
MIMIC's ``subject_id`` from ``mimic-cxr-2.0.0-metadata.csv(.gz)`` (else the ``p<subject>``
folder of the path, noted).

``label_text`` is the radiologist's phrase: records quote it verbatim (``Finding.phrase``;
rows with one phrase on one image are one grounding record with all its boxes). MS-CXR's own
split is kept (``train``/``val``/``test`` -> train/validation/test); a subject the file puts
in two splits is a ``split_conflict`` for each of its images (none published). The labels
are not exhaustive (only the phrases' regions are boxed): no counting, no absences.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image

from schemas.enums import Reason, Split, Stage
from schemas.vocab import MS_CXR_LABELS
from shards.label_methods import LabelMethod
from shards.licences import Licence
from sources.base import (
    ItemError,
    LabelRow,
    Plan,
    PlanContext,
    Source,
    SourceItem,
    SourceSettings,
    outside_root,
    quarantine_item,
    quarantine_row,
)
from sources.context import ItemContext, ItemOutput, read_error
from sources.radiograph.csv_labels import SourceError, named_or_newest
from sources.radiograph.process import process_radiograph

KIND = "ms_cxr"
EXTRACTOR = "sources.ms_cxr"
VERSION = "1"
LABELS_GLOB = "MS_CXR_Local_Alignment_v1.*.csv"
COLUMNS = ("dicom_id", "category_name", "label_text", "path", "x", "y", "w", "h")
COLUMNS += ("image_width", "image_height", "split")
SPLITS = {"train": Split.TRAIN.value, "val": Split.VALIDATION.value, "test": Split.TEST.value}

LICENCE = Licence(
    "MS-CXR",
    "PhysioNet Credentialed Health Data License 1.5.0 (MS-CXR and MIMIC-CXR-JPG: "
    "credentialed access, data use agreement, no redistribution)",
    "https://physionet.org/content/ms-cxr/",
    "Boecking B, Usuyama N, Bannur S, et al. Making the Most of Text Semantics to Improve "
    "Biomedical Vision-Language Processing. ECCV 2022. MS-CXR: PhysioNet, "
    "doi:10.13026/b90j-vb87. Images: Johnson AEW, Pollard TJ, Greenbaum NR, et al. "
    "MIMIC-CXR-JPG, a large publicly available database of labeled chest radiographs. "
    "arXiv:1901.07042, 2019.",
)


class Settings(SourceSettings):
    """MS-CXR beside (or inside) MIMIC-CXR-JPG: ``{kind: ms_cxr, root: <folder>}``."""

    kind: Literal["ms_cxr"]
    root: Path
    labels_csv: str | None = None  # default: the newest MS_CXR_Local_Alignment_v1.*.csv
    metadata_csv: str | None = "mimic-cxr-2.0.0-metadata.csv"  # .gz is read too; null: none
    images_dir: str = "."  # the MIMIC-CXR-JPG root the ``path`` column is relative to
    licence: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class ImageSize:
    """The JPEG size the label file states (its boxes' pixel space)."""

    width: int
    height: int


def labels_file(settings: Settings) -> Path:
    """The label CSV: the one named, else the newest published version under root."""
    return named_or_newest(
        settings.root, settings.labels_csv, LABELS_GLOB, "labels_csv", "label file"
    )


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def read_subjects(settings: Settings, out: Plan) -> dict[str, str] | None:
    """dicom_id -> subject_id from the MIMIC metadata CSV (or its .gz), None without one."""
    if settings.metadata_csv is None:
        return None
    path = settings.root / settings.metadata_csv
    if not path.is_file() and Path(f"{path}.gz").is_file():
        path = Path(f"{path}.gz")
    if not path.is_file():
        out.notes.append(
            f"{settings.dataset}: {path} not found: patients are read from the image paths"
        )
        return None
    with _open_text(path) as f:
        reader = csv.DictReader(f)
        missing = {"dicom_id", "subject_id"} - set(reader.fieldnames or [])
        if missing:
            raise SourceError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return {row["dicom_id"]: row["subject_id"] for row in reader}


class RowError(ValueError):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class _Row:
    dicom_id: str
    path: str
    split: str
    size: ImageSize
    label: LabelRow


def parse_row(row: dict[str, str], n: int) -> _Row:
    """One CSV row as its image and label row; RowError says which field is wrong."""
    dicom_id = (row.get("dicom_id") or "").strip()
    if not dicom_id:
        raise RowError(Reason.BAD_CSV_ROW, "field 'dicom_id' is empty")
    category = (row.get("category_name") or "").strip()
    label = MS_CXR_LABELS.get(category)
    if label is None:
        raise RowError(
            Reason.LABEL_UNMAPPED,
            f"category {category!r} is not in the MS-CXR map (schemas.vocab.MS_CXR_LABELS: "
            f"{', '.join(sorted(MS_CXR_LABELS))})",
        )
    phrase = (row.get("label_text") or "").strip()
    if not phrase:
        raise RowError(Reason.BAD_CSV_ROW, "field 'label_text' is empty")
    values = {}
    for key in ("x", "y", "w", "h", "image_width", "image_height"):
        try:
            values[key] = float(row.get(key) or "")
        except ValueError:
            raise RowError(
                Reason.BAD_CSV_ROW, f"field {key!r}: {row.get(key)!r} is not a number"
            ) from None
        if not math.isfinite(values[key]):
            raise RowError(Reason.BAD_CSV_ROW, f"field {key!r}: {row.get(key)!r} is not finite")
    width, height = values["image_width"], values["image_height"]
    if width < 1 or height < 1 or not width.is_integer() or not height.is_integer():
        raise RowError(Reason.BAD_CSV_ROW, f"image size {width:g} x {height:g} is not a size")
    if values["w"] <= 0 or values["h"] <= 0:
        raise RowError(Reason.BOX_INVALID, f"box w={values['w']:g} h={values['h']:g} is empty")
    split = SPLITS.get((row.get("split") or "").strip())
    if split is None:
        raise RowError(
            Reason.BAD_CSV_ROW, f"field 'split': {row.get('split')!r} is not train, val or test"
        )
    path = (row.get("path") or "").strip()
    if not path or path.startswith("/") or ".." in Path(path).parts:
        raise RowError(Reason.BAD_CSV_ROW, f"field 'path': {path!r} is not a relative path")
    box = (values["x"], values["y"], values["w"], values["h"])
    return _Row(
        dicom_id,
        path,
        split,
        ImageSize(int(width), int(height)),
        LabelRow(n, label, True, box, phrase=phrase, language="en"),
    )


def _subject_of_path(path: str) -> str | None:
    match = re.search(r"(?:^|/)p(\d+)/s\d+/", path)
    return match.group(1) if match else None


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """An item per image the label file names, keeping MS-CXR's split; quarantine rows for
    rows that cannot be used, images missing, and subjects on two sides of the split."""
    dataset = settings.dataset
    out = Plan()
    path = labels_file(settings)
    subjects = read_subjects(settings, out)
    with _open_text(path) as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SourceError(f"{path}: missing column(s) {', '.join(missing)}")
        raw = list(reader)
    out.n_label_rows = len(raw)
    images: dict[str, list[_Row]] = {}
    for n, row in enumerate(raw, start=1):
        try:
            parsed = parse_row(row, n)
        except RowError as exc:
            out.quarantine.append(
                quarantine_row(
                    dataset, exc.reason, f"row {n}: {exc}", str(path), n, stage=Stage.PLAN
                )
            )
            continue
        earlier = images.setdefault(parsed.dicom_id, [])
        first = earlier[0] if earlier else None
        if first and (first.path, first.size, first.split) != (
            parsed.path,
            parsed.size,
            parsed.split,
        ):
            out.quarantine.append(
                quarantine_row(
                    dataset,
                    Reason.BAD_CSV_ROW,
                    f"row {n}: {parsed.dicom_id} has another path, size or split than row "
                    f"{first.label.row_number}: not used",
                    str(path),
                    n,
                    stage=Stage.PLAN,
                    item_id=ctx.ids.study(dataset, parsed.dicom_id),
                )
            )
            continue
        if any(r.label == parsed.label for r in earlier):
            out.quarantine.append(
                quarantine_row(
                    dataset,
                    Reason.DUPLICATE_ROW,
                    f"row {n} repeats an earlier box of {parsed.dicom_id}",
                    str(path),
                    n,
                    stage=Stage.PLAN,
                    item_id=ctx.ids.study(dataset, parsed.dicom_id),
                )
            )
            continue
        earlier.append(parsed)

    patient: dict[str, str] = {}
    for dicom_id, rows in images.items():
        subject = (subjects or {}).get(dicom_id) or _subject_of_path(rows[0].path)
        patient[dicom_id] = subject or dicom_id
    splits_of: dict[str, set[str]] = {}
    for dicom_id, rows in images.items():
        splits_of.setdefault(patient[dicom_id], set()).add(rows[0].split)

    images_dir = settings.root / settings.images_dir
    for dicom_id in sorted(images):
        rows = images[dicom_id]
        study_id = ctx.ids.study(dataset, dicom_id)
        image_path = images_dir / rows[0].path

        def set_aside(reason: Reason, message: str, ref: Path, study_id: str = study_id) -> None:
            out.quarantine.append(
                quarantine_item(
                    dataset, reason, message, str(ref), stage=Stage.PLAN, item_id=study_id
                )
            )

        sides = splits_of[patient[dicom_id]]
        if len(sides) > 1:
            set_aside(
                Reason.SPLIT_CONFLICT,
                f"{path.name}: the subject of {dicom_id} has images in the "
                f"{', '.join(sorted(sides))} splits; a patient stays on one side: none of its "
                f"{len(rows)} box(es) used",
                path,
            )
            continue
        if not image_path.is_file():
            set_aside(
                Reason.FILE_MISSING,
                f"{path.name} row {rows[0].label.row_number} names {rows[0].path}, not under "
                f"{images_dir} ({len(rows)} box(es) unused)",
                image_path,
            )
            continue
        if outside_root(image_path, images_dir):
            set_aside(
                Reason.PATH_OUTSIDE_ROOT,
                f"{rows[0].path} resolves to a file outside {images_dir} (a symbolic link?)",
                image_path,
            )
            continue
        stat = image_path.stat()
        out.items.append(
            SourceItem(
                dataset=dataset,
                kind=KIND,
                reader="jpeg",
                item_id=dicom_id,
                patient_key=patient[dicom_id],
                path=str(image_path),
                labels_file=str(path),
                rows=tuple(r.label for r in rows),
                licence=settings.licence or LICENCE.id,
                extractor=EXTRACTOR,
                extractor_version=VERSION,
                modality="XR",
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
                settings=rows[0].size,
                split=rows[0].split,
            )
        )
    if subjects is not None:
        unknown = sorted(d for d in images if d not in subjects)
        if unknown:
            out.notes.append(
                f"{dataset}: {len(unknown)} image(s) not in the MIMIC metadata (e.g. "
                f"{unknown[0]}): their patient is read from the image path"
            )
    return out


def process_ms_cxr(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """The radiograph processor, once the JPEG's size is the one the boxes were drawn on."""
    study_id = ctx.ids.study(item.dataset, item.item_id)
    size: ImageSize = item.settings
    try:
        with Image.open(item.path) as img:
            actual = img.size
    except Exception:  # missing, not an image: the loader's quarantine row says which
        return process_radiograph(item, ctx)
    if actual != (size.width, size.height):
        exc = ItemError(
            Reason.IMAGE_SIZE_MISMATCH,
            f"{Path(item.path).name} is {actual[0]} x {actual[1]} pixels; the label file's "
            f"boxes are on a {size.width} x {size.height} image: not used",
        )
        return ItemOutput(quarantine=[read_error(item, study_id, exc)])
    return process_radiograph(item, ctx)


LABEL_METHOD = LabelMethod(
    EXTRACTOR,
    "expert",
    "MS-CXR: boxes that board-certified radiologists drew for phrases of MIMIC-CXR reports "
    "(8 findings); the phrase is quoted verbatim",
    "reference labels (not re-measured); boxes reproduced within 1 px of the CSV (tests)",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process_ms_cxr,
    layout="MS_CXR_Local_Alignment_v1.*.csv (dicom_id, category_name, label_text, path, x, y, "
    "w, h, image_width, image_height, split; xywh JPEG pixels) + mimic-cxr-2.0.0-metadata.csv"
    "(.gz) + MIMIC-CXR-JPG files/pXX/p<subject>/s<study>/<dicom_id>.jpg under images_dir",
    licences=(LICENCE,),
    label_methods=(LABEL_METHOD,),
)
