"""VinDr-CXR (Nguyen et al., Sci Data 2022): Vietnamese hospital chest radiographs (DICOM) with
boxes of local findings drawn by radiologists, in both published versions.

- ``kaggle`` (VinBigData Chest X-ray Abnormalities Detection): ``train.csv`` with
  ``image_id, class_name, class_id, rad_id, x_min, y_min, x_max, y_max``: 14 findings, plus
  "No finding" rows (class_id 14) with empty boxes, and ``train/<image_id>.dicom``.
- ``physionet`` (VinDr-CXR 1.0.0): ``annotations/annotations_{train,test}.csv``
  (``image_id, rad_id, class_name, x_min, y_min, x_max, y_max``; 22 local labels),
  ``annotations/image_labels_{train,test}.csv`` (one row per reader, a 0/1 column per label:
  the 22 local and 6 global ones) and ``{train,test}/<image_id>.dicom``.

``edition`` is detected from the files present when it is left out; each file name is one
settings key (null: not read), a ``.gz`` file is read as well. Boxes are corners in pixels
of the DICOM (rows x columns, which no label file states): they stay in source pixels while
planning, and the processor converts them once (``schemas.boxes``) after reading the size
from the decoded image; a box outside it is a ``box_out_of_bounds`` row.

Readers. Train images were read by 3 radiologists each (``rad_id`` R1..R17), independently:
every reader's box is kept (``Provenance.readers`` of the records it backs), and the boxes of
one finding on one image are fused with weighted boxes fusion
(``ensemble_boxes.weighted_boxes_fusion``, every read scored 1.0 so a fused corner is the
mean of its cluster's corners) on boxes normalised by the image size, with
``FUSION_IOU = 0.4``: on the Kaggle train.csv the median best IoU of a box with another
reader's box of the same finding and image is 0.68; 79.5 % of the 28,172 boxes that have
such a box reach 0.4, 68.5 % reach WBF's default 0.55 and 84 % reach 0.3, so 0.4 joins most
reads of one lesion (the knee of that curve) while lesions boxed apart by one reader stay
apart. A fused box's confidence is reader agreement: the readers with a box of IoU >= 0.4
with it over the image's readers (1/3, 2/3 or 1). Test images (PhysioNet) are one consensus
of 5 radiologists: taken as given, one reader, confidence 1 and exact counts.

Absences. Readers labelled every finding of the edition, so a finding no reader of an image
marked (in particular, every finding of an image all readers called "No finding") is stated
absent (``absences``, on by default). PhysioNet's global labels (COPD, lung tumor,
pneumonia, tuberculosis, other disease) are image-level findings without boxes, present when
a reader ticked them (confidence: the share that did), absent when none did (a presence
"no"; a present one stays a finding of the findings table, since ``records.grounding``
makes no record without a box); its local label columns repeat the boxes and are not read
twice. VinDr names no patient: each image is its
own patient key, and the publishers' train/test split is not kept (the build's split hashes
the patient).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from schemas.boxes import Box
from schemas.enums import Reason, Stage
from schemas.identity import stable_id
from schemas.records import Finding, GroundingRecord, NamedBox, QuarantineRow, ReaderBox, Study
from schemas.vocab import VINDR_CXR_LABELS, VINDR_NO_FINDING
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
from sources.radiograph.csv_labels import RowError, SourceError, parse_float, read_label_rows
from sources.radiograph.findings import MIN_BOX_PX, source_box
from sources.radiograph.process import Labels, process_image

KIND = "vindr_cxr"
EXTRACTOR = "sources.vindr_cxr"  # a stable label-method id (published), not a module path
VERSION = "1"
FUSION_IOU = 0.4  # see the module docstring for why
CONSENSUS = "consensus"  # the reader of a consensus label (PhysioNet test)

_LABELS = {name.casefold(): key for name, key in VINDR_CXR_LABELS.items()}
_KAGGLE = (
    "Aortic enlargement",
    "Atelectasis",
    "Calcification",
    "Cardiomegaly",
    "Consolidation",
    "ILD",
    "Infiltration",
    "Lung Opacity",
    "Nodule/Mass",
    "Other lesion",
    "Pleural effusion",
    "Pleural thickening",
    "Pneumothorax",
    "Pulmonary fibrosis",
)
_PHYSIONET_LOCAL = (
    *_KAGGLE,
    "Clavicle fracture",
    "Edema",
    "Emphysema",
    "Enlarged PA",
    "Lung cavity",
    "Lung cyst",
    "Mediastinal shift",
    "Rib fracture",
)
GLOBAL_LABELS = ("COPD", "Lung tumor", "Pneumonia", "Tuberculosis", "Other disease")
# canonical keys of the local findings each edition boxes (the categories stated absent)
CATEGORIES = {
    "kaggle": tuple(sorted(VINDR_CXR_LABELS[n] for n in _KAGGLE)),
    "physionet": tuple(sorted(VINDR_CXR_LABELS[n] for n in _PHYSIONET_LOCAL)),
}
_GLOBAL_KEYS = {VINDR_CXR_LABELS[n] for n in GLOBAL_LABELS}

_CITATION = (
    "Nguyen HQ, Lam K, Le LT, Pham HH, Tran DQ, et al. VinDr-CXR: An open dataset of chest "
    "X-rays with radiologist's annotations. Scientific Data 2022;9:429."
)
LICENCES = {
    "physionet": Licence(
        "VinDr-CXR-PhysioNet",
        "PhysioNet Credentialed Health Data License 1.5.0 (VinDr-CXR 1.0.0: credentialed "
        "access and a signed data use agreement; do not redistribute the data)",
        "https://physionet.org/content/vindr-cxr/1.0.0/",
        _CITATION,
    ),
    "kaggle": Licence(
        "VinBigData-CXR-Kaggle",
        "VinBigData Chest X-ray Abnormalities Detection competition data terms (Kaggle "
        "competition rules: non-commercial research use)",
        "https://www.kaggle.com/competitions/vinbigdata-chest-xray-abnormalities-detection/rules",
        _CITATION,
    ),
}


class Settings(SourceSettings):
    """VinDr-CXR as downloaded: ``{kind: vindr_cxr, root: <folder>}`` reads whichever edition
    is there under its published file names."""

    kind: Literal["vindr_cxr"]
    root: Path
    edition: Literal["kaggle", "physionet"] | None = None  # None: from the files present
    # Label files relative to root (null: not read). Kaggle:
    train_csv: str | None = "train.csv"
    # PhysioNet:
    annotations_train: str | None = "annotations/annotations_train.csv"
    annotations_test: str | None = "annotations/annotations_test.csv"
    image_labels_train: str | None = "annotations/image_labels_train.csv"
    image_labels_test: str | None = "annotations/image_labels_test.csv"
    # Image folders relative to root, searched recursively for <image_id>.dicom
    train_images: str = "train"
    test_images: str = "test"
    absences: bool = True  # state each finding no reader of an image marked absent
    licence: str | None = None  # default: the edition's licence id
    optional: bool = False  # when root is absent: skip with a warning instead of failing
    burned_in_annotation_clean: bool = False


def edition_of(settings: Settings) -> str:
    """The configured edition, else the one whose label files are under root."""
    if settings.edition:
        return settings.edition
    root = settings.root
    if settings.train_csv and (root / settings.train_csv).is_file():
        return "kaggle"
    physionet = (settings.annotations_train, settings.annotations_test)
    if any(name and (root / name).is_file() for name in physionet):
        return "physionet"
    raise SourceError(
        f"{root}: neither the Kaggle train_csv ({settings.train_csv}) nor the PhysioNet "
        f"annotations ({settings.annotations_train}, {settings.annotations_test}) are there; "
        "set edition and the file names"
    )


# ---- what an item carries --------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """One annotation row: a reader's box of a finding (source pixels, corners), or the
    reader's "No finding" (``label`` None)."""

    row_number: int
    reader: str
    label: str | None
    box_xyxy: tuple[float, float, float, float] | None


