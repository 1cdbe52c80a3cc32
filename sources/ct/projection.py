"""CT cases as pipeline items (source kinds ``ct_projection`` and ``synthetic_ct``): each case
is a CT (NIfTI file or DICOM series folder), optionally its organ masks and a report. Planning
checks that the files exist (missing ones end as ``file_missing`` quarantine rows); reading
(``load_case``) loads the CT in the canonical orientation and its masks, or runs
TotalSegmentator when the case ships none and weights are configured."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from extractors.ct import EXTRACTOR
from extractors.ct import VERSION as CT_VERSION
from extractors.ct.projection import ProjectionSettings
from extractors.ct.taxonomy import TAXONOMY_VERSION
from extractors.ct.totalseg import MasksUnavailable, TotalSegSettings, segment
from extractors.volume import Volume, read_ct
from extractors.volume.sparse import ClassMasks
from schemas.enums import Reason, Stage
from schemas.identity import Pseudonymizer
from sources.base import (
    InputFile,
    ItemError,
    Plan,
    PlanContext,
    SourceItem,
    SourceSettings,
    outside_root,
    quarantine_item,
    quarantine_row,
)
from sources.ct.masks import load_masks
from sources.radiograph.csv_labels import SourceError

READER = "ct_volume"
MODALITY = "CT"
EXTRACTOR_VERSION = f"{CT_VERSION}+{TAXONOMY_VERSION}"
REQUIRED_COLUMNS = ("case_id", "ct")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TotalSegmentatorConfig(_Strict):
    """TotalSegmentator for CT cases that ship no masks: its weights must be on disk."""

    weights_dir: Path | None = None  # TOTALSEG_WEIGHTS_PATH layout; None: $TOTALSEG_WEIGHTS_PATH
    fast: bool = False  # the 3 mm model (one weights folder)
    device: str = "cpu"  # cpu, gpu, gpu:N, mps


class ProjectionConfig(_Strict):
    """How CT volumes become radiographs (extractors.ct.projection)."""

    pixel_mm: float = Field(default=1.0, gt=0.1, le=10.0)  # isotropic pixel of the images
    remove_table: bool = True


class CtCaseConfig(_Strict):
    """One CT case: a NIfTI file or DICOM series folder, its masks, its report."""

    id: str
    ct: str  # relative to the source's root
    masks: str | None = None  # multilabel NIfTI or folder of <class>.nii.gz; None: TotalSegmentator
    report: str | None = None  # a text file with the report of the CT (or a radiograph of it)
    patient: str | None = None  # patient key (default: the case id)


class Settings(SourceSettings):
    """CT volumes projected to chest radiographs with dense anatomy (PAXRay): cases listed
    in a CSV (columns case_id, patient_id, ct, masks, report) or inline."""

    kind: Literal["ct_projection"]
    root: Path
    cases_csv: str | None = None  # relative to root
    cases: list[CtCaseConfig] = Field(default_factory=list)
    licence: str
    optional: bool = False
    totalsegmentator: TotalSegmentatorConfig = TotalSegmentatorConfig()
    projection: ProjectionConfig = ProjectionConfig()
    anatomy_records: Literal["core", "all", "none"] = "core"  # anatomy grounding per view

    @model_validator(mode="after")
    def _one_case_list(self) -> Settings:
        if bool(self.cases_csv) == bool(self.cases):
            raise ValueError("give exactly one of cases_csv and cases")
        ids = [c.id for c in self.cases]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"case ids must be unique, repeated: {dupes}")
        return self


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
    """The per-item settings every case of a CT source carries (``SourceItem.settings``)."""

    pixel_mm: float = 1.0
    remove_table: bool = True
    anatomy_records: str = "core"
    totalseg_weights: str = ""
    totalseg_fast: bool = False
    totalseg_device: str = "cpu"

    @classmethod
    def of(cls, settings: Settings | SourceSettings) -> CaseSettings:
        """The case settings of a configured CT source (``ct_projection``, ``synthetic_ct``)."""
        seg = getattr(settings, "totalsegmentator", None)
        projection: ProjectionConfig = settings.projection  # type: ignore[attr-defined]
        return cls(
            pixel_mm=projection.pixel_mm,
            remove_table=projection.remove_table,
            anatomy_records=settings.anatomy_records,  # type: ignore[attr-defined]
            totalseg_weights=str(seg.weights_dir) if seg and seg.weights_dir else "",
            totalseg_fast=bool(seg.fast) if seg else False,
            totalseg_device=seg.device if seg else "cpu",
        )

    def projection(self) -> ProjectionSettings:
        return ProjectionSettings(pixel_mm=self.pixel_mm, remove_table=self.remove_table)

    def totalseg(self) -> TotalSegSettings:
        weights = Path(self.totalseg_weights) if self.totalseg_weights else None
        return TotalSegSettings(weights, self.totalseg_fast, self.totalseg_device)


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
    kind: str = "ct_projection",
    root: Path | None = None,
) -> Plan:
    """One item per case whose files exist under ``root``; the others become
    ``path_outside_root`` (a path, symlinks followed, that leaves the root: absolute, ``..``)
    or ``file_missing`` rows."""
    plan = Plan()
    for case in cases:
        study_id = ids.study(dataset, case.case_id)
        named = [("CT", case.ct), ("masks", case.masks), ("report", case.report)]
        outside = [
            (what, p) for what, p in named if root is not None and p and outside_root(p, root)
        ]
        if outside:
            what, p = outside[0]
            plan.quarantine.append(
                quarantine_item(
                    dataset,
                    Reason.PATH_OUTSIDE_ROOT,
                    f"case {case.case_id}: {what} path {p} leaves the source root {root}: not read",
                    str(p),
                    stage=Stage.PLAN,
                    item_id=study_id,
                )
            )
            continue
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
        ct = InputFile.of("ct", case.ct)
        inputs = tuple(
            InputFile.of(role, p)
            for role, p in (("masks", case.masks), ("report", case.report))
            if p
        )
        plan.items.append(
            SourceItem(
                dataset=dataset,
                kind=kind,
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
                file_size=ct.size,
                file_mtime_ns=ct.mtime_ns,
                inputs=inputs,
                settings=settings,
            )
        )
    return plan


def load_case(item: SourceItem) -> tuple[Volume, ClassMasks, str | None]:
    """The CT, its masks (files, or TotalSegmentator) and its report text."""
    ct = read_ct(item.path)
    masks_file = item.input("masks")
    if masks_file:
        masks = load_masks(masks_file.path, ct)
    else:
        try:
            masks = segment(ct, item.settings.totalseg(), Path(item.path).name)
        except MasksUnavailable as exc:
            raise ItemError(Reason.MASKS_UNAVAILABLE, str(exc)) from None
        if not masks.masks:
            raise ItemError(
                Reason.MASK_EMPTY, f"{Path(item.path).name}: TotalSegmentator found no structure"
            )
    report_file = item.input("report")
    report_path = report_file.path if report_file else ""
    report = None
    if report_path:
        try:
            report = Path(report_path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ItemError(Reason.FILE_MISSING, f"{Path(report_path).name}: {exc}") from None
    return ct, masks, report


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """The cases of a ``ct_projection`` source, from its CSV or its inline list."""
    if settings.cases_csv:
        cases, result = read_cases_csv(
            settings.root / settings.cases_csv, settings.root, settings.dataset
        )
        labels_file = str(settings.root / settings.cases_csv)
    else:
        result, labels_file = Plan(), ""
        cases = [
            CtCase(
                case_id=c.id,
                patient=c.patient or c.id,
                ct=settings.root / c.ct,
                masks=settings.root / c.masks if c.masks else None,
                report=settings.root / c.report if c.report else None,
            )
            for c in settings.cases
        ]
    result.extend(
        plan_cases(
            cases,
            dataset=settings.dataset,
            licence=settings.licence,
            settings=CaseSettings.of(settings),
            ids=ctx.ids,
            labels_file=labels_file,
            root=settings.root,
        )
    )
    return result
