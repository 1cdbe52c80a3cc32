"""Reading a published release back, sample by sample, without Hugging Face: the exact
record JSON and PNG bytes, in manifest order (for exports and checks)."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shards.publish import published_files
from shards.writer import image_fields


@dataclass(frozen=True)
class ReleaseSample:
    config: str
    split: str
    record: dict
    images: list[bytes]  # PNG bytes, in the record's image order


def iter_release(release: Path) -> Iterator[ReleaseSample]:
    """Every sample of every shard listed in the release's manifest."""
    shards = [f for f in published_files(release) if f.endswith(".tar")]
    if not shards:
        raise FileNotFoundError(f"{release}: no shards listed in manifest.json (not a release?)")
    for rel in shards:
        config, split = rel.split("/")[:2]
        with tarfile.open(release / rel) as tar:
            sample: dict[str, bytes] = {}
            key = None
            for member in tar:
                if not member.isfile():
                    continue
                base, _, field = member.name.partition(".")
                if key is not None and base != key:
                    yield _sample(config, split, sample)
                    sample = {}
                key = base
                sample[field] = tar.extractfile(member).read()  # type: ignore[union-attr]
            if sample:
                yield _sample(config, split, sample)


def _sample(config: str, split: str, fields: dict[str, bytes]) -> ReleaseSample:
    record = json.loads(fields["json"])
    n = len(record["images"]) if "images" in record else 1
    return ReleaseSample(config, split, record, [fields[name] for name in image_fields(n)])
