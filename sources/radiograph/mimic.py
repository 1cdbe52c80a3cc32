"""The MIMIC-CXR / MIMIC-CXR-JPG file layout, shared by the kinds that read it (Chest
ImaGenome, MIMIC-CXR reports): where a study's report and images are, the metadata CSV
(``mimic-cxr-2.0.0-metadata.csv``, plain or ``.gz``), and which image of a study is frontal.

Layout (PhysioNet): ``files/p<first 2 digits of subject>/p<subject>/s<study>.txt`` (the
report) and ``files/pXX/p<subject>/s<study>/<dicom_id>.jpg`` (MIMIC-CXR-JPG images). The
metadata CSV has ``dicom_id, subject_id, study_id, PerformedProcedureStepDescription,
ViewPosition, Rows, Columns, StudyDate, StudyTime, ...``; only the columns below are read,
and no value of it reaches a published file (dates only order a patient's studies)."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

METADATA_CSV = "mimic-cxr-2.0.0-metadata.csv"
METADATA_COLUMNS = ("dicom_id", "subject_id", "study_id", "ViewPosition")
FRONTAL_VIEWS = ("PA", "AP")  # in order of preference


class MetadataError(ValueError):
    """A metadata file that cannot be read (absent, no header, a column missing)."""


@dataclass(frozen=True)
class MimicImage:
    """One row of the metadata CSV (``row``: 1-based data row)."""

    dicom_id: str
    subject_id: str
    study_id: str
    view: str  # ViewPosition as written ("" when blank)
    study_date: str
    study_time: str
    row: int

    @property
    def frontal(self) -> bool:
        return self.view.upper() in FRONTAL_VIEWS

    @property
    def when(self) -> tuple[str, str]:
        """Sort key of the study in the patient's timeline: date, time (the metadata's
        ``YYYYMMDD`` and ``HHMMSS.fff``). Study ids are random, not chronological, so two
        studies of one date and time are a tie (no order, no pair), not ordered by id."""
        return (self.study_date, self.study_time)


def subject_dir(root: Path, subject_id: str) -> Path:
    return root / "files" / f"p{subject_id[:2]}" / f"p{subject_id}"


def image_path(root: Path, subject_id: str, study_id: str, dicom_id: str) -> Path:
    return subject_dir(root, subject_id) / f"s{study_id}" / f"{dicom_id}.jpg"


def report_path(root: Path, subject_id: str, study_id: str) -> Path:
    return subject_dir(root, subject_id) / f"s{study_id}.txt"


def bare_id(value: str, prefix: str) -> str:
    """A subject or study id without the ``p`` / ``s`` some tables write before it."""
    value = value.strip()
    return value[1:] if value[:1].lower() == prefix and value[1:].isdigit() else value


def open_text(path: Path) -> io.TextIOBase:
    """A CSV, plain or gzipped (by its magic bytes), as text."""
    with path.open("rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if gz:
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def find_metadata(root: Path, name: str | None) -> Path | None:
    """The metadata CSV under ``root``: ``name`` if given, else the published name, plain
    or ``.gz``; None when there is none."""
    names = [name] if name else [METADATA_CSV, METADATA_CSV + ".gz"]
    return next((root / n for n in names if (root / n).is_file()), None)


def read_metadata(path: Path) -> list[MimicImage]:
    """Every row of the metadata CSV (rows with an empty id are left to the caller)."""
    try:
        with open_text(path) as f:
            reader = csv.DictReader(f)
            missing = [c for c in METADATA_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise MetadataError(f"{path}: column(s) {missing} missing")
            return [
                MimicImage(
                    (r.get("dicom_id") or "").strip(),
                    bare_id(r.get("subject_id") or "", "p"),
                    bare_id(r.get("study_id") or "", "s"),
                    (r.get("ViewPosition") or "").strip(),
                    (r.get("StudyDate") or "").strip(),
                    (r.get("StudyTime") or "").strip(),
                    n,
                )
                for n, r in enumerate(reader, start=1)
            ]
    except (OSError, UnicodeDecodeError, csv.Error, EOFError) as exc:
        raise MetadataError(f"{path}: not readable as CSV: {exc}") from None


def frontal_image(images: Iterable[MimicImage]) -> MimicImage | None:
    """The study's frontal image: PA before AP, then the smallest dicom_id; None when no
    image of the study is frontal."""
    frontal = [i for i in images if i.frontal]
    if not frontal:
        return None
    return min(frontal, key=lambda i: (FRONTAL_VIEWS.index(i.view.upper()), i.dicom_id))
