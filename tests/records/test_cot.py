"""Chains of thought: the host organ is the mask that overlaps the lesion most; every step
that names a region carries its box; three curriculum levels."""

from __future__ import annotations

import numpy as np

from records.cot import Organ, host_organ, lesion_cot_records
from schemas.boxes import Box
from schemas.records import Finding, NamedBox, Provenance
from tests.records.test_grounding import study as make_study


def organs() -> list[Organ]:
    right = np.zeros((100, 100), bool)
    right[10:90, 5:45] = True
    left = np.zeros((100, 100), bool)
    left[10:90, 55:95] = True
    return [Organ("lung_right", "right lung", right), Organ("lung_left", "left lung", left)]


def test_host_organ_is_the_largest_overlap() -> None:
    assert host_organ(Box(0.40, 0.2, 0.60, 0.3), organs()).id in ("lung_right", "lung_left")
    assert host_organ(Box(0.42, 0.2, 0.70, 0.3), organs()).id == "lung_left"  # more on the left
    assert host_organ(Box(0.10, 0.2, 0.50, 0.3), organs()).id == "lung_right"
    assert host_organ(Box(0.46, 0.0, 0.54, 0.05), organs()) is None  # touches no organ
    assert organs()[1].box.as_list() == [0.55, 0.1, 0.95, 0.9]


def test_three_levels_and_boxed_steps() -> None:
    study = make_study(width=100, height=100)
    lesion = Finding(
        "f1",
        study.study_id,
        study.patient_id,
        "nodule",
        True,
        NamedBox(0.6, 0.3, 0.7, 0.4, "nodule"),
        1,
        "sources.x",
        "1",
        1.0,
    )
    prov = Provenance("ds", "item-1", "sources.x+records.cot", "1+1", 1.0, "CC0-1.0")
    records = lesion_cot_records(study, [lesion], organs(), seed=0, provenance=prov)
    by_level = {r.curriculum_level: r for r in records}
    assert set(by_level) == {"easy", "medium", "hard"} and len({r.record_id for r in records}) == 3
    easy, medium, hard = by_level["easy"], by_level["medium"], by_level["hard"]
    assert [b.label for b in easy.question_boxes] == ["lung_left", "nodule"]
    assert medium.question_boxes == [] and hard.question_boxes == []
    assert [s.kind for s in medium.steps] == ["locate", "inspect", "measure", "conclude"]
    assert medium.steps[0].boxes[0].box.as_list() == [0.55, 0.1, 0.95, 0.9]
    for record in records:
        assert record.answer_boxes[0].box.as_list() == [0.6, 0.3, 0.7, 0.4]
        assert "left lung" in record.answer
        for step in record.steps:  # a step that writes a box carries it
            for b in step.boxes:
                assert b.box.to_text() in step.text
            assert step.boxes, step.text
    assert [s.kind for s in hard.steps] == ["conclude"]


def test_no_organ_no_chain() -> None:
    study = make_study(width=100, height=100)
    outside = Finding(
        "f2",
        study.study_id,
        study.patient_id,
        "mass",
        True,
        NamedBox(0.46, 0.0, 0.54, 0.05, "mass"),
        1,
        "sources.x",
        "1",
        1.0,
    )
    prov = Provenance("ds", "item-1", "x", "1", 1.0, "CC0-1.0")
    assert lesion_cot_records(study, [outside], organs(), seed=0, provenance=prov) == []


def test_a_lesion_mask_decides_the_host_organ_over_its_box() -> None:
    """A box mostly over the right lung whose drawn mask lies in the left lung: the mask
    wins; on another grid (a source-size mask) it is resampled first."""
    box = Box(0.10, 0.2, 0.70, 0.3)
    assert host_organ(box, organs()).id == "lung_right"
    mask = np.zeros((200, 200), bool)  # twice the organs' grid
    mask[40:60, 120:140] = True  # x 0.60-0.70: the left lung
    assert host_organ(box, organs(), mask).id == "lung_left"
    assert host_organ(box, organs(), np.zeros((200, 200), bool)) is None
