"""Planning for datasets that are a label CSV plus a folder of images (NIH ChestX-ray14, RSNA
Pneumonia, and the synthetic corpus in their formats): parse each row on its own, group rows
by image, find each image on disk, and set aside what cannot be used, row by row."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from schemas.enums import Reason, Stage
from schemas.identity import Pseudonymizer
from sources.base import (
    LabelRow,
    Plan,
    PlanContext,
    SourceItem,
    SourceSettings,
    index_files,
    outside_root,
    quarantine_item,
    quarantine_row,
)


class SourceError(ValueError):
    """A source that cannot be read at all (label file missing or unreadable); names the file."""


def named_or_newest(root: Path, name: str | None, glob: str, key: str, what: str) -> Path:
    """A source's label file: the one its settings name (``key``), else the newest published
    version under ``root`` matching ``glob`` (by the numbers in its name: a version or date).
    A missing file raises SourceError naming the setting."""
    if name is not None:
        path = root / name
        if not path.is_file():
            raise SourceError(f"{what} not found: {path} (set {key})")
        return path
    found = sorted(root.glob(glob), key=lambda p: tuple(int(v) for v in re.findall(r"\d+", p.name)))
    if not found:
        raise SourceError(f"no {glob} under {root} (set {key})")
    return found[-1]


class CsvSettings(SourceSettings):
    """A dataset on disk: a label CSV plus a folder of images (searched recursively)."""

    root: Path
    labels_csv: str  # relative to root
    images_dir: str = "images"  # relative to root
    licence: str | None = None  # default: the source's licence id
    optional: bool = False  # when root is absent: skip with a warning instead of failing
    # Known to carry no text on its pixels (checked by its publisher): DICOM images marked
    # BurnedInAnnotation YES are read anyway instead of quarantined (burned_in_annotation).
    burned_in_annotation_clean: bool = False


class RowError(ValueError):
    """One label row that cannot be parsed; the message says which field and why."""


@dataclass(frozen=True)
class ParsedRow:
    image_id: str
    patient_key: str
    label: LabelRow


RowParser = Callable[[dict[str, str], int], ParsedRow]


@dataclass(frozen=True)
class CsvFormat:
    """What is fixed for a CSV dataset kind: columns, row parsing, file naming, the loader."""

    kind: str
    columns: Sequence[str]  # expected header names, found in any order (extras ignored)
    parse_row: RowParser
    file_name: Callable[[str], str]  # image id -> file name on disk
    file_suffixes: Sequence[str]
    reader: str  # sources.imaging.LOADERS key
    licence: str  # default licence id (shards.licences)
    extractor: str
    extractor_version: str
    modality: str
    exhaustive: bool = False  # every instance of a finding has its row (counts are true)


@dataclass(frozen=True)
class CsvSourceSpec:
    """One configured dataset of a CSV format: where its files are and what to call it."""

    format: CsvFormat
    dataset: str
    labels_csv: Path
    images_dir: Path
    licence: str
    extractor: str
    kind: str  # the configured source kind (a generated corpus plans in another's format)
    burned_in_clean: bool = False

    @classmethod
    def at(
        cls,
        fmt: CsvFormat,
        *,
        dataset: str,
        root: Path,
        labels_csv: str,
        images_dir: str,
        licence: str | None = None,
        extractor: str | None = None,
        kind: str | None = None,
        burned_in_clean: bool = False,
    ) -> CsvSourceSpec:
        return cls(
            format=fmt,
            dataset=dataset,
            labels_csv=root / labels_csv,
            images_dir=root / images_dir,
            licence=licence or fmt.licence,
            extractor=extractor or fmt.extractor,
            kind=kind or fmt.kind,
            burned_in_clean=burned_in_clean,
        )

    @classmethod
    def of(cls, fmt: CsvFormat, settings: CsvSettings) -> CsvSourceSpec:
        """The spec of a configured CSV source."""
        return cls.at(
            fmt,
            dataset=settings.dataset,
            root=settings.root,
            labels_csv=settings.labels_csv,
            images_dir=settings.images_dir,
            licence=settings.licence,
            burned_in_clean=settings.burned_in_annotation_clean,
        )


def csv_planner(fmt: CsvFormat):
    """The ``plan`` of a Source that is one CSV format."""

    def plan(settings: CsvSettings, ctx: PlanContext) -> Plan:
        return plan_csv_source(CsvSourceSpec.of(fmt, settings), ctx.ids)

    return plan


def header_names(cells: Sequence[str | None]) -> list[str]:
    """The column names of a header row, NIH's unquoted bounding-box header (one name
    ``Bbox [x,y,w,h]`` split over four cells) read as ``x``, ``y``, ``w``, ``h``."""
    names: list[str] = []
    for cell in cells:
        name = (cell or "").strip()
        if name.lower().startswith("bbox ["):
            name = name[len("bbox [") :]
        if name.endswith("]"):
            name = name[:-1]
        names.append(name.strip())
    return names


def read_label_rows(labels_csv: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    """Rows of a label CSV as strings keyed by the expected column names.

    Columns are found by their header names, in any order (extra columns are ignored); a
    missing or repeated expected name stops the source with an error naming it."""
    if not labels_csv.is_file():
        raise SourceError(f"label file not found: {labels_csv}")
    try:
        frame = pl.read_csv(
            labels_csv, infer_schema=False, has_header=False, truncate_ragged_lines=True
        )
    except Exception as exc:  # polars raises several error types for malformed CSV
        raise SourceError(f"{labels_csv}: cannot be read as CSV: {exc}") from None
    if frame.height == 0:
        raise SourceError(f"{labels_csv}: empty file")
    names = header_names(frame.row(0))
    missing = [c for c in columns if c not in names]
    repeated = sorted({c for c in columns if names.count(c) > 1})
    if missing or repeated:
        problems = []
        if missing:
            problems.append(f"missing column(s) {missing}")
        if repeated:
            problems.append(f"column(s) {repeated} appear more than once")
        raise SourceError(
            f"{labels_csv}: header {names}: {' and '.join(problems)}; expected the columns "
            f"{list(columns)} (in any order)"
        )
    index = {c: names.index(c) for c in columns}
    return [
        {c: ((row[i] if i < len(row) else None) or "").strip() for c, i in index.items()}
        for row in frame.slice(1).iter_rows()
    ]


def parse_float(fields: dict[str, str], name: str) -> float:
    raw = fields.get(name, "")
    try:
        value = float(raw)
    except ValueError:
        raise RowError(f"field {name!r}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise RowError(f"field {name!r}: {raw!r} is not finite")
    return value


def parse_box(fields: dict[str, str], names: Sequence[str]) -> tuple[float, float, float, float]:
    x, y, w, h = (parse_float(fields, n) for n in names)
    if w <= 0 or h <= 0:
        raise RowError(f"box has non-positive size: width {w}, height {h}")
    return (x, y, w, h)


def label_rows_by_image(
    spec: CsvSourceSpec, ids: Pseudonymizer, plan: Plan
) -> tuple[dict[str, list[LabelRow]], dict[str, str]]:
    """The label file's rows, parsed by its format, by image id (in file order), and each
    image's patient key; an unparseable or repeated row becomes a quarantine row of ``plan``
    (which also counts the rows read)."""
    fmt = spec.format
    labels_ref = str(spec.labels_csv)
    rows = read_label_rows(spec.labels_csv, fmt.columns)
    plan.n_label_rows += len(rows)
    by_image: dict[str, list[LabelRow]] = {}
    patient_of: dict[str, str] = {}
    seen: set[tuple[str, str, bool, tuple[float, ...] | None]] = set()
    for row_number, fields in enumerate(rows, start=1):
        try:
            parsed = fmt.parse_row(fields, row_number)
        except RowError as exc:
            plan.quarantine.append(
                quarantine_row(
                    spec.dataset,
                    Reason.BAD_CSV_ROW,
                    str(exc),
                    labels_ref,
                    row_number,
                    stage=Stage.PLAN,
                )
            )
            continue
        key = (parsed.image_id, parsed.label.label, parsed.label.present, parsed.label.box_xywh)
        if key in seen:
            plan.quarantine.append(
                quarantine_row(
                    spec.dataset,
                    Reason.DUPLICATE_ROW,
                    f"repeats an earlier row for {parsed.image_id} ({parsed.label.label})",
                    labels_ref,
                    row_number,
                    stage=Stage.PLAN,
                    item_id=ids.study(spec.dataset, parsed.image_id),
                )
            )
            continue
        seen.add(key)
        by_image.setdefault(parsed.image_id, []).append(parsed.label)
        patient_of.setdefault(parsed.image_id, parsed.patient_key)
    return by_image, patient_of


def plan_csv_source(spec: CsvSourceSpec, ids: Pseudonymizer) -> Plan:
    """Items for every image the label file names, and quarantine rows for rows and files
    that cannot be used (unparseable rows, repeated rows, missing or duplicated files)."""
    fmt = spec.format
    plan = Plan()
    by_image, patient_of = label_rows_by_image(spec, ids, plan)

    files: dict[str, list[Path]] = {}
    for name, found in index_files(spec.images_dir, fmt.file_suffixes).items():
        files.setdefault(name.strip(), []).extend(found)  # label cells are stripped too
    named = {fmt.file_name(image_id) for image_id in by_image}
    unlabelled = sorted(set(files) - named)
    if unlabelled:
        plan.notes.append(
            f"{spec.dataset}: {len(unlabelled)} image file(s) under {spec.images_dir} have no "
            f"row in {spec.labels_csv.name} and are not inputs (e.g. {unlabelled[0]})"
        )

    for image_id in sorted(by_image):
        study_id = ids.study(spec.dataset, image_id)
        paths = files.get(fmt.file_name(image_id), [])
        if not paths:
            plan.quarantine.append(
                quarantine_item(
                    spec.dataset,
                    Reason.FILE_MISSING,
                    f"{spec.labels_csv.name} names {fmt.file_name(image_id)}, which is not "
                    f"under {spec.images_dir} ({len(by_image[image_id])} label row(s) unused)",
                    str(spec.images_dir / fmt.file_name(image_id)),
                    stage=Stage.PLAN,
                    item_id=study_id,
                )
            )
            continue
        for extra in paths[1:]:
            plan.quarantine.append(
                quarantine_item(
                    spec.dataset,
                    Reason.DUPLICATE_IMAGE_ID,
                    f"image id {image_id} is also at {paths[0]}; using that file, not this one",
                    str(extra),
                    stage=Stage.PLAN,
                    item_id=study_id,
                )
            )
        path = paths[0]
        if outside_root(path, spec.images_dir):
            plan.quarantine.append(
                quarantine_item(
                    spec.dataset,
                    Reason.PATH_OUTSIDE_ROOT,
                    f"{path.name} resolves to a file outside the source's images folder "
                    f"{spec.images_dir} (a symbolic link?): not read",
                    str(path),
                    stage=Stage.PLAN,
                    item_id=study_id,
                )
            )
            continue
        kept = _drop_contradictions(spec, image_id, study_id, by_image[image_id], plan)
        stat = path.stat()
        plan.items.append(
            SourceItem(
                dataset=spec.dataset,
                kind=spec.kind,
                reader=fmt.reader,
                item_id=image_id,
                patient_key=patient_of[image_id],
                path=str(path),
                labels_file=str(spec.labels_csv),
                rows=tuple(kept),
                licence=spec.licence,
                extractor=spec.extractor,
                extractor_version=fmt.extractor_version,
                modality=fmt.modality,
                exhaustive=fmt.exhaustive,
                burned_in_clean=spec.burned_in_clean,
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
            )
        )
    return plan


def _drop_contradictions(
    spec: CsvSourceSpec, image_id: str, study_id: str, rows: list[LabelRow], plan: Plan
) -> list[LabelRow]:
    """An absence row for a finding that another row of the same image marks present
    contradicts it: the absence row is set aside, the boxes are kept."""
    present = {r.label for r in rows if r.present}
    kept = []
    for r in rows:
        if not r.present and r.label in present:
            plan.quarantine.append(
                quarantine_row(
                    spec.dataset,
                    Reason.BAD_CSV_ROW,
                    f"row says no {r.label} on {image_id}, another row marks it present",
                    str(spec.labels_csv),
                    r.row_number,
                    stage=Stage.PLAN,
                    item_id=study_id,
                )
            )
        else:
            kept.append(r)
    return kept
