"""``shards.tar_shards.TarShardWriter`` writes the bytes webdataset's ``ShardWriter`` writes
(stream mode, no encoder, the metadata ``shards.writer`` fixes), shard splits included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import webdataset as wds

from shards.tar_shards import TarShardWriter


def _samples(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        size = int(rng.choice([0, 1, 511, 512, 513, 10240, 70_001]))
        key = f"rec-{i:04d}" + ("x" * 120 if i % 7 == 3 else "")  # long names: pax headers
        sample = {"__key__": key, "json": rng.bytes(int(rng.integers(0, 900)))}
        sample["png" if i % 2 else "img0.png"] = rng.bytes(size)
        if i % 5 == 0:
            sample["_meta"] = b"left out"
            sample["img1.png"] = bytearray(rng.bytes(300))
        out.append(sample)
    return out


def _write(cls, folder: Path, samples: list[dict], maxcount: int, maxsize: int) -> dict:
    folder.mkdir()
    files: dict[str, object] = {}

    def opener(name: str):
        files[name] = open(name, "wb")  # noqa: SIM115 - closed in post
        return files[name]

    def post(name: str) -> None:
        files[name].close()  # type: ignore[attr-defined]

    kw = {"mtime": 0, "user": "", "group": "", "mode": 0o444}
    if cls is wds.ShardWriter:
        kw |= {"verbose": 0, "encoder": False}
    writer = cls(
        str(folder / "part-%05d.tar"),
        maxcount=maxcount,
        maxsize=maxsize,
        opener=opener,
        post=post,
        **kw,
    )
    for sample in samples:
        writer.write(sample)
    writer.close()
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


SPLITS = [(0, 10, 1 << 30), (30, 7, 1 << 30), (30, 100, 100_000), (1, 1, 1)]


@pytest.mark.parametrize(("n", "maxcount", "maxsize"), SPLITS)
def test_same_bytes_as_webdataset(tmp_path: Path, n: int, maxcount: int, maxsize: int) -> None:
    samples = _samples(n, seed=n + maxcount)
    ours = _write(TarShardWriter, tmp_path / "ours", samples, maxcount, maxsize)
    theirs = _write(wds.ShardWriter, tmp_path / "wds", samples, maxcount, maxsize)
    assert list(ours) == list(theirs) and len(ours) >= 1
    assert ours == theirs


def test_rejects_what_webdataset_rejects(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="__key__"):
        _write(TarShardWriter, tmp_path / "a", [{"json": b"{}"}], 10, 1 << 30)
    with pytest.raises(ValueError, match="json"):
        _write(TarShardWriter, tmp_path / "b", [{"__key__": "k", "json": "{}"}], 10, 1 << 30)
