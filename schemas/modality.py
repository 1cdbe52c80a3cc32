"""Imaging modalities: the code a Study carries (DICOM's modality codes where DICOM has one),
the words a config may use for it, how records name its images, and whether its published
images keep their colour.

The colour policy lives here and nowhere else: endoscopy, dermoscopy, fundus photography,
ultrasound and microscopy images are published as RGB PNGs (their colour is information:
a polyp's redness, a naevus's pigment network, Doppler flow); radiographs, CT, MRI and PET
are published as 8-bit grayscale, whatever colour space their file uses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModalityTerm:
    code: str  # what Study.modality and ImageRef.modality hold
    noun: str  # how a question names one image ("this {noun}")
    colour: bool  # published as RGB (True) or 8-bit grayscale (False)
    aliases: tuple[str, ...] = ()  # other spellings a config may use (lower case)


MODALITIES: dict[str, ModalityTerm] = {
    t.code: t
    for t in (
        ModalityTerm("XR", "chest X-ray", False, ("xray", "x-ray", "cr", "dx", "radiograph")),
        ModalityTerm("CT", "CT image", False, ("ct",)),
        ModalityTerm("MR", "MR image", False, ("mr", "mri")),
        ModalityTerm("PT", "PET image", False, ("pt", "pet")),
        ModalityTerm("DRR", "radiograph projection", False, ("drr",)),
        ModalityTerm("US", "ultrasound image", True, ("us", "ultrasound")),
        ModalityTerm("ES", "endoscopy image", True, ("es", "endoscopy", "colonoscopy")),
        ModalityTerm("DMS", "dermoscopy image", True, ("dms", "dermoscopy", "dermatoscopy")),
        ModalityTerm("OP", "fundus photograph", True, ("op", "fundus", "ophthalmic")),
        ModalityTerm("SM", "microscopy image", True, ("sm", "microscopy", "histopathology")),
    )
}

_BY_ALIAS: dict[str, str] = {
    alias: t.code for t in MODALITIES.values() for alias in (t.code.lower(), *t.aliases)
}


def modality_code(name: str) -> str:
    """The modality code of a config word (``endoscopy`` -> ``ES``, ``xray`` -> ``XR``); a
    word that names no known modality is kept, upper-cased (its images stay grayscale)."""
    key = name.strip().lower()
    return _BY_ALIAS.get(key, key.upper())


def keeps_colour(modality: str) -> bool:
    """Whether images of this modality (code or config word) are published in colour."""
    term = MODALITIES.get(modality_code(modality))
    return bool(term and term.colour)


def image_noun(modality: str) -> str:
    """How records name one image of this modality ("image" when unknown)."""
    term = MODALITIES.get(modality_code(modality))
    return term.noun if term else "image"
