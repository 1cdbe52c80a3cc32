"""Hostile inputs (issue 13): each test reproduces one finding of the issue on the code
before it, then holds: paths that leave the source root, burned-in text, salts, budgets, and
the smaller items."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import ConfigError, load_config, parse_config
from engine.pipeline import run_build
from schemas.identity import Pseudonymizer
from sources.base import PlanContext
from sources.ct import projection
from sources.radiograph import nih_cxr14
from sources.radiograph.csv_labels import CsvSourceSpec, plan_csv_source
from tests.helpers import gradient_png, nih_dataset, write_config

REPO = Path(__file__).resolve().parent.parent

IDS = Pseudonymizer("hostile-tests")


def nih_plan(root: Path):
    spec = CsvSourceSpec.at(
        nih_cxr14.FORMAT,
        dataset="nih",
        root=root,
        labels_csv="BBox_List_2017.csv",
        images_dir="images",
    )
    return plan_csv_source(spec, IDS)


# ---- finding 6: inputs stay under their root ---------------------------------------------


def test_symlink_to_a_file_outside_the_root_is_quarantined(tmp_path: Path) -> None:
    secret = gradient_png(tmp_path / "elsewhere" / "secret.png")
    root = nih_dataset(
        tmp_path / "nih",
        [("a_000.png", "Nodule", 1, 2, 3, 4), ("b_000.png", "Mass", 1, 2, 3, 4)],
        ["a_000.png"],
    )
    (root / "images" / "b_000.png").symlink_to(secret)
    plan = nih_plan(root)
    assert [i.item_id for i in plan.items] == ["a_000.png"]
    assert [(q.reason, q.source_ref) for q in plan.quarantine] == [
        ("path_outside_root", str(root / "images" / "b_000.png"))
    ]
    assert "outside the source root" in plan.quarantine[0].message


def test_ct_case_paths_that_leave_the_root_are_quarantined(tmp_path: Path) -> None:
    root = tmp_path / "ct"
    root.mkdir()
    (root / "in.nii.gz").write_bytes(b"ct")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "ct.nii.gz").write_bytes(b"ct")
    (outside / "report.txt").write_text("a report that is not this dataset's")
    settings = projection.Settings(
        kind="ct_projection",
        root=root,
        licence="CC0-1.0",
        cases=[
            {"id": "ok", "ct": "in.nii.gz"},
            {"id": "up", "ct": "../outside/ct.nii.gz"},
            {"id": "abs", "ct": str(outside / "ct.nii.gz")},
            {"id": "rep", "ct": "in.nii.gz", "report": "../outside/report.txt"},
        ],
    )
    plan = projection.plan(settings, PlanContext(IDS, tmp_path / "gen"))
    assert [i.item_id for i in plan.items] == ["ok"]
    assert sorted((q.reason, q.item_id) for q in plan.quarantine) == sorted(
        ("path_outside_root", IDS.study("ct_projection", c)) for c in ("up", "abs", "rep")
    )


# ---- finding 10: the smaller items --------------------------------------------------------


def test_file_name_with_a_leading_space_is_found(tmp_path: Path) -> None:
    root = nih_dataset(tmp_path / "nih", [(" a_000.png", "Nodule", 1, 2, 3, 4)], [" a_000.png"])
    plan = nih_plan(root)
    assert [(q.reason, q.message) for q in plan.quarantine] == []
    assert [Path(i.path).name for i in plan.items] == [" a_000.png"] and plan.notes == []


# ---- finding 8: no default salt ----------------------------------------------------------


@pytest.mark.parametrize(
    "privacy",
    ["", "privacy: {salt: '   '}\n", "privacy: {salt: ''}\n", "privacy: {salt_env: EMPTY_SALT}\n"],
)
def test_missing_empty_or_whitespace_salt_stops_naming_salt_env(privacy, monkeypatch) -> None:
    monkeypatch.setenv("EMPTY_SALT", " \t ")
    cfg = parse_config(
        "sources:\n  - {kind: synthetic_cxr}\n" + privacy, origin="x", base=Path("/tmp")
    )
    with pytest.raises(ConfigError, match=r"privacy\.salt_env"):
        cfg.privacy.resolved_salt()


def test_build_without_salt_stops_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("sources:\n  - {kind: synthetic_cxr, n_images: 2}\n")
    args = ["build", "--no-prefect", "--config", "c.yaml", "--out", "o"]
    run = subprocess.run(
        [sys.executable, "-m", "medsg.cli", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert run.returncode == 2 and "privacy.salt_env" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "o").exists()


def test_demo_salt_is_explicit_and_the_card_says_it_is_not_secret(tmp_path: Path) -> None:
    demo = load_config(None)
    assert demo.privacy.salt == "medsg-public-demo-salt" and demo.privacy.public
    cfg = write_config(tmp_path / "c.yaml", [{"kind": "synthetic_cxr", "n_images": 2}])
    run_build(load_config(cfg), tmp_path / "out")
    card = (tmp_path / "out" / "README.md").read_text()
    assert "its pseudonyms are not secret" in card
