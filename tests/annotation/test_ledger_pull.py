"""The review ledger (one row per annotation, edits replace, reruns change nothing) and the
pull that fills it, against the fake transport (the real server: test_label_studio.py)."""

from __future__ import annotations

from pathlib import Path

from annotation.ledger import Ledger, load_sync_state
from annotation.pull import pull_reviews
from annotation.tasks import Review
from shards.layout import BuildLayout
from tests.annotation.fake_server import FakeLabelStudio
from tests.annotation.test_client import client_for


def _review(n: int, updated: str, decision: str = "accepted") -> Review:
    return Review(n, 10 + n, "p", f"rec-{n}", "h", "a@x", decision, updated_at=updated)


def test_ledger_upserts_by_annotation_id(tmp_path: Path) -> None:
    layout = BuildLayout(tmp_path)
    ledger = Ledger.load(layout)
    assert ledger.upsert(_review(1, "t1")) == "added"
    assert ledger.upsert(_review(1, "t1", "rejected")) == "unchanged"  # same edit: kept
    assert ledger.upsert(_review(1, "t2", "rejected")) == "updated"
    ledger.save()
    again = Ledger.load(layout)
    assert again.reviews[1].decision == "rejected" and again.digest() == ledger.digest()


def _annotation(n: int, updated: str, decision: str = "accept", cancelled: bool = False):
    return {
        "id": n,
        "result": [{"from_name": "decision", "type": "choices", "value": {"choices": [decision]}}],
        "completed_by": {"id": 2, "email": "ann@example.org"},
        "was_cancelled": cancelled,
        "updated_at": updated,
    }


def test_pull_reads_finished_tasks_once_and_picks_up_edits(tmp_path: Path) -> None:
    fake = FakeLabelStudio()
    fake.projects[1] = {"id": 1, "title": "p / grounding"}
    fake.tasks[5] = {
        "id": 5,
        "project": 1,
        "data": {"record_id": "rec-a", "weak_hash": "h"},
        "predictions": [],
        "annotations": [
            _annotation(1, "2026-01-01T00:00:01.000000Z"),
            _annotation(2, "2026-01-01T00:00:02.000000Z", cancelled=True),
        ],
        "total_annotations": 1,
        "updated_at": "2026-01-01T00:00:02.000000Z",
    }
    layout = BuildLayout(tmp_path)
    client, _ = client_for(fake)
    first = pull_reviews(layout, ["p / grounding", "p / cot"], client)
    assert (first.tasks, first.annotations["added"], first.skipped) == (1, 1, 1)
    assert load_sync_state(layout)["p / grounding"] == {
        "project_id": 1,
        "watermark": "2026-01-01T00:00:02.000000Z",
    }
    second = pull_reviews(layout, ["p / grounding"], client)
    assert second.changed == 0 and second.annotations["unchanged"] == 1

    fake.tasks[5]["annotations"][0] = _annotation(1, "2026-01-01T00:05:00.000000Z", "reject")
    third = pull_reviews(layout, ["p / grounding"], client)
    assert third.annotations["updated"] == 1
    review = Ledger.load(layout).reviews[1]
    assert review.decision == "rejected"
    assert review.reviewer == "ann@example.org" and review.record_id == "rec-a"
    first_query, second_query = fake.task_queries[0], fake.task_queries[1]
    assert [i["filter"] for i in first_query["filters"]["items"]] == [
        "filter:tasks:total_annotations"
    ]
    since = second_query["filters"]["items"][1]
    assert since["filter"] == "filter:tasks:updated_at" and since["operator"] == "greater"
    assert since["value"] == "2026-01-01T00:00:01Z"  # the watermark less a second of overlap
