"""Seeded template banks: the wording of questions and answers. The record id never depends
on the wording; the seed and the record id pick a template, so the same seed gives the same
text and another seed rewords the dataset without changing what it contains."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    id: str
    question: str
    answer: str

    def fill(self, **slots: str) -> tuple[str, str]:
        return self.question.format(**slots), self.answer.format(**slots)


BANKS: dict[str, tuple[Template, ...]] = {
    "phrase_grounding": (
        Template("pg-1", "Where is the {finding} in this {image}?", "The {finding} is at {boxes}."),
        Template("pg-2", "Locate the {finding} in the {image}.", "{boxes}"),
        Template(
            "pg-3",
            "Draw a bounding box around the {finding} in this {image}.",
            "{Finding}: {boxes}.",
        ),
        Template("pg-4", "Which region of the {image} shows {finding}?", "The region {boxes}."),
        Template("pg-5", "Find the {finding} and give its bounding box.", "{boxes}"),
    ),
    "referring": (
        Template("rf-1", "What is in the region {box} of this {image}?", "{Finding}."),
        Template("rf-2", "What finding does the box {box} mark?", "It marks {finding}."),
        Template("rf-3", "Name the finding inside {box}.", "{Finding}."),
        Template(
            "rf-4", "Describe the abnormality in the area {box} of the {image}.", "{Finding}."
        ),
    ),
    "presence_yes": (
        Template("py-1", "Is there {finding} in this {image}?", "Yes, {finding} at {boxes}."),
        Template("py-2", "Does this {image} show {finding}?", "Yes. {Finding}: {boxes}."),
        Template("py-3", "Is {finding} present?", "Yes, at {boxes}."),
    ),
    "presence_no": (
        Template("pn-1", "Is there {finding} in this {image}?", "No."),
        Template("pn-2", "Does this {image} show {finding}?", "No, there is no {finding}."),
        Template("pn-3", "Is {finding} present?", "No."),
    ),
    "counting": (
        Template(
            "ct-1", "How many {finding} regions are there in this {image}?", "{count}: {boxes}."
        ),
        Template("ct-2", "Count the {finding} regions and mark each one.", "{count}. {boxes}"),
        Template(
            "ct-3", "How many areas of {finding} does this {image} show?", "{count}, at {boxes}."
        ),
    ),
    "counting_none": (
        Template("cn-1", "How many {finding} regions are there in this {image}?", "None."),
        Template("cn-2", "Count the {finding} regions and mark each one.", "There are none."),
    ),
    # A finding the source words itself (Finding.phrase: an MS-CXR radiologist phrase, a
    # PadChest-GR report sentence), quoted verbatim; one bank per language of the phrase
    # ("<bank>_<language>", English without a suffix).
    "sentence_grounding": (
        Template("sg-1", 'Where on this {image} is "{phrase}"?', "{boxes}"),
        Template(
            "sg-2", 'Locate the finding the report describes as "{phrase}".', "It is at {boxes}."
        ),
        Template("sg-3", 'Draw a box around "{phrase}" on this {image}.', "{boxes}"),
    ),
    "sentence_grounding_es": (
        Template("sg-es-1", '¿Dónde se ve en esta {image} "{phrase}"?', "{boxes}"),
        Template(
            "sg-es-2", 'Localiza el hallazgo que el informe describe como "{phrase}".', "{boxes}"
        ),
    ),
    "sentence_absent": (
        Template(
            "sa-1",
            'The report says: "{phrase}" Is there a finding to mark for it on this {image}?',
            "No.",
        ),
        Template("sa-2", 'Does this {image} show a lesion for "{phrase}"?', "No, nothing to mark."),
    ),
    "sentence_absent_es": (
        Template(
            "sa-es-1",
            'El informe dice: "{phrase}" ¿Hay algún hallazgo que marcar en esta {image}?',
            "No.",
        ),
    ),
    # A structure (an ``anatomy:`` label) is named as one, not as an abnormality.
    "referring_anatomy": (
        Template(
            "ra-1", "What structure is in the region {box} of this {image}?", "The {finding}."
        ),
        Template("ra-2", "Which anatomical structure does the box {box} mark?", "The {finding}."),
        Template("ra-3", "Name the structure inside {box}.", "{Finding}."),
    ),
    "presence_yes_anatomy": (
        Template(
            "pa-1", "Is the {finding} visible in this {image}?", "Yes, the {finding} is at {boxes}."
        ),
        Template("pa-2", "Does this {image} show the {finding}?", "Yes. {Finding}: {boxes}."),
    ),
    "presence_no_anatomy": (
        Template("na-1", "Is the {finding} visible in this {image}?", "No."),
        Template(
            "na-2", "Does this {image} show the {finding}?", "No, the {finding} is not in view."
        ),
    ),
    "multi_grounding": (
        Template("mg-1", "Locate each of these findings: {findings}.", "{listing}"),
        Template("mg-2", "Give the bounding boxes of the {findings} in this {image}.", "{listing}"),
        Template("mg-3", "Mark every region of {findings} in the {image}.", "{listing}"),
    ),
}


def pick(
    bank: str, seed: int, record_id: str, banks: dict[str, tuple[Template, ...]] = BANKS
) -> Template:
    """The template of ``bank`` (in ``banks``) for this record under this seed."""
    templates = banks[bank]
    digest = hashlib.sha256(f"{seed}/{bank}/{record_id}".encode()).hexdigest()
    return templates[int(digest[:8], 16) % len(templates)]
