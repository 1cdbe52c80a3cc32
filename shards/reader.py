"""Reading a published release back, sample by sample, without Hugging Face: the exact
record JSON and PNG bytes, in manifest order (for exports and checks). In layout ``once``
the images come from the ``images`` config (``shards.writer``), joined on the split and the
study id: the members' offsets are indexed first and each image is read when a record
needs it, so a sample looks the same in either layout."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shards.publish import published_files
from shards.writer import IMAGES_CONFIG, image_fields


@dataclass(frozen=True)
class ReleaseSample:
    config: str
    split: str
    record: dict
    images: list[bytes]  # PNG bytes, in the record's image order


class ImageIndex:
    """Where each image of the ``images`` config lies: (split, study id) -> (shard, offset,
    size) of its ``png`` member; ``read`` gives its bytes."""

    def __init__(self, release: Path, shards: list[str]) -> None:
        self.release = release
        self.where: dict[tuple[str, str], tuple[str, int, int]] = {}
        for rel in shards:
            split = rel.split("/")[1]
            with tarfile.open(release / rel) as tar:
                for member in tar:
                    key, _, field = member.name.partition(".")
                    if member.isfile() and field == "png":
                        self.where[(split, key)] = (rel, member.offset_data, member.size)

    def __len__(self) -> int:
        return len(self.where)

    def read(self, split: str, study_id: str) -> bytes:
        try:
            rel, offset, size = self.where[(split, study_id)]
        except KeyError:
            raise FileNotFoundError(
                f"{self.release}: image {study_id} ({split}) is not in the {IMAGES_CONFIG} "
                "config a record of that split names"
            ) from None
        with (self.release / rel).open("rb") as f:
            f.seek(offset)
            return f.read(size)


def _record_shards(release: Path) -> tuple[list[str], list[str]]:
    shards = [f for f in published_files(release) if f.endswith(".tar")]
    if not shards:
        raise FileNotFoundError(f"{release}: no shards listed in manifest.json (not a release?)")
    images = [f for f in shards if f.split("/")[0] == IMAGES_CONFIG]
    return [f for f in shards if f not in images], images


def iter_release(release: Path) -> Iterator[ReleaseSample]:
    """Every record sample of every shard listed in the release's manifest, with its
    images (embedded, or joined from the ``images`` config)."""
    record_shards, image_shards = _record_shards(release)
    index = ImageIndex(release, image_shards) if image_shards else None
    for rel in record_shards:
        config, split = rel.split("/")[:2]
        for fields in _tar_samples(release / rel):
            yield _sample(config, split, fields, index)


def _tar_samples(path: Path) -> Iterator[dict[str, bytes]]:
    with tarfile.open(path) as tar:
        sample: dict[str, bytes] = {}
        key = None
        for member in tar:
            if not member.isfile():
                continue
            base, _, field = member.name.partition(".")
            if key is not None and base != key:
                yield sample
                sample = {}
            key = base
            sample[field] = tar.extractfile(member).read()  # type: ignore[union-attr]
        if sample:
            yield sample


def _sample(
    config: str, split: str, fields: dict[str, bytes], index: ImageIndex | None
) -> ReleaseSample:
    record = json.loads(fields["json"])
    refs = record["images"] if "images" in record else [record["image"]]
    names = image_fields(len(refs))
    if index is None or names[0] in fields:
        images = [fields[name] for name in names]
    else:
        images = [index.read(split, ref["study_id"]) for ref in refs]
    return ReleaseSample(config, split, record, images)
