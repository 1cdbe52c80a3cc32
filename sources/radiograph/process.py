"""The 2D image processor: one image (PNG, JPEG or DICOM; grey, or RGB for colour modalities)
with its label rows (or findings from masks: ``image_records``) becomes a Study,
its Findings, grounding records, chains of thought where an organ label image rides along,
and the MedSG sequence records made from edits and crops of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from records.cot import EXTRACTOR as COT_EXTRACTOR
from records.cot import VERSION as COT_VERSION
from records.cot import Organ, lesion_cot_records, organs_from_labels
from records.grounding import build_grounding_records
from records.sequences.radiograph import radiograph_sequences
from schemas.modality import keeps_colour
from schemas.records import Finding, Provenance, QuarantineRow, Study
from sources.base import ItemError, LoadedImage, SourceItem
from sources.context import ItemContext, ItemOutput, read_error
from sources.imaging import LOADERS
from sources.radiograph.findings import findings_of


@dataclass(frozen=True)
class OrganLabels:
    """Settings of items whose organ label image rides along (role ``anatomy_labels``):
    label value -> (structure, phrase)."""

    names: tuple[tuple[int, str, str], ...]

    def as_dict(self) -> dict[int, tuple[str, str]]:
        return {value: (name, phrase) for value, name, phrase in self.names}


def load_item_image(item: SourceItem, ctx: ItemContext):
    """The item's image decoded by its reader, in colour when its modality keeps colour
    (``schemas.modality.keeps_colour``); raises ItemError for a file that cannot be read."""
    return LOADERS[item.reader](
        item.path,
        max_pixels=ctx.image_max_pixels,
        burned_in_clean=item.burned_in_clean,
        colour=keeps_colour(item.modality),
    )


FindingsOf = Callable[[Study], tuple[list[Finding], list[QuarantineRow]]]


def process_radiograph(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """A 2D radiograph (PNG or DICOM) with label rows: one Study, its Findings, grounding
    records."""
    study_id = ctx.ids.study(item.dataset, item.item_id)
    try:
        loaded = load_item_image(item, ctx)
    except ItemError as exc:
        return ItemOutput(quarantine=[read_error(item, study_id, exc)])
    return image_records(item, ctx, study_id, loaded, lambda study: findings_of(item, study))


def image_records(
    item: SourceItem,
    ctx: ItemContext,
    study_id: str,
    loaded: LoadedImage,
    findings_for: FindingsOf,
) -> ItemOutput:
    """One decoded 2D image (grey or RGB) published as a Study, the Findings
    ``findings_for`` gives on it, and every record family a 2D image supports: grounding,
    chains of thought where an organ label image rides along, MedSG sequences."""
    height, width = loaded.pixels.shape[:2]
    study, image = ctx.publish_study(
        item, study_id, loaded.pixels, view=loaded.view, source_size=(width, height)
    )
    findings, rejected = findings_for(study)
    records: list = build_grounding_records(
        study, findings, seed=ctx.records_seed, exhaustive=item.exhaustive
    )
    anatomy = item.input("anatomy_labels")
    if anatomy and isinstance(item.settings, OrganLabels) and records and ctx.chains:
        organs = load_organs(anatomy.path, image.pixels.shape[:2], item.settings.as_dict())
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
