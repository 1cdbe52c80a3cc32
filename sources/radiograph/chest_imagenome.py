"""Chest ImaGenome (Wu et al. 2021), silver dataset: one scene graph per MIMIC-CXR-JPG image,
made by the authors' atlas-based box detector and report NLP (silver: not re-read by people).

Read as PhysioNet publishes it (``chest-imagenome/1.0.0``), with the MIMIC-CXR-JPG images:
- ``silver_dataset/splits/{train,valid,test}.csv``: one row per image (``dicom_id,
  subject_id, study_id, ...``); every row is an input;
- ``silver_dataset/scene_graph/<dicom_id>_SceneGraph.json``: ``objects`` (``bbox_name``,
  boxes ``x1..y2`` on a 224 x 224 resize and ``original_x1..original_y2`` in pixels of the
  original JPG: only the original ones are read) and ``attributes`` (per region:
  ``bbox_name``, ``phrases`` (report sentences) and, per phrase, a list of
  ``<category>|<yes|no>|<name>`` labels);
- images ``files/pXX/p<subject>/s<study>/<dicom_id>.jpg`` under ``images_root`` (the
  MIMIC-CXR-JPG download; default: ``root``).

Records: anatomy grounding for each of the 36 regions a graph boxes; each report sentence
grounded on its region; and a presence record per finding the graph states present (yes) or
absent (no) in a region (``schemas.vocab.CHEST_IMAGENOME_LABELS``). Labels of the nlp and
technicalassessment categories are not findings and are not read; another unmapped name is a
``label_unmapped`` row naming it (the image's other labels are kept).

Quarantine: a split row without its scene graph (``scene_graph_missing``), without its
image (``file_missing``), repeated (``duplicate_row``) or malformed; a graph that is not a
scene graph (``scene_graph_unreadable``); a region name outside the 36; a box outside the
image (the sentences and statements of a region without a usable box go with it).
Not read: the publishers' split (the build's split hashes the patient, as for every kind;
ImaGenome's split is patient-level too), the gold dataset, and ``relationships``
(comparisons with prior images: see ``sources.radiograph.imagenome_longitudinal``, the kind
that pairs a subject's studies)."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from records.cxr_reports import (
    RegionStatement,
    anatomy_records,
    region_findings,
    region_presence_records,
    sentence_records,
)
from schemas.boxes import Box, BoxOutsideImage
from schemas.enums import Reason, Stage
from schemas.errors import ItemError
from schemas.records import Provenance, QuarantineRow
from schemas.vocab import CHEST_IMAGENOME_LABELS
from shards.label_methods import LabelMethod
from shards.licences import Licence
from sources.base import (
    InputFile,
    Plan,
    PlanContext,
    Source,
    SourceItem,
    SourceSettings,
    quarantine_item,
    quarantine_row,
)
from sources.context import ItemContext, ItemOutput, read_error
from sources.imaging import LOADERS
from sources.radiograph.csv_labels import SourceError
from sources.radiograph.findings import EDGE_TOLERANCE_PX
from sources.radiograph.mimic import bare_id, image_path

KIND = "chest_imagenome"
EXTRACTOR = "sources.chest_imagenome"  # a stable label-method id (published)
VERSION = "1"
SPLITS = ("train", "valid", "test")
SPLIT_COLUMNS = ("dicom_id", "subject_id", "study_id")
CONFIDENCE_ANATOMY = 0.8  # silver boxes of an atlas-based detector (not re-read)
CONFIDENCE_STATEMENT = 0.6  # a report NLP statement on a silver region

# The 36 anatomical regions of the silver scene graphs (Chest ImaGenome v1.0.0).
BBOX_NAMES: tuple[str, ...] = (
    "right lung", "right upper lung zone", "right mid lung zone", "right lower lung zone",
    "right hilar structures", "right apical zone", "right costophrenic angle",
    "right cardiophrenic angle", "right hemidiaphragm", "left lung", "left upper lung zone",
    "left mid lung zone", "left lower lung zone", "left hilar structures", "left apical zone",
    "left costophrenic angle", "left hemidiaphragm", "trachea", "spine", "right clavicle",
    "left clavicle", "aortic arch", "mediastinum", "upper mediastinum", "svc",
    "cardiac silhouette", "left cardiac silhouette", "right cardiac silhouette",
    "cavoatrial junction", "right atrium", "descending aorta", "carina", "left upper abdomen",
    "right upper abdomen", "abdomen", "left cardiophrenic angle",
)  # fmt: skip
# attribute categories that are not findings: read, never mapped nor quarantined
NOT_FINDINGS = frozenset({"nlp", "technicalassessment"})
_BOX_KEYS = ("original_x1", "original_y1", "original_x2", "original_y2")

LICENCE = Licence(
    "Chest-ImaGenome",
    "PhysioNet Credentialed Health Data License 1.5.0 (credentialed access, data use "
    "agreement; do not redistribute); images: MIMIC-CXR-JPG under the same licence",
    "https://physionet.org/content/chest-imagenome/1.0.0/",
    "Wu JT, Agu NN, Lourentzou I, Sharma A, Paguio JA, Yao JS, Dee EC, Mitchell W, Kashyap S, "
    "Giovannini A, Celi LA, Moradi M. Chest ImaGenome Dataset for Clinical Reasoning. "
    "NeurIPS Datasets and Benchmarks 2021. Images: Johnson AEW et al. MIMIC-CXR-JPG, a large "
    "publicly available database of labeled chest radiographs. arXiv:1901.07042, 2019.",
)


class Settings(SourceSettings):
    """Chest ImaGenome as downloaded: ``{kind: chest_imagenome, root: <chest-imagenome/1.0.0>}``
    reads the split CSVs and scene graphs under root; images under ``images_root``."""

    kind: Literal["chest_imagenome"]
    root: Path
    splits_dir: str = "silver_dataset/splits"  # relative to root
    splits: tuple[str, ...] = SPLITS  # split CSV names, without ".csv"
    scene_graph_dir: str = "silver_dataset/scene_graph"  # relative to root
    images_root: Path | None = None  # the MIMIC-CXR-JPG folder holding files/; default root
    anatomy: bool = True  # anatomy grounding records for every boxed region
    licence: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class ItemSettings:
    """Per item: whether anatomy records are made (part of the cache key)."""

    anatomy: bool


def scene_graph_path(root: Path, scene_graph_dir: str, dicom_id: str) -> Path:
    return root / scene_graph_dir / f"{dicom_id}_SceneGraph.json"


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """One item per split row whose scene graph and image exist; quarantine rows for the
    others (each with its own reason)."""
    dataset = settings.dataset
    images_root = settings.images_root or settings.root
    out = Plan()
    seen: dict[str, tuple[str, int]] = {}
    for split in settings.splits:
        path = settings.root / settings.splits_dir / f"{split}.csv"
        for row_number, fields in read_split(path):
            out.n_label_rows += 1
            reject = _rejecter(out, dataset, path, row_number)
            dicom_id = (fields.get("dicom_id") or "").strip()
            subject = bare_id(fields.get("subject_id") or "", "p")
            study = bare_id(fields.get("study_id") or "", "s")
            if not dicom_id or "/" in dicom_id or not subject.isdigit() or not study.isdigit():
                reject(
                    Reason.BAD_CSV_ROW,
                    f"row {row_number}: dicom_id {dicom_id!r}, subject_id {subject!r}, "
                    f"study_id {study!r}: expected an image id and two numbers",
                )
                continue
            study_id = ctx.ids.study(dataset, dicom_id)
            if dicom_id in seen:
                first, first_row = seen[dicom_id]
                reject(
                    Reason.DUPLICATE_ROW,
                    f"row {row_number} names image {dicom_id} again (row {first_row} of "
                    f"{first}.csv); this row is not used",
                    study_id,
                )
                continue
            seen[dicom_id] = (split, row_number)
            graph = scene_graph_path(settings.root, settings.scene_graph_dir, dicom_id)
            if not graph.is_file():
                reject(
                    Reason.SCENE_GRAPH_MISSING,
                    f"row {row_number} ({dicom_id}): its scene graph {graph.name} is not in "
                    f"{graph.parent}",
                    study_id,
                )
                continue
            image = image_path(images_root, subject, study, dicom_id)
            if not image.is_file():
                out.quarantine.append(
                    quarantine_item(
                        dataset,
                        Reason.FILE_MISSING,
                        f"{path.name} row {row_number} names image {dicom_id}, which is not at "
                        f"{image} (set images_root to the MIMIC-CXR-JPG folder)",
                        str(image),
                        stage=Stage.PLAN,
                        item_id=study_id,
                    )
                )
                continue
            stat = image.stat()
            out.items.append(
                SourceItem(
                    dataset=dataset,
                    kind=KIND,
                    reader="jpeg",
                    item_id=dicom_id,
                    patient_key=subject,
                    path=str(image),
                    labels_file=str(graph),
                    rows=(),
                    licence=settings.licence or LICENCE.id,
                    extractor=EXTRACTOR,
                    extractor_version=VERSION,
                    modality="XR",
                    file_size=stat.st_size,
                    file_mtime_ns=stat.st_mtime_ns,
                    inputs=(InputFile.of("scene_graph", graph),),
                    settings=ItemSettings(anatomy=settings.anatomy),
                )
            )
    return out


def _rejecter(out: Plan, dataset: str, path: Path, row_number: int):
    """A function that sets row ``row_number`` of the split file aside, with a reason."""

    def reject(reason: Reason, message: str, item_id: str | None = None) -> None:
        out.quarantine.append(
            quarantine_row(
                dataset, reason, message, str(path), row_number, stage=Stage.PLAN, item_id=item_id
            )
        )

    return reject


def read_split(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The data rows of a split CSV (1-based row numbers); a file that is absent or lacks a
    column is a SourceError naming it."""
    if not path.is_file():
        raise SourceError(f"split file not found: {path} (set splits_dir / splits)")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in SPLIT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SourceError(f"{path}: column(s) {missing} missing (has {reader.fieldnames})")
        return list(enumerate(reader, start=1))


