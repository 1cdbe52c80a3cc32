"""PET/CT exams as a source: planning (one item per exam folder with its report) and the
item processor (volume -> SUV mentions -> lesion labels -> rendered images, findings and
records). The weak labelling itself is ``extractors.pet``; this module only reads, renders
and accounts: every mention that gives no label becomes a quarantine row with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from extractors.deid import deidentify
from extractors.pet.anatomy import organ_phrase
from extractors.pet.label import EXTRACTOR, EXTRACTOR_VERSION, ExamLabels, MentionResult, label_exam
from extractors.pet.render import (
    axial_box,
    axial_ct_image,
    axial_image,
    axial_pet_image,
    coronal_box,
    coronal_mip,
)
from extractors.pet.volume import PetVolume
from records.pet import LABEL, ExamContext, LesionLabel, build_pet_records
from records.sequences.pet import pet_crossmodal
from schemas.enums import Reason, Stage, Unit
from schemas.errors import ItemError
from schemas.identity import Pseudonymizer, stable_id
from schemas.records import Finding, NamedBox, Provenance, QuarantineRow, SequenceRecord, Study
from shards.licences import Licence
from sources.base import (
    InputFile,
    Plan,
    PlanContext,
    Source,
    SourceItem,
    SourceSettings,
    quarantine_item,
)
from sources.context import ItemContext, ItemOutput
from sources.pet.readers import DICOM_SUFFIXES, SUV_FILE, load_autopet_exam, load_pet_dicom_exam

KIND_NIFTI = "autopet_nifti"
KIND_DICOM = "pet_dicom"
LICENCES = {KIND_NIFTI: "autoPET-FDG-PET-CT-Lesions", KIND_DICOM: "unspecified"}
MAX_REPORT_BYTES = 1_000_000


# ---- settings and plan ----------------------------------------------------------------------


class Settings(SourceSettings):
    """PET/CT exams on disk, one folder each with its report text: autoPET-style NIfTI
    studies (SUV.nii.gz, optional CTres.nii.gz and SEG.nii.gz on the PET grid) or DICOM
    exams (a PET series, optionally a CT series; SUV computed from the headers)."""

    kind: Literal["autopet_nifti", "pet_dicom"]
    root: Path
    report_name: str = "report.txt"  # in each exam folder
    organ_masks: str | None = "organ_masks"  # in each exam folder: a folder with one NIfTI
    # per TotalSegmentator class, or one multilabel NIfTI, on the PET grid; absent is fine
    # (no host organs)
    slice_base: int = Field(default=1, ge=0, le=1)  # NIfTI: reports count stored slices from
    licence: str | None = None  # default: the reader's licence id
    optional: bool = False


@dataclass(frozen=True)
class ExamSettings:
    """The per-item settings of an exam (``SourceItem.settings``)."""

    organ_masks: str | None
    slice_base: int = 1


def exam_folders(root: Path, kind: str) -> list[Path]:
    """autoPET: every folder holding SUV.nii.gz. DICOM: every folder right under root that
    holds DICOM files (at any depth)."""
    if kind == KIND_NIFTI:
        return sorted({p.parent for p in root.rglob(SUV_FILE) if p.is_file()})
    return sorted(
        d
        for d in root.iterdir()
        if d.is_dir() and any(p.suffix.lower() in DICOM_SUFFIXES for p in d.rglob("*"))
    )


def _inputs(folder: Path, kind: str, report: Path, organ_masks: str | None) -> list[Path]:
    if kind == KIND_DICOM:
        files = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in DICOM_SUFFIXES]
    else:
        files = [folder / n for n in (SUV_FILE, "CTres.nii.gz", "SEG.nii.gz")]
    if organ_masks:
        masks = folder / organ_masks
        files += sorted(masks.glob("*.nii*")) if masks.is_dir() else [masks]
    return sorted(p for p in [*files, report] if p.is_file())


def plan_pet_exams(
    *,
    dataset: str,
    kind: str,
    root: Path,
    report_name: str,
    organ_masks: str | None,
    slice_base: int,
    licence: str | None,
    ids: Pseudonymizer,
    source_kind: str | None = None,
) -> Plan:
    """One item per exam folder; an exam without its report is set aside here."""
    plan = Plan()
    for folder in exam_folders(root, kind):
        rel = folder.relative_to(root).as_posix()
        report = folder / report_name
        if not report.is_file():
            plan.quarantine.append(
                quarantine_item(
                    dataset,
                    Reason.REPORT_MISSING,
                    f"exam folder {rel}: no {report_name} beside the images",
                    str(folder),
                    stage=Stage.PLAN,
                    item_id=ids.study(dataset, f"{rel}#mip"),
                )
            )
            continue
        files = tuple(
            InputFile.of("report" if p == report else "exam", p)
            for p in _inputs(folder, kind, report, organ_masks)
        )
        plan.items.append(
            SourceItem(
                dataset=dataset,
                kind=source_kind or kind,
                reader=kind,
                item_id=rel,
                patient_key=rel.split("/")[0],
                path=str(folder),
                labels_file=str(report),
                rows=(),
                licence=licence or LICENCES[kind],
                extractor=EXTRACTOR,
                extractor_version=EXTRACTOR_VERSION,
                modality="PT",
                file_size=sum(f.size for f in files),
                file_mtime_ns=max(f.mtime_ns for f in files),
                inputs=files,
                settings=ExamSettings(organ_masks=organ_masks, slice_base=slice_base),
            )
        )
    return plan


# ---- read -----------------------------------------------------------------------------------


def load_exam(item: SourceItem) -> tuple[PetVolume, str]:
    """The exam's volume and report text (ItemError when either cannot be used)."""
    folder = Path(item.path)
    try:
        return _load_exam(item, folder)
    except ItemError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        # a malformed header or volume the readers did not foresee: the exam, not the run
        reason = Reason.VOLUME_READ_ERROR if item.reader == KIND_NIFTI else Reason.DICOM_READ_ERROR
        raise ItemError(
            reason, f"{folder.name}: cannot be read ({type(exc).__name__}: {exc})"
        ) from None


