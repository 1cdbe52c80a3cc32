"""ChestX-Det (Lian et al. 2021) and ChestX-Det10 (Liu et al. 2020): instance-level boxes that
three board-certified radiologists drew on NIH ChestX-ray14 images (3,578 and 3,543 of them,
renumbered ``36199.png`` ... ``70958.png``, 1024 x 1024 PNGs).

Read as Deepwise-AILab publishes it: JSON lists of
``{"file_name", "syms": [label, ...], "boxes": [[x1, y1, x2, y2], ...]}`` (ChestX-Det adds
``"polygons"``, one contour per box), one file for train and one for test, and the PNGs of
``train_data.zip`` / ``test_data.zip`` unpacked anywhere under ``images_dir`` (searched
recursively). Boxes are corners in source pixels; they are kept as given (``x2 - x1`` wide).

Every instance of the edition's categories is boxed, so the labels are exhaustive (counting
records) and, with ``absences`` on, a category an image has no box of is stated absent.
An entry is one label row: its ``row_number`` is the entry's 1-based place in its file.

Split: the publishers' own (``split: publisher``, the default: the train file's images in
train, the test file's in test; no validation), or the build's patient hash (``split:
hash``; one image per patient: the renumbered names do not say which NIH patient an image is
of). Polygons (ChestX-Det): each box's contour (``[[x, y], ...]`` in the same pixel space) is
checked at plan (a malformed one is noted in the build report; its box is still used),
filled into the lesion's mask (``extractors.masks.polygons_mask``) when an item is
processed, and that mask, not the box, decides the host organ of the chains of thought
(``records.cot.host_organ``). Not done yet: no organ masks ship with ChestX-Det, so its
items make no chains of thought until an organ label image rides along with them (role
``anatomy_labels``, as the synthetic corpus has).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image
from pydantic import model_validator

from extractors.masks import MaskError, polygons_mask
from schemas.enums import Reason, Split, Stage
from schemas.vocab import CHESTX_DET_LABELS
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
from sources.radiograph.csv_labels import SourceError
from sources.radiograph.process import OrganLabels, process_radiograph

KIND = "chestx_det"
EXTRACTOR = "sources.chestx_det"  # a stable label-method id (published), not a module path
VERSION = "1"

_NIH_IMAGES = (
    "Images: Wang X, Peng Y, Lu L, Lu Z, Bagheri M, Summers RM. ChestX-ray8: Hospital-scale "
    "Chest X-ray Database and Benchmarks on Weakly-Supervised Classification and Localization "
    "of Common Thorax Diseases. CVPR 2017."
)


@dataclass(frozen=True)
class Edition:
    """One published version: its label file names, categories (canonical keys) and licence."""

    train_json: str
    test_json: str
    categories: tuple[str, ...]
    licence: Licence


_DET10 = ("Atelectasis", "Calcification", "Consolidation", "Effusion", "Emphysema")
_DET10 += ("Fibrosis", "Fracture", "Mass", "Nodule", "Pneumothorax")
_DET = (*_DET10, "Cardiomegaly", "Diffuse Nodule", "Pleural Thickening")

EDITIONS: dict[str, Edition] = {
    "ChestX-Det": Edition(
        "ChestX_Det_train.json",
        "ChestX_Det_test.json",
        tuple(sorted(CHESTX_DET_LABELS[s] for s in _DET)),
        Licence(
            "ChestX-Det",
            "ChestX-Det annotations: Apache License 2.0 (Deepwise-AILab/ChestX-Det-Dataset); "
            "images from NIH ChestX-ray14 (no restrictions on use; acknowledge the NIH "
            "Clinical Center and cite the paper)",
            "https://github.com/Deepwise-AILab/ChestX-Det-Dataset",
            "Lian J, Liu J, Zhang S, Gao K, Liu X, Zhang D, Yu Y. A Structure-Aware Relation "
            "Network for Thoracic Diseases Detection and Segmentation. IEEE Transactions on "
            f"Medical Imaging 2021;40(8):2042-2052. {_NIH_IMAGES}",
        ),
    ),
    "ChestX-Det10": Edition(
        "train.json",
        "test.json",
        tuple(sorted(CHESTX_DET_LABELS[s] for s in _DET10)),
        Licence(
            "ChestX-Det10",
            "ChestX-Det10 annotations: Deepwise-AILab/ChestX-Det10-Dataset ships no licence "
            "file (terms unstated: ask the authors before redistributing); images from NIH "
            "ChestX-ray14 (no restrictions on use; acknowledge the NIH Clinical Center)",
            "https://github.com/Deepwise-AILab/ChestX-Det10-Dataset",
            "Liu J, Lian J, Yu Y. ChestX-Det10: Chest X-ray Dataset on Detection of Thoracic "
            f"Abnormalities. arXiv:2006.10550, 2020. {_NIH_IMAGES}",
        ),
    ),
}


class Settings(SourceSettings):
    """ChestX-Det or ChestX-Det10 as downloaded: ``{kind: chestx_det, root: <folder>}`` reads
    the edition's published train and test files under root and the PNGs below it."""

    kind: Literal["chestx_det"]
    root: Path
    edition: Literal["ChestX-Det", "ChestX-Det10"] = "ChestX-Det"
    # Label files relative to root; left out: the edition's published name; null: not read.
    train_json: str | None
    test_json: str | None
    images_dir: str = "."  # relative to root, searched recursively
    absences: bool = True  # state each category an image has no box of absent
    split: Literal["publisher", "hash"] = "publisher"  # the files' train/test, or the hash
    licence: str | None = None  # default: the edition's licence id
    optional: bool = False  # when root is absent: skip with a warning instead of failing

    @model_validator(mode="before")
    @classmethod
    def _published_names(cls, data: Any) -> Any:
        if isinstance(data, dict):
            edition = EDITIONS.get(data.get("edition", "ChestX-Det"), EDITIONS["ChestX-Det"])
            data = {"train_json": edition.train_json, "test_json": edition.test_json, **data}
        return data


