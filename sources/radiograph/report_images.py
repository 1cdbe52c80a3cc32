"""The processor of a report with its study's frontal image (OpenI, MIMIC-CXR): the report's
finding mentions (``extractors.reports.extract_findings``) become presence and negation
records on the image, and, where a Chest ImaGenome scene graph of that image rides along
(input role ``scene_graph``), present mentions are grounded on the graph's region boxes for
the anatomy they name (``TAXONOMY_REGIONS``). Report sentences reach records only through
``extractors.deid.deidentify`` (``records.cxr_reports``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from extractors.reports import EXTRACTOR as REPORT_EXTRACTOR
from extractors.reports import LEXICON_VERSION, FindingMention, extract_findings
from extractors.reports.evaluate import report_text
from records.cxr_reports import mention_findings, region_findings, report_records
from schemas.boxes import Box
from schemas.enums import Reason, Stage
from schemas.errors import ItemError
from schemas.records import NamedBox, Provenance
from sources.base import SourceItem, quarantine_item
from sources.context import ItemContext, ItemOutput, read_error
from sources.imaging import LOADERS
from sources.radiograph.chest_imagenome import (
    CONFIDENCE_ANATOMY,
    parse_scene_graph,
    read_scene_graph,
    region_boxes,
)

CONFIDENCE_REPORT = 0.7  # a report statement about the whole image (rules, measured on IU)
CONFIDENCE_GROUNDED = 0.5  # a report finding placed on a silver anatomical region

# extractors.ct.taxonomy structure id -> the Chest ImaGenome regions that show it
_SIDED = {
    "lung": ("right lung", "left lung"),
    "apical_zone": ("right apical zone", "left apical zone"),
    "upper_zone": ("right upper lung zone", "left upper lung zone"),
    "mid_zone": ("right mid lung zone", "left mid lung zone"),
    "lung_base": ("right lower lung zone", "left lower lung zone"),
    "hemidiaphragm": ("right hemidiaphragm", "left hemidiaphragm"),
    "clavicle": ("right clavicle", "left clavicle"),
}
TAXONOMY_REGIONS: dict[str, tuple[str, ...]] = {
    "right_lung": ("right lung",),
    "left_lung": ("left lung",),
    "lungs": _SIDED["lung"],
    "right_apical_zone": ("right apical zone",),
    "left_apical_zone": ("left apical zone",),
    "apical_zones": _SIDED["apical_zone"],
    "right_upper_zone": ("right upper lung zone",),
    "left_upper_zone": ("left upper lung zone",),
    "upper_zones": _SIDED["upper_zone"],
    "lung_upper_lobe_right": ("right upper lung zone",),
    "lung_upper_lobe_left": ("left upper lung zone",),
    "upper_lobes": _SIDED["upper_zone"],
    "right_mid_zone": ("right mid lung zone",),
    "left_mid_zone": ("left mid lung zone",),
    "mid_zones": _SIDED["mid_zone"],
    "lung_middle_lobe_right": ("right mid lung zone",),
    "right_lung_base": ("right lower lung zone",),
    "left_lung_base": ("left lower lung zone",),
    "lung_bases": _SIDED["lung_base"],
    "lung_lower_lobe_right": ("right lower lung zone",),
    "lung_lower_lobe_left": ("left lower lung zone",),
    "lower_lobes": _SIDED["lung_base"],
    "heart": ("cardiac silhouette",),
    "mediastinum": ("mediastinum",),
    "upper_mediastinum": ("upper mediastinum",),
    "aortic_arch": ("aortic arch",),
    "descending_aorta": ("descending aorta",),
    "superior_vena_cava": ("svc",),
    "trachea": ("trachea",),
    "spine": ("spine",),
    "thoracic_spine": ("spine",),
    "clavicle_right": ("right clavicle",),
    "clavicle_left": ("left clavicle",),
    "clavicles": _SIDED["clavicle"],
    "right_hemidiaphragm": ("right hemidiaphragm",),
    "left_hemidiaphragm": ("left hemidiaphragm",),
    "diaphragm": _SIDED["hemidiaphragm"],
}


@dataclass(frozen=True)
class ReportItem:
    """Per item: the report's format ("openi_xml" or "mimic_txt") and how the image was
    chosen as the study's frontal one (part of the cache key)."""

    report_format: str
    frontal_rule: str


