"""Measure the extractor against expert coding: the IU X-ray / OpenI reports, whose MeSH
column codes each report's findings with anatomy and side (``Opacity/lung/base/left``).

Two figures (issue 4, tightened by issue 11): of the reports coded exactly ``normal``, the
share that yields a positive mention (neither negated nor uncertain); of the MeSH terms that carry a
side (left, right, bilateral), the share whose side the extractor finds on a mention of the
report that is not negated. A stricter variant also asks the mention's finding to match the
term's heading (where the heading maps to findings the extractor knows)."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from extractors.reports.extract import FindingMention, extract_findings

SIDES = ("left", "right", "bilateral")

# MeSH heading -> extractor findings that count as the same thing (strict side figure)
MESH_FINDINGS: dict[str, frozenset[str]] = {
    k: frozenset(v)
    for k, v in {
        "Opacity": {
            "opacity",
            "consolidation",
            "infiltrate",
            "atelectasis",
            "pneumonia",
            "ground_glass",
            "scarring",
            "nodule",
            "interstitial_markings",
        },
        "Pulmonary Atelectasis": {"atelectasis", "opacity", "scarring"},
        "Calcified Granuloma": {"granuloma", "calcification", "nodule"},
        "Granuloma": {"granuloma", "nodule", "calcification"},
        "Granulomatous Disease": {"granuloma"},
        "Pleural Effusion": {"pleural_effusion", "blunting"},
        "Cicatrix": {"scarring", "opacity", "atelectasis"},
        "Density": {"opacity", "nodule", "mass", "calcification"},
        "Airspace Disease": {"opacity", "consolidation", "pneumonia", "infiltrate"},
        "Calcinosis": {"calcification", "granuloma"},
        "Nodule": {"nodule", "opacity", "granuloma", "mass"},
        "Diaphragm": {"elevated_hemidiaphragm", "flattened_diaphragm", "obscured_diaphragm"},
        "Catheters, Indwelling": {"support_device"},
        "Fractures, Bone": {"fracture"},
        "Surgical Instruments": {"support_device", "postsurgical_change"},
        "Thickening": {"pleural_thickening", "scarring", "bronchial_thickening"},
        "Costophrenic Angle": {"blunting", "pleural_effusion"},
        "Infiltrate": {"infiltrate", "opacity"},
        "Pneumonia": {"pneumonia", "opacity", "consolidation"},
        "Consolidation": {"consolidation", "opacity"},
        "Mass": {"mass", "opacity", "nodule"},
        "Pneumothorax": {"pneumothorax"},
        "Diaphragmatic Eventration": {"elevated_hemidiaphragm"},
        "Pulmonary Emphysema": {"emphysema"},
        "Pulmonary Fibrosis": {"scarring"},
        "Scoliosis": {"scoliosis"},
    }.items()
}


@dataclass
class Report:
    uid: str
    mesh: str
    text: str


@dataclass
class Evaluation:
    n_reports: int = 0
    n_normal: int = 0
    normal_with_positive: list[str] = field(default_factory=list)
    normal_with_present: list[str] = field(default_factory=list)  # normal-for-age included
    n_sided_terms: int = 0
    sides_found: int = 0
    n_sided_mapped: int = 0
    sides_found_strict: int = 0
    seconds: float = 0.0
    missed_sides: list[tuple[str, str]] = field(default_factory=list)

    @property
    def normal_positive_rate(self) -> float:
        return len(self.normal_with_positive) / self.n_normal if self.n_normal else 0.0

    @property
    def side_recall(self) -> float:
        return self.sides_found / self.n_sided_terms if self.n_sided_terms else 0.0

    @property
    def side_recall_strict(self) -> float:
        return self.sides_found_strict / self.n_sided_mapped if self.n_sided_mapped else 0.0

    @property
    def reports_per_second(self) -> float:
        return self.n_reports / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        return [
            f"reports: {self.n_reports} in {self.seconds:.2f} s "
            f"({self.reports_per_second:.0f} reports/s)",
            f"normal reports with a positive finding: {len(self.normal_with_positive)} of "
            f"{self.n_normal} = {100 * self.normal_positive_rate:.1f}% (acceptance: at most 3%)",
            f"  counting mild degenerative change (read as normal for age) too: "
            f"{len(self.normal_with_present)} of {self.n_normal} = "
            f"{100 * len(self.normal_with_present) / max(self.n_normal, 1):.1f}%",
            f"sided MeSH terms whose side is found: {self.sides_found} of {self.n_sided_terms} "
            f"= {100 * self.side_recall:.1f}% (acceptance: at least 90%)",
            f"  stricter, on a mention of the same finding: {self.sides_found_strict} of "
            f"{self.n_sided_mapped} = {100 * self.side_recall_strict:.1f}% (acceptance: at least "
            f"95%)",
        ]


def report_text(findings: str, impression: str) -> str:
    return f"FINDINGS: {findings.strip()}\nIMPRESSION: {impression.strip()}"


def load_iu_reports(csv_path: Path) -> list[Report]:
    with Path(csv_path).open(newline="", encoding="utf-8") as f:
        return [
            Report(row["uid"], row["MeSH"].strip(), report_text(row["findings"], row["impression"]))
            for row in csv.DictReader(f)
        ]


def term_side(term: str) -> str | None:
    parts = [p.strip().lower() for p in term.split("/")]
    sides = [p for p in parts if p in SIDES]
    return sides[0] if sides else None


def _with_side(mentions: list[FindingMention], side: str) -> list[FindingMention]:
    """Mentions (not negated) that put a finding on ``side``; for "bilateral", also a left
    and a right mention of the same finding (a report may name each side apart)."""
    kept = [m for m in mentions if not m.negated]
    found = [m for m in kept if m.laterality == side]
    if side == "bilateral":
        for finding in {m.finding for m in kept}:
            same = [m for m in kept if m.finding == finding]
            if {"left", "right"} <= {m.laterality for m in same}:
                found += [m for m in same if m.laterality in ("left", "right")]
    return found


def evaluate(reports: Iterable[Report]) -> Evaluation:
    ev = Evaluation()
    start = time.perf_counter()
    results: list[tuple[Report, list[FindingMention]]] = []
    for report in reports:
        results.append((report, extract_findings(report.text)))
    ev.seconds = time.perf_counter() - start
    for report, mentions in results:
        ev.n_reports += 1
        if report.mesh == "normal":
            ev.n_normal += 1
            if any(m.positive for m in mentions):
                ev.normal_with_positive.append(report.uid)
            if any(m.present for m in mentions):
                ev.normal_with_present.append(report.uid)
        for term in report.mesh.split(";"):
            side = term_side(term)
            if side is None:
                continue
            ev.n_sided_terms += 1
            found = _with_side(mentions, side)
            if found:
                ev.sides_found += 1
            else:
                ev.missed_sides.append((report.uid, term))
            heading = term.split("/")[0].strip()
            if heading in MESH_FINDINGS:
                ev.n_sided_mapped += 1
                if any(m.finding in MESH_FINDINGS[heading] for m in found):
                    ev.sides_found_strict += 1
    return ev
