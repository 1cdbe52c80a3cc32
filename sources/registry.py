"""From a configured source to its plan: which reader, where its files are, what to call it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from medsg.config import (
    CsvSourceConfig,
    CtProjectionSourceConfig,
    PetExamSourceConfig,
    SyntheticCtSourceConfig,
    SyntheticPetSourceConfig,
    SyntheticSourceConfig,
)
from schemas.identity import Pseudonymizer
from sources import (
    ct_projection,
    nih_cxr14,
    pet_exam,
    rsna_pneumonia,
    synthetic_ct,
    synthetic_cxr,
    synthetic_pet,
)
from sources.base import Plan, SourceItem
from sources.csv_labels import CsvFormat, CsvSourceSpec, SourceError, plan_csv_source

CSV_FORMATS: dict[str, CsvFormat] = {
    nih_cxr14.KIND: nih_cxr14.FORMAT,
    rsna_pneumonia.KIND: rsna_pneumonia.FORMAT,
}


def plan_source(
    cfg: CsvSourceConfig
    | SyntheticSourceConfig
    | CtProjectionSourceConfig
    | SyntheticCtSourceConfig
    | PetExamSourceConfig
    | SyntheticPetSourceConfig,
    ids: Pseudonymizer,
    generated_dir: Path,
) -> Plan:
    """The plan of one configured source. An optional source whose root is absent gives an
    empty plan with a note; a required one raises SourceError naming the folder."""
    if isinstance(cfg, SyntheticSourceConfig):
        return _plan_synthetic(cfg, ids, generated_dir / cfg.dataset)
    if isinstance(cfg, SyntheticCtSourceConfig):
        return _plan_synthetic_ct(cfg, ids, generated_dir / cfg.dataset)
    if isinstance(cfg, SyntheticPetSourceConfig):
        root = synthetic_pet.generate_corpus(
            generated_dir / cfg.dataset, n_exams=cfg.n_exams, n_lesions=cfg.n_lesions, seed=cfg.seed
        )
        return _plan_pet(
            cfg.dataset,
            pet_exam.KIND_NIFTI,
            root,
            ids,
            licence=cfg.licence,
            organ_masks=synthetic_pet.ORGANS,
        )
    if not cfg.root.is_dir():
        if cfg.optional:
            return Plan(
                notes=[f"{cfg.dataset}: skipped, optional source folder {cfg.root} is absent"]
            )
        raise SourceError(f"source {cfg.dataset!r}: folder not found: {cfg.root}")
    if isinstance(cfg, CtProjectionSourceConfig):
        return _plan_ct(cfg, ids)
    if isinstance(cfg, PetExamSourceConfig):
        return _plan_pet(
            cfg.dataset,
            cfg.kind,
            cfg.root,
            ids,
            licence=cfg.licence,
            organ_masks=cfg.organ_masks,
            report_name=cfg.report_name,
            slice_base=cfg.slice_base,
        )
    spec = CsvSourceSpec.at(
        CSV_FORMATS[cfg.kind],
        dataset=cfg.dataset,
        root=cfg.root,
        labels_csv=cfg.labels_csv,
        images_dir=cfg.images_dir,
        licence=cfg.licence,
    )
    return plan_csv_source(spec, ids)


def _plan_synthetic(cfg: SyntheticSourceConfig, ids: Pseudonymizer, root: Path) -> Plan:
    synthetic_cxr.generate_corpus(root, n_images=cfg.n_images, seed=cfg.seed, size=cfg.image_size)
    plan = Plan()
    for fmt, sub, labels in (
        (nih_cxr14.FORMAT, synthetic_cxr.NIH_DIR, synthetic_cxr.NIH_CSV),
        (rsna_pneumonia.FORMAT, synthetic_cxr.RSNA_DIR, synthetic_cxr.RSNA_CSV),
    ):
        spec = CsvSourceSpec.at(
            fmt,
            dataset=cfg.dataset,
            root=root / sub,
            labels_csv=labels,
            images_dir="images",
            licence=cfg.licence,
            extractor=synthetic_cxr.EXTRACTOR,
        )
        part = plan_csv_source(spec, ids)
        part.items = [
            _with_anatomy(item, root / sub / synthetic_cxr.ANATOMY_DIR) for item in part.items
        ]
        plan.extend(part)
    return plan


def _with_anatomy(item: SourceItem, anatomy_dir: Path) -> SourceItem:
    """A generated image: its labels are exhaustive, and its lung label image rides along."""
    labels = anatomy_dir / f"{Path(item.path).stem}.png"
    payload = item.payload
    if labels.is_file():
        stat = labels.stat()
        payload += (
            ("anatomy_labels", str(labels)),
            ("anatomy_stamp", f"{stat.st_size}:{stat.st_mtime_ns}"),
        )
    return replace(item, exhaustive=True, payload=payload)


def _ct_settings(
    cfg: CtProjectionSourceConfig | SyntheticCtSourceConfig,
) -> ct_projection.CaseSettings:
    seg = getattr(cfg, "totalsegmentator", None)
    return ct_projection.CaseSettings(
        pixel_mm=cfg.projection.pixel_mm,
        remove_table=cfg.projection.remove_table,
        anatomy_records=cfg.anatomy_records,
        totalseg_weights=str(seg.weights_dir) if seg and seg.weights_dir else "",
        totalseg_fast=bool(seg.fast) if seg else False,
        totalseg_device=seg.device if seg else "cpu",
    )


def _plan_ct(cfg: CtProjectionSourceConfig, ids: Pseudonymizer) -> Plan:
    if cfg.cases_csv:
        cases, plan = ct_projection.read_cases_csv(cfg.root / cfg.cases_csv, cfg.root, cfg.dataset)
        labels_file = str(cfg.root / cfg.cases_csv)
    else:
        plan, labels_file = Plan(), ""
        cases = [
            ct_projection.CtCase(
                case_id=c.id,
                patient=c.patient or c.id,
                ct=cfg.root / c.ct,
                masks=cfg.root / c.masks if c.masks else None,
                report=cfg.root / c.report if c.report else None,
            )
            for c in cfg.cases
        ]
    plan.extend(
        ct_projection.plan_cases(
            cases,
            dataset=cfg.dataset,
            licence=cfg.licence,
            settings=_ct_settings(cfg),
            ids=ids,
            labels_file=labels_file,
        )
    )
    return plan


def _plan_synthetic_ct(cfg: SyntheticCtSourceConfig, ids: Pseudonymizer, root: Path) -> Plan:
    synthetic_ct.generate_cases(
        root, n_cases=cfg.n_cases, seed=cfg.seed, shape=cfg.shape, spacing=cfg.spacing
    )
    csv_path = root / synthetic_ct.CASES_CSV
    cases, plan = ct_projection.read_cases_csv(csv_path, root, cfg.dataset)
    plan.extend(
        ct_projection.plan_cases(
            cases,
            dataset=cfg.dataset,
            licence=cfg.licence,
            settings=_ct_settings(cfg),
            ids=ids,
            labels_file=str(csv_path),
            extractor=synthetic_ct.EXTRACTOR,
        )
    )
    return plan


def _plan_pet(
    dataset: str,
    kind: str,
    root: Path,
    ids: Pseudonymizer,
    *,
    licence: str | None,
    organ_masks: str | None,
    report_name: str = synthetic_pet.REPORT,
    slice_base: int = 1,
) -> Plan:
    return pet_exam.plan_pet_exams(
        dataset=dataset,
        kind=kind,
        root=root,
        report_name=report_name,
        organ_masks=organ_masks,
        slice_base=slice_base,
        licence=licence,
        ids=ids,
    )
