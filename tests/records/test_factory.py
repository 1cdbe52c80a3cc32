"""Record factories: the record-id recipe of each family (fixed inputs, fixed ids) and the
fields ``make_grounding`` / ``make_cot`` fill in."""

from __future__ import annotations

import ast
from pathlib import Path

from records.factory import (
    cot_record_id,
    grounding_record_id,
    make_cot,
    make_grounding,
    sequence_record_id,
)
from records.sequences.common import image_box, make_sequence
from records.templates import Template
from schemas.boxes import Box
from schemas.enums import CotStepKind, GroundingTask, MedSGTask
from schemas.identity import stable_id
from schemas.records import CotStep, ImageRef, NamedBox, Provenance
from tests.records.test_grounding import study

BOX = NamedBox(0.1, 0.2, 0.3, 0.4, "nodule")
BANKS = {"b": (Template("t-1", "Where is the {finding}?", "At {boxes}."),)}


def prov() -> Provenance:
    return Provenance.of(study(), "extractors.x", "2", 0.7)


def test_record_ids_are_fixed_for_fixed_inputs() -> None:
    assert (
        grounding_record_id("study-1", GroundingTask.PHRASE_GROUNDING, "nodule", "finding-1")
        == "rec-9e2fe20a463e0f897f7b8947"
    )
    assert cot_record_id("study-1", "finding-1", "easy") == "rec-9866223ead0bd0b91756a189"
    assert (
        sequence_record_id(MedSGTask.PATCH, ["study-1", "study-2"], "patch")
        == "rec-86c7f2a004f4fc45052dd469"
    )


def test_record_id_recipes() -> None:
    """The recipes the builders used before the factories existed, part for part."""
    g = grounding_record_id("s", GroundingTask.COUNTING, "a", 1, None)
    assert g == stable_id("rec", "s", "counting", "a", 1, None)
    assert cot_record_id("s", "f", "hard") == stable_id("rec", "s", "cot", "f", "hard")
    seq = sequence_record_id(MedSGTask.REGISTERED_DIFF, iter(["s1", "s2"]), "lesion")
    assert seq == stable_id("rec", "Registered_Diff", "s1", "s2", "lesion")
    # ids never depend on the wording, and families never collide on the same parts
    assert len({g, cot_record_id("s", "counting", "a", 1, None)}) == 2


def test_make_grounding_fills_every_field() -> None:
    s = study()
    r = make_grounding(
        s,
        GroundingTask.PHRASE_GROUNDING,
        id_parts=("nodule", "finding-1"),
        bank="b",
        banks=BANKS,
        slots={"finding": "nodule", "boxes": BOX.box.to_text()},
        seed=7,
        provenance=prov(),
        label="nodule",
        answer_boxes=(BOX,),
    )
    assert r.record_id == "rec-9e2fe20a463e0f897f7b8947"
    assert (r.task, r.family, r.patient_id, r.split) == (
        "phrase_grounding",
        "grounding",
        "patient-1",
        "train",
    )
    assert r.image == ImageRef("study-1", 200, 100, "XR", "PA")
    assert (r.question, r.answer) == ("Where is the nodule?", "At [100, 200, 300, 400].")
    assert (r.template_id, r.label) == ("t-1", "nodule")
    assert r.question_boxes == [] and r.answer_boxes == [BOX]
    assert isinstance(r.answer_boxes, list)
    assert r.provenance == prov()


def test_make_grounding_picks_from_the_default_banks_by_seed_and_id() -> None:
    kwargs = dict(
        id_parts=("nodule", "finding-1"),
        bank="phrase_grounding",
        slots={
            "finding": "nodule",
            "Finding": "Nodule",
            "image": "chest X-ray",
            "boxes": BOX.box.to_text(),
        },
        provenance=prov(),
        label="nodule",
    )
    r = make_grounding(study(), GroundingTask.PHRASE_GROUNDING, seed=7, **kwargs)
    assert r.template_id == "pg-4"
    assert r.question == "Which region of the chest X-ray shows nodule?"
    assert r.answer == "The region [100, 200, 300, 400]."


def test_make_cot_fills_every_field() -> None:
    s = study(split="test")
    steps = [CotStep(CotStepKind.CONCLUDE.value, "There.", [BOX])]
    r = make_cot(
        s,
        id_parts=("finding-1", "easy"),
        bank="b",
        banks=BANKS,
        slots={"finding": "nodule", "boxes": "x"},
        seed=0,
        provenance=prov(),
        steps=steps,
        curriculum_level="easy",
        question_boxes=[BOX],
        answer_boxes=[BOX],
    )
    assert r.record_id == "rec-9866223ead0bd0b91756a189"
    assert (r.task, r.family, r.patient_id, r.split) == (
        "phrase_grounding",
        "cot",
        "patient-1",
        "test",
    )
    assert r.image == ImageRef.of(s)
    assert (r.question, r.answer, r.template_id) == ("Where is the nodule?", "At x.", "t-1")
    assert r.steps == steps and r.steps is not steps
    assert r.question_boxes == [BOX] and r.answer_boxes == [BOX]
    assert r.curriculum_level == "easy"


def test_make_sequence_uses_the_sequence_recipe() -> None:
    a, b = study(study_id="study-1"), study(study_id="study-2")
    r = make_sequence(
        MedSGTask.PATCH,
        [a, b],
        answer=[image_box(0, Box(0.1, 0.1, 0.5, 0.5), "patch")],
        id_parts=("patch",),
        seed=1,
        provenance=prov(),
    )
    assert r.record_id == "rec-86c7f2a004f4fc45052dd469"


ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "medsg", "flows", "benchmarks", "engine", "sources", "annotation", "training",
    "exports", "records", "shards", "extractors", "evaluation", "schemas",
)  # fmt: skip
CONSTRUCTORS = {
    "GroundingRecord": "records/factory.py",
    "CotRecord": "records/factory.py",
    "SequenceRecord": "records/sequences/common.py",
}


def _calls(name: str) -> list[str]:
    """Where the project's code calls ``name(...)`` (file:line), tests aside."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == name:
                    kws = {k.arg for k in node.keywords}
                    if name != "QuarantineRow" or "record_id" in kws or len(node.args) > 7:
                        found.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}")
    return found


def test_records_are_constructed_only_by_their_factory() -> None:
    for name, home in CONSTRUCTORS.items():
        assert {c.split(":")[0] for c in _calls(name)} == {home}, name


def test_record_quarantine_rows_are_made_in_one_place() -> None:
    assert {c.split(":")[0] for c in _calls("QuarantineRow")} == {"schemas/records.py"}