def read_report(path: Path, report_format: str) -> str:
    """The report text the extractor reads (OpenI: its FINDINGS and IMPRESSION)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ItemError(Reason.REPORT_MISSING, f"{path.name}: report file not found") from None
    if report_format == "openi_xml":
        findings, impression = openi_sections(raw, path.name)
        return report_text(findings, impression)
    return raw.decode("utf-8", errors="replace")


def openi_sections(xml: bytes, name: str) -> tuple[str, str]:
    """The FINDINGS and IMPRESSION ``AbstractText`` of an OpenI report ("" when absent)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ItemError(Reason.BAD_CSV_ROW, f"{name}: not XML: {exc}") from None
    parts = {(a.get("Label") or "").upper(): (a.text or "") for a in root.iter("AbstractText")}
    return parts.get("FINDINGS", ""), parts.get("IMPRESSION", "")


def _lookup(regions: dict[str, Box]):
    def regions_of(m: FindingMention) -> list[NamedBox]:
        names = TAXONOMY_REGIONS.get(m.anatomy or "", ())
        if not names or any(n not in regions for n in names):
            return []
        return [NamedBox.of(regions[n], n) for n in names]

    return regions_of


def process_report_image(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """One frontal image and its report: presence records, grounded where regions exist."""
    study_id = ctx.ids.study(item.dataset, item.item_id)
    settings: ReportItem = item.settings
    report = item.input("report")
    graph_file = item.input("scene_graph")
    try:
        if report is None:
            raise ItemError(Reason.REPORT_MISSING, f"{item.item_id}: no report input")
        text = read_report(Path(report.path), settings.report_format)
        mentions = extract_findings(text)
        positive = {m.finding for m in mentions if m.positive}
        negated = {m.finding for m in mentions if m.negated}
        if not positive ^ negated:
            return ItemOutput(
                quarantine=[
                    quarantine_item(
                        item.dataset,
                        Reason.NO_REPORT_FINDING,
                        f"{Path(report.path).name}: the report states no finding (present or "
                        f"absent) that is not stated both ways ({len(mentions)} mention(s))",
                        report.path,
                        stage=Stage.FINDINGS,
                        item_id=study_id,
                    )
                ]
            )
        loaded = LOADERS[item.reader](item.path, max_pixels=ctx.image_max_pixels)
        graph = parse_scene_graph(read_scene_graph(Path(graph_file.path))) if graph_file else None
    except ItemError as exc:
        return ItemOutput(quarantine=[read_error(item, study_id, exc)])
    height, width = loaded.pixels.shape
    study, _ = ctx.publish_study(
        item, study_id, loaded.pixels, view=loaded.view, source_size=(width, height)
    )
    regions = region_boxes(graph, width, height)[0] if graph else {}
    findings = mention_findings(
        study,
        mentions,
        extractor=REPORT_EXTRACTOR,
        version=LEXICON_VERSION,
        confidence=CONFIDENCE_REPORT,
    )
    prov = Provenance.of(study, REPORT_EXTRACTOR, LEXICON_VERSION, CONFIDENCE_REPORT)
    grounded = None
    if regions:
        findings += region_findings(
            study,
            regions,
            [],
            extractor=item.extractor,
            version=item.extractor_version,
            anatomy_confidence=CONFIDENCE_ANATOMY,
            statement_confidence=CONFIDENCE_GROUNDED,
        )
        grounded = Provenance.of(
            study,
            f"{REPORT_EXTRACTOR}+{item.extractor}",
            f"{LEXICON_VERSION}+{item.extractor_version}",
            CONFIDENCE_GROUNDED,
        )
    records = report_records(
        study,
        mentions,
        seed=ctx.records_seed,
        provenance=prov,
        grounded_provenance=grounded,
        regions_of=_lookup(regions) if regions else None,
    )
    return ItemOutput([study], findings, list(records), [])
