"""Records from a projected CT: anatomy grounding per view, report findings grounded through
anatomy (two boxes for both sides), chains of thought (locate the structure, name the
finding), absent findings; all valid against the record schemas."""

from __future__ import annotations

import pytest

from extractors.ct.anatomy import build_structures
from extractors.ct.projection import VIEWS, project
from extractors.reports import extract_findings
from extractors.volume import to_canonical, totalseg_classes
from extractors.volume.sparse import ClassMasks
from records.ct_anatomy import CtRecordSource, anatomy_ids, build_ct_records, mention_findings
from schemas.boxes import Box
from schemas.records import CotRecord, GroundingRecord, Study
from schemas.validate import (
    ImageChecker,
    rule_boxes,
    rule_licence_and_split,
    rule_schema,
    rule_task,
    rule_text,
)
from sources.ct.synthetic import make_phantom

SRC = CtRecordSource("extractors.ct", "1+cxr-anatomy-1", "extractors.reports", "reports-1")


@pytest.fixture(scope="module")
def projected():
    ph = make_phantom(finding="pleural_effusion")
    vol = to_canonical(ph.hu, ph.affine)
    classes = ClassMasks.from_label_volume(ph.labels, totalseg_classes())
    proj = project(vol, build_structures(classes, vol.spacing))
    studies, boxes = {}, {}
    for view in VIEWS:
        img = proj.views[view]
        studies[view] = Study(
            f"study-{view}",
            "patient-x",
            "synthetic_ct",
            "item-x",
            "DRR",
            view,
            img.width,
            img.height,
            img.width,
            img.height,
            f"images/{view}.png",
            "0" * 64,
            "CC0-1.0",
            "train",
        )
        boxes[view] = {
            sid: Box.from_pixels(*m.box, img.width, img.height)
            for sid, m in proj.masks[view].items()
        }
    return studies, boxes


REPORT = (
    "FINDINGS: Small left pleural effusion. Patchy bibasilar opacities. No pneumothorax. "
    "Possible right upper lobe nodule.\nIMPRESSION: Small left pleural effusion."
)


def test_records(projected) -> None:
    studies, boxes = projected
    mentions = extract_findings(REPORT)
    records = build_ct_records(studies, boxes, mentions, seed=0, anatomy_mode="core", src=SRC)
    checker = ImageChecker(resolve=lambda _s: None)
    for r in records:
        for rule in (rule_schema, rule_task, rule_text, rule_licence_and_split, rule_boxes):
            assert rule(r, checker).keep, (rule.__name__, r)
    anatomy = [
        r for r in records if isinstance(r, GroundingRecord) and r.label.startswith("anatomy:")
    ]
    core_present = {sid for view in VIEWS for sid in boxes[view] if sid in anatomy_ids("core")}
    assert {r.label.removeprefix("anatomy:") for r in anatomy} == core_present
    assert len(anatomy) == sum(len(set(boxes[v]) & set(anatomy_ids("core"))) for v in VIEWS)

    report = [
        r for r in records if isinstance(r, GroundingRecord) and not r.label.startswith("anatomy:")
    ]
    effusion = [r for r in report if r.label == "pleural_effusion"]
    assert len(effusion) == 2  # one per view (findings and impression say it once each)
    assert all(r.answer_boxes[0].label == "left lung base" for r in effusion)
    opacity = [r for r in report if r.label == "opacity"]
    assert all(
        [b.label for b in r.answer_boxes] == ["right lung base", "left lung base"] for r in opacity
    )
    absent = [r for r in report if r.task == "presence"]
    assert [(r.label, r.answer, r.answer_boxes) for r in absent] == [("pneumothorax", "No.", [])]
    assert not [r for r in report if r.label == "nodule"]  # uncertain: no record

    cot = [r for r in records if isinstance(r, CotRecord)]
    assert len(cot) == 2 and all(r.image.view == "frontal" for r in cot)
    for r in cot:
        assert [s.kind for s in r.steps] == ["locate", "conclude"]
        assert r.steps[0].boxes == r.answer_boxes and r.answer_boxes
        assert "locate the" in r.steps[0].text
    assert any('"Small left pleural effusion."' in r.question for r in cot)
    # same inputs, same records; another seed rewords without changing ids
    again = build_ct_records(studies, boxes, mentions, seed=0, anatomy_mode="core", src=SRC)
    assert again == records
    other = build_ct_records(studies, boxes, mentions, seed=7, anatomy_mode="core", src=SRC)
    assert [r.record_id for r in other] == [r.record_id for r in records]


def test_anatomy_modes_and_findings(projected) -> None:
    studies, boxes = projected
    none = build_ct_records(studies, boxes, [], seed=0, anatomy_mode="none", src=SRC)
    assert none == []
    every = build_ct_records(studies, boxes, [], seed=0, anatomy_mode="all", src=SRC)
    assert len(every) == sum(len(boxes[v]) for v in VIEWS)
    findings = mention_findings(studies["frontal"], boxes["frontal"], extract_findings(REPORT), SRC)
    assert {(f.label, f.present, f.box.label if f.box else None) for f in findings} == {
        ("pleural_effusion", True, "left lung base"),
        ("opacity", True, "right lung base"),
        ("opacity", True, "left lung base"),
        ("pneumothorax", False, None),
    }
