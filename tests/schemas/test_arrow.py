"""Arrow schemas derived once from the record types; conformance catches what pyarrow lets
through (nulls in non-null fields, missing and extra fields)."""

from __future__ import annotations

import pyarrow as pa

from schemas.arrow import conformance_problems, conformance_problems_of, from_row, to_row
from schemas.records import GroundingRecord, ImageRef, NamedBox, Provenance
from schemas.tables import PROVENANCE_FIELDS, RECORD_SCHEMAS, TABLE_SCHEMAS


def grounding_record(**changes) -> GroundingRecord:
    base = dict(
        record_id="rec-1",
        task="phrase_grounding",
        patient_id="patient-1",
        image=ImageRef("study-1", 64, 48, "XR", None),
        question="Where is the nodule?",
        answer="[100, 100, 200, 200]",
        question_boxes=[],
        answer_boxes=[NamedBox(0.1, 0.1, 0.2, 0.2, "nodule")],
        label="nodule",
        template_id="pg-1",
        split="train",
        provenance=Provenance("ds", "item-1", "sources.x", "1", 1.0, "CC0-1.0"),
    )
    base.update(changes)
    return GroundingRecord(**base)


def test_every_record_family_carries_provenance() -> None:
    for family, schema in RECORD_SCHEMAS.items():
        prov = schema.field("provenance").type
        names = [prov.field(i).name for i in range(prov.num_fields)]
        assert set(PROVENANCE_FIELDS) <= set(names), family
        assert schema.field("split").type == pa.string()
        assert not schema.field("record_id").nullable


def test_schema_types() -> None:
    g = RECORD_SCHEMAS["grounding"]
    assert g.field("answer_boxes").type == pa.list_(
        pa.field("item", g.field("answer_boxes").type.value_type, nullable=False)
    )
    assert g.field("image").type.field("width").type == pa.int64()
    assert g.field("label").nullable and not g.field("question").nullable
    assert set(TABLE_SCHEMAS) == {
        "studies",
        "findings",
        "quarantine",
        "items",
        "grounding",
        "cot",
        "sequence",
    }
    seq = RECORD_SCHEMAS["sequence"]
    assert seq.field("answer_boxes").type.value_type.field("image_index").type == pa.int64()


def test_conformance_accepts_a_good_row_and_round_trips() -> None:
    record = grounding_record()
    row = to_row(record)
    assert conformance_problems(row, RECORD_SCHEMAS["grounding"]) == []
    assert from_row(GroundingRecord, row) == record
    table = pa.Table.from_pylist([row], schema=RECORD_SCHEMAS["grounding"])
    assert table.num_rows == 1


def test_conformance_names_each_problem() -> None:
    schema = RECORD_SCHEMAS["grounding"]
    row = to_row(grounding_record())
    row["question"] = None
    row["extra"] = 1
    del row["template_id"]
    row["provenance"]["confidence"] = None
    problems = conformance_problems(row, schema)
    assert "question: null in a non-nullable field" in problems
    assert "extra: field not in schema" in problems
    assert "template_id: missing" in problems
    assert "provenance.confidence: null in a non-nullable field" in problems

    typed = to_row(grounding_record())
    typed["image"]["width"] = "wide"
    assert any(p.startswith("type error") for p in conformance_problems(typed, schema))


def test_rows_checked_together_name_the_same_problems() -> None:
    """One Arrow conversion for many rows: a type error still lands on its own row only,
    with the message the row checked alone gets; to_row gives dataclasses.asdict's values
    (tuples as lists, enums as strings)."""
    import dataclasses

    schema = RECORD_SCHEMAS["grounding"]
    rows = [to_row(grounding_record(record_id=f"rec-{i}")) for i in range(4)]
    rows[1]["image"]["width"] = "wide"
    rows[3]["question"] = None
    found = conformance_problems_of(rows, schema)
    assert found == [conformance_problems(row, schema) for row in rows]
    assert found[0] == found[2] == [] and found[1][0].startswith("type error")
    assert found[3] == ["question: null in a non-nullable field"]
    record = grounding_record(answer_boxes=(NamedBox(0.1, 0.1, 0.2, 0.2, "nodule"),))
    plain = dataclasses.asdict(record)
    plain["answer_boxes"] = [dict(b) for b in plain["answer_boxes"]]
    assert to_row(record) == plain and type(to_row(record)["answer_boxes"]) is list


def test_to_row_is_asdict_with_enum_values_and_from_row_inverts_it() -> None:
    """The per-class converters give what ``dataclasses.asdict`` gives (enums as their
    plain string values, nested dataclasses as dicts, tuples as lists)."""
    import dataclasses
    import json

    from schemas.enums import GroundingTask

    record = grounding_record(task=GroundingTask.PHRASE_GROUNDING, question_boxes=())
    row = to_row(record)
    assert type(row["task"]) is str and row["task"] == "phrase_grounding"
    assert row["question_boxes"] == [] and row["image"]["study_id"] == "study-1"
    assert json.dumps(row, sort_keys=True) == json.dumps(dataclasses.asdict(record), sort_keys=True)
    back = from_row(GroundingRecord, row)
    assert back == grounding_record() and back.answer_boxes[0] == NamedBox(
        0.1, 0.1, 0.2, 0.2, "nodule"
    )
