"""MIMIC-CXR reports (Johnson et al. 2019) with the MIMIC-CXR-JPG images of their study.

Read as PhysioNet publishes them: the free-text reports ``files/pXX/p<subject>/s<study>.txt``
(sectioned: FINDINGS:, IMPRESSION:, ...; ``mimic-cxr-reports.zip`` unpacked under
``reports_root``, default ``root``), the JPGs ``files/pXX/p<subject>/s<study>/<dicom_id>.jpg``
under ``root``, and ``mimic-cxr-2.0.0-metadata.csv(.gz)`` (``dicom_id, subject_id,
study_id, ViewPosition, Rows, Columns, StudyDate, StudyTime, ...``) that says each image's
view (``sources.radiograph.mimic``).

One item per study: its frontal image (PA before AP, then the smallest dicom_id) and its
report; the report's findings become presence and negation records on that image
(``sources.radiograph.report_images``). With ``imagenome_root`` set (a Chest ImaGenome
download), a study whose frontal image has a silver scene graph also gets its present
findings grounded on the graph's regions for the anatomy the sentence names.

Every study of the metadata is a label row: an item, or one quarantine row: no frontal image
(``no_frontal_view``), no report (``report_missing``), the JPG absent (``file_missing``).
Metadata rows without ids are ``bad_csv_row``. The study's other images (laterals, a second
frontal) are not inputs (a note counts them). Dates only order studies; none is published."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Literal

from schemas.enums import Reason, Stage
from schemas.records import QuarantineRow
from shards.label_methods import LabelMethod
from shards.licences import Licence
from sources.base import (
    InputFile,
    Plan,
    PlanContext,
    Source,
    SourceItem,
    SourceSettings,
    quarantine_row,
)
from sources.radiograph.chest_imagenome import scene_graph_path
from sources.radiograph.csv_labels import SourceError
from sources.radiograph.mimic import (
    METADATA_CSV,
    MetadataError,
    MimicImage,
    find_metadata,
    frontal_image,
    image_path,
    read_metadata,
    report_path,
)
from sources.radiograph.report_images import ReportItem, process_report_image

KIND = "mimic_cxr"
EXTRACTOR = "sources.mimic_cxr"
VERSION = "1"

LICENCE = Licence(
    "MIMIC-CXR",
    "PhysioNet Credentialed Health Data License 1.5.0 (credentialed access, data use "
    "agreement; do not redistribute)",
    "https://physionet.org/content/mimic-cxr-jpg/2.1.0/",
    "Johnson AEW, Pollard TJ, Berkowitz SJ, Greenbaum NR, Lungren MP, Deng CY, Mark RG, "
    "Horng S. MIMIC-CXR, a de-identified publicly available database of chest radiographs "
    "with free-text reports. Sci Data 2019;6:317. Images: Johnson AEW et al. MIMIC-CXR-JPG, "
    "arXiv:1901.07042, 2019.",
)


class Settings(SourceSettings):
    """MIMIC-CXR-JPG with the MIMIC-CXR reports: ``{kind: mimic_cxr, root: <folder>}`` reads
    the metadata CSV, reports and JPGs under root."""

    kind: Literal["mimic_cxr"]
    root: Path
    metadata_csv: str | None = None  # relative to root; default the published name (.gz too)
    reports_root: Path | None = None  # the folder holding the reports' files/; default root
    imagenome_root: Path | None = None  # a Chest ImaGenome download: region boxes
    scene_graph_dir: str = "silver_dataset/scene_graph"  # relative to imagenome_root
    licence: str | None = None
    optional: bool = False


def metadata_images(
    root: Path, name: str | None, dataset: str
) -> tuple[Path, list[MimicImage], list[QuarantineRow]]:
    """The metadata CSV under ``root`` (``name``, else the published name), its rows with
    an image id and numeric subject and study ids, and one ``bad_csv_row`` per other row;
    a file absent or unreadable is a SourceError naming it."""
    meta = find_metadata(root, name)
    if meta is None:
        raise SourceError(
            f"metadata CSV not found under {root}: expected "
            f"{name or METADATA_CSV + '(.gz)'} (set metadata_csv)"
        )
    try:
        rows = read_metadata(meta)
    except MetadataError as exc:
        raise SourceError(str(exc)) from None
    good, bad = [], []
    for r in rows:
        if r.dicom_id and r.subject_id.isdigit() and r.study_id.isdigit():
            good.append(r)
            continue
        bad.append(
            quarantine_row(
                dataset,
                Reason.BAD_CSV_ROW,
                f"row {r.row}: dicom_id {r.dicom_id!r}, subject_id {r.subject_id!r}, "
                f"study_id {r.study_id!r}: expected an image id and two numbers",
                str(meta),
                r.row,
                stage=Stage.PLAN,
            )
        )
    return meta, good, bad


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """One item per study with a frontal JPG and a report; one quarantine row per other."""
    dataset = settings.dataset
    out = Plan()
    meta, rows, bad = metadata_images(settings.root, settings.metadata_csv, dataset)
    out.quarantine += bad
    studies: dict[tuple[str, str], list[MimicImage]] = defaultdict(list)
    for r in rows:
        studies[(r.subject_id, r.study_id)].append(r)
    out.n_label_rows = len(studies)
    reports_root = settings.reports_root or settings.root
    not_inputs = 0
    for (subject, study), images in sorted(studies.items()):
        first = min(images, key=lambda i: i.row)

        def reject(reason: Reason, message: str, item_id: str | None = None, row=first.row):
            out.quarantine.append(
                quarantine_row(
                    dataset, reason, message, str(meta), row, stage=Stage.PLAN, item_id=item_id
                )
            )

        frontal = frontal_image(images)
        if frontal is None:
            views = sorted({i.view or "blank" for i in images})
            reject(
                Reason.NO_FRONTAL_VIEW,
                f"study s{study} (row {first.row}): no PA or AP image among its "
                f"{len(images)} (ViewPosition {', '.join(views)})",
            )
            continue
        not_inputs += len(images) - 1
        study_id = ctx.ids.study(dataset, frontal.dicom_id)
        report = report_path(reports_root, subject, study)
        if not report.is_file():
            reject(
                Reason.REPORT_MISSING,
                f"study s{study}: its report {report} is not there (set reports_root)",
                study_id,
            )
            continue
        image = image_path(settings.root, subject, study, frontal.dicom_id)
        if not image.is_file():
            reject(
                Reason.FILE_MISSING,
                f"study s{study}: its frontal image {frontal.dicom_id}.jpg (row "
                f"{frontal.row}, {frontal.view}) is not at {image}",
                study_id,
            )
            continue
        inputs = [InputFile.of("report", report)]
        if settings.imagenome_root is not None:
            graph = scene_graph_path(
                settings.imagenome_root, settings.scene_graph_dir, frontal.dicom_id
            )
            if graph.is_file():
                inputs.append(InputFile.of("scene_graph", graph))
        stat = image.stat()
        out.items.append(
            SourceItem(
                dataset=dataset,
                kind=KIND,
                reader="jpeg",
                item_id=frontal.dicom_id,
                patient_key=subject,
                path=str(image),
                labels_file=str(meta),
                rows=(),
                licence=settings.licence or LICENCE.id,
                extractor=EXTRACTOR,
                extractor_version=VERSION,
                modality="XR",
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
                inputs=tuple(inputs),
                settings=ReportItem("mimic_txt", f"ViewPosition {frontal.view.upper()}"),
            )
        )
    if not_inputs:
        out.notes.append(
            f"{dataset}: {not_inputs} image(s) besides each study's frontal one (laterals, "
            "further frontals) are not inputs"
        )
    return out


LABEL_METHOD = LabelMethod(
    EXTRACTOR,
    "weak",
    "MIMIC-CXR report findings and negations by the rule-based report extractor, on the "
    "study's frontal MIMIC-CXR-JPG image; grounded on Chest ImaGenome silver regions where a "
    "scene graph exists",
    "the extractor's figures on the 800 IU reports (extractors.reports); not re-measured on "
    "MIMIC-CXR",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process_report_image,
    layout="mimic-cxr-2.0.0-metadata.csv(.gz) (dicom_id, subject_id, study_id, ViewPosition, "
    "...) + reports files/pXX/p<subject>/s<study>.txt under reports_root + JPGs "
    "files/pXX/p<subject>/s<study>/<dicom_id>.jpg; optional imagenome_root scene graphs",
    licences=(LICENCE,),
    label_methods=(LABEL_METHOD,),
)
