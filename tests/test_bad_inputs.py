"""Bad input, one test each: the run completes, the bad input ends as a quarantine row with
its reason code, and every other input still ends as records (nothing else is lost)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from engine.config import load_config
from engine.pipeline import run_build
from tests.accounting import Inputs, account
from tests.helpers import gradient_png, nih_dataset, phi, rsna_dataset, write_config

SALT = "bad-input-tests"
GOOD_NIH = [
    ("00000001_000.png", "Nodule", 5, 5, 10, 10),
    ("00000002_000.png", "Mass", 20, 20, 30, 30),
]
GOOD_RSNA = [["p1", "10", "10", "20", "20", "1"], ["p2", "", "", "", "", "0"]]


def build(tmp_path: Path, nih_rows=(), nih_images=(), rsna_rows=(), before=None):
    """Write the good inputs plus the given extra rows and images, let ``before`` spoil
    something, build without Prefect, and check that nothing was lost."""
    nih = nih_dataset(
        tmp_path / "nih",
        GOOD_NIH + list(nih_rows),
        ["00000001_000.png", "00000002_000.png", *nih_images],
    )
    rsna = rsna_dataset(
        tmp_path / "rsna", GOOD_RSNA + list(rsna_rows), {"p1": phi(1), "p2": phi(2)}
    )
    if before:
        before(tmp_path)
    cfg = write_config(
        tmp_path / "build.yaml",
        [
            {"kind": "nih_cxr14", "root": str(nih), "labels_csv": "BBox_List_2017.csv"},
            {"kind": "rsna_pneumonia", "root": str(rsna), "labels_csv": "labels.csv"},
        ],
        privacy={"salt": SALT},
        records={"sequences": False},  # grounding records only: the counts below are exact
    )
    out = tmp_path / "out"
    report = run_build(load_config(cfg), out)
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    acc = account(
        out,
        [
            Inputs("nih_cxr14", nih / "BBox_List_2017.csv", "Image Index"),
            Inputs("rsna_pneumonia", rsna / "labels.csv", "patientId"),
        ],
        SALT,
    )
    assert acc.lost_images == [] and acc.lost_rows == []
    return report, quarantine, acc, tmp_path


# NIH: 2 images x (where, presence, referring); RSNA (exhaustive labels, so counting too):
# p1 where, presence, referring, count; p2 presence no, count none
BASELINE_RECORDS = 3 * 2 + 4 + 2


def test_baseline_has_no_quarantine(tmp_path: Path) -> None:
    report, quarantine, acc, _ = build(tmp_path)
    assert quarantine == []
    assert report.stats["flow"]["records_published"] == BASELINE_RECORDS
    assert acc.images_named == 4 and len(acc.published) == 4


def _only(quarantine: list[dict]) -> dict:
    assert len(quarantine) == 1, quarantine
    return quarantine[0]


def test_truncated_dicom(tmp_path: Path) -> None:
    rsna = rsna_dataset(tmp_path / "pre", [], {"p3": phi(3)})
    data = (rsna / "images" / "p3.dcm").read_bytes()
    target = tmp_path / "rsna" / "images"
    target.mkdir(parents=True)
    (target / "p3.dcm").write_bytes(data[: len(data) - 3000])
    # rsna_dataset writes p1/p2 again next to the truncated file
    report, quarantine, _, _ = build(tmp_path, rsna_rows=[["p3", "1", "1", "5", "5", "1"]])
    q = _only(quarantine)
    assert (q["stage"], q["reason"], q["unit"]) == ("read", "dicom_pixel_error", "item")
    assert q["source_ref"].endswith("p3.dcm") and "p3.dcm" in q["message"]
    assert report.stats["flow"]["records_published"] == BASELINE_RECORDS


def test_png_that_does_not_decode(tmp_path: Path) -> None:
    png = gradient_png(tmp_path / "x.png").read_bytes()
    (tmp_path / "nih" / "images").mkdir(parents=True)
    (tmp_path / "nih" / "images" / "00000003_000.png").write_bytes(png[:80])
    report, quarantine, _, _ = build(
        tmp_path, nih_rows=[("00000003_000.png", "Nodule", 1, 1, 5, 5)]
    )
    q = _only(quarantine)
    assert (q["stage"], q["reason"]) == ("read", "image_decode_error")
    assert "00000003_000.png" in q["message"]
    assert report.stats["flow"]["records_published"] == BASELINE_RECORDS


def test_csv_box_outside_the_image(tmp_path: Path) -> None:
    report, quarantine, _, _ = build(
        tmp_path, nih_rows=[("00000001_000.png", "Mass", 40, 40, 30, 10)]
    )
    q = _only(quarantine)
    assert (q["stage"], q["reason"], q["unit"], q["row_number"]) == (
        "findings",
        "box_out_of_bounds",
        "label_row",
        3,
    )
    assert "outside the 64x64 image" in q["message"] and q["source_ref"].endswith(
        "BBox_List_2017.csv"
    )
    assert report.stats["flow"]["records_published"] == BASELINE_RECORDS


def test_duplicated_image_id(tmp_path: Path) -> None:
    gradient_png(tmp_path / "nih" / "images" / "batch2" / "00000002_000.png", seed=9)
    report, quarantine, _, _ = build(tmp_path)
    q = _only(quarantine)
    assert (q["stage"], q["reason"], q["unit"]) == ("plan", "duplicate_image_id", "item")
    assert q["source_ref"].endswith("batch2/00000002_000.png")
    assert report.stats["flow"]["records_published"] == BASELINE_RECORDS


def test_file_the_csv_names_is_missing(tmp_path: Path) -> None:
    report, quarantine, _, _ = build(
        tmp_path, nih_rows=[("00000009_000.png", "Nodule", 1, 1, 5, 5)]
    )
    q = _only(quarantine)
    assert (q["stage"], q["reason"], q["unit"]) == ("plan", "file_missing", "item")
    assert "00000009_000.png" in q["message"]
    assert report.stats["flow"]["records_published"] == BASELINE_RECORDS


def test_same_pixels_under_two_ids(tmp_path: Path) -> None:
    def copy_image(root: Path) -> None:
        images = root / "nih" / "images"
        (images / "00000005_000.png").write_bytes((images / "00000001_000.png").read_bytes())

    report, quarantine, _, _ = build(
        tmp_path,
        nih_rows=[("00000005_000.png", "Nodule", 5, 5, 10, 10)],
        nih_images=["00000005_000.png"],
        before=copy_image,
    )
    assert {(q["stage"], q["reason"], q["unit"]) for q in quarantine} == {
        ("publish", "duplicate_image", "record")
    }
    assert len(quarantine) == 3  # the three records of the later copy
    assert all("same pixels as study" in q["message"] for q in quarantine)
    assert report.stats["flow"]["records_published"] == BASELINE_RECORDS


def test_quarantine_counts_reach_the_stats(tmp_path: Path) -> None:
    report, quarantine, _, _ = build(
        tmp_path, nih_rows=[("00000009_000.png", "Nodule", 1, 1, 5, 5)]
    )
    assert report.stats["quarantine"] == {"plan": {"file_missing": 1}}
    assert report.stats["quarantine_rows"] == len(quarantine) == 1
