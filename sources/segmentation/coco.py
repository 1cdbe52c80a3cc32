"""COCO detection / instance-segmentation JSON (TBX11K and many detection sets):
``{"images": [{id, file_name, width, height}], "annotations": [{id, image_id, category_id,
bbox: [x, y, w, h], segmentation: polygons | RLE, iscrowd}], "categories": [{id, name}]}``,
images under ``images_dir`` (``file_name`` relative to it).

Boxes are COCO's ``bbox`` (top-left corner plus size in pixels); an annotation without one
gets the box of its mask (polygons: ``extractors.masks.polygons_mask``; RLE:
``decode_coco_rle``). A crowd annotation (``iscrowd: 1``) marks a group, not one object: it
is boxed, and its image gets no counting records. Every instance of every category is
annotated (COCO's convention), so a category an image has no annotation of is stated absent
(``absences``), and an image without annotations is a negative for every category.
Category names become labels through ``schemas.vocab.label_of``.

Each annotation is a label row (its 1-based place in ``annotations``); one naming an image
id the file does not list, or an unknown category, is a quarantine row; an image whose file
is missing is a quarantine row for the image.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from extractors.masks import MaskError, decode_coco_rle, mask_box, polygons_mask
from schemas.enums import Reason, Stage
from schemas.modality import modality_code
from schemas.vocab import LabelKind, label_of
from shards.label_methods import LabelMethod
from sources.base import (
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
from sources.radiograph.csv_labels import SourceError
from sources.radiograph.process import process_radiograph
from sources.segmentation.licences import KNOWN_LICENCES

KIND = "coco"
EXTRACTOR = "sources.coco"
VERSION = "1"


class Settings(SourceSettings):
    """``{kind: coco, root, annotations, images_dir, modality, licence}``."""

    kind: Literal["coco"]
    root: Path
    annotations: str  # the COCO JSON, relative to root
    images_dir: str = "."  # file_name is relative to it
    modality: str  # xray, endoscopy, ... (schemas.modality)
    absences: bool = True  # a category an image has no annotation of is stated absent
    label_kinds: dict[str, LabelKind] = Field(default_factory=dict)
    patient_regex: str | None = None  # first group of the file stem is the patient
    licence: str
    optional: bool = False


class AnnotationError(ValueError):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_coco(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SourceError(f"COCO file not found: {path} (set annotations)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{path}: not readable as JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise SourceError(f"{path}: not a COCO file (no 'images' list)")
    return data


def annotation_box(ann: dict, image: dict) -> tuple[float, float, float, float]:
    """An annotation's ``[x, y, w, h]`` pixel box: its ``bbox``, else its mask's box."""
    bbox = ann.get("bbox")
    if bbox:
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise AnnotationError(Reason.BAD_CSV_ROW, f"bbox {bbox!r} is not [x, y, w, h]")
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in bbox):
            raise AnnotationError(Reason.BAD_CSV_ROW, f"bbox {bbox!r} has a non-number")
        x, y, w, h = (float(v) for v in bbox)
        if w <= 0 or h <= 0:
            raise AnnotationError(Reason.BOX_INVALID, f"bbox {bbox!r} is empty")
        return x, y, w, h
    seg = ann.get("segmentation")
    height, width = int(image.get("height") or 0), int(image.get("width") or 0)
    if not seg or not height or not width:
        raise AnnotationError(
            Reason.BAD_CSV_ROW, "no bbox, and no segmentation with the image's height and width"
        )
    try:
        mask = (
            decode_coco_rle(seg, height, width)
            if isinstance(seg, dict)
            else (polygons_mask(seg, height, width))
        )
    except MaskError as exc:
        raise AnnotationError(Reason.BAD_CSV_ROW, f"segmentation: {exc}") from None
    box = mask_box(mask)
    if box is None:
        raise AnnotationError(Reason.MASK_EMPTY, "segmentation marks no pixel")
    return box[0], box[1], box[2] - box[0], box[3] - box[1]


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """An item per image the file lists, its annotations as label rows (absences for the
    categories it lacks); quarantine rows for unusable annotations and missing files."""
    import re

    dataset, out = settings.dataset, Plan()
    path = settings.root / settings.annotations
    data = read_coco(path)
    categories = {
        c.get("id"): label_of(str(c.get("name", "")), settings.label_kinds)
        for c in data.get("categories", [])
        if isinstance(c, dict)
    }
    images: dict[Any, dict] = {}
    for n, im in enumerate(data["images"], start=1):
        name = im.get("file_name") if isinstance(im, dict) else None
        if not isinstance(name, str) or not name or ".." in Path(name).parts:
            problem = f"images entry {n}: file_name {name!r} is not a relative file name"
        elif im.get("id") in images:
            problem = f"images entry {n}: id {im.get('id')!r} is listed twice"
        else:
            images[im.get("id")] = im
            continue
        out.quarantine.append(
            quarantine_item(dataset, Reason.BAD_CSV_ROW, problem, str(path), stage=Stage.PLAN)
        )
    annotations = data.get("annotations", []) or []
    out.n_label_rows = len(annotations)
    rows: dict[Any, list[LabelRow]] = {k: [] for k in images}
    crowd: set[Any] = set()
    for n, ann in enumerate(annotations, start=1):

        def reject(reason: Reason, message: str, image_id: Any = None, n: int = n) -> None:
            sid = None
            if image_id in images:
                sid = ctx.ids.study(dataset, images[image_id]["file_name"])
            out.quarantine.append(
                quarantine_row(
                    dataset,
                    reason,
                    f"annotation {n}: {message}",
                    str(path),
                    n,
                    stage=Stage.PLAN,
                    item_id=sid,
                )
            )

        if not isinstance(ann, dict):
            reject(Reason.BAD_CSV_ROW, "not an object")
            continue
        image_id = ann.get("image_id")
        if image_id not in images:
            reject(
                Reason.IMAGE_ID_UNKNOWN,
                f"image_id {image_id!r} is not in the file's images: its box is not used",
            )
            continue
        label = categories.get(ann.get("category_id"))
        if label is None:
            reject(
                Reason.LABEL_UNMAPPED,
                f"category_id {ann.get('category_id')!r} is not in the file's categories",
                image_id,
            )
            continue
        try:
            xywh = annotation_box(ann, images[image_id])
        except AnnotationError as exc:
            reject(exc.reason, str(exc), image_id)
            continue
        if ann.get("iscrowd"):
            crowd.add(image_id)
        rows[image_id].append(LabelRow(n, label, True, xywh))
    patient_re = re.compile(settings.patient_regex) if settings.patient_regex else None
    images_dir = settings.root / settings.images_dir
    for image_id, image in sorted(images.items(), key=lambda kv: str(kv[1]["file_name"])):
        file_name = image["file_name"]
        study_id = ctx.ids.study(dataset, file_name)
        file = images_dir / file_name
        if not file.is_file():
            out.quarantine.append(
                quarantine_item(
                    dataset,
                    Reason.FILE_MISSING,
                    f"{path.name} lists image {file_name} (id {image_id}), not under "
                    f"{images_dir} ({len(rows[image_id])} annotation(s) unused)",
                    str(file),
                    stage=Stage.PLAN,
                    item_id=study_id,
                )
            )
            continue
        if outside_root(file, settings.root):
            out.quarantine.append(
                quarantine_item(
                    dataset,
                    Reason.PATH_OUTSIDE_ROOT,
                    f"{file_name} resolves outside {settings.root}: not read",
                    str(file),
                    stage=Stage.PLAN,
                    item_id=study_id,
                )
            )
            continue
        item_rows = list(rows[image_id])
        if settings.absences:
            named = {r.label for r in item_rows}
            item_rows += [
                LabelRow(0, label, False, None)
                for label in sorted(set(categories.values()) - named)
            ]
        stem = Path(file_name).stem
        patient = stem
        if patient_re is not None and (m := patient_re.search(stem)) and m.groups():
            patient = m.group(1)
        stat = file.stat()
        out.items.append(
            SourceItem(
                dataset=dataset,
                kind=KIND,
                reader="dicom" if file.suffix.lower() == ".dcm" else "image",
                item_id=file_name,
                patient_key=patient,
                path=str(file),
                labels_file=str(path),
                rows=tuple(item_rows),
                licence=settings.licence,
                extractor=EXTRACTOR,
                extractor_version=VERSION,
                modality=modality_code(settings.modality),
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
                exhaustive=image_id not in crowd,
            )
        )
    return out


LABEL_METHOD = LabelMethod(
    EXTRACTOR,
    "expert",
    "the dataset's own COCO boxes ([x, y, w, h] pixels; the mask's box where bbox is absent)",
    "reference labels (not re-measured); boxes reproduced within 1 px of the JSON (tests)",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process_radiograph,
    layout="annotations (COCO JSON: images, annotations [bbox, segmentation, iscrowd], "
    "categories) + images under images_dir",
    licences=KNOWN_LICENCES,
    label_methods=(LABEL_METHOD,),
)
