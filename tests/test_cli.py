"""The medsg command: clear errors for bad configs, inline builds, release verification."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import write_config


def medsg(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "medsg.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_bad_config_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("sources:\n  - {kind: synthetic_cxr, n_images: -3}\n")
    run = medsg("build", "--config", "bad.yaml", "--out", "o", cwd=tmp_path)
    assert run.returncode == 2
    assert (
        "bad.yaml: invalid configuration" in run.stderr
        and "sources.0.synthetic_cxr.n_images" in run.stderr
    )
    assert "Traceback" not in run.stderr


def test_missing_required_source_folder(tmp_path: Path) -> None:
    write_config(
        tmp_path / "c.yaml", [{"kind": "nih_cxr14", "root": "nowhere", "labels_csv": "x.csv"}]
    )
    run = medsg("build", "--no-prefect", "--config", "c.yaml", "--out", "o", cwd=tmp_path)
    assert run.returncode == 2 and "folder not found" in run.stderr and "nowhere" in run.stderr
    assert "Traceback" not in run.stderr


def test_inline_build_then_verify_then_tamper(tmp_path: Path) -> None:
    write_config(tmp_path / "c.yaml", [{"kind": "synthetic_cxr", "n_images": 4, "image_size": 96}])
    run = medsg("build", "--no-prefect", "--config", "c.yaml", "--out", "rel", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "records_published" in run.stdout
    ok = medsg("verify", "rel", cwd=tmp_path)
    assert ok.returncode == 0 and "OK" in ok.stdout
    shard = next((tmp_path / "rel").rglob("*.tar"))
    data = bytearray(shard.read_bytes())
    data[1000] ^= 0xFF
    shard.write_bytes(bytes(data))
    bad = medsg("verify", "rel", cwd=tmp_path)
    assert bad.returncode == 1 and shard.name in bad.stderr and "sha256" in bad.stderr


def test_sources_lists_every_registered_kind(capsys) -> None:
    from medsg.cli import main
    from sources.registry import BY_KIND

    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    listed = {
        k.strip() for line in out.splitlines() if not line.startswith(" ") for k in line.split(",")
    }
    assert listed == set(BY_KIND)
    assert "NIH-CXR14" in out and "expects:" in out
