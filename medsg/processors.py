"""Item processors: how one planned input item becomes published images (Study rows),
Findings and records. One processor per ``SourceItem.reader``; a new kind of source (PET/CT
exams, CT volumes) registers its own in ``PROCESSORS`` and the pipeline does the rest
(counting, validation, quarantine of items that give no record)."""

from __future__ import annotations

import numpy as np

from medsg.ct_processor import process_ct
from medsg.items import ItemContext, ItemOutput, Processor, read_error
from records.cot import EXTRACTOR as COT_EXTRACTOR
from records.cot import VERSION as COT_VERSION
from records.cot import Organ, lesion_cot_records, organs_from_labels
from records.grounding import build_grounding_records
from records.sequences.radiograph import radiograph_sequences
from schemas.records import Provenance, Study
from sources.base import ItemError, SourceItem
from sources.findings import findings_of
from sources.imaging import LOADERS
from sources.pet_exam import process_pet_exam
from sources.synthetic_cxr import ANATOMY_LABELS

__all__ = ["PROCESSORS", "ItemContext", "ItemOutput", "Processor", "process_radiograph"]


def process_radiograph(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """A 2D radiograph (PNG or DICOM) with label rows: one Study, its Findings, grounding
    records."""
    study_id = ctx.ids.study(item.dataset, item.item_id)
    try:
        loaded = LOADERS[item.reader](item.path)
    except ItemError as exc:
        return ItemOutput(quarantine=[read_error(item, study_id, exc)])
    height, width = loaded.pixels.shape
    study, image = ctx.publish_study(
        item, study_id, loaded.pixels, view=loaded.view, source_size=(width, height)
    )
    findings, rejected = findings_of(item, study)
    records: list = build_grounding_records(
        study, findings, seed=ctx.records_seed, exhaustive=item.exhaustive
    )
    anatomy = item.get("anatomy_labels")
    if anatomy and records and ctx.chains:
        organs = load_organs(anatomy, image.pixels.shape, ANATOMY_LABELS)
        provenance = Provenance.of(
            study,
            f"{item.extractor}+{COT_EXTRACTOR}",
            f"{item.extractor_version}+{COT_VERSION}",
            min(f.confidence for f in findings),
        )
        records += lesion_cot_records(
            study, findings, organs, seed=ctx.records_seed, provenance=provenance
        )
    studies = [study]
    if ctx.sequences and records:

        def publish(key: str, pixels, view: str) -> Study:
            derived = ctx.derived_study(item, key, pixels, view, study.modality)
            studies.append(derived)
            return derived

        records += radiograph_sequences(
            study, image.pixels, findings, publish, seed=ctx.records_seed
        )
    return ItemOutput(studies, findings, records, rejected)


def load_organs(
    path: str, shape: tuple[int, int], names: dict[int, tuple[str, str]]
) -> list[Organ]:
    """Organs of a label image, on the published image's grid (nearest-neighbour resize)."""
    from PIL import Image

    with Image.open(path) as img:
        labels = img.convert("L")
        if labels.size != (shape[1], shape[0]):
            labels = labels.resize((shape[1], shape[0]), Image.Resampling.NEAREST)
        return organs_from_labels(np.asarray(labels), names)


PROCESSORS: dict[str, Processor] = {
    "png": process_radiograph,
    "dicom": process_radiograph,
    "ct_volume": process_ct,
    "autopet_nifti": process_pet_exam,  # PET/CT exams with their reports (sources.pet_exam)
    "pet_dicom": process_pet_exam,
}
