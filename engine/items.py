"""A status row for every input (``_build/tables/items.parquet``): each image or exam that a
label file or folder names ends ``published`` (with its number of records) or
``quarantined`` (with the stage and reason of the first row that set it aside)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from schemas.enums import Reason, Stage, Unit
from schemas.records import ItemStatus, QuarantineRow
from sources.base import SourceItem
from sources.context import ItemContext, ItemOutput

PUBLISHED = "published"
QUARANTINED = "quarantined"
_STAGE_ORDER = {s.value: i for i, s in enumerate(Stage)}
# The quarantine rows ``item_table`` looks at: the others never change an item's status.
ITEM_TABLE_STAGES = (Stage.PLAN.value, Stage.PUBLISH.value, Stage.REVIEW.value)


def trace_item(
    item: SourceItem, ctx: ItemContext, output: ItemOutput, rows: list[QuarantineRow]
) -> ItemStatus:
    """What a chunk knows of an item: its images and the rows that set parts of it aside."""
    first = _first(rows)
    return ItemStatus(
        dataset=item.dataset,
        source_file=item.path,
        item_id=ctx.ids.study(item.dataset, item.item_id),
        status=QUARANTINED,
        stage=first.stage if first else None,
        reason=first.reason if first else None,
        n_records=0,
        study_ids=[s.study_id for s in output.studies],
    )


def _first(rows: list[QuarantineRow]) -> QuarantineRow | None:
    item_rows = [r for r in rows if r.unit == Unit.ITEM.value] or list(rows)
    return min(item_rows, key=lambda r: _STAGE_ORDER.get(r.stage, 99), default=None)


def item_table(
    traces: Iterable[ItemStatus], quarantine: Iterable[QuarantineRow], shown: Mapping[str, int]
) -> list[ItemStatus]:
    """The final status of every named input: the processed items (published when a
    published record shows one of their images: ``shown``, ``ReleaseCounts.shown``) and the
    items set aside while planning. ``quarantine`` needs only the rows of the plan, publish
    and review stages (``ITEM_TABLE_STAGES``)."""
    quarantine = list(quarantine)
    later: dict[str, list[QuarantineRow]] = {}
    for row in quarantine:
        if row.item_id and row.stage in (Stage.PUBLISH.value, Stage.REVIEW.value):
            later.setdefault(row.item_id, []).append(row)
    table = []
    traced = set()
    for trace in traces:
        traced.update([trace.item_id, *trace.study_ids])
        n = sum(shown.get(s, 0) for s in trace.study_ids)
        if n:
            table.append(replace(trace, status=PUBLISHED, stage=None, reason=None, n_records=n))
            continue
        first = _first([r for s in trace.study_ids for r in later.get(s, [])])
        if first is None and trace.reason is None:
            table.append(
                replace(trace, stage=Stage.RECORDS.value, reason=Reason.NO_USABLE_LABELS.value)
            )
        elif first is not None and trace.reason is None:
            table.append(replace(trace, stage=first.stage, reason=first.reason))
        else:
            table.append(trace)
    for row in quarantine:
        key = row.item_id or row.source_ref  # an input set aside before it had a study id
        if (
            row.stage == Stage.PLAN.value
            and row.unit == Unit.ITEM.value
            and row.reason != Reason.DUPLICATE_IMAGE_ID.value
            and key not in traced
        ):
            traced.add(key)
            table.append(
                ItemStatus(
                    dataset=row.source_dataset,
                    source_file=row.source_ref,
                    item_id=row.item_id or "",
                    status=QUARANTINED,
                    stage=row.stage,
                    reason=row.reason,
                    n_records=0,
                )
            )
    return sorted(table, key=lambda s: (s.dataset, s.source_file, s.item_id))
