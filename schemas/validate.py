"""Validation: schema conformance plus semantic rules, one ``(keep, reason, message)`` rule
each. A record that fails any rule becomes a quarantine row naming the first rule it broke."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from schemas.arrow import conformance_problems_of, to_row
from schemas.enums import GroundingTask, MedSGTask, Reason, RecordFamily, Split, Stage
from schemas.records import (
    CotRecord,
    ImageBox,
    QuarantineRow,
    Record,
    SequenceRecord,
    record_boxes,
    record_images,
    record_quarantine_row,
)
from schemas.tables import RECORD_SCHEMAS

MIN_SEQUENCE_IMAGES = 2
MAX_SEQUENCE_IMAGES = 6

TASKS_BY_FAMILY: dict[str, frozenset[str]] = {
    RecordFamily.GROUNDING: frozenset(GroundingTask),
    RecordFamily.COT: frozenset(GroundingTask),
    RecordFamily.SEQUENCE: frozenset(MedSGTask),
}


@dataclass(frozen=True)
class Verdict:
    keep: bool
    reason: Reason | None = None
    message: str = ""


KEEP = Verdict(True)


@dataclass
class ImageChecker:
    """Answers "is this study's image a whole PNG (or other image) of the size the record
    says?", reading each file once: its header gives the size, and every chunk's checksum
    is verified (``png_size`` for a PNG, ``Image.verify`` for other formats: a truncated or
    damaged file fails) without decompressing the pixels, which the publisher has just
    encoded from pixels in memory."""

    resolve: Callable[[str], Path | None]  # study_id -> image file
    _sizes: dict[str, tuple[int, int] | Verdict] = field(default_factory=dict)

    def check(self, study_id: str, width: int, height: int) -> Verdict:
        if study_id not in self._sizes:
            self._sizes[study_id] = self._probe(study_id)
        size = self._sizes[study_id]
        if isinstance(size, Verdict):
            return size
        if size != (width, height):
            return Verdict(
                False,
                Reason.IMAGE_UNDECODABLE,
                f"image of {study_id} is {size[0]}x{size[1]}, the record says {width}x{height}",
            )
        return KEEP

    def _probe(self, study_id: str) -> tuple[int, int] | Verdict:
        path = self.resolve(study_id)
        if path is None or not path.is_file():
            return Verdict(False, Reason.IMAGE_MISSING, f"no image file for study {study_id}")
        try:
            data = path.read_bytes()
            if data.startswith(PNG_SIGNATURE):
                return png_size(data)
            with Image.open(io.BytesIO(data)) as img:
                size = img.size
                img.verify()
                return size
        except Exception as exc:  # PIL raises many types for broken files
            return Verdict(False, Reason.IMAGE_UNDECODABLE, f"{path.name} does not decode: {exc}")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` of a whole PNG file's bytes, checked as ``Image.verify`` checks
    them, without decompressing the pixels: the chunks run from an IHDR to an IEND, each
    whole, named by letters, with a matching CRC, and an IDAT among them; ``ValueError``
    names the first fault. (A third of Pillow's time: one read, the CRCs in zlib.)"""
    view = memoryview(data)
    pos, size, kinds = len(PNG_SIGNATURE), None, set()
    while True:
        if pos + 12 > len(data):
            raise ValueError(f"truncated at byte {pos} (no IEND chunk)")
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 8 + length
        if end + 4 > len(data):
            raise ValueError(f"chunk {kind!r} at byte {pos} is truncated")
        if not kind.isalpha():
            raise ValueError(f"chunk at byte {pos} has no name ({kind!r})")
        if zlib.crc32(view[pos + 4 : end]) != struct.unpack_from(">I", data, end)[0]:
            raise ValueError(f"chunk {kind!r} at byte {pos} fails its CRC")
        if size is None:
            if kind != b"IHDR" or length != 13:
                raise ValueError("the first chunk is not a 13-byte IHDR")
            size = struct.unpack_from(">II", data, pos + 8)
            if 0 in size:
                raise ValueError(f"IHDR gives an empty image ({size[0]}x{size[1]})")
        kinds.add(kind)
        if kind == b"IEND":
            if b"IDAT" not in kinds:
                raise ValueError("no IDAT chunk (no pixel data)")
            return int(size[0]), int(size[1])
        pos = end + 4


RecordRule = Callable[[Record, ImageChecker], Verdict]


def rule_schema(record: Record, _: ImageChecker) -> Verdict:
    return schema_verdicts([record])[0]