class EntryError(ValueError):
    """One entry, or one box of it, that cannot be used: the reason code and why."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_entries(path: Path, key: str) -> list[Any]:
    """The JSON list of a label file; a file that is absent or not such a list is a
    SourceError naming it and the settings key that names it."""
    if not path.is_file():
        raise SourceError(f"label file not found: {path} (set {key}, or null to not read it)")
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{path}: not readable as JSON: {exc}") from None
    if not isinstance(entries, list):
        raise SourceError(
            f"{path}: expected a JSON list of entries, found {type(entries).__name__}"
        )
    return entries


def entry_name(entry: Any) -> str:
    """The image file name an entry names (a bare name, no folder)."""
    if not isinstance(entry, dict):
        raise EntryError(Reason.BAD_CSV_ROW, f"entry is a {type(entry).__name__}, not an object")
    name = entry.get("file_name")
    if not isinstance(name, str) or not name.strip():
        raise EntryError(Reason.BAD_CSV_ROW, f"field 'file_name': {name!r} is not a file name")
    if "/" in name or "\\" in name:
        raise EntryError(Reason.BAD_CSV_ROW, f"field 'file_name': {name!r} is a path")
    return name


def entry_pairs(entry: dict) -> list[tuple[Any, Any]]:
    """The entry's (sym, box) pairs; ``syms`` and ``boxes`` must be lists of one length."""
    syms, boxes = entry.get("syms"), entry.get("boxes")
    if not isinstance(syms, list) or not isinstance(boxes, list):
        raise EntryError(Reason.BAD_CSV_ROW, "fields 'syms' and 'boxes' must be lists")
    if len(syms) != len(boxes):
        raise EntryError(
            Reason.BAD_CSV_ROW, f"{len(syms)} syms but {len(boxes)} boxes: cannot pair them"
        )
    return list(zip(syms, boxes, strict=True))


def parse_box(sym: Any, box: Any) -> tuple[str, tuple[float, float, float, float]]:
    """A (sym, [x1, y1, x2, y2]) pair as a canonical label and an xywh source-pixel box."""
    label = CHESTX_DET_LABELS.get(sym) if isinstance(sym, str) else None
    if label is None:
        raise EntryError(
            Reason.LABEL_UNMAPPED,
            f"label {sym!r} is not in the ChestX-Det map (schemas.vocab.CHESTX_DET_LABELS: "
            f"{', '.join(sorted(CHESTX_DET_LABELS))})",
        )
    if not isinstance(box, list) or len(box) != 4:
        raise EntryError(Reason.BAD_CSV_ROW, f"box {box!r} is not [x1, y1, x2, y2]")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in box):
        raise EntryError(Reason.BAD_CSV_ROW, f"box {box!r} has a value that is not a number")
    x1, y1, x2, y2 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise EntryError(Reason.BAD_CSV_ROW, f"box {box!r} has a value that is not finite")
    if x2 <= x1 or y2 <= y1:
        raise EntryError(Reason.BOX_INVALID, f"box {box!r} is inverted or empty")
    return label, (x1, y1, x2 - x1, y2 - y1)


