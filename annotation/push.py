"""Push: send the records chosen for review to Label Studio, one project per dataset config,
each task with the weak label as a prediction. Idempotent by reconciliation: the project's
tasks are read, and only what differs is written (a missing task is created, a task whose
weak label changed is updated in place); a rerun with nothing new writes nothing. A write
whose outcome is unknown leads to reading the server again, never to a blind retry, so a
task is never created twice.

A task whose weak label changes after it was reviewed keeps its annotations; they are
recorded in the ledger against the weak label they were made on (so they are not lost, and
not applied to the new label) before the task is updated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from annotation.client import LabelStudioClient, ReviewServerError, UnsureWriteError
from annotation.configs import labeling_config
from annotation.ledger import Ledger, load_pushed, save_pushed
from annotation.select import select_for_review
from annotation.settings import ReviewConfig
from annotation.tasks import parse_annotation, prediction, task_data
from schemas.errors import ConfigError
from schemas.records import Record
from shards.layout import BuildLayout
from shards.writer import config_name

IMPORT_BATCH = 100


def open_client(review: ReviewConfig) -> LabelStudioClient:
    """A client for the configured server (the token is read from ``review.token_env``)."""
    return LabelStudioClient(
        review.url,
        review.resolved_token(),
        token_env=review.token_env,
        timeout=review.timeout_s,
        retries=review.retries,
        backoff=review.backoff_s,
    )


def image_url_for(layout: BuildLayout, document_root: Path) -> Callable[[str], str]:
    """Study id -> the local-files URL Label Studio serves the rendered image from."""
    root = document_root.resolve()
    images = layout.images.resolve()
    if not images.is_relative_to(root):
        raise ConfigError(
            f"the build's images ({images}) are not under the Label Studio document root "
            f"{root} (review.document_root; the server's MEDSG_LS_DOCUMENT_ROOT): start the "
            "server with a document root that contains the build folder"
        )

    def url(study_id: str) -> str:
        rel = layout.image_path(study_id).resolve().relative_to(root).as_posix()
        return f"/data/local-files/?d={quote(rel)}"

    return url


@dataclass
class TaskSpec:
    record_id: str
    data: dict
    prediction: dict
    why: str


@dataclass
class PushReport:
    selected: int = 0
    low_confidence: int = 0
    audit: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # tasks sharing a record id (0 unless someone imported by hand)
    reviews_kept_from_changed_tasks: int = 0
    projects: dict[str, int] = field(default_factory=dict)  # title -> project id


def find_project(client: LabelStudioClient, title: str) -> dict | None:
    matches = sorted(
        (p for p in client.projects() if p.get("title") == title), key=lambda p: p["id"]
    )
    return matches[0] if matches else None


def ensure_project(client: LabelStudioClient, title: str, label_config: str) -> int:
    """The id of the project with this title (created, or its labeling config updated)."""
    for _ in range(client.retries):
        project = find_project(client, title)
        if project is None:
            try:
                return int(client.create_project(title, label_config)["id"])
            except UnsureWriteError:
                client.sleep(client.backoff)
                continue
        if project.get("label_config") != label_config:
            client.update_project(project["id"], label_config=label_config)
        return int(project["id"])
    raise ReviewServerError(f"Label Studio at {client.url}: could not create project {title!r}")


def ensure_storage(client: LabelStudioClient, project: int, images: Path) -> None:
    """A local-files storage over the build's images, so the labeling page can show them
    (never synced: tasks come from push only)."""
    path = str(images.resolve())
    for _ in range(client.retries):
        if any(s.get("path") == path for s in client.local_storages(project)):
            return
        try:
            client.create_local_storage(project, path, title="medsg rendered images")
            return
        except UnsureWriteError:
            client.sleep(client.backoff)
    raise ReviewServerError(f"Label Studio at {client.url}: could not add local storage {path}")


def _result_key(result: list[dict]) -> list:
    return [
        (
            r.get("from_name"),
            r.get("to_name"),
            sorted(
                (k, round(v, 6) if isinstance(v, float) else v)
                for k, v in (r.get("value") or {}).items()
            ),
        )
        for r in result
    ]


def in_sync(task: dict, spec: TaskSpec) -> bool:
    """The task shows exactly the spec: same data, one prediction with the same content."""
    predictions = task.get("predictions") or []
    if task.get("data") != spec.data or len(predictions) != 1:
        return False
    p = predictions[0]
    return (
        p.get("model_version") == spec.prediction["model_version"]
        and p.get("score") == spec.prediction["score"]
        and _result_key(p.get("result") or []) == _result_key(spec.prediction["result"])
    )


def reconcile(
    client: LabelStudioClient, project: int, title: str, specs: list[TaskSpec], ledger: Ledger
) -> tuple[dict[str, int], dict[str, int]]:
    """Make the project's tasks match the specs. Returns the counts of the first look
    (created / updated / unchanged / duplicates / reviews kept) and record id -> task id."""
    counts: dict[str, int] | None = None
    wanted = {s.record_id: s for s in specs}
    for _ in range(client.retries + 1):
        by_record: dict[str, dict] = {}
        duplicates = 0
        for task in client.iter_tasks(project):
            rid = (task.get("data") or {}).get("record_id")
            if rid in by_record:
                duplicates += 1
                continue
            by_record[rid] = task
        to_create = [s for rid, s in wanted.items() if rid not in by_record]
        to_update = [
            (by_record[rid], s)
            for rid, s in wanted.items()
            if rid in by_record and not in_sync(by_record[rid], s)
        ]
        if counts is None:
            counts = {
                "created": len(to_create),
                "updated": len(to_update),
                "unchanged": len(wanted) - len(to_create) - len(to_update),
                "duplicates": duplicates,
                "reviews_kept": 0,
            }
        if not to_create and not to_update:
            return counts, {rid: int(by_record[rid]["id"]) for rid in wanted}
        try:
            for i in range(0, len(to_create), IMPORT_BATCH):
                batch = to_create[i : i + IMPORT_BATCH]
                client.import_tasks(
                    project, [{"data": s.data, "predictions": [s.prediction]} for s in batch]
                )
            for task, spec in to_update:
                counts["reviews_kept"] += _keep_reviews(task, spec, title, ledger)
                for p in task.get("predictions") or []:
                    client.delete_prediction(int(p["id"]))
                client.create_prediction(int(task["id"]), spec.prediction)
                client.update_task_data(int(task["id"]), spec.data)  # last: the commit marker
        except UnsureWriteError:
            client.sleep(client.backoff)
    raise ReviewServerError(
        f"Label Studio at {client.url}: the tasks of project {title!r} still differ from the "
        f"build after {client.retries + 1} rounds; see the server log"
    )


def _keep_reviews(task: dict, spec: TaskSpec, title: str, ledger: Ledger) -> int:
    """Before a changed weak label replaces the task's, record its reviews against the old."""
    if (task.get("data") or {}).get("weak_hash") == spec.data["weak_hash"]:
        return 0
    kept = 0
    for annotation in task.get("annotations") or []:
        if annotation.get("was_cancelled"):
            continue
        kept += ledger.upsert(parse_annotation(annotation, task, title)) == "added"
    return kept


