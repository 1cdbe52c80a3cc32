"""The one decorator for compiled kernels (numba): ``@kernel`` compiles a function to machine
code on first call (nogil), caching the machine code in ``__pycache__`` beside its module so
later processes skip the compile. Where no cache directory is writable (a read-only install
without a writable home), the kernel still compiles, per process, with a warning."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numba


def kernel(fn: Callable) -> Callable:
    """``numba.njit(cache=True, nogil=True)``, or uncached (with a warning) when numba finds
    nowhere to write its cache."""
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError as exc:  # numba: "cannot cache function ...: no locator available"
        warnings.warn(f"{fn.__qualname__}: compiled without a cache ({exc})", stacklevel=2)
        return numba.njit(nogil=True)(fn)