Polygon = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class LesionPolygons:
    """An item's box contours (ChestX-Det ``polygons``): label row -> its polygon; and the
    organ names of an anatomy label image riding along, when one does."""

    polygons: tuple[tuple[LabelRow, Polygon], ...]
    organ_labels: OrganLabels | None = None


@dataclass
class _Image:
    labels_file: Path
    row_number: int
    rows: list[LabelRow]
    split: str
    polygons: list[tuple[LabelRow, Polygon]]

    @property
    def n_boxes(self) -> int:
        return sum(r.box_xywh is not None for r in self.rows)


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """Items for every image an entry names, and quarantine rows for entries, boxes and files
    that cannot be used (malformed, unmapped label, repeated, image missing or duplicated)."""
    edition = EDITIONS[settings.edition]
    dataset = settings.dataset
    out = Plan()
    images: dict[str, _Image] = {}
    for key, split in (("train_json", Split.TRAIN), ("test_json", Split.TEST)):
        name = getattr(settings, key)
        if name is None:
            continue
        path = settings.root / name
        entries = read_entries(path, key)
        out.n_label_rows += len(entries)
        for row_number, entry in enumerate(entries, start=1):
            image = _read_entry(entry, row_number, path, split.value, images, settings, ctx, out)
            if image is not None:
                images[image[0]] = image[1]

    images_dir = settings.root / settings.images_dir
    files = index_files(images_dir, (".png",))
    unlabelled = sorted(set(files) - set(images))
    if unlabelled:
        out.notes.append(
            f"{dataset}: {len(unlabelled)} image file(s) under {images_dir} are named by no "
            f"entry and are not inputs (e.g. {unlabelled[0]})"
        )
    for file_name in sorted(images):
        image = images[file_name]
        study_id = ctx.ids.study(dataset, file_name)
        image_path, rows = pick_indexed_file(
            dataset,
            file_name,
            files.get(file_name, []),
            images_dir,
            item_id=study_id,
            missing=f"{image.labels_file.name} entry {image.row_number} names {file_name}, "
            f"which is not under {images_dir} ({image.n_boxes} box(es) unused)",
        )
        out.quarantine += rows
        if image_path is None:
            continue
        paths = [image_path]
        stat = paths[0].stat()
        out.items.append(
            SourceItem(
                dataset=dataset,
                kind=KIND,
                reader="png",
                item_id=file_name,
                patient_key=Path(file_name).stem,  # renumbered: the NIH patient is unknown
                path=str(paths[0]),
                labels_file=str(image.labels_file),
                rows=tuple(image.rows),
                licence=settings.licence or edition.licence.id,
                extractor=EXTRACTOR,
                extractor_version=VERSION,
                modality="XR",
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
                exhaustive=True,
                settings=LesionPolygons(tuple(image.polygons)) if image.polygons else None,
                split=image.split if settings.split == "publisher" else None,
            )
        )
    return out