@dataclass(frozen=True)
class ImageLabel:
    """A global, image-level label of PhysioNet: how many of the image's readers ticked it."""

    label: str
    votes: int
    readers: int
    row_number: int


@dataclass(frozen=True)
class Reads:
    """Per-item settings: every read of the image, its readers, and how to state absences."""

    reads: tuple[Read, ...]
    readers: tuple[str, ...]
    consensus: bool  # one consensus label (PhysioNet test): no fusion, exact counts
    categories: tuple[str, ...]  # findings stated absent when no reader marked them
    image_labels: tuple[ImageLabel, ...] = ()
    image_labels_file: str = ""


# ---- planning --------------------------------------------------------------------------


def _label(raw: str) -> str:
    key = _LABELS.get(raw.strip().casefold())
    if key is None:
        raise RowError(
            f"label {raw!r} is not in the VinDr-CXR map (schemas.vocab.VINDR_CXR_LABELS: "
            f"{', '.join(sorted(VINDR_CXR_LABELS))})"
        )
    return key


class _Unmapped(RowError):
    pass


def parse_annotation(fields: dict[str, str], row_number: int, reader_default: str) -> Read:
    """One annotation row as a Read; RowError (bad_csv_row), _Unmapped (label_unmapped)."""
    image_id = fields["image_id"]
    if not image_id or "/" in image_id or "\\" in image_id:
        raise RowError(f"field 'image_id': {image_id!r} is not an id")
    reader = fields.get("rad_id", reader_default) or reader_default
    if not reader:
        raise RowError("field 'rad_id' is empty")
    names = ("x_min", "y_min", "x_max", "y_max")
    has_box = [bool(fields[n]) for n in names]
    if fields["class_name"].strip().casefold() == VINDR_NO_FINDING.casefold():
        if any(has_box):
            raise RowError("a 'No finding' row with a box")
        return Read(row_number, reader, None, None)
    try:
        label = _label(fields["class_name"])
    except RowError as exc:
        raise _Unmapped(str(exc)) from None
    if not all(has_box):
        raise RowError(f"a {fields['class_name']!r} row without a complete box")
    x1, y1, x2, y2 = (parse_float(fields, n) for n in names)
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) is inverted or empty")
    return Read(row_number, reader, label, (x1, y1, x2, y2))


