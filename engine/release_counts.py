"""What the card, LICENSES.md, the gallery, the item table and the shard names need from the
published records, gathered in one streaming pass in record-id order (one record held at a
time): counts, the records the gallery may pick, the images each record shows, and the
content tag.

What is kept per study (its digest, the records showing it, the splits it is shown in) is
held in numpy arrays over the studies sorted by id (``StudyDigests``): about 100 bytes a
study in a few allocations, where dicts and sets of Python strings and tuples took several
times that and left the allocator's heap grown with the corpus (issue 16)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from schemas.records import Record, record_boxes, record_images
from shards.writer import ContentTag, config_name

# Studies converted to numpy at once while a StudyDigests is built.
_BLOCK = 4096


class StudyDigests(Mapping[str, str]):
    """Study id -> sha256 of its published PNG, as two numpy byte-string arrays sorted by
    study id (UTF-8 bytes sort as the text does; ids and digests hold no NUL). ``position``
    gives a study's row, for counts kept in arrays of the same length. A study given twice
    keeps its last digest, as a dict would."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        ids: list[np.ndarray] = []
        digests: list[np.ndarray] = []
        block: list[tuple[str, str]] = []
        for pair in pairs:
            block.append(pair)
            if len(block) == _BLOCK:
                ids.append(_bytes([k for k, _ in block]))
                digests.append(_bytes([v for _, v in block]))
                block = []
        if block or not ids:
            ids.append(_bytes([k for k, _ in block]))
            digests.append(_bytes([v for _, v in block]))
        keys, values = np.concatenate(ids), np.concatenate(digests)
        order = np.argsort(keys, kind="stable")
        keys, values = keys[order], values[order]
        last = np.append(keys[1:] != keys[:-1], True) if len(keys) else np.ones(0, bool)
        self._ids, self._digests = keys[last], values[last]

    def position(self, study_id: str) -> int:
        """The study's row; KeyError for a study not held."""
        key = study_id.encode()
        i = int(np.searchsorted(self._ids, key))
        if i == len(self._ids) or self._ids[i] != key:
            raise KeyError(study_id)
        return i

    def study_id(self, position: int) -> str:
        return self._ids[position].decode()

    def __getitem__(self, study_id: str) -> str:
        return self._digests[self.position(study_id)].decode()

    def __iter__(self) -> Iterator[str]:
        return (key.decode() for key in self._ids)

    def __len__(self) -> int:
        return len(self._ids)


def _bytes(texts: list[str]) -> np.ndarray:
    return np.array([t.encode() for t in texts], dtype=np.bytes_)


class ShownCounts(Mapping[str, int]):
    """Study id -> published records that show it (studies shown by none are absent, as
    in a Counter), counted in an array over a ``StudyDigests``' studies."""

    def __init__(self, studies: StudyDigests) -> None:
        self._studies = studies
        self._counts = np.zeros(len(studies), dtype=np.int64)

    def add(self, positions: Iterable[int]) -> None:
        for i in positions:
            self._counts[i] += 1

    def __getitem__(self, study_id: str) -> int:
        n = int(self._counts[self._studies.position(study_id)])
        if not n:
            raise KeyError(study_id)
        return n

    def __iter__(self) -> Iterator[str]:
        return (self._studies.study_id(int(i)) for i in np.flatnonzero(self._counts))

    def __len__(self) -> int:
        return int(np.count_nonzero(self._counts))


# How many records the gallery shows (``shards.gallery.render_gallery``'s n).
GALLERY_SIZE = 12


@dataclass
class ReleaseCounts:
    """Fed the published records in record-id order (``add``)."""

    image_sha256: Mapping[str, str]  # study id -> sha256 of its published PNG (any mapping)
    layout: str = "per_record"  # shards.images: part of the content tag
    configs: dict[str, Counter] = field(default_factory=dict)  # config -> split -> records
    by_source_task: Counter = field(default_factory=Counter)
    by_modality: Counter = field(default_factory=Counter)
    review_states: Counter = field(default_factory=Counter)
    by_extractor: Counter = field(default_factory=Counter)
    by_licence: Counter = field(default_factory=Counter)
    sources_by_licence: dict[str, set[str]] = field(default_factory=dict)
    shown: ShownCounts = field(init=False)  # study id -> records showing it
    # A superset of what ``shards.gallery.pick_records`` picks from all records: the first
    # record with boxes of each modality and of each (source, task), and the first n.
    gallery: list[Record] = field(default_factory=list)
    _gallery_keys: set = field(default_factory=set)
    _tag: ContentTag | None = None
    _studies: StudyDigests = field(init=False)
    _split_shown: dict[str, np.ndarray] = field(default_factory=dict)  # split -> study shown

    def __post_init__(self) -> None:
        if not isinstance(self.image_sha256, StudyDigests):
            self.image_sha256 = StudyDigests(self.image_sha256.items())
        self._studies = self.image_sha256
        self.shown = ShownCounts(self._studies)
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
        positions = {self._studies.position(ref.study_id) for ref in images}
        self.shown.add(positions)
        split = self._split_shown.get(record.split)
        if split is None:
            split = self._split_shown[record.split] = np.zeros(len(self._studies), dtype=bool)
        split[list(positions)] = True
        if record_boxes(record):
            keys = {("modality", images[0].modality), ("task", prov.source_dataset, record.task)}
            if len(self.gallery) < GALLERY_SIZE or not keys <= self._gallery_keys:
                self.gallery.append(record)
            self._gallery_keys |= keys

    def image_keys(self) -> Iterator[tuple[str, str]]:
        """The (split, study id) of every image the records show, sorted and unique
        (``shards.writer.image_keys`` of the records added)."""
        for split in sorted(self._split_shown):
            for i in np.flatnonzero(self._split_shown[split]):
                yield split, self._studies.study_id(int(i))

    @property
    def tag(self) -> str:
        """``shards.writer.content_tag`` of the records added."""
        return self._tag.tag
