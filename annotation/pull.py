"""Pull: bring finished annotations from Label Studio into the build's review ledger.

Per project of the build, it asks for tasks with at least one annotation
(``total_annotations > 0``; the open-source server ignores ``only_annotated``) changed since
the last pull (``updated_at``, which an edited annotation moves), and upserts each annotation
into the ledger by its id. The ledger is saved before the sync state that moves the
watermark: a crash in between only makes the next pull read some tasks again, which changes
nothing. Skipped (cancelled) annotations are not reviews.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from annotation.client import LabelStudioClient
from annotation.ledger import Ledger, load_sync_state, save_sync_state
from annotation.push import find_project
from annotation.tasks import parse_annotation
from shards.layout import BuildLayout

OVERLAP = timedelta(seconds=1)  # re-read a little before the watermark; upserts dedupe


@dataclass
class PullReport:
    tasks: int = 0
    annotations: Counter = field(default_factory=Counter)  # added / updated / unchanged
    skipped: int = 0  # cancelled annotations
    projects: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return self.annotations["added"] + self.annotations["updated"]


def _since(watermark: str) -> str:
    stamp = datetime.fromisoformat(watermark.replace("Z", "+00:00")) - OVERLAP
    return stamp.isoformat().replace("+00:00", "Z")


def pull_reviews(layout: BuildLayout, titles: list[str], client: LabelStudioClient) -> PullReport:
    """Upsert every finished annotation of the projects ``titles`` changed since the last
    pull into the ledger. Returns what changed."""
    client.check()
    ledger = Ledger.load(layout)
    state = load_sync_state(layout)
    report = PullReport()
    users: dict[int, str] | None = None
    for title in titles:
        project = find_project(client, title)
        if project is None:
            continue
        pid = int(project["id"])
        report.projects[title] = pid
        seen = state.get(title, {})
        if seen.get("project_id") != pid:  # a new (or re-created) project: read it all
            seen = {"project_id": pid}
        filters = [
            {
                "filter": "filter:tasks:total_annotations",
                "operator": "greater",
                "value": 0,
                "type": "Number",
            }
        ]
        if seen.get("watermark"):
            filters.append(
                {
                    "filter": "filter:tasks:updated_at",
                    "operator": "greater",
                    "value": _since(seen["watermark"]),
                    "type": "Datetime",
                }
            )
        watermark = seen.get("watermark") or ""
        for task in client.iter_tasks(pid, filters=filters):
            if not task.get("total_annotations") and not task.get("annotations"):
                continue  # the filter is the server's; check it here too
            report.tasks += 1
            watermark = max(watermark, task.get("updated_at") or "")
            for annotation in task.get("annotations") or []:
                if annotation.get("was_cancelled"):
                    report.skipped += 1
                    continue
                if not isinstance(annotation.get("completed_by"), dict) and users is None:
                    users = client.users()
                review = parse_annotation(annotation, task, title, users)
                report.annotations[ledger.upsert(review)] += 1
        state[title] = {**seen, "watermark": watermark} if watermark else seen
    ledger.save()
    save_sync_state(layout, state)
    return report
