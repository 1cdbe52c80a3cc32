"""Typed rows of every table the pipeline writes. Their Arrow schemas are derived from these
declarations (``schemas.arrow.schema_of``), so a field is declared in exactly one place.

Boxes in records are canonical (``schemas.boxes``): normalized [0, 1] of the published image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.boxes import Box
from schemas.enums import Reason, RecordFamily, ReviewState, Stage, Unit


@dataclass
class NamedBox:
    """A canonical box with the label it stands for ("" when unnamed)."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str = ""

    @classmethod
    def of(cls, box: Box, label: str = "") -> NamedBox:
        return cls(box.x1, box.y1, box.x2, box.y2, label)

    @property
    def box(self) -> Box:
        return Box(self.x1, self.y1, self.x2, self.y2)


@dataclass
class ImageBox:
    """A canonical box on one image of a sequence record (``image_index`` into ``images``)."""

    image_index: int
    x1: float
    y1: float
    x2: float
    y2: float
    label: str = ""

    @property
    def box(self) -> Box:
        return Box(self.x1, self.y1, self.x2, self.y2)


@dataclass
class ImageRef:
    """A published image a record points at: its study, pixel size, modality and view."""

    study_id: str
    width: int
    height: int
    modality: str
    view: str | None = None

    @classmethod
    def of(cls, study: Study) -> ImageRef:
        return cls(study.study_id, study.width, study.height, study.modality, study.view)


@dataclass
class ReaderBox:
    """One reader's own box behind a fused label (canonical, on the record's image): the
    dataset's reader code (VinDr-CXR's anonymous ``R1`` .. ``R17``) and the finding."""

    reader: str
    x1: float
    y1: float
    x2: float
    y2: float
    label: str = ""


@dataclass
class Provenance:
    """Where a record came from and how far to trust it (DESIGN.md, "Provenance")."""

    source_dataset: str  # configured source name, e.g. "nih_cxr14"
    source_item: str  # pseudonymous reference of the source item (never a raw input id)
    extractor: str  # what made the label, e.g. "sources.nih_cxr14" or "extractors.pet"
    extractor_version: str
    confidence: float  # weak-label confidence in [0, 1]; expert labels are 1.0
    licence: str  # licence id of the source dataset
    review_state: str = ReviewState.UNREVIEWED.value
    reviewer: str | None = None
    reviewed_at: str | None = None  # ISO 8601, UTC
    review_note: str | None = None
    # The weak boxes a review's correction replaced (question, answer, then step boxes, each
    # with the index of the image it is on: 0 for single-image records); empty otherwise.
    weak_boxes: list[ImageBox] = field(default_factory=list)
    # Where several readers or observers boxed one image (VinDr-CXR's radiologists, a
    # segmentation set's observers): each one's own boxes of the record's finding, behind the
    # fused or majority answer boxes; empty for single-reader labels.
    readers: list[ReaderBox] = field(default_factory=list)
    # The language (BCP 47: "en", "es") of the source's own text the record quotes (a
    # radiologist's phrase, a report sentence); None when it quotes none.
    language: str | None = None

    @classmethod
    def of(cls, study: Study, extractor: str, version: str, confidence: float) -> Provenance:
        """Unreviewed provenance of a record made from ``study`` by ``extractor``."""
        return cls(
            source_dataset=study.source_dataset,
            source_item=study.source_item,
            extractor=extractor,
            extractor_version=version,
            confidence=confidence,
            licence=study.licence,
        )


@dataclass
class Study:
    """One published image: a source image, or one rendering of a source volume (an axial
    slice, a projection), with pseudonymous ids only. ``view`` tells renderings apart."""

    study_id: str
    patient_id: str
    source_dataset: str
    source_item: str
    modality: str  # schemas.modality code: XR, CT, MR, US, ES (endoscopy), DMS, OP...
    view: str | None
    width: int  # published image size in pixels
    height: int
    source_width: int  # pixel grid of the source image (boxes map back through it)
    source_height: int
    image_path: str  # rendered image, relative to the build folder
    image_sha256: str
    licence: str
    split: str


@dataclass
class Finding:
    """A label on a study: expert (from a dataset) or weak (from an extractor)."""

    finding_id: str
    study_id: str
    patient_id: str
    label: str  # canonical finding name (records.vocab)
    present: bool  # False: the source states the finding is absent
    box: NamedBox | None  # None for image-level labels
    source_row: int | None  # 1-based data row in the source's label file
    extractor: str
    extractor_version: str
    confidence: float
    # The source's own words for this finding (a radiologist's phrase, a report sentence),
    # quoted verbatim by the records made from it, and their language (BCP 47); None when the
    # source gives only a label.
    phrase: str | None = None
    language: str | None = None
    # Each observer's own box when the label comes from several observers' masks.
    readers: list[ReaderBox] = field(default_factory=list)


