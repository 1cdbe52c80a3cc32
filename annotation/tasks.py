"""Records to Label Studio tasks (data and pre-annotations), and Label Studio annotations
back to typed reviews. Pure: the HTTP side is ``annotation.client``.

Coordinates go through ``schemas.boxes`` only (``Box.to_label_studio`` /
``Box.from_label_studio``): percent of the image, top-left plus size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from annotation.configs import (
    COMMENT,
    DECISION,
    REASON,
    box_tool_name,
    family_of,
    image_index_of,
    image_name,
)
from annotation.items import SlotBox, review_boxes, weak_hash
from schemas.boxes import Box, BoxError
from schemas.enums import ReviewState
from schemas.records import CotRecord, Record, record_images
from schemas.vocab import phrase
from shards.writer import config_name

DECISION_STATES = {
    "accept": ReviewState.ACCEPTED.value,
    "correct": ReviewState.CORRECTED.value,
    "reject": ReviewState.REJECTED.value,
}
INVALID = "invalid"  # an annotation that says nothing usable (no decision, unreadable box)


def model_version(record: Record) -> str:
    """The prediction's model version: the extractor's name and version."""
    return f"{record.provenance.extractor}@{record.provenance.extractor_version}"


def task_data(record: Record, image_url: Callable[[str], str]) -> dict:
    """The task's data: image URL(s), the phrase and its context, and the keys that tie the
    task to its record (``record_id``) and to the weak label it shows (``weak_hash``).
    ``image_url`` maps a study id to the URL Label Studio loads the image from."""
    config = config_name(record)
    family = family_of(config)
    images = record_images(record)
    data: dict = {
        "record_id": record.record_id,
        "weak_hash": weak_hash(record),
        "config": config,
        "family": record.family,
        "task": record.task,
        "source": record.provenance.source_dataset,
        "extractor": model_version(record),
        "confidence": record.provenance.confidence,
        "phrase": phrase(record.label) if getattr(record, "label", None) else record.question,
        "context": f"Q: {record.question}\nA: {record.answer}",
    }
    for i, ref in enumerate(images):
        key = image_name(family, i)
        data[key] = image_url(ref.study_id)
        if family == "sequence":
            data[f"{key}_title"] = f"image {i + 1} of {len(images)} ({ref.modality})"
    if isinstance(record, CotRecord):
        data["steps"] = "\n".join(
            f"{i + 1}. [{s.kind}] {s.text}" for i, s in enumerate(record.steps)
        )
    return data


def prediction(record: Record) -> dict:
    """The weak label as a Label Studio prediction: one rectangle per box, in its slot, with
    the extractor as model version and the weak-label confidence as score."""
    family = family_of(config_name(record))
    images = record_images(record)
    result = []
    for i, sb in enumerate(review_boxes(record)):
        ref = images[sb.image_index]
        result.append(
            {
                "id": f"weak{i}",
                "from_name": box_tool_name(family, sb.image_index),
                "to_name": image_name(family, sb.image_index),
                "type": "rectanglelabels",
                "original_width": ref.width,
                "original_height": ref.height,
                "image_rotation": 0,
                "value": {**sb.box.to_label_studio(), "rectanglelabels": [sb.slot]},
            }
        )
    return {
        "model_version": model_version(record),
        "score": float(record.provenance.confidence),
        "result": result,
    }


def iso_utc(stamp: str | None) -> str | None:
    """A server time stamp as ISO 8601 UTC to the second (``2026-01-02T03:04:05Z``)."""
    if not stamp:
        return None
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Review:
    """One reviewer's annotation of one task, as pulled (a row of the review ledger).
    ``weak_hash`` is the weak label the task showed when the annotation was pulled."""

    annotation_id: int
    task_id: int
    project: str
    record_id: str
    weak_hash: str
    reviewer: str  # the reviewer's Label Studio login (private: published as a pseudonym)
    decision: str  # accepted | corrected | rejected | invalid
    boxes: list[SlotBox] = field(default_factory=list)
    reason: str | None = None  # rejection reason code (annotation.configs.REJECT_REASONS)
    comment: str | None = None  # free text (private: never published)
    problem: str | None = None  # why the annotation is invalid
    created_at: str | None = None  # server time stamps, as the server wrote them
    updated_at: str | None = None  # the annotation's own time stamp (edits change it)

    def as_dict(self) -> dict:
        return {**self.__dict__, "boxes": [b.as_dict() for b in self.boxes]}

    @classmethod
    def from_dict(cls, d: dict) -> Review:
        return cls(**{**d, "boxes": [SlotBox.from_dict(b) for b in d.get("boxes", [])]})


def _reviewer(annotation: dict, users: dict[int, str]) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return who.get("email") or f"user-{who.get('id')}"
    if who is None:
        return "unknown"
    return users.get(int(who), f"user-{who}")


def parse_annotation(
    annotation: dict, task: dict, project: str, users: dict[int, str] | None = None
) -> Review:
    """A Label Studio annotation (JSON of the tasks API) as a typed review of the task's
    record. The decision comes from the ``decision`` choices; boxes from the rectangles."""
    data = task.get("data", {})
    review = Review(
        annotation_id=int(annotation["id"]),
        task_id=int(task["id"]),
        project=project,
        record_id=str(data.get("record_id", "")),
        weak_hash=str(data.get("weak_hash", "")),
        reviewer=_reviewer(annotation, users or {}),
        decision=INVALID,
        created_at=annotation.get("created_at"),
        updated_at=annotation.get("updated_at"),
    )
    problems = []
    decision = None
    for item in annotation.get("result") or []:
        kind, name, value = item.get("type"), item.get("from_name"), item.get("value") or {}
        if kind == "choices" and name == DECISION:
            decision = (value.get("choices") or [None])[0]
        elif kind == "choices" and name == REASON:
            review.reason = (value.get("choices") or [None])[0]
        elif kind == "textarea" and name == COMMENT:
            review.comment = "\n".join(value.get("text") or []).strip() or None
        elif kind == "rectanglelabels":
            slots = value.get("rectanglelabels") or []
            try:
                box = Box.from_label_studio(value).clipped().checked()
            except (BoxError, KeyError, TypeError, ValueError) as exc:
                problems.append(f"unreadable box {value!r}: {exc}")
                continue
            if len(slots) != 1:
                problems.append(f"a box needs exactly one slot label, has {slots!r}")
                continue
            index = image_index_of(item.get("to_name") or "image")
            review.boxes.append(SlotBox(slots[0], index, box))
    if decision not in DECISION_STATES:
        problems.append(f"no decision chosen (one of {sorted(DECISION_STATES)})")
    if problems:
        review.problem = "; ".join(problems)
    else:
        review.decision = DECISION_STATES[decision]
    return review
