"""A small PET/CT exam corpus the project generates itself (``extractors.pet.phantom`` on a
synthetic body), written in the autoPET layout and read back by the real reader, so the demo
and the tests run the whole PET path on any machine.

Per exam: ``PETCT_<n>/study/`` with ``SUV.nii.gz``, ``CTres.nii.gz``, ``SEG.nii.gz`` (the
inserted lesions), ``organ_masks.nii.gz`` (TotalSegmentator "total" class ids), the report
``report.txt`` and ``truth.json`` (what each mention is; for tests and benchmarks, not read
by the pipeline). Files are stored in the orientation the phantom drew (RAS, LPS, LPI...),
so reading them exercises reorientation and the report's slice numbering. Same parameters,
same files: an unchanged corpus is left as it is.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from extractors.pet.phantom import PhantomExam, generate_exam, synthetic_anatomy
from extractors.volume import stored_as, totalseg_ids
from shards.licences import CC0
from sources.base import Plan, PlanContext, Source, SourceSettings
from sources.pet.exam import KIND_NIFTI, plan_pet_exams, process_pet_exam

KIND = "synthetic_pet"
VERSION = "1"
LICENCE = "CC0-1.0"
REPORT = "report.txt"
ORGANS = "organ_masks.nii.gz"
TRUTH = "truth.json"
_MARKER = ".complete.json"


def write_exam(folder: Path, exam: PhantomExam) -> None:
    """One phantom exam in the autoPET layout, plus its report and truth."""
    import nibabel as nib

    folder.mkdir(parents=True, exist_ok=True)
    ids = totalseg_ids()
    organ_ids = np.zeros(exam.organs.labels.shape, dtype=np.int16)
    for label, name in exam.organs.names.items():
        organ_ids[exam.organs.labels == label] = ids[name]
    for name, data in (
        ("SUV.nii.gz", exam.suv.astype(np.float32)),
        ("CTres.nii.gz", exam.ct.astype(np.int16)),
        ("SEG.nii.gz", exam.seg.astype(np.uint8)),
        (ORGANS, organ_ids),
    ):
        stored, affine = stored_as(data, exam.affine, exam.file_orientation)
        img = nib.Nifti1Image(stored, affine)
        img.set_qform(affine, code=1)
        img.set_sform(affine, code=1)
        nib.save(img, str(folder / name))
    (folder / REPORT).write_text("FINDINGS:\n" + "\n".join(exam.sentences) + "\n")
    truth = {
        "file_orientation": exam.file_orientation,
        "sentences": exam.sentences,
        "mentions": [asdict(t) for t in exam.truth],
        "lesions": [asdict(les) for les in exam.lesions],
    }
    (folder / TRUTH).write_text(json.dumps(truth, indent=1) + "\n")


def generate_corpus(root: Path, *, n_exams: int, n_lesions: int, seed: int) -> Path:
    """Write the corpus under root (idempotent)."""
    params = {"n_exams": n_exams, "n_lesions": n_lesions, "seed": seed, "version": VERSION}
    marker = root / _MARKER
    if marker.is_file() and json.loads(marker.read_text()) == params:
        return root
    anatomy = synthetic_anatomy()
    for i in range(n_exams):
        exam = generate_exam(anatomy, seed * 10_000 + i, n_lesions=n_lesions)
        write_exam(root / f"PETCT_{i:04d}" / "study", exam)
    marker.write_text(json.dumps(params))
    return root


class Settings(SourceSettings):
    """PET/CT phantom exams the project generates (autoPET layout, reports with known truth)."""

    kind: Literal["synthetic_pet"]
    n_exams: int = Field(default=3, ge=1, le=1000)
    n_lesions: int = Field(default=4, ge=1, le=12)
    seed: int = 0
    licence: str = "CC0-1.0"
    optional: bool = False


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """Generate the exams into the source's private folder, then plan them as autoPET exams."""
    root = generate_corpus(
        ctx.generated_dir,
        n_exams=settings.n_exams,
        n_lesions=settings.n_lesions,
        seed=settings.seed,
    )
    return plan_pet_exams(
        dataset=settings.dataset,
        kind=KIND_NIFTI,
        root=root,
        report_name=REPORT,
        organ_masks=ORGANS,
        slice_base=1,
        licence=settings.licence,
        ids=ctx.ids,
        source_kind=KIND,
    )


SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process_pet_exam,
    layout="generated: n_exams PET/CT phantom exams in the autoPET layout with reports",
    licences=(CC0,),
)
