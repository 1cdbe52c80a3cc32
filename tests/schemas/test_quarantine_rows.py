"""One way a record becomes a quarantine row, and the three places that set records aside
(validation, duplicate images, review) all give that row."""

from __future__ import annotations

import dataclasses

from annotation.items import weak_hash
from annotation.merge import apply_reviews
from annotation.tasks import Review
from engine.pipeline import Keeper, duplicate_image_rows, duplicate_studies
from schemas.enums import Reason, Stage
from schemas.records import ImageRef, QuarantineRow, record_quarantine_row
from schemas.validate import ImageChecker, validate_records
from tests.annotation.records import grounding, sequence
from tests.records.test_grounding import study


def test_row_fields_of_a_grounding_record() -> None:
    r = grounding("rec-g1", source="nih", study="study-7")
    row = record_quarantine_row(r, Stage.VALIDATE, Reason.EMPTY_TEXT, "question is empty", "f")
    assert row == QuarantineRow(
        stage="validate",
        reason="empty_text",
        unit="record",
        message="question is empty",
        source_dataset="nih",
        source_ref="f",
        item_id="study-7",
        record_id="rec-g1",
        row_number=None,
    )
    assert type(row.stage) is str and type(row.reason) is str


def test_row_names_another_image_or_none() -> None:
    seq = sequence()
    second = seq.images[1].study_id
    row = record_quarantine_row(seq, "publish", "duplicate_image", "m", "", item_id=second)
    assert (row.item_id, row.record_id, row.unit) == (second, seq.record_id, "record")
    empty = dataclasses.replace(seq, images=[])
    assert (
        record_quarantine_row(empty, Stage.VALIDATE, Reason.SCHEMA_VIOLATION, "m", "").item_id
        is None
    )


def test_validation_rows_come_from_the_factory() -> None:
    bad = dataclasses.replace(grounding("rec-bad"), question=" ")
    kept, rows = validate_records([bad], ImageChecker(lambda _: None), lambda r: "labels.csv")
    assert kept == []
    assert rows == [
        record_quarantine_row(
            bad, Stage.VALIDATE, Reason.EMPTY_TEXT, "question is empty", "labels.csv"
        )
    ]


def test_duplicate_image_rows_come_from_the_factory() -> None:
    first, copy = study(study_id="study-a"), study(study_id="study-b")
    r = dataclasses.replace(grounding("rec-dup"), image=ImageRef.of(copy))
    studies = [(s.study_id, s.source_dataset, s.image_sha256) for s in (first, copy)]
    dropped = duplicate_studies(studies, ["ds"])
    assert dropped == {"study-b": Keeper("study-a", first.source_dataset)}
    rows = duplicate_image_rows([grounding("rec-kept"), r], dropped, {"study-b": "/in/b.png"})
    assert rows == [
        record_quarantine_row(
            r,
            Stage.PUBLISH,
            Reason.DUPLICATE_IMAGE,
            "the image has the same pixels as study study-a of ds, which is kept",
            "/in/b.png",
            item_id="study-b",
        )
    ]


def test_review_rejection_rows_come_from_the_factory() -> None:
    r = grounding("rec-r")
    review = Review(
        annotation_id=3,
        task_id=103,
        project="p / grounding",
        record_id=r.record_id,
        weak_hash=weak_hash(r),
        reviewer="ann@x",
        decision="rejected",
        boxes=[],
        updated_at="2026-01-01T00:00:03.000000Z",
        reason="not_visible",
        comment="no",
    )
    outcome = apply_reviews([r], {r.record_id: [review]}, lambda login: "reviewer-ann")
    assert outcome.records == []
    assert outcome.rejected == [
        record_quarantine_row(
            r,
            Stage.REVIEW,
            Reason.REVIEW_REJECTED,
            "rejected in review by reviewer-ann at 2026-01-01T00:00:03Z "
            "(reason: not_visible); comment: no",
            "Label Studio project 'p / grounding', task 103",
        )
    ]


def test_duplicate_studies_keep_the_first_source_then_the_smallest_study_id() -> None:
    sha, other = "ab" * 32, "cd" * 32
    studies = [
        ("s-9", "second", sha),
        ("s-5", "first", sha),
        ("s-7", "first", sha),
        ("s-1", "second", other),
        ("s-0", "unknown", other),  # a source not in the order ranks as the first
        ("s-2", "second", "ef" * 32),
    ]
    assert duplicate_studies(studies, ["first", "second"]) == {
        "s-9": Keeper("s-5", "first"),
        "s-7": Keeper("s-5", "first"),
        "s-1": Keeper("s-0", "unknown"),
    }
    assert duplicate_studies([], ["first"]) == {}
