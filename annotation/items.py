"""What a record offers an expert to review: its boxes, each in a named slot (the question,
the answer, a chain-of-thought step) on one of its images; and the record rebuilt with
corrected boxes. Pure functions on the typed records, no server.

Slots are the rectangle labels of the labeling configs (``annotation.configs``): the slot
says what a box stands for, so a correction drawn in Label Studio lands in the right place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.arrow import to_row
from schemas.boxes import Box
from schemas.records import (
    CotRecord,
    CotStep,
    ImageBox,
    NamedBox,
    Record,
    SequenceRecord,
    record_images,
)

QUESTION = "question"
ANSWER = "answer"
MAX_COT_STEPS = 8  # the CoT labeling config declares a rectangle label per step up to this


def step_slot(index: int) -> str:
    """The slot of the boxes of step ``index`` (0-based): ``step-1``, ``step-2``..."""
    return f"step-{index + 1}"


@dataclass(frozen=True)
class SlotBox:
    """A canonical box in a slot of a record, on image ``image_index`` of the record."""

    slot: str
    image_index: int
    box: Box
    label: str = ""

    def as_dict(self) -> dict:
        return {
            "slot": self.slot,
            "image_index": self.image_index,
            "box": self.box.as_list(),
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, d: dict) -> SlotBox:
        return cls(d["slot"], int(d["image_index"]), Box(*d["box"]), d.get("label", ""))


def _named(slot: str, boxes: Sequence[NamedBox | ImageBox]) -> list[SlotBox]:
    return [
        SlotBox(slot, b.image_index if isinstance(b, ImageBox) else 0, b.box, b.label)
        for b in boxes
    ]


def review_boxes(record: Record) -> list[SlotBox]:
    """Every box of the record, in record order: question, answer, then step boxes."""
    boxes = _named(QUESTION, record.question_boxes) + _named(ANSWER, record.answer_boxes)
    if isinstance(record, CotRecord):
        for i, step in enumerate(record.steps):
            boxes += _named(step_slot(i), step.boxes)
    return boxes


def is_reviewable(record: Record) -> bool:
    """A record is sent to review when it carries a box (a weak label to check)."""
    return bool(review_boxes(record))


def boxes_iou(a: Sequence[SlotBox], b: Sequence[SlotBox]) -> float:
    """IoU of two sets of boxes: boxes of the same slot and image are paired greedily by
    highest IoU; the mean over pairs counts every unpaired box as 0. Two empty sets: 1."""
    n = max(len(a), len(b))
    if n == 0:
        return 1.0
    pairs = _pairs(a, b)
    return sum(iou for _, _, iou in pairs) / n


def _pairs(a: Sequence[SlotBox], b: Sequence[SlotBox]) -> list[tuple[int, int, float]]:
    """Greedy one-to-one pairing of a's and b's boxes within the same slot and image."""
    candidates = sorted(
        (
            (-x.box.iou(y.box), i, j)
            for i, x in enumerate(a)
            for j, y in enumerate(b)
            if (x.slot, x.image_index) == (y.slot, y.image_index)
        ),
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for neg_iou, i, j in candidates:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((i, j, -neg_iou))
    return pairs


def same_boxes(a: Sequence[SlotBox], b: Sequence[SlotBox], tolerance: float = 0.99) -> bool:
    """Whether two box sets are the same up to drawing noise (every box paired, IoU >= tol)."""
    if len(a) != len(b):
        return False
    pairs = _pairs(a, b)
    return len(pairs) == len(a) and all(iou >= tolerance for _, _, iou in pairs)


def order_like(weak: Sequence[SlotBox], corrected: Sequence[SlotBox]) -> list[SlotBox]:
    """The corrected boxes in the order of the weak ones they replace (paired by IoU), each
    keeping its weak box's label; boxes with no weak partner follow, top to bottom, with the
    label of their slot's first weak box."""
    pairs = {j: i for i, j, iou in _pairs(weak, corrected) if iou > 0}
    slot_label = {}
    for w in weak:
        slot_label.setdefault((w.slot, w.image_index), w.label)
    paired = sorted((i, j) for j, i in pairs.items())
    out = [dataclasses.replace(corrected[j], label=weak[i].label) for i, j in paired]
    extras = sorted(
        (c for j, c in enumerate(corrected) if j not in pairs),
        key=lambda c: (c.slot, c.image_index, c.box.y1, c.box.x1),
    )
    out += [
        dataclasses.replace(c, label=slot_label.get((c.slot, c.image_index), c.label))
        for c in extras
    ]
    return out


