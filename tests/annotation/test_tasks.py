"""Tasks and predictions sent to Label Studio, checked against the labeling configs with the
SDK's own validator; annotations read back into reviews."""

from __future__ import annotations

import pytest
from label_studio_sdk.label_interface import LabelInterface

from annotation.configs import labeling_config
from annotation.tasks import parse_annotation, prediction, task_data
from schemas.boxes import Box
from shards.writer import config_name
from tests.annotation.records import WEAK, cot, grounding, sequence


def url(study_id: str) -> str:
    return f"/data/local-files/?d=out/_build/images/{study_id}.png"


@pytest.mark.parametrize("make", [grounding, cot, sequence])
def test_tasks_and_predictions_fit_their_labeling_config(make) -> None:
    record = make()
    config = labeling_config(config_name(record))
    li = LabelInterface(config)
    data = task_data(record, url)
    pred = prediction(record)
    assert li.validate_prediction(pred)
    assert pred["model_version"] == "extractors.x@2" and pred["score"] == 0.6
    for obj in li.objects:  # every $variable of the config is in the task data
        assert obj.value.lstrip("$") in data, obj.value
    assert data["record_id"] == record.record_id and len(data["weak_hash"]) == 20


def test_grounding_prediction_is_in_percent_of_the_image() -> None:
    result = prediction(grounding())["result"]
    assert result == [
        {
            "id": "weak0",
            "from_name": "box",
            "to_name": "image",
            "type": "rectanglelabels",
            "original_width": 200,
            "original_height": 100,
            "image_rotation": 0,
            "value": {
                "x": pytest.approx(20.0),
                "y": pytest.approx(30.0),
                "width": pytest.approx(20.0),
                "height": pytest.approx(30.0),
                "rotation": 0.0,
                "rectanglelabels": ["answer"],
            },
        }
    ]


def test_sequence_boxes_go_to_the_tool_of_their_image() -> None:
    result = prediction(sequence())["result"]
    assert [(r["from_name"], r["to_name"], r["value"]["rectanglelabels"]) for r in result] == [
        ("box0", "img0", ["question"]),
        ("box1", "img1", ["answer"]),
    ]
    data = task_data(sequence(), url)
    assert data["img1"] == url("study-2") and data["img0_title"] == "image 1 of 2 (CT)"


def _annotation(decision=None, boxes=(), reason=None, comment=None, who=None) -> dict:
    result = []
    if decision:
        result.append(
            {"from_name": "decision", "type": "choices", "value": {"choices": [decision]}}
        )
    for slot, box, to in boxes:
        result.append(
            {
                "from_name": "box",
                "to_name": to,
                "type": "rectanglelabels",
                "value": {**box.to_label_studio(), "rectanglelabels": [slot]},
            }
        )
    if reason:
        result.append({"from_name": "reason", "type": "choices", "value": {"choices": [reason]}})
    if comment:
        result.append({"from_name": "comment", "type": "textarea", "value": {"text": [comment]}})
    return {
        "id": 11,
        "result": result,
        "completed_by": who or {"id": 3, "email": "ann@example.org"},
        "created_at": "2026-01-02T03:04:05.123456Z",
        "updated_at": "2026-01-02T03:04:06.5Z",
    }


TASK = {"id": 5, "data": {"record_id": "rec-g1", "weak_hash": "abc"}}


def test_annotations_become_reviews() -> None:
    new = Box(0.25, 0.3, 0.45, 0.62)
    review = parse_annotation(
        _annotation("correct", [("answer", new, "image")], comment="moved"), TASK, "p"
    )
    assert (review.decision, review.reviewer, review.comment, review.problem) == (
        "corrected",
        "ann@example.org",
        "moved",
        None,
    )
    assert [(b.slot, b.image_index) for b in review.boxes] == [("answer", 0)]
    assert review.boxes[0].box.as_list() == pytest.approx(new.as_list())
    assert (review.annotation_id, review.task_id, review.record_id, review.weak_hash) == (
        11,
        5,
        "rec-g1",
        "abc",
    )
    rejected = parse_annotation(_annotation("reject", reason="not_visible"), TASK, "p")
    assert (rejected.decision, rejected.reason) == ("rejected", "not_visible")
    by_id = parse_annotation(_annotation("accept", who=7), TASK, "p", {7: "bob@example.org"})
    assert by_id.reviewer == "bob@example.org" and by_id.decision == "accepted"


def test_second_image_boxes_and_edge_noise() -> None:
    noisy = {"x": 90.0, "y": 10.0, "width": 10.0000001, "height": 5.0, "rotation": 0}
    ann = _annotation("correct")
    ann["result"].append(
        {
            "from_name": "box1",
            "to_name": "img1",
            "type": "rectanglelabels",
            "value": {**noisy, "rectanglelabels": ["answer"]},
        }
    )
    review = parse_annotation(ann, TASK, "p")
    assert review.boxes[0].image_index == 1 and review.boxes[0].box.x2 == 1.0


def test_unusable_annotations_are_invalid_with_a_reason() -> None:
    assert "no decision" in parse_annotation(_annotation(), TASK, "p").problem
    rotated = _annotation("correct")
    rotated["result"].append(
        {
            "from_name": "box",
            "to_name": "image",
            "type": "rectanglelabels",
            "value": {**WEAK.to_label_studio(), "rotation": 30, "rectanglelabels": ["answer"]},
        }
    )
    review = parse_annotation(rotated, TASK, "p")
    assert review.decision == "invalid" and "rotated" in review.problem
