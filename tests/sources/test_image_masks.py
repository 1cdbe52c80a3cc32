"""``image_masks``: the four real 2D segmentation samples (Kvasir-SEG, ISIC 2017, Montgomery /
Shenzhen and v7labs lung masks, SAM-Med2D CT slices) planned and processed, every box checked
against the mask recomputed here (scipy.ndimage.label on the file, within 1 px of the source
image); observers; and one quarantine row per bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from schemas.identity import Pseudonymizer
from shards.layout import BuildLayout
from shards.load_release import load_records
from sources.base import PlanContext
from sources.context import ItemContext
from sources.segmentation.image_masks import Settings, plan, process

SALT = "image-masks-tests"


def _ctx(out: Path) -> ItemContext:
    return ItemContext(
        layout=BuildLayout(out),
        ids=Pseudonymizer(SALT),
        split_weights=(80, 10, 10),
        image_max_side=512,
        records_seed=0,
    )


def _run(tmp_path: Path, **config):
    settings = Settings(kind="image_masks", **config)
    planned = plan(settings, PlanContext(Pseudonymizer(SALT), tmp_path / "gen"))
    ctx = _ctx(tmp_path / "out")
    return planned, {item.item_id: process(item, ctx) for item in planned.items}


def _expected_boxes(mask: np.ndarray, min_pixels: int) -> list[tuple[int, int, int, int]]:
    """Components of a boolean mask as pixel edges, recomputed independently."""
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel())
    boxes = []
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sizes[i] >= min_pixels:
            boxes.append((sl[1].start, sl[0].start, sl[1].stop, sl[0].stop))
    return sorted(boxes)


def _finding_boxes(output, label: str, width: int, height: int) -> list[tuple[float, ...]]:
    return sorted(
        (f.box.x1 * width, f.box.y1 * height, f.box.x2 * width, f.box.y2 * height)
        for f in output.findings
        if f.present and f.label == label
    )


def _assert_boxes_match(got, expected) -> None:
    assert len(got) == len(expected), (got, expected)
    for g, e in zip(got, expected, strict=True):
        assert np.allclose(g, e, atol=1.0), (g, e)


def _check_value_masks(tmp_path, root: Path, config: dict, label: str, threshold: int) -> dict:
    planned, outputs = _run(tmp_path, root=root, **config)
    n_images = len(list((root / config["images"].split("/")[0]).iterdir()))
    assert len(planned.items) == n_images and not planned.quarantine
    counts = {}
    for item in planned.items:
        out = outputs[item.item_id]
        mask_path = item.settings.masks[0].path
        with Image.open(mask_path) as img:
            mask = np.asarray(img.convert("L")) >= threshold
        with Image.open(item.path) as img:
            width, height = img.size
        expected = _expected_boxes(mask, 10)
        study = out.studies[0]
        assert (study.source_width, study.source_height) == (width, height)
        _assert_boxes_match(_finding_boxes(out, label, width, height), expected)
        assert expected, item.item_id
        counts[item.item_id] = len(expected)
        grounding = [r for r in out.records if r.family == "grounding" and r.label == label]
        assert {r.task for r in grounding} >= {"phrase_grounding", "presence", "counting"}
    return counts


def test_kvasir_seg_polyps(realdata: Path, tmp_path: Path) -> None:
    counts = _check_value_masks(
        tmp_path,
        realdata / "segmentation" / "endoscopy_kvasir_seg",
        {
            "images": "images/{id}.jpg",
            "masks": "masks/{id}.jpg",
            "labels": {255: "polyp"},
            "modality": "endoscopy",
            "licence": "Kvasir-SEG",
        },
        "polyp",
        128,  # JPEG masks: nearest of 0 and 255, i.e. thresholded at 128
    )
    assert len(counts) == 5 and sum(counts.values()) >= 5


def test_isic_2017_lesions(realdata: Path, tmp_path: Path) -> None:
    counts = _check_value_masks(
        tmp_path,
        realdata / "segmentation" / "dermoscopy_isic2017",
        {
            "images": "images/{id}.jpg",
            "masks": "masks/{id}_segmentation.png",
            "labels": {255: "skin lesion"},
            "modality": "dermoscopy",
            "licence": "ISIC-2017",
        },
        "skin_lesion",
        255,  # binary 0/255 PNG: exact values
    )
    assert len(counts) == 12


def test_montgomery_shenzhen_lungs(realdata: Path, tmp_path: Path) -> None:
    counts = _check_value_masks(
        tmp_path,
        realdata / "cxr" / "lung_masks" / "montgomery_shenzhen",
        {
            "images": "cxr/{id}.png",
            "masks": "masks/{id}.png",
            "labels": {255: "lungs"},
            "modality": "xray",
            "mask_values": "nearest",  # interpolated edge values: threshold at 128
            "licence": "Montgomery-Shenzhen",
        },
        "anatomy:lungs",
        128,
    )
    assert len(counts) == 10 and all(n >= 2 for n in counts.values())  # left and right


def test_v7labs_lungs_grey_from_rgb_jpeg(realdata: Path, tmp_path: Path) -> None:
    root = realdata / "cxr" / "lung_masks" / "v7labs"
    planned, outputs = _run(
        tmp_path,
        root=root,
        images="image/{id}.jpg",
        masks="mask/{id}.jpg",
        labels={255: "lungs"},
        modality="xray",
        licence="V7-COVID-lungs",
    )
    (item,) = planned.items
    out = outputs[item.item_id]
    with Image.open(root / "mask" / "16747_3_1.jpg") as img:
        mask = np.asarray(img.convert("L")) >= 128
    _assert_boxes_match(_finding_boxes(out, "anatomy:lungs", 1036, 885), _expected_boxes(mask, 10))
    with Image.open(_png(tmp_path, out)) as img:
        assert img.mode == "L"  # a radiograph stays grey, though its JPEG is RGB


def _png(tmp_path: Path, out) -> Path:
    return BuildLayout(tmp_path / "out").image_path(out.studies[0].study_id)


def test_sammed2d_structures_from_file_names(realdata: Path, tmp_path: Path) -> None:
    root = realdata / "ct" / "sammed2d_ct_slices"
    planned, outputs = _run(
        tmp_path,
        root=root,
        images="images/{id}.png",
        masks="masks/{id}_{label}_{instance}.png",
        modality="ct",
        patient_regex=r"^(.+)_\d+$",
        licence="SAM-Med2D-demo",
    )
    assert sum(len(i.settings.masks) for i in planned.items) == 30  # every mask file
    assert [q.reason for q in planned.quarantine] == ["file_missing"]  # amos_0507_31: no mask
    assert {i.patient_key for i in planned.items} == {"amos_0004", "amos_0006", "s0114", "s0619"}
    n_boxes = 0
    for item in planned.items:
        out = outputs[item.item_id]
        assert not [q for q in out.quarantine if q.reason != "mask_component_small"]
        width, height = out.studies[0].source_width, out.studies[0].source_height
        by_label: dict[str, list] = {}
        for ref in item.settings.masks:
            with Image.open(ref.path) as img:
                mask = np.asarray(img) > 0
            label = "anatomy:" + ref.label.lower()
            by_label.setdefault(label, []).extend(_expected_boxes(mask, 10))
        for label, expected in by_label.items():
            _assert_boxes_match(_finding_boxes(out, label, width, height), sorted(expected))
            n_boxes += len(expected)
        assert out.studies[0].modality == "CT"
        assert all(not f.present or f.label.startswith("anatomy:") for f in out.findings)
        assert not [f for f in out.findings if not f.present]  # not exhaustive: no absences
    assert n_boxes >= 30
    hips = [
        f
        for f in outputs["s0619_32"].findings
        if f.label == "anatomy:hip_left"  # two instance files of one structure
    ]
    assert len(hips) >= 2
    referring = [r for o in outputs.values() for r in o.records if r.task == "referring"]
    assert referring and all("structure" in r.question for r in referring)


def _write(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def _image(size=(40, 50), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (*size, 3), dtype=np.uint8)


def test_observers_majority_boxes_and_agreement(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _write(root / "img" / "a.png", _image())
    m1 = np.zeros((40, 50), np.uint8)
    m1[10:20, 10:30] = 1
    m2 = np.zeros((40, 50), np.uint8)
    m2[12:20, 10:32] = 1
    _write(root / "obs1" / "a.png", m1)
    _write(root / "obs2" / "a.png", m2)
    _planned, outputs = _run(
        tmp_path,
        root=root,
        images="img/{id}.png",
        masks=["obs1/{id}.png", "obs2/{id}.png"],
        labels={1: "polyp"},
        modality="endoscopy",
        licence="CC0-1.0",
    )
    out = outputs["a"]
    (finding,) = [f for f in out.findings if f.present]
    iou = (8 * 20) / (10 * 20 + 8 * 22 - 8 * 20)
    assert finding.confidence == pytest.approx(iou)
    # two observers: the majority (at least half) is their union
    assert (finding.box.x1 * 50, finding.box.y1 * 40, finding.box.x2 * 50, finding.box.y2 * 40) == (
        pytest.approx(10),
        pytest.approx(10),
        pytest.approx(32),
        pytest.approx(20),
    )
    own = sorted(
        (b.reader, b.label, round(b.x1 * 50), round(b.y1 * 40), round(b.x2 * 50), round(b.y2 * 40))
        for b in finding.readers
    )
    assert own == [
        ("observer 1", "polyp", 10, 10, 30, 20),
        ("observer 2", "polyp", 10, 12, 32, 20),
    ]
    grounding = [r for r in out.records if r.family == "grounding" and r.task == "phrase_grounding"]
    assert grounding[0].provenance.readers == finding.readers
    assert grounding[0].provenance.confidence == pytest.approx(iou)


def _bad_masks(root: Path) -> Path:
    """A good image and mask, and one of each bad mask: another size, a value ``labels``
    does not name, empty."""
    good = np.zeros((40, 50), np.uint8)
    good[5:15, 5:15] = 255
    good[30, 40] = 255  # one pixel: under min_component_pixels
    for name in ("good", "size", "unnamed", "empty"):
        _write(root / "images" / f"{name}.png", _image(seed=len(name)))
    _write(root / "masks" / "good.png", good)
    _write(root / "masks" / "size.png", good[:30])
    unnamed = good.copy()
    unnamed[20:25, 20:25] = 7
    _write(root / "masks" / "unnamed.png", unnamed)
    _write(root / "masks" / "empty.png", np.zeros((40, 50), np.uint8))
    return root


def test_bad_masks_are_one_quarantine_row_each(tmp_path: Path) -> None:
    root = _bad_masks(tmp_path / "data")
    _write(root / "masks" / "orphan.png", np.zeros((40, 50), np.uint8))  # no image
    planned, outputs = _run(
        tmp_path,
        root=root,
        images="images/{id}.png",
        masks="masks/{id}.png",
        labels={255: "polyp"},
        modality="endoscopy",
        licence="CC0-1.0",
    )
    (orphan,) = planned.quarantine
    assert orphan.reason == "file_missing" and orphan.source_ref.endswith("orphan.png")
    reasons = {k: [q.reason for q in o.quarantine] for k, o in outputs.items()}
    assert reasons == {
        "good": ["mask_component_small"],
        "size": ["mask_mismatch"],
        "unnamed": ["label_unmapped", "mask_component_small"],
        "empty": ["mask_empty"],
    }
    assert "value 7 (25 pixels)" in outputs["unnamed"].quarantine[0].message
    assert not outputs["size"].studies and not outputs["empty"].studies
    assert outputs["good"].records and outputs["unnamed"].records


def test_build_publishes_colour_grounding(realdata: Path, tmp_path: Path) -> None:
    """A build with the Kvasir-SEG sample and the SAM-Med2D CT slices publishes, and
    ``datasets.load_dataset`` reads grounding records with RGB endoscopy images and grey CT
    ones, and sequence records."""
    import pyarrow.parquet as pq

    from engine.config import load_config
    from engine.pipeline import run_build
    from shards.manifest import verify
    from tests.helpers import TEST_SALT, write_config
    from tests.sources.test_coco import _dataset as coco_dataset

    cfg = write_config(
        tmp_path / "build.yaml",
        [
            {
                "kind": "image_masks",
                "name": "kvasir-seg",
                "root": str(realdata / "segmentation" / "endoscopy_kvasir_seg"),
                "images": "images/{id}.jpg",
                "masks": "masks/{id}.jpg",
                "labels": {255: "polyp"},
                "modality": "endoscopy",
                "licence": "Kvasir-SEG",
            },
            {
                "kind": "image_masks",
                "name": "sammed2d",
                "root": str(realdata / "ct" / "sammed2d_ct_slices"),
                "images": "images/{id}.png",
                "masks": "masks/{id}_{label}_{instance}.png",
                "modality": "ct",
                "patient_regex": r"^(.+)_\d+$",
                "licence": "SAM-Med2D-demo",
            },
            {
                "kind": "image_masks",
                "name": "bad-masks",
                "root": str(_bad_masks(tmp_path / "bad")),
                "images": "images/{id}.png",
                "masks": "masks/{id}.png",
                "labels": {255: "polyp"},
                "modality": "endoscopy",
                "licence": "CC0-1.0",
            },
            {
                "kind": "coco",
                "name": "coco-fixture",
                "root": str(coco_dataset(tmp_path / "coco").parent.parent),
                "annotations": "annotations/train.json",
                "images_dir": "imgs",
                "modality": "xray",
                "licence": "CC0-1.0",
            },
        ],
        image_max_side=256,
    )
    out = tmp_path / "out"
    report = run_build(load_config(cfg), out)
    assert verify(out) == []
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    ids = Pseudonymizer(TEST_SALT)
    bad = {
        name: sorted(
            q["reason"] for q in quarantine if q["item_id"] == ids.study("bad-masks", name)
        )
        for name in ("good", "size", "unnamed", "empty")
    }
    assert bad == {
        "good": ["mask_component_small"],
        "size": ["mask_mismatch"],
        "unnamed": ["label_unmapped", "mask_component_small"],
        "empty": ["mask_empty"],
    }
    coco = sorted(q["reason"] for q in quarantine if q["source_dataset"] == "coco-fixture")
    assert coco == ["file_missing", "image_id_unknown", "label_unmapped"]
    flow = report.stats["flow"]
    assert flow["records_published"] == flow["records_valid"] == flow["records_built"] > 0
    rows = [
        row
        for config in sorted(
            d.name for d in out.glob("*") if d.name.startswith(("grounding", "seq"))
        )
        for split in ("train", "validation", "test")
        if (out / config / split).is_dir()
        for row in load_records(str(out), config, split)
    ]
    grounding = [r for r in rows if r["json"]["family"] == "grounding"]
    polyps = [r for r in grounding if r["json"]["label"] == "polyp"]
    assert polyps and all(r["png"].mode == "RGB" for r in polyps)
    assert all(r["json"]["image"]["modality"] == "ES" for r in polyps)
    assert any("endoscopy image" in r["json"]["question"] for r in polyps)
    ct = [r for r in grounding if r["json"]["image"]["modality"] == "CT"]
    assert ct and all(r["png"].mode == "L" for r in ct)
    assert {r["json"]["label"] for r in ct} >= {"anatomy:liver", "anatomy:aorta"}
    assert [r for r in rows if r["json"]["family"] == "sequence"]


def test_label_folder_pattern_montgomery_layout(tmp_path: Path) -> None:
    """Montgomery as NLM ships it: ``ManualMask/leftMask/<id>.png`` and ``rightMask``."""
    root = tmp_path / "MontgomerySet"
    _write(root / "CXR_png" / "MCUCXR_0001_0.png", _image()[..., 0])
    left = np.zeros((40, 50), np.uint8)
    left[5:35, 5:20] = 255
    right = np.zeros((40, 50), np.uint8)
    right[6:33, 28:45] = 255
    _write(root / "ManualMask" / "leftMask" / "MCUCXR_0001_0.png", left)
    _write(root / "ManualMask" / "rightMask" / "MCUCXR_0001_0.png", right)
    _planned, outputs = _run(
        tmp_path,
        root=root,
        images="CXR_png/{id}.png",
        masks="ManualMask/{label}/{id}.png",
        labels={"leftMask": "left lung", "rightMask": "right lung"},
        modality="xray",
        boxes="whole",
        exhaustive=True,
        licence="Montgomery-Shenzhen",
    )
    out = outputs["MCUCXR_0001_0"]
    boxes = {f.label: _finding_boxes(out, f.label, 50, 40)[0] for f in out.findings}
    assert boxes == {
        "anatomy:left_lung": pytest.approx((5, 5, 20, 35)),
        "anatomy:right_lung": pytest.approx((28, 6, 45, 33)),
    }
    assert not out.quarantine
