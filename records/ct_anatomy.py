"""Records from a CT projected to radiographs (PAXRay): dense anatomy grounding, and report
phrases grounded through anatomy.

- Anatomy: per view and structure, "where is the <structure>?" -> its box (every structure
  with ``core`` in the taxonomy, or all, or none: ``anatomy_records``).
- Report: a finding mention that is present (neither negated nor uncertain) and names
  anatomy the projection has: grounding on both views (the anatomy's box: one per side for
  "bilateral"), and a chain of thought on the frontal view: locate the structure, then
  name the finding there. A negated mention: "is there <finding>?" -> "No." Uncertain
  mentions give no record. The same statement in findings and impression gives one record.
Boxes are the projected structures' boxes (``schemas.boxes``), so a finding is grounded at
anatomy level: a weak label, and its confidence says so."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from extractors.ct.taxonomy import BY_ID, STRUCTURES, sided_parts
from extractors.deid import deidentify
from extractors.reports import FindingMention
from extractors.reports.extract import finding_words
from records.factory import make_cot, make_grounding
from records.templates import Template
from schemas.boxes import Box
from schemas.enums import CotStepKind, GroundingTask
from schemas.identity import stable_id
from schemas.records import (
    CotStep,
    Finding,
    NamedBox,
    Provenance,
    Record,
    Study,
)
from schemas.vocab import ANATOMY_PREFIX

CONFIDENCE_ANATOMY = 0.9  # a structure straight from its masks
CONFIDENCE_DERIVED = 0.8  # a derived structure (zones, mediastinum, hemidiaphragms...)
CONFIDENCE_REPORT = 0.5  # a report finding grounded at anatomy level

BANKS: dict[str, tuple[Template, ...]] = {
    "anatomy_grounding": (
        Template(
            "ag-1", "Where is the {structure} on this {image}?", "The {structure} is at {boxes}."
        ),
        Template("ag-2", "Locate the {structure} in this {image}.", "{boxes}"),
        Template("ag-3", "Draw a bounding box around the {structure}.", "{Structure}: {boxes}."),
        Template(
            "ag-4", "Which region of the {image} shows the {structure}?", "The region {boxes}."
        ),
    ),
    "report_grounding": (
        Template(
            "rg-1",
            'Where is the finding described by "{phrase}" on this {image}?',
            "{Finding} in the {structure}: {boxes}.",
        ),
        Template("rg-2", 'Ground the report sentence "{phrase}" on the {image}.', "{boxes}"),
        Template(
            "rg-3",
            'Which region of this {image} does the report mean by "{phrase}"?',
            "The {structure}, {boxes}.",
        ),
    ),
    "report_absent": (
        Template("ra-1", "Is there {finding} on this {image}?", "No."),
        Template(
            "ra-2", "Does the report describe {finding}?", "No, it states there is no {finding}."
        ),
    ),
    "report_cot": (
        Template(
            "rc-1",
            'The report says: "{phrase}" Where on this {image} is the finding?',
            "{Finding} in the {structure} at {boxes}.",
        ),
        Template(
            "rc-2",
            'Find the region the report sentence "{phrase}" refers to.',
            "The {structure}: {boxes}.",
        ),
    ),
}
_STEP_LOCATE = (
    "The sentence places the finding in the {structure}; locate the {structure}: {boxes}."
)
_STEP_CONCLUDE = "{Finding} projects over the {structure} at {boxes}."


@dataclass(frozen=True)
class CtRecordSource:
    """Provenance shared by a case's records."""

    extractor: str
    extractor_version: str
    report_extractor: str
    report_version: str


def image_noun(study: Study) -> str:
    return (
        f"{study.view} radiograph projected from CT"
        if study.view
        else "radiograph projected from CT"
    )


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _boxes_text(boxes: Sequence[NamedBox]) -> str:
    texts = [b.box.to_text() for b in boxes]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]


def anatomy_ids(mode: str) -> list[str]:
    if mode == "none":
        return []
    return [s.id for s in STRUCTURES if mode == "all" or s.core]


def structure_boxes(structure_id: str, boxes: Mapping[str, Box]) -> list[NamedBox]:
    """The boxes that ground a structure on a view: one per side for a bilateral group."""
    parts = [p for p in sided_parts(structure_id) if p in boxes]
    if not parts and structure_id in boxes:
        parts = [structure_id]
    return [NamedBox.of(boxes[p], BY_ID[p].name) for p in parts]


def anatomy_findings(study: Study, boxes: Mapping[str, Box], src: CtRecordSource) -> list[Finding]:
    """One Finding per projected structure of a view (the dense anatomy labels)."""
    out = []
    for sid, box in boxes.items():
        derived = BY_ID[sid].derive is not None
        out.append(
            Finding(
                finding_id=stable_id("finding", study.study_id, ANATOMY_PREFIX + sid),
                study_id=study.study_id,
                patient_id=study.patient_id,
                label=ANATOMY_PREFIX + sid,
                present=True,
                box=NamedBox.of(box, BY_ID[sid].name),
                source_row=None,
                extractor=src.extractor,
                extractor_version=src.extractor_version,
                confidence=CONFIDENCE_DERIVED if derived else CONFIDENCE_ANATOMY,
            )
        )
    return out


