"""Label rows of a decoded item become Findings on its published image: source pixel boxes
are checked against the source image and normalized (``schemas.boxes``)."""

from __future__ import annotations

from schemas.boxes import Box
from schemas.enums import Reason, Stage
from schemas.identity import stable_id
from schemas.records import Finding, NamedBox, QuarantineRow, Study
from sources.base import LabelRow, SourceItem, quarantine_row

# Source boxes may overhang the image edge by rounding; up to half a pixel is clipped,
# anything beyond is a box outside the image.
EDGE_TOLERANCE_PX = 0.5


def source_box(row: LabelRow, width: int, height: int) -> Box | str:
    """The row's box normalized to a width x height source image, or why it cannot be."""
    assert row.box_xywh is not None
    x, y, w, h = row.box_xywh
    x1, y1, x2, y2 = x, y, x + w, y + h
    tol = EDGE_TOLERANCE_PX
    if x1 < -tol or y1 < -tol or x2 > width + tol or y2 > height + tol:
        return (
            f"box x={x:g} y={y:g} w={w:g} h={h:g} (to x={x2:g}, y={y2:g}) lies outside the "
            f"{width}x{height} image"
        )
    return Box.from_pixels(
        max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2), width, height
    )


def findings_of(item: SourceItem, study: Study) -> tuple[list[Finding], list[QuarantineRow]]:
    """Findings for every usable label row of an item; quarantine rows for the others."""
    findings: list[Finding] = []
    rejected: list[QuarantineRow] = []
    for row in item.rows:
        box = None
        if row.box_xywh is not None:
            checked = source_box(row, study.source_width, study.source_height)
            if isinstance(checked, str):
                rejected.append(
                    quarantine_row(
                        item.dataset,
                        Reason.BOX_OUT_OF_BOUNDS,
                        checked,
                        item.labels_file,
                        row.row_number,
                        stage=Stage.FINDINGS,
                        item_id=study.study_id,
                    )
                )
                continue
            box = NamedBox.of(checked, row.label)
        findings.append(
            Finding(
                finding_id=stable_id(
                    "finding", study.study_id, row.label, row.present, row.box_xywh
                ),
                study_id=study.study_id,
                patient_id=study.patient_id,
                label=row.label,
                present=row.present,
                box=box,
                source_row=row.row_number,
                extractor=item.extractor,
                extractor_version=item.extractor_version,
                confidence=1.0,
            )
        )
    return findings, rejected
