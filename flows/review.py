"""The ``sync-reviews`` Prefect flow: pull the experts' annotations from Label Studio into the
build's review ledger, publish the release again with them applied (corrected boxes, review
states, rejected records left out) and report the review metrics as artifacts. The logic
lives in ``engine.review`` and ``engine.pipeline``; this module wires and reports."""

from __future__ import annotations

import json
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from annotation.merge import CONFLICT_RULE
from annotation.pull import PullReport
from annotation.review import METRICS_FILE
from engine.config import BuildConfig, ConfigError, load_config
from engine.pipeline import BuildReport, locked_output, republish
from engine.review import check_review_setup, needs_republish, pull_build
from flows.build import DEFAULT_OUT
from shards.layout import BuildLayout


@task(name="pull-reviews")
def pull_reviews_task(cfg: BuildConfig, layout: BuildLayout) -> PullReport:
    return pull_build(cfg, layout)


@task(name="republish-release")
def republish_task(cfg: BuildConfig, layout: BuildLayout) -> BuildReport:
    return republish(cfg, layout)


def _metrics_artifacts(metrics: dict, pulled: PullReport, republished: bool) -> None:
    rows = []
    for g in [{"extractor": "(all)", "family": "-", "task": "-", **metrics["overall"]}] + metrics[
        "by_extractor_task"
    ]:
        iou, ia = g["iou_weak_vs_corrected"], g["inter_annotator"]
        rows.append(
            {
                "extractor": g["extractor"],
                "family": g["family"],
                "task": g["task"],
                "reviewed": g["reviewed_records"],
                "acceptance_rate": g["acceptance_rate"],
                "correction_rate": g["correction_rate"],
                "rejection_rate": g["rejection_rate"],
                "iou_mean": iou["mean"],
                "iou_share_ge_0_5": iou["share_ge_0_5"],
                "rejection_reasons": json.dumps(g["rejection_reasons"]),
                "annotator_pairs": ia["pairs"],
                "annotator_iou_mean": ia["iou"]["mean"],
                "annotator_decision_agreement": ia["decision_agreement"],
            }
        )
    create_table_artifact(
        key="sync-reviews-metrics",
        table=rows,
        description="Expert review of the weak labels, per extractor and task",
    )
    create_markdown_artifact(
        key="sync-reviews-summary",
        markdown=(
            "# sync-reviews\n\n"
            f"Tasks read: {pulled.tasks}; annotations added {pulled.annotations['added']}, "
            f"updated {pulled.annotations['updated']}, unchanged "
            f"{pulled.annotations['unchanged']}, skipped {pulled.skipped}.  \n"
            f"Release republished: {'yes' if republished else 'no (nothing changed)'}.\n\n"
            f"Conflict rule: {CONFLICT_RULE}\n"
        ),
        description="What the last sync pulled and whether it republished",
    )


@flow(name="sync-reviews", log_prints=False)
def sync_reviews(config: str | None = None, out: str = DEFAULT_OUT) -> dict[str, Any]:
    """Pull the reviews of the build in ``out`` (built with ``config``, whose ``review``
    section must be enabled), merge them and republish the release."""
    logger = get_run_logger()
    cfg = load_config(config)
    if not cfg.review.enabled:
        raise ConfigError(f"{config or 'the embedded demo config'}: review.enabled is false")
    with locked_output(out, "medsg sync-reviews (flow)") as (layout, _):
        check_review_setup(cfg, layout)
        pulled = pull_reviews_task(cfg, layout)
        logger.info(
            "pulled %d tasks: %s", pulled.tasks, dict(sorted(pulled.annotations.items())) or "{}"
        )
        republished = needs_republish(layout)
        report = republish_task(cfg, layout) if republished else None
        metrics = json.loads((layout.out / METRICS_FILE).read_text())
        _metrics_artifacts(metrics, pulled, republished)
        if report:
            for line in report.summary_lines():
                logger.info(line)
        else:
            logger.info("no new or changed review since the release was published: not republished")
        return {
            "out": str(layout.out),
            "pulled": {
                "tasks": pulled.tasks,
                **{k: pulled.annotations[k] for k in ("added", "updated", "unchanged")},
                "skipped": pulled.skipped,
            },
            "republished": republished,
            "dataset_version": json.loads((layout.out / "manifest.json").read_text())[
                "dataset_version"
            ],
            "metrics": metrics,
        }
