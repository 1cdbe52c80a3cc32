"""NIH ChestX-ray14 prior / current pairs (Wang et al. 2017) as MedSG Non_Registered_Diff
records: a patient's consecutive follow-ups where the labels state a finding appeared and the
box list draws it on the later image (the rule: ``sources.radiograph.longitudinal``).

Read as NIH publishes them: ``Data_Entry_2017.csv`` (or the 2020 relabel
``Data_Entry_2017_v2020.csv``, plain or ``.gz``: ``Image Index, Finding Labels, Follow-up #,
Patient ID, ...``), ``BBox_List_2017.csv`` (boxes on the 1024-px PNGs) and the PNGs under
``images_dir`` (searched recursively).

One item per patient with at least one labelled change: it publishes each image its changed
pairs name once, and one record per changed finding per pair. The other candidate pairs
(consecutive follow-ups without a labelled change) give no record: the plan's note counts
them. A pair whose image is missing is a ``file_missing`` row naming the image."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from records.sequences.longitudinal import change_records
from schemas.enums import Reason, Stage
from schemas.errors import ItemError
from schemas.records import Provenance, Study
from shards.label_methods import LabelMethod
from sources.base import (
    InputFile,
    Plan,
    PlanContext,
    Source,
    SourceItem,
    SourceSettings,
    index_files,
    quarantine_item,
)
from sources.context import ItemContext, ItemOutput, read_error
from sources.imaging import LOADERS
from sources.radiograph.csv_labels import SourceError
from sources.radiograph.longitudinal import (
    candidate_pairs,
    labelled_changes,
    read_nih_boxes,
    read_nih_data_entry,
)
from sources.radiograph.nih_cxr14 import SOURCE as NIH_SOURCE

KIND = "nih_cxr14_longitudinal"
EXTRACTOR = "sources.nih_cxr14_longitudinal"
VERSION = "1"
DATA_ENTRY_NAMES = (
    "Data_Entry_2017.csv",
    "Data_Entry_2017.csv.gz",
    "Data_Entry_2017_v2020.csv",
    "Data_Entry_2017_v2020.csv.gz",
)
CONFIDENCE = 0.8  # labels mined from reports (NIH); the box is an expert's


class Settings(SourceSettings):
    """``{kind: nih_cxr14_longitudinal, root: <folder>}``: the data-entry table and box list
    under root (published names), PNGs under ``images_dir``."""

    kind: Literal["nih_cxr14_longitudinal"]
    root: Path
    data_entry_csv: str | None = None  # relative to root; default the first published name
    bbox_csv: str = "BBox_List_2017.csv"
    images_dir: str = "."
    licence: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class PairChanges:
    """Per item: (prior image, current image, ((label, boxes xywh), ...)) for each pair."""

    pairs: tuple[tuple[str, str, tuple[tuple[str, tuple[tuple[float, ...], ...]], ...]], ...]


def _data_entry(settings: Settings) -> Path:
    names = [settings.data_entry_csv] if settings.data_entry_csv else DATA_ENTRY_NAMES
    for name in names:
        if (settings.root / name).is_file():
            return settings.root / name
    raise SourceError(f"no {' / '.join(names)} under {settings.root} (set data_entry_csv)")


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    dataset = settings.dataset
    boxes_path = settings.root / settings.bbox_csv
    if not boxes_path.is_file():
        raise SourceError(f"box list not found: {boxes_path} (set bbox_csv)")
    timeline = read_nih_data_entry(_data_entry(settings), read_nih_boxes(boxes_path))
    pairs = candidate_pairs(timeline.exams)
    out = Plan(n_label_rows=len(pairs))
    images_dir = settings.root / settings.images_dir
    files = index_files(images_dir, (".png",))
    by_patient: dict[str, list] = defaultdict(list)
    changed = 0
    for pair in pairs:
        changes = labelled_changes(pair)
        if not changes:
            continue
        changed += 1
        names = (pair.prior.image_id, pair.current.image_id)
        missing = [n for n in names if n not in files]
        if missing:
            for name in missing:
                out.quarantine.append(
                    quarantine_item(
                        dataset,
                        Reason.FILE_MISSING,
                        f"pair {names[0]} -> {names[1]} ({', '.join(c.label for c in changes)} "
                        f"new): {name} is not under {images_dir}",
                        str(images_dir / name),
                        stage=Stage.PLAN,
                        item_id=ctx.ids.study(dataset, name),
                    )
                )
            continue
        by_patient[pair.current.patient].append(
            (*names, tuple((c.label, c.boxes) for c in changes))
        )
    out.notes.append(
        f"{dataset}: {len(pairs)} candidate pair(s) of consecutive follow-ups, {changed} with a "
        "labelled change; the others give no record"
    )
    for patient, patient_pairs in sorted(by_patient.items()):
        names = sorted({n for p in patient_pairs for n in p[:2]})
        current = files[patient_pairs[0][1]][0]
        stat = current.stat()
        out.items.append(
            SourceItem(
                dataset=dataset,
                kind=KIND,
                reader="png",
                item_id=f"patient-{patient}",
                patient_key=patient,
                path=str(current),
                labels_file=str(boxes_path),
                rows=(),
                licence=settings.licence or NIH_SOURCE.licences[0].id,
                extractor=EXTRACTOR,
                extractor_version=VERSION,
                modality="XR",
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
                inputs=tuple(InputFile.of(f"image:{n}", files[n][0]) for n in names),
                settings=PairChanges(tuple(patient_pairs)),
            )
        )
    return out


def process(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """Each image of the patient's changed pairs, once, and the pairs' change records."""
    studies: dict[str, Study] = {}
    for f in item.inputs:
        name = f.role.removeprefix("image:")
        study_id = ctx.ids.study(item.dataset, name)
        try:
            loaded = LOADERS[item.reader](f.path, max_pixels=ctx.image_max_pixels)
        except ItemError as exc:
            return ItemOutput(quarantine=[read_error(item, study_id, exc)])
        h, w = loaded.pixels.shape
        studies[name], _ = ctx.publish_study(
            item, study_id, loaded.pixels, view=loaded.view, source_size=(w, h)
        )
    records: list = []
    for prior, current, changes in item.settings.pairs:
        prov = Provenance.of(studies[current], item.extractor, item.extractor_version, CONFIDENCE)
        records += change_records(
            studies[prior], studies[current], changes, seed=ctx.records_seed, provenance=prov
        )
    return ItemOutput(list(studies.values()), [], records, [])


LABEL_METHOD = LabelMethod(
    EXTRACTOR,
    "weak",
    "NIH ChestX-ray14 follow-up pairs: a finding the report-mined labels state absent in the "
    "prior image and present in the next, boxed by a radiologist on the later image",
    "labels as NIH mined them (no re-measure); the pair rule is exact by construction (tests "
    "count pairs and changes against the two tables)",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process,
    layout="Data_Entry_2017[_v2020].csv(.gz) (Image Index, Finding Labels, Follow-up #, "
    "Patient ID) + BBox_List_2017.csv + PNGs under images_dir: consecutive follow-ups with a "
    "labelled new finding",
    licences=NIH_SOURCE.licences,
    label_methods=(LABEL_METHOD,),
)