@dataclass
class GroundingRecord:
    """One image, a question and an answer; boxes given in the question or expected."""

    record_id: str
    task: str  # schemas.enums.GroundingTask
    patient_id: str
    image: ImageRef
    question: str
    answer: str
    question_boxes: list[NamedBox]
    answer_boxes: list[NamedBox]
    label: str | None  # the finding the record is about, None when several
    template_id: str
    split: str
    provenance: Provenance
    family: str = RecordFamily.GROUNDING.value


@dataclass
class CotStep:
    """One reasoning step; every step that names a region carries its box."""

    kind: str  # schemas.enums.CotStepKind
    text: str
    boxes: list[NamedBox]


@dataclass
class CotRecord:
    """One image, a question, a chain of evidence-boxed steps and a final answer."""

    record_id: str
    task: str
    patient_id: str
    image: ImageRef
    question: str
    question_boxes: list[NamedBox]  # filled at the easy curriculum level only
    steps: list[CotStep]
    answer: str
    answer_boxes: list[NamedBox]
    curriculum_level: str  # easy (boxes in question), medium (boxes in steps), hard
    template_id: str
    split: str
    provenance: Provenance
    family: str = RecordFamily.COT.value


@dataclass
class SequenceRecord:
    """2 to 6 images and a MedSG-Bench task; answer boxes say which image they are on."""

    record_id: str
    task: str  # schemas.enums.MedSGTask
    patient_ids: list[str]
    images: list[ImageRef]
    question: str
    answer: str
    question_boxes: list[ImageBox]
    answer_boxes: list[ImageBox]
    template_id: str
    split: str
    provenance: Provenance
    family: str = RecordFamily.SEQUENCE.value


@dataclass
class QuarantineRow:
    """An input item, label row or record that did not make it, and why.

    ``source_ref`` points at the user's own file so the input can be fixed; the quarantine
    table stays in the private build folder and is never published.
    """

    stage: str  # schemas.enums.Stage
    reason: str  # schemas.enums.Reason
    unit: str  # schemas.enums.Unit: what was set aside (an item, a label row, a record)
    message: str
    source_dataset: str
    source_ref: str  # the input file (image, or label file for a label row)
    item_id: str | None = None  # study id of the item concerned, when known
    record_id: str | None = None
    row_number: int | None = None  # 1-based data row of the label file


@dataclass(frozen=True)
class ItemStatus:
    """One input that a label file or folder names, and what became of it (a row of the
    private ``_build/tables/items.parquet``, as img2dataset keeps one per input row)."""

    dataset: str
    source_file: str  # the input file (private: it stays in _build)
    item_id: str  # study pseudonym of the item's main image
    status: str  # "published" or "quarantined"
    stage: str | None  # where it was set aside (quarantined) or None
    reason: str | None  # the reason code of the first quarantine row about it
    n_records: int  # published records that show one of its images
    study_ids: list[str] = field(default_factory=list)  # its published images


Record = GroundingRecord | CotRecord | SequenceRecord
RECORD_TYPES: dict[str, type] = {
    RecordFamily.GROUNDING.value: GroundingRecord,
    RecordFamily.COT.value: CotRecord,
    RecordFamily.SEQUENCE.value: SequenceRecord,
}


def record_images(record: Record) -> list[ImageRef]:
    """The images a record shows, in order."""
    if isinstance(record, SequenceRecord):
        return list(record.images)
    return [record.image]


def record_boxes(record: Record) -> list[NamedBox | ImageBox]:
    """Every box a record carries: question, answer and step evidence."""
    if isinstance(record, CotRecord):
        step_boxes = [b for s in record.steps for b in s.boxes]
        return [*record.question_boxes, *record.answer_boxes, *step_boxes]
    return [*record.question_boxes, *record.answer_boxes]


def record_quarantine_row(
    record: Record,
    stage: Stage | str,
    reason: Reason | str,
    message: str,
    source_ref: str,
    *,
    item_id: str | None = None,
) -> QuarantineRow:
    """The one way a record becomes a quarantine row (validation, duplicate images, review):
    unit ``record``, the record's id and source dataset, and as ``item_id`` the study of its
    first image (``item_id`` names another one, e.g. the duplicate image it was set aside
    for; None when the record shows no image)."""
    if item_id is None:
        images = record_images(record)
        item_id = images[0].study_id if images else None
    return QuarantineRow(
        stage=str(stage),
        reason=str(reason),
        unit=Unit.RECORD.value,
        message=message,
        source_dataset=record.provenance.source_dataset,
        source_ref=source_ref,
        item_id=item_id,
        record_id=record.record_id,
    )
