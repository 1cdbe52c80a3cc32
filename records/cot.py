"""Chains of thought with evidence boxes, MedCLM-style: a lesion's host organ is the organ
mask it overlaps most; the chain locates the organ, inspects the lesion inside it, measures
it, and concludes. Every step that names a region carries its box. Three curriculum levels
per lesion: easy (the boxes are given in the question), medium (boxes only in the steps),
hard (the final answer only)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from records.factory import make_cot
from records.templates import Template
from schemas.boxes import Box
from schemas.enums import CotStepKind
from schemas.modality import image_noun
from schemas.records import CotRecord, CotStep, Finding, NamedBox, Provenance, Study
from schemas.vocab import phrase

LEVELS = ("easy", "medium", "hard")
EXTRACTOR = "records.cot"
VERSION = "1"

BANKS: dict[str, tuple[Template, ...]] = {
    "cot_easy": (
        Template(
            "ce-1",
            "The {organ} is at {organ_box} and a {finding} at {lesion_box}. Which organ holds "
            "the {finding}? Reason step by step.",
            "The {finding} at {lesion_box} lies in the {organ}.",
        ),
        Template(
            "ce-2",
            "Given the {organ} ({organ_box}) and the {finding} ({lesion_box}) on this "
            "{image}, describe where the {finding} is, step by step.",
            "{Finding} in the {organ}: {lesion_box}.",
        ),
    ),
    "cot_medium": (
        Template(
            "cm-1",
            "Where is the {finding} on this {image}, and in which organ? Reason step by step.",
            "The {finding} lies in the {organ}, at {lesion_box}.",
        ),
        Template(
            "cm-2",
            "Find the {finding} on this {image}. Locate its organ first, then the lesion.",
            "{Finding} in the {organ}: {lesion_box}.",
        ),
    ),
    "cot_hard": (
        Template(
            "ch-1",
            "Is there a {finding} on this {image}? If so, where?",
            "Yes, in the {organ}, at {lesion_box}.",
        ),
        Template(
            "ch-2",
            "Locate the {finding} on this {image}.",
            "{Finding} in the {organ}: {lesion_box}.",
        ),
    ),
}


@dataclass(frozen=True)
class Organ:
    """An organ on the published image: its name, pixel mask and canonical box."""

    id: str
    name: str
    mask: np.ndarray  # bool (height, width) on the published image

    @functools.cached_property
    def box(self) -> Box:  # read for every step and level: computed once
        rows = np.flatnonzero(self.mask.any(axis=1))
        cols = np.flatnonzero(self.mask.any(axis=0))
        h, w = self.mask.shape
        return Box.from_pixels(cols[0], rows[0], cols[-1] + 1, rows[-1] + 1, w, h)


def on_grid(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A boolean mask resampled (nearest pixel centre) onto a grid of ``shape``."""
    if mask.shape == shape:
        return mask
    h, w = mask.shape
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * h / shape[0]).astype(int), h - 1)
    cols = np.minimum(((np.arange(shape[1]) + 0.5) * w / shape[1]).astype(int), w - 1)
    return mask[np.ix_(rows, cols)]


def host_organ(
    lesion: Box, organs: Sequence[Organ], lesion_mask: np.ndarray | None = None
) -> Organ | None:
    """The organ whose mask covers most of the lesion (MedCLM): of its box, or of its own
    mask when the source drew one (``lesion_mask``, any grid of the image); None when none
    does. Ties go to the organ listed first."""
    best, best_overlap = None, 0
    for organ in organs:
        h, w = organ.mask.shape
        if lesion_mask is not None:
            overlap = int((organ.mask & on_grid(lesion_mask, (h, w))).sum())
        else:
            x1, y1, x2, y2 = lesion.to_int_pixels(w, h)
            overlap = int(organ.mask[y1:y2, x1:x2].sum())
        if overlap > best_overlap:
            best, best_overlap = organ, overlap
    return best


def _steps(level: str, finding: str, organ: Organ, lesion: Box, study: Study) -> list[CotStep]:
    o, les = NamedBox.of(organ.box, organ.id), NamedBox.of(lesion, finding)
    if level == "hard":
        text = f"The {phrase(finding)} is at {lesion.to_text()}."
        return [CotStep(CotStepKind.CONCLUDE.value, text, [les])]
    share = 100 * (lesion.x2 - lesion.x1) / max(organ.box.x2 - organ.box.x1, 1e-9)
    w_px, h_px = lesion.size_pixels(study.width, study.height)
    return [
        CotStep(CotStepKind.LOCATE.value, f"First, the {organ.name}: {organ.box.to_text()}.", [o]),
        CotStep(
            CotStepKind.INSPECT.value,
            f"Inside the {organ.name}, {phrase(finding)} stands out at {lesion.to_text()}.",
            [les],
        ),
        CotStep(
            CotStepKind.MEASURE.value,
            f"The {phrase(finding)} at {lesion.to_text()} spans about {w_px:.0f} x "
            f"{h_px:.0f} pixels, {share:.0f}% of the {organ.name}'s width.",
            [les],
        ),
        CotStep(
            CotStepKind.CONCLUDE.value,
            f"So the {phrase(finding)} lies in the {organ.name}, at {lesion.to_text()}.",
            [les],
        ),
    ]


def lesion_cot_records(
    study: Study,
    findings: Sequence[Finding],
    organs: Sequence[Organ],
    *,
    seed: int,
    provenance: Provenance,
    lesion_masks: Mapping[str, np.ndarray] | None = None,
) -> list[CotRecord]:
    """Three curriculum levels for every boxed finding that lies in one of the organs;
    ``lesion_masks`` (finding id -> the source's own mask of it) decide the host organ
    where given."""
    records = []
    masks = lesion_masks or {}
    for f in sorted((f for f in findings if f.present and f.box), key=lambda f: f.finding_id):
        lesion = f.box.box  # type: ignore[union-attr]
        organ = host_organ(lesion, organs, masks.get(f.finding_id))
        if organ is None:
            continue
        words = phrase(f.label)
        slots = {
            "finding": words,
            "Finding": words[:1].upper() + words[1:],
            "organ": organ.name,
            "organ_box": organ.box.to_text(),
            "lesion_box": lesion.to_text(),
            "image": image_noun(study.modality),
        }
        for level in LEVELS:
            les = NamedBox.of(lesion, f.label)
            records.append(
                make_cot(
                    study,
                    id_parts=(f.finding_id, level),
                    bank=f"cot_{level}",
                    banks=BANKS,
                    slots=slots,
                    seed=seed,
                    provenance=provenance,
                    question_boxes=[NamedBox.of(organ.box, organ.id), les]
                    if level == "easy"
                    else [],
                    steps=_steps(level, f.label, organ, lesion, study),
                    answer_boxes=[les],
                    curriculum_level=level,
                )
            )
    return records


def organs_from_labels(labels: np.ndarray, names: Mapping[int, tuple[str, str]]) -> list[Organ]:
    """Organs of a label image: ``names`` maps a label value to (id, words)."""
    masks = ((oid, words, labels == value) for value, (oid, words) in sorted(names.items()))
    return [Organ(oid, words, mask) for oid, words, mask in masks if mask.any()]
