"""What each label source is and how well it was measured, for the dataset card. Weak
labellers add their entry with the benchmark that measured them (command and figure)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabelMethod:
    kind: str  # "expert", "weak", "generated"
    what: str
    accuracy: str  # measured figure and how it was measured, or why none applies


LABEL_METHODS: dict[str, LabelMethod] = {
    "sources.nih_cxr14": LabelMethod(
        "expert",
        "NIH ChestX-ray14 bounding boxes drawn by radiologists (BBox_List_2017.csv)",
        "reference labels (not re-measured); boxes reproduced within 1 px of the CSV (tests)",
    ),
    "sources.rsna_pneumonia": LabelMethod(
        "expert",
        "RSNA Pneumonia Detection Challenge boxes and negatives by radiologists",
        "reference labels (not re-measured); boxes reproduced within 1 px of the CSV (tests)",
    ),
    "sources.synthetic_ct": LabelMethod(
        "generated",
        "organ masks of generated chest CT phantoms, projected with the CT",
        "exact by construction",
    ),
    "extractors.ct": LabelMethod(
        "weak",
        "TotalSegmentator organ masks (shipped with the CT or computed) projected with the CT "
        "to frontal and lateral radiographs (PAXRay); boxes of the projected masks",
        "geometry checked by tests (anatomical order of projected boxes, identical under any "
        "stored orientation); mask quality is TotalSegmentator's own",
    ),
    "extractors.reports": LabelMethod(
        "weak",
        "report findings by spaCy rules with negation and uncertainty (negspacy), grounded "
        "through the anatomy they name",
        "800 IU X-ray reports against their MeSH coding (`medsg bench reports`): 13 of 289 "
        "normal reports (4.5%) give a positive finding, 19 (6.6%) counting mild degenerative "
        "change; the side is found for 524 of 549 sided MeSH terms (95.4%)",
    ),
    "records.sequences": LabelMethod(
        "generated",
        "MedSG sequence records made from the source's labels with known edits, affine "
        "transforms, crops, CT slices and projections",
        "exact by construction (a geometric test per task)",
    ),
    "records.cot": LabelMethod(
        "generated",
        "chains of thought built from the source's boxes; the host organ is the organ mask "
        "that overlaps the lesion most (MedCLM)",
        "exact given the source's boxes and masks",
    ),
    "sources.synthetic_cxr": LabelMethod(
        "generated",
        "lesions drawn into generated radiographs; the box is the drawn lesion's extent",
        "exact by construction",
    ),
}


def method_of(extractor: str) -> LabelMethod:
    return LABEL_METHODS.get(
        extractor,
        LabelMethod("unknown", f"{extractor} (not in shards.label_methods)", "not measured"),
    )
