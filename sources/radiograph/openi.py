"""OpenI, the Indiana University chest X-ray collection (Demner-Fushman et al. 2016): 3,955
radiology reports, each with the PNGs of its study (frontal and lateral).

Read as NLM distributes it: ``ecgen-radiology/<n>.xml`` (``AbstractText`` sections FINDINGS
and IMPRESSION, MeSH terms, and one ``parentImage id="CXR1_1_IM-0001-3001"`` per image of the
study), the PNGs ``<id>.png`` of ``NLMCXR_png.tgz`` unpacked anywhere under ``images_dir``
(searched recursively), and optionally ``nlmcxr_dicom_metadata.csv.gz`` (the DICOM headers
of every image, keyed by ``imageid``) to tell the views apart.

The study's frontal image: the first ``parentImage`` whose metadata ``View Position`` is
PA or AP; else the first one the metadata does not call lateral (LL, RL, LATERAL); without
the metadata file, the first ``parentImage``. Every report is a label row: it becomes an item
(records from its findings, ``sources.radiograph.report_images``) or one quarantine row:
no FINDINGS/IMPRESSION text (``report_missing``), no image (``report_no_image``), only
lateral images (``no_frontal_view``), the chosen PNG absent (``file_missing``), or not XML.
One study per report, and one patient per report (the collection gives no patient id).
The MeSH terms are not read as labels (they are the report extractor's gold:
``extractors.reports.openi``)."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from schemas.enums import Reason, Stage
from shards.label_methods import LabelMethod
from shards.licences import Licence
from sources.base import (
    InputFile,
    Plan,
    PlanContext,
    Source,
    SourceItem,
    SourceSettings,
    index_files,
    quarantine_row,
)
from sources.radiograph.csv_labels import SourceError
from sources.radiograph.mimic import open_text
from sources.radiograph.report_images import ReportItem, process_report_image

KIND = "openi"
EXTRACTOR = "sources.openi"
VERSION = "1"
METADATA_CSV = "nlmcxr_dicom_metadata.csv.gz"
FRONTAL = frozenset({"PA", "AP"})
LATERAL = frozenset({"LL", "RL", "LATERAL", "LARGE LATERAL"})

LICENCE = Licence(
    "OpenI-IU-CXR",
    "Creative Commons Attribution-NonCommercial-NoDerivatives 4.0 (CC BY-NC-ND 4.0, as each "
    "report states); NLM Open-i terms of use: cite the collection",
    "https://openi.nlm.nih.gov/faq#collection",
    "Demner-Fushman D, Kohli MD, Rosenman MB, Shooshan SE, Rodriguez L, Antani S, Thoma GR, "
    "McDonald CJ. Preparing a collection of radiology examinations for distribution and "
    "retrieval. J Am Med Inform Assoc 2016;23(2):304-310.",
)


class Settings(SourceSettings):
    """OpenI as downloaded: ``{kind: openi, root: <folder>}`` reads ``ecgen-radiology/*.xml``,
    the metadata CSV when present, and the PNGs under root."""

    kind: Literal["openi"]
    root: Path
    reports_dir: str = "ecgen-radiology"  # relative to root
    images_dir: str = "."  # relative to root, searched recursively
    metadata_csv: str | None = METADATA_CSV  # relative to root; absent or null: not read
    licence: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class OpenIReport:
    """One report file: its number, whether it has text, its images in order."""

    number: int
    path: Path
    has_text: bool
    images: tuple[str, ...]


def report_files(folder: Path) -> list[Path]:
    """The ``<n>.xml`` files of a folder, in report-number order."""
    if not folder.is_dir():
        raise SourceError(f"reports folder not found: {folder} (set reports_dir)")
    files = [p for p in folder.glob("*.xml") if p.stem.isdigit()]
    return sorted(files, key=lambda p: int(p.stem))


def read_report_file(path: Path) -> OpenIReport:
    """A report's text presence and ``parentImage`` ids; ET.ParseError when not XML."""
    root = ET.fromstring(path.read_bytes())
    parts = {(a.get("Label") or "").upper(): (a.text or "") for a in root.iter("AbstractText")}
    has_text = bool(parts.get("FINDINGS", "").strip() or parts.get("IMPRESSION", "").strip())
    images = tuple(dict.fromkeys(p.get("id") for p in root.iter("parentImage") if p.get("id")))
    return OpenIReport(int(path.stem), path, has_text, images)


def read_views(path: Path) -> dict[str, str]:
    """Image id -> ``View Position`` (upper case, "" when blank) of the metadata CSV."""
    with open_text(path) as f:
        reader = csv.DictReader(f)
        if "imageid" not in (reader.fieldnames or []):
            raise SourceError(f"{path}: no 'imageid' column")
        return {r["imageid"]: (r.get("View Position") or "").strip().upper() for r in reader}


def frontal_choice(images: tuple[str, ...], views: dict[str, str] | None) -> tuple[str, str] | None:
    """The frontal image of a study and the rule that chose it; None when every image is
    stated lateral."""
    if views is None:
        return images[0], "first parentImage (no metadata CSV)"
    for image in images:
        if views.get(image, "") in FRONTAL:
            return image, f"metadata View Position {views[image]}"
    for image in images:
        if views.get(image, "") not in LATERAL:
            return image, "first parentImage the metadata does not call lateral"
    return None


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """One item per report with text and a frontal PNG on disk; one quarantine row for every
    other report."""
    dataset = settings.dataset
    out = Plan()
    meta = settings.root / settings.metadata_csv if settings.metadata_csv else None
    views = read_views(meta) if meta is not None and meta.is_file() else None
    if views is None:
        out.notes.append(f"{dataset}: no metadata CSV; the frontal image is the first listed")
    images_dir = settings.root / settings.images_dir
    pngs = index_files(images_dir, (".png",))
    n_images = 0
    rules: dict[str, int] = {}
    for path in report_files(settings.root / settings.reports_dir):
        out.n_label_rows += 1
        number = int(path.stem)

        def reject(reason: Reason, message: str, item_id: str | None = None, p=path, n=number):
            out.quarantine.append(
                quarantine_row(
                    dataset, reason, message, str(p), n, stage=Stage.PLAN, item_id=item_id
                )
            )

        try:
            report = read_report_file(path)
        except (ET.ParseError, OSError) as exc:
            reject(Reason.BAD_CSV_ROW, f"report {path.name}: not readable as XML: {exc}")
            continue
        if not report.has_text:
            reject(Reason.REPORT_MISSING, f"report {path.name}: no FINDINGS or IMPRESSION text")
            continue
        if not report.images:
            reject(Reason.REPORT_NO_IMAGE, f"report {path.name}: names no parentImage")
            continue
        chosen = frontal_choice(report.images, views)
        if chosen is None:
            reject(
                Reason.NO_FRONTAL_VIEW,
                f"report {path.name}: its {len(report.images)} image(s) are all lateral "
                "in the metadata CSV",
            )
            continue
        image_id, rule = chosen
        n_images += len(report.images)
        rules[rule] = rules.get(rule, 0) + 1
        study_id = ctx.ids.study(dataset, image_id)
        files = pngs.get(f"{image_id}.png", [])
        if not files:
            reject(
                Reason.FILE_MISSING,
                f"report {path.name}: its frontal image {image_id}.png ({rule}) is not under "
                f"{images_dir}; the report is not used",
                study_id,
            )
            continue
        stat = files[0].stat()
        out.items.append(
            SourceItem(
                dataset=dataset,
                kind=KIND,
                reader="png",
                item_id=image_id,
                patient_key=f"report-{number}",
                path=str(files[0]),
                labels_file=str(path),
                rows=(),
                licence=settings.licence or LICENCE.id,
                extractor=EXTRACTOR,
                extractor_version=VERSION,
                modality="XR",
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
                inputs=(InputFile.of("report", path),),
                settings=ReportItem("openi_xml", rule),
            )
        )
    chosen_by = ", ".join(f"{n} by {rule}" for rule, n in sorted(rules.items()))
    out.notes.append(
        f"{dataset}: {out.n_label_rows} report(s); {sum(rules.values())} with text and a frontal "
        f"image among their {n_images} image(s), chosen: {chosen_by or 'none'}"
    )
    return out


LABEL_METHOD = LabelMethod(
    EXTRACTOR,
    "weak",
    "OpenI (IU) report findings and negations by the rule-based report extractor, as "
    "presence records on the study's frontal image",
    "the extractor's figures on the 800 IU reports against MeSH (extractors.reports); "
    "frontal image chosen by the DICOM View Position",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process_report_image,
    layout="reports_dir ecgen-radiology/<n>.xml (FINDINGS / IMPRESSION AbstractText, "
    'parentImage id="CXR<n>_..."), + <parentImage id>.png under images_dir, + '
    "nlmcxr_dicom_metadata.csv.gz (imageid, View Position) to pick the frontal image",
    licences=(LICENCE,),
    label_methods=(LABEL_METHOD,),
)