def mention_findings(
    study: Study, boxes: Mapping[str, Box], mentions: Sequence[FindingMention], src: CtRecordSource
) -> list[Finding]:
    """Report mentions as Findings on a view: one per anatomy box (none when the anatomy is
    unknown or not projected); negated mentions are absent findings without a box."""
    out: list[Finding] = []
    for m in mentions:
        if m.uncertain and not m.negated:
            continue
        boxes_ = structure_boxes(m.anatomy, boxes) if m.anatomy and m.present else []
        for nb in boxes_ or [None]:
            out.append(
                Finding(
                    finding_id=stable_id(
                        "finding", study.study_id, m.finding, m.start, nb.label if nb else ""
                    ),
                    study_id=study.study_id,
                    patient_id=study.patient_id,
                    label=m.finding,
                    present=m.present,
                    box=nb,
                    source_row=None,
                    extractor=src.report_extractor,
                    extractor_version=src.report_version,
                    confidence=CONFIDENCE_REPORT,
                )
            )
    return out


def build_ct_records(
    studies: Mapping[str, Study],
    boxes: Mapping[str, Mapping[str, Box]],
    mentions: Sequence[FindingMention],
    *,
    seed: int,
    anatomy_mode: str,
    src: CtRecordSource,
) -> list[Record]:
    """Every record of one projected CT (views keyed "frontal", "lateral")."""
    records: list[Record] = []
    wanted = anatomy_ids(anatomy_mode)
    for view, study in sorted(studies.items()):
        view_boxes = boxes.get(view, {})
        for sid in wanted:
            if sid not in view_boxes:
                continue
            s = BY_ID[sid]
            nb = [NamedBox.of(view_boxes[sid], s.name)]
            conf = CONFIDENCE_DERIVED if s.derive is not None else CONFIDENCE_ANATOMY
            records.append(
                make_grounding(
                    study,
                    GroundingTask.PHRASE_GROUNDING,
                    id_parts=("anatomy", sid),
                    bank="anatomy_grounding",
                    banks=BANKS,
                    slots={
                        "structure": s.name,
                        "Structure": _cap(s.name),
                        "image": image_noun(study),
                        "boxes": _boxes_text(nb),
                    },
                    seed=seed,
                    provenance=Provenance.of(study, src.extractor, src.extractor_version, conf),
                    label=ANATOMY_PREFIX + sid,
                    answer_boxes=nb,
                )
            )
        records += _report_records(study, view, view_boxes, mentions, seed, src)
    return records


def _report_records(
    study: Study,
    view: str,
    boxes: Mapping[str, Box],
    mentions: Sequence[FindingMention],
    seed: int,
    src: CtRecordSource,
) -> list[Record]:
    out: list[Record] = []
    seen: set[tuple] = set()
    extractor = f"{src.extractor}+{src.report_extractor}"
    version = f"{src.extractor_version}+{src.report_version}"
    prov = Provenance.of(study, extractor, version, CONFIDENCE_REPORT)
    noun = image_noun(study)
    for m in mentions:
        words = finding_words(m.finding)
        if m.negated:
            key = ("absent", m.finding)
            if key in seen or view != "frontal":
                continue
            seen.add(key)
            out.append(
                make_grounding(
                    study,
                    GroundingTask.PRESENCE,
                    id_parts=("report", m.finding, "no"),
                    bank="report_absent",
                    banks=BANKS,
                    slots={"finding": words, "image": noun},
                    seed=seed,
                    provenance=prov,
                    label=m.finding,
                )
            )
            continue
        if not m.present or not m.anatomy:
            continue
        nbs = structure_boxes(m.anatomy, boxes)
        if not nbs:
            continue
        key = ("present", m.finding, m.anatomy)
        if key in seen:
            continue
        seen.add(key)
        slots = {
            "phrase": deidentify(m.sentence),
            "finding": words,
            "Finding": _cap(words),
            "structure": BY_ID[m.anatomy].name,
            "image": noun,
            "boxes": _boxes_text(nbs),
        }
        out.append(
            make_grounding(
                study,
                GroundingTask.PHRASE_GROUNDING,
                id_parts=("report", m.finding, m.anatomy),
                bank="report_grounding",
                banks=BANKS,
                slots=slots,
                seed=seed,
                provenance=prov,
                label=m.finding,
                answer_boxes=nbs,
            )
        )
        if view != "frontal":
            continue
        steps = [
            CotStep(CotStepKind.LOCATE.value, _STEP_LOCATE.format(**slots), list(nbs)),
            CotStep(CotStepKind.CONCLUDE.value, _STEP_CONCLUDE.format(**slots), list(nbs)),
        ]
        out.append(
            make_cot(
                study,
                id_parts=("report", m.finding, m.anatomy),
                bank="report_cot",
                banks=BANKS,
                slots=slots,
                seed=seed,
                provenance=prov,
                steps=steps,
                answer_boxes=nbs,
                curriculum_level="medium",
            )
        )
    return out
