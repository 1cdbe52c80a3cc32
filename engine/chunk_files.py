"""Chunk results as files: each processed chunk writes its rows as Parquet (the Arrow schemas
of ``schemas.tables``) into its own folder under ``_build/chunks/<chunk id>/``, plus a small
``chunk.json`` of counts, stats and source paths, and hands back a ``ChunkHandle`` (folder,
counts, stats). A Dask worker in another process writes the files on shared storage; the
flow (and Prefect's persisted cache) only holds the handle; finalize reads the files with
polars. The folder is written under a temporary name and renamed once complete."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from engine.sorting import parquet_batches
from engine.stats import BuildStats
from schemas.arrow import from_row, to_row
from schemas.tables import FINDING, ITEMS, QUARANTINE, RECORD_SCHEMAS, STUDY
from shards.layout import BuildLayout

META = "chunk.json"
# The tables of a chunk, by file stem, with their schemas.
CHUNK_TABLES: dict[str, pa.Schema] = {
    "studies": STUDY,
    "findings": FINDING,
    **{f"records_{family}": schema for family, schema in RECORD_SCHEMAS.items()},
    "quarantine": QUARANTINE,
    "items": ITEMS,
}


@dataclass(frozen=True)
class ChunkHandle:
    """What the flow keeps of a processed chunk: where its files are, and its counts."""

    chunk_id: str
    folder: str
    counts: dict[str, int]  # rows per table
    stats: BuildStats

    def table(self, name: str) -> Path:
        return Path(self.folder) / f"{name}.parquet"


def write_rows(path: Path, rows: Iterable[object], schema: pa.Schema) -> int:
    """Typed rows (dataclasses) as one Parquet file of ``schema``; the number of rows."""
    table = pa.Table.from_pylist([to_row(r) for r in rows], schema=schema)
    pq.write_table(table, path)
    return table.num_rows


def write_chunk(
    layout: BuildLayout,
    chunk_id: str,
    tables: dict[str, list],
    stats: BuildStats,
    source_paths: dict[str, str],
) -> ChunkHandle:
    """Write a chunk's rows (``tables``: stem -> typed rows, every stem of ``CHUNK_TABLES``)
    into ``layout.chunks / chunk_id``, atomically: a temporary folder renamed when complete
    (a previous folder of the same id is replaced)."""
    final = layout.chunks / chunk_id
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{chunk_id}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    try:
        counts = {
            name: write_rows(tmp / f"{name}.parquet", tables[name], schema)
            for name, schema in CHUNK_TABLES.items()
        }
        meta = {
            "chunk_id": chunk_id,
            "counts": counts,
            "flow": dict(stats.flow),
            "quarantine": [[s, r, n] for (s, r), n in sorted(stats.quarantine.items())],
            "source_paths": source_paths,
        }
        (tmp / META).write_text(json.dumps(meta, sort_keys=True) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ChunkHandle(chunk_id, str(final), counts, stats)


def chunk_on_disk(layout: BuildLayout, chunk_id: str) -> bool:
    """Whether the chunk's folder is complete and every image it wrote (every view of every
    item) still exists; if not (or if it never ran), the chunk runs again instead of reusing
    its cached handle."""
    folder = layout.chunks / chunk_id
    if not (folder / META).is_file():
        return False
    if not all((folder / f"{name}.parquet").is_file() for name in CHUNK_TABLES):
        return False
    try:
        paths = pq.read_table(folder / "studies.parquet", columns=["image_path"])
    except (OSError, pa.ArrowException):
        return False
    return all((layout.build / rel).is_file() for rel in paths.column(0).to_pylist())


class SourcePaths(Mapping[str, str]):
    """Study id -> input file, over the chunks: read from their ``chunk.json`` only when
    first asked (only the rows that set a record aside name the file)."""

    def __init__(self, handles: Iterable[ChunkHandle]) -> None:
        self._folders = [Path(h.folder) for h in handles]
        self._paths: dict[str, str] | None = None

    def _loaded(self) -> dict[str, str]:
        if self._paths is None:
            self._paths = {}
            for folder in self._folders:
                self._paths.update(json.loads((folder / META).read_text())["source_paths"])
        return self._paths

    def __getitem__(self, study_id: str) -> str:
        return self._loaded()[study_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


def merged_stats(handles: Iterable[ChunkHandle]) -> BuildStats:
    stats = BuildStats(flow=Counter(), quarantine=Counter())
    for handle in handles:
        stats.merge(handle.stats)
    return stats


def remove_other_chunks(layout: BuildLayout, keep: Iterable[str]) -> None:
    """Chunk folders of earlier builds (other inputs, settings or code) and temporary folders
    a crash left: removed (their cached handles then run again)."""
    if not layout.chunks.is_dir():
        return
    kept = set(keep)
    for folder in layout.chunks.iterdir():
        if folder.name not in kept:
            shutil.rmtree(folder, ignore_errors=True)


def iter_rows(path: Path, cls: type, batch_rows: int) -> Iterator:
    """The rows of a Parquet file as ``cls`` instances (``schemas.arrow.from_row``), read
    ``batch_rows`` at a time."""
    for batch in parquet_batches(path, batch_rows):
        for row in batch.to_pylist():
            yield from_row(cls, row)
