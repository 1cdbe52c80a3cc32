"""``engine.allocator``: glibc's thresholds are set when the engine is imported (a megabyte
buffer freed and allocated again reuses the heap's pages instead of faulting fresh ones in),
and the environment's own glibc settings win."""

from __future__ import annotations

import platform
import resource

import pytest

from engine.allocator import tune_malloc

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc only")


@glibc
def test_megabyte_buffers_reuse_the_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    # a Dask nanny run in this process earlier leaks its MALLOC_TRIM_THRESHOLD_ into
    # os.environ (distributed.nanny.pre-spawn-environ), which tune_malloc would respect
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)
    assert tune_malloc()
    block = bytes(1 << 20)
    for _ in range(3):  # warm: the heap has grown to what the loop needs
        _ = b"x" + block + b"y"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):  # 40 MB allocated and freed: about 9,600 page faults untuned
        _ = b"x" + block + b"y"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < 1000


def test_environment_settings_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert not tune_malloc()
