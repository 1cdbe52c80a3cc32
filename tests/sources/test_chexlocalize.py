"""CheXlocalize (``sources.radiograph.chexlocalize``): the real sample (2 full-resolution
CheXpert images) planned and counted against its JSON, then built whole: every published box
is one connected component of the decoded mask (recomputed here with pycocotools and
scipy), the images decode and ``datasets.load_dataset`` reads the records. A generated
fixture in the published layout covers the polygon fallback and each bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image
from pycocotools import mask as coco_mask
from scipy import ndimage

from engine.config import load_config
from engine.pipeline import run_build
from schemas.boxes import Box
from schemas.identity import Pseudonymizer
from schemas.vocab import CHEXLOCALIZE_LABELS
from shards.load_release import load_records
from sources.base import PlanContext
from sources.radiograph.chexlocalize import Settings, image_tail, plan
from sources.registry import licences, source_for
from tests.helpers import write_config

SALT = "chexlocalize-tests"
IDS = Pseudonymizer(SALT)


def _components(rle: dict) -> list[tuple[int, int, int, int]]:
    """Pixel-edge boxes of a COCO RLE's 8-connected components, computed without the
    project's mask module."""
    mask = coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3)))
    return sorted(
        (s[1].start, s[0].start, s[1].stop, s[0].stop) for s in ndimage.find_objects(labels)
    )


def _settings(root: Path, **extra) -> Settings:
    return Settings(kind="chexlocalize", root=root, **extra)


# ---- the real sample ---------------------------------------------------------------------


def test_real_sample_plan_counts_match_the_json(realdata: Path, tmp_path: Path) -> None:
    root = realdata / "cxr" / "chexlocalize"
    seg = json.loads((root / "gt_segmentations_val.json").read_text())
    ann = json.loads((root / "gt_annotations_val.json").read_text())
    out = plan(_settings(root), PlanContext(IDS, tmp_path))
    assert out.quarantine == []
    assert len(out.items) == len(seg) == 2 and out.n_label_rows == 2
    by_id = {item.item_id: item for item in out.items}
    assert set(by_id) == set(seg) == set(ann)
    components = 0
    for image_id, entry in seg.items():
        item = by_id[image_id]
        assert item.patient_key == image_id.split("_")[0]
        assert Path(item.path).relative_to(root).parts == ("valid", *image_tail(image_id))
        masks = item.settings.masks
        assert len(masks) == len(entry) == 10  # every pathology, RLE first
        assert all(m.rle_counts is not None for m in masks)
        assert {m.name for m in masks} == set(entry)
        components += sum(len(_components(rle)) for rle in entry.values())
    assert [len(ann[k]) - 1 for k in sorted(ann)] == [3, 1]  # pathologies drawn as polygons
    assert components == 5  # 2 enlarged cardiomediastinum + cardiomegaly + opacity + device
    assert any("test split is not read" in n for n in out.notes)


@pytest.fixture(scope="module")
def built(realdata: Path, tmp_path_factory: pytest.TempPathFactory):
    root = realdata / "cxr" / "chexlocalize"
    tmp = tmp_path_factory.mktemp("chexlocalize")
    cfg = write_config(
        tmp / "build.yaml",
        [{"kind": "chexlocalize", "root": str(root)}],
        privacy={"salt": SALT},
        image_max_side=512,
    )
    out = tmp / "out"
    report = run_build(load_config(cfg), out)
    return root, out, report


