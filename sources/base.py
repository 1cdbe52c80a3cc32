"""The Source interface: what a dataset kind declares (typed settings, ``plan``, ``process``,
licence and citation) and what it produces: a plan of input items (cheap: label files and
file listings), then, per item, published images, findings and records. Sources never raise
for one bad input: they return quarantine rows, or raise ``ItemError`` that the processing
step turns into one."""

from __future__ import annotations

import typing
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from schemas.enums import Reason, Stage, Unit
from schemas.errors import ItemError
from schemas.identity import Pseudonymizer
from schemas.records import QuarantineRow
from shards.label_methods import LabelMethod
from shards.licences import Licence

if TYPE_CHECKING:
    from sources.context import ItemContext, ItemOutput

__all__ = [
    "InputFile",
    "ItemError",
    "LabelRow",
    "LoadedImage",
    "Plan",
    "PlanContext",
    "Source",
    "SourceItem",
    "SourceSettings",
]


class SourceSettings(BaseModel):
    """The typed settings of one configured source (one entry of the config's ``sources``).
    Each kind subclasses it with its ``kind`` literal; validated when the config loads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    name: str | None = None  # dataset name in records; defaults to kind

    @property
    def dataset(self) -> str:
        return self.name or self.kind


@dataclass(frozen=True)
class PlanContext:
    """What planning may use: keyed pseudonyms and a private folder for generated files."""

    ids: Pseudonymizer
    generated_dir: Path  # this source's own folder under _build/generated


@dataclass(frozen=True)
class Source:
    """A dataset kind: its settings model (whose ``kind`` literal names the kinds it reads),
    how it plans and processes items, the files it expects, its licences and label methods."""

    settings: type[SourceSettings]
    plan: Callable[[Any, PlanContext], Plan]
    process: Callable[[SourceItem, ItemContext], ItemOutput]
    layout: str  # the files it expects, in a line (for docs and ``medsg sources``)
    licences: tuple[Licence, ...] = ()
    label_methods: tuple[LabelMethod, ...] = ()  # what its labels are, for the card

    @property
    def kinds(self) -> tuple[str, ...]:
        return typing.get_args(self.settings.model_fields["kind"].annotation)


@dataclass(frozen=True)
class LabelRow:
    """One data row of a label file, parsed: a finding with a box (source pixels, top-left
    corner plus size), a finding without box, or an explicit absence."""

    row_number: int  # 1-based data row (the header is row 0)
    label: str  # canonical finding name (records.vocab)
    present: bool
    box_xywh: tuple[float, float, float, float] | None
    phrase: str | None = None  # the source's own words for the finding (Finding.phrase)
    language: str | None = None  # the phrase's language (BCP 47)


@dataclass(frozen=True)
class InputFile:
    """A file an item reads besides its main one (a mask, a report), with its size and
    modification time so that a change reruns the item."""

    role: str
    path: str
    size: int = 0
    mtime_ns: int = 0

    @classmethod
    def of(cls, role: str, path: Path) -> InputFile:
        """The file (or every file under a folder, summed) as it is on disk now."""
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files)
            mtime = max((p.stat().st_mtime_ns for p in files), default=0)
            return cls(role, str(path), size, mtime)
        st = path.stat()
        return cls(role, str(path), st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class SourceItem:
    """One input item: an image file (or an exam folder) and the labels that name it.
    ``item_id`` and ``patient_key`` are the source's own ids: private, only ever hashed into
    the output. ``kind`` picks the Source that processes it (``sources.registry``)."""

    dataset: str
    kind: str  # the source kind (sources.registry)
    reader: str  # the file format its processor reads: "png", "dicom", "ct_volume", ...
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
    burned_in_clean: bool = False  # the source says no image has text on its pixels
    inputs: tuple[InputFile, ...] = ()  # other files it reads (part of the cache key)
    # The source's typed per-item settings (a frozen dataclass; part of the cache key).
    settings: Any = None
    # The publisher's own split of the item (schemas.enums.Split value), kept as given; None:
    # the build's patient hash decides (sources.context.ItemContext.split_of).
    split: str | None = None

    def input(self, role: str) -> InputFile | None:
        """The other input file of that role, if the item has one."""
        return next((f for f in self.inputs if f.role == role), None)

    def fingerprint(self) -> str:
        """What the item is made of, for cache keys: ids, labels, settings and files."""
        return "|".join(
            [
                self.dataset,
                self.kind,
                self.item_id,
                self.path,
                str(self.file_size),
                str(self.file_mtime_ns),
                repr(self.rows),
                repr(self.inputs),
                repr(self.settings),
                str(self.exhaustive),
                str(self.burned_in_clean),
                self.licence,
                self.extractor_version,
                str(self.split),
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
    """A decoded 2D image as 8-bit grayscale or RGB, and the view when the file says it."""

    pixels: np.ndarray  # uint8, shape (height, width) or (height, width, 3)
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


def outside_root(path: Path, root: Path) -> bool:
    """Whether ``path``, symlinks followed, lies outside ``root`` (a folder: whether any
    file under it does)."""
    base = root.resolve()

    def outside(p: Path) -> bool:
        return not p.resolve().is_relative_to(base)

    if outside(path):
        return True
    return path.is_dir() and any(outside(p) for p in path.rglob("*"))


def pick_indexed_file(
    dataset: str,
    name: str,
    paths: list[Path],
    folder: Path,
    *,
    item_id: str,
    missing: str,
) -> tuple[Path | None, list[QuarantineRow]]:
    """The one file an image name resolves to among the ``paths`` an index of ``folder``
    found for it, and the plan-stage rows of what was wrong: none found (``file_missing``,
    with the ``missing`` message: which label entry names it, what goes unused), a further
    copy (``duplicate_image_id`` each: the first is used), or a file that resolves outside
    the folder (``path_outside_root``). None when there is no file to read."""
    rows = [
        quarantine_item(
            dataset,
            Reason.DUPLICATE_IMAGE_ID,
            f"image {name} is also at {paths[0]}; using that file, not this one",
            str(extra),
            stage=Stage.PLAN,
            item_id=item_id,
        )
        for extra in paths[1:]
    ]
    if not paths:
        missing_row = quarantine_item(
            dataset,
            Reason.FILE_MISSING,
            missing,
            str(folder / name),
            stage=Stage.PLAN,
            item_id=item_id,
        )
        return None, [missing_row]
    if outside_root(paths[0], folder):
        rows.append(
            quarantine_item(
                dataset,
                Reason.PATH_OUTSIDE_ROOT,
                f"{name} resolves to a file outside the source's images folder {folder} "
                "(a symbolic link?): not read",
                str(paths[0]),
                stage=Stage.PLAN,
                item_id=item_id,
            )
        )
        return None, rows
    return paths[0], rows


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
