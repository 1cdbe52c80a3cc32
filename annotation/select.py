"""Which records go to expert review: every reviewable record whose weak-label confidence is
under the threshold, plus a seeded random audit share of the others, capped per source and
task. Pure and deterministic: a record's audit draw depends only on the seed and its id, so
adding records never changes whether another one is drawn."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from annotation.items import is_reviewable
from schemas.records import Record

LOW_CONFIDENCE = "low_confidence"
AUDIT = "audit"


@dataclass(frozen=True)
class Selected:
    record: Record
    why: str  # low_confidence | audit


def audit_draw(seed: int, record_id: str) -> float:
    """A uniform number in [0, 1) from the seed and the record id alone."""
    digest = hashlib.sha256(f"medsg-review-audit/{seed}/{record_id}".encode()).hexdigest()
    return int(digest[:13], 16) / float(1 << 52)


def group_key(record: Record) -> tuple[str, str, str]:
    """The cap applies per (source, family, task)."""
    return (record.provenance.source_dataset, record.family, record.task)


def select_for_review(
    records: Iterable[Record],
    *,
    threshold: float,
    audit_share: float,
    max_per_group: int,
    seed: int,
) -> list[Selected]:
    """The records to review, in record-id order. Within a (source, family, task) group over
    the cap, low-confidence records come first (least confident first), then audited ones
    (by audit draw)."""
    groups: dict[tuple[str, str, str], list[tuple[tuple, Selected]]] = {}
    for record in records:
        if not is_reviewable(record):
            continue
        confidence = record.provenance.confidence
        draw = audit_draw(seed, record.record_id)
        if confidence < threshold:
            chosen = Selected(record, LOW_CONFIDENCE)
            rank = (0, confidence, draw)
        elif draw < audit_share:
            chosen = Selected(record, AUDIT)
            rank = (1, draw, 0.0)
        else:
            continue
        groups.setdefault(group_key(record), []).append((rank, chosen))
    out = []
    for members in groups.values():
        members.sort(key=lambda m: (m[0], m[1].record.record_id))
        out += [chosen for _, chosen in members[:max_per_group]]
    return sorted(out, key=lambda s: s.record.record_id)
