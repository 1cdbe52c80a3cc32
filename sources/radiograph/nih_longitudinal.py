"""NIH ChestX-ray14 prior / current pairs (Wang et al. 2017) as MedSG Non_Registered_Diff
records: a patient's consecutive follow-ups where the labels state a finding appeared and the
box list draws it on the later image (the rule: ``sources.radiograph.longitudinal``).

Read as NIH publishes them: ``Data_Entry_2017.csv`` (or the 2020 relabel
``Data_Entry_2017_v2020.csv``, plain or ``.gz``: ``Image Index, Finding Labels, Follow-up #,
Patient ID, ...``), ``BBox_List_2017.csv`` (boxes on the 1024-px PNGs) and the PNGs under
``images_dir`` (searched recursively).

Candidate pairs are consecutive follow-ups of a ``Patient ID``; their items, records, note
and quarantine rows: ``sources.radiograph.pair_items`` (shared with
``chest_imagenome_longitudinal``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from shards.label_methods import LabelMethod
from sources.base import Plan, PlanContext, Source, SourceSettings, index_files
from sources.radiograph.csv_labels import SourceError
from sources.radiograph.longitudinal import candidate_pairs, read_nih_boxes, read_nih_data_entry
from sources.radiograph.nih_cxr14 import SOURCE as NIH_SOURCE
from sources.radiograph.pair_items import PairKind, plan_pairs, process_pairs

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


def _data_entry(settings: Settings) -> Path:
    names = [settings.data_entry_csv] if settings.data_entry_csv else DATA_ENTRY_NAMES
    for name in names:
        if (settings.root / name).is_file():
            return settings.root / name
    raise SourceError(f"no {' / '.join(names)} under {settings.root} (set data_entry_csv)")


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    boxes_path = settings.root / settings.bbox_csv
    if not boxes_path.is_file():
        raise SourceError(f"box list not found: {boxes_path} (set bbox_csv)")
    timeline = read_nih_data_entry(_data_entry(settings), read_nih_boxes(boxes_path))
    images_dir = settings.root / settings.images_dir
    files = index_files(images_dir, (".png",))
    spec = PairKind(
        KIND,
        "png",
        EXTRACTOR,
        VERSION,
        settings.licence or NIH_SOURCE.licences[0].id,
        str(boxes_path),
        CONFIDENCE,
    )
    return plan_pairs(
        candidate_pairs(timeline.exams),
        settings.dataset,
        ctx,
        spec,
        lambda name: files[name][0] if name in files else images_dir / name,
        steps="consecutive follow-ups",
        hint="set images_dir",
    )


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
    process=process_pairs,
    layout="Data_Entry_2017[_v2020].csv(.gz) (Image Index, Finding Labels, Follow-up #, "
    "Patient ID) + BBox_List_2017.csv + PNGs under images_dir: consecutive follow-ups with a "
    "labelled new finding",
    licences=NIH_SOURCE.licences,
    label_methods=(LABEL_METHOD,),
)