def push_for_review(
    review: ReviewConfig,
    build_name: str,
    layout: BuildLayout,
    records: list[Record],
    client: LabelStudioClient,
) -> PushReport:
    """Select records for review and make Label Studio hold exactly their tasks."""
    selected = select_for_review(
        records,
        threshold=review.threshold,
        audit_share=review.audit_share,
        max_per_group=review.max_per_source_task,
        seed=review.seed,
    )
    report = PushReport(selected=len(selected))
    report.low_confidence = sum(s.why == "low_confidence" for s in selected)
    report.audit = report.selected - report.low_confidence
    url = image_url_for(layout, review.resolved_document_root())
    by_config: dict[str, list[TaskSpec]] = {}
    for s in selected:
        by_config.setdefault(config_name(s.record), []).append(
            TaskSpec(s.record.record_id, task_data(s.record, url), prediction(s.record), s.why)
        )
    client.check()
    ledger = Ledger.load(layout)
    pushed = load_pushed(layout)
    for config, specs in sorted(by_config.items()):
        title = review.project_title(build_name, config)
        project = ensure_project(client, title, labeling_config(config))
        ensure_storage(client, project, layout.images)
        report.projects[title] = project
        counts, task_ids = reconcile(client, project, title, specs, ledger)
        report.created += counts["created"]
        report.updated += counts["updated"]
        report.unchanged += counts["unchanged"]
        report.duplicates += counts["duplicates"]
        report.reviews_kept_from_changed_tasks += counts["reviews_kept"]
        for spec in specs:
            pushed[spec.record_id] = {
                "project": title,
                "task_id": task_ids[spec.record_id],
                "why": spec.why,
                "weak_hash": spec.data["weak_hash"],
            }
    if report.reviews_kept_from_changed_tasks:
        ledger.save()
    save_pushed(layout, pushed)
    return report