def test_real_boxes_are_the_mask_components(built) -> None:
    root, out, _ = built
    seg = json.loads((root / "gt_segmentations_val.json").read_text())
    tables = out / "_build" / "tables"
    assert pq.read_table(tables / "quarantine.parquet").num_rows == 0
    studies = {s["study_id"]: s for s in pq.read_table(tables / "studies.parquet").to_pylist()}
    findings = pq.read_table(tables / "findings.parquet").to_pylist()
    for image_id, entry in seg.items():
        study = studies[IDS.study("chexlocalize", image_id)]
        height, width = entry["Cardiomegaly"]["size"]
        assert (study["source_width"], study["source_height"]) == (width, height)
        for name, rle in entry.items():
            label = CHEXLOCALIZE_LABELS[name]
            boxed = [
                Box(f["box"]["x1"], f["box"]["y1"], f["box"]["x2"], f["box"]["y2"]).to_pixels(
                    width, height
                )
                for f in findings
                if f["study_id"] == study["study_id"] and f["label"] == label and f["box"]
            ]
            expected = _components(rle)
            assert len(boxed) == len(expected), (image_id, name)
            for got, want in zip(sorted(boxed), expected, strict=True):
                assert np.allclose(got, want, atol=1.0), (image_id, name, got, want)
    by_label = {
        (f["label"], f["present"])
        for f in findings
        if f["study_id"] == IDS.study("chexlocalize", "patient64542_study1_view1_frontal")
    }
    # the CSV's negatives of the device-only image are stated absent
    assert ("support_device", True) in by_label and ("cardiomegaly", False) in by_label
    assert ("pneumonia", False) in by_label  # not segmented, negative in the CSV


def test_real_build_images_decode_and_records_load(built) -> None:
    _, out, _ = built
    rows = [
        row
        for split in ("train", "validation", "test")
        if (out / "grounding" / split).is_dir()
        for row in load_records(str(out), "grounding", split)
    ]
    ours = [r for r in rows if r["json"]["provenance"]["source_dataset"] == "chexlocalize"]
    table = pq.read_table(out / "_build" / "tables" / "records_grounding.parquet")
    assert len(ours) == len(rows) == table.num_rows > 0
    labels = {r["json"]["label"] for r in ours}
    assert {"cardiomegaly", "enlarged_cardiomediastinum", "lung_opacity"} <= labels
    assert "support_device" in labels
    for r in ours:
        image = r["png"]
        assert image.size == (r["json"]["image"]["width"], r["json"]["image"]["height"])
        assert max(image.size) == 512
        assert np.asarray(image).std() > 10  # a radiograph, not a blank
    counting = [r for r in ours if r["json"]["task"] == "counting" and r["json"]["answer_boxes"]]
    cm = [r for r in counting if r["json"]["label"] == "enlarged_cardiomediastinum"]
    assert [len(r["json"]["answer_boxes"]) for r in cm] == [2]


def test_registered_with_licence_and_citation() -> None:
    source = source_for("chexlocalize")
    assert "gt_segmentations" in source.layout and "valid.csv" in source.layout
    lic = licences()["CheXlocalize"]
    assert "Saporta" in lic.citation and "Nature Machine Intelligence 2022" in lic.citation
    assert "Research Use" in lic.name


# ---- a generated fixture in the published layout ------------------------------------------

H, W = 60, 80


def _jpeg(path: Path, seed: int, size: tuple[int, int] = (W, H)) -> None:
    rng = np.random.default_rng(seed)
    pixels = np.add.outer(np.arange(size[1]), np.arange(size[0])) + rng.integers(0, 20, size[::-1])
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.fromarray((pixels % 256).astype(np.uint8)).save(buf, format="JPEG", quality=95)
    path.write_bytes(buf.getvalue())


def _rle(mask: np.ndarray) -> dict:
    code = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in code["size"]], "counts": code["counts"].decode()}


