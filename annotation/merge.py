"""Reviews to records: which reviews count, how disagreeing reviews are resolved, and what a
resolved review does to its record. Pure functions; the reviews come from the ledger.

Which reviews count (per record):
- only reviews made on the weak label the record has now (same ``weak_hash``); reviews of an
  earlier weak label are *stale* and kept in the ledger, not applied;
- each reviewer's latest annotation (an edit replaces the earlier one);
- an annotation with no decision, or an unreadable box, is *invalid* and not applied;
- the decision is read together with the boxes: "accept" with boxes moved away from the
  weak ones counts as a correction (the reviewer did correct them), and "correct" with the
  weak boxes unchanged counts as an acceptance; "correct" with no box is invalid.

CONFLICT_RULE below resolves two or more reviewers who disagree. What a resolution does:
- accepted: review state ``accepted``, reviewer and time recorded;
- corrected: the corrected boxes replace the weak ones (texts that write them are rewritten),
  the weak boxes are kept in ``provenance.weak_boxes``;
- rejected: the record is left out of publishing and kept as a quarantine row (stage
  ``review``, reason ``review_rejected``) that says why, who and when.
Published provenance names reviewers by a keyed pseudonym and carries no free-text comment:
comments and logins stay in the private ledger.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from annotation.items import (
    CorrectionError,
    SlotBox,
    review_boxes,
    same_boxes,
    weak_hash,
    with_boxes,
)
from annotation.tasks import INVALID, Review, iso_utc
from schemas.enums import Reason, ReviewState, Stage
from schemas.records import ImageBox, QuarantineRow, Record, record_quarantine_row

ACCEPTED = ReviewState.ACCEPTED.value
CORRECTED = ReviewState.CORRECTED.value
REJECTED = ReviewState.REJECTED.value

CONFLICT_RULE = (
    "Two or more reviewers of one record: a rejection by any of them rejects the record "
    "(an expert judged the weak label unusable, so it is not published; every rejecting "
    "reviewer's reason is kept); otherwise a correction by any of them corrects it, with the "
    "boxes of the most recent correction; otherwise the record is accepted. Agreement "
    "between reviewers (same decision; IoU of their boxes, where an acceptance stands for "
    "the weak boxes) is measured in the review metrics."
)
_RANK = {ACCEPTED: 0, CORRECTED: 1, REJECTED: 2}


def _time_key(review: Review) -> tuple[str, int]:
    return (review.updated_at or review.created_at or "", review.annotation_id)


def effective_decision(review: Review, weak: Sequence[SlotBox]) -> str:
    """The decision a review stands for once its boxes are read (see the module doc)."""
    if review.decision == ACCEPTED and review.boxes and not same_boxes(review.boxes, weak):
        return CORRECTED
    if review.decision == CORRECTED:
        if not review.boxes:
            return INVALID
        if same_boxes(review.boxes, weak):
            return ACCEPTED
    return review.decision


def reviewed_boxes(review: Review, weak: Sequence[SlotBox]) -> list[SlotBox]:
    """The boxes a review says are right: the weak ones for an acceptance, the drawn ones for
    a correction, none for a rejection."""
    decision = effective_decision(review, weak)
    if decision == ACCEPTED:
        return list(weak)
    if decision == CORRECTED:
        return list(review.boxes)
    return []


@dataclass
class Counted:
    """The reviews of one record, sorted into those that count and those that do not."""

    current: list[Review] = field(default_factory=list)  # latest per reviewer, time order
    stale: list[Review] = field(default_factory=list)
    invalid: list[Review] = field(default_factory=list)


def counted_reviews(reviews: Sequence[Review], record: Record) -> Counted:
    weak = review_boxes(record)
    wh = weak_hash(record)
    out = Counted()
    latest: dict[str, Review] = {}
    for review in sorted(reviews, key=_time_key):
        if review.weak_hash != wh:
            out.stale.append(review)
        elif effective_decision(review, weak) == INVALID:
            out.invalid.append(review)
        else:
            latest[review.reviewer] = review  # a later annotation of the same reviewer wins
    out.current = sorted(latest.values(), key=_time_key)
    return out


@dataclass
class Resolution:
    """The outcome of a record's current reviews under CONFLICT_RULE."""

    record_id: str
    state: str  # accepted | corrected | rejected
    reviews: list[Review]  # every current review (one per reviewer), time order
    deciding: list[Review]  # the reviews whose decision is the outcome
    boxes: list[SlotBox]  # corrected boxes (corrected only)
    reasons: list[str]  # rejection reasons (rejected only)

    @property
    def decided_at(self) -> str | None:
        return iso_utc(max(_time_key(r)[0] for r in self.deciding) or None)


