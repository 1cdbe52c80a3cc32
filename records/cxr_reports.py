"""Records from chest X-rays with anatomical regions and report statements (Chest ImaGenome
scene graphs, OpenI and MIMIC-CXR reports).

- Anatomy: "where is the <region>?" -> the region's box (the anatomy, never a finding).
- Sentences: a report sentence the scene graph ties to a region -> that region's box.
- Region statements: a finding the scene graph states present (``yes``) or absent (``no``)
  in a region -> "is there <finding> in the <region>?" with the region's box, or "No.".
- Report mentions (``extractors.reports``): present -> presence "yes" (no box: the report
  does not say where); negated -> presence "no"; uncertain -> nothing. Where regions are
  known, a present mention whose anatomy maps onto them is grounded on those boxes.
A finding stated both present and absent gives no presence record (never guess which).

Every report phrase that reaches a record goes through ``extractors.deid.deidentify`` first
(the path the CT and PET report records take). Boxes are canonical (``schemas.boxes``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from extractors.deid import deidentify
from extractors.reports import FindingMention
from extractors.reports.extract import finding_words
from records.factory import make_grounding
from records.templates import Template
from schemas.boxes import Box
from schemas.enums import GroundingTask
from schemas.identity import stable_id
from schemas.records import Finding, GroundingRecord, NamedBox, Provenance, Study
from schemas.vocab import phrase as finding_phrase

ANATOMY_PREFIX = "anatomy:"
IMAGE = "chest X-ray"

BANKS: dict[str, tuple[Template, ...]] = {
    "cxr_anatomy": (
        Template("ca-1", "Where is the {region} on this {image}?", "The {region} is at {boxes}."),
        Template("ca-2", "Locate the {region} in this {image}.", "{boxes}"),
        Template("ca-3", "Draw a bounding box around the {region}.", "{Region}: {boxes}."),
    ),
    "cxr_sentence": (
        Template(
            "cs-1",
            'Which anatomical region of this {image} does the report sentence "{phrase}" describe?',
            "The {region}: {boxes}.",
        ),
        Template("cs-2", 'Ground the report sentence "{phrase}" on the {image}.', "{boxes}"),
    ),
    "cxr_region_yes": (
        Template("cy-1", "Is there {finding} in the {region} on this {image}?", "Yes, {boxes}."),
        Template(
            "cy-2",
            "Does the {region} show {finding} on this {image}?",
            "Yes: {finding} in the {region}, {boxes}.",
        ),
    ),
    "cxr_region_no": (
        Template("cn-1", "Is there {finding} in the {region} on this {image}?", "No."),
        Template("cn-2", "Does the {region} show {finding} on this {image}?", "No."),
    ),
    "cxr_report_yes": (
        Template("ry-1", "Is there {finding} on this {image}?", "Yes."),
        Template("ry-2", "Does the report of this {image} describe {finding}?", "Yes."),
    ),
    "cxr_report_no": (
        Template("rn-1", "Is there {finding} on this {image}?", "No."),
        Template(
            "rn-2",
            "Does the report of this {image} describe {finding}?",
            "No, it states there is no {finding}.",
        ),
    ),
    "cxr_report_region": (
        Template(
            "rr-1",
            'Where is the finding described by "{phrase}" on this {image}?',
            "{Finding} in the {region}: {boxes}.",
        ),
        Template(
            "rr-2",
            'Which region of this {image} does the report mean by "{phrase}"?',
            "The {region}, {boxes}.",
        ),
    ),
}


@dataclass(frozen=True)
class RegionStatement:
    """A finding the source states present or absent in a named region, with the report
    sentence that says so (``row``: where it is in the source file, 1-based)."""

    region: str
    label: str  # canonical finding key (schemas.vocab)
    present: bool
    sentence: str
    row: int


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _boxes_text(boxes: Sequence[NamedBox]) -> str:
    texts = [b.box.to_text() for b in boxes]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]


def region_findings(
    study: Study,
    regions: Mapping[str, Box],
    statements: Sequence[RegionStatement],
    *,
    extractor: str,
    version: str,
    anatomy_confidence: float,
    statement_confidence: float,
) -> list[Finding]:
    """One Finding per region box (``anatomy:<region>``) and per region statement (the
    region's box when present, no box when absent)."""
    out = [
        Finding(
            finding_id=stable_id("finding", study.study_id, ANATOMY_PREFIX + name),
            study_id=study.study_id,
            patient_id=study.patient_id,
            label=ANATOMY_PREFIX + name,
            present=True,
            box=NamedBox.of(box, name),
            source_row=None,
            extractor=extractor,
            extractor_version=version,
            confidence=anatomy_confidence,
        )
        for name, box in regions.items()
    ]
    for s in statements:
        box = regions.get(s.region) if s.present else None
        out.append(
            Finding(
                finding_id=stable_id("finding", study.study_id, s.label, s.region, s.present),
                study_id=study.study_id,
                patient_id=study.patient_id,
                label=s.label,
                present=s.present,
                box=NamedBox.of(box, s.label) if box is not None else None,
                source_row=s.row,
                extractor=extractor,
                extractor_version=version,
                confidence=statement_confidence,
            )
        )
    return out


def anatomy_records(
    study: Study, regions: Mapping[str, Box], *, seed: int, provenance: Provenance
) -> list[GroundingRecord]:
    """Per region: "where is the <region>?" -> its box."""
    out = []
    for name in sorted(regions):
        nb = NamedBox.of(regions[name], name)
        out.append(
            make_grounding(
                study,
                GroundingTask.PHRASE_GROUNDING,
                id_parts=("anatomy", name),
                bank="cxr_anatomy",
                banks=BANKS,
                slots={
                    "region": name,
                    "Region": _cap(name),
                    "image": IMAGE,
                    "boxes": nb.box.to_text(),
                },
                seed=seed,
                provenance=provenance,
                label=ANATOMY_PREFIX + name,
                answer_boxes=[nb],
            )
        )
    return out


def sentence_records(
    study: Study,
    regions: Mapping[str, Box],
    sentences: Sequence[tuple[str, str]],
    *,
    seed: int,
    provenance: Provenance,
) -> list[GroundingRecord]:
    """Per (region, report sentence) the source ties together: the sentence -> the region's
    box; the sentence is de-identified first. One record per distinct pair."""
    out = []
    seen: set[tuple[str, str]] = set()
    for region, sentence in sentences:
        text = deidentify(sentence.strip())
        if region not in regions or not text or (region, text) in seen:
            continue
        seen.add((region, text))
        nb = NamedBox.of(regions[region], region)
        out.append(
            make_grounding(
                study,
                GroundingTask.PHRASE_GROUNDING,
                id_parts=("sentence", region, text),
                bank="cxr_sentence",
                banks=BANKS,
                slots={"region": region, "phrase": text, "image": IMAGE, "boxes": nb.box.to_text()},
                seed=seed,
                provenance=provenance,
                label=ANATOMY_PREFIX + region,
                answer_boxes=[nb],
            )
        )
    return out


def region_presence_records(
    study: Study,
    regions: Mapping[str, Box],
    statements: Sequence[RegionStatement],
    *,
    seed: int,
    provenance: Provenance,
) -> list[GroundingRecord]:
    """Per (finding, region) stated present or absent: a presence record on that region
    (present: the region's box as the answer). Stated both ways: no record."""
    said: dict[tuple[str, str], set[bool]] = {}
    for s in statements:
        if s.region in regions:
            said.setdefault((s.label, s.region), set()).add(s.present)
    out = []
    for (label, region), values in sorted(said.items()):
        if len(values) != 1:
            continue
        present = next(iter(values))
        nb = NamedBox.of(regions[region], region)
        words = finding_phrase(label)
        out.append(
            make_grounding(
                study,
                GroundingTask.PRESENCE,
                id_parts=("region", label, region, "yes" if present else "no"),
                bank="cxr_region_yes" if present else "cxr_region_no",
                banks=BANKS,
                slots={
                    "finding": words,
                    "region": region,
                    "image": IMAGE,
                    "boxes": nb.box.to_text(),
                },
                seed=seed,
                provenance=provenance,
                label=label,
                question_boxes=[nb],
                answer_boxes=[NamedBox.of(nb.box, label)] if present else [],
            )
        )
    return out


# the boxes a present mention may be grounded on: (mention) -> named region boxes, or []
RegionLookup = Callable[[FindingMention], list[NamedBox]]


def mention_findings(
    study: Study,
    mentions: Sequence[FindingMention],
    *,
    extractor: str,
    version: str,
    confidence: float,
) -> list[Finding]:
    """Report mentions as image-level Findings (no box: a report does not draw one);
    uncertain mentions are left out."""
    out = []
    for m in mentions:
        if m.uncertain and not m.negated:
            continue
        out.append(
            Finding(
                finding_id=stable_id("finding", study.study_id, m.finding, m.start),
                study_id=study.study_id,
                patient_id=study.patient_id,
                label=m.finding,
                present=m.present,
                box=None,
                source_row=None,
                extractor=extractor,
                extractor_version=version,
                confidence=confidence,
            )
        )
    return out


def report_records(
    study: Study,
    mentions: Sequence[FindingMention],
    *,
    seed: int,
    provenance: Provenance,
    grounded_provenance: Provenance | None = None,
    regions_of: RegionLookup | None = None,
) -> list[GroundingRecord]:
    """Presence "yes" / "no" per finding the report states (positive and negated mentions;
    a finding stated both ways gives neither), and, with ``regions_of``, each present
    mention grounded on the boxes of its anatomy (sentence de-identified)."""
    positive = {m.finding for m in mentions if m.positive}
    negated = {m.finding for m in mentions if m.negated}
    out = []
    for finding in sorted(positive ^ negated):
        present = finding in positive
        words = finding_words(finding)
        out.append(
            make_grounding(
                study,
                GroundingTask.PRESENCE,
                id_parts=("report", finding, "yes" if present else "no"),
                bank="cxr_report_yes" if present else "cxr_report_no",
                banks=BANKS,
                slots={"finding": words, "image": IMAGE},
                seed=seed,
                provenance=provenance,
                label=finding,
            )
        )
    if regions_of is None:
        return out
    seen: set[tuple[str, str]] = set()
    for m in mentions:
        if not m.positive or m.finding in negated:
            continue
        boxes = regions_of(m)
        if not boxes:
            continue
        key = (m.finding, "+".join(b.label for b in boxes))
        if key in seen:
            continue
        seen.add(key)
        words = finding_words(m.finding)
        out.append(
            make_grounding(
                study,
                GroundingTask.PHRASE_GROUNDING,
                id_parts=("report_region", *key),
                bank="cxr_report_region",
                banks=BANKS,
                slots={
                    "phrase": deidentify(m.sentence),
                    "Finding": _cap(words),
                    "region": " and ".join(b.label for b in boxes),
                    "image": IMAGE,
                    "boxes": _boxes_text(boxes),
                },
                seed=seed,
                provenance=grounded_provenance or provenance,
                label=m.finding,
                answer_boxes=[NamedBox(b.x1, b.y1, b.x2, b.y2, m.finding) for b in boxes],
            )
        )
    return out