@dataclass
class _Image:
    split: str
    labels_file: Path
    reads: list[Read]
    image_labels: list[ImageLabel]


def _header(path: Path) -> list[str]:
    frame = pl.read_csv(path, has_header=False, n_rows=1, infer_schema=False)
    return [str(c or "").strip() for c in frame.row(0)]


def _read_annotations(
    path: Path, split: str, consensus: bool, images: dict, settings: Settings, ctx, out: Plan
) -> None:
    dataset = settings.dataset
    columns = ["image_id", "class_name", "x_min", "y_min", "x_max", "y_max"]
    if not consensus or "rad_id" in _header(path):
        columns.append("rad_id")
    rows = read_label_rows(path, columns)
    out.n_label_rows += len(rows)
    seen: set[tuple] = set()
    for row_number, fields in enumerate(rows, start=1):
        image_id = fields["image_id"]
        item_id = ctx.ids.study(dataset, image_id) if image_id else None

        def reject(reason: Reason, message: str, n: int = row_number, i=item_id) -> None:
            out.quarantine.append(
                quarantine_row(dataset, reason, message, str(path), n, stage=Stage.PLAN, item_id=i)
            )

        try:
            read = parse_annotation(fields, row_number, CONSENSUS if consensus else "")
        except _Unmapped as exc:
            reject(Reason.LABEL_UNMAPPED, f"row {row_number} ({image_id}): {exc}")
            continue
        except RowError as exc:
            reject(Reason.BAD_CSV_ROW, f"row {row_number} ({image_id}): {exc}")
            continue
        except ValueError as exc:
            reject(Reason.BOX_INVALID, f"row {row_number} ({image_id}): {exc}")
            continue
        key = (image_id, read.reader, read.label, read.box_xyxy)
        if key in seen:
            reject(Reason.DUPLICATE_ROW, f"row {row_number} repeats an earlier row of {image_id}")
            continue
        seen.add(key)
        image = images.setdefault(image_id, _Image(split, path, [], []))
        if image.split != split:
            reject(
                Reason.DUPLICATE_IMAGE_ID,
                f"{image_id} is in {split} and in {image.split}: this row is not used",
            )
            continue
        image.reads.append(read)


