"""The one registry of dataset kinds: each Source declares its settings, planning,
processing, layout and licences (``sources.base.Source``); nothing else dispatches on kinds.
Adding a dataset is one module that declares a ``SOURCE`` and one line here."""

from __future__ import annotations

from shards.licences import GENERIC_LICENCES, Licence
from sources.base import Source
from sources.ct import CT_PROJECTION, SYNTHETIC_CT
from sources.pet import exam as pet_exam
from sources.pet import synthetic as synthetic_pet
from sources.radiograph import chestx_det, nih_cxr14, rsna_pneumonia, synthetic_cxr

SOURCES: tuple[Source, ...] = (
    nih_cxr14.SOURCE,
    rsna_pneumonia.SOURCE,
    synthetic_cxr.SOURCE,
    CT_PROJECTION,
    SYNTHETIC_CT,
    pet_exam.SOURCE,
    synthetic_pet.SOURCE,
    chestx_det.SOURCE,
)

BY_KIND: dict[str, Source] = {kind: s for s in SOURCES for kind in s.kinds}


def source_for(kind: str) -> Source:
    """The Source of a kind; an unknown kind names the registered ones."""
    try:
        return BY_KIND[kind]
    except KeyError:
        raise KeyError(f"unknown source kind {kind!r}; registered: {sorted(BY_KIND)}") from None


def licences() -> dict[str, Licence]:
    """Every declared licence by id: the sources' own and the generic ones."""
    known = {lic.id: lic for lic in GENERIC_LICENCES}
    for source in SOURCES:
        known.update((lic.id, lic) for lic in source.licences)
    return known