def _load_exam(item: SourceItem, folder: Path) -> tuple[PetVolume, str]:
    settings: ExamSettings = item.settings
    if item.reader == KIND_NIFTI:
        volume = load_autopet_exam(
            folder, slice_base=settings.slice_base, organ_masks=settings.organ_masks
        )
    else:
        volume = load_pet_dicom_exam(folder, organ_masks=settings.organ_masks)
    report = Path(item.labels_file)
    data = report.read_bytes()[:MAX_REPORT_BYTES]
    return volume, data.decode("utf-8", errors="replace")


# ---- process --------------------------------------------------------------------------------


def _mention_row(item: SourceItem, main_id: str, number: int, r: MentionResult) -> QuarantineRow:
    assert r.rejection is not None
    m = r.mention
    where = f"slice {m.slice}" if m.slice is not None else "no slice"
    return QuarantineRow(
        stage=Stage.FINDINGS.value,
        reason=r.rejection.reason.value,
        unit=Unit.MENTION.value,
        message=f"SUV {m.suv:g} ({m.role}, {where}): {r.rejection.message}",
        source_dataset=item.dataset,
        source_ref=item.labels_file,
        item_id=main_id,
        row_number=number,
    )


def _sentence_numbers(labels: ExamLabels) -> dict[int, int]:
    """1-based sentence number of each mention (by the sentence's offset in the report)."""
    starts = sorted({r.mention.sentence_start for r in labels.results})
    return {id(r): starts.index(r.mention.sentence_start) + 1 for r in labels.results}


