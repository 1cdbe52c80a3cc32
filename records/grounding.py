"""Single-image grounding records from a study's findings.

Per finding label with boxes: "where is <finding>?" -> its boxes, and a presence "yes" with
the boxes as evidence; when the source's labels are exhaustive, "how many?" -> the count
with the boxes (and "none" for a finding stated absent). Per box: "what is in <box>?" ->
the finding. Per image with several boxes: one multi-box record. Per finding the source
states absent: presence "no" with no box. Boxes are never invented: a finding without
boxes gives no box record.

Findings the source words itself (``Finding.phrase``: a radiologist's phrase, a report
sentence) give records that quote the phrase verbatim (after ``extractors.deid``), worded in
the phrase's language where a bank exists, the language kept in ``provenance.language``:
per phrase, "where is <phrase>?" -> its boxes, and for a phrase stating an absence, presence
"no". They give no label-worded records: a source that wants those too adds plain rows.

A structure (an ``anatomy:`` label, e.g. a lung from a segmentation set) is worded as a
structure, not as an abnormality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from extractors.deid import deidentify
from records.factory import make_grounding
from records.templates import BANKS
from schemas.enums import GroundingTask
from schemas.modality import image_noun
from schemas.records import Finding, GroundingRecord, NamedBox, Provenance, Study
from schemas.vocab import is_anatomy, phrase

# The image nouns of the other languages phrases come in (BCP 47 -> modality -> words).
IMAGE_NOUNS_BY_LANGUAGE = {"es": {"XR": "radiografía de tórax", "CT": "imagen de TC"}}

# Banks with a wording for structures (``anatomy:`` labels): "<bank>_anatomy".
_ANATOMY_BANKS = {"referring", "presence_yes", "presence_no"}


def _bank(bank: str, label: str | None) -> str:
    """The bank for a label: a structure's own wording where the bank has one."""
    return f"{bank}_anatomy" if label and is_anatomy(label) and bank in _ANATOMY_BANKS else bank


def _and_join(words: Sequence[str], conjunction: str = "and") -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + f" {conjunction} " + words[-1]


# "and" in the other languages phrases come in (BCP 47)
CONJUNCTIONS = {"es": "y"}


def _boxes_text(boxes: Sequence[NamedBox], language: str | None = None) -> str:
    return _and_join([b.box.to_text() for b in boxes], CONJUNCTIONS.get(language or "", "and"))


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
    provenance.readers = [b for f in findings for b in f.readers]
    return provenance


_COUNT_WORDS = ("none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _count(n: int) -> str:
    word = _COUNT_WORDS[n] if n < len(_COUNT_WORDS) else str(n)
    return word[:1].upper() + word[1:]


def build_grounding_records(
    study: Study, findings: Sequence[Finding], *, seed: int, exhaustive: bool = False
) -> list[GroundingRecord]:
    """Every grounding record the study's findings support, in a fixed order."""
    phrased = [f for f in findings if f.phrase is not None]
    findings = [f for f in findings if f.phrase is None]
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
    return records + phrase_records(study, phrased, seed=seed)


def _language_bank(base: str, language: str | None) -> str:
    """The bank of ``base`` in the phrase's language (English when there is none)."""
    named = f"{base}_{language}"
    return named if language and language != "en" and named in BANKS else base


def phrase_records(
    study: Study, findings: Sequence[Finding], *, seed: int
) -> list[GroundingRecord]:
    """Records of findings that carry the source's own phrase: per (phrase, language), its
    boxes ("where is <phrase>?"), or presence "no" for a phrase the source states absent."""
    groups: dict[tuple[str, str, bool], list[Finding]] = {}
    for f in findings:
        assert f.phrase is not None
        groups.setdefault((f.language or "", f.phrase, f.present), []).append(f)
    records: list[GroundingRecord] = []
    for (language, text, present), group in sorted(groups.items()):
        boxes = [f.box for f in group if f.box is not None]
        if present and not boxes:
            continue  # boxes are never invented
        labels = sorted({f.label for f in group})
        label = labels[0] if len(labels) == 1 else None
        ids = tuple(f.finding_id for f in group)
        nouns = IMAGE_NOUNS_BY_LANGUAGE.get(language, {})
        slots = {
            "image": nouns.get(study.modality) or image_noun(study.modality),
            "phrase": deidentify(text),
            "boxes": _boxes_text(boxes, language) if boxes else "",
        }
        task, base = (
            (GroundingTask.PHRASE_GROUNDING, "sentence_grounding")
            if present
            else (GroundingTask.PRESENCE, "sentence_absent")
        )
        provenance = replace(_provenance(study, group), language=language or None)
        records.append(
            make_grounding(
                study,
                task,
                id_parts=("phrase", language, text, *ids),
                bank=_language_bank(base, language),
                slots=slots,
                seed=seed,
                provenance=provenance,
                label=label,
                answer_boxes=boxes,
            )
        )
    return records
