"""`prefect deployment run 'build-medsg/demo'` against the local server and process worker
that scripts/prefect_local.sh starts (a real Prefect server, a real worker)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from shards.layout import REPO_ROOT
from shards.manifest import verify

pytestmark = [pytest.mark.server, pytest.mark.prefect]
SCRIPT = REPO_ROOT / "scripts" / "prefect_local.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def local_server(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(MEDSG_PREFECT_DIR=str(tmp_path / "prefect"), MEDSG_PREFECT_PORT=str(free_port()))
    up = subprocess.run([str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=300)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "'build-medsg/demo'" in up.stdout
        assert "'build-medsg/demo-review'" in up.stdout  # expert review (annotation/)
        assert "'sync-reviews/demo-review'" in up.stdout
        exports = subprocess.run(
            [str(SCRIPT), "env"], env=env, capture_output=True, text=True, check=True
        ).stdout
        for pair in exports.replace("export ", "").split():
            key, value = pair.split("=", 1)
            env[key] = value
        yield env
    finally:
        down = subprocess.run(
            [str(SCRIPT), "down"], env=env, capture_output=True, text=True, timeout=120
        )
        assert down.returncode == 0, down.stderr


def test_deployment_run_completes(local_server: dict, tmp_path: Path) -> None:
    out = tmp_path / "deployment-demo"
    run = subprocess.run(
        [
            str(REPO_ROOT / ".venv" / "bin" / "prefect"),
            "deployment",
            "run",
            "build-medsg/demo",
            "--param",
            f"out={out}",
            "--watch",
            "--watch-timeout",
            "400",
        ],
        env=local_server,
        capture_output=True,
        text=True,
        timeout=450,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Flow run finished successfully in 'Completed'" in run.stdout
    assert verify(out) == [] and (out / "grounding" / "train").is_dir()
    log = (Path(local_server["MEDSG_PREFECT_DIR"]) / "worker.log").read_text()
    assert "records_published" in log
