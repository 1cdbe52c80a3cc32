"""The processor of CT cases (sources ``ct_projection`` and ``synthetic_ct``): load the CT and its
masks, build the taxonomy's structures, project frontal and lateral radiographs with their
masks, publish both images as Study rows (modality ``DRR``), and build the anatomy Findings,
the report's Findings and the records (``records.ct_anatomy``). A case that cannot be read
(bad geometry, missing slices, mismatched or empty masks, no masks and no weights) ends as
one quarantine row naming the file, and the run goes on."""

from __future__ import annotations

from extractors.ct.anatomy import build_structures
from extractors.ct.projection import VIEWS, project
from extractors.reports import EXTRACTOR as REPORT_EXTRACTOR
from extractors.reports import LEXICON_VERSION, extract_findings
from records.ct_anatomy import (
    CtRecordSource,
    anatomy_findings,
    build_ct_records,
    mention_findings,
)
from records.sequences.ct import ct_sequences
from schemas.boxes import Box
from schemas.enums import Reason
from schemas.records import Study
from sources.base import ItemError, SourceItem
from sources.context import ItemContext, ItemOutput, read_error
from sources.ct.projection import EXTRACTOR_VERSION, CaseSettings, load_case

MODALITY = "DRR"  # digitally reconstructed radiograph


def view_study_key(item_id: str, view: str) -> str:
    """The source key of a view's study: the frontal view keeps the case id, the lateral one
    is suffixed."""
    return item_id if view == "frontal" else f"{item_id}#{view}"


def process_ct(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    study_ids = {v: ctx.ids.study(item.dataset, view_study_key(item.item_id, v)) for v in VIEWS}
    try:
        ct, masks, report = load_case(item)
        settings: CaseSettings = item.settings
        structures = build_structures(masks, ct.spacing)
        projection = project(ct, structures, settings.projection())
        if not any(projection.masks[v] for v in VIEWS):
            raise ItemError(
                Reason.MASK_EMPTY, "no structure of the taxonomy projects onto the views"
            )
    except ItemError as exc:
        return ItemOutput(quarantine=[read_error(item, study_ids["frontal"], exc)])

    studies: dict[str, Study] = {}
    boxes: dict[str, dict[str, Box]] = {}
    for view in VIEWS:
        img = projection.views[view]
        studies[view], _ = ctx.publish_study(
            item,
            study_ids[view],
            img.pixels,
            view=view,
            modality=MODALITY,
            source_size=(img.width, img.height),
        )
        boxes[view] = {
            sid: Box.from_pixels(*m.box, img.width, img.height).checked()
            for sid, m in projection.masks[view].items()
        }
    src = CtRecordSource(item.extractor, EXTRACTOR_VERSION, REPORT_EXTRACTOR, LEXICON_VERSION)
    mentions = extract_findings(report) if report else []
    findings = []
    for view in VIEWS:
        findings += anatomy_findings(studies[view], boxes[view], src)
        findings += mention_findings(studies[view], boxes[view], mentions, src)
    records = build_ct_records(
        studies,
        boxes,
        mentions,
        seed=ctx.records_seed,
        anatomy_mode=settings.anatomy_records,
        src=src,
    )
    published = list(studies.values())
    if ctx.sequences:

        def publish(key: str, pixels, view: str) -> Study:
            derived = ctx.derived_study(item, key, pixels, view, "CT")
            published.append(derived)
            return derived

        records += ct_sequences(ct, structures, projection, studies, publish, seed=ctx.records_seed)
    return ItemOutput(published, findings, records, [])
