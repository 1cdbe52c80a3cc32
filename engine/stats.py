"""Build counts: how many things flowed through each step, and the quarantine rows per stage
and reason (exactly the rows of the quarantine table), merged across chunks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from schemas.records import QuarantineRow

# Flow counters, in pipeline order, with what each counts.
FLOW: dict[str, str] = {
    "label_rows_read": "data rows in the label files",
    "items_named": "inputs the label files and folders name (missing ones too; items.parquet)",
    "items_planned": "image files found on disk, one per image id",
    "items_read": "images decoded and rendered",
    "findings": "label rows that became findings on a decoded image",
    "studies_with_records": "decoded images that gave at least one record",
    "records_built": "records built",
    "records_valid": "records that passed validation",
    "records_published": "records written to shards",
}


@dataclass
class BuildStats:
    flow: Counter = field(default_factory=Counter)
    quarantine: Counter = field(default_factory=Counter)  # (stage, reason) -> rows

    def count(self, name: str, n: int = 1) -> None:
        if name not in FLOW:
            raise KeyError(f"unknown flow counter {name!r}")
        self.flow[name] += n

    def set_aside(self, rows: list[QuarantineRow]) -> None:
        self.quarantine.update((r.stage, r.reason) for r in rows)

    def merge(self, other: BuildStats) -> None:
        self.flow.update(other.flow)
        self.quarantine.update(other.quarantine)

    def as_dict(self) -> dict:
        by_stage: dict[str, dict[str, int]] = {}
        for (stage, reason), n in sorted(self.quarantine.items()):
            by_stage.setdefault(stage, {})[reason] = n
        return {
            "flow": {name: self.flow.get(name, 0) for name in FLOW},
            "quarantine": by_stage,
            "quarantine_rows": sum(self.quarantine.values()),
        }
