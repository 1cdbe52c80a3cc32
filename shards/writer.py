"""WebDataset shards: one folder per config (record family and image count) and split,
size-bounded tar files written through webdataset's ShardWriter with fixed tar metadata, so
the same records give the same bytes. A shard is written as ``*.tar.partial`` and renamed
only once complete: a crash never leaves a partial shard under a complete-looking name."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import webdataset as wds

from schemas.arrow import to_row
from schemas.enums import RecordFamily
from schemas.identity import is_valid_key
from schemas.records import Record, record_images

PARTIAL_SUFFIX = ".partial"


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


def sample_of(record: Record, images: list[bytes]) -> dict[str, bytes | str]:
    if not is_valid_key(record.record_id):
        raise ValueError(f"record id {record.record_id!r} is not a valid WebDataset key")
    sample: dict[str, bytes | str] = {"__key__": record.record_id, "json": record_json(record)}
    sample.update(zip(image_fields(len(images)), images, strict=True))
    return sample


class _AtomicFiles:
    """Opener and post hook for ShardWriter: write ``<name>.partial``, rename when done."""

    def __init__(self) -> None:
        self._open: dict[str, object] = {}
        self.finished: list[tuple[Path, int]] = []
        self.aborted = False
        self._count = 0

    def opener(self, fname: str):
        handle = open(fname + PARTIAL_SUFFIX, "wb")  # noqa: SIM115 - closed in post()
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


def content_tag(records: Iterable[Record], image_sha256: Mapping[str, str]) -> str:
    """A short hash of everything the shards hold (records and image bytes). It is part of
    the shard file names and of the card's file patterns: Hugging Face ``datasets`` keys its
    cache by those patterns and the folder's name, so without it two releases in folders of
    the same name would read each other's cached rows."""
    digest = hashlib.sha256()
    for record in sorted(records, key=lambda r: r.record_id):
        digest.update(record_json(record))
        for ref in record_images(record):
            digest.update(image_sha256[ref.study_id].encode())
    return digest.hexdigest()[:12]


def shard_pattern(config: str, split: str, tag: str | None) -> str:
    """The shard files of one config and split (a glob, relative to the release)."""
    stem = f"{config}-{split}-{tag}" if tag else f"{config}-{split}"
    return f"{config}/{split}/{stem}-*.tar"


def shard_order(record: Record) -> tuple[str, str, str]:
    """The order ``write_shards`` takes records in: config, split, record id."""
    return (config_name(record), record.split, record.record_id)


def write_shards(
    records: Iterable[Record],
    read_image: Callable[[str], bytes],
    dest: Path,
    *,
    max_size_bytes: int,
    max_count: int,
    tag: str | None = None,
) -> list[ShardFile]:
    """Write records under ``dest/<config>/<split>/<config>-<split>-<tag>-NNNNN.tar``, in one
    streaming pass: ``records`` must come in ``shard_order`` (a ValueError names the first
    record out of order), and only the sample being written is held in memory.
    ``read_image`` gives the published PNG bytes of a study id."""
    written: list[ShardFile] = []
    previous: tuple[str, str, str] | None = None

    def in_order(records: Iterable[Record]) -> Iterator[Record]:
        nonlocal previous
        for record in records:
            key = shard_order(record)
            if previous is not None and key <= previous:
                raise ValueError(
                    f"write_shards: record {record.record_id} comes after {previous[2]} "
                    "(records must be sorted by config, split and record id)"
                )
            previous = key
            yield record

    for (config, split), group in itertools.groupby(
        in_order(records), key=lambda r: shard_order(r)[:2]
    ):
        folder = dest / config / split
        folder.mkdir(parents=True, exist_ok=True)
        files = _AtomicFiles()
        writer = wds.ShardWriter(
            str(dest / shard_pattern(config, split, tag).replace("*", "%05d")),
            maxcount=max_count,
            maxsize=max_size_bytes,
            post=files.post,
            opener=files.opener,
            verbose=0,
            encoder=False,
            mtime=0,
            user="",
            group="",
            mode=0o444,
        )
        try:
            for record in group:
                images = [read_image(ref.study_id) for ref in record_images(record)]
                writer.write(sample_of(record, images))
                files.count()
        except BaseException:
            files.aborted = True
            raise
        finally:
            writer.close()
        written += [ShardFile(config, split, path, n) for path, n in files.finished]
    return written