def _read_image_labels(path: Path, split: str, images: dict, settings: Settings, ctx, out: Plan):
    """PhysioNet's per-reader 0/1 label table: the global labels, as votes per image."""
    dataset = settings.dataset
    header = _header(path)
    known = {n.casefold() for n in (*_PHYSIONET_LOCAL, VINDR_NO_FINDING)}
    label_columns = []
    for name in header:
        if name in ("image_id", "rad_id") or name.casefold() in known:
            continue
        if name.strip().casefold() not in _LABELS:
            out.quarantine.append(
                quarantine_row(
                    dataset,
                    Reason.LABEL_UNMAPPED,
                    f"column {name!r} of {path.name} is not in the VinDr-CXR map "
                    "(schemas.vocab.VINDR_CXR_LABELS): its values are not used",
                    str(path),
                    0,
                    stage=Stage.PLAN,
                )
            )
            continue
        label_columns.append(name)
    rows = read_label_rows(path, ["image_id", *label_columns])
    out.n_label_rows += len(rows)
    votes: dict[str, dict[str, list[int]]] = {}
    first_row: dict[str, int] = {}
    for row_number, fields in enumerate(rows, start=1):
        image_id = fields["image_id"]
        bad = [c for c in label_columns if fields[c] not in ("0", "1", "0.0", "1.0")]
        if not image_id or bad:
            out.quarantine.append(
                quarantine_row(
                    dataset,
                    Reason.BAD_CSV_ROW,
                    f"row {row_number} ({image_id}): "
                    + (f"column(s) {bad} are not 0 or 1" if bad else "field 'image_id' is empty"),
                    str(path),
                    row_number,
                    stage=Stage.PLAN,
                    item_id=ctx.ids.study(dataset, image_id) if image_id else None,
                )
            )
            continue
        first_row.setdefault(image_id, row_number)
        per = votes.setdefault(image_id, {c: [] for c in label_columns})
        for c in label_columns:
            per[c].append(int(float(fields[c])))
    for image_id, per in votes.items():
        image = images.setdefault(image_id, _Image(split, path, [], []))
        for c, ticks in per.items():
            image.image_labels.append(
                ImageLabel(_label(c), sum(ticks), len(ticks), first_row[image_id])
            )


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """Items for every image the label files name, and quarantine rows for rows and files that
    cannot be used (malformed, unmapped label, inverted box, repeated, image missing)."""
    edition = edition_of(settings)
    dataset = settings.dataset
    out = Plan()
    # split -> (settings key, file name) of its label files, and its images folder
    if edition == "kaggle":
        label_files = {"train": [("train_csv", settings.train_csv)]}
        folders = {"train": settings.root / settings.train_images}
    else:
        label_files = {
            split: [
                (f"annotations_{split}", getattr(settings, f"annotations_{split}")),
                (f"image_labels_{split}", getattr(settings, f"image_labels_{split}")),
            ]
            for split in ("train", "test")
        }
        folders = {
            "train": settings.root / settings.train_images,
            "test": settings.root / settings.test_images,
        }
    images: dict[str, _Image] = {}
    for split, named in label_files.items():
        consensus = edition == "physionet" and split == "test"
        for key, name in named:
            if name is None:
                continue
            path = settings.root / name
            if not path.is_file():
                raise SourceError(f"label file not found: {path} (set {key}, or null)")
            if key.startswith("image_labels"):
                _read_image_labels(path, split, images, settings, ctx, out)
            else:
                _read_annotations(path, split, consensus, images, settings, ctx, out)

    files = {split: index_files(folder, (".dicom",)) for split, folder in folders.items()}
    for split, found in files.items():
        unlabelled = sorted(n for n in found if Path(n).stem not in images)
        if unlabelled:
            out.notes.append(
                f"{dataset}: {len(unlabelled)} image file(s) under {folders[split]} are named "
                f"by no label row and are not inputs (e.g. {unlabelled[0]})"
            )
    licence = settings.licence or LICENCES[edition].id
    for image_id in sorted(images):
        image = images[image_id]
        _plan_image(image_id, image, edition, folders, files, licence, settings, ctx, out)
    return out


