"""The Arrow schemas of every table and record family, by name (derived once from
``schemas.records``)."""

from __future__ import annotations

import pyarrow as pa

from schemas.arrow import schema_of
from schemas.records import (
    CotRecord,
    Finding,
    GroundingRecord,
    ItemStatus,
    QuarantineRow,
    SequenceRecord,
    Study,
)

STUDY: pa.Schema = schema_of(Study)
FINDING: pa.Schema = schema_of(Finding)
GROUNDING: pa.Schema = schema_of(GroundingRecord)
COT: pa.Schema = schema_of(CotRecord)
SEQUENCE: pa.Schema = schema_of(SequenceRecord)
QUARANTINE: pa.Schema = schema_of(QuarantineRow)
ITEMS: pa.Schema = schema_of(ItemStatus)

RECORD_SCHEMAS: dict[str, pa.Schema] = {
    "grounding": GROUNDING,
    "cot": COT,
    "sequence": SEQUENCE,
}
TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "studies": STUDY,
    "findings": FINDING,
    "quarantine": QUARANTINE,
    "items": ITEMS,
    **RECORD_SCHEMAS,
}

PROVENANCE_FIELDS = (
    "source_dataset",
    "source_item",
    "extractor",
    "extractor_version",
    "confidence",
    "licence",
    "review_state",
    "reviewer",
    "reviewed_at",
)
