"""Grounding and chain-of-thought records from PET/CT weak labels.

Per localised lesion mention:
- grounding: the report sentence -> the lesion's box on the axial slice it was reported on;
  the sentence -> its box on the coronal maximum-intensity projection (MIP); a phrase made
  from the label ("the left lung lesion with SUVmax 8.2") -> the axial box;
- chain of thought on the MIP: host organ box -> lesion box -> SUVmax against the liver
  reference -> conclusion, at the three curriculum levels of ``records.cot`` (easy: the
  boxes in the question; medium: in the steps; hard: the answer only).
Per exam with two or more lesions: every lesion on the MIP (multi-grounding).

Report sentences are de-identified before they go into a record (names, ids, dates,
places, phone numbers...: ``extractors.deid``). Boxes are canonical (``schemas.boxes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from records.cot import LEVELS
from records.factory import make_cot, make_grounding
from records.templates import Template
from schemas.enums import CotStepKind, GroundingTask
from schemas.records import (
    CotRecord,
    CotStep,
    GroundingRecord,
    NamedBox,
    Provenance,
    Record,
    Study,
)

LABEL = "fdg_avid_lesion"

# Wording of the PET records (seeded, as every bank: records.templates.pick).
BANKS: dict[str, tuple[Template, ...]] = {
    "pet_sentence_axial": (
        Template(
            "psa-1",
            'Which region of this {image} does the report sentence describe? "{sentence}"',
            "{boxes}",
        ),
        Template(
            "psa-2", 'Locate the lesion in this {image}: "{sentence}"', "The lesion is at {boxes}."
        ),
        Template(
            "psa-3", 'Report: "{sentence}" Draw a box around the lesion it describes.', "{boxes}"
        ),
    ),
    "pet_sentence_mip": (
        Template(
            "psm-1",
            'On this maximum-intensity projection, where is the lesion of "{sentence}"?',
            "{boxes}",
        ),
        Template(
            "psm-2",
            'Report: "{sentence}" Box the lesion on the PET maximum-intensity projection.',
            "The lesion is at {boxes}.",
        ),
    ),
    "pet_phrase_axial": (
        Template("ppa-1", "Where is the {phrase} in this {image}?", "The {phrase} is at {boxes}."),
        Template("ppa-2", "Locate the {phrase}.", "{boxes}"),
    ),
    "pet_all_mip": (
        Template(
            "pam-1",
            "Locate every FDG-avid lesion the report describes on this maximum-intensity "
            "projection.",
            "{listing}",
        ),
        Template("pam-2", "Mark the reported lesions ({findings}) on this PET MIP.", "{listing}"),
    ),
    # chains of thought, one bank per curriculum level (records.cot.LEVELS)
    "pet_cot_easy": (
        Template(
            "pce-1",
            'Report: "{sentence}" On this PET MIP the {where} is at {given}. How avid is the '
            "lesion, and where? Reason step by step.",
            "{answer}",
        ),
    ),
    "pet_cot_medium": (
        Template(
            "pcm-1",
            'Find the lesion this report sentence describes and reason step by step: "{sentence}"',
            "{answer}",
        ),
        Template(
            "pcm-2",
            'Report: "{sentence}" Where is this lesion, and how avid is it? Explain your steps.',
            "{answer}",
        ),
    ),
    "pet_cot_hard": (
        Template("pch-1", 'Report: "{sentence}" Locate the lesion on this PET MIP.', "{answer}"),
    ),
}
AXIAL_NOUN = "axial PET/CT slice"
AXIAL_PET_NOUN = "axial PET slice"


@dataclass(frozen=True)
class LesionLabel:
    """What the records of one localised lesion mention need."""

    key: str  # stable part of its ids (exam, sentence, value)
    sentence: str  # redacted report sentence
    suv: float
    laterality: str | None
    organ: str | None  # words for the host organ ("left lower lobe of the lung")
    relation: str  # "in" or "next to"
    axial: Study
    axial_box: NamedBox
    mip_box: NamedBox
    organ_mip_box: NamedBox | None
    confidence: float
    finding_ids: tuple[str, ...]


@dataclass(frozen=True)
class ExamContext:
    """The exam-level facts records share: the MIP, the liver reference, provenance."""

    mip: Study
    liver_suv: float | None
    liver_mip_box: NamedBox | None
    extractor: str
    extractor_version: str
    fused: bool  # axial images are fused PET/CT (else PET alone)


def _provenance(study: Study, exam: ExamContext, confidence: float) -> Provenance:
    return Provenance.of(study, exam.extractor, exam.extractor_version, confidence)


def phrase_of(label: LesionLabel) -> str:
    """Words for a lesion from its label: side, organ, SUVmax."""
    where = ""
    if label.organ:
        where = f" {'in' if label.relation == 'in' else 'next to'} the {label.organ}"
    side = f"{label.laterality} " if label.laterality in ("left", "right") and not (
        label.organ and label.laterality in label.organ
    ) else ""  # fmt: skip
    return f"{side}FDG-avid lesion{where} with SUVmax {label.suv:g}"


def avidity(suv: float, liver: float | None) -> str:
    """How avid a lesion is against normal liver (PERCIST-style wording)."""
    if not liver:
        return "FDG-avid"
    ratio = suv / liver
    if ratio < 1.0:
        return "mildly FDG-avid (below the liver)"
    if ratio < 2.0:
        return "moderately FDG-avid (above the liver)"
    if ratio < 4.0:
        return "markedly FDG-avid"
    return "intensely FDG-avid"


def _grounding(
    study: Study,
    exam: ExamContext,
    bank: str,
    id_parts: tuple,
    slots: dict,
    boxes: Sequence[NamedBox],
    confidence: float,
    seed: int,
    *,
    task: GroundingTask = GroundingTask.PHRASE_GROUNDING,
    label: str | None = LABEL,
) -> GroundingRecord:
    return make_grounding(
        study,
        task,
        id_parts=(bank, *id_parts),
        bank=bank,
        banks=BANKS,
        slots={"boxes": " and ".join(b.box.to_text() for b in boxes), **slots},
        seed=seed,
        provenance=_provenance(study, exam, confidence),
        label=label,
        answer_boxes=boxes,
    )


def _cot_steps(label: LesionLabel, exam: ExamContext) -> tuple[list[CotStep], str]:
    """Host organ -> lesion -> SUVmax -> against the liver -> conclusion, and the conclusion."""
    box_text = label.mip_box.box.to_text()
    steps: list[CotStep] = []
    if label.organ and label.organ_mip_box is not None:
        steps.append(
            CotStep(
                CotStepKind.LOCATE.value,
                f"The sentence points to the {label.organ}: {label.organ_mip_box.box.to_text()}.",
                [label.organ_mip_box],
            )
        )
        where = "Within it" if label.relation == "in" else "Next to it"
        steps.append(
            CotStep(
                CotStepKind.INSPECT.value,
                f"{where} there is a focal hot spot at {box_text}.",
                [label.mip_box],
            )
        )
    else:
        steps.append(
            CotStep(
                CotStepKind.LOCATE.value,
                f"The reported slice holds a focal hot spot at {box_text}.",
                [label.mip_box],
            )
        )
    steps.append(
        CotStep(CotStepKind.MEASURE.value, f"Its SUVmax is {label.suv:g}.", [label.mip_box])
    )
    grade = avidity(label.suv, exam.liver_suv)
    if exam.liver_suv:
        steps.append(
            CotStep(
                CotStepKind.COMPARE.value,
                f"Normal liver measures SUVmean {exam.liver_suv:g}, so the lesion is "
                f"{label.suv / exam.liver_suv:.1f} times the liver reference.",
                [exam.liver_mip_box] if exam.liver_mip_box is not None else [],
            )
        )
    where = ""
    if label.organ:
        where = f" {'in' if label.relation == 'in' else 'next to'} the {label.organ}"
    article = "An" if grade[0] in "aeiou" else "A"
    conclusion = f"{article} {grade} lesion{where} at {box_text}."
    steps.append(CotStep(CotStepKind.CONCLUDE.value, conclusion, [label.mip_box]))
    return steps, conclusion


def _cot(label: LesionLabel, exam: ExamContext, seed: int) -> list[CotRecord]:
    """The three curriculum levels (records.cot.LEVELS): easy gives the organ and lesion
    boxes in the question, medium only in the steps, hard only in the answer."""
    mip = exam.mip
    steps, conclusion = _cot_steps(label, exam)
    given = [label.organ_mip_box, label.mip_box] if label.organ_mip_box else [label.mip_box]
    if label.organ and label.organ_mip_box is not None:
        where = f"{label.organ} at {label.organ_mip_box.box.to_text()} and the hot spot"
    else:
        where = "hot spot"
    records = []
    slots = {
        "sentence": label.sentence,
        "answer": conclusion,
        "where": where,
        "given": label.mip_box.box.to_text(),
    }
    for level in LEVELS:
        records.append(
            make_cot(
                mip,
                id_parts=(label.key, level),
                bank=f"pet_cot_{level}",
                banks=BANKS,
                slots=slots,
                seed=seed,
                provenance=_provenance(mip, exam, label.confidence),
                question_boxes=given if level == "easy" else [],
                steps=steps if level != "hard" else [steps[-1]],
                answer_boxes=[label.mip_box],
                curriculum_level=level,
            )
        )
    return records


def build_pet_records(
    lesions: Sequence[LesionLabel], exam: ExamContext, *, seed: int, chains: bool = True
) -> list[Record]:
    """Every record the exam's localised lesions support, in a fixed order (chains of
    thought only when ``chains``: the build's ``records.chains`` switch)."""
    records: list[Record] = []
    axial_noun = AXIAL_NOUN if exam.fused else AXIAL_PET_NOUN
    for label in lesions:
        sentence_slots = {"sentence": label.sentence, "image": axial_noun}
        records.append(
            _grounding(
                label.axial,
                exam,
                "pet_sentence_axial",
                (label.key,),
                sentence_slots,
                [label.axial_box],
                label.confidence,
                seed,
            )
        )
        records.append(
            _grounding(
                exam.mip,
                exam,
                "pet_sentence_mip",
                (label.key,),
                sentence_slots,
                [label.mip_box],
                label.confidence,
                seed,
            )
        )
        records.append(
            _grounding(
                label.axial,
                exam,
                "pet_phrase_axial",
                (label.key,),
                {"phrase": phrase_of(label), "image": axial_noun},
                [label.axial_box],
                label.confidence,
                seed,
            )
        )
        if chains:
            records += _cot(label, exam, seed)
    distinct = {lab.mip_box.box.as_list().__repr__(): lab for lab in lesions}
    if len(distinct) >= 2:
        labels = list(distinct.values())
        listing = "; ".join(f"SUVmax {lab.suv:g}: {lab.mip_box.box.to_text()}" for lab in labels)
        records.append(
            _grounding(
                exam.mip,
                exam,
                "pet_all_mip",
                tuple(lab.key for lab in labels),
                {"listing": listing, "findings": f"{len(labels)} lesions"},
                [lab.mip_box for lab in labels],
                min(lab.confidence for lab in labels),
                seed,
                task=GroundingTask.MULTI_GROUNDING,
            )
        )
    return records