def _plan_image(image_id, image: _Image, edition, folders, files, licence, settings, ctx, out):
    dataset = settings.dataset
    study_id = ctx.ids.study(dataset, image_id)
    folder = folders[image.split]
    name = f"{image_id}.dicom"
    n_rows = len(image.reads) + len({il.row_number for il in image.image_labels})
    found, rows = pick_indexed_file(
        dataset,
        name,
        files[image.split].get(name, []),
        folder,
        item_id=study_id,
        missing=f"{image.labels_file.name} names {image_id}, whose {name} is not under {folder} "
        f"({n_rows} label row(s) unused)",
    )
    out.quarantine += rows
    if found is None:
        return
    paths = [found]
    consensus = edition == "physionet" and image.split == "test"
    readers = (CONSENSUS,) if consensus else tuple(sorted({r.reader for r in image.reads}))
    reads = Reads(
        reads=tuple(image.reads),
        readers=readers,
        consensus=consensus,
        categories=CATEGORIES[edition] if settings.absences else (),
        image_labels=tuple(image.image_labels),
    )
    stat = paths[0].stat()
    out.items.append(
        SourceItem(
            dataset=dataset,
            kind=KIND,
            reader="dicom",
            item_id=image_id,
            patient_key=image_id,  # VinDr names no patient
            path=str(paths[0]),
            labels_file=str(image.labels_file),
            rows=tuple(
                LabelRow(r.row_number, r.label, True, _xywh(r.box_xyxy))
                for r in image.reads
                if r.label and r.box_xyxy
            ),
            licence=licence,
            extractor=EXTRACTOR,
            extractor_version=VERSION,
            modality="XR",
            file_size=stat.st_size,
            file_mtime_ns=stat.st_mtime_ns,
            exhaustive=consensus,  # fused counts of 3 disagreeing readers are not exact
            burned_in_clean=settings.burned_in_annotation_clean,
            settings=reads,
        )
    )


