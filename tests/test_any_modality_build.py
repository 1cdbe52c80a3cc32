"""One build with a source of each 2D and volume segmentation kind (``image_masks``, ``coco``,
``nnunet``, ``volume_masks``, ``dicom_seg``) publishes, and ``datasets.load_dataset`` reads
grounding, chain-of-thought and sequence records for five modalities; the card's
"## Modalities" table counts the published images of each.

Sources: the real samples in realdata (Kvasir-SEG endoscopy, ISIC 2017 dermoscopy, two MSD
Hippocampus MR cases, the highdicom CT SEGs, one pyradiomics NRRD MR pair), a COCO file in
the published layout for radiographs and a small MSD-Liver-like CT folder (liver + tumour:
the volume chains of thought), both written here."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import datasets
import polars as pl
import pytest
from PIL import Image

from engine.config import load_config
from engine.pipeline import run_build
from shards.gallery import COLUMNS, TILE
from shards.manifest import verify
from tests.helpers import write_config
from tests.sources.test_coco import _dataset as coco_dataset
from tests.sources.test_nnunet import HIPPO
from tests.sources.test_volume_wording import write_liver

MODALITIES = {"ES", "DMS", "MR", "CT", "XR"}
SPLITS = ("train", "validation", "test")


def _sources(realdata: Path, tmp: Path) -> list[dict]:
    seg = realdata / "segmentation"
    coco_root = coco_dataset(tmp / "coco").parent.parent
    write_liver(tmp / "Task03_Liver")
    return [
        {
            "kind": "image_masks",
            "name": "kvasir-seg",
            "root": str(seg / "endoscopy_kvasir_seg"),
            "images": "images/{id}.jpg",
            "masks": "masks/{id}.jpg",
            "labels": {255: "polyp"},
            "modality": "endoscopy",
            "licence": "Kvasir-SEG",
        },
        {  # the kind has no case limit: all 12 sample images
            "kind": "image_masks",
            "name": "isic-2017",
            "root": str(seg / "dermoscopy_isic2017"),
            "images": "images/{id}.jpg",
            "masks": "masks/{id}_segmentation.png",
            "labels": {255: "skin lesion"},
            "modality": "dermoscopy",
            "licence": "ISIC-2017",
        },
        {
            "kind": "coco",
            "name": "coco-xray",
            "root": str(coco_root),
            "annotations": "annotations/train.json",
            "images_dir": "imgs",
            "modality": "xray",
            "licence": "CC0-1.0",
        },
        {
            "kind": "nnunet",
            "name": "msd-hippocampus",
            "root": str(realdata / "mri" / "msd_hippocampus"),
            "modality": "mri",
            "labels": HIPPO,
            "max_cases": 2,
        },
        {
            "kind": "nnunet",
            "name": "liver",
            "root": str(tmp / "Task03_Liver"),
        },
        {
            "kind": "volume_masks",
            "name": "pyradiomics",
            "root": str(realdata / "mri" / "pyradiomics_nrrd"),
            "labels": {1: "lesion"},
            "modality": "mri",
            "licence": "BSD-3-Clause",
            "max_cases": 1,
        },
        {
            "kind": "dicom_seg",
            "name": "highdicom",
            "root": str(realdata / "dicom" / "seg_highdicom"),
            "licence": "MIT",
        },
    ]


@pytest.fixture(scope="module")
def built(realdata: Path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("allkinds")
    sources = _sources(realdata, tmp)
    cfg = write_config(
        tmp / "build.yaml",
        sources,
        image_max_side=128,
        records={"sequences": True, "chains": True},
    )
    out = tmp / "out"
    report = run_build(load_config(cfg), out)
    studies = pl.read_parquet(out / "_build" / "tables" / "studies.parquet")
    return report, out, [s["name"] for s in sources], studies


def _modality(row: dict) -> str:
    """The modality of a record's (first) image: ``image`` for one-image records, ``images``
    for sequences."""
    js = row["json"]
    return (js.get("image") or js["images"][0])["modality"]


def _load(out: Path, config: str) -> list[dict]:
    return [
        row
        for split in SPLITS
        if (out / config / split).is_dir()
        for row in datasets.load_dataset(str(out), config, split=split)
    ]


def test_every_source_publishes_and_five_modalities_are_studied(built) -> None:
    report, out, names, studies = built
    assert verify(out) == []
    flow = report.stats["flow"]
    assert flow["records_published"] == flow["records_valid"] == flow["records_built"] > 0
    cases = dict(studies.group_by("source_dataset").agg(pl.col("source_item").n_unique()).rows())
    assert set(cases) == set(names), cases
    assert cases == {
        "kvasir-seg": 5,  # the sample's 5 images
        "isic-2017": 12,
        "coco-xray": 3,  # a.png, b.png, neg.png (gone.png is missing: quarantined)
        "msd-hippocampus": 2,  # max_cases
        "liver": 2,
        "pyradiomics": 1,  # max_cases
        "highdicom": 2,  # the CT series the SEGs reference (the CR and slide SEGs: below)
    }
    # each 2D image is published as itself (no view) plus its sequence derivatives
    originals = studies.filter(pl.col("view").is_null())
    assert dict(originals.group_by("source_dataset").len().rows()) == {
        "kvasir-seg": 5,
        "isic-2017": 12,
        "coco-xray": 3,
    }
    quarantine = pl.read_parquet(out / "_build" / "tables" / "quarantine.parquet")
    seg_reasons = quarantine.filter(pl.col("source_dataset") == "highdicom")["reason"]
    assert sorted(seg_reasons) == ["seg_reference_missing", "seg_unsupported"]
    per_modality = dict(studies.group_by("modality").len().iter_rows())
    assert set(per_modality) >= MODALITIES, per_modality


@pytest.fixture(scope="module")
def loaded(built) -> dict[str, list[dict]]:
    """Config -> its rows (all splits) as ``datasets.load_dataset`` reads them."""
    _, out, _, _ = built
    configs = sorted(
        d.name for d in out.iterdir() if d.name.startswith(("grounding", "cot", "seq"))
    )
    return {c: _load(out, c) for c in configs}


def _by_modality(rows: list[dict]) -> Counter:
    return Counter(_modality(r) for r in rows)


def test_load_dataset_reads_grounding_cot_and_sequences(loaded) -> None:
    grounding, cot = loaded["grounding"], loaded["cot"]
    assert set(_by_modality(grounding)) >= MODALITIES
    assert all(r["json"]["family"] == "grounding" for r in grounding)
    assert cot and all(r["json"]["family"] == "cot" for r in cot)
    # chains of thought need a lesion inside a structure: only the liver case has both
    assert set(_by_modality(cot)) == {"CT"}
    assert {r["json"]["provenance"]["source_dataset"] for r in cot} == {"liver"}
    sequences = [r for c, rows in loaded.items() if c.startswith("seq") for r in rows]
    assert all(r["json"]["family"] == "sequence" for r in sequences)
    assert set(_by_modality(sequences)) >= MODALITIES  # every source makes image sequences


def _card_modalities(out: Path) -> dict[str, dict[str, str]]:
    """The README card's "## Modalities" table: modality -> column -> cell."""
    section = (out / "README.md").read_text().split("## Modalities", 1)[1].split("\n## ", 1)[0]
    rows = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("|")
    ]
    return {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[2:]}


def test_card_lists_the_modalities_with_the_published_counts(built, loaded) -> None:
    _, out, _, studies = built
    table = _card_modalities(out)
    images = Counter(studies["modality"].to_list())
    assert set(table) == set(images) >= MODALITIES
    sequences = [r for c, rows in loaded.items() if c.startswith("seq") for r in rows]
    family_rows = {"grounding": loaded["grounding"], "cot": loaded["cot"], "sequence": sequences}
    for m in MODALITIES:
        assert int(table[m]["images"]) == images[m] > 0, (m, table[m])
        for family, rows in family_rows.items():
            assert int(table[m][family]) == _by_modality(rows)[m], (m, family, table[m])
    # the gallery: one tile per modality first, then per (source, task), 12 tiles in all
    assert "](gallery.png)" in (out / "README.md").read_text()
    with Image.open(out / "gallery.png") as gallery:
        assert gallery.size == (COLUMNS * TILE, 3 * TILE)
