"""What every sequence builder shares: the wording banks, ordinal words, and one function
that turns a task, its images and its boxes into a SequenceRecord with a stable id (the
recipe: ``records.factory.sequence_record_id``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import resources

import numpy as np
import yaml

from records.factory import sequence_record_id
from records.templates import Template, pick
from schemas.boxes import Box
from schemas.enums import MedSGTask
from schemas.records import ImageBox, ImageRef, Provenance, SequenceRecord, Study
from schemas.vocab import is_anatomy

# publish(key, pixels, view) -> Study: writes a derived image of the current item
Publisher = Callable[[str, np.ndarray, str], Study]

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")

BANKS: dict[str, tuple[Template, ...]] = {
    task: tuple(Template(t["id"], t["question"], t["answer"]) for t in templates)
    for task, templates in yaml.safe_load(
        resources.files("records.sequences").joinpath("wording.yaml").read_text()
    ).items()
}


def kind_word(label: str) -> str:
    """The ``{kind}`` slot of a canonical label: an ``anatomy:`` label is a structure, any
    other a finding."""
    return "structure" if is_anatomy(label) else "finding"


def image_box(index: int, box: Box, label: str = "") -> ImageBox:
    return ImageBox(index, box.x1, box.y1, box.x2, box.y2, label)


def pixel_box(box: tuple[int, int, int, int], width: int, height: int) -> Box:
    return Box.from_pixels(*box, width, height)


def make_sequence(
    task: MedSGTask,
    studies: Sequence[Study],
    *,
    answer: Sequence[ImageBox],
    question: Sequence[ImageBox] = (),
    slots: dict[str, str] | None = None,
    id_parts: tuple = (),
    seed: int,
    provenance: Provenance,
    bank: str | None = None,
) -> SequenceRecord:
    """A sequence record: wording from the task's bank (or ``bank``, a variant of the task
    in wording.yaml), boxes rendered as record text."""
    record_id = sequence_record_id(task, (s.study_id for s in studies), *id_parts)
    template = pick(bank or task.value, seed, record_id, BANKS)
    text = {
        **(slots or {}),
        "answer": " and ".join(b.box.to_text() for b in answer),
        "qbox": " and ".join(b.box.to_text() for b in question),
    }
    if answer:
        text.setdefault("ordinal", ORDINALS[answer[0].image_index])
    q, a = template.fill(**text)
    patients = list(dict.fromkeys(s.patient_id for s in studies))
    return SequenceRecord(
        record_id=record_id,
        task=task.value,
        patient_ids=patients,
        images=[ImageRef.of(s) for s in studies],
        question=q,
        answer=a,
        question_boxes=list(question),
        answer_boxes=list(answer),
        template_id=template.id,
        split=studies[0].split,
        provenance=provenance,
    )