# ---- the scene graph ------------------------------------------------------------------------


@dataclass
class SceneGraph:
    """What one scene graph says, in original-image pixels, with what could not be used."""

    regions: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    sentences: list[tuple[str, str]] = field(default_factory=list)  # (region, phrase)
    statements: list[RegionStatement] = field(default_factory=list)
    # (reason, message, 1-based entry number)
    problems: list[tuple[Reason, str, int]] = field(default_factory=list)


def read_scene_graph(path: Path) -> Any:
    try:
        graph = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ItemError(Reason.SCENE_GRAPH_MISSING, f"{path.name}: file not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ItemError(Reason.SCENE_GRAPH_UNREADABLE, f"{path.name}: not JSON: {exc}") from None
    if not isinstance(graph, dict) or not isinstance(graph.get("objects"), list):
        raise ItemError(
            Reason.SCENE_GRAPH_UNREADABLE, f"{path.name}: not a scene graph (no 'objects' list)"
        )
    return graph


def parse_scene_graph(graph: dict) -> SceneGraph:
    """Regions (``original_*`` boxes), sentences and yes/no finding statements of a graph."""
    out = SceneGraph()
    for n, obj in enumerate(graph.get("objects") or [], start=1):
        name = obj.get("bbox_name") if isinstance(obj, dict) else None
        where = f"objects[{n}] ({name!r})"
        if name not in BBOX_NAMES:
            out.problems.append(
                (Reason.LABEL_UNMAPPED, f"{where}: not one of the 36 Chest ImaGenome regions", n)
            )
            continue
        values = [obj.get(k) for k in _BOX_KEYS]
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in values
        ):
            out.problems.append((Reason.BAD_CSV_ROW, f"{where}: {_BOX_KEYS} not numbers", n))
            continue
        x1, y1, x2, y2 = (float(v) for v in values)
        if x2 <= x1 or y2 <= y1:
            out.problems.append((Reason.BOX_INVALID, f"{where}: box inverted or empty", n))
            continue
        if name in out.regions:
            out.problems.append((Reason.DUPLICATE_ROW, f"{where}: region boxed twice", n))
            continue
        out.regions[name] = (x1, y1, x2, y2)
    for n, entry in enumerate(graph.get("attributes") or [], start=1):
        if not isinstance(entry, dict):
            out.problems.append((Reason.BAD_CSV_ROW, f"attributes[{n}]: not an object", n))
            continue
        _read_attributes(entry, n, out)
    return out