def process_pet_exam(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """Read the exam, label it, render the MIP and each reported axial slice, and build the
    records; every mention without a label becomes a quarantine row."""
    main_id = ctx.ids.study(item.dataset, f"{item.item_id}#mip")
    try:
        volume, report = load_exam(item)
    except ItemError as exc:
        return ItemOutput(
            quarantine=[
                quarantine_item(
                    item.dataset,
                    exc.reason,
                    exc.message,
                    item.path,
                    stage=Stage.READ,
                    item_id=main_id,
                )
            ]
        )
    labels = label_exam(volume, report)
    if not labels.results:
        return ItemOutput(
            quarantine=[
                quarantine_item(
                    item.dataset,
                    Reason.NO_SUV_MENTION,
                    f"{Path(item.labels_file).name}: the report states no SUV value",
                    item.labels_file,
                    stage=Stage.FINDINGS,
                    item_id=main_id,
                )
            ]
        )
    numbers = _sentence_numbers(labels)
    rows = [_mention_row(item, main_id, numbers[id(r)], r) for r in labels.rejected]
    if not labels.assigned:
        rows.append(
            quarantine_item(
                item.dataset,
                Reason.NO_USABLE_LABELS,
                f"{Path(item.labels_file).name}: none of its {len(labels.results)} SUV "
                "mention(s) gives a lesion label",
                item.labels_file,
                stage=Stage.FINDINGS,
                item_id=main_id,
            )
        )
        return ItemOutput(quarantine=rows)
    return _publish(item, ctx, volume, labels, main_id, rows)


def _study(
    item: SourceItem, ctx: ItemContext, study_id: str, pixels, view: str, grid: tuple[int, int]
) -> Study:
    return ctx.publish_study(item, study_id, pixels, view=view, modality="PT", source_size=grid)[0]


def _publish(
    item: SourceItem,
    ctx: ItemContext,
    volume: PetVolume,
    labels: ExamLabels,
    main_id: str,
    rows: list[QuarantineRow],
) -> ItemOutput:
    nx, ny, nz = volume.shape
    mip = _study(item, ctx, main_id, coronal_mip(volume), "coronal_mip", (nx, nz))
    studies = [mip]
    axial: dict[int, Study] = {}
    findings: list[Finding] = []
    lesions: list[LesionLabel] = []
    organ_boxes: dict[str, NamedBox | None] = {}
    numbers = _sentence_numbers(labels)
    for r in labels.assigned:
        lesion = r.lesion
        assert lesion is not None
        z = lesion.z_reported
        if z not in axial:
            sid = ctx.ids.study(item.dataset, f"{item.item_id}#axial{z}")
            axial[z] = _study(item, ctx, sid, axial_image(volume, z), "axial", (nx, ny))
            studies.append(axial[z])
        a_box = axial_box(lesion.mask, lesion.offset, z, volume.shape)
        m_box = coronal_box(lesion.mask, lesion.offset, volume.shape)
        assert a_box is not None and m_box is not None  # the label is not empty on slice z
        organ = lesion.host_organ
        if organ and organ not in organ_boxes:
            organ_boxes[organ] = _organ_box(volume, organ)
        key = stable_id("pet", item.dataset, item.item_id, numbers[id(r)], r.mention.start)
        finding_ids = []
        for study, box in ((axial[z], a_box), (mip, m_box)):
            finding = Finding(
                finding_id=stable_id("finding", study.study_id, key),
                study_id=study.study_id,
                patient_id=study.patient_id,
                label=LABEL,
                present=True,
                box=NamedBox.of(box, LABEL),
                source_row=numbers[id(r)],
                extractor=EXTRACTOR,
                extractor_version=EXTRACTOR_VERSION,
                confidence=lesion.confidence,
            )
            findings.append(finding)
            finding_ids.append(finding.finding_id)
        lesions.append(
            LesionLabel(
                key=key,
                sentence=deidentify(r.mention.sentence),
                suv=r.mention.suv,
                laterality=r.mention.laterality,
                organ=organ_phrase(organ) if organ else None,
                relation=lesion.host_relation,
                axial=axial[z],
                axial_box=NamedBox.of(a_box, LABEL),
                mip_box=NamedBox.of(m_box, LABEL),
                organ_mip_box=organ_boxes.get(organ) if organ else None,
                confidence=lesion.confidence,
                finding_ids=tuple(finding_ids),
            )
        )
    liver_box = _organ_box(volume, "liver") if labels.liver_source == "liver mask" else None
    exam = ExamContext(
        mip=mip,
        liver_suv=labels.liver_reference,
        liver_mip_box=liver_box,
        extractor=EXTRACTOR,
        extractor_version=EXTRACTOR_VERSION,
        fused=volume.ct is not None,
    )
    records = build_pet_records(lesions, exam, seed=ctx.records_seed, chains=ctx.chains)
    if ctx.sequences and volume.ct is not None:
        records += _crossmodal(item, ctx, volume, lesions, axial, studies)
    return ItemOutput(studies=studies, findings=findings, records=records, quarantine=rows)


def _crossmodal(
    item: SourceItem,
    ctx: ItemContext,
    volume: PetVolume,
    lesions: list[LesionLabel],
    axial: dict[int, Study],
    studies: list[Study],
) -> list[SequenceRecord]:
    """CT <-> PET records: each lesion on its axial slice of CT alone and of PET alone."""
    records: list[SequenceRecord] = []
    slices: dict[tuple[str, int], Study] = {}
    z_of = {study.study_id: z for z, study in axial.items()}
    for lesion in lesions:
        z = z_of[lesion.axial.study_id]
        pair = []
        for modality, render in (("CT", axial_ct_image), ("PT", axial_pet_image)):
            if (modality, z) not in slices:
                slices[(modality, z)] = ctx.derived_study(
                    item, f"{modality.lower()}-axial{z}", render(volume, z), f"axial {z}", modality
                )
                studies.append(slices[(modality, z)])
            pair.append(slices[(modality, z)])
        provenance = Provenance.of(pair[0], EXTRACTOR, EXTRACTOR_VERSION, lesion.confidence)
        records += pet_crossmodal(
            pair[0],
            pair[1],
            lesion.axial_box.box,
            LABEL,
            key=lesion.key,
            seed=ctx.records_seed,
            provenance=provenance,
        )
    return records


def _organ_box(volume: PetVolume, organ: str) -> NamedBox | None:
    """An organ mask's box on the coronal MIP, named by the organ."""
    if volume.organs is None:
        return None
    mask = volume.organs.mask(organ)
    box = coronal_box(mask, (0, 0, 0), volume.shape)
    return NamedBox.of(box, organ) if box is not None else None


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """One item per exam folder of a configured PET/CT source."""
    return plan_pet_exams(
        dataset=settings.dataset,
        kind=settings.kind,
        root=settings.root,
        report_name=settings.report_name,
        organ_masks=settings.organ_masks,
        slice_base=settings.slice_base,
        licence=settings.licence,
        ids=ctx.ids,
    )


SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process_pet_exam,
    layout="one folder per exam: autoPET NIfTI (SUV.nii.gz, CTres.nii.gz, SEG.nii.gz) or a "
    "DICOM PET (+CT) series, report_name beside it, organ_masks optional",
    licences=(
        Licence(
            "autoPET-FDG-PET-CT-Lesions",
            "Creative Commons Attribution 4.0 (TCIA FDG-PET-CT-Lesions, autoPET challenge)",
            "https://doi.org/10.7937/gkr0-xv29",
            "Gatidis S, Kuestner T. A whole-body FDG-PET/CT dataset with manually annotated "
            "tumor lesions (FDG-PET-CT-Lesions). The Cancer Imaging Archive, 2022.",
        ),
    ),
)
