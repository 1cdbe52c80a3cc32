"""Crossmodal sequence records from PET/CT exams: a lesion boxed on the axial CT slice,
found on the same slice of PET (and the other way round). CT and PET share one grid, so
the lesion's box is the same on both images: the box of its mask on that slice."""

from __future__ import annotations

from records.sequences.common import image_box, make_sequence
from schemas.boxes import Box
from schemas.enums import MedSGTask
from schemas.records import Provenance, SequenceRecord, Study

MODS = {"CT": "axial CT slice", "PT": "axial PET slice"}


def pet_crossmodal(
    ct: Study, pet: Study, lesion: Box, label: str, *, key: str, seed: int, provenance: Provenance
) -> list[SequenceRecord]:
    """CT -> PET and PET -> CT for one lesion on one slice."""
    records = []
    for first, second in ((ct, pet), (pet, ct)):
        records.append(
            make_sequence(
                MedSGTask.CROSSMODAL,
                [first, second],
                question=[image_box(0, lesion, label)],
                answer=[image_box(1, lesion, label)],
                slots={
                    "target": "FDG-avid lesion",
                    "kind": "finding",
                    "mod0": MODS[first.modality],
                    "mod1": MODS[second.modality],
                },
                id_parts=(key,),
                seed=seed,
                provenance=provenance,
            )
        )
    return records
