"""The radiograph processor: one 2D image (PNG or DICOM) with its label rows becomes a Study,
its Findings, grounding records, chains of thought where an organ label image rides along,
and the MedSG sequence records made from edits and crops of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from records.cot import EXTRACTOR as COT_EXTRACTOR
from records.cot import VERSION as COT_VERSION
from records.cot import Organ, lesion_cot_records, organs_from_labels
from records.grounding import build_grounding_records
from records.sequences.radiograph import radiograph_sequences
from schemas.records import Provenance, Study
from sources.base import ItemError, LabelRow, SourceItem
from sources.context import ItemContext, ItemOutput, read_error
from sources.imaging import LOADERS
from sources.radiograph.findings import finding_id, findings_of


@dataclass(frozen=True)
class OrganLabels:
    """Settings of items whose organ label image rides along (role ``anatomy_labels``):
    label value -> (structure, phrase)."""

    names: tuple[tuple[int, str, str], ...]

    def as_dict(self) -> dict[int, tuple[str, str]]:
        return {value: (name, phrase) for value, name, phrase in self.names}


def organ_labels_of(item: SourceItem) -> OrganLabels | None:
    """The organ names of an item's anatomy label image: its settings, or the
    ``organ_labels`` its settings carry (a source with other per-item settings)."""
    if isinstance(item.settings, OrganLabels):
        return item.settings
    names = getattr(item.settings, "organ_labels", None)
    return names if isinstance(names, OrganLabels) else None


def process_radiograph(
    item: SourceItem,
    ctx: ItemContext,
    lesion_masks: Mapping[LabelRow, np.ndarray] | None = None,
) -> ItemOutput:
    """A 2D radiograph (PNG, JPEG or DICOM) with label rows: one Study, its Findings,
    grounding records; chains of thought where organ labels ride along, the host organ
    taken from the lesion's own mask where the source drew one (``lesion_masks``: label
    row -> mask on the source image)."""
    study_id = ctx.ids.study(item.dataset, item.item_id)
    try:
        loaded = LOADERS[item.reader](
            item.path, max_pixels=ctx.image_max_pixels, burned_in_clean=item.burned_in_clean
        )
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
    anatomy = item.input("anatomy_labels")
    organ_labels = organ_labels_of(item)
    if anatomy and organ_labels and records and ctx.chains:
        organs = load_organs(anatomy.path, image.pixels.shape, organ_labels.as_dict())
        provenance = Provenance.of(
            study,
            f"{item.extractor}+{COT_EXTRACTOR}",
            f"{item.extractor_version}+{COT_VERSION}",
            min(f.confidence for f in findings),
        )
        masks = {finding_id(study_id, row): m for row, m in (lesion_masks or {}).items()}
        records += lesion_cot_records(
            study,
            findings,
            organs,
            seed=ctx.records_seed,
            provenance=provenance,
            lesion_masks=masks,
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
