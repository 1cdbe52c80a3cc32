"""Single-image grounding records from a study's findings.

Per finding label with boxes: "where is <finding>?" -> its boxes, and a presence "yes" with
the boxes as evidence; when the source's labels are exhaustive, "how many?" -> the count
with the boxes (and "none" for a finding stated absent). Per box: "what is in <box>?" ->
the finding. Per image with several boxes: one multi-box record. Per finding the source
states absent: presence "no" with no box. Boxes are never invented: a finding without
boxes gives no box record. A structure (an ``anatomy:`` label, e.g. a lung from a
segmentation set) is worded as a structure, not as an abnormality.
"""

from __future__ import annotations

from collections.abc import Sequence

from records.factory import make_grounding
from schemas.enums import GroundingTask
from schemas.modality import image_noun
from schemas.records import Finding, GroundingRecord, NamedBox, Provenance, Study
from schemas.vocab import is_anatomy, phrase

# Banks with a wording for structures (``anatomy:`` labels): "<bank>_anatomy".
_ANATOMY_BANKS = {"referring", "presence_yes", "presence_no"}


def _bank(bank: str, label: str | None) -> str:
    """The bank for a label: a structure's own wording where the bank has one."""
    return f"{bank}_anatomy" if label and is_anatomy(label) and bank in _ANATOMY_BANKS else bank


def _and_join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _boxes_text(boxes: Sequence[NamedBox]) -> str:
    return _and_join([b.box.to_text() for b in boxes])


def _slots(study: Study, label: str | None = None, boxes: Sequence[NamedBox] = ()) -> dict:
    words = phrase(label) if label else ""
    return {
        "image": image_noun(study.modality),
        "finding": words,
        "Finding": words[:1].upper() + words[1:],
        "boxes": _boxes_text(boxes) if boxes else "",
        "box": boxes[0].box.to_text() if boxes else "",
    }


def _provenance(study: Study, findings: Sequence[Finding]) -> Provenance:
    extractors = "+".join(sorted({f.extractor for f in findings}))
    versions = "+".join(sorted({f.extractor_version for f in findings}))
    provenance = Provenance.of(study, extractors, versions, min(f.confidence for f in findings))
    provenance.observer_boxes = [b for f in findings for b in f.observer_boxes]
    return provenance


_COUNT_WORDS = ("none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _count(n: int) -> str:
    word = _COUNT_WORDS[n] if n < len(_COUNT_WORDS) else str(n)
    return word[:1].upper() + word[1:]


def build_grounding_records(
    study: Study, findings: Sequence[Finding], *, seed: int, exhaustive: bool = False
) -> list[GroundingRecord]:
    """Every grounding record the study's findings support, in a fixed order."""
    records: list[GroundingRecord] = []

    def add(
        task: GroundingTask,
        bank: str,
        id_parts: tuple,
        used: Sequence[Finding],
        *,
        label: str | None,
        slots: dict,
        question_boxes: Sequence[NamedBox] = (),
        answer_boxes: Sequence[NamedBox] = (),
    ) -> None:
        records.append(
            make_grounding(
                study,
                task,
                id_parts=id_parts,
                bank=_bank(bank, label),
                slots=slots,
                seed=seed,
                provenance=_provenance(study, used),
                label=label,
                question_boxes=question_boxes,
                answer_boxes=answer_boxes,
            )
        )

    boxed = [f for f in findings if f.present and f.box is not None]
    by_label: dict[str, list[Finding]] = {}
    for f in boxed:
        by_label.setdefault(f.label, []).append(f)

    for label in sorted(by_label):
        group = by_label[label]
        boxes = [f.box for f in group if f.box is not None]
        ids = tuple(f.finding_id for f in group)
        slots = _slots(study, label, boxes)
        add(
            GroundingTask.PHRASE_GROUNDING,
            "phrase_grounding",
            (label, *ids),
            group,
            label=label,
            slots=slots,
            answer_boxes=boxes,
        )
        add(
            GroundingTask.PRESENCE,
            "presence_yes",
            (label, "yes", *ids),
            group,
            label=label,
            slots=slots,
            answer_boxes=boxes,
        )
        if exhaustive:
            add(
                GroundingTask.COUNTING,
                "counting",
                (label, "count", *ids),
                group,
                label=label,
                slots={**slots, "count": _count(len(boxes))},
                answer_boxes=boxes,
            )
        for f in group:
            assert f.box is not None
            add(
                GroundingTask.REFERRING,
                "referring",
                (label, f.finding_id),
                [f],
                label=label,
                slots=_slots(study, label, [f.box]),
                question_boxes=[f.box],
            )

    if len(boxed) >= 2:
        labels = sorted(by_label)
        all_boxes = [f.box for label in labels for f in by_label[label] if f.box is not None]
        listing = "; ".join(
            f"{phrase(label)}: {_boxes_text([f.box for f in by_label[label] if f.box])}"
            for label in labels
        )
        slots = {
            **_slots(study),
            "findings": _and_join([phrase(label) for label in labels]),
            "listing": listing,
        }
        add(
            GroundingTask.MULTI_GROUNDING,
            "multi_grounding",
            tuple(f.finding_id for f in boxed),
            boxed,
            label=None,
            slots=slots,
            answer_boxes=all_boxes,
        )

    for f in sorted((f for f in findings if not f.present), key=lambda f: f.label):
        add(
            GroundingTask.PRESENCE,
            "presence_no",
            (f.label, "no", f.finding_id),
            [f],
            label=f.label,
            slots=_slots(study, f.label),
        )
        if exhaustive:
            add(
                GroundingTask.COUNTING,
                "counting_none",
                (f.label, "count", f.finding_id),
                [f],
                label=f.label,
                slots=_slots(study, f.label),
            )
    return records
