"""Sorting a table that need not fit in memory (an external merge sort), for the streaming
finalize: polars streams the query's rows into an unsorted file, each batch of
``batch_rows`` is sorted (polars, stable) into a run on disk, and the runs are merged
(``heapq.merge``, stable: ties keep their input order), at most ``FAN_IN`` at a time. Only
a batch, or ``FAN_IN`` small read buffers, is held at once. The result is a Parquet file of
the given Arrow schema (``schemas.tables``: its types and nullability, not polars' own),
replaced atomically."""

from __future__ import annotations

import heapq
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

FAN_IN = 16

# A sort key: columns, each with the value a null sorts as (None: the column has no nulls).
SortKey = Sequence[tuple[str, Any]]


def key_exprs(key: SortKey) -> list[pl.Expr]:
    return [pl.col(c) if d is None else pl.col(c).fill_null(d) for c, d in key]


def _row_key(key: SortKey):
    def of(row: dict) -> tuple:
        return tuple(row[c] if row[c] is not None or d is None else d for c, d in key)

    return of


def _rows(path: Path, batch_rows: int) -> Iterator[dict]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
        yield from batch.to_pylist()


def _write(rows: Iterator[dict], path: Path, schema: pa.Schema, batch_rows: int) -> None:
    partial = path.with_name(path.name + ".partial")
    with pq.ParquetWriter(partial, schema) as writer:
        batch: list[dict] = []
        for row in rows:
            batch.append(row)
            if len(batch) == batch_rows:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    os.replace(partial, path)


def sort_to_parquet(
    lf: pl.LazyFrame,
    key: SortKey,
    path: Path,
    schema: pa.Schema,
    scratch: Path,
    batch_rows: int,
) -> None:
    """Write the rows of ``lf`` sorted by ``key`` (stable; an empty key keeps their order)
    as the Parquet file ``path`` of ``schema``, holding about ``batch_rows`` rows at a
    time."""
    scratch.mkdir(parents=True, exist_ok=True)
    stem = f"{path.stem}.{uuid.uuid4().hex[:8]}"
    unsorted = scratch / f"{stem}.in.parquet"
    lf.sink_parquet(unsorted, row_group_size=batch_rows)
    read_rows = max(1, batch_rows // FAN_IN)
    runs: list[Path] = []
    exprs = key_exprs(key)
    for i, batch in enumerate(pq.ParquetFile(unsorted).iter_batches(batch_size=batch_rows)):
        frame = pl.from_arrow(pa.Table.from_batches([batch]))
        if exprs:
            frame = frame.sort(exprs, maintain_order=True)  # type: ignore[union-attr]
        runs.append(scratch / f"{stem}.run{i}.parquet")
        frame.write_parquet(runs[-1], row_group_size=read_rows)  # type: ignore[union-attr]
        del frame
    unsorted.unlink()
    order = _row_key(key)
    level = 0
    while len(runs) > FAN_IN:  # merge FAN_IN runs at a time until FAN_IN are left
        merged = []
        for j in range(0, len(runs), FAN_IN):
            group = runs[j : j + FAN_IN]
            out = scratch / f"{stem}.merge{level}.{j}.parquet"
            rows = heapq.merge(*(_rows(r, read_rows) for r in group), key=order)
            _write(rows, out, schema, batch_rows)
            for r in group:
                r.unlink()
            merged.append(out)
        runs, level = merged, level + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(heapq.merge(*(_rows(r, read_rows) for r in runs), key=order), path, schema, batch_rows)
    for r in runs:
        r.unlink()
