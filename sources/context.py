"""What a processor works with: its context (ids, splits, image output, settings) and what
it returns. Kept apart from the registry (``sources.radiograph.process``) so that processor modules
can import it without import cycles."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from schemas.enums import Stage
from schemas.identity import Pseudonymizer, patient_split
from schemas.records import Finding, QuarantineRow, Record, Study
from shards.layout import BuildLayout
from sources.base import ItemError, SourceItem, quarantine_item
from sources.imaging import (
    DEFAULT_MAX_PIXELS,
    PNG_COMPRESS_LEVEL,
    PNG_STRATEGY,
    encode_png,
    resize_max_side,
    sha256_hex,
)


@dataclass(frozen=True)
class PublishedImage:
    """A rendered image written to the build folder, ready for a Study row."""

    path: str  # relative to the build folder
    sha256: str
    width: int
    height: int
    pixels: np.ndarray  # what was written (after any downscaling)


@dataclass(frozen=True)
class ItemContext:
    """What a processor may use besides its item: ids, splits, image output, settings."""

    layout: BuildLayout
    ids: Pseudonymizer
    split_weights: tuple[int, int, int]
    image_max_side: int | None
    records_seed: int
    sequences: bool = True  # build the MedSG sequence records too
    chains: bool = True  # build lesion chains of thought where organ masks exist
    image_max_pixels: int = DEFAULT_MAX_PIXELS  # source images over it are not decoded
    png_level: int = PNG_COMPRESS_LEVEL  # published PNGs' zlib level and strategy
    png_strategy: str = PNG_STRATEGY

    def split_of(self, patient_id: str) -> str:
        return patient_split(patient_id, self.split_weights).value

    def publish_image(self, study_id: str, pixels: np.ndarray) -> PublishedImage:
        """Write 8-bit pixels, grey (h, w) or RGB (h, w, 3), downscaled to ``image_max_side``,
        as the study's PNG."""
        pixels = resize_max_side(np.asarray(pixels, dtype=np.uint8), self.image_max_side)
        png = encode_png(pixels, level=self.png_level, strategy=self.png_strategy)
        path = self.layout.image_path(study_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(png)
        os.replace(tmp, path)
        return PublishedImage(
            self.layout.relative(path),
            sha256_hex(png),
            int(pixels.shape[1]),
            int(pixels.shape[0]),
            pixels,
        )

    def publish_study(
        self,
        item: SourceItem,
        study_id: str,
        pixels: np.ndarray,
        *,
        view: str | None,
        modality: str | None = None,
        source_size: tuple[int, int] | None = None,
    ) -> tuple[Study, PublishedImage]:
        """Publish an image of ``item`` and the Study row that describes it (the item's
        patient, source, licence and split: the publisher's when the item carries one, else
        the patient hash; ``source_size``: the source grid, default the image)."""
        image = self.publish_image(study_id, pixels)
        patient_id = self.ids.patient(item.dataset, item.patient_key)
        width, height = source_size or (image.width, image.height)
        study = Study(
            study_id=study_id,
            patient_id=patient_id,
            source_dataset=item.dataset,
            source_item=self.ids.item(item.dataset, item.item_id),
            modality=modality or item.modality,
            view=view,
            width=image.width,
            height=image.height,
            source_width=int(width),
            source_height=int(height),
            image_path=image.path,
            image_sha256=image.sha256,
            licence=item.licence,
            split=item.split or self.split_of(patient_id),
        )
        return study, image

    def derived_study(
        self,
        item: SourceItem,
        key: str,
        pixels: np.ndarray,
        view: str,
        modality: str | None = None,
    ) -> Study:
        """Publish an image made from an item's image (an edited copy, a crop, a slice);
        ``key`` tells the item's images apart."""
        study_id = self.ids.study(item.dataset, f"{item.item_id}#{key}")
        return self.publish_study(item, study_id, pixels, view=view, modality=modality)[0]


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
