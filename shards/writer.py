"""WebDataset shards: one folder per config (record family and image count) and split,
size-bounded tar files with fixed tar metadata, so the same records give the same bytes
(``shards.tar_shards``: the bytes webdataset's ShardWriter writes, faster). A shard is
written as ``*.tar.partial`` and renamed only once complete: a crash never leaves a partial
shard under a complete-looking name.

Two layouts (``shards.images`` in the build config):

- ``once`` (default): the ``images`` config holds each published image once per split
  (key: its study id; ``png`` and ``json``: the image's own metadata, ``image_json``), and
  the record configs hold only the record JSON, whose image refs name the study ids
  (``shards.load_release`` joins them back, one row per record with its images);
- ``per_record``: every record sample carries its own copy of its image(s) (``png``, or
  ``img0.png`` ... for sequences), as releases did before ``once``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from schemas.arrow import to_row
from schemas.enums import RecordFamily
from schemas.identity import is_valid_key
from schemas.records import Record, record_images
from shards.tar_shards import TarShardWriter

T = TypeVar("T")

PARTIAL_SUFFIX = ".partial"
IMAGES_CONFIG = "images"  # the config of the published images (layout ``once``)
# the shard file's write buffer: a shard is written in many small pieces (member headers,
# record JSON, padding), each its own write() system call with Python's default 8 KB buffer
WRITE_BUFFER = 1 << 20
LAYOUTS = ("once", "per_record")


@dataclass(frozen=True)
class ShardFile:
    config: str
    split: str
    path: Path  # final path
    n_records: int


def config_name(record: Record) -> str:
    """The dataset config a record belongs to: its family, and for sequences the image count
    (Hugging Face needs one fixed set of columns per config)."""
    if record.family == RecordFamily.SEQUENCE:
        return f"sequence_{len(record_images(record))}img"
    return str(record.family)


def image_fields(n_images: int) -> list[str]:
    """Sample field names of a config's images: ``png``, or ``img0.png`` ... for sequences."""
    return ["png"] if n_images == 1 else [f"img{i}.png" for i in range(n_images)]


