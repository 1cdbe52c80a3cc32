"""A real Label Studio server for the review tests, installed and started by the project's
own script (scripts/label_studio.sh) once per test session: its own virtual environment,
a free port on 127.0.0.1, a fresh state folder, a generated admin token, and the session's
temporary folder as local-files document root (every test build lies under it)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from shards.layout import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "label_studio.sh"
LS_PYTHON = REPO_ROOT / ".venv-labelstudio" / "bin" / "python"
TOKEN_ENV = "MEDSG_TEST_LS_TOKEN"
# What pip prints when the package registry cannot be reached at all.
OFFLINE_SIGNS = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "No matching distribution found",
)


@dataclass(frozen=True)
class LabelStudioServer:
    url: str
    token: str
    admin_email: str
    admin_password: str
    document_root: Path
    state: Path

    def review_config(self, **overrides) -> dict:
        """A config ``review:`` section pointing at this server."""
        return {
            "enabled": True,
            "url": self.url,
            "token_env": TOKEN_ENV,
            "document_root": str(self.document_root),
            "retries": 3,
            "backoff_s": 0.5,
            **overrides,
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory):
    state = tmp_path_factory.mktemp("labelstudio")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDSG_LS_", "LABEL_STUDIO_"))}
    env.update(
        MEDSG_LS_DIR=str(state),
        MEDSG_LS_PORT=str(_free_port()),
        MEDSG_LS_DOCUMENT_ROOT=str(tmp_path_factory.getbasetemp()),
        MEDSG_LS_ADMIN_EMAIL="admin@medsg.test",
        MEDSG_LS_ADMIN_PASSWORD=secrets.token_urlsafe(16),
        LABEL_STUDIO_API_KEY=secrets.token_hex(20),
    )
    install = subprocess.run(
        [str(SCRIPT), "install"], env=env, capture_output=True, text=True, timeout=1500
    )
    if install.returncode != 0:
        output = install.stdout + install.stderr
        if not os.environ.get("CI") and any(sign in output for sign in OFFLINE_SIGNS):
            reason = "Label Studio cannot be installed: the package registry is unreachable"
            pytest.skip(f"{reason}:\n{output[-1500:]}")
        pytest.fail(f"scripts/label_studio.sh install failed:\n{output[-3000:]}")
    up = subprocess.run([str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=600)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield LabelStudioServer(
            url=f"http://127.0.0.1:{env['MEDSG_LS_PORT']}",
            token=env["LABEL_STUDIO_API_KEY"],
            admin_email=env["MEDSG_LS_ADMIN_EMAIL"],
            admin_password=env["MEDSG_LS_ADMIN_PASSWORD"],
            document_root=Path(env["MEDSG_LS_DOCUMENT_ROOT"]),
            state=state,
        )
    finally:
        down = subprocess.run(
            [str(SCRIPT), "down"], env=env, capture_output=True, text=True, timeout=120
        )
        assert down.returncode == 0, down.stderr


@pytest.fixture
def ls_token(label_studio: LabelStudioServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """The server's token in the variable the test configs name (review.token_env)."""
    monkeypatch.setenv(TOKEN_ENV, label_studio.token)
    return label_studio.token
