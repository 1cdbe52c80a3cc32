"""The 2D image processor: one image (PNG, JPEG or DICOM; grey, or RGB for colour modalities)
with its labels (label rows, or findings from masks) becomes a Study, its Findings, grounding
records, chains of thought where an organ label image rides along, and the MedSG sequence
records made from edits and crops of it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from records.cot import EXTRACTOR as COT_EXTRACTOR
from records.cot import VERSION as COT_VERSION
from records.cot import Organ, lesion_cot_records, organs_from_labels
from records.grounding import build_grounding_records
from records.sequences.radiograph import radiograph_sequences
from schemas.modality import keeps_colour
from schemas.records import Finding, GroundingRecord, Provenance, QuarantineRow, Study
from sources.base import ItemError, LabelRow, LoadedImage, SourceItem
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


@dataclass
class Labels:
    """What a kind makes of its labels once the image is decoded (``study`` says the source
    size): findings, the label rows set aside, and optionally a step that completes the
    grounding records (e.g. each reader's boxes in their provenance)."""

    findings: list[Finding]
    rejected: list[QuarantineRow]
    complete: Callable[[list[GroundingRecord]], None] | None = None


LabelStep = Callable[[SourceItem, Study], Labels]


def row_labels(item: SourceItem, study: Study) -> Labels:
    """The item's label rows (boxes in source pixels) as findings (``findings_of``)."""
    return Labels(*findings_of(item, study))


def load_item_image(item: SourceItem, ctx: ItemContext) -> LoadedImage:
    """The item's image decoded by its reader, in colour when its modality keeps colour
    (``schemas.modality.keeps_colour``); raises ItemError for a file that cannot be read."""
    return LOADERS[item.reader](
        item.path,
        max_pixels=ctx.image_max_pixels,
        burned_in_clean=item.burned_in_clean,
        colour=keeps_colour(item.modality),
    )


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
    grounding records (``lesion_masks``: label row -> the lesion's own mask on the source
    image, where the source drew one; it decides the chain of thought's host organ)."""
    return process_image(item, ctx, row_labels, lesion_masks)


RowsOnGrid = Callable[[SourceItem, int, int], tuple[list[LabelRow], list[QuarantineRow]]]


def process_rows_on_grid(item: SourceItem, ctx: ItemContext, rows_on: RowsOnGrid) -> ItemOutput:
    """The radiograph processor on the label rows ``rows_on(item, width, height)`` makes on
    the image's pixel grid (read from the file's header, before decoding); its rejected rows
    are kept beside the output. An unreadable file goes to the loader, whose quarantine row
    says why."""
    from PIL import Image

    study_id = ctx.ids.study(item.dataset, item.item_id)
    try:
        with Image.open(item.path) as img:
            width, height = img.size
    except Exception:  # missing, not an image: the loader's quarantine row says which
        return process_radiograph(item, ctx)
    rows, rejected = rows_on(item, width, height)
    for q in rejected:
        q.item_id = study_id
    output = process_radiograph(dataclasses.replace(item, rows=tuple(rows)), ctx)
    output.quarantine = rejected + output.quarantine
    return output


def process_image(
    item: SourceItem,
    ctx: ItemContext,
    labels: LabelStep,
    lesion_masks: Mapping[LabelRow, np.ndarray] | None = None,
) -> ItemOutput:
    """Decode and publish a 2D image, make its findings with ``labels`` (which sees the
    decoded source size), then every record family a 2D image supports (``image_records``)."""
    study_id = ctx.ids.study(item.dataset, item.item_id)
    try:
        loaded = load_item_image(item, ctx)
    except ItemError as exc:
        return ItemOutput(quarantine=[read_error(item, study_id, exc)])
    return image_records(item, ctx, study_id, loaded, labels, lesion_masks)


def image_records(
    item: SourceItem,
    ctx: ItemContext,
    study_id: str,
    loaded: LoadedImage,
    labels: LabelStep,
    lesion_masks: Mapping[LabelRow, np.ndarray] | None = None,
) -> ItemOutput:
    """One decoded 2D image (grey or RGB) published as a Study, the Findings ``labels``
    gives on it, and its records: grounding, chains of thought where organ labels ride
    along, MedSG sequences."""
    height, width = loaded.pixels.shape[:2]
    study, image = ctx.publish_study(
        item, study_id, loaded.pixels, view=loaded.view, source_size=(width, height)
    )
    made = labels(item, study)
    findings, rejected = made.findings, made.rejected
    records: list = build_grounding_records(
        study, findings, seed=ctx.records_seed, exhaustive=item.exhaustive
    )
    if made.complete is not None:
        made.complete(records)
    anatomy = item.input("anatomy_labels")
    organ_labels = organ_labels_of(item)
    if anatomy and organ_labels and records and ctx.chains:
        organs = load_organs(anatomy.path, image.pixels.shape[:2], organ_labels.as_dict())
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
