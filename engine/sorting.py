"""Rows of many Parquet files, and sorting them when they need not fit in memory (an
external merge sort), for the streaming finalize. ``Rows`` reads its files one after
another, a batch at a time, applying row-wise polars steps (filters, new columns) to each
batch: polars never scans all chunk files at once (its multi-file scan holds buffers per
file). ``sort_to_parquet`` sorts batches of ``batch_rows`` (polars, stable) into runs on
disk (uncompressed Arrow IPC: a reader of one costs far less memory than a Parquet reader,
about 1 MB each on the record tables), and the runs are merged (``heapq.merge``, stable:
ties keep their input order), at most ``FAN_IN`` at a time. Only a batch, or ``FAN_IN``
batches of ``batch_rows / FAN_IN`` rows, is held at once. The result is a Parquet file of
the given Arrow schema (``schemas.tables``: its types and nullability, not polars' own),
replaced atomically.

``system_arrow_pool`` makes the build's Arrow buffers come from the system allocator:
pyarrow's default pool (mimalloc) keeps the pages of freed batches, so a streaming finalize's
resident memory grew with the corpus although no step held it (issue 16: about 30 MB more
between builds of 200 and 1,000 images, with no Arrow bytes allocated between steps)."""

from __future__ import annotations

import contextlib
import functools
import heapq
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

# Runs merged at once. Each open run holds a reader and a batch of ``batch_rows / FAN_IN``
# rows: the peak grows with the runs merged until FAN_IN is reached. With Parquet runs a
# reader cost about 1 MB resident (16 runs peaked 14 MB above 8); IPC runs cost far less.
FAN_IN = 8
# A sort key: columns, each with the value a null sorts as (None: the column has no nulls).
SortKey = Sequence[tuple[str, Any]]


Step = Callable[[pl.LazyFrame], pl.LazyFrame]


@dataclass(frozen=True)
class Rows:
    """The rows of Parquet files, in file order, each file with its row-wise steps."""

    parts: tuple[tuple[Path, tuple[Step, ...]], ...] = ()

    @classmethod
    def of(cls, paths: Iterable[Path]) -> Rows:
        return cls(tuple((Path(p), ()) for p in paths))

    def then(self, step: Step) -> Rows:
        """``step`` (row-wise: a filter, columns computed from the row) on every row."""
        return Rows(tuple((path, (*steps, step)) for path, steps in self.parts))

    def filter(self, predicate: pl.Expr) -> Rows:
        return self.then(lambda lf: lf.filter(predicate))

    def __add__(self, other: Rows) -> Rows:
        return Rows(self.parts + other.parts)

    def batches(self, batch_rows: int) -> Iterator[pl.DataFrame]:
        """Non-empty batches of at most ``batch_rows`` rows, in order."""
        for path, steps in self.parts:
            for batch in parquet_batches(path, batch_rows):
                lf = pl.from_arrow(pa.Table.from_batches([batch])).lazy()  # type: ignore[union-attr]
                for step in steps:
                    lf = step(lf)
                frame = lf.collect()
                if frame.height:
                    yield frame

    def dicts(self, batch_rows: int = 1024) -> Iterator[dict]:
        for frame in self.batches(batch_rows):
            yield from frame.iter_rows(named=True)

    def tuples(self, *columns: str, batch_rows: int = 4096) -> Iterator[tuple]:
        """The given columns of every row as tuples, in order. A file without steps is read
        with pyarrow alone, only those columns: no polars frame, no other column decoded."""
        for path, steps in self.parts:
            if steps:
                for frame in Rows(((path, steps),)).batches(batch_rows):
                    yield from frame.select(columns).iter_rows()
                continue
            for batch in parquet_batches(path, batch_rows, columns):
                yield from zip(*(batch.column(c).to_pylist() for c in columns), strict=True)


