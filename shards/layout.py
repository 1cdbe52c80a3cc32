"""Where things are: the repository, the shared real data, the layout of a build folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_realdata_dir() -> Path:
    """``$MEDSG_REALDATA``, else ``../shared/realdata`` beside the repository."""
    env = os.environ.get("MEDSG_REALDATA")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "realdata").resolve()


@dataclass(frozen=True)
class BuildLayout:
    """The folders of one build. ``out`` is the release (what gets published and what
    ``datasets.load_dataset(out, config)`` reads); ``out/_build`` is private build state
    (resolved config, quarantine with real file paths, tables, rendered images, caches)
    that is never published."""

    out: Path

    @property
    def build(self) -> Path:
        return self.out / "_build"

    @property
    def images(self) -> Path:
        return self.build / "images"

    @property
    def tables(self) -> Path:
        return self.build / "tables"

    @property
    def cache(self) -> Path:
        return self.build / "cache"

    @property
    def chunks(self) -> Path:
        """One folder per processed chunk: its rows as Parquet (``engine.chunk_files``)."""
        return self.build / "chunks"

    @property
    def merge(self) -> Path:
        """Scratch files of the streaming finalize (sorted runs, rows it adds)."""
        return self.build / "merge"

    @property
    def generated(self) -> Path:
        return self.build / "generated"

    @property
    def staging(self) -> Path:
        return self.build / "staging"

    @property
    def resolved_config(self) -> Path:
        return self.build / "config.resolved.yaml"

    @property
    def stats(self) -> Path:
        return self.build / "stats.json"

    @property
    def quarantine(self) -> Path:
        return self.tables / "quarantine.parquet"

    @property
    def items_table(self) -> Path:
        return self.tables / "items.parquet"

    @property
    def item_traces(self) -> Path:
        return self.tables / "item_traces.parquet"

    @property
    def processor_log(self) -> Path:
        """Tracebacks of unexpected processor exceptions (private)."""
        return self.build / "logs" / "processor_errors.log"

    def image_path(self, study_id: str) -> Path:
        return self.images / study_id[-2:] / f"{study_id}.png"

    def relative(self, path: Path) -> str:
        return path.relative_to(self.build).as_posix()
