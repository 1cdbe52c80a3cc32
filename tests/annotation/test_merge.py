"""Which reviews count, the conflict rule, what a resolution does to a record, and the review
metrics computed from it (values checked by hand)."""

from __future__ import annotations

import json

import pytest

from annotation.items import SlotBox, weak_hash
from annotation.merge import CONFLICT_RULE, apply_reviews, resolve
from annotation.metrics import review_metrics
from annotation.tasks import Review
from schemas.boxes import Box
from tests.annotation.records import WEAK, grounding

MOVED = Box(0.25, 0.3, 0.45, 0.6)  # IoU with WEAK: 0.15*0.3 / (0.06 + 0.06 - 0.045) = 0.6
OFF = Box(0.6, 0.6, 0.8, 0.9)  # no overlap with WEAK


def review(record, n: int, who: str, decision: str, boxes=(), t: int = 0, **kw) -> Review:
    return Review(
        annotation_id=n,
        task_id=100 + n,
        project="p / grounding",
        record_id=record.record_id,
        weak_hash=kw.pop("weak_hash", weak_hash(record)),
        reviewer=who,
        decision=decision,
        boxes=[SlotBox("answer", 0, b) for b in boxes],
        updated_at=f"2026-01-01T00:00:{t:02d}.000000Z",
        **kw,
    )


def alias(login: str) -> str:
    return "reviewer-" + login.split("@")[0]


def test_moved_box_iou_is_what_the_metrics_report() -> None:
    assert WEAK.iou(MOVED) == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("decisions", "state"),
    [
        (["accepted"], "accepted"),
        (["accepted", "corrected"], "corrected"),
        (["corrected", "rejected"], "rejected"),
        (["accepted", "accepted"], "accepted"),
        (["rejected", "accepted", "corrected"], "rejected"),
    ],
)
def test_conflict_rule(decisions, state) -> None:
    record = grounding()
    reviews = [
        review(record, i, f"r{i}@x", d, boxes=[MOVED] if d == "corrected" else [], t=i)
        for i, d in enumerate(decisions)
    ]
    assert resolve(record, reviews).state == state
    assert "rejection by any of them rejects" in CONFLICT_RULE


def test_latest_correction_wins_and_a_reviewer_counts_once() -> None:
    record = grounding()
    reviews = [
        review(record, 1, "a@x", "corrected", [OFF], t=1),
        review(record, 2, "b@x", "corrected", [MOVED], t=2),
        review(record, 3, "a@x", "accepted", t=3),  # a changed their mind: a's latest counts
    ]
    res = resolve(record, reviews)
    assert res.state == "corrected" and res.boxes[0].box == MOVED
    assert [r.annotation_id for r in res.reviews] == [2, 3]


def test_decisions_are_read_with_their_boxes() -> None:
    record = grounding()
    assert resolve(record, [review(record, 1, "a@x", "accepted", [MOVED])]).state == "corrected"
    assert resolve(record, [review(record, 1, "a@x", "corrected", [WEAK])]).state == "accepted"
    assert resolve(record, [review(record, 1, "a@x", "accepted", [WEAK])]).state == "accepted"
    assert resolve(record, [review(record, 1, "a@x", "corrected", [])]) is None  # invalid


def test_stale_and_invalid_reviews_are_not_applied() -> None:
    record = grounding()
    stale = review(record, 1, "a@x", "rejected", weak_hash="old-label")
    invalid = review(record, 2, "b@x", "invalid", problem="no decision chosen")
    outcome = apply_reviews([record], {record.record_id: [stale, invalid]}, alias)
    assert outcome.records == [record] and not outcome.rejected
    counted = outcome.counted[record.record_id]
    assert (len(counted.stale), len(counted.invalid), len(counted.current)) == (1, 1, 0)


def test_apply_accept_correct_reject_and_measure() -> None:
    a, c, r, d = (grounding(f"rec-{k}") for k in ("a", "c", "r", "d"))
    ledger = {
        a.record_id: [review(a, 1, "ann@x", "accepted", t=1)],
        c.record_id: [review(c, 2, "ann@x", "corrected", [MOVED], t=2, comment="moved")],
        r.record_id: [review(r, 3, "ann@x", "rejected", t=3, reason="not_visible", comment="no")],
        d.record_id: [
            review(d, 4, "ann@x", "accepted", t=4),
            review(d, 5, "bob@x", "rejected", t=5, reason="wrong_finding"),
        ],
    }
    outcome = apply_reviews([a, c, r, d], ledger, alias)
    published = {x.record_id: x for x in outcome.records}
    assert sorted(published) == ["rec-a", "rec-c"]

    pa, pc = published["rec-a"].provenance, published["rec-c"].provenance
    assert (pa.review_state, pa.reviewer, pa.reviewed_at) == (
        "accepted",
        "reviewer-ann",
        "2026-01-01T00:00:01Z",
    )
    assert published["rec-a"].answer_boxes == a.answer_boxes and pa.weak_boxes == []
    assert pc.review_state == "corrected" and pc.review_note == "1 review: corrected"
    assert published["rec-c"].answer_boxes[0].box == MOVED
    assert [(w.image_index, w.box, w.label) for w in pc.weak_boxes] == [(0, WEAK, "nodule")]
    assert published["rec-c"].answer == f"The nodule is at {MOVED.to_text()}."
    assert "moved" not in json.dumps(pc.__dict__, default=str)  # comments stay private

    rows = {q.record_id: q for q in outcome.rejected}
    assert rows["rec-r"].stage == "review" and rows["rec-r"].reason == "review_rejected"
    assert "not_visible" in rows["rec-r"].message and "comment: no" in rows["rec-r"].message
    assert "reviewer-bob" in rows["rec-d"].message and "task 105" in rows["rec-d"].source_ref

    m = review_metrics([a, c, r, d], outcome)
    o = m["overall"]
    assert (o["reviewed_records"], o["accepted"], o["corrected"], o["rejected"]) == (4, 1, 1, 2)
    assert (o["acceptance_rate"], o["correction_rate"], o["rejection_rate"]) == (0.25, 0.25, 0.5)
    assert o["iou_weak_vs_corrected"] == {"n": 1, "mean": 0.6, "share_ge_0_5": 1.0}
    assert o["rejection_reasons"] == {"not_visible": 1, "wrong_finding": 1}
    assert o["inter_annotator"] == {
        "pairs": 1,
        "decision_agreement": 0.0,
        "iou": {"n": 0, "mean": None, "share_ge_0_5": None},
    }
    [group] = m["by_extractor_task"]
    assert (group["extractor"], group["family"], group["task"]) == (
        "extractors.x@2",
        "grounding",
        "phrase_grounding",
    )


def test_inter_annotator_iou_where_both_keep_boxes() -> None:
    record = grounding()
    reviews = [
        review(record, 1, "a@x", "accepted", t=1),  # stands for the weak box
        review(record, 2, "b@x", "corrected", [MOVED], t=2),
    ]
    outcome = apply_reviews([record], {record.record_id: reviews}, alias)
    ia = review_metrics([record], outcome)["overall"]["inter_annotator"]
    assert ia == {
        "pairs": 1,
        "decision_agreement": 0.0,
        "iou": {"n": 1, "mean": 0.6, "share_ge_0_5": 1.0},
    }