@contextlib.contextmanager
def system_arrow_pool() -> Iterator[None]:
    """Arrow's default memory pool is the system allocator while the block runs (then the
    previous one again): freed batches go back to the system, so memory stays bounded by
    the batch size, not by the corpus."""
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def with_system_arrow_pool(fn: Callable) -> Callable:
    """``fn`` run inside ``system_arrow_pool``."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with system_arrow_pool():
            return fn(*args, **kwargs)

    return run


def key_exprs(key: SortKey) -> list[pl.Expr]:
    return [pl.col(c) if d is None else pl.col(c).fill_null(d) for c, d in key]


def _row_key(key: SortKey):
    def of(row: dict) -> tuple:
        return tuple(row[c] if row[c] is not None or d is None else d for c, d in key)

    return of


def parquet_batches(
    path: Path, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """A Parquet file's record batches of at most ``batch_rows`` rows (of ``columns`` only,
    when given), read in this thread and without pyarrow's ``pre_buffer``, which reads every
    row group of the file into memory before the first batch: with it, reading the tables
    held memory that grew with the corpus (and each of a merge's FAN_IN readers its whole
    run)."""
    file = pq.ParquetFile(path, pre_buffer=False)
    names = None if columns is None else list(columns)
    yield from file.iter_batches(batch_size=batch_rows, columns=names, use_threads=False)


def _run_rows(path: Path, batch_rows: int) -> Iterator[dict]:
    """The rows of a scratch run (an Arrow IPC file), ``batch_rows`` at a time: a batch is
    read from the file (not memory-mapped: its pages would count as resident) and sliced."""
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            batch = reader.get_batch(i)
            for start in range(0, batch.num_rows, batch_rows):
                yield from batch.slice(start, batch_rows).to_pylist()
            del batch


def _batches(rows: Iterator[dict], schema: pa.Schema, batch_rows: int) -> Iterator[pa.Table]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == batch_rows:
            yield pa.Table.from_pylist(batch, schema=schema)
            batch = []
    if batch:
        yield pa.Table.from_pylist(batch, schema=schema)


def _write(rows: Iterator[dict], path: Path, schema: pa.Schema, batch_rows: int) -> None:
    partial = path.with_name(path.name + ".partial")
    with pq.ParquetWriter(partial, schema, compression="snappy") as writer:
        for table in _batches(rows, schema, batch_rows):
            writer.write_table(table)
    os.replace(partial, path)


def _write_run(tables: Iterable[pa.Table], path: Path, schema: pa.Schema, read_rows: int) -> None:
    """A scratch run: an uncompressed Arrow IPC file of record batches of ``read_rows`` rows
    (a merge holds one batch per run it reads)."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for table in tables:
            writer.write_table(table, max_chunksize=read_rows)


def sort_to_parquet(
    rows: Rows,
    key: SortKey,
    path: Path,
    schema: pa.Schema,
    scratch: Path,
    batch_rows: int,
) -> None:
    """Write ``rows`` sorted by ``key`` (stable; an empty key keeps their order)
    as the Parquet file ``path`` of ``schema``, holding about ``batch_rows`` rows at a
    time."""
    scratch.mkdir(parents=True, exist_ok=True)
    stem = f"{path.stem}.{uuid.uuid4().hex[:8]}"
    read_rows = max(1, batch_rows // FAN_IN)
    runs: list[Path] = []
    exprs = key_exprs(key)

    def write_run(frames: list[pl.DataFrame]) -> None:
        frame = pl.concat(frames)
        if exprs:
            frame = frame.sort(exprs, maintain_order=True)
        runs.append(scratch / f"{stem}.run{len(runs)}.arrow")
        table = frame.to_arrow()
        _write_run([table], runs[-1], table.schema, read_rows)

    pending: list[pl.DataFrame] = []
    n_pending = 0
    for frame in rows.batches(batch_rows):
        pending.append(frame)
        n_pending += frame.height
        if n_pending >= batch_rows:
            write_run(pending)
            pending, n_pending = [], 0
    if pending:
        write_run(pending)
    del pending
    order = _row_key(key)
    level = 0
    while len(runs) > FAN_IN:  # merge FAN_IN runs at a time until FAN_IN are left
        merged = []
        for j in range(0, len(runs), FAN_IN):
            group = runs[j : j + FAN_IN]
            out = scratch / f"{stem}.merge{level}.{j}.arrow"
            rows = heapq.merge(*(_run_rows(r, read_rows) for r in group), key=order)
            _write_run(_batches(rows, schema, batch_rows), out, schema, read_rows)
            for r in group:
                r.unlink()
            merged.append(out)
        runs, level = merged, level + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = heapq.merge(*(_run_rows(r, read_rows) for r in runs), key=order)
    _write(merged, path, schema, batch_rows)
    for r in runs:
        r.unlink()