class CorrectionError(ValueError):
    """A correction that cannot be applied to the record (names the slot and why)."""


def _and_join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _retext(text: str, old: Sequence[Box], new: Sequence[Box]) -> str:
    """Rewrite the boxes a text writes (``Box.to_text``) from the old to the new ones."""
    if not old or text is None:
        return text
    old_joined = _and_join([b.to_text() for b in old])
    if len(old) > 1 and old_joined in text and new:
        return text.replace(old_joined, _and_join([b.to_text() for b in new]))
    if len(old) == len(new):
        # two passes through placeholders, so that swapped boxes do not rewrite each other
        for i, b in enumerate(old):
            text = text.replace(b.to_text(), f"\x00{i}\x00")
        for i, b in enumerate(new):
            text = text.replace(f"\x00{i}\x00", b.to_text())
        return text
    if any(b.to_text() in text for b in old):
        raise CorrectionError(
            f"the text writes {len(old)} box(es) and the correction has {len(new)}: "
            "it cannot be rewritten"
        )
    return text


def with_boxes(record: Record, corrected: Sequence[SlotBox]) -> Record:
    """The record with each slot's boxes replaced by the corrected boxes of that slot (slots
    the correction leaves empty must have been empty), and the texts that write those boxes
    rewritten. Raises CorrectionError when that cannot be done faithfully."""
    weak = review_boxes(record)
    n_images = len(record_images(record))
    by_slot: dict[str, list[SlotBox]] = {}
    for c in order_like(weak, corrected):
        if not 0 <= c.image_index < n_images:
            raise CorrectionError(f"a box is on image {c.image_index}, the record has {n_images}")
        by_slot.setdefault(c.slot, []).append(c)
    weak_slots = {w.slot for w in weak}
    for slot in sorted(weak_slots - set(by_slot)):
        raise CorrectionError(f"the correction removes every box of slot {slot!r}")
    step_slots = (
        {step_slot(i) for i in range(len(record.steps))} if isinstance(record, CotRecord) else set()
    )
    for slot in sorted(set(by_slot) - weak_slots):
        if slot not in step_slots:  # a step without evidence may gain a box; nothing else may
            raise CorrectionError(f"the correction adds boxes to slot {slot!r}, which had none")

    def boxes_of(slot: str, like: Sequence[NamedBox | ImageBox]):
        new = by_slot.get(slot, [])
        if not like and not new:
            return []
        if isinstance(record, SequenceRecord):
            return [ImageBox(c.image_index, *c.box.as_list(), c.label) for c in new]
        return [NamedBox.of(c.box, c.label) for c in new]

    old_new: list[tuple[list[Box], list[Box]]] = []

    def track(old_boxes, new_boxes):
        old_new.append(([b.box for b in old_boxes], [b.box for b in new_boxes]))
        return new_boxes

    question_boxes = track(record.question_boxes, boxes_of(QUESTION, record.question_boxes))
    answer_boxes = track(record.answer_boxes, boxes_of(ANSWER, record.answer_boxes))
    changes: dict = {"question_boxes": question_boxes, "answer_boxes": answer_boxes}
    if isinstance(record, CotRecord):
        steps = []
        for i, step in enumerate(record.steps):
            new = track(step.boxes, boxes_of(step_slot(i), step.boxes))
            steps.append(CotStep(step.kind, step.text, new))
        changes["steps"] = steps
    rewritten = dataclasses.replace(record, **changes)

    def retext(text: str) -> str:
        for old, new in old_new:
            if [b.as_list() for b in old] != [b.as_list() for b in new]:
                text = _retext(text, old, new)
        return text

    texts: dict = {"question": retext(record.question), "answer": retext(record.answer)}
    if isinstance(rewritten, CotRecord):
        texts["steps"] = [dataclasses.replace(s, text=retext(s.text)) for s in rewritten.steps]
    return dataclasses.replace(rewritten, **texts)


def weak_hash(record: Record) -> str:
    """A hash of the weak label as an expert sees it: the record's content (texts, boxes,
    images, extractor, confidence) without its review state, nor the readers' own boxes behind
    fused ones (the fused boxes are hashed; leaving them out keeps the hash of every
    single-reader record as it was). A review applies to the weak label it was made on; when
    this hash changes, older reviews are stale."""
    row = to_row(record)
    prov = dict(row["provenance"])
    for key in ("review_state", "reviewer", "reviewed_at", "review_note", "weak_boxes", "readers"):
        prov.pop(key, None)
    if prov.get("language") is None:  # records made before the field keep their hash
        prov.pop("language", None)
    row["provenance"] = prov
    blob = json.dumps(row, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]