def _fixture(root: Path) -> None:
    """Four validation images: a good one (two opacity components, RLE), one with only
    polygons, one with an RLE of another size and an unmapped pathology, one missing."""
    for n, pid in enumerate(("patient00001", "patient00002", "patient00003")):
        _jpeg(root / "valid" / pid / "study1" / "view1_frontal.jpg", n)
    two = np.zeros((H, W), dtype=bool)
    two[5:15, 10:30] = True
    two[30:50, 50:70] = True
    empty = np.zeros((H, W), dtype=bool)
    seg = {
        "patient00001_study1_view1_frontal": {
            "Airspace Opacity": _rle(two),
            "Cardiomegaly": _rle(empty),
        },
        "patient00003_study1_view1_frontal": {
            "Cardiomegaly": _rle(np.ones((H + 4, W), dtype=bool)),  # not the image's size
            "Pleural Effusion": _rle(two),
        },
        "patient00004_study1_view1_frontal": {"Edema": _rle(two)},  # no image on disk
    }
    ann = {
        "patient00002_study1_view1_frontal": {
            "img_size": [H, W],
            "Support Devices": [[[20, 10], [40, 10], [40, 30], [20, 30]]],
            "Pulmonary Hexagons": [[[1, 1], [5, 1], [5, 5]]],  # no map covers it
        },
    }
    (root / "gt_segmentations_val.json").write_text(json.dumps(seg))
    (root / "gt_annotations_val.json").write_text(json.dumps(ann))
    header = "Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,"
    header += "Cardiomegaly,Lung Opacity,Lung Lesion,Edema,Consolidation,Pneumonia,"
    header += "Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,Fracture,Support Devices"
    lines = [header]
    for pid, values in (
        ("patient00001", "0.0,0.0,0.0,1.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0"),
        ("patient00002", "0.0,0.0,0.0,0.0,0.0,0.0,0.0,1.0,0.0,0.0,0.0,0.0,0.0,1.0"),
    ):
        lines.append(
            f"CheXpert-v1.0/valid/{pid}/study1/view1_frontal.jpg,Male,50,Frontal,PA,{values}"
        )
    (root / "valid.csv").write_text("\n".join(lines) + "\n")


def test_fixture_polygons_and_bad_inputs(tmp_path: Path) -> None:
    root = tmp_path / "CheXlocalize"
    _fixture(root)
    cfg = write_config(
        tmp_path / "build.yaml",
        [{"kind": "chexlocalize", "root": str(root)}],
        privacy={"salt": SALT},
    )
    out = tmp_path / "out"
    run_build(load_config(cfg), out)
    tables = out / "_build" / "tables"
    quarantine = pq.read_table(tables / "quarantine.parquet").to_pylist()
    reasons = sorted((q["reason"], q["stage"]) for q in quarantine)
    assert reasons == [
        ("file_missing", "plan"),
        ("label_unmapped", "plan"),
        ("mask_mismatch", "findings"),
    ]
    by_reason = {q["reason"]: q for q in quarantine}
    assert "Pulmonary Hexagons" in by_reason["label_unmapped"]["message"]
    assert "[64, 80]" in by_reason["mask_mismatch"]["message"]
    assert "patient00004" in by_reason["file_missing"]["message"]
    findings = pq.read_table(tables / "findings.parquet").to_pylist()

    def boxes(pid: str, label: str) -> list:
        sid = IDS.study("chexlocalize", f"{pid}_study1_view1_frontal")
        return sorted(
            Box(f["box"]["x1"], f["box"]["y1"], f["box"]["x2"], f["box"]["y2"]).to_pixels(W, H)
            for f in findings
            if f["study_id"] == sid and f["label"] == label and f["box"]
        )

    assert np.allclose(boxes("patient00001", "lung_opacity"), [(10, 5, 30, 15), (50, 30, 70, 50)])
    # polygon corners at pixel edges 20..40 x 10..30 fill exactly those pixels
    assert np.allclose(boxes("patient00002", "support_device"), [(20, 10, 40, 30)])
    # the other pathology of the mismatched image still gives its two boxes
    assert len(boxes("patient00003", "pleural_effusion")) == 2
    states = {
        (f["label"], f["present"], f["box"] is not None)
        for f in findings
        if f["study_id"] == IDS.study("chexlocalize", "patient00002_study1_view1_frontal")
    }
    # positive in the CSV with no drawing: present, no box invented; negatives: absent
    assert ("pneumonia", True, False) in states and ("cardiomegaly", False, False) in states
