"""The small release the export and evaluation tests read (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import load_config
from engine.pipeline import run_build
from tests.helpers import write_config


@pytest.fixture(scope="session")
def release(tmp_path_factory) -> Path:
    """Synthetic radiographs (160x160) with sequence records: crops of other sizes too."""
    base = tmp_path_factory.mktemp("export")
    cfg = write_config(
        base / "c.yaml", [{"kind": "synthetic_cxr", "n_images": 10, "seed": 2, "image_size": 160}]
    )
    run_build(load_config(cfg), base / "release")
    return base / "release"
