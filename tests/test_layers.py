"""The layers of ARCHITECTURE.md, checked by import-linter (the contracts in pyproject.toml):
the suite fails when a module imports upward or across independent packages."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "BROKEN" not in run.stdout
    assert "Contracts: 4 kept, 0 broken." in run.stdout


def test_layers_contract_has_six_layers_and_no_ignores() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = [c for c in config["contracts"] if c["type"] == "layers"]
    assert len(layers) == 1 and len(layers[0]["layers"]) >= 6
    assert not any("ignore_imports" in c for c in config["contracts"])
