"""The box module: every conversion round-trips (Hypothesis), problems are named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.boxes import Box, BoxError, BoxOutsideImage, qwen_boxes_in

sizes = st.integers(min_value=16, max_value=4096)
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def boxes(draw) -> Box:
    a, b = sorted(draw(st.lists(unit, min_size=2, max_size=2, unique=True)))
    c, d = sorted(draw(st.lists(unit, min_size=2, max_size=2, unique=True)))
    return Box(a, c, b, d)


@given(boxes(), sizes, sizes)
def test_pixels_round_trip(box: Box, w: int, h: int) -> None:
    back = Box.from_pixels(*box.to_pixels(w, h), w, h)
    assert back.as_list() == pytest.approx(box.as_list(), abs=1e-12)


@given(boxes(), sizes, sizes)
def test_xywh_round_trip(box: Box, w: int, h: int) -> None:
    back = Box.from_xywh_pixels(*box.to_xywh_pixels(w, h), w, h)
    assert back.as_list() == pytest.approx(box.as_list(), abs=1e-9)


@given(boxes())
def test_label_studio_round_trip(box: Box) -> None:
    value = box.to_label_studio()
    assert 0 <= value["x"] <= 100 and 0 <= value["width"] <= 100
    assert Box.from_label_studio(value).as_list() == pytest.approx(box.as_list(), abs=1e-12)


@given(boxes())
def test_thousand_round_trip_within_half_a_unit(box: Box) -> None:
    ints = box.to_thousand()
    assert all(isinstance(v, int) and 0 <= v <= 1000 for v in ints)
    back = Box.from_thousand(*ints)
    assert back.as_list() == pytest.approx(box.as_list(), abs=0.5 / 1000 + 1e-12)


@given(boxes(), sizes, sizes)
def test_qwen_tokens_round_trip_within_half_a_pixel(box: Box, w: int, h: int) -> None:
    text = box.to_qwen_tokens(w, h)
    assert text.startswith("<|box_start|>(") and text.endswith(")<|box_end|>")
    back = Box.from_qwen_tokens(f"It is here: {text}.", w, h)
    for got, want in zip(back.to_pixels(w, h), box.to_pixels(w, h), strict=True):
        assert abs(got - want) <= 0.5 + 1e-9


def test_qwen_tokens_match_medsg_format() -> None:
    # Task8_mini.json: "<|box_start|>(92,150),(164,224)<|box_end|>" on a 336x336 image
    box = Box.from_pixels(92, 150, 164, 224, 336, 336)
    assert box.to_qwen_tokens(336, 336) == "<|box_start|>(92,150),(164,224)<|box_end|>"
    assert qwen_boxes_in(
        "a <|box_start|>(1,2),(3,4)<|box_end|> b <|box_start|>(5,6),(7,8)<|box_end|>", 10, 10
    )[1].as_list() == pytest.approx([0.5, 0.6, 0.7, 0.8])


def test_text_form_is_thousandths() -> None:
    assert Box(0.1, 0.2, 0.5, 0.75).to_text() == "[100, 200, 500, 750]"


def test_problems_name_each_violation() -> None:
    assert Box(0.1, 0.1, 0.2, 0.2).problems() == []
    problems = Box(0.5, -0.1, 0.4, 1.2).problems()
    assert any("y1" in p and "outside" in p for p in problems)
    assert any("y2" in p for p in problems)
    assert any("x1=0.5 is not left of x2=0.4" in p for p in problems)
    with pytest.raises(BoxError, match="not above"):
        Box(0.1, 0.3, 0.2, 0.3).checked()


def test_iou() -> None:
    a = Box(0.0, 0.0, 0.5, 0.5)
    assert a.iou(a) == 1.0
    assert a.iou(Box(0.5, 0.5, 1.0, 1.0)) == 0.0
    assert a.iou(Box(0.25, 0.0, 0.75, 0.5)) == pytest.approx(1 / 3)


def test_bad_inputs_raise_box_error() -> None:
    with pytest.raises(BoxError):
        Box.from_pixels(0, 0, 1, 1, 0, 10)
    with pytest.raises(BoxError):
        Box.from_qwen_tokens("no box here", 10, 10)
    with pytest.raises(BoxError):
        Box.from_label_studio({"x": 1, "y": 1, "width": 2, "height": 2, "rotation": 15})


def test_source_xywh_is_clipped_within_the_tolerance_and_refused_beyond() -> None:
    box = Box.from_source_xywh(-0.25, 10, 80.25, 20, 100, 50, tolerance_px=0.5)
    assert box == Box(0.0, 0.2, 0.8, 0.6)  # x1 clipped to 0, x2 = 80 stays
    edge = Box.from_source_xywh(90, 40, 10.5, 10.4, 100, 50, tolerance_px=0.5)
    assert edge == Box(0.9, 0.8, 1.0, 1.0)  # both far corners clipped to the image
    with pytest.raises(BoxOutsideImage) as exc:
        Box.from_source_xywh(95, 5, 10, 5, 100, 50, tolerance_px=0.5)
    assert str(exc.value) == (
        "box x=95 y=5 w=10 h=5 (to x=105, y=10) lies outside the 100x50 image"
    )
    with pytest.raises(BoxOutsideImage):
        Box.from_source_xywh(-0.6, 0, 10, 10, 100, 50, tolerance_px=0.5)


def test_enclosing_pixels_round_outwards() -> None:
    box = Box.from_pixels(10.2, 5.0, 20.7, 9.01, 100, 50)
    assert box.to_enclosing_pixels(100, 50) == (10, 5, 21, 10)
    assert all(type(v) is int for v in box.to_enclosing_pixels(100, 50))
    assert Box(0.0, 0.0, 1.0, 1.0).to_enclosing_pixels(7, 3) == (0, 0, 7, 3)


def test_size_in_pixels() -> None:
    assert Box(0.25, 0.5, 0.75, 1.0).size_pixels(200, 10) == (100.0, 5.0)
    with pytest.raises(BoxError):
        Box(0.1, 0.1, 0.2, 0.2).size_pixels(0, 10)
