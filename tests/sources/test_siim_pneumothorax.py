"""SIIM-ACR pneumothorax (``sources.radiograph.siim_pneumothorax``): the real RLE file planned
and counted against the file itself; whole builds with the real SIIM DICOM, one with the
real file (every row counted, the image's ``-1`` a presence "no") and one with masks drawn
here, whose published boxes equal the components of the masks decoded and labelled by this
test's own code; and bad rows (RLE past the image, missing DICOM, malformed), one
quarantine row each."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
from skimage.measure import label as skimage_label
from skimage.measure import regionprops

from engine.config import load_config
from engine.pipeline import run_build
from schemas.boxes import Box
from schemas.identity import Pseudonymizer
from shards.load_release import load_records
from sources.base import PlanContext
from sources.radiograph.siim_pneumothorax import Settings, plan
from sources.radiograph.synthetic_cxr import write_synthetic_dicom
from sources.registry import licences, source_for
from tests.helpers import phi, write_config

SALT = "siim-tests"
IDS = Pseudonymizer(SALT)
REAL_CSV = "siim-pneumothorax-train-rle.csv.gz"
REAL_UID = "1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819"
SIZE = 1024


def _real_rows(root: Path) -> list[tuple[str, str]]:
    """The file's rows as this test reads them: csv over gzip, cells stripped."""
    with gzip.open(root / REAL_CSV, "rt", newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        assert header == ["ImageId", "EncodedPixels"]
        return [(r[0].strip(), r[1].strip()) for r in reader]


def _plan(settings: Settings, tmp_path: Path):
    return plan(settings, PlanContext(IDS, tmp_path / "generated"))


# ---- the real file -----------------------------------------------------------------------


@pytest.mark.realdata
def test_real_rle_file_counts(realdata: Path, tmp_path: Path) -> None:
    root = realdata / "cxr" / "siim_pneumothorax"
    rows = _real_rows(root)
    images = {i for i, _ in rows}
    negatives = [i for i, c in rows if c == "-1"]
    assert (len(rows), len(images), len(negatives)) == (12_954, 12_047, 9_378)  # PROVENANCE.md
    settings = Settings(kind="siim_pneumothorax", root=root, rle_csv=REAL_CSV)
    got = _plan(settings, tmp_path)
    assert got.n_label_rows == len(rows)
    (item,) = got.items  # the one DICOM that is there
    assert item.item_id == REAL_UID and item.settings.codes == ()
    assert item.settings.negative_row == 1 + [i for i, _ in rows].index(REAL_UID)
    assert Counter(q.reason for q in got.quarantine) == {"file_missing": len(images) - 1}

    # with a placeholder file per image, every row reaches its item, codes as in the file
    for i, image_id in enumerate(sorted(images)):
        folder = tmp_path / "dicom" / f"s{i % 7}" / f"series{i % 3}"  # nested, as downloaded
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{image_id}.dcm").touch()
    full = _plan(settings.model_copy(update={"images_dir": str(tmp_path / "dicom")}), tmp_path)
    assert full.quarantine == [] and len(full.items) == len(images)
    codes = Counter((i.item_id, c) for i in full.items for _, c in i.settings.codes)
    assert codes == Counter((i, c) for i, c in rows if c != "-1")
    assert sum(i.settings.negative_row is not None for i in full.items) == len(negatives)
    per_image = Counter(i for i, c in rows if c != "-1")
    assert max(per_image.values()) > 1  # several pneumothoraces: a row each


@pytest.mark.realdata
def test_real_file_and_dicom_build(realdata: Path, tmp_path: Path) -> None:
    """The real file and its one DICOM through a whole build: every row is counted, the
    missing DICOMs are quarantine rows, the image is published with a presence "no"."""
    root = realdata / "cxr" / "siim_pneumothorax"
    cfg = write_config(
        tmp_path / "build.yaml",
        [{"kind": "siim_pneumothorax", "root": str(root), "rle_csv": REAL_CSV}],
        privacy={"salt": SALT},
        image_max_side=256,
        records={"sequences": False},
    )
    out = tmp_path / "out"
    report = run_build(load_config(cfg), out)
    rows = _real_rows(root)
    assert report.stats["flow"]["label_rows_read"] == len(rows)
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    assert Counter(q["reason"] for q in quarantine) == {
        "file_missing": len({i for i, _ in rows}) - 1
    }
    records = _load(out)
    assert records and all(r["provenance"]["licence"] == "SIIM-ACR-Pneumothorax" for r in records)
    presence = [r for r in records if r["task"] == "presence"]
    assert [(r["label"], r["answer"].split(",")[0], r["answer_boxes"]) for r in presence] == [
        ("pneumothorax", "No", [])
    ]
    assert "Zawacki A" in (out / "LICENSES.md").read_text()


# ---- masks drawn here, on the real DICOM -------------------------------------------------


def _encode(mask: np.ndarray) -> str:
    """This test's relative RLE encoder: runs over the column-major pixels, each start
    counted from the end of the previous run."""
    flat = np.asarray(mask, dtype=np.uint8).T.reshape(-1)
    padded = np.concatenate([[0], flat, [0]])
    edges = np.flatnonzero(np.diff(padded))
    starts, ends = edges[0::2], edges[1::2]
    out, last = [], 0
    for s, e in zip(starts, ends, strict=True):
        out += [int(s - last), int(e - s)]
        last = e
    return " ".join(map(str, out))


def _decode(code: str, width: int, height: int) -> np.ndarray:
    """This test's decoder: absolute starts by cumulative sums, then column-major."""
    values = np.array(code.split(), dtype=np.int64)
    starts, lengths = values[0::2], values[1::2]
    absolute = np.cumsum(starts + np.concatenate([[0], lengths[:-1]]))
    flat = np.zeros(width * height, dtype=bool)
    for s, n in zip(absolute, lengths, strict=True):
        flat[s : s + n] = True
    return flat.reshape(width, height).T


def _components(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(x1, y1, x2, y2) of each 8-connected component, labelled by scikit-image."""
    regions = regionprops(skimage_label(mask, connectivity=2))
    return sorted((r.bbox[1], r.bbox[0], r.bbox[3], r.bbox[2]) for r in regions)


def _load(out: Path) -> list[dict]:
    return [
        row["json"]
        for split in ("train", "validation", "test")
        if (out / "grounding" / split).is_dir()
        for row in datasets.load_dataset(str(out), "grounding", split=split)
    ]


def test_encoder_matches_the_challenge_example() -> None:
    mask = np.zeros((4, 3), dtype=bool)  # 4 rows, 3 columns
    mask[1:3, 0] = True  # column 0: pixels 1, 2
    mask[0, 1] = True  # column 1: pixel 4
    assert _encode(mask) == "1 2 1 1"
    assert np.array_equal(_decode("1 2 1 1", 3, 4), mask)


@pytest.mark.realdata
def test_build_boxes_equal_the_mask_components(realdata: Path, tmp_path: Path) -> None:
    root = tmp_path / "siim"
    images = root / "dicom-images-train" / "study" / "series"
    images.mkdir(parents=True)
    real = realdata / "cxr" / "siim_pneumothorax" / f"{REAL_UID}.dcm"
    shutil.copy(real, images / real.name)  # into tmp_path only, never the project
    negative_uid, bad_uid, missing_uid = "1.2.3.4.1", "1.2.3.4.2", "1.2.3.4.3"
    for i, uid in enumerate((negative_uid, bad_uid)):
        pixels = (np.add.outer(np.arange(64), np.arange(64)) * (40 + i)) % 4096
        write_synthetic_dicom(images / f"{uid}.dcm", pixels, uid_seed=uid, **phi(7))

    first = np.zeros((SIZE, SIZE), dtype=bool)  # a right apical pneumothorax: two pieces,
    first[100:300, 150:260] = True  # one touching the other only at a corner (one component)
    first[300:340, 260:300] = True
    first[500:520, 700:760] = True  # and a separate piece
    second = np.zeros((SIZE, SIZE), dtype=bool)
    second[40:90, 800:1000] = True
    rows = [
        (REAL_UID, _encode(first)),
        (negative_uid, "-1"),
        (REAL_UID, _encode(second)),
        (bad_uid, "0 5000"),  # 64 x 64 image: 4,096 pixels
        (bad_uid, "100 10"),  # its other pneumothorax is fine: the image is published
        (missing_uid, "-1"),
        (REAL_UID, "12 x"),
    ]
    with (root / "train-rle.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ImageId", " EncodedPixels"])  # the challenge's header
        w.writerows(rows)
    cfg = write_config(
        tmp_path / "build.yaml",
        [{"kind": "siim_pneumothorax", "root": str(root)}],
        privacy={"salt": SALT},
        image_max_side=512,
        records={"sequences": False},
    )
    out = tmp_path / "out"
    report = run_build(load_config(cfg), out)
    assert report.stats["flow"]["label_rows_read"] == len(rows)
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    got = sorted((q["reason"], q["row_number"] or 0, q["stage"]) for q in quarantine)
    assert got == [
        ("bad_csv_row", 7, "plan"),
        ("file_missing", 0, "plan"),
        ("rle_out_of_bounds", 4, "findings"),
    ]
    by_reason = {q["reason"]: q for q in quarantine}
    assert "past the image's 4096 pixels (64 x 64)" in by_reason["rle_out_of_bounds"]["message"]
    assert by_reason["file_missing"]["source_ref"].endswith(f"{missing_uid}.dcm")

    want = sorted(
        c for r in rows[:3] if r[0] == REAL_UID for c in _components(_decode(r[1], SIZE, SIZE))
    )
    assert len(want) == 3
    study_real = IDS.study("siim_pneumothorax", REAL_UID)
    loaded = [
        row
        for split in ("train", "validation", "test")
        if (out / "grounding" / split).is_dir()
        for row in load_records(str(out), "grounding", split)
    ]
    by_study: dict[str, list[dict]] = {}
    for row in loaded:
        record = row["json"]
        assert row["png"].size == (record["image"]["width"], record["image"]["height"])
        by_study.setdefault(record["image"]["study_id"], []).append(record)
    assert set(by_study) == {
        IDS.study("siim_pneumothorax", uid) for uid in (REAL_UID, negative_uid, bad_uid)
    }
    (grounding,) = [r for r in by_study[study_real] if r["task"] == "phrase_grounding"]
    assert (grounding["image"]["width"], grounding["image"]["height"]) == (512, 512)
    boxes = sorted(
        Box(b["x1"], b["y1"], b["x2"], b["y2"]).to_pixels(SIZE, SIZE)
        for b in grounding["answer_boxes"]
    )
    assert len(boxes) == len(want)
    for got_box, exp in zip(boxes, want, strict=True):
        assert max(abs(g - e) for g, e in zip(got_box, exp, strict=True)) <= 1.0
    (count,) = [r for r in by_study[study_real] if r["task"] == "counting"]
    assert len(count["answer_boxes"]) == 3  # exhaustive: the count is the components'
    negative = by_study[IDS.study("siim_pneumothorax", negative_uid)]
    assert {(r["task"], r["answer"].split(",")[0]) for r in negative} >= {("presence", "No")}
    assert all(not r["answer_boxes"] for r in negative)
    # the real image decodes and is published (a 1024 x 1024 JPEG-baseline DICOM)
    studies = pq.read_table(out / "_build" / "tables" / "studies.parquet").to_pylist()
    real_study = next(s for s in studies if s["study_id"] == study_real)
    assert (real_study["source_width"], real_study["source_height"]) == (SIZE, SIZE)
    items = pq.read_table(out / "_build" / "tables" / "items.parquet").to_pylist()
    assert Counter(i["status"] for i in items)["quarantined"] == 1  # the missing DICOM


# ---- settings and declarations -----------------------------------------------------------


def test_kind_and_root_are_a_complete_config(tmp_path: Path) -> None:
    cfg = load_config(
        write_config(tmp_path / "build.yaml", [{"kind": "siim_pneumothorax", "root": "s"}])
    )
    (settings,) = cfg.sources
    assert (settings.rle_csv, settings.images_dir) == ("train-rle.csv", ".")
    source = source_for("siim_pneumothorax")
    assert "train-rle.csv" in source.layout and "EncodedPixels" in source.layout
    lic = licences()["SIIM-ACR-Pneumothorax"]
    assert "siim-acr-pneumothorax-segmentation" in lic.link and "ChestX-ray8" in lic.citation


def test_contradicting_and_repeated_rows(tmp_path: Path) -> None:
    (tmp_path / "train-rle.csv").write_text(
        "ImageId, EncodedPixels\na,-1\na,3 4\na,3 4\nb,1 2 3\nc,-1\n"
    )
    pixels = np.zeros((8, 8), dtype=np.uint16)
    for uid in ("a", "b", "c"):
        write_synthetic_dicom(tmp_path / f"{uid}.dcm", pixels, uid_seed=uid, **phi(1))
    got = _plan(Settings(kind="siim_pneumothorax", root=tmp_path), tmp_path)
    assert sorted((q.reason, q.row_number) for q in got.quarantine) == [
        ("bad_csv_row", 1),  # "-1" for a, which row 2 gives a mask
        ("bad_csv_row", 4),  # odd number of values
        ("duplicate_row", 3),
    ]
    # b's only row is set aside: b is no input (its DICOM is noted as unlabelled)
    assert json.dumps(sorted(i.item_id for i in got.items)) == '["a", "c"]'
    assert any("b.dcm" in n for n in got.notes)
    by_id = {i.item_id: i.settings for i in got.items}
    assert by_id["a"].codes == ((2, "3 4"),) and by_id["a"].negative_row is None
    assert by_id["c"].negative_row == 5