def _read_attributes(entry: dict, n: int, out: SceneGraph) -> None:
    region = entry.get("bbox_name")
    phrases = entry.get("phrases") or []
    labels = entry.get("attributes") or []
    if labels and all(isinstance(x, str) for x in labels):
        labels = [labels]  # one phrase's labels written flat
    for sentence in phrases:
        if isinstance(sentence, str) and sentence.strip():
            out.sentences.append((region, sentence))
    for p, group in enumerate(labels):
        sentence = phrases[p] if p < len(phrases) and isinstance(phrases[p], str) else ""
        for raw in group if isinstance(group, list) else [group]:
            where = f"attributes[{n}] ({region!r}) phrase {p + 1}: label {raw!r}"
            parts = raw.split("|") if isinstance(raw, str) else []
            if len(parts) != 3 or parts[1] not in ("yes", "no"):
                out.problems.append((Reason.BAD_CSV_ROW, f"{where}: not category|yes/no|name", n))
                continue
            category, polarity, name = parts
            if category in NOT_FINDINGS:
                continue
            label = CHEST_IMAGENOME_LABELS.get(name)
            if label is None:
                out.problems.append(
                    (
                        Reason.LABEL_UNMAPPED,
                        f"{where}: {name!r} is not in the Chest ImaGenome map "
                        "(schemas.vocab.CHEST_IMAGENOME_LABELS)",
                        n,
                    )
                )
                continue
            out.statements.append(RegionStatement(region, label, polarity == "yes", sentence, n))


