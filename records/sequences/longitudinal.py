"""Non_Registered_Diff records from two real exams of one patient: the prior image, the
current image, and the box of a finding the labels say appeared in between (the pair and
the change come from ``sources.radiograph.longitudinal``, which states the rule). The two
images are separate acquisitions, so they are not registered: the answer box is on the
current (second) image only. No labelled change, no record."""

from __future__ import annotations

from collections.abc import Sequence

from records.sequences.common import image_box, make_sequence
from schemas.boxes import Box, BoxOutsideImage
from schemas.enums import MedSGTask
from schemas.records import Provenance, SequenceRecord, Study
from schemas.vocab import phrase

BANK = "Non_Registered_Diff_longitudinal"
EDGE_TOLERANCE_PX = 0.5  # as for single-image boxes (sources.radiograph.findings)

Xywh = tuple[float, float, float, float]


def change_records(
    prior: Study,
    current: Study,
    changes: Sequence[tuple[str, Sequence[Xywh]]],
    *,
    seed: int,
    provenance: Provenance,
) -> list[SequenceRecord]:
    """One record per changed finding (label, its boxes on the current image in source
    pixels); boxes outside the current image are left out, and a change left with none
    gives no record."""
    out = []
    for label, boxes in changes:
        answer = []
        for x, y, w, h in boxes:
            try:
                box = Box.from_source_xywh(
                    x,
                    y,
                    w,
                    h,
                    current.source_width,
                    current.source_height,
                    tolerance_px=EDGE_TOLERANCE_PX,
                )
            except BoxOutsideImage:
                continue
            answer.append(image_box(1, box, label))
        if not answer:
            continue
        out.append(
            make_sequence(
                MedSGTask.NON_REGISTERED_DIFF,
                [prior, current],
                answer=answer,
                slots={"target": phrase(label)},
                id_parts=("longitudinal", label),
                seed=seed,
                provenance=provenance,
                bank=BANK,
            )
        )
    return out
