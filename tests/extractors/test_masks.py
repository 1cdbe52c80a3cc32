"""The one mask module: components, run-length codes, polygons."""

import numpy as np
import pytest

from extractors.masks import (
    MaskError,
    decode_coco_rle,
    decode_relative_rle,
    mask_boxes,
    mask_iou,
    polygons_mask,
)


def test_components_in_reading_order_and_size_floor():
    m = np.zeros((10, 12), dtype=bool)
    m[5:8, 1:4] = True  # 9 px
    m[1:3, 6:11] = True  # 10 px
    m[9, 11] = True  # 1 px, dropped
    m[4, 4] = True  # touches (5, 3) diagonally: joins the first component
    out = mask_boxes(m, min_pixels=2)
    assert [c.box for c in out.kept] == [(6, 1, 11, 3), (1, 4, 5, 8)]
    assert [c.pixels for c in out.kept] == [10, 10]
    assert [c.box for c in out.dropped] == [(11, 9, 12, 10)]
    whole = mask_boxes(m, mode="whole")
    assert [c.box for c in whole.kept] == [(1, 1, 12, 10)]
    assert mask_boxes(np.zeros((3, 3), bool)).kept == ()


def test_relative_rle_is_column_major_with_relative_starts():
    # 4 wide, 3 high, column-major: pixels 1-2 (col 0, rows 1-2), then 3 on: 6 (col 2, row 0)
    m = decode_relative_rle("1 2 3 1", width=4, height=3)
    expected = np.zeros((3, 4), dtype=bool)
    expected[1:3, 0] = True
    expected[0, 2] = True
    assert (m == expected).all()
    assert not decode_relative_rle(" -1", 4, 3).any()
    with pytest.raises(MaskError, match="past the image"):
        decode_relative_rle("10 5", 4, 3)
    with pytest.raises(MaskError, match="odd"):
        decode_relative_rle("1 2 3", 4, 3)


def test_coco_rle_both_spellings():
    from pycocotools import mask as coco_mask

    m = np.zeros((5, 7), dtype=bool)
    m[1:4, 2:6] = True
    enc = coco_mask.encode(np.asfortranarray(m.astype(np.uint8)))
    assert (decode_coco_rle({"size": [5, 7], "counts": enc["counts"].decode()}, 5, 7) == m).all()
    counts = [7 * 2 + 1, 3, 2, 3, 2, 3, 2, 3, 5 * 7 - 14 - 1 - 12 - 6]
    flat = np.zeros(35, bool)
    pos = 0
    for i, c in enumerate(counts):
        flat[pos : pos + c] = i % 2 == 1
        pos += c
    assert (decode_coco_rle({"size": [5, 7], "counts": counts}, 5, 7) == flat.reshape(7, 5).T).all()
    with pytest.raises(MaskError, match="size"):
        decode_coco_rle({"size": [7, 5], "counts": counts}, 5, 7)


def test_polygon_fills_pixel_centres():
    m = polygons_mask([[1, 1, 4, 1, 4, 3, 1, 3]], height=5, width=6)
    assert m.sum() == 6 and m[1:3, 1:4].all()
    assert (polygons_mask([[[1, 1], [4, 1], [4, 3], [1, 3]]], 5, 6) == m).all()
    assert mask_iou(m, m) == 1.0
    with pytest.raises(MaskError):
        polygons_mask([[1, 2, 3, 4]], 5, 6)
