"""Slots of each record family, box-set IoU, corrections applied to records and their text,
and the weak-label hash."""

from __future__ import annotations

import dataclasses

import pytest

from annotation.items import (
    CorrectionError,
    SlotBox,
    boxes_iou,
    review_boxes,
    weak_hash,
    with_boxes,
)
from schemas.boxes import Box
from tests.annotation.records import WEAK, cot, grounding, sequence


def test_slots_of_each_family() -> None:
    assert [(b.slot, b.image_index, b.box, b.label) for b in review_boxes(grounding())] == [
        ("answer", 0, WEAK, "nodule")
    ]
    assert [b.slot for b in review_boxes(cot())] == ["answer", "step-1", "step-2"]
    seq = review_boxes(sequence())
    assert [(b.slot, b.image_index) for b in seq] == [("question", 0), ("answer", 1)]


def test_boxes_iou_pairs_by_slot_and_counts_unpaired_as_zero() -> None:
    a = [SlotBox("answer", 0, Box(0, 0, 0.5, 0.5)), SlotBox("answer", 0, Box(0.5, 0.5, 1, 1))]
    b = [SlotBox("answer", 0, Box(0.5, 0.5, 1, 1)), SlotBox("answer", 0, Box(0, 0, 0.5, 0.25))]
    assert boxes_iou(a, b) == pytest.approx((1.0 + 0.5) / 2)
    assert boxes_iou(a, b[:1]) == pytest.approx(0.5)  # one box dropped: counts 0
    other_slot = [SlotBox("question", 0, Box(0, 0, 0.5, 0.5))]
    assert boxes_iou(a[:1], other_slot) == 0.0
    assert boxes_iou([], []) == 1.0


def test_correction_replaces_boxes_and_rewrites_text() -> None:
    record = grounding()
    new = Box(0.25, 0.3, 0.45, 0.62)
    fixed = with_boxes(record, [SlotBox("answer", 0, new)])
    assert fixed.answer_boxes[0].box == new and fixed.answer_boxes[0].label == "nodule"
    assert (
        fixed.answer
        == f"The nodule is at {new.to_text()}."
        == "The nodule is at [250, 300, 450, 620]."
    )
    assert fixed.question == record.question
    assert record.answer_boxes[0].box == WEAK  # the input is not changed


def test_correction_of_a_sequence_keeps_image_indexes() -> None:
    record = sequence()
    new = Box(0.5, 0.5, 0.7, 0.8)
    boxes = [b for b in review_boxes(record) if b.slot == "question"] + [SlotBox("answer", 1, new)]
    fixed = with_boxes(record, boxes)
    assert fixed.answer_boxes[0].image_index == 1 and fixed.answer_boxes[0].box == new
    assert fixed.answer == f"At {new.to_text()}."
    with pytest.raises(CorrectionError, match="image 5"):
        with_boxes(record, [*boxes, SlotBox("answer", 5, new)])


def test_correction_of_a_chain_rewrites_every_step_that_writes_the_box() -> None:
    record = cot()
    new = Box(0.22, 0.33, 0.44, 0.55)
    boxes = [
        SlotBox("answer", 0, new),
        SlotBox("step-1", 0, Box(0.1, 0.1, 0.5, 0.5)),
        SlotBox("step-2", 0, new),
        SlotBox("step-3", 0, Box(0.3, 0.3, 0.35, 0.35)),  # a step without evidence gains one
    ]
    fixed = with_boxes(record, boxes)
    assert fixed.steps[1].text == f"A hot lesion at {new.to_text()}."
    assert fixed.answer == f"The lesion is at {new.to_text()}."
    assert fixed.steps[2].boxes[0].box == Box(0.3, 0.3, 0.35, 0.35)
    assert fixed.steps[0].boxes[0].label == "liver"


@pytest.mark.parametrize(
    ("boxes", "message"),
    [
        ([], "removes every box of slot 'answer'"),
        ([SlotBox("answer", 0, WEAK), SlotBox("question", 0, WEAK)], "adds boxes to slot"),
    ],
)
def test_corrections_that_cannot_be_applied(boxes, message) -> None:
    with pytest.raises(CorrectionError, match=message):
        with_boxes(grounding(), boxes)


def test_weak_hash_ignores_review_state_and_follows_the_label() -> None:
    record = grounding()
    reviewed = dataclasses.replace(
        record,
        provenance=dataclasses.replace(record.provenance, review_state="accepted", reviewer="r"),
    )
    assert weak_hash(reviewed) == weak_hash(record)
    assert weak_hash(grounding(box=Box(0.2, 0.3, 0.4, 0.61))) != weak_hash(record)
    assert weak_hash(grounding(confidence=0.7)) != weak_hash(record)