def _read_entry(
    entry: Any,
    row_number: int,
    path: Path,
    split: str,
    images: dict[str, _Image],
    settings: Settings,
    ctx: PlanContext,
    out: Plan,
) -> tuple[str, _Image] | None:
    """One entry's image and label rows; what cannot be used goes to ``out.quarantine``."""
    dataset = settings.dataset

    def reject(reason: Reason, message: str, item_id: str | None = None) -> None:
        out.quarantine.append(
            quarantine_row(
                dataset, reason, message, str(path), row_number, stage=Stage.PLAN, item_id=item_id
            )
        )

    try:
        file_name = entry_name(entry)
    except EntryError as exc:
        reject(exc.reason, f"entry {row_number}: {exc}")
        return None
    study_id = ctx.ids.study(dataset, file_name)
    earlier = images.get(file_name)
    if earlier is not None:
        reject(
            Reason.DUPLICATE_ROW,
            f"entry {row_number} names {file_name} again (entry {earlier.row_number} of "
            f"{earlier.labels_file.name}); this entry is not used",
            study_id,
        )
        return None
    try:
        pairs = entry_pairs(entry)
    except EntryError as exc:
        reject(exc.reason, f"entry {row_number} ({file_name}): {exc}", study_id)
        return None
    rows: list[LabelRow] = []
    named: set[str] = set()  # every mapped category the entry names, usable box or not
    raw_polygons = entry.get("polygons") if isinstance(entry, dict) else None
    if raw_polygons is not None and (
        not isinstance(raw_polygons, list) or len(raw_polygons) != len(pairs)
    ):
        out.notes.append(
            f"{dataset}: {path.name} entry {row_number} ({file_name}): 'polygons' is not one "
            "contour per box; its boxes are used without them"
        )
        raw_polygons = None
    polygons: list[tuple[LabelRow, Polygon]] = []
    bad_polygons: list[str] = []
    for n, (sym, box) in enumerate(pairs, start=1):
        where = f"entry {row_number} ({file_name}) box {n} of {len(pairs)}"
        if isinstance(sym, str) and sym in CHESTX_DET_LABELS:
            named.add(CHESTX_DET_LABELS[sym])
        try:
            label, xywh = parse_box(sym, box)
        except EntryError as exc:
            reject(exc.reason, f"{where}: {exc}", study_id)
            continue
        row = LabelRow(row_number, label, True, xywh)
        if row in rows:
            reject(Reason.DUPLICATE_ROW, f"{where}: repeats an earlier {sym} box", study_id)
            continue
        rows.append(row)
        if raw_polygons is not None:
            try:
                polygons.append((row, parse_polygon(raw_polygons[n - 1])))
            except EntryError as exc:
                bad_polygons.append(f"box {n}: {exc}")
    if bad_polygons:  # the boxes are the labels; a contour is extra: noted, not quarantined
        out.notes.append(
            f"{dataset}: {path.name} entry {row_number} ({file_name}): {len(bad_polygons)} "
            f"polygon(s) not usable ({'; '.join(bad_polygons)}); their boxes are used "
            "without them"
        )
    if settings.absences:
        edition = EDITIONS[settings.edition]
        rows += [LabelRow(row_number, c, False, None) for c in edition.categories if c not in named]
    return file_name, _Image(path, row_number, rows, split, polygons)


def parse_polygon(value: Any) -> Polygon:
    """A box's contour ``[[x, y], ...]`` (at least 3 finite points)."""
    if not isinstance(value, list) or len(value) < 3:
        raise EntryError(Reason.MASK_READ_ERROR, "not a list of at least 3 points")
    points = []
    for point in value:
        if (
            not isinstance(point, list)
            or len(point) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
            or not all(math.isfinite(v) for v in point)
        ):
            raise EntryError(Reason.MASK_READ_ERROR, f"point {point!r} is not [x, y]")
        points.append((float(point[0]), float(point[1])))
    return tuple(points)


def lesion_masks(item: SourceItem, height: int, width: int) -> dict[LabelRow, Any]:
    """Each polygon of an item filled on its height x width source image. The contours
    trace pixel indices (a box's corners are its first and last pixels), so the filled
    region is their pixels, centres inside or on the contour."""
    masks = {}
    if isinstance(item.settings, LesionPolygons):
        for row, polygon in item.settings.polygons:
            shifted = [(x + 0.5, y + 0.5) for x, y in polygon]  # index -> pixel centre
            try:
                masks[row] = polygons_mask([shifted], height, width)
            except MaskError:
                continue  # checked at plan: cannot happen for a parsed polygon
    return masks


def process_chestx_det(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """The radiograph processor, with the lesions' polygon masks for the chains of thought
    (filled only when an organ label image rides along: nothing else reads them)."""
    if not isinstance(item.settings, LesionPolygons) or item.input("anatomy_labels") is None:
        return process_radiograph(item, ctx)
    try:
        with Image.open(item.path) as img:
            width, height = img.size
    except Exception:  # missing, not an image: the loader's quarantine row says which
        return process_radiograph(item, ctx)
    return process_radiograph(item, ctx, lesion_masks(item, height, width))


LABEL_METHOD = LabelMethod(
    EXTRACTOR,
    "expert",
    "ChestX-Det boxes of 13 thoracic findings drawn by radiologists on NIH ChestX-ray14 images",
    "reference labels (not re-measured); boxes reproduced within 1 px of the JSON (tests)",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process_chestx_det,
    layout="train_json + test_json (ChestX_Det_{train,test}.json; ChestX-Det10: "
    "{train,test}.json: [{file_name, syms, boxes [[x1,y1,x2,y2]], polygons}]) + PNGs under "
    "images_dir",
    licences=tuple(e.licence for e in EDITIONS.values()),
    label_methods=(LABEL_METHOD,),
)
