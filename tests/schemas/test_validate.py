"""Each semantic rule quarantines the record it should, with its reason code."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from schemas.records import CotRecord, CotStep, ImageBox, ImageRef, NamedBox, SequenceRecord
from schemas.validate import ImageChecker, validate_records
from tests.helpers import gradient_png
from tests.schemas.test_arrow import grounding_record


@pytest.fixture
def images(tmp_path: Path) -> ImageChecker:
    gradient_png(tmp_path / "study-1.png", 64)
    (tmp_path / "study-bad.png").write_bytes((tmp_path / "study-1.png").read_bytes()[:60])

    def resolve(study_id: str) -> Path | None:
        p = tmp_path / f"{study_id}.png"
        return p if p.exists() else None

    return ImageChecker(resolve)


def reason_of(record, images: ImageChecker) -> str | None:
    kept, quarantined = validate_records([record], images)
    assert len(kept) + len(quarantined) == 1
    return quarantined[0].reason if quarantined else None


def test_good_record_passes(images: ImageChecker) -> None:
    assert reason_of(grounding_record(image=ImageRef("study-1", 64, 64, "XR")), images) is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"answer_boxes": [NamedBox(0.5, 0.1, 0.4, 0.2)]}, "box_invalid"),
        ({"question_boxes": [NamedBox(0.1, 0.1, 1.3, 0.2)]}, "box_invalid"),
        ({"task": "find_waldo"}, "unknown_task"),
        ({"question": "  "}, "empty_text"),
        ({"answer": ""}, "empty_text"),
        ({"split": ""}, "missing_split"),
        ({"image": ImageRef("study-missing", 64, 64, "XR")}, "image_missing"),
        ({"image": ImageRef("study-bad", 64, 64, "XR")}, "image_undecodable"),
        ({"image": ImageRef("study-1", 32, 64, "XR")}, "image_undecodable"),
        ({"template_id": None}, "schema_violation"),
    ],
)
def test_rule_quarantines_with_reason(images: ImageChecker, changes: dict, reason: str) -> None:
    record = grounding_record(**{"image": ImageRef("study-1", 64, 64, "XR"), **changes})
    assert reason_of(record, images) == reason


def test_missing_licence(images: ImageChecker) -> None:
    record = grounding_record(image=ImageRef("study-1", 64, 64, "XR"))
    record = replace(record, provenance=replace(record.provenance, licence=""))
    assert reason_of(record, images) == "missing_licence"


def _sequence(n_images: int, index: int = 0) -> SequenceRecord:
    base = grounding_record()
    return SequenceRecord(
        record_id="rec-s",
        task="referring",
        patient_ids=["patient-1"],
        images=[ImageRef("study-1", 64, 64, "XR")] * n_images,
        question="Which image shows the nodule?",
        answer="The first image.",
        question_boxes=[],
        answer_boxes=[ImageBox(index, 0.1, 0.1, 0.2, 0.2, "nodule")],
        template_id="t",
        split="train",
        provenance=base.provenance,
    )


def test_sequence_rules(images: ImageChecker) -> None:
    assert reason_of(_sequence(2), images) is None
    assert reason_of(_sequence(1), images) == "schema_violation"
    assert reason_of(_sequence(7), images) == "schema_violation"
    assert reason_of(_sequence(2, index=2), images) == "box_invalid"
    assert reason_of(replace(_sequence(2), task="phrase_grounding"), images) == "unknown_task"


def test_cot_rules(images: ImageChecker) -> None:
    base = grounding_record()
    cot = CotRecord(
        record_id="rec-c",
        task="phrase_grounding",
        patient_id="patient-1",
        image=ImageRef("study-1", 64, 64, "XR"),
        question="Where is the nodule?",
        question_boxes=[],
        steps=[CotStep("locate", "The right lung.", [NamedBox(0.1, 0.1, 0.5, 0.9, "right lung")])],
        answer="Here.",
        answer_boxes=[NamedBox(0.2, 0.2, 0.3, 0.3, "nodule")],
        curriculum_level="medium",
        template_id="t",
        split="train",
        provenance=base.provenance,
    )
    assert reason_of(cot, images) is None
    assert reason_of(replace(cot, steps=[CotStep("locate", "", [])]), images) == "empty_text"
    bad_step = CotStep("locate", "x", [NamedBox(0.6, 0.1, 0.5, 0.9)])
    assert reason_of(replace(cot, steps=[bad_step]), images) == "box_invalid"


def test_quarantine_row_names_stage_reason_and_source(images: ImageChecker) -> None:
    record = grounding_record(image=ImageRef("study-missing", 64, 64, "XR"))
    _, (row,) = validate_records([record], images, source_ref=lambda r: "/data/x.png")
    assert (row.stage, row.reason, row.unit) == ("validate", "image_missing", "record")
    assert row.source_ref == "/data/x.png" and row.record_id == "rec-1"
    assert row.item_id == "study-missing" and "study-missing" in row.message


def test_damaged_pixel_data_is_undecodable_without_decoding(tmp_path: Path) -> None:
    """The checker reads headers and chunk checksums, not pixels: a whole file passes, one
    with a byte changed inside its pixel data (same length, same size) does not."""
    gradient_png(tmp_path / "good.png", 64)
    data = bytearray((tmp_path / "good.png").read_bytes())
    at = data.index(b"IDAT") + 8
    data[at] ^= 0xFF
    (tmp_path / "damaged.png").write_bytes(bytes(data))
    checker = ImageChecker(lambda study_id: tmp_path / f"{study_id}.png")
    assert checker.check("good", 64, 64).keep
    verdict = checker.check("damaged", 64, 64)
    assert not verdict.keep and verdict.reason == "image_undecodable"
    assert "damaged.png" in verdict.message


def test_png_checks_match_pillow_on_whole_and_broken_files(tmp_path: Path) -> None:
    """``png_size`` (the checker's PNG path) takes a whole PNG of any encoder, gives its size,
    and refuses what ``Image.verify`` refuses: a cut file, a damaged header, no IEND; other
    formats still go through Pillow."""
    from PIL import Image

    from schemas.validate import png_size

    gradient_png(tmp_path / "ours.png", 64)
    Image.new("L", (40, 24), 7).save(tmp_path / "pillow.png")
    Image.new("RGB", (40, 24), (1, 2, 3)).save(tmp_path / "pillow.jpg")
    good = (tmp_path / "ours.png").read_bytes()
    assert png_size(good) == (64, 64)
    assert png_size((tmp_path / "pillow.png").read_bytes()) == (40, 24)
    header = bytearray(good)
    header[16] ^= 0x01  # the IHDR's width, not its CRC
    broken = {
        "cut": good[: len(good) // 2],
        "header": bytes(header),
        "no-iend": good[: good.index(b"IEND") - 4],
    }
    for name, data in broken.items():
        (tmp_path / f"{name}.png").write_bytes(data)
    checker = ImageChecker(lambda study_id: tmp_path / study_id)
    assert checker.check("pillow.png", 40, 24).keep
    assert checker.check("pillow.jpg", 40, 24).keep
    assert not checker.check("pillow.png", 24, 40).keep
    for name in broken:
        verdict = checker.check(f"{name}.png", 64, 64)
        assert not verdict.keep and verdict.reason == "image_undecodable", name
        assert f"{name}.png" in verdict.message
