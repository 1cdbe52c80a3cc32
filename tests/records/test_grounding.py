"""Grounding records: what each finding set gives, no invented boxes, seeded wording."""

from __future__ import annotations

from collections import Counter

from records.grounding import build_grounding_records
from schemas.records import Finding, NamedBox, Study


def study(**changes) -> Study:
    base = dict(
        study_id="study-1",
        patient_id="patient-1",
        source_dataset="ds",
        source_item="item-1",
        modality="XR",
        view="PA",
        width=200,
        height=100,
        source_width=1000,
        source_height=500,
        image_path="images/x.png",
        image_sha256="0" * 64,
        licence="CC0-1.0",
        split="train",
    )
    base.update(changes)
    return Study(**base)


def finding(label: str, box: tuple | None, present: bool = True, fid: str | None = None) -> Finding:
    return Finding(
        finding_id=fid or f"finding-{label}-{box}",
        study_id="study-1",
        patient_id="patient-1",
        label=label,
        present=present,
        box=NamedBox(*box, label) if box else None,
        source_row=1,
        extractor="sources.x",
        extractor_version="1",
        confidence=1.0,
    )


def test_two_boxes_of_one_finding_and_one_of_another() -> None:
    findings = [
        finding("nodule", (0.1, 0.1, 0.2, 0.2)),
        finding("nodule", (0.6, 0.1, 0.7, 0.2)),
        finding("mass", (0.3, 0.5, 0.5, 0.9)),
    ]
    records = build_grounding_records(study(), findings, seed=0)
    tasks = Counter(r.task for r in records)
    assert tasks == {"phrase_grounding": 2, "presence": 2, "referring": 3, "multi_grounding": 1}
    nodule = next(r for r in records if r.task == "phrase_grounding" and r.label == "nodule")
    assert [(b.x1, b.y1, b.x2, b.y2) for b in nodule.answer_boxes] == [
        (0.1, 0.1, 0.2, 0.2),
        (0.6, 0.1, 0.7, 0.2),
    ]
    assert "[100, 100, 200, 200]" in nodule.answer and "[600, 100, 700, 200]" in nodule.answer
    referring = [r for r in records if r.task == "referring"]
    assert all(len(r.question_boxes) == 1 and not r.answer_boxes for r in referring)
    assert all(r.question_boxes[0].box.to_text() in r.question for r in referring)
    multi = next(r for r in records if r.task == "multi_grounding")
    assert len(multi.answer_boxes) == 3 and "mass and nodule" in multi.question
    assert multi.answer.startswith("mass: [300, 500, 500, 900]; nodule: ")
    assert len({r.record_id for r in records}) == len(records)
    assert all(r.split == "train" and r.patient_id == "patient-1" for r in records)


def test_absent_finding_gives_presence_no_and_no_box() -> None:
    records = build_grounding_records(study(), [finding("pneumonia", None, present=False)], seed=0)
    (r,) = records
    assert r.task == "presence" and r.answer.startswith("No")
    assert r.answer_boxes == [] and r.question_boxes == []


def test_finding_without_box_gives_no_box_record() -> None:
    assert build_grounding_records(study(), [finding("nodule", None)], seed=0) == []


def test_seed_changes_wording_not_ids() -> None:
    findings = [finding("nodule", (0.1, 0.1, 0.2, 0.2)), finding("mass", (0.3, 0.3, 0.4, 0.4))]
    a = build_grounding_records(study(), findings, seed=0)
    b = build_grounding_records(study(), findings, seed=0)
    c = build_grounding_records(study(), findings, seed=12345)
    assert a == b
    assert [r.record_id for r in a] == [r.record_id for r in c]
    assert [r.template_id for r in a] != [r.template_id for r in c]


def test_provenance_comes_from_study_and_findings() -> None:
    (r, *_) = build_grounding_records(
        study(licence="NIH-CXR14"), [finding("nodule", (0.1, 0.1, 0.2, 0.2))], seed=0
    )
    p = r.provenance
    assert (p.source_dataset, p.source_item, p.extractor, p.licence) == (
        "ds",
        "item-1",
        "sources.x",
        "NIH-CXR14",
    )
    assert p.review_state == "unreviewed" and p.confidence == 1.0


def test_counting_only_for_exhaustive_labels() -> None:
    findings = [
        finding("nodule", (0.1, 0.1, 0.2, 0.2)),
        finding("nodule", (0.6, 0.1, 0.7, 0.2)),
        finding("pneumonia", None, present=False),
    ]
    assert not [
        r for r in build_grounding_records(study(), findings, seed=0) if r.task == "counting"
    ]
    counting = [
        r
        for r in build_grounding_records(study(), findings, seed=0, exhaustive=True)
        if r.task == "counting"
    ]
    by_label = {r.label: r for r in counting}
    assert by_label["nodule"].answer.startswith("Two") and len(by_label["nodule"].answer_boxes) == 2
    assert (
        by_label["pneumonia"].answer_boxes == [] and "one" in by_label["pneumonia"].answer.lower()
    )
