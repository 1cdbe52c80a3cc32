"""Shared fixtures: where the real data is (skip with a reason when absent), a Prefect test
server per session, and builders for small configs and releases."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Hugging Face reads HF_HOME when `datasets` is first imported, which test modules do at
# collection, before any fixture runs: set it here, or every session shares (and collides
# in) ~/.cache/huggingface.
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="medsg-test-hf-")

from shards.layout import default_realdata_dir

atexit.register(shutil.rmtree, os.environ["HF_HOME"], True)

REALDATA = default_realdata_dir()
DEMO_SALT = "medsg-public-demo-salt"


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not (REALDATA / "README.md").is_file():
        pytest.skip(
            f"real data not found at {REALDATA} (set MEDSG_REALDATA or place ../shared/realdata "
            "beside the repository); CI has it"
        )
    return REALDATA


@pytest.fixture(scope="session", autouse=True)
def _isolated_homes(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Prefect state of the test session stays in a temporary folder (Hugging Face's too:
    see HF_HOME above)."""
    base = tmp_path_factory.mktemp("homes")
    os.environ["PREFECT_HOME"] = str(base / "prefect")
    os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server (SQLite) for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def demo_release(prefect_server, realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The embedded demo (the README's main job) built once through the build-medsg flow."""
    from flows.build import build_medsg

    out = tmp_path_factory.mktemp("demo") / "release"
    return build_medsg(config=None, out=str(out))
