"""The review step of publishing (no server): apply the build's review ledger to its
validated records, giving the records to publish, the rejected ones as quarantine rows,
and the review metrics. ``engine.pipeline`` calls it before shards are written, in a build
and in a sync alike, so both publish the same reviewed records."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from annotation.ledger import Ledger
from annotation.merge import ReviewOutcome, apply_reviews
from annotation.metrics import review_metrics
from schemas.enums import Stage
from schemas.identity import pseudonym
from schemas.records import QuarantineRow, Record
from schemas.validate import ImageChecker, validate_records
from shards.layout import BuildLayout

METRICS_FILE = "review_metrics.json"  # published at the release root


@dataclass
class ReviewedRecords:
    records: list[Record]  # to publish
    set_aside: list[QuarantineRow]  # rejected in review, or invalid after a correction
    metrics: dict
    outcome: ReviewOutcome
    ledger_digest: str

    def coverage(self) -> dict:
        """What the card says about review coverage. (How many records were sent to review
        is the push's business, not the release's: a push after publishing would otherwise
        make the next build's card differ.)"""
        states = Counter(r.provenance.review_state for r in self.records)
        return {
            "published": len(self.records),
            "reviewed_published": sum(n for s, n in states.items() if s != "unreviewed"),
            "rejected": len(self.outcome.rejected),
            "overall": self.metrics["overall"],
        }


def reviewer_alias(salt: str):
    """Login -> the keyed pseudonym published provenance names a reviewer by."""
    return lambda login: pseudonym("reviewer", login.strip().lower(), salt=salt)


def review_records(layout: BuildLayout, records: Sequence[Record], salt: str) -> ReviewedRecords:
    """Apply the ledger to ``records`` (validated, weak). Corrected records are validated
    again (their boxes are new); one that fails is set aside at stage ``review``."""
    ledger = Ledger.load(layout)
    outcome = apply_reviews(records, ledger.by_record(), reviewer_alias(salt))
    corrected = [r for r in outcome.records if r.provenance.review_state == "corrected"]
    set_aside = list(outcome.rejected)
    publish = outcome.records
    if corrected:
        checker = ImageChecker(resolve=layout.image_path)
        _, invalid = validate_records(corrected, checker)
        bad = {q.record_id for q in invalid}
        publish = [r for r in outcome.records if r.record_id not in bad]
        set_aside += [dataclasses.replace(q, stage=Stage.REVIEW.value) for q in invalid]
    return ReviewedRecords(
        records=publish,
        set_aside=set_aside,
        metrics=review_metrics(records, outcome),
        outcome=outcome,
        ledger_digest=ledger.digest(),
    )