def schema_verdicts(records: list[Record]) -> list[Verdict]:
    """``rule_schema``'s verdict on each record (a family's rows are converted to Arrow in
    one call: ``conformance_problems_of``)."""
    verdicts = [KEEP] * len(records)
    by_family: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        family = getattr(record, "family", None)
        if RECORD_SCHEMAS.get(str(family)) is None:
            message = f"unknown record family {family!r}"
            verdicts[i] = Verdict(False, Reason.SCHEMA_VIOLATION, message)
        else:
            by_family.setdefault(str(family), []).append(i)
    for family, indices in by_family.items():
        rows = [to_row(records[i]) for i in indices]
        found = conformance_problems_of(rows, RECORD_SCHEMAS[family])
        for i, problems in zip(indices, found, strict=True):
            if problems:
                verdicts[i] = Verdict(False, Reason.SCHEMA_VIOLATION, "; ".join(problems[:5]))
    return verdicts


def rule_task(record: Record, _: ImageChecker) -> Verdict:
    allowed = TASKS_BY_FAMILY[record.family]
    if record.task not in allowed:
        return Verdict(
            False,
            Reason.UNKNOWN_TASK,
            f"task {record.task!r} is not one of {sorted(allowed)} ({record.family})",
        )
    return KEEP


def rule_text(record: Record, _: ImageChecker) -> Verdict:
    texts = {"question": record.question, "answer": record.answer}
    if isinstance(record, CotRecord):
        if not record.steps:
            return Verdict(False, Reason.EMPTY_TEXT, "chain of thought has no steps")
        texts.update({f"steps[{i}].text": s.text for i, s in enumerate(record.steps)})
    for name, text in texts.items():
        if not text or not text.strip():
            return Verdict(False, Reason.EMPTY_TEXT, f"{name} is empty")
    return KEEP


def rule_licence_and_split(record: Record, _: ImageChecker) -> Verdict:
    if not record.provenance.licence or not record.provenance.licence.strip():
        return Verdict(False, Reason.MISSING_LICENCE, "provenance.licence is empty")
    if record.split not in set(Split):
        return Verdict(False, Reason.MISSING_SPLIT, f"split {record.split!r} is not a split")
    return KEEP


def rule_boxes(record: Record, _: ImageChecker) -> Verdict:
    n_images = len(record_images(record))
    if isinstance(record, SequenceRecord) and not (
        MIN_SEQUENCE_IMAGES <= n_images <= MAX_SEQUENCE_IMAGES
    ):
        return Verdict(
            False,
            Reason.SCHEMA_VIOLATION,
            f"a sequence record needs {MIN_SEQUENCE_IMAGES} to {MAX_SEQUENCE_IMAGES} images, "
            f"has {n_images}",
        )
    for i, nb in enumerate(record_boxes(record)):
        problems = nb.box.problems()
        if isinstance(nb, ImageBox) and not 0 <= nb.image_index < n_images:
            problems.append(f"image_index {nb.image_index} not in 0..{n_images - 1}")
        if problems:
            return Verdict(False, Reason.BOX_INVALID, f"box {i}: " + "; ".join(problems))
    return KEEP


def rule_images(record: Record, images: ImageChecker) -> Verdict:
    for ref in record_images(record):
        verdict = images.check(ref.study_id, ref.width, ref.height)
        if not verdict.keep:
            return verdict
    return KEEP


RULES: tuple[RecordRule, ...] = (
    rule_schema,
    rule_task,
    rule_text,
    rule_licence_and_split,
    rule_boxes,
    rule_images,
)


def check_record(
    record: Record, images: ImageChecker, rules: tuple[RecordRule, ...] = RULES
) -> Verdict:
    """The first rule the record breaks, or KEEP."""
    for rule in rules:
        verdict = rule(record, images)
        if not verdict.keep:
            return verdict
    return KEEP


def validate_records(
    records: Iterable[Record],
    images: ImageChecker,
    source_ref: Callable[[Record], str] = lambda r: r.provenance.source_item,
) -> tuple[list[Record], list[QuarantineRow]]:
    """Split records into those that pass every rule and quarantine rows for the rest (the
    schema rule, first, on all of them at once)."""
    kept: list[Record] = []
    quarantined: list[QuarantineRow] = []
    records = list(records)
    rest = tuple(rule for rule in RULES if rule is not rule_schema)
    for record, verdict in zip(records, schema_verdicts(records), strict=True):
        if verdict.keep:
            verdict = check_record(record, images, rest)
        if verdict.keep:
            kept.append(record)
        else:
            quarantined.append(
                record_quarantine_row(
                    record,
                    Stage.VALIDATE,
                    str(verdict.reason),
                    verdict.message,
                    source_ref(record),
                )
            )
    return kept, quarantined
