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