def record_json(record: Record) -> bytes:
    """The record as canonical JSON bytes (sorted keys, no spaces): same record, same bytes."""
    return json.dumps(
        to_row(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def sample_of(record: Record, images: list[bytes] | None) -> dict[str, bytes | str]:
    """A record's sample: its JSON, and its images unless ``images`` is None (layout
    ``once``: the images are in the ``images`` config)."""
    if not is_valid_key(record.record_id):
        raise ValueError(f"record id {record.record_id!r} is not a valid WebDataset key")
    sample: dict[str, bytes | str] = {"__key__": record.record_id, "json": record_json(record)}
    if images is not None:
        sample.update(zip(image_fields(len(images)), images, strict=True))
    return sample


@dataclass(frozen=True)
class ImageMeta:
    """What the ``images`` config says of one published image: our ids and the published
    pixels' own properties only (no value from an input header)."""

    study_id: str
    modality: str
    view: str | None
    width: int
    height: int
    sha256: str  # of the PNG bytes in the shard
    licence: str

    @classmethod
    def of(cls, study: Mapping[str, Any]) -> ImageMeta:
        """From a row of the studies table (``schemas.tables.STUDY``)."""
        return cls(
            study["study_id"],
            study["modality"],
            study["view"],
            study["width"],
            study["height"],
            study["image_sha256"],
            study["licence"],
        )


def image_json(meta: ImageMeta) -> bytes:
    """An image sample's JSON (sorted keys, no spaces): same image, same bytes."""
    return json.dumps(
        dataclasses.asdict(meta), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def record_image_keys(record: Record) -> set[tuple[str, str]]:
    """The (split, study id) of each image a record shows."""
    return {(record.split, ref.study_id) for ref in record_images(record)}


def image_keys(records: Iterable[Record]) -> list[tuple[str, str]]:
    """The (split, study id) of every image the records show, sorted and unique: what
    ``write_image_shards`` takes. An image shown by records of two splits is listed in both
    (records are split by patient, so this does not happen in a build)."""
    return sorted(set().union(*(record_image_keys(r) for r in records)))


class _AtomicFiles:
    """Opener and post hook of the shard writer: write ``<name>.partial``, rename when
    done."""

    def __init__(self) -> None:
        self._open: dict[str, object] = {}
        self.finished: list[tuple[Path, int]] = []
        self.aborted = False
        self._count = 0

    def opener(self, fname: str):
        handle = open(fname + PARTIAL_SUFFIX, "wb", buffering=WRITE_BUFFER)  # noqa: SIM115 - post()
        self._open[fname] = handle
        return handle

    def count(self) -> None:
        self._count += 1

    def post(self, fname: str) -> None:
        handle = self._open.pop(fname)
        handle.flush()  # type: ignore[attr-defined]
        os.fsync(handle.fileno())  # type: ignore[attr-defined]
        handle.close()  # type: ignore[attr-defined]
        if self.aborted:  # the shard is incomplete: it keeps its .partial name
            return
        os.replace(fname + PARTIAL_SUFFIX, fname)
        self.finished.append((Path(fname), self._count))
        self._count = 0


class ContentTag:
    """``content_tag`` fed one record at a time, in record-id order (a ValueError names a
    record out of order), so that a streaming publish need not hold the records."""

    def __init__(self, image_sha256: Mapping[str, str], layout: str = "per_record") -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"shards.images {layout!r} is not one of {LAYOUTS}")
        self._image_sha256 = image_sha256
        self._digest = hashlib.sha256()
        if layout != "per_record":
            self._digest.update(f"layout={layout}\n".encode())
        self._last: str | None = None

    def add(self, record: Record) -> None:
        if self._last is not None and record.record_id <= self._last:
            raise ValueError(f"content tag: record {record.record_id} out of record-id order")
        self._last = record.record_id
        self._digest.update(record_json(record))
        for ref in record_images(record):
            self._digest.update(self._image_sha256[ref.study_id].encode())

    @property
    def tag(self) -> str:
        return self._digest.hexdigest()[:12]


def content_tag(
    records: Iterable[Record], image_sha256: Mapping[str, str], layout: str = "per_record"
) -> str:
    """A short hash of everything the shards hold (records and image bytes, and the layout
    unless it is ``per_record``). It is part of the shard file names and of the card's file
    patterns: Hugging Face ``datasets`` keys its cache by those patterns and the folder's
    name, so without it two releases in folders of the same name would read each other's
    cached rows (a ``grounding`` shard with its images, or without)."""
    tag = ContentTag(image_sha256, layout)
    for record in sorted(records, key=lambda r: r.record_id):
        tag.add(record)
    return tag.tag


def shard_pattern(config: str, split: str, tag: str | None) -> str:
    """The shard files of one config and split (a glob, relative to the release)."""
    stem = f"{config}-{split}-{tag}" if tag else f"{config}-{split}"
    return f"{config}/{split}/{stem}-*.tar"


def shard_order(record: Record) -> tuple[str, str, str]:
    """The order ``write_shards`` takes records in: config, split, record id."""
    return (config_name(record), record.split, record.record_id)


def _ascending(
    items: Iterable[T], key: Callable[[T], Any], out_of_order: Callable[[T, Any], str]
) -> Iterator[T]:
    """``items`` as they come, checked strictly ascending by ``key``: a ValueError with
    ``out_of_order(item, previous key)`` at the first that is not."""
    previous = None
    for item in items:
        current = key(item)
        if previous is not None and current <= previous:
            raise ValueError(out_of_order(item, previous))
        previous = current
        yield item


def write_shards(
    records: Iterable[Record],
    read_image: Callable[[str], bytes],
    dest: Path,
    *,
    max_size_bytes: int,
    max_count: int,
    tag: str | None = None,
    embed_images: bool = True,
) -> list[ShardFile]:
    """Write records under ``dest/<config>/<split>/<config>-<split>-<tag>-NNNNN.tar``, in one
    streaming pass: ``records`` must come in ``shard_order`` (a ValueError names the first
    record out of order), and only the sample being written is held in memory.
    ``read_image`` gives the published PNG bytes of a study id; ``embed_images=False``
    (layout ``once``) writes the record JSON only and never calls it."""
    written: list[ShardFile] = []
    ordered = _ascending(
        records,
        shard_order,
        lambda record, previous: (
            f"write_shards: record {record.record_id} comes after "
            f"{previous[2]} (records must be sorted by config, split and record id)"
        ),
    )
    for (config, split), group in itertools.groupby(ordered, key=lambda r: shard_order(r)[:2]):
        samples = (sample_of(r, _images(r, read_image) if embed_images else None) for r in group)
        written += _write_group(dest, config, split, samples, max_size_bytes, max_count, tag)
    return written


def _images(record: Record, read_image: Callable[[str], bytes]) -> list[bytes]:
    return [read_image(ref.study_id) for ref in record_images(record)]


def write_image_shards(
    images: Iterable[tuple[str, str]],
    read_image: Callable[[str], bytes],
    image_meta: Callable[[str], ImageMeta],
    dest: Path,
    *,
    max_size_bytes: int,
    max_count: int,
    tag: str | None = None,
) -> list[ShardFile]:
    """Write the ``images`` config: one sample per (split, study id), sorted and unique (a
    ValueError names the first out of order), under
    ``dest/images/<split>/images-<split>-<tag>-NNNNN.tar``; key the study id, ``png`` the
    published bytes (``read_image``), ``json`` the image's metadata (``image_meta``)."""
    written: list[ShardFile] = []
    ordered = _ascending(
        images,
        lambda key: key,
        lambda key, previous: (
            f"write_image_shards: image {key[1]} ({key[0]}) comes after "
            f"{previous[1]} ({previous[0]}) (images must be sorted by split and study id, unique)"
        ),
    )
    for split, group in itertools.groupby(ordered, key=lambda k: k[0]):
        samples = (_image_sample(sid, read_image, image_meta) for _, sid in group)
        written += _write_group(dest, IMAGES_CONFIG, split, samples, max_size_bytes, max_count, tag)
    return written


def _image_sample(
    study_id: str, read_image: Callable[[str], bytes], image_meta: Callable[[str], ImageMeta]
) -> dict[str, bytes | str]:
    if not is_valid_key(study_id):
        raise ValueError(f"study id {study_id!r} is not a valid WebDataset key")
    meta = image_meta(study_id)
    if meta.study_id != study_id:
        raise ValueError(f"image_meta({study_id!r}) describes {meta.study_id!r}")
    return {"__key__": study_id, "json": image_json(meta), "png": read_image(study_id)}


def _write_group(
    dest: Path,
    config: str,
    split: str,
    samples: Iterable[dict[str, bytes | str]],
    max_size_bytes: int,
    max_count: int,
    tag: str | None,
) -> list[ShardFile]:
    """The shards of one config and split, one sample held at a time."""
    folder = dest / config / split
    folder.mkdir(parents=True, exist_ok=True)
    files = _AtomicFiles()
    writer = TarShardWriter(
        str(dest / shard_pattern(config, split, tag).replace("*", "%05d")),
        maxcount=max_count,
        maxsize=max_size_bytes,
        post=files.post,
        opener=files.opener,
        mtime=0,
        user="",
        group="",
        mode=0o444,
    )
    try:
        for sample in samples:
            writer.write(sample)
            files.count()
    except BaseException:
        files.aborted = True
        raise
    finally:
        writer.close()
    return [ShardFile(config, split, path, n) for path, n in files.finished]


def release_size(
    shard_files: Iterable[ShardFile], study_ids: Iterable[str], image_size: Callable[[str], int]
) -> dict:
    """What the shards weigh against the images they publish: bytes of all shards, of the
    ``images`` config's shards, the number and bytes of the unique images the records show
    (``study_ids``; ``image_size`` of a study id), and ``ratio`` = shard bytes / unique image
    bytes (issue 16: at most 1.3 in layout ``once``). Read before the shards move."""
    shard_files = list(shard_files)
    images = [sf for sf in shard_files if sf.config == IMAGES_CONFIG]
    studies = sorted(set(study_ids))
    shard_bytes = sum(sf.path.stat().st_size for sf in shard_files)
    image_bytes = sum(image_size(sid) for sid in studies)
    return {
        "shard_bytes": shard_bytes,
        "image_shard_bytes": sum(sf.path.stat().st_size for sf in images),
        "images_by_split": {
            split: sum(sf.n_records for sf in images if sf.split == split)
            for split in sorted({sf.split for sf in images})
        },
        "unique_images": len(studies),
        "unique_image_bytes": image_bytes,
        "ratio": round(shard_bytes / image_bytes, 3) if image_bytes else 0.0,
    }


def size_line(size: dict) -> str:
    """The release-size figure, as the build summary and the card print it."""
    return (
        f"shards {size['shard_bytes']} bytes for {size['unique_images']} unique published "
        f"images of {size['unique_image_bytes']} bytes: {size['ratio']:.3f} bytes of shards "
        "per byte of unique image"
    )
