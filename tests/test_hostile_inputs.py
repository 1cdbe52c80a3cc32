"""Hostile inputs (issue 13): each test reproduces one finding of the issue on the code
before it, then holds: paths that leave the source root, burned-in text, salts, budgets, and
the smaller items."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pydicom
import pytest
from PIL import Image, ImageFile

from engine.config import ConfigError, load_config, parse_config
from engine.pipeline import run_build
from schemas.identity import Pseudonymizer
from sources.base import ItemError, PlanContext
from sources.ct import projection
from sources.imaging import load_dicom, load_png
from sources.radiograph import nih_cxr14
from sources.radiograph.csv_labels import CsvSourceSpec, plan_csv_source
from sources.radiograph.synthetic_cxr import write_synthetic_dicom
from tests.helpers import TEST_SALT, gradient_png, nih_dataset, phi, rsna_dataset, write_config

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
    assert "outside the source's images folder" in plan.quarantine[0].message


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


# ---- finding 2: burned-in annotations ----------------------------------------------------


def _quarantine(out: Path) -> list[dict]:
    return pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()


def test_burned_in_annotation_yes_is_quarantined_unless_known_clean(tmp_path: Path) -> None:
    rows = [["p1", "10", "10", "20", "20", "1"], ["p2", "10", "10", "20", "20", "1"]]
    root = rsna_dataset(tmp_path / "rsna", rows, {"p1": phi(1), "p2": phi(2)})
    ds = pydicom.dcmread(root / "images" / "p2.dcm")
    ds.BurnedInAnnotation = "YES"
    ds.save_as(root / "images" / "p2.dcm")
    source = {"kind": "rsna_pneumonia", "root": str(root), "labels_csv": "labels.csv"}
    cfg = write_config(tmp_path / "c.yaml", [source], records={"sequences": False})
    run_build(load_config(cfg), tmp_path / "out")
    burned = [q for q in _quarantine(tmp_path / "out") if q["reason"] == "burned_in_annotation"]
    assert [(q["item_id"], q["stage"]) for q in burned] == [
        (Pseudonymizer(TEST_SALT).study("rsna_pneumonia", "p2"), "read")
    ]
    assert "BurnedInAnnotation is YES" in burned[0]["message"]
    assert "burned_in_annotation" in (tmp_path / "out" / "README.md").read_text()
    clean = write_config(
        tmp_path / "clean.yaml",
        [{**source, "burned_in_annotation_clean": True}],
        records={"sequences": False},
    )
    run_build(load_config(clean), tmp_path / "clean")
    assert _quarantine(tmp_path / "clean") == []


# ---- finding 9: budgets ------------------------------------------------------------------


def test_dicom_over_the_pixel_budget_is_not_decoded(tmp_path: Path) -> None:
    path = tmp_path / "huge.dcm"
    write_synthetic_dicom(path, np.zeros((64, 64), np.uint16), uid_seed="h", **phi(1))
    ds = pydicom.dcmread(path)
    ds.Rows = ds.Columns = 20000  # the header says 20000 x 20000: never decoded
    ds.save_as(path)
    with pytest.raises(ItemError) as err:
        load_dicom(path)
    assert err.value.reason == "image_too_large"
    assert "20000 x 20000 x 1 frame(s) at 16 bits" in str(err.value)


def test_png_size_is_checked_before_decoding(tmp_path: Path, monkeypatch) -> None:
    path = gradient_png(tmp_path / "a.png", size=64)

    def never(self):
        raise AssertionError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    with pytest.raises(ItemError) as err:
        load_png(path, max_pixels=4000)
    assert err.value.reason == "image_too_large" and "64 x 64" in str(err.value)


def test_pixel_budget_is_configurable_and_tiny_boxes_are_set_aside(tmp_path: Path) -> None:
    root = nih_dataset(
        tmp_path / "nih",
        [("a_000.png", "Nodule", 5, 5, 1e-9, 10), ("a_000.png", "Mass", 5, 5, 10, 10)],
        ["a_000.png", "b_000.png"],
    )
    (root / "BBox_List_2017.csv").open("a").write("b_000.png,Mass,1,1,5,5\n")
    gradient_png(root / "images" / "b_000.png", size=200)
    source = {"kind": "nih_cxr14", "root": str(root), "labels_csv": "BBox_List_2017.csv"}
    cfg = write_config(
        tmp_path / "c.yaml", [source], records={"sequences": False}, image_max_pixels=10_000
    )
    report = run_build(load_config(cfg), tmp_path / "out")
    got = sorted((q["reason"], q["row_number"]) for q in _quarantine(tmp_path / "out"))
    assert got == [("box_too_small", 1), ("image_too_large", None)]
    assert report.stats["flow"]["records_published"] > 0


# ---- finding 10: the smaller items (continued) --------------------------------------------


def test_a_jpeg_named_png_is_not_read(tmp_path: Path) -> None:
    Image.new("L", (16, 16), 128).save(tmp_path / "x.png", format="JPEG")
    with pytest.raises(ItemError) as err:
        load_png(tmp_path / "x.png")
    assert err.value.reason == "unsupported_image" and "a JPEG file, not a PNG" in str(err.value)


def test_out_pointing_at_a_file_is_a_clear_error(tmp_path: Path) -> None:
    write_config(tmp_path / "c.yaml", [{"kind": "synthetic_cxr", "n_images": 2}])
    (tmp_path / "o").write_text("a file")
    args = ["build", "--no-prefect", "--config", "c.yaml", "--out", "o"]
    run = subprocess.run(
        [sys.executable, "-m", "medsg.cli", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert run.returncode == 2 and "is a file, not a folder" in run.stderr
    assert "Traceback" not in run.stderr and (tmp_path / "o").read_text() == "a file"


def test_duplicate_yaml_keys_are_an_error() -> None:
    text = "sources:\n  - {kind: synthetic_cxr}\nchunk_size: 3\nchunk_size: 4\n"
    with pytest.raises(ConfigError, match=r"x\.yaml: not valid YAML: duplicate key 'chunk_size'"):
        parse_config(text, origin="x.yaml", base=Path("/tmp"))


def test_label_studio_credentials_are_read_as_data_and_quoted_for_eval(tmp_path: Path) -> None:
    """``credentials.env`` was ``source``d (shell code ran) and ``env`` printed the password
    unquoted for ``eval``; an existing file's mode was never re-checked."""
    state = tmp_path / "state"
    state.mkdir()
    password = "p w;touch INJECTED $(touch INJECTED2) `touch INJECTED3` 'q\" $HOME"
    creds = state / "credentials.env"
    creds.write_text(
        f"touch {tmp_path}/SOURCED\nGEN_ADMIN_EMAIL=a@b.c\nGEN_ADMIN_PASSWORD={password}\n"
        "GEN_API_KEY=tok123\n"
    )
    creds.chmod(0o644)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MEDSG_LS_ADMIN_PASSWORD", "MEDSG_LS_ADMIN_EMAIL", "LABEL_STUDIO_API_KEY")
    }
    env["MEDSG_LS_DIR"] = str(state)
    script = REPO / "scripts" / "label_studio.sh"
    run = subprocess.run(
        ["bash", "-c", f'eval "$({script} env)" && printf %s "$MEDSG_LS_ADMIN_PASSWORD"'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == password
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]  # nothing ran
    assert oct(creds.stat().st_mode & 0o777) == "0o600" and "set to 600" in run.stderr
