"""The one registry of dataset kinds: each Source declares its settings, planning,
processing, layout and licences (``sources.base.Source``); nothing else dispatches on kinds.
Adding a dataset is one module that declares a ``SOURCE`` and one line here."""

from __future__ import annotations

import importlib

from shards.label_methods import GENERIC_METHODS, LabelMethod
from shards.licences import GENERIC_LICENCES, Licence
from sources.base import Source

# One line per dataset kind: "<module>:<its Source>" (the module declares settings, plan,
# process, layout, licences and label methods).
REGISTERED: tuple[str, ...] = (
    "sources.radiograph.nih_cxr14:SOURCE",
    "sources.radiograph.rsna_pneumonia:SOURCE",
    "sources.radiograph.synthetic_cxr:SOURCE",
    "sources.radiograph.chestx_det:SOURCE",
    "sources.radiograph.chest_imagenome:SOURCE",
    "sources.radiograph.openi:SOURCE",
    "sources.radiograph.mimic_cxr:SOURCE",
    "sources.radiograph.nih_longitudinal:SOURCE",
    "sources.radiograph.imagenome_longitudinal:SOURCE",
    "sources.radiograph.vindr_cxr:SOURCE",
    "sources.radiograph.siim_pneumothorax:SOURCE",
    "sources.radiograph.chexlocalize:SOURCE",
    "sources.radiograph.ms_cxr:SOURCE",
    "sources.radiograph.padchest_gr:SOURCE",
    "sources.ct:CT_PROJECTION",
    "sources.ct:SYNTHETIC_CT",
    "sources.pet.exam:SOURCE",
    "sources.pet.synthetic:SOURCE",
    "sources.volume:NNUNET",
    "sources.volume:VOLUME_MASKS",
    "sources.volume:DICOM_SEG",
    "sources.segmentation.image_masks:SOURCE",
    "sources.segmentation.coco:SOURCE",
)


def _load(entry: str) -> Source:
    module, name = entry.split(":")
    source = getattr(importlib.import_module(module), name)
    if not isinstance(source, Source):
        raise TypeError(f"sources.registry: {entry} is not a sources.base.Source")
    return source


SOURCES: tuple[Source, ...] = tuple(_load(entry) for entry in REGISTERED)

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


def label_methods() -> dict[str, LabelMethod]:
    """Every declared label method by extractor id: the sources' own and the shared ones."""
    known = {m.extractor: m for m in GENERIC_METHODS}
    for source in SOURCES:
        known.update((m.extractor, m) for m in source.label_methods)
    return known
