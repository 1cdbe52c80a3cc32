"""CheXlocalize (Saporta et al. 2022): radiologists' pixel-level segmentations of 10
pathologies on CheXpert validation and test radiographs (234 and 668 images).

Read as Stanford AIMI publishes it, per split (``val``, ``test``):
``gt_segmentations_<split>.json`` (``{image_id: {pathology: COCO RLE}}``, every pathology of
an image, an empty mask where it has none), ``gt_annotations_<split>.json`` (the same
annotations as polygons: ``{image_id: {"img_size": [h, w], pathology: [[[x, y], ...], ...]}}``,
only the pathologies drawn), and CheXpert's image-level labels (``valid.csv`` /
``test_labels.csv``: ``Path`` then one column per pathology, 1.0 positive, 0.0 negative,
-1.0 uncertain; "Airspace Opacity" in the JSON is "Lung Opacity" there). Images are the
CheXpert JPEGs under ``images_dir`` in their own folders (``valid/patient64541/study1/
view1_frontal.jpg``): the image id ``patient64541_study1_view1_frontal`` names the last three
parts of that path, which is how the image and its CSV row (``CheXpert-v1.0/valid/...``, any
prefix) are found.

Masks: the segmentation (RLE) when the segmentation file has the image's pathology, else the
polygons filled (``extractors.masks``); both must have the radiograph's size (else
``mask_mismatch``). One box per 8-connected component of each pathology's mask, so the
labels are exhaustive. A segmented pathology with an empty mask is stated absent when the
CSV marks it negative, present without a box when positive (nothing is invented), and not
stated otherwise; CSV pathologies CheXlocalize does not segment (pneumonia, fracture,
pleural other) give presence from the CSV alone. The patient is CheXpert's ``patientXXXXX``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from extractors.masks import MaskError, decode_coco_rle, mask_boxes, polygons_mask
from schemas.enums import Reason, Stage
from schemas.vocab import CHEXLOCALIZE_LABELS, CHEXPERT_LABELS
from shards.label_methods import LabelMethod
from shards.licences import Licence
from sources.base import (
    LabelRow,
    Plan,
    PlanContext,
    Source,
    SourceItem,
    SourceSettings,
    pick_indexed_file,
    quarantine_row,
)
from sources.context import ItemContext, ItemOutput
from sources.radiograph.csv_labels import SourceError
from sources.radiograph.process import process_rows_on_grid

KIND = "chexlocalize"
EXTRACTOR = "sources.chexlocalize"
VERSION = "1"
SPLITS = ("val", "test")
# CSV columns that are not a pathology: read apart ("No Finding") or not labels at all.
_CSV_META = ("Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", "No Finding")

LICENCE = Licence(
    "CheXlocalize",
    "CheXlocalize annotations and CheXpert images: Stanford University School of Medicine "
    "CheXpert Dataset Research Use Agreement (research use only, no redistribution of the "
    "images); the cheXlocalize code is MIT",
    "https://stanfordaimi.azurewebsites.net/datasets/23c56a0d-15de-405b-87c8-99c30138950c",
    "Saporta A, Gui X, Agrawal A, et al. Benchmarking saliency methods for chest X-ray "
    "interpretation. Nature Machine Intelligence 2022;4:867-878. Images: Irvin J, Rajpurkar "
    "P, Ko M, et al. CheXpert: A Large Chest Radiograph Dataset with Uncertainty Labels and "
    "Expert Comparison. AAAI 2019.",
)


class Settings(SourceSettings):
    """CheXlocalize as downloaded: ``{kind: chexlocalize, root: <folder>}`` reads both
    splits' files under root (a split none of whose files is there is skipped with a note);
    each file name can be overridden, or set to null to not read it."""

    kind: Literal["chexlocalize"]
    root: Path
    val_segmentations: str | None = "gt_segmentations_val.json"
    test_segmentations: str | None = "gt_segmentations_test.json"
    val_annotations: str | None = "gt_annotations_val.json"
    test_annotations: str | None = "gt_annotations_test.json"
    val_labels_csv: str | None = "valid.csv"
    test_labels_csv: str | None = "test_labels.csv"
    images_dir: str = "."  # relative to root, searched recursively for the JPEGs
    licence: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class MaskSpec:
    """One pathology's mask as the file gives it: an RLE or polygons, and where it is."""

    name: str  # the pathology as the JSON spells it
    label: str  # canonical key
    labels_file: str
    row_number: int  # the image's 1-based place in that file
    rle_size: tuple[int, ...] | None = None
    rle_counts: str | tuple[int, ...] | None = None
    polygons: tuple[tuple[tuple[float, float], ...], ...] | None = None
    polygon_size: tuple[int, int] | None = None  # the annotation's img_size [h, w]


