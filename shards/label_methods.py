"""What each label source is and how well it was measured, for the dataset card. Each Source
declares its own dataset's methods (``sources.base.Source.label_methods``); the methods of
shared extractors and record builders are here, with the benchmark that measured them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class LabelMethod:
    extractor: str  # the provenance extractor id it describes
    kind: str  # "expert", "weak", "generated"
    what: str
    accuracy: str  # measured figure and how it was measured, or why none applies


GENERIC_METHODS: tuple[LabelMethod, ...] = (
    LabelMethod(
        "extractors.ct",
        "weak",
        "TotalSegmentator organ masks (shipped with the CT or computed) projected with the CT "
        "to frontal and lateral radiographs (PAXRay); boxes of the projected masks",
        "geometry checked by tests (anatomical order of projected boxes, identical under any "
        "stored orientation); mask quality is TotalSegmentator's own",
    ),
    LabelMethod(
        "extractors.reports",
        "weak",
        "report findings by spaCy rules with negation and uncertainty (negspacy), grounded "
        "through the anatomy they name",
        "800 IU X-ray reports against their MeSH coding (`medsg bench reports`): 13 of 289 "
        "normal reports (4.5%) give a positive finding, 19 (6.6%) counting mild degenerative "
        "change; the side is found for 524 of 549 sided MeSH terms (95.4%)",
    ),
    LabelMethod(
        "records.sequences",
        "generated",
        "MedSG sequence records made from the source's labels with known edits, affine "
        "transforms, crops, CT slices and projections",
        "exact by construction (a geometric test per task)",
    ),
    LabelMethod(
        "records.cot",
        "generated",
        "chains of thought built from the source's boxes; the host organ is the organ mask "
        "that overlaps the lesion most (MedCLM)",
        "exact given the source's boxes and masks",
    ),
)


def method_of(extractor: str, known: Mapping[str, LabelMethod]) -> LabelMethod:
    return known.get(
        extractor,
        LabelMethod(
            extractor, "unknown", f"{extractor} (not in shards.label_methods)", "not measured"
        ),
    )
