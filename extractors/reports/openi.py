"""The OpenI / Indiana University chest X-ray reports in their NLM XML form, as a second
test set for the report extractor.

The rules of ``extractors.reports`` were written against the 800 reports of
``../shared/realdata/reports/iu_xray``. The full OpenI collection has 3,955 reports; the
others were never read while writing rules. They are split by report number into a *dev*
half (even numbers: rules may be written against it) and a *held-apart* half (odd numbers:
only measured). Gold: each report's MeSH major terms (``Opacity/lung/base/left``), coded by
the collection's experts, exactly as the ``MeSH`` column of the CSV form.

Where the XMLs come from: ``scripts/fetch_openi_reports.sh`` takes them out of the
``torchxrayvision`` wheel (``torchxrayvision/data/NLMCXR_reports.tgz``) into the gitignored
``.cache/openi/``; they are never copied into the repository."""

from __future__ import annotations

import os
import re
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from pathlib import Path

from extractors.reports.evaluate import Report, report_text

TGZ_NAME = "NLMCXR_reports.tgz"
SPLITS = ("tuned", "dev", "heldout")


def default_openi_path() -> Path:
    """``$MEDSG_OPENI_REPORTS``, else ``.cache/openi/NLMCXR_reports.tgz`` in the repository."""
    env = os.environ.get("MEDSG_OPENI_REPORTS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".cache" / "openi" / TGZ_NAME


def _xml_docs(path: Path) -> Iterator[tuple[int, bytes]]:
    path = Path(path)
    if path.is_dir():
        for f in sorted(path.glob("*.xml")):
            if f.stem.isdigit():
                yield int(f.stem), f.read_bytes()
        return
    with tarfile.open(path) as tar:
        for member in tar:
            m = re.search(r"(\d+)\.xml$", member.name)
            if m and member.isfile():
                fh = tar.extractfile(member)
                if fh is not None:
                    yield int(m.group(1)), fh.read()


def parse_report(uid: int, xml: bytes) -> Report | None:
    """One report (MeSH major terms joined by ";"), or None when it has no findings and no
    impression text."""
    root = ET.fromstring(xml)
    parts = {(a.get("Label") or "").upper(): (a.text or "") for a in root.iter("AbstractText")}
    findings, impression = parts.get("FINDINGS", ""), parts.get("IMPRESSION", "")
    if not findings.strip() and not impression.strip():
        return None
    mesh = ";".join((m.text or "").strip() for m in root.iter("major") if (m.text or "").strip())
    return Report(str(uid), mesh or "normal", report_text(findings, impression))


def split_of(uid: int, tuned: set[int]) -> str:
    """``tuned`` (one of the 800 the rules were written on), ``dev`` or ``heldout``."""
    if uid in tuned:
        return "tuned"
    return "dev" if uid % 2 == 0 else "heldout"


def load_openi(path: Path, tuned: Iterable[int], split: str) -> list[Report]:
    """The reports of one split, in report-number order."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r}: one of {SPLITS}")
    tuned = set(tuned)
    out = []
    for uid, xml in sorted(_xml_docs(path)):
        if split_of(uid, tuned) != split:
            continue
        report = parse_report(uid, xml)
        if report is not None:
            out.append(report)
    return out
