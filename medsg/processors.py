"""Item processors: how one planned input item becomes published images (Study rows),
Findings and records. One processor per ``SourceItem.reader``; a new kind of source (PET/CT
exams, CT volumes) registers its own in ``PROCESSORS`` and the pipeline does the rest
(counting, validation, quarantine of items that give no record)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from medsg.paths import BuildLayout
from records.grounding import build_grounding_records
from schemas.enums import Stage
from schemas.identity import Pseudonymizer, patient_split
from schemas.records import Finding, QuarantineRow, Record, Study
from sources.base import ItemError, SourceItem, quarantine_item
from sources.findings import findings_of
from sources.imaging import LOADERS, encode_png, resize_max_side, sha256_hex


@dataclass(frozen=True)
class PublishedImage:
    """A rendered image written to the build folder, ready for a Study row."""

    path: str  # relative to the build folder
    sha256: str
    width: int
    height: int


@dataclass(frozen=True)
class ItemContext:
    """What a processor may use besides its item: ids, splits, image output, settings."""

    layout: BuildLayout
    ids: Pseudonymizer
    split_weights: tuple[int, int, int]
    image_max_side: int | None
    records_seed: int

    def split_of(self, patient_id: str) -> str:
        return patient_split(patient_id, self.split_weights).value

    def publish_image(self, study_id: str, pixels: np.ndarray) -> PublishedImage:
        """Write 8-bit grayscale pixels (downscaled to ``image_max_side``) as the study's PNG."""
        pixels = resize_max_side(np.asarray(pixels, dtype=np.uint8), self.image_max_side)
        png = encode_png(pixels)
        path = self.layout.image_path(study_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(png)
        os.replace(tmp, path)
        return PublishedImage(
            self.layout.relative(path), sha256_hex(png), int(pixels.shape[1]), int(pixels.shape[0])
        )


@dataclass
class ItemOutput:
    """Everything one item gave. Quarantine rows here are the processor's own (read errors,
    unusable labels); the pipeline adds validation's."""

    studies: list[Study] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    quarantine: list[QuarantineRow] = field(default_factory=list)


Processor = Callable[[SourceItem, ItemContext], ItemOutput]


def read_error(item: SourceItem, study_id: str, exc: ItemError) -> QuarantineRow:
    """The quarantine row of an item whose file cannot be read."""
    return quarantine_item(
        item.dataset, exc.reason, exc.message, item.path, stage=Stage.READ, item_id=study_id
    )


def process_radiograph(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """A 2D radiograph (PNG or DICOM) with label rows: one Study, its Findings, grounding
    records."""
    study_id = ctx.ids.study(item.dataset, item.item_id)
    try:
        loaded = LOADERS[item.reader](item.path)
    except ItemError as exc:
        return ItemOutput(quarantine=[read_error(item, study_id, exc)])
    image = ctx.publish_image(study_id, loaded.pixels)
    patient_id = ctx.ids.patient(item.dataset, item.patient_key)
    study = Study(
        study_id=study_id,
        patient_id=patient_id,
        source_dataset=item.dataset,
        source_item=ctx.ids.item(item.dataset, item.item_id),
        modality=item.modality,
        view=loaded.view,
        width=image.width,
        height=image.height,
        source_width=int(loaded.pixels.shape[1]),
        source_height=int(loaded.pixels.shape[0]),
        image_path=image.path,
        image_sha256=image.sha256,
        licence=item.licence,
        split=ctx.split_of(patient_id),
    )
    findings, rejected = findings_of(item, study)
    records = build_grounding_records(study, findings, seed=ctx.records_seed)
    return ItemOutput([study], findings, list(records), rejected)


PROCESSORS: dict[str, Processor] = {
    "png": process_radiograph,
    "dicom": process_radiograph,
}

# Volume sources register here (their modules use ItemContext and ItemOutput of this one).
from medsg.ct_processor import process_ct  # noqa: E402

PROCESSORS["ct_volume"] = process_ct
