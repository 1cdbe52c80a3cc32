"""Selection for review: the threshold, the seeded audit share, caps per source and task."""

from __future__ import annotations

import dataclasses

from annotation.select import audit_draw, select_for_review
from tests.annotation.records import grounding


def _records(n: int, confidence: float, source: str = "src", task: str = "phrase_grounding"):
    return [
        grounding(f"rec-{source}-{task}-{i:03d}", confidence=confidence, source=source, task=task)
        for i in range(n)
    ]


def test_every_record_under_the_threshold_and_an_audit_share_of_the_rest() -> None:
    low = _records(5, 0.5)
    high = _records(400, 0.95, source="other")
    chosen = select_for_review(
        low + high, threshold=0.8, audit_share=0.1, max_per_group=1000, seed=7
    )
    whys = {s.record.record_id: s.why for s in chosen}
    assert all(whys[r.record_id] == "low_confidence" for r in low)
    audited = [r for r in high if r.record_id in whys]
    expected = [r for r in high if audit_draw(7, r.record_id) < 0.1]
    assert audited == expected and 20 <= len(audited) <= 60  # about 10% of 400
    # seeded: same seed, same choice; another seed, another choice
    again = select_for_review(
        low + high, threshold=0.8, audit_share=0.1, max_per_group=1000, seed=7
    )
    other = select_for_review(
        low + high, threshold=0.8, audit_share=0.1, max_per_group=1000, seed=8
    )
    assert [s.record.record_id for s in again] == [s.record.record_id for s in chosen]
    assert {s.record.record_id for s in other} != {s.record.record_id for s in chosen}
    # a record's draw does not depend on the others
    alone = select_for_review(high[:50], threshold=0.8, audit_share=0.1, max_per_group=1000, seed=7)
    assert {s.record.record_id for s in alone} == {r.record_id for r in audited if r in high[:50]}


def test_caps_per_source_and_task_keep_the_least_confident_first() -> None:
    records = [
        dataclasses.replace(
            r, provenance=dataclasses.replace(r.provenance, confidence=0.1 * (i % 7))
        )
        for i, r in enumerate(_records(30, 0.5))
    ] + _records(30, 0.5, task="referring")
    chosen = select_for_review(records, threshold=0.8, audit_share=0.0, max_per_group=4, seed=0)
    by_task = {}
    for s in chosen:
        by_task.setdefault(s.record.task, []).append(s.record.provenance.confidence)
    assert len(by_task["phrase_grounding"]) == 4 and len(by_task["referring"]) == 4
    assert by_task["phrase_grounding"] == [0.0] * 4  # 5 records at 0.0: the cap keeps 4


def test_records_without_boxes_are_not_sent() -> None:
    record = dataclasses.replace(grounding(confidence=0.1), answer_boxes=[])
    assert (
        select_for_review([record], threshold=0.8, audit_share=1.0, max_per_group=9, seed=0) == []
    )
