"""The build engine: plan the configured sources, process items chunk by chunk, finalize
(deduplicate, tables, item statuses) and publish (shards, card, manifest), republish after
review. Plain functions; ``flows`` wraps them in Prefect tasks.

Arrow's memory pool is the system allocator unless the environment names another: pyarrow's
default (mimalloc) keeps the pages of freed batches, so the streaming finalize's resident
memory grew with the corpus (issue 16). pyarrow reads the variable once, when it is first
imported: where something imported it before ``engine``, ``engine.sorting.system_arrow_pool``
still switches the pool that Python-level calls use while chunks and finalize run.

glibc malloc keeps freed megabyte buffers for reuse instead of mapping fresh pages for each
(``engine.allocator``: the page faults cost about 8% of a build's CPU time)."""

import os

from engine.allocator import tune_malloc

os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
tune_malloc()

__version__ = "0.1.0"
