"""glibc malloc's thresholds for a build process: blocks up to ``MMAP_THRESHOLD`` come from
the heap, and the heap keeps up to ``TRIM_THRESHOLD`` of free memory at its top instead of
handing it back to the system at once.

Why: a build allocates and frees megabyte buffers all the time (a published PNG's bytes,
a file read back, a shard sample). With glibc's defaults each such buffer was mapped fresh
(or the heap top trimmed and grown again), and every 4 kB page of it faulted in and was
zeroed by the kernel: about 1,600 page faults per 1024-px source image, 1.7 ms of system
time per megabyte on the build machine, some 14 ms of CPU per source image in all. With
these thresholds the heap's pages are reused (about 120 faults per image) for a few MB more
resident memory. Blocks over the threshold are still mapped and unmapped on their own, and
the heap is still trimmed above ``TRIM_THRESHOLD``, so freed memory is bounded as before.

Applied once, when ``engine`` is imported (``tune_malloc``); a no-op off glibc, or where the
environment sets glibc's own ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

MMAP_THRESHOLD = 32 << 20  # bytes: larger blocks are mapped on their own
TRIM_THRESHOLD = 64 << 20  # bytes of free heap top kept
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (glibc malloc.h)
_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def tune_malloc() -> bool:
    """Set the two thresholds (True), unless this is not glibc or the environment set them
    (False)."""
    if any(name in os.environ for name in _ENV):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl without mallopt...)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
