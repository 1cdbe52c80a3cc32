"""Label rows of a decoded item become Findings on its published image: source pixel boxes
are checked against the source image and normalized (``schemas.boxes``)."""

from __future__ import annotations

from schemas.boxes import Box, BoxOutsideImage
from schemas.enums import Reason, Stage
from schemas.identity import stable_id
from schemas.records import Finding, NamedBox, QuarantineRow, Study
from sources.base import LabelRow, SourceItem, quarantine_row

# Source boxes may overhang the image edge by rounding; up to half a pixel is clipped,
# anything beyond is a box outside the image.
EDGE_TOLERANCE_PX = 0.5
# Boxes narrower or lower than this many source pixels mark nothing visible: set aside.
MIN_BOX_PX = 1.0


def source_box(row: LabelRow, width: int, height: int) -> Box | str:
    """The row's box normalized to a width x height source image, or why it cannot be."""
    assert row.box_xywh is not None
    try:
        return Box.from_source_xywh(*row.box_xywh, width, height, tolerance_px=EDGE_TOLERANCE_PX)
    except BoxOutsideImage as exc:
        return str(exc)


def finding_id(study_id: str, row: LabelRow) -> str:
    """The id of the Finding a label row gives on a study. A phrase (and its language) is
    part of what the finding is; rows without one keep the ids they always had."""
    said = (row.phrase, row.language) if row.phrase is not None else ()
    return stable_id("finding", study_id, row.label, row.present, row.box_xywh, *said)


def findings_of(item: SourceItem, study: Study) -> tuple[list[Finding], list[QuarantineRow]]:
    """Findings for every usable label row of an item; quarantine rows for the others."""
    findings: list[Finding] = []
    rejected: list[QuarantineRow] = []
    for row in item.rows:
        box = None
        if row.box_xywh is not None and min(row.box_xywh[2:]) < MIN_BOX_PX:
            rejected.append(
                quarantine_row(
                    item.dataset,
                    Reason.BOX_TOO_SMALL,
                    f"box {row.box_xywh[2]:g} x {row.box_xywh[3]:g} source pixels, under the "
                    f"minimum of {MIN_BOX_PX:g} px a side",
                    item.labels_file,
                    row.row_number,
                    stage=Stage.FINDINGS,
                    item_id=study.study_id,
                )
            )
            continue
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
                finding_id=finding_id(study.study_id, row),
                study_id=study.study_id,
                patient_id=study.patient_id,
                label=row.label,
                present=row.present,
                box=box,
                source_row=row.row_number,
                extractor=item.extractor,
                extractor_version=item.extractor_version,
                confidence=1.0,
                phrase=row.phrase,
                language=row.language,
            )
        )
    return findings, rejected
