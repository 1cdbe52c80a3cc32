"""One core for the benchmarks' per-core figures: the process's CPU affinity set to a single
CPU (Linux), so that its threads take turns on it and wall seconds count one core's work.
On a machine whose CPUs are hyper-threads of one physical core, an unpinned process's two
threads slow each other and inflate CPU seconds per item (issue 16's notes: 2.72x the PNG
floor unpinned against 1.86x pinned, the same build)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

_BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pin_one_core(*, single_threaded_libraries: bool = False) -> str:
    """Run this process on one CPU from here on (the lowest it may use); say which.
    ``single_threaded_libraries``: BLAS and OpenMP pools limited to one thread too."""
    if single_threaded_libraries:
        for var in _BLAS_THREADS:
            os.environ[var] = "1"
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(1)
        except ImportError:  # pragma: no cover - threadpoolctl ships with scipy stacks
            pass
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


@contextmanager
def on_one_core() -> Iterator[str]:
    """``pin_one_core`` for a block, the process's CPUs given back after it (for a benchmark
    run inside another program, such as a test)."""
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        yield pin_one_core()
    finally:
        if before is not None:
            os.sched_setaffinity(0, before)
