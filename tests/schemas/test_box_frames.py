"""The box helpers added for exports and scoring: pixel parsing (sign kept), pixel IoU
(exact ties), letterbox mapping."""

from __future__ import annotations

import pytest

from schemas.boxes import Box, iou_xyxy, letterbox_geometry, letterboxed, parse_box_pixels


def test_parse_box_pixels_keeps_what_was_written() -> None:
    assert parse_box_pixels("<|box_start|>(10,20),(30,40)<|box_end|>", 100, 50) == (
        10.0,
        20.0,
        30.0,
        40.0,
    )
    assert parse_box_pixels("[-15, 20, 30, 40]", 100, 100) == (-15.0, 20.0, 30.0, 40.0)
    assert parse_box_pixels('{"bbox_2d": [1, 2, 3, 4]}', 10, 10) == (1.0, 2.0, 3.0, 4.0)
    assert parse_box_pixels("[500, 250, 1000, 750]", 336, 200, "thousand") == pytest.approx(
        (168.0, 50.0, 336.0, 150.0)
    )
    assert parse_box_pixels("(0.5, 0.25, 1.0, 0.75)", 336, 200) == (168.0, 50.0, 336.0, 150.0)
    assert parse_box_pixels("nothing", 10, 10) is None


def test_pixel_iou_ties_are_exact() -> None:
    truth, half = (37, 11, 88, 53), (37, 11, 62.5, 53)
    assert iou_xyxy(truth, half) == 0.5
    # the same boxes normalized by an image size that is not a power of two are not exact
    w, h = 173, 97
    a, b = Box.from_pixels(*truth, w, h), Box.from_pixels(*half, w, h)
    assert a.iou(b) != 0.5 and a.iou(b) == pytest.approx(0.5)
    assert iou_xyxy((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0
    assert iou_xyxy((0, 0, 10, 10), (5, 5, 2, 2)) == 0.0  # inverted: no area


def test_letterbox_maps_into_the_padded_square() -> None:
    assert letterbox_geometry(200, 100, 336) == (336, 168, 0, 84)
    assert letterbox_geometry(80, 96, 336) == (280, 336, 28, 0)
    box = letterboxed(Box(0.0, 0.0, 1.0, 1.0), 200, 100, 336)
    assert box.as_list() == pytest.approx([0.0, 0.25, 1.0, 0.75])
    assert letterboxed(Box(0.5, 0.5, 1.0, 1.0), 80, 96, 336).to_int_pixels(336, 336) == (
        168,
        168,
        308,
        336,
    )