@dataclass(frozen=True)
class ItemMasks:
    """An image's masks and its CSV labels (canonical key -> 1.0 / 0.0 / -1.0)."""

    masks: tuple[MaskSpec, ...]
    csv_labels: tuple[tuple[str, float], ...]
    csv_file: str | None
    csv_row: int | None


def _read_json(path: Path, key: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{path}: not readable as JSON ({key}): {exc}") from None
    if not isinstance(data, dict):
        raise SourceError(f"{path}: expected an object of images, found {type(data).__name__}")
    return data


def _tail(path: str) -> tuple[str, ...]:
    """The patient / study / file parts that name a CheXpert image."""
    return tuple(path.replace("\\", "/").split("/")[-3:])


def image_tail(image_id: str) -> tuple[str, str, str] | None:
    """``patient64541_study1_view1_frontal`` -> (patient64541, study1, view1_frontal.jpg)."""
    parts = image_id.split("_", 2)
    if len(parts) != 3 or not parts[0].startswith("patient") or not parts[1].startswith("study"):
        return None
    return parts[0], parts[1], f"{parts[2]}.jpg"


def _read_csv(path: Path, dataset: str, out: Plan) -> dict[tuple[str, ...], tuple[int, dict]]:
    """CSV rows by image path tail: (row number, canonical label -> value)."""
    rows: dict[tuple[str, ...], tuple[int, dict]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        if "Path" not in columns:
            raise SourceError(f"{path}: no 'Path' column (columns: {', '.join(columns)})")
        for column in columns:
            if column not in _CSV_META and column not in CHEXPERT_LABELS:
                out.quarantine.append(
                    quarantine_row(
                        dataset,
                        Reason.LABEL_UNMAPPED,
                        f"column {column!r} is not in the CheXpert map "
                        "(schemas.vocab.CHEXPERT_LABELS): its labels are not read",
                        str(path),
                        0,
                        stage=Stage.PLAN,
                    )
                )
        for n, row in enumerate(reader, start=1):
            values = {}
            for column, label in CHEXPERT_LABELS.items():
                text = (row.get(column) or "").strip()
                if not text:
                    continue
                try:
                    values[label] = float(text)
                except ValueError:
                    out.quarantine.append(
                        quarantine_row(
                            dataset,
                            Reason.BAD_CSV_ROW,
                            f"row {n} column {column!r}: {text!r} is not 1.0, 0.0 or -1.0",
                            str(path),
                            n,
                            stage=Stage.PLAN,
                        )
                    )
            rows[_tail(row.get("Path") or "")] = (n, values)
    return rows


def _mask_specs(
    image_id: str,
    seg: Any,
    ann: Any,
    files: tuple[Path | None, Path | None],
    rows: tuple[int, int],
    dataset: str,
    out: Plan,
    item_id: str,
) -> list[MaskSpec]:
    """Every pathology of one image with its mask source (RLE first, else polygons); an
    unmapped pathology or a malformed entry is a quarantine row."""
    seg_file, ann_file = files
    specs: dict[str, MaskSpec] = {}

    def reject(reason: Reason, message: str, file: Path, row: int) -> None:
        out.quarantine.append(
            quarantine_row(
                dataset, reason, message, str(file), row, stage=Stage.PLAN, item_id=item_id
            )
        )

    size: tuple[int, int] | None = None
    if isinstance(ann, dict) and ann_file is not None:
        raw = ann.get("img_size")
        if isinstance(raw, list) and len(raw) == 2 and all(isinstance(v, int) for v in raw):
            size = (raw[0], raw[1])
        else:
            reject(
                Reason.BAD_CSV_ROW, f"{image_id}: img_size {raw!r} is not [h, w]", ann_file, rows[1]
            )
            ann = {}
    for source, entry, file, row in (
        ("rle", seg, seg_file, rows[0]),
        ("polygons", ann, ann_file, rows[1]),
    ):
        if not isinstance(entry, dict) or file is None:
            continue
        for name, value in entry.items():
            if name == "img_size" or name in specs:
                continue
            label = CHEXLOCALIZE_LABELS.get(name)
            if label is None:
                reject(
                    Reason.LABEL_UNMAPPED,
                    f"{image_id}: pathology {name!r} is not in the CheXlocalize map "
                    "(schemas.vocab.CHEXLOCALIZE_LABELS)",
                    file,
                    row,
                )
                continue
            base = MaskSpec(name, label, str(file), row)
            if source == "rle":
                counts = value.get("counts") if isinstance(value, dict) else None
                rle_size = value.get("size") if isinstance(value, dict) else None
                if not isinstance(counts, str | list) or not isinstance(rle_size, list):
                    reject(Reason.MASK_READ_ERROR, f"{image_id} {name}: not a COCO RLE", file, row)
                    continue
                counts = counts if isinstance(counts, str) else tuple(counts)
                specs[name] = replace(base, rle_size=tuple(rle_size), rle_counts=counts)
            else:
                try:
                    polys = tuple(tuple((float(x), float(y)) for x, y in p) for p in value)
                except (TypeError, ValueError):
                    reject(
                        Reason.MASK_READ_ERROR,
                        f"{image_id} {name}: not a list of [[x, y], ...] polygons",
                        file,
                        row,
                    )
                    continue
                specs[name] = replace(base, polygons=polys, polygon_size=size)
    return [specs[k] for k in sorted(specs, key=lambda k: CHEXLOCALIZE_LABELS[k])]


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """An item for every image the split files name; quarantine rows for unmapped
    pathologies, malformed entries and images that are missing or outside the root."""
    dataset = settings.dataset
    out = Plan()
    images_dir = settings.root / settings.images_dir
    jpegs: dict[tuple[str, ...], list[Path]] = {}
    if images_dir.is_dir():
        for p in sorted(images_dir.rglob("*.jpg")):
            jpegs.setdefault(_tail(str(p.relative_to(images_dir))), []).append(p)
    for split in SPLITS:
        named = {
            key: getattr(settings, f"{split}_{key}")
            for key in ("segmentations", "annotations", "labels_csv")
        }
        paths = {k: settings.root / v for k, v in named.items() if v is not None}
        present = {k: p for k, p in paths.items() if p.is_file()}
        if not present.keys() & {"segmentations", "annotations"}:
            if paths:
                out.notes.append(
                    f"{dataset}: no {split} segmentations or annotations under {settings.root} "
                    f"({', '.join(str(named[k]) for k in paths)}): the {split} split is not read"
                )
            continue
        seg = (
            _read_json(present["segmentations"], f"{split}_segmentations")
            if "segmentations" in present
            else {}
        )
        ann = (
            _read_json(present["annotations"], f"{split}_annotations")
            if "annotations" in present
            else {}
        )
        csv_path = present.get("labels_csv")
        csv_rows = _read_csv(csv_path, dataset, out) if csv_path else {}
        if csv_path is None and "labels_csv" in paths:
            out.notes.append(
                f"{dataset}: {paths['labels_csv']} not found: {split} images get no CSV labels "
                "(no absences)"
            )
        seg_rows = {k: n for n, k in enumerate(seg, start=1)}
        ann_rows = {k: n for n, k in enumerate(ann, start=1)}
        out.n_label_rows += len(set(seg) | set(ann))
        for image_id in sorted(set(seg) | set(ann)):
            _plan_image(
                image_id,
                (seg.get(image_id), ann.get(image_id)),
                (present.get("segmentations"), present.get("annotations")),
                (seg_rows.get(image_id, 0), ann_rows.get(image_id, 0)),
                csv_rows,
                csv_path,
                jpegs,
                images_dir,
                settings,
                ctx,
                out,
            )
    return out


def _plan_image(
    image_id: str,
    entries: tuple[Any, Any],
    files: tuple[Path | None, Path | None],
    rows: tuple[int, int],
    csv_rows: dict,
    csv_path: Path | None,
    jpegs: dict[tuple[str, ...], list[Path]],
    images_dir: Path,
    settings: Settings,
    ctx: PlanContext,
    out: Plan,
) -> None:
    dataset = settings.dataset
    study_id = ctx.ids.study(dataset, image_id)
    labels_file = files[0] if entries[0] is not None else files[1]
    assert labels_file is not None
    row_number = rows[0] if entries[0] is not None else rows[1]
    tail = image_tail(image_id)
    if tail is None:
        out.quarantine.append(
            quarantine_row(
                dataset,
                Reason.BAD_CSV_ROW,
                f"image id {image_id!r} is not patientN_studyN_viewN_<frontal|lateral>",
                str(labels_file),
                row_number,
                stage=Stage.PLAN,
            )
        )
        return
    specs = _mask_specs(image_id, entries[0], entries[1], files, rows, dataset, out, study_id)
    image_path, rows = pick_indexed_file(
        dataset,
        "/".join(tail),
        jpegs.get(tail, []),
        images_dir,
        item_id=study_id,
        missing=f"{labels_file.name} image {image_id} has no {'/'.join(tail)} under "
        f"{images_dir} ({len(specs)} mask(s) unused)",
    )
    out.quarantine += rows
    if image_path is None:
        return
    found = [image_path]
    csv_row, csv_labels = csv_rows.get(tail, (None, {}))
    stat = found[0].stat()
    out.items.append(
        SourceItem(
            dataset=dataset,
            kind=KIND,
            reader="jpeg",
            item_id=image_id,
            patient_key=tail[0],
            path=str(found[0]),
            labels_file=str(labels_file),
            rows=(),
            licence=settings.licence or LICENCE.id,
            extractor=EXTRACTOR,
            extractor_version=VERSION,
            modality="XR",
            file_size=stat.st_size,
            file_mtime_ns=stat.st_mtime_ns,
            exhaustive=True,
            settings=ItemMasks(
                tuple(specs),
                tuple(sorted(csv_labels.items())),
                str(csv_path) if csv_path and csv_row else None,
                csv_row,
            ),
        )
    )


def size_problem(spec: MaskSpec, height: int, width: int) -> str | None:
    """Why the mask's own size is not the radiograph's, or None."""
    size = spec.rle_size if spec.rle_counts is not None else spec.polygon_size
    if size is not None and tuple(size) != (height, width):
        what = "RLE size" if spec.rle_counts is not None else "annotation img_size"
        return f"{what} {list(size)} is not the image's [height, width] [{height}, {width}]"
    return None


def decode_mask(spec: MaskSpec, height: int, width: int):
    """The pathology's boolean mask on a height x width radiograph; MaskError when its code
    does not describe such an image."""
    if spec.rle_counts is not None:
        counts = spec.rle_counts if isinstance(spec.rle_counts, str) else list(spec.rle_counts)
        return decode_coco_rle({"size": list(spec.rle_size or ()), "counts": counts}, height, width)
    return polygons_mask(spec.polygons or (), height, width)


def mask_rows(item: SourceItem, height: int, width: int) -> tuple[list[LabelRow], list]:
    """Label rows of an item on its height x width image: a box per mask component, then
    what the CSV states for pathologies without one; quarantine rows for masks that do not
    fit the image."""
    masks: ItemMasks = item.settings
    rows: list[LabelRow] = []
    rejected = []
    boxed: set[str] = set()
    unusable: set[str] = set()
    for spec in masks.masks:
        reason, problem = Reason.MASK_MISMATCH, size_problem(spec, height, width)
        if problem is None:
            try:
                mask = decode_mask(spec, height, width)
            except MaskError as exc:
                reason, problem = Reason.MASK_READ_ERROR, str(exc)
        if problem is not None:
            unusable.add(spec.label)
            rejected.append(
                quarantine_row(
                    item.dataset,
                    reason,
                    f"{item.item_id} {spec.name}: {problem}; its boxes are not used",
                    spec.labels_file,
                    spec.row_number,
                    stage=Stage.FINDINGS,
                )
            )
            continue
        for comp in mask_boxes(mask).kept:
            x1, y1, x2, y2 = comp.box
            rows.append(LabelRow(spec.row_number, spec.label, True, (x1, y1, x2 - x1, y2 - y1)))
            boxed.add(spec.label)
    csv_row = masks.csv_row or 0
    for label, value in masks.csv_labels:
        if label in boxed or label in unusable:
            continue
        if value == 0.0:
            rows.append(LabelRow(csv_row, label, False, None))
        elif value == 1.0:  # positive, but nothing drawn: present, no box invented
            rows.append(LabelRow(csv_row, label, True, None))
    return rows, rejected


def process_chexlocalize(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """Decode the item's masks on its image's grid (read from the JPEG header), then the
    radiograph processor with the rows they give."""
    return process_rows_on_grid(item, ctx, lambda it, width, height: mask_rows(it, height, width))


LABEL_METHOD = LabelMethod(
    EXTRACTOR,
    "expert",
    "CheXlocalize radiologist segmentations of 10 pathologies on CheXpert validation/test "
    "images, one box per connected mask component; image-level CheXpert labels (radiologist "
    "consensus) for presence",
    "reference labels (not re-measured); boxes equal the decoded masks' components (tests)",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process_chexlocalize,
    layout="gt_segmentations_{val,test}.json ({image_id: {pathology: COCO RLE}}) and/or "
    "gt_annotations_{val,test}.json ({image_id: {img_size [h,w], pathology: polygons}}) + "
    "CheXpert valid.csv / test_labels.csv + JPEGs <split>/patientN/studyN/viewN_<view>.jpg "
    "under images_dir",
    licences=(LICENCE,),
    label_methods=(LABEL_METHOD,),
)
