"""Review metrics: how good the weak labels are, per extractor and task, as measured by the
experts' reviews. Label Studio's open-source edition has no agreement metrics, so they are
computed here from the ledger.

Per (extractor, family, task) and overall:
- reviewed records (a resolution applied), accepted / corrected / rejected counts and rates;
- IoU between the weak and the corrected boxes of corrected records: mean, share >= 0.5;
- rejection reasons and their counts;
- inter-annotator agreement where two or more reviewers reviewed the same record: pairs,
  share of pairs with the same decision, IoU of their boxes (acceptance = the weak boxes)
  over pairs where both kept boxes: mean, share >= 0.5;
- stale reviews (made on an earlier weak label), invalid reviews, corrections not applied.
Deterministic: no time stamps, sorted keys, rounded to 6 decimals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import combinations

from annotation.items import boxes_iou, review_boxes
from annotation.merge import (
    ACCEPTED,
    CONFLICT_RULE,
    CORRECTED,
    REJECTED,
    ReviewOutcome,
    effective_decision,
    reviewed_boxes,
)
from annotation.tasks import model_version
from schemas.records import Record

IOU_GOOD = 0.5


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def _iou_summary(values: Sequence[float]) -> dict:
    if not values:
        return {"n": 0, "mean": None, "share_ge_0_5": None}
    return {
        "n": len(values),
        "mean": _round(sum(values) / len(values)),
        "share_ge_0_5": _round(sum(v >= IOU_GOOD for v in values) / len(values)),
    }


class _Group:
    def __init__(self) -> None:
        self.states: Counter = Counter()
        self.correction_iou: list[float] = []
        self.reasons: Counter = Counter()
        self.pairs = 0
        self.pairs_same_decision = 0
        self.pair_iou: list[float] = []
        self.stale = 0
        self.invalid = 0
        self.not_applied = 0

    def as_dict(self) -> dict:
        n = sum(self.states.values())
        return {
            "reviewed_records": n,
            "accepted": self.states[ACCEPTED],
            "corrected": self.states[CORRECTED],
            "rejected": self.states[REJECTED],
            "acceptance_rate": _round(self.states[ACCEPTED] / n) if n else None,
            "correction_rate": _round(self.states[CORRECTED] / n) if n else None,
            "rejection_rate": _round(self.states[REJECTED] / n) if n else None,
            "iou_weak_vs_corrected": _iou_summary(self.correction_iou),
            "rejection_reasons": dict(sorted(self.reasons.items())),
            "inter_annotator": {
                "pairs": self.pairs,
                "decision_agreement": _round(self.pairs_same_decision / self.pairs)
                if self.pairs
                else None,
                "iou": _iou_summary(self.pair_iou),
            },
            "stale_reviews": self.stale,
            "invalid_reviews": self.invalid,
            "corrections_not_applied": self.not_applied,
        }


def review_metrics(weak_records: Sequence[Record], outcome: ReviewOutcome) -> dict:
    """Metrics of the reviews applied to ``weak_records`` (the records before review)."""
    groups: dict[tuple[str, str, str], _Group] = {}
    overall = _Group()
    for record in weak_records:
        counted = outcome.counted.get(record.record_id)
        if counted is None:
            continue
        key = (model_version(record), record.family, record.task)
        targets = (groups.setdefault(key, _Group()), overall)
        weak = review_boxes(record)
        resolution = outcome.resolutions.get(record.record_id)
        for g in targets:
            g.stale += len(counted.stale)
            g.invalid += len(counted.invalid)
            g.not_applied += record.record_id in outcome.problems
            if resolution is None:
                continue
            g.states[resolution.state] += 1
            if resolution.state == CORRECTED:
                g.correction_iou.append(boxes_iou(weak, resolution.boxes))
            if resolution.state == REJECTED:
                g.reasons.update(resolution.reasons)
            for a, b in combinations(counted.current, 2):
                da, db = effective_decision(a, weak), effective_decision(b, weak)
                g.pairs += 1
                g.pairs_same_decision += da == db
                if REJECTED not in (da, db):
                    g.pair_iou.append(boxes_iou(reviewed_boxes(a, weak), reviewed_boxes(b, weak)))
    return {
        "conflict_rule": CONFLICT_RULE,
        "overall": overall.as_dict(),
        "by_extractor_task": [
            {"extractor": e, "family": f, "task": t, **g.as_dict()}
            for (e, f, t), g in sorted(groups.items())
        ],
    }