def resolve(record: Record, reviews: Sequence[Review]) -> Resolution | None:
    """The resolution of a record's current reviews, or None when none counts."""
    weak = review_boxes(record)
    current = counted_reviews(reviews, record).current
    if not current:
        return None
    decisions = {r.annotation_id: effective_decision(r, weak) for r in current}
    state = max(decisions.values(), key=_RANK.__getitem__)
    deciding = [r for r in current if decisions[r.annotation_id] == state]
    boxes = list(deciding[-1].boxes) if state == CORRECTED else []
    reasons = [r.reason or "unspecified" for r in deciding] if state == REJECTED else []
    return Resolution(record.record_id, state, current, deciding, boxes, reasons)


@dataclass
class ReviewOutcome:
    """What the reviews did to a build's records."""

    records: list[Record]  # to publish: accepted, corrected and unreviewed records
    rejected: list[QuarantineRow]  # records experts rejected, with why
    resolutions: dict[str, Resolution]  # record id -> resolution (applied ones)
    counted: dict[str, Counted]  # record id -> its reviews, sorted
    problems: dict[str, str]  # record id -> why its resolution could not be applied


def _note(resolution: Resolution) -> str:
    n = len(resolution.reviews)
    if n == 1:
        return f"1 review: {resolution.state}"
    decisions = ", ".join(sorted({r.decision for r in resolution.reviews}))
    return f"{n} reviews ({decisions}), resolved {resolution.state} by the conflict rule"


def apply_reviews(
    records: Sequence[Record],
    reviews_by_record: dict[str, list[Review]],
    alias: Callable[[str], str],
) -> ReviewOutcome:
    """Apply every record's resolved reviews. ``alias`` turns a reviewer login into the
    pseudonym that published provenance carries."""
    outcome = ReviewOutcome([], [], {}, {}, {})
    for record in records:
        reviews = reviews_by_record.get(record.record_id, [])
        if not reviews:
            outcome.records.append(record)
            continue
        outcome.counted[record.record_id] = counted_reviews(reviews, record)
        resolution = resolve(record, reviews)
        if resolution is None:
            outcome.records.append(record)
            continue
        who = "+".join(sorted({alias(r.reviewer) for r in resolution.deciding}))
        provenance = dataclasses.replace(
            record.provenance,
            review_state=resolution.state,
            reviewer=who,
            reviewed_at=resolution.decided_at,
            review_note=_note(resolution),
        )
        if resolution.state == REJECTED:
            outcome.resolutions[record.record_id] = resolution
            outcome.rejected.append(_rejected_row(record, resolution, who))
            continue
        reviewed = dataclasses.replace(record, provenance=provenance)
        if resolution.state == CORRECTED:
            try:
                reviewed = with_boxes(reviewed, resolution.boxes)
            except CorrectionError as exc:
                outcome.problems[record.record_id] = (
                    f"correction by {who} (annotation {resolution.deciding[-1].annotation_id}) "
                    f"not applied: {exc}"
                )
                outcome.records.append(record)
                continue
            reviewed.provenance.weak_boxes = [
                ImageBox(b.image_index, *b.box.as_list(), b.label) for b in review_boxes(record)
            ]
        outcome.resolutions[record.record_id] = resolution
        outcome.records.append(reviewed)
    return outcome


def _rejected_row(record: Record, resolution: Resolution, who: str) -> QuarantineRow:
    last = resolution.deciding[-1]
    comments = "; ".join(r.comment for r in resolution.deciding if r.comment)
    return record_quarantine_row(
        record,
        Stage.REVIEW,
        Reason.REVIEW_REJECTED,
        f"rejected in review by {who} at {resolution.decided_at} "
        f"(reason: {', '.join(resolution.reasons)})"
        + (f"; comment: {comments}" if comments else ""),
        f"Label Studio project {last.project!r}, task {last.task_id}",
    )
