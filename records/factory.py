"""The record factories: one constructor per single-image record family (grounding, chain of
thought) and the record-id recipe of every family. Sequence records are made by
``records.sequences.common.make_sequence``, with the sequence id recipe from here.

Record ids are stable hashes (``schemas.identity.stable_id``) of what a record is made from,
never of its wording: the wording is picked from a seeded bank by the id
(``records.templates.pick``), so another seed rewords a release without changing its ids.

- grounding: ``rec`` + the study id, the task, then the builder's id parts;
- chain of thought: ``rec`` + the study id, ``"cot"``, then the id parts;
- sequence: ``rec`` + the task, every image's study id in order, then the id parts.

A record set aside later (validation, duplicate images, review) becomes a quarantine row
through ``schemas.records.record_quarantine_row`` (in ``schemas`` because validation, the
bottom layer, uses it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from records.templates import BANKS, Template, pick
from schemas.enums import GroundingTask, MedSGTask
from schemas.identity import stable_id
from schemas.records import (
    CotRecord,
    CotStep,
    GroundingRecord,
    ImageRef,
    NamedBox,
    Provenance,
    Study,
)

RECORD_ID_PREFIX = "rec"
COT_ID_TAG = "cot"

Banks = dict[str, tuple[Template, ...]]


def grounding_record_id(study_id: str, task: GroundingTask, *parts: object) -> str:
    """Id of a grounding record on ``study_id`` for ``task`` made from ``parts``."""
    return stable_id(RECORD_ID_PREFIX, study_id, task.value, *parts)


def cot_record_id(study_id: str, *parts: object) -> str:
    """Id of a chain-of-thought record on ``study_id`` made from ``parts``."""
    return stable_id(RECORD_ID_PREFIX, study_id, COT_ID_TAG, *parts)


def sequence_record_id(task: MedSGTask, study_ids: Iterable[str], *parts: object) -> str:
    """Id of a sequence record for ``task`` over the images ``study_ids`` (in order)."""
    return stable_id(RECORD_ID_PREFIX, task.value, *study_ids, *parts)


def make_grounding(
    study: Study,
    task: GroundingTask,
    *,
    id_parts: tuple,
    bank: str,
    slots: Mapping[str, str],
    seed: int,
    provenance: Provenance,
    label: str | None,
    question_boxes: Sequence[NamedBox] = (),
    answer_boxes: Sequence[NamedBox] = (),
    banks: Banks = BANKS,
) -> GroundingRecord:
    """A grounding record on ``study``: id from ``task`` and ``id_parts``, wording from
    ``bank`` (in ``banks``) filled with ``slots``."""
    record_id = grounding_record_id(study.study_id, task, *id_parts)
    template = pick(bank, seed, record_id, banks)
    question, answer = template.fill(**slots)
    return GroundingRecord(
        record_id=record_id,
        task=task.value,
        patient_id=study.patient_id,
        image=ImageRef.of(study),
        question=question,
        answer=answer,
        question_boxes=list(question_boxes),
        answer_boxes=list(answer_boxes),
        label=label,
        template_id=template.id,
        split=study.split,
        provenance=provenance,
    )


def make_cot(
    study: Study,
    *,
    id_parts: tuple,
    bank: str,
    slots: Mapping[str, str],
    seed: int,
    provenance: Provenance,
    steps: Sequence[CotStep],
    curriculum_level: str,
    answer_boxes: Sequence[NamedBox],
    question_boxes: Sequence[NamedBox] = (),
    task: GroundingTask = GroundingTask.PHRASE_GROUNDING,
    banks: Banks = BANKS,
) -> CotRecord:
    """A chain-of-thought record on ``study``: id from ``id_parts``, wording from ``bank``
    (in ``banks``) filled with ``slots``."""
    record_id = cot_record_id(study.study_id, *id_parts)
    template = pick(bank, seed, record_id, banks)
    question, answer = template.fill(**slots)
    return CotRecord(
        record_id=record_id,
        task=task.value,
        patient_id=study.patient_id,
        image=ImageRef.of(study),
        question=question,
        question_boxes=list(question_boxes),
        steps=list(steps),
        answer=answer,
        answer_boxes=list(answer_boxes),
        curriculum_level=curriculum_level,
        template_id=template.id,
        split=study.split,
        provenance=provenance,
    )
