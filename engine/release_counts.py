"""What the card, LICENSES.md, the gallery, the item table and the shard names need from the
published records, gathered in one streaming pass in record-id order (one record held at a
time): counts, the records the gallery may pick, the images each record shows, and the
content tag."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.items import count_shown
from schemas.records import Record, record_boxes, record_images
from shards.writer import ContentTag, config_name, record_image_keys

# How many records the gallery shows (``shards.gallery.render_gallery``'s n).
GALLERY_SIZE = 12


@dataclass
class ReleaseCounts:
    """Fed the published records in record-id order (``add``)."""

    image_sha256: Mapping[str, str]  # study id -> sha256 of its published PNG
    layout: str = "per_record"  # shards.images: part of the content tag
    configs: dict[str, Counter] = field(default_factory=dict)  # config -> split -> records
    by_source_task: Counter = field(default_factory=Counter)
    by_modality: Counter = field(default_factory=Counter)
    review_states: Counter = field(default_factory=Counter)
    by_extractor: Counter = field(default_factory=Counter)
    by_licence: Counter = field(default_factory=Counter)
    sources_by_licence: dict[str, set[str]] = field(default_factory=dict)
    shown: Counter = field(default_factory=Counter)  # study id -> records showing it
    image_keys: set[tuple[str, str]] = field(default_factory=set)  # (split, study id) shown
    # A superset of what ``shards.gallery.pick_records`` picks from all records: the first
    # record with boxes of each modality and of each (source, task), and the first n.
    gallery: list[Record] = field(default_factory=list)
    _gallery_keys: set = field(default_factory=set)
    _tag: ContentTag | None = None

    def __post_init__(self) -> None:
        self._tag = ContentTag(self.image_sha256, self.layout)

    def add(self, record: Record) -> None:
        self._tag.add(record)  # raises on a record out of record-id order
        images = record_images(record)
        prov = record.provenance
        self.configs.setdefault(config_name(record), Counter())[record.split] += 1
        self.by_source_task[(prov.source_dataset, record.family, record.task)] += 1
        self.by_modality[(images[0].modality, record.family)] += 1
        self.review_states[prov.review_state] += 1
        self.by_extractor[(prov.extractor, prov.extractor_version)] += 1
        self.by_licence[prov.licence] += 1
        self.sources_by_licence.setdefault(prov.licence, set()).add(prov.source_dataset)
        count_shown(self.shown, record)
        self.image_keys |= record_image_keys(record)
        if record_boxes(record):
            keys = {("modality", images[0].modality), ("task", prov.source_dataset, record.task)}
            if len(self.gallery) < GALLERY_SIZE or not keys <= self._gallery_keys:
                self.gallery.append(record)
            self._gallery_keys |= keys

    @property
    def tag(self) -> str:
        """``shards.writer.content_tag`` of the records added."""
        return self._tag.tag
