"""The generated corpus is deterministic and its boxes are where the lesions are."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from sources.radiograph.synthetic_cxr import NIH_CSV, NIH_DIR, RSNA_CSV, RSNA_DIR, generate_corpus


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_images(tmp_path: Path) -> None:
    a = _files(generate_corpus(tmp_path / "a", n_images=6, seed=3, size=128))
    b = _files(generate_corpus(tmp_path / "b", n_images=6, seed=3, size=128))
    c = _files(generate_corpus(tmp_path / "c", n_images=6, seed=4, size=128))
    assert a == b
    assert a[f"{NIH_DIR}/{NIH_CSV}"] != c[f"{NIH_DIR}/{NIH_CSV}"]
    assert len([k for k in a if k.startswith(f"{NIH_DIR}/images/")]) == 3
    assert len([k for k in a if k.endswith(".dcm")]) == 3
    assert len([k for k in a if "/anatomy/" in k]) == 6  # a lung label image per image


def test_boxes_frame_bright_lesions(tmp_path: Path) -> None:
    root = generate_corpus(tmp_path, n_images=8, seed=0, size=128)
    with (root / NIH_DIR / NIH_CSV).open() as f:
        rows = list(csv.reader(f))[1:]
    assert rows
    for name, _label, x, y, w, h in rows:
        x, y, w, h = (float(v) for v in (x, y, w, h))
        assert x >= 0 and y >= 0 and x + w <= 128 and y + h <= 128 and w > 0 and h > 0
        pixels = np.asarray(Image.open(root / NIH_DIR / "images" / name), dtype=float)
        inside = pixels[int(y) : int(y + h), int(x) : int(x + w)].mean()
        assert inside > pixels.mean()  # lesions are brighter than the image on average
    with (root / RSNA_DIR / RSNA_CSV).open() as f:
        targets = [r[-1] for r in list(csv.reader(f))[1:]]
    assert "0" in targets and "1" in targets


def test_plan_lists_items_and_each_chunk_renders_its_own_image(tmp_path: Path) -> None:
    """The plan writes the label files only; processing an item renders its image (and lung
    label image), byte for byte what generating the whole corpus writes."""
    from schemas.identity import Pseudonymizer
    from shards.layout import BuildLayout
    from sources.base import PlanContext
    from sources.context import ItemContext
    from sources.radiograph.synthetic_cxr import SOURCE, Settings

    ids = Pseudonymizer("test-salt")
    settings = Settings(kind="synthetic_cxr", n_images=4, seed=2, image_size=96)
    planned = SOURCE.plan(settings, PlanContext(ids, tmp_path / "gen"))
    assert len(planned.items) == 4 and planned.n_label_rows >= 4
    assert not list((tmp_path / "gen").rglob("images/*"))  # nothing rendered yet
    ctx = ItemContext(BuildLayout(tmp_path / "out"), ids, (80, 10, 10), None, 0)
    for item in planned.items:
        output = SOURCE.process(item, ctx)
        assert output.studies and not output.quarantine
    whole = generate_corpus(tmp_path / "whole", n_images=4, seed=2, size=96)
    rendered = _files(tmp_path / "gen")
    assert rendered == _files(whole)
    assert len([k for k in rendered if "/images/" in k]) == 4


def test_each_image_is_drawn_from_its_own_stream(tmp_path: Path) -> None:
    """An image's pixels, lungs and boxes depend on the seed, its part and its index only:
    a larger corpus holds the smaller one's images unchanged."""
    small = _files(generate_corpus(tmp_path / "small", n_images=4, seed=3, size=96))
    large = _files(generate_corpus(tmp_path / "large", n_images=6, seed=3, size=96))
    images = [k for k in small if k.endswith((".png", ".dcm"))]
    assert len(images) == 8  # 4 images and their lung label images
    assert all(small[k] == large[k] for k in images)
    assert small[f"{NIH_DIR}/{NIH_CSV}"] != large[f"{NIH_DIR}/{NIH_CSV}"]
    nih_rows = small[f"{NIH_DIR}/{NIH_CSV}"].decode().splitlines()
    assert all(row in large[f"{NIH_DIR}/{NIH_CSV}"].decode().splitlines() for row in nih_rows)