def _xywh(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    return (x1, y1, x2 - x1, y2 - y1)


# ---- fusion ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fused:
    """A fused box of one finding, the reads behind it and the readers' agreement."""

    box: Box
    members: tuple[tuple[str, Box], ...]  # (reader, own box) with IoU >= FUSION_IOU
    confidence: float


def fuse(reads: Sequence[tuple[str, Box]], n_readers: int, iou_thr: float = FUSION_IOU):
    """Weighted boxes fusion of one finding's reads on one image (normalised boxes, one list
    per reader, every score 1.0); each fused box with the reads within ``iou_thr`` of it and
    its agreement (readers among them / ``n_readers``), in reading order (top, then left)."""
    from ensemble_boxes import weighted_boxes_fusion

    if not reads:
        return []
    readers = sorted({r for r, _ in reads})
    boxes_list = [[b.as_list() for r, b in reads if r == reader] for reader in readers]
    scores_list = [[1.0] * len(bl) for bl in boxes_list]
    labels_list = [[0] * len(bl) for bl in boxes_list]
    boxes, _, _ = weighted_boxes_fusion(
        boxes_list, scores_list, labels_list, iou_thr=iou_thr, skip_box_thr=0.0
    )
    fused = []
    for coords in np.asarray(boxes, dtype=np.float64):
        box = Box(*(float(v) for v in coords)).clipped()
        members = tuple((r, b) for r, b in reads if b.iou(box) >= iou_thr)
        if not members:  # a fused box drifts off every read only in odd clusters
            members = (max(reads, key=lambda rb: rb[1].iou(box)),)
        agreeing = len({r for r, _ in members})
        fused.append(Fused(box, members, min(1.0, agreeing / max(n_readers, 1))))
    fused.sort(key=lambda f: (f.box.y1, f.box.x1, f.box.y2, f.box.x2))
    return fused


# ---- processing ------------------------------------------------------------------------


def labels(item: SourceItem, study: Study) -> Labels:
    """Every reader's box checked against the decoded image and fused, then the findings
    (fused boxes, absences, global labels), and a step that puts each reader's own boxes in
    the provenance of the records their fused boxes are in."""
    info: Reads = item.settings
    reads, rejected = _checked_reads(item, info, study)
    findings: list[Finding] = []
    behind: dict[tuple[float, ...], list[ReaderBox]] = {}
    for label in sorted(reads):
        entries = reads[label]
        for fused in _fused(entries, info):
            rows = [n for r, b, n in entries if (r, b) in fused.members]
            named = NamedBox.of(fused.box, label)
            findings.append(_finding(study, item, label, named, min(rows), fused.confidence))
            if not info.consensus:
                behind[tuple(fused.box.as_list())] = [
                    ReaderBox(r, *b.as_list(), label) for r, b in fused.members
                ]
    named_labels = {r.label for r in info.reads if r.label}
    for label in info.categories:
        if label not in named_labels:
            findings.append(_finding(study, item, label, None, None, 1.0, present=False))
    for il in info.image_labels:
        if il.label in _GLOBAL_KEYS:
            share = il.votes / il.readers if il.readers else 0.0
            present = il.votes > 0
            confidence = share if present else 1.0
            findings.append(
                _finding(study, item, il.label, None, il.row_number, confidence, present=present)
            )

    def complete(records: list[GroundingRecord]) -> None:
        for record in records:
            readers: list[ReaderBox] = []
            for b in [*record.question_boxes, *record.answer_boxes]:
                for rb in behind.get((b.x1, b.y1, b.x2, b.y2), []):
                    if rb not in readers:
                        readers.append(rb)
            record.provenance.readers = readers

    return Labels(findings, rejected, complete)


def process(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """Decode the DICOM (its size is the boxes' frame), then findings and records."""
    return process_image(item, ctx, labels)


def _checked_reads(
    item: SourceItem, info: Reads, study: Study
) -> tuple[dict[str, list[tuple[str, Box, int]]], list[QuarantineRow]]:
    """Every reader's box normalised to the decoded image, by finding; quarantine rows for the
    boxes under the size floor or outside the image."""
    reads: dict[str, list[tuple[str, Box, int]]] = {}
    rejected: list[QuarantineRow] = []

    def reject(reason: Reason, message: str, row_number: int) -> None:
        rejected.append(
            quarantine_row(
                item.dataset,
                reason,
                message,
                item.labels_file,
                row_number,
                stage=Stage.FINDINGS,
                item_id=study.study_id,
            )
        )

    for read in info.reads:
        if read.label is None or read.box_xyxy is None:
            continue
        row = LabelRow(read.row_number, read.label, True, _xywh(read.box_xyxy))
        assert row.box_xywh is not None
        if min(row.box_xywh[2:]) < MIN_BOX_PX:
            reject(
                Reason.BOX_TOO_SMALL,
                f"reader {read.reader}'s {read.label} box {row.box_xywh[2]:g} x "
                f"{row.box_xywh[3]:g} source pixels, under the minimum of {MIN_BOX_PX:g} px",
                read.row_number,
            )
            continue
        box = source_box(row, study.source_width, study.source_height)
        if isinstance(box, str):
            reject(
                Reason.BOX_OUT_OF_BOUNDS,
                f"reader {read.reader}'s {read.label} {box}",
                read.row_number,
            )
            continue
        reads.setdefault(read.label, []).append((read.reader, box, read.row_number))
    return reads, rejected


def _fused(entries: list[tuple[str, Box, int]], info: Reads) -> list[Fused]:
    if info.consensus:  # one consensus label: every box as given
        return [Fused(b, ((r, b),), 1.0) for r, b, _ in entries]
    return fuse([(r, b) for r, b, _ in entries], len(info.readers))


def _finding(
    study: Study,
    item: SourceItem,
    label: str,
    box: NamedBox | None,
    source_row: int | None,
    confidence: float,
    *,
    present: bool = True,
) -> Finding:
    coords = (box.x1, box.y1, box.x2, box.y2) if box else None
    return Finding(
        finding_id=stable_id("finding", study.study_id, label, present, coords),
        study_id=study.study_id,
        patient_id=study.patient_id,
        label=label,
        present=present,
        box=box,
        source_row=source_row,
        extractor=item.extractor,
        extractor_version=item.extractor_version,
        confidence=confidence,
    )


LABEL_METHOD = LabelMethod(
    EXTRACTOR,
    "expert",
    "VinDr-CXR boxes of local findings by radiologists: train images read by 3 readers each, "
    f"fused per finding with weighted boxes fusion (IoU {FUSION_IOU}), every reader's box kept "
    "in provenance.readers; test images (PhysioNet) a 5-radiologist consensus",
    "reference labels (not re-measured); confidence is reader agreement (readers whose box "
    "went into the fused box / readers of the image); boxes reproduced within 1 px (tests)",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process,
    layout="Kaggle: train_csv (train.csv: image_id, class_name, class_id, rad_id, x_min, y_min, "
    "x_max, y_max; DICOM pixels) + train/<image_id>.dicom; PhysioNet: "
    "annotations/annotations_{train,test}.csv (image_id, rad_id, class_name, x_min..y_max) + "
    "annotations/image_labels_{train,test}.csv + {train,test}/<image_id>.dicom",
    licences=tuple(LICENCES.values()),
    label_methods=(LABEL_METHOD,),
)
