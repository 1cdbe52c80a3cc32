"""PadChest-GR (Castro et al. 2024): grounded reports of 4,555 PadChest studies, each a list of
single-finding sentences in English and Spanish, positive ones boxed by up to two readers.

Read as BIMCV distributes it: ``grounded_reports_<date>.json`` (the newest under root unless
``reports_json`` names one), a list of ``{StudyID, ImageID, findings: [{sentence_en,
sentence_es, abnormal, labels, locations, progression, boxes, extra_boxes}]}``, where
``boxes`` are the first reader's ``[x1, y1, x2, y2]`` normalised to 0-1 and ``extra_boxes``
the second reader's; ``master_table.csv`` (``StudyID, ImageID, PatientID, split, ...``;
``split`` train / validation / test, kept); the PNGs (16-bit, scaled to 8 bit on their full
range) anywhere under ``images_dir``, named by ``ImageID``. The PadChest-GR paper (arXiv
2411.05085) and readers of the public release (RadVLM's ``PadChest_grounding``, which reads
``grounded_reports_20240819.json``, ``master_table.csv`` and ``finding["boxes"]``; analyses
that read ``abnormal`` and ``extra_boxes``) are what this layout follows: the files
themselves are behind a data use agreement and were not seen.

Each sentence gives records in both languages, the language kept in ``provenance.language``:
a positive sentence -> its first reader's boxes (``sentence_grounding``); a negative one
(``abnormal`` false; without the field: no boxes) -> presence "no" quoting the sentence, plus
presence "no" of each of its labels not positive elsewhere in the study. A sentence of a
normal study (label ``normal`` only) states that no abnormality is present. The second
reader's boxes are checked and counted (``SentenceSpec.n_extra_boxes``) but not published
(no reader fusion yet). Labels map through ``schemas.vocab.PADCHEST_LABELS`` (lower-cased);
an unmapped label is a ``label_unmapped`` row naming it, and a sentence with no mapped label
is not used.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from schemas.boxes import Box, BoxOutsideImage
from schemas.enums import Reason, Split, Stage
from schemas.vocab import PADCHEST_LABELS, PADCHEST_NORMAL
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
    quarantine_item,
    quarantine_row,
)
from sources.context import ItemContext, ItemOutput
from sources.radiograph.csv_labels import SourceError, named_or_newest
from sources.radiograph.findings import EDGE_TOLERANCE_PX
from sources.radiograph.process import process_rows_on_grid

KIND = "padchest_gr"
EXTRACTOR = "sources.padchest_gr"
VERSION = "1"
REPORTS_GLOB = "grounded_reports_*.json"
NORMAL_LABEL = "abnormality"  # a normal study's sentence: no abnormality is present
SPLITS = {s.value: s.value for s in Split} | {"val": Split.VALIDATION.value}

LICENCE = Licence(
    "PadChest-GR",
    "BIMCV-PadChest-GR data use agreement (research use, no redistribution); "
    "PadChest images and labels CC BY-SA 4.0 per their authors",
    "https://bimcv.cipf.es/bimcv-projects/padchest-gr/",
    "Castro DC, Bustos A, Bannur S, et al. PadChest-GR: A Bilingual Chest X-ray Dataset for "
    "Grounded Radiology Report Generation. NEJM AI 2025 (arXiv:2411.05085). Images: Bustos "
    "A, Pertusa A, Salinas JM, de la Iglesia-Vayá M. PadChest: A large chest x-ray image "
    "dataset with multi-label annotated reports. Medical Image Analysis 2020;66:101797.",
)


class Settings(SourceSettings):
    """PadChest-GR as downloaded: ``{kind: padchest_gr, root: <folder>}``."""

    kind: Literal["padchest_gr"]
    root: Path
    reports_json: str | None = None  # default: the newest grounded_reports_*.json
    master_table: str = "master_table.csv"
    images_dir: str = "."  # searched recursively for <ImageID> PNGs
    licence: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class SentenceSpec:
    """One sentence of a grounded report, as read (labels already mapped)."""

    index: int  # 1-based place in the entry's findings
    en: str
    es: str
    labels: tuple[str, ...]  # canonical keys, in the file's order
    positive: bool
    boxes: tuple[tuple[float, float, float, float], ...]  # first reader, normalised xyxy
    n_extra_boxes: int  # second reader's boxes (checked, not published)


@dataclass(frozen=True)
class Report:
    """An image's sentences and where they are (the entry's place in the JSON)."""

    sentences: tuple[SentenceSpec, ...]
    row_number: int


def reports_file(settings: Settings) -> Path:
    """The grounded reports JSON: the one named, else the newest under root."""
    return named_or_newest(
        settings.root, settings.reports_json, REPORTS_GLOB, "reports_json", "grounded reports"
    )


def read_master(path: Path) -> dict[str, dict[str, str]]:
    """master_table.csv rows by ImageID."""
    if not path.is_file():
        raise SourceError(f"master table not found: {path} (set master_table)")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"ImageID", "StudyID", "split"} - set(reader.fieldnames or [])
        if missing:
            raise SourceError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return {row["ImageID"]: row for row in reader}


class EntryError(ValueError):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _boxes(value: Any, field: str) -> tuple[tuple[float, float, float, float], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise EntryError(Reason.BAD_CSV_ROW, f"field {field!r} is not a list of boxes")
    out = []
    for box in value:
        if (
            not isinstance(box, list)
            or len(box) != 4
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in box)
            or not all(math.isfinite(v) for v in box)
        ):
            raise EntryError(Reason.BAD_CSV_ROW, f"{field} box {box!r} is not [x1, y1, x2, y2]")
        x1, y1, x2, y2 = (float(v) for v in box)
        if x2 <= x1 or y2 <= y1:
            raise EntryError(Reason.BOX_INVALID, f"{field} box {box!r} is inverted or empty")
        out.append((x1, y1, x2, y2))
    return tuple(out)


def parse_sentence(finding: Any, index: int) -> tuple[SentenceSpec | None, list[str]]:
    """A sentence with its mapped labels, and the labels no map covers."""
    if not isinstance(finding, dict):
        raise EntryError(Reason.BAD_CSV_ROW, "is not an object")
    en, es = (finding.get(k) for k in ("sentence_en", "sentence_es"))
    if not isinstance(en, str) or not isinstance(es, str) or not (en.strip() or es.strip()):
        raise EntryError(Reason.BAD_CSV_ROW, "has no sentence_en / sentence_es text")
    raw = finding.get("labels")
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
        raise EntryError(Reason.BAD_CSV_ROW, f"field 'labels' {raw!r} is not a list of labels")
    boxes = _boxes(finding.get("boxes"), "boxes")
    extra = _boxes(finding.get("extra_boxes"), "extra_boxes")
    abnormal = finding.get("abnormal")
    positive = bool(abnormal) if isinstance(abnormal, bool) else bool(boxes)
    names = [v.strip().lower() for v in raw]
    unmapped = [
        v
        for v, n in zip(raw, names, strict=True)
        if n != PADCHEST_NORMAL and n not in PADCHEST_LABELS
    ]
    labels = [PADCHEST_LABELS[n] for n in names if n in PADCHEST_LABELS]
    if not labels and not unmapped and not positive:
        labels = [NORMAL_LABEL]  # "normal" only
    labels = list(dict.fromkeys(labels))
    if not labels:
        return None, unmapped
    spec = SentenceSpec(index, en.strip(), es.strip(), tuple(labels), positive, boxes, len(extra))
    return spec, unmapped


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """An item per image with a grounded report; quarantine rows for sentences, labels and
    boxes that cannot be used, images missing, and patients on two sides of the split."""
    dataset = settings.dataset
    out = Plan()
    path = reports_file(settings)
    master = read_master(settings.root / settings.master_table)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{path}: not readable as JSON: {exc}") from None
    if not isinstance(entries, list):
        raise SourceError(f"{path}: expected a JSON list of studies")
    out.n_label_rows = len(entries)
    planned: dict[str, tuple[Report, dict[str, str]]] = {}
    for n, entry in enumerate(entries, start=1):

        def reject(reason: Reason, message: str, item_id: str | None = None, n: int = n) -> None:
            out.quarantine.append(
                quarantine_row(
                    dataset, reason, message, str(path), n, stage=Stage.PLAN, item_id=item_id
                )
            )

        image_id = entry.get("ImageID") if isinstance(entry, dict) else None
        if not isinstance(image_id, str) or not image_id or "/" in image_id:
            reject(Reason.BAD_CSV_ROW, f"entry {n}: 'ImageID' {image_id!r} is not a file name")
            continue
        study_id = ctx.ids.study(dataset, image_id)
        if image_id in planned:
            reject(Reason.DUPLICATE_ROW, f"entry {n} names {image_id} again: not used", study_id)
            continue
        meta = master.get(image_id)
        if meta is None or SPLITS.get(meta["split"].strip()) is None:
            why = "is not in" if meta is None else f"has split {meta['split']!r} in"
            reject(
                Reason.BAD_CSV_ROW, f"entry {n}: {image_id} {why} {settings.master_table}", study_id
            )
            continue
        findings = entry.get("findings")
        if not isinstance(findings, list):
            reject(
                Reason.BAD_CSV_ROW, f"entry {n} ({image_id}): 'findings' is not a list", study_id
            )
            continue
        sentences = []
        for k, finding in enumerate(findings, start=1):
            where = f"entry {n} ({image_id}) sentence {k} of {len(findings)}"
            try:
                spec, unmapped = parse_sentence(finding, k)
            except EntryError as exc:
                reject(exc.reason, f"{where}: {exc}", study_id)
                continue
            for label in unmapped:
                reject(
                    Reason.LABEL_UNMAPPED,
                    f"{where}: label {label!r} is not in the PadChest map "
                    "(schemas.vocab.PADCHEST_LABELS)"
                    + ("" if spec else "; the sentence has no mapped label and is not used"),
                    study_id,
                )
            if spec is not None:
                sentences.append(spec)
        planned[image_id] = (Report(tuple(sentences), n), meta)

    patient = {i: (m.get("PatientID") or m["StudyID"]).strip() for i, (_, m) in planned.items()}
    sides: dict[str, set[str]] = {}
    for image_id, (_, meta) in planned.items():
        sides.setdefault(patient[image_id], set()).add(SPLITS[meta["split"].strip()])
    images_dir = settings.root / settings.images_dir
    files = index_files(images_dir, (".png",))
    for image_id in sorted(planned):
        report, meta = planned[image_id]
        study_id = ctx.ids.study(dataset, image_id)
        paths = files.get(image_id, [])

        def set_aside(reason: Reason, message: str, ref: str, study_id: str = study_id) -> None:
            out.quarantine.append(
                quarantine_item(dataset, reason, message, ref, stage=Stage.PLAN, item_id=study_id)
            )

        if len(sides[patient[image_id]]) > 1:
            set_aside(
                Reason.SPLIT_CONFLICT,
                f"{settings.master_table}: the patient of {image_id} has images in the "
                f"{', '.join(sorted(sides[patient[image_id]]))} splits: not used",
                str(settings.root / settings.master_table),
            )
            continue
        found, rows = pick_indexed_file(
            dataset,
            image_id,
            paths,
            images_dir,
            item_id=study_id,
            missing=f"{path.name} entry {report.row_number} names {image_id}, not under "
            f"{images_dir}",
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
                reader="png",
                item_id=image_id,
                patient_key=patient[image_id],
                path=str(paths[0]),
                labels_file=str(path),
                rows=(),
                licence=settings.licence or LICENCE.id,
                extractor=EXTRACTOR,
                extractor_version=VERSION,
                modality="XR",
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
                settings=report,
                split=SPLITS[meta["split"].strip()],
            )
        )
    return out


def sentence_rows(item: SourceItem, width: int, height: int) -> tuple[list[LabelRow], list]:
    """Label rows of an item's sentences on its width x height image (boxes in source
    pixels, both languages); a box outside the image is one quarantine row."""
    report: Report = item.settings
    n = report.row_number
    rows: list[LabelRow] = []
    rejected = []
    present = {label for s in report.sentences if s.positive for label in s.labels}
    if present:
        present.add(NORMAL_LABEL)  # a study with a positive sentence is not normal
    absences: list[LabelRow] = []
    for s in report.sentences:
        texts = [(lang, text) for lang, text in (("en", s.en), ("es", s.es)) if text]
        label = s.labels[0]
        if not s.positive:
            rows += [LabelRow(n, label, False, None, text, lang) for lang, text in texts]
            absences += [LabelRow(n, lb, False, None) for lb in s.labels if lb not in present]
            continue
        if not s.boxes:
            rows += [LabelRow(n, lb, True, None) for lb in s.labels]  # present, not located
        for k, (x1, y1, x2, y2) in enumerate(s.boxes, start=1):
            px = (x1 * width, y1 * height, (x2 - x1) * width, (y2 - y1) * height)
            try:
                box = Box.from_source_xywh(*px, width, height, tolerance_px=EDGE_TOLERANCE_PX)
            except BoxOutsideImage:
                rejected.append(
                    quarantine_row(
                        item.dataset,
                        Reason.BOX_OUT_OF_BOUNDS,
                        f"sentence {s.index} box {k} [{x1:g}, {y1:g}, {x2:g}, {y2:g}] is not "
                        "inside the normalised 0-1 image",
                        item.labels_file,
                        n,
                        stage=Stage.FINDINGS,
                    )
                )
                continue
            bx1, by1, bx2, by2 = box.to_pixels(width, height)
            xywh = (bx1, by1, bx2 - bx1, by2 - by1)
            rows += [LabelRow(n, label, True, xywh, text, lang) for lang, text in texts]
    return rows + list(dict.fromkeys(absences)), rejected


def process_padchest_gr(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """Boxes onto the PNG's pixel grid (read from its header), then the radiograph
    processor."""
    return process_rows_on_grid(item, ctx, sentence_rows)


LABEL_METHOD = LabelMethod(
    EXTRACTOR,
    "expert",
    "PadChest-GR: report sentences (GPT-4 extracted and translated, radiologist reviewed) "
    "with radiologists' boxes (first reader) in English and Spanish",
    "reference labels (not re-measured); boxes reproduced within 1 px of the JSON (tests)",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process_padchest_gr,
    layout="grounded_reports_*.json ([{StudyID, ImageID, findings: [{sentence_en, "
    "sentence_es, abnormal, labels, boxes, extra_boxes}]}], boxes xyxy normalised 0-1) + "
    "master_table.csv (StudyID, ImageID, PatientID, split) + <ImageID> PNGs under images_dir",
    licences=(LICENCE,),
    label_methods=(LABEL_METHOD,),
)
