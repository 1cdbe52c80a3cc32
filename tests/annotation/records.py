"""Small typed records of each family for the review tests (weak labels with known boxes)."""

from __future__ import annotations

from schemas.boxes import Box
from schemas.records import (
    CotRecord,
    CotStep,
    GroundingRecord,
    ImageBox,
    ImageRef,
    NamedBox,
    Provenance,
    SequenceRecord,
)

WEAK = Box(0.2, 0.3, 0.4, 0.6)


def provenance(confidence: float = 0.6, source: str = "src", extractor: str = "extractors.x"):
    return Provenance(
        source_dataset=source,
        source_item="item-1",
        extractor=extractor,
        extractor_version="2",
        confidence=confidence,
        licence="CC0-1.0",
    )


def grounding(
    record_id: str = "rec-g1",
    box: Box = WEAK,
    confidence: float = 0.6,
    task: str = "phrase_grounding",
    source: str = "src",
    study: str = "study-1",
) -> GroundingRecord:
    return GroundingRecord(
        record_id=record_id,
        task=task,
        patient_id="patient-1",
        image=ImageRef(study, 200, 100, "XR"),
        question="Where is the nodule in this chest X-ray?",
        answer=f"The nodule is at {box.to_text()}.",
        question_boxes=[],
        answer_boxes=[NamedBox.of(box, "nodule")],
        label="nodule",
        template_id="pg-1",
        split="train",
        provenance=provenance(confidence, source),
    )


def cot(record_id: str = "rec-c1") -> CotRecord:
    organ, lesion = Box(0.1, 0.1, 0.5, 0.5), WEAK
    return CotRecord(
        record_id=record_id,
        task="phrase_grounding",
        patient_id="patient-1",
        image=ImageRef("study-1", 200, 100, "PT"),
        question="Where is the lesion?",
        question_boxes=[],
        steps=[
            CotStep("locate", f"The liver is at {organ.to_text()}.", [NamedBox.of(organ, "liver")]),
            CotStep("inspect", f"A hot lesion at {lesion.to_text()}.", [NamedBox.of(lesion, "x")]),
            CotStep("conclude", "It is a lesion.", []),
        ],
        answer=f"The lesion is at {lesion.to_text()}.",
        answer_boxes=[NamedBox.of(lesion, "lesion")],
        curriculum_level="medium",
        template_id="cot-1",
        split="train",
        provenance=provenance(),
    )


def sequence(record_id: str = "rec-s1") -> SequenceRecord:
    return SequenceRecord(
        record_id=record_id,
        task="object_tracking",
        patient_ids=["patient-1"],
        images=[ImageRef("study-1", 64, 64, "CT"), ImageRef("study-2", 64, 64, "CT")],
        question=f"The lesion is at {Box(0.1, 0.1, 0.2, 0.2).to_text()} in image 1. Image 2?",
        answer=f"At {WEAK.to_text()}.",
        question_boxes=[ImageBox(0, 0.1, 0.1, 0.2, 0.2, "lesion")],
        answer_boxes=[ImageBox(1, *WEAK.as_list(), "lesion")],
        template_id="ot-1",
        split="train",
        provenance=provenance(),
    )