def region_boxes(
    graph: SceneGraph, width: int, height: int
) -> tuple[dict[str, Box], list[tuple[Reason, str, str]]]:
    """The graph's regions as canonical boxes on a width x height image; boxes outside it
    are set aside (reason, message, region)."""
    boxes: dict[str, Box] = {}
    bad: list[tuple[Reason, str, str]] = []
    for name, (x1, y1, x2, y2) in graph.regions.items():
        try:
            boxes[name] = Box.from_source_xywh(
                x1, y1, x2 - x1, y2 - y1, width, height, tolerance_px=EDGE_TOLERANCE_PX
            )
        except BoxOutsideImage as exc:
            bad.append((Reason.BOX_OUT_OF_BOUNDS, f"region {name!r}: {exc}", name))
    return boxes, bad


def region_rows(graph: dict) -> dict[str, int]:
    return {
        o.get("bbox_name"): n
        for n, o in enumerate(graph.get("objects") or [], start=1)
        if isinstance(o, dict)
    }


def process(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """The image, its region boxes, and the records its scene graph supports."""
    study_id = ctx.ids.study(item.dataset, item.item_id)
    try:
        loaded = LOADERS[item.reader](item.path, max_pixels=ctx.image_max_pixels)
        raw = read_scene_graph(Path(item.labels_file))
    except ItemError as exc:
        return ItemOutput(quarantine=[read_error(item, study_id, exc)])
    graph = parse_scene_graph(raw)
    height, width = loaded.pixels.shape
    study, _ = ctx.publish_study(
        item, study_id, loaded.pixels, view=loaded.view, source_size=(width, height)
    )
    regions, outside = region_boxes(graph, width, height)
    rows = region_rows(raw)
    rejected = [_row(item, study_id, r, m, n) for r, m, n in graph.problems]
    rejected += [_row(item, study_id, r, m, rows[name]) for r, m, name in outside]
    statements = [s for s in graph.statements if s.region in regions]
    findings = region_findings(
        study,
        regions,
        statements,
        extractor=item.extractor,
        version=item.extractor_version,
        anatomy_confidence=CONFIDENCE_ANATOMY,
        statement_confidence=CONFIDENCE_STATEMENT,
    )
    anatomy_prov = Provenance.of(study, item.extractor, item.extractor_version, CONFIDENCE_ANATOMY)
    prov = Provenance.of(study, item.extractor, item.extractor_version, CONFIDENCE_STATEMENT)
    seed = ctx.records_seed
    records: list = []
    if not isinstance(item.settings, ItemSettings) or item.settings.anatomy:
        records += anatomy_records(study, regions, seed=seed, provenance=anatomy_prov)
    records += sentence_records(study, regions, graph.sentences, seed=seed, provenance=prov)
    records += region_presence_records(study, regions, statements, seed=seed, provenance=prov)
    return ItemOutput([study], findings, records, rejected)


def _row(item: SourceItem, study_id: str, reason: Reason, message: str, n: int) -> QuarantineRow:
    """A scene graph entry (object or attribute ``n``, 1-based) set aside while processing."""
    return quarantine_row(
        item.dataset, reason, message, item.labels_file, n, stage=Stage.FINDINGS, item_id=study_id
    )


LABEL_METHOD = LabelMethod(
    EXTRACTOR,
    "weak",
    "Chest ImaGenome silver scene graphs: atlas-based region boxes and report NLP statements "
    "per region, on MIMIC-CXR-JPG images",
    "not re-measured here; the publishers report region-box and relation accuracy on their "
    "gold subset; boxes reproduced within 1 px of the graphs' original-pixel boxes (tests)",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process,
    layout="silver_dataset/splits/{train,valid,test}.csv (dicom_id, subject_id, study_id) + "
    "silver_dataset/scene_graph/<dicom_id>_SceneGraph.json (objects: bbox_name, "
    "original_x1..original_y2; attributes: bbox_name, phrases, category|yes/no|name) + "
    "MIMIC-CXR-JPG files/pXX/p<subject>/s<study>/<dicom_id>.jpg under images_root",
    licences=(LICENCE,),
    label_methods=(LABEL_METHOD,),
)
