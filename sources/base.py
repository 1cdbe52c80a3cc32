"""What every dataset reader produces: a plan of input items (cheap: label files and file
listings), then, per item, the decoded image. Readers never raise for one bad input: they
return quarantine rows, or raise ``ItemError`` that the read stage turns into one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from schemas.enums import Reason, Stage, Unit
from schemas.records import QuarantineRow


class ItemError(Exception):
    """One input item cannot be used; carries the quarantine reason code."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class LabelRow:
    """One data row of a label file, parsed: a finding with a box (source pixels, top-left
    corner plus size), a finding without box, or an explicit absence."""

    row_number: int  # 1-based data row (the header is row 0)
    label: str  # canonical finding name (records.vocab)
    present: bool
    box_xywh: tuple[float, float, float, float] | None


@dataclass(frozen=True)
class SourceItem:
    """One input item: an image file (or an exam folder) and the labels that name it.
    ``item_id`` and ``patient_key`` are the source's own ids: private, only ever hashed into
    the output. ``reader`` picks the processor (``medsg.processors.PROCESSORS``)."""

    dataset: str
    reader: str  # "png", "dicom" (2D radiographs); volume sources register their own
    item_id: str
    patient_key: str
    path: str
    labels_file: str
    rows: tuple[LabelRow, ...]
    licence: str
    extractor: str
    extractor_version: str
    modality: str
    file_size: int = 0
    file_mtime_ns: int = 0
    exhaustive: bool = False  # the labels list every instance of their findings (counting)
    # Source-specific settings of the item as (key, value) strings, e.g. the report file or
    # the mask folder of a volume; part of the cache fingerprint, so list every input file
    # here with its size and modification time.
    payload: tuple[tuple[str, str], ...] = ()

    def get(self, key: str, default: str | None = None) -> str | None:
        return dict(self.payload).get(key, default)

    def fingerprint(self) -> str:
        """What the item is made of, for cache keys: ids, labels and the file's size/time."""
        return "|".join(
            [
                self.dataset,
                self.item_id,
                self.path,
                str(self.file_size),
                str(self.file_mtime_ns),
                repr(self.rows),
                repr(self.payload),
                str(self.exhaustive),
                self.licence,
                self.extractor_version,
            ]
        )


@dataclass
class Plan:
    """The items a source names, plus what was set aside while listing them."""

    items: list[SourceItem] = field(default_factory=list)
    quarantine: list[QuarantineRow] = field(default_factory=list)
    n_label_rows: int = 0
    notes: list[str] = field(default_factory=list)

    def extend(self, other: Plan) -> None:
        self.items.extend(other.items)
        self.quarantine.extend(other.quarantine)
        self.n_label_rows += other.n_label_rows
        self.notes.extend(other.notes)


@dataclass(frozen=True)
class LoadedImage:
    """A decoded 2D image as 8-bit grayscale, and the view when the file says it."""

    pixels: np.ndarray  # uint8, shape (height, width)
    view: str | None = None


def index_files(root: Path, suffixes: Iterable[str]) -> dict[str, list[Path]]:
    """Files under root by name (recursive, sorted), to find each image a label file names.
    More than one path under a name is a duplicated image id."""
    wanted = {s.lower() for s in suffixes}
    index: dict[str, list[Path]] = defaultdict(list)
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.suffix.lower() in wanted and path.is_file():
                index[path.name].append(path)
    return dict(index)


def quarantine_item(
    dataset: str,
    reason: Reason,
    message: str,
    source_ref: str,
    *,
    stage: Stage,
    item_id: str | None = None,
) -> QuarantineRow:
    return QuarantineRow(
        stage=stage.value,
        reason=reason.value,
        unit=Unit.ITEM.value,
        message=message,
        source_dataset=dataset,
        source_ref=source_ref,
        item_id=item_id,
    )


def quarantine_row(
    dataset: str,
    reason: Reason,
    message: str,
    labels_file: str,
    row_number: int,
    *,
    stage: Stage,
    item_id: str | None = None,
) -> QuarantineRow:
    return QuarantineRow(
        stage=stage.value,
        reason=reason.value,
        unit=Unit.LABEL_ROW.value,
        message=message,
        source_dataset=dataset,
        source_ref=labels_file,
        item_id=item_id,
        row_number=row_number,
    )
