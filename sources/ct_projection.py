"""CT cases as pipeline items (source kinds ``ct_projection`` and ``synthetic_ct``): each case
is a CT (NIfTI file or DICOM series folder), optionally its organ masks and a report. Planning
checks that the files exist (missing ones end as ``file_missing`` quarantine rows); reading
(``load_case``) loads the CT in the canonical orientation and its masks, or runs
TotalSegmentator when the case ships none and weights are configured."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from extractors.ct import EXTRACTOR
from extractors.ct import VERSION as CT_VERSION
from extractors.ct.masks import ClassMasks
from extractors.ct.projection import ProjectionSettings
from extractors.ct.taxonomy import TAXONOMY_VERSION
from extractors.ct.totalseg import MasksUnavailable, TotalSegSettings, segment
from schemas.enums import Reason, Stage
from schemas.identity import Pseudonymizer
from sources.base import ItemError, Plan, SourceItem, quarantine_item, quarantine_row
from sources.csv_labels import SourceError
from sources.ct_masks import load_masks
from sources.ct_volume import LoadedCt, load_ct

READER = "ct_volume"
MODALITY = "CT"
EXTRACTOR_VERSION = f"{CT_VERSION}+{TAXONOMY_VERSION}"
REQUIRED_COLUMNS = ("case_id", "ct")


@dataclass(frozen=True)
class CtCase:
    case_id: str
    patient: str
    ct: Path
    masks: Path | None = None
    report: Path | None = None
    row_number: int | None = None  # data row of the cases CSV


@dataclass(frozen=True)
class CaseSettings:
    """Per-source settings every item of the source carries (in its payload)."""

    pixel_mm: float = 1.0
    remove_table: bool = True
    anatomy_records: str = "core"
    totalseg_weights: str = ""
    totalseg_fast: bool = False
    totalseg_device: str = "cpu"

    def payload(self) -> tuple[tuple[str, str], ...]:
        return tuple((k, str(v)) for k, v in self.__dict__.items())

    @classmethod
    def of(cls, item: SourceItem) -> CaseSettings:
        get = item.get
        return cls(
            pixel_mm=float(get("pixel_mm", "1.0") or 1.0),
            remove_table=get("remove_table", "True") == "True",
            anatomy_records=get("anatomy_records", "core") or "core",
            totalseg_weights=get("totalseg_weights", "") or "",
            totalseg_fast=get("totalseg_fast", "False") == "True",
            totalseg_device=get("totalseg_device", "cpu") or "cpu",
        )

    def projection(self) -> ProjectionSettings:
        return ProjectionSettings(pixel_mm=self.pixel_mm, remove_table=self.remove_table)

    def totalseg(self) -> TotalSegSettings:
        weights = Path(self.totalseg_weights) if self.totalseg_weights else None
        return TotalSegSettings(weights, self.totalseg_fast, self.totalseg_device)


def _stamp(path: Path) -> tuple[int, int]:
    """Total size and newest modification time of a file or of the files under a folder."""
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        return sum(p.stat().st_size for p in files), max(
            (p.stat().st_mtime_ns for p in files), default=0
        )
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def read_cases_csv(path: Path, root: Path, dataset: str) -> tuple[list[CtCase], Plan]:
    """Cases of a CSV (columns case_id, ct; optional patient_id, masks, report; paths
    relative to root). A missing column stops the source; a bad row is quarantined."""
    plan = Plan()
    if not path.is_file():
        raise SourceError(f"source {dataset!r}: cases file not found: {path}")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SourceError(f"{path}: missing column(s) {missing} (has {reader.fieldnames})")
        rows = list(reader)
    cases: list[CtCase] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        plan.n_label_rows += 1
        case_id, ct = (row.get("case_id") or "").strip(), (row.get("ct") or "").strip()
        if not case_id or not ct:
            plan.quarantine.append(
                quarantine_row(
                    dataset,
                    Reason.BAD_CSV_ROW,
                    f"row {number}: case_id and ct are required",
                    str(path),
                    number,
                    stage=Stage.PLAN,
                )
            )
            continue
        if case_id in seen:
            plan.quarantine.append(
                quarantine_row(
                    dataset,
                    Reason.DUPLICATE_IMAGE_ID,
                    f"case {case_id} is listed twice",
                    str(path),
                    number,
                    stage=Stage.PLAN,
                )
            )
            continue
        seen.add(case_id)
        opt = {k: (row.get(k) or "").strip() for k in ("patient_id", "masks", "report")}
        cases.append(
            CtCase(
                case_id=case_id,
                patient=opt["patient_id"] or case_id,
                ct=root / ct,
                masks=root / opt["masks"] if opt["masks"] else None,
                report=root / opt["report"] if opt["report"] else None,
                row_number=number,
            )
        )
    return cases, plan


def plan_cases(
    cases: list[CtCase],
    *,
    dataset: str,
    licence: str,
    settings: CaseSettings,
    ids: Pseudonymizer,
    labels_file: str = "",
    extractor: str = EXTRACTOR,
) -> Plan:
    """One item per case whose files exist; the others become ``file_missing`` rows."""
    plan = Plan()
    for case in cases:
        study_id = ids.study(dataset, case.case_id)
        named = [("CT", case.ct), ("masks", case.masks), ("report", case.report)]
        gone = [(what, p) for what, p in named if p is not None and not p.exists()]
        if gone:
            what, p = gone[0]
            plan.quarantine.append(
                quarantine_item(
                    dataset,
                    Reason.FILE_MISSING,
                    f"case {case.case_id}: {what} not found: {p.name}",
                    str(p),
                    stage=Stage.PLAN,
                    item_id=study_id,
                )
            )
            continue
        size, mtime = _stamp(case.ct)
        payload = [("masks", str(case.masks or "")), ("report", str(case.report or ""))]
        for key, p in (("masks_stamp", case.masks), ("report_stamp", case.report)):
            payload.append((key, "/".join(map(str, _stamp(p))) if p is not None else ""))
        plan.items.append(
            SourceItem(
                dataset=dataset,
                reader=READER,
                item_id=case.case_id,
                patient_key=case.patient,
                path=str(case.ct),
                labels_file=labels_file,
                rows=(),
                licence=licence,
                extractor=extractor,
                extractor_version=EXTRACTOR_VERSION,
                modality=MODALITY,
                file_size=size,
                file_mtime_ns=mtime,
                payload=tuple(payload) + settings.payload(),
            )
        )
    return plan


def load_case(item: SourceItem) -> tuple[LoadedCt, ClassMasks, str | None]:
    """The CT, its masks (files, or TotalSegmentator) and its report text."""
    ct = load_ct(item.path)
    masks_path = item.get("masks") or ""
    if masks_path:
        masks = load_masks(masks_path, ct)
    else:
        try:
            masks = segment(ct.volume, CaseSettings.of(item).totalseg(), Path(item.path).name)
        except MasksUnavailable as exc:
            raise ItemError(Reason.MASKS_UNAVAILABLE, str(exc)) from None
        if not masks.masks:
            raise ItemError(
                Reason.MASK_EMPTY, f"{Path(item.path).name}: TotalSegmentator found no structure"
            )
    report_path = item.get("report") or ""
    report = None
    if report_path:
        try:
            report = Path(report_path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ItemError(Reason.FILE_MISSING, f"{Path(report_path).name}: {exc}") from None
    return ct, masks, report
